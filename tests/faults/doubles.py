#!/usr/bin/python3
"""doubles.py - local stand-ins for the services reflectd notifies through,
for tests/faults/test_notify.c. Standard library plus Debian's
python3-cryptography, python3-h2 and python3-aiosmtpd.

    doubles.py DIR      writes into DIR: ca.pem (the CA every double's
                        certificate chains to), vapid.pem, apns.pem (P-256
                        keys), fcm.json (a service-account key file whose
                        token_uri points here); then prints one JSON line
                        {"https": port, "apns": port, "smtp": port,
                        "control": port} and serves until killed.

What each double checks (a failed check is recorded under "errors" and
answered 400/403, so a test that asserts no errors fails on it):
- Web Push (HTTPS, /push/<sid>): Content-Encoding aes128gcm, TTL, a VAPID
  header whose ES256 JWT verifies with its k=, names this origin as aud,
  has exp within 24 h and a mailto:/https: sub, k= equal to vapid.pem's
  public key; then it decrypts the body with the subscription's private
  key (RFC 8291, one aes128gcm record) and records the plaintext.
- APNs (HTTP/2 over TLS, /3/device/<token>): an ES256 bearer JWT with
  kid "KEYID1234", iss "TEAMID1234", verified with apns.pem's public key;
  apns-topic and apns-push-type present.
- FCM (HTTPS): /token takes an RS256 assertion (RFC 7523) verified with
  fcm.json's key, iss = client_email, aud = token_uri, the messaging
  scope, and answers an access token; messages:send needs that token.
- SMTP (aiosmtpd): STARTTLS required before AUTH, AUTH required (user
  "reflectd", password "smtp-secret"), records each message.

Control (plain HTTP on loopback, for the C test):
    POST /subscribe            -> {endpoint, keys: {p256dh, auth}}
    POST /script  {key, statuses: [503, 201], retry_after?: s}  the next answers
                  for a subscription id or a device token (then 2xx again); Web Push
                  429s and 503s then carry Retry-After: s
    GET  /state also has attempt_times: {key: [unix time, ...]}
    POST /smtp/stop, /smtp/start
    GET  /state                -> {webpush: [...], apns: [...], fcm: [...],
                                   fcm_tokens: n, smtp: [...], errors: [...],
                                   attempts: {key: n}}
"""
import asyncio
import base64
import datetime
import json
import os
import socket
import ssl
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import h2.config
import h2.connection
import h2.events
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.x509.oid import NameOID

LOCK = threading.Lock()
STATE = {"webpush": [], "apns": [], "fcm": [], "fcm_tokens": 0, "smtp": [], "errors": [],
         "attempts": {}, "attempt_times": {}}
SUBS = {}          # sid -> (private key, auth secret)
SCRIPTS = {}       # key -> [status, ...]
RETRY_AFTER = {}   # key -> seconds: sent as Retry-After with the scripted 429s and 503s
ISSUED = set()     # FCM access tokens handed out
APNS_KEY_ID, APNS_TEAM = "KEYID1234", "TEAMID1234"
SMTP_USER, SMTP_PASSWORD = "reflectd", "smtp-secret"


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def unb64u(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def error(msg):
    with LOCK:
        STATE["errors"].append(msg)


def next_status(key, default):
    with LOCK:
        STATE["attempts"][key] = STATE["attempts"].get(key, 0) + 1
        STATE["attempt_times"].setdefault(key, []).append(time.time())
        queue = SCRIPTS.get(key)
        return queue.pop(0) if queue else default


def retry_after(key, status):
    """The Retry-After header a real service sends with a throttling answer."""
    with LOCK:
        s = RETRY_AFTER.get(key)
    return [("Retry-After", str(s))] if s and status in (429, 503) else []


# ---- keys and certificates ---------------------------------------------------------

def pem_private(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def make_certs(d):
    now = datetime.datetime.utcnow()
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "reflectd test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(days=1))
          .not_valid_after(now + datetime.timedelta(days=2))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    import ipaddress
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            .sign(ca_key, hashes.SHA256()))
    with open(os.path.join(d, "ca.pem"), "wb") as f:
        f.write(ca.public_bytes(serialization.Encoding.PEM))
    with open(os.path.join(d, "server.pem"), "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM) + pem_private(key))
    return os.path.join(d, "server.pem")


def tls_context(certfile, alpn):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(certfile)
    ctx.set_alpn_protocols(alpn)
    return ctx


# ---- JWTs ---------------------------------------------------------------------------

def jwt_verify(token, public_key, alg):
    """Returns (header, claims) of a JWT whose signature verifies, else raises."""
    h, c, s = token.split(".")
    header, claims = json.loads(unb64u(h)), json.loads(unb64u(c))
    if header.get("alg") != alg:
        raise ValueError("alg %r" % header.get("alg"))
    sig, signed = unb64u(s), (h + "." + c).encode()
    if alg == "ES256":
        if len(sig) != 64:
            raise ValueError("ES256 signature is not R||S")
        der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
        public_key.verify(der, signed, ec.ECDSA(hashes.SHA256()))
    else:
        public_key.verify(sig, signed, padding.PKCS1v15(), hashes.SHA256())
    return header, claims


# ---- Web Push -----------------------------------------------------------------------

def webpush_decrypt(sid, body):
    """RFC 8291 / RFC 8188 with the subscription's private key."""
    priv, auth = SUBS[sid]
    salt, rs, idlen = body[:16], struct.unpack(">I", body[16:20])[0], body[20]
    as_public = body[21:21 + idlen]
    ciphertext = body[21 + idlen:]
    if idlen != 65 or rs < 18 or len(ciphertext) > rs:
        raise ValueError("bad aes128gcm header")
    ua_public = priv.public_key().public_bytes(serialization.Encoding.X962,
                                               serialization.PublicFormat.UncompressedPoint)
    peer = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), as_public)
    secret = priv.exchange(ec.ECDH(), peer)
    ikm = HKDF(hashes.SHA256(), 32, auth, b"WebPush: info\0" + ua_public + as_public).derive(secret)
    cek = HKDF(hashes.SHA256(), 16, salt, b"Content-Encoding: aes128gcm\0").derive(ikm)
    nonce = HKDF(hashes.SHA256(), 12, salt, b"Content-Encoding: nonce\0").derive(ikm)
    plain = AESGCM(cek).decrypt(nonce, ciphertext, None)
    plain = plain.rstrip(b"\0")
    if not plain.endswith(b"\x02"):
        raise ValueError("no last-record delimiter")
    return json.loads(plain[:-1])


def vapid_check(headers, origin, vapid_public):
    auth = headers.get("Authorization", "")
    if not auth.startswith("vapid "):
        raise ValueError("no vapid authorization")
    parts = dict(p.strip().split("=", 1) for p in auth[6:].split(","))
    if parts.get("k") != vapid_public:
        raise ValueError("k is not the configured VAPID key")
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64u(parts["k"]))
    _, claims = jwt_verify(parts["t"], key, "ES256")
    if claims.get("aud") != origin:
        raise ValueError("aud %r" % claims.get("aud"))
    if not 0 < claims.get("exp", 0) - time.time() <= 24 * 3600:
        raise ValueError("exp out of range")
    if not str(claims.get("sub", "")).startswith(("mailto:", "https:")):
        raise ValueError("sub")


class HttpsHandler(BaseHTTPRequestHandler):
    """Web Push endpoints and the FCM token and send endpoints."""
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body=b"", ctype="application/json", extra=()):
        self.send_response(status)
        for k, v in extra:
            self.send_header(k, v)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        try:
            if self.path.startswith("/push/"):
                self.webpush(self.path[6:], body)
            elif self.path == "/token":
                self.fcm_token(body)
            elif self.path.endswith("/messages:send"):
                self.fcm_send(body)
            else:
                self.reply(404)
        except Exception as e:  # a failed check: recorded, refused
            error("%s: %s" % (self.path.split("/")[1], e))
            self.reply(400, json.dumps({"error": str(e)}).encode())

    def webpush(self, sid, body):
        if sid not in SUBS:
            return self.reply(404)
        if self.headers.get("Content-Encoding") != "aes128gcm" or not self.headers.get("TTL"):
            raise ValueError("Content-Encoding or TTL missing")
        vapid_check(self.headers, "https://127.0.0.1:%d" % self.server.server_port,
                    self.server.vapid_public)
        msg = webpush_decrypt(sid, body)
        status = next_status(sid, 201)
        if status < 300:
            with LOCK:
                STATE["webpush"].append({"sid": sid, "at": time.time(), "message": msg})
        self.reply(status, extra=retry_after(sid, status))

    def fcm_token(self, body):
        from urllib.parse import parse_qs
        form = parse_qs(body.decode())
        if form.get("grant_type") != ["urn:ietf:params:oauth:grant-type:jwt-bearer"]:
            raise ValueError("grant_type")
        acct = self.server.fcm_account
        _, claims = jwt_verify(form["assertion"][0], self.server.fcm_public, "RS256")
        if claims.get("iss") != acct["client_email"] or claims.get("aud") != acct["token_uri"]:
            raise ValueError("iss or aud")
        if "firebase.messaging" not in claims.get("scope", ""):
            raise ValueError("scope")
        token = b64u(os.urandom(24))
        with LOCK:
            ISSUED.add(token)
            STATE["fcm_tokens"] += 1
        self.reply(200, json.dumps({"access_token": token, "expires_in": 3600,
                                    "token_type": "Bearer"}).encode())

    def fcm_send(self, body):
        bearer = self.headers.get("Authorization", "")[7:]
        if bearer not in ISSUED:
            return self.reply(401, b'{"error":{"code":401,"status":"UNAUTHENTICATED"}}')
        msg = json.loads(body)["message"]
        status = next_status(msg["token"], 200)
        if status == 404:
            return self.reply(404, json.dumps({"error": {"code": 404, "status": "NOT_FOUND",
                "details": [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                             "errorCode": "UNREGISTERED"}]}}).encode())
        if status < 300:
            with LOCK:
                STATE["fcm"].append({"at": time.time(), "message": msg})
        self.reply(status, b'{"name":"projects/p/messages/1"}')


# ---- APNs (HTTP/2) ------------------------------------------------------------------

def apns_check(headers, public_key):
    auth = headers.get("authorization", "")
    if not auth.startswith("bearer "):
        raise ValueError("no bearer token")
    header, claims = jwt_verify(auth[7:], public_key, "ES256")
    if header.get("kid") != APNS_KEY_ID or claims.get("iss") != APNS_TEAM:
        raise ValueError("kid or iss")
    if abs(time.time() - claims.get("iat", 0)) > 3600:
        raise ValueError("iat too old")
    if not headers.get("apns-topic") or headers.get("apns-push-type") != "alert":
        raise ValueError("apns-topic or apns-push-type")


def apns_connection(sock, public_key):
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
    conn.initiate_connection()
    sock.sendall(conn.data_to_send())
    streams = {}
    while True:
        data = sock.recv(65536)
        if not data:
            return
        for ev in conn.receive_data(data):
            if isinstance(ev, h2.events.RequestReceived):
                streams[ev.stream_id] = {"headers": {k.decode() if isinstance(k, bytes) else k:
                                                     v.decode() if isinstance(v, bytes) else v
                                                     for k, v in ev.headers}, "body": b""}
            elif isinstance(ev, h2.events.DataReceived):
                streams[ev.stream_id]["body"] += ev.data
                conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            elif isinstance(ev, h2.events.StreamEnded):
                apns_answer(conn, ev.stream_id, streams.pop(ev.stream_id), public_key)
        sock.sendall(conn.data_to_send())


def apns_answer(conn, sid, req, public_key):
    h = req["headers"]
    token = h.get(":path", "").rsplit("/", 1)[-1]
    try:
        apns_check(h, public_key)
        payload = json.loads(req["body"])
        status = next_status(token, 200)
        body = b""
        if status == 410:
            body = json.dumps({"reason": "Unregistered", "timestamp": int(time.time())}).encode()
        elif status < 300:
            with LOCK:
                STATE["apns"].append({"at": time.time(), "token": token, "payload": payload})
    except Exception as e:
        error("apns: %s" % e)
        status, body = 403, json.dumps({"reason": "InvalidProviderToken"}).encode()
    conn.send_headers(sid, [(":status", str(status)), ("apns-id", "00000000-0000-0000-0000-000000000000")],
                      end_stream=not body)
    if body:
        conn.send_data(sid, body, end_stream=True)


def apns_serve(listener, ctx, public_key):
    while True:
        raw, _ = listener.accept()

        def run(raw=raw):
            try:
                with ctx.wrap_socket(raw, server_side=True) as s:
                    if s.selected_alpn_protocol() != "h2":
                        error("apns: client did not negotiate h2")
                        return
                    apns_connection(s, public_key)
            except (OSError, ssl.SSLError, h2.exceptions.ProtocolError):
                pass
        threading.Thread(target=run, daemon=True).start()


# ---- SMTP ---------------------------------------------------------------------------

class SmtpHandler:
    async def handle_DATA(self, server, session, envelope):
        with LOCK:
            STATE["smtp"].append({"at": time.time(), "from": envelope.mail_from,
                                  "to": envelope.rcpt_tos, "tls": session.ssl is not None,
                                  "authenticated": bool(session.authenticated),
                                  "data": envelope.content.decode("utf-8", "replace")})
        return "250 OK"


class Smtp:
    """An aiosmtpd server that can be stopped and started again on its port
    (a stopped Controller cannot restart: its event loop is closed)."""

    def __init__(self, port, certfile):
        self.port, self.tls = port, ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.tls.load_cert_chain(certfile)
        self.controller = None

    def start(self):
        if self.controller is None:
            self.controller = Controller(SmtpHandler(), hostname="127.0.0.1", port=self.port,
                                         tls_context=self.tls, require_starttls=True,
                                         auth_required=True, auth_require_tls=True,
                                         authenticator=smtp_auth)
            self.controller.start()

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


def smtp_auth(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == SMTP_USER.encode() and auth_data.password == SMTP_PASSWORD.encode()
    return AuthResult(success=ok)


# ---- control ------------------------------------------------------------------------

class ControlHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, obj):
        body = json.dumps(obj).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        with LOCK:
            self.reply(STATE)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path == "/subscribe":
            sid = b64u(os.urandom(9))
            priv, auth = ec.generate_private_key(ec.SECP256R1()), os.urandom(16)
            SUBS[sid] = (priv, auth)
            pub = priv.public_key().public_bytes(serialization.Encoding.X962,
                                                 serialization.PublicFormat.UncompressedPoint)
            return self.reply({"id": sid,
                               "endpoint": "https://127.0.0.1:%d/push/%s" % (self.server.https_port, sid),
                               "keys": {"p256dh": b64u(pub), "auth": b64u(auth)}})
        if self.path == "/script":
            req = json.loads(body)
            with LOCK:
                SCRIPTS[req["key"]] = list(req["statuses"])
                if "retry_after" in req:
                    RETRY_AFTER[req["key"]] = int(req["retry_after"])
            return self.reply({})
        if self.path == "/smtp/stop":
            self.server.smtp.stop()
            return self.reply({})
        if self.path == "/smtp/start":
            self.server.smtp.start()
            return self.reply({})
        self.reply({"error": "unknown"})


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def main():
    d = sys.argv[1]
    certfile = make_certs(d)
    vapid, apns_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    fcm_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for name, key in (("vapid.pem", vapid), ("apns.pem", apns_key)):
        with open(os.path.join(d, name), "wb") as f:
            f.write(pem_private(key))

    https = ThreadingHTTPServer(("127.0.0.1", 0), HttpsHandler)
    https.socket = tls_context(certfile, ["http/1.1"]).wrap_socket(https.socket, server_side=True)
    https.vapid_public = b64u(vapid.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint))
    https.fcm_public = fcm_key.public_key()
    https.fcm_account = {"type": "service_account", "project_id": "reflectd-test",
                         "client_email": "sender@reflectd-test.iam.gserviceaccount.com",
                         "private_key": pem_private(fcm_key).decode(),
                         "token_uri": "https://127.0.0.1:%d/token" % https.server_port}
    with open(os.path.join(d, "fcm.json"), "w") as f:
        json.dump(https.fcm_account, f)

    apns = socket.socket()
    apns.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    apns.bind(("127.0.0.1", 0))
    apns.listen(16)

    smtp = Smtp(free_port(), certfile)
    smtp.start()

    control = ThreadingHTTPServer(("127.0.0.1", 0), ControlHandler)
    control.https_port, control.smtp = https.server_port, smtp

    threading.Thread(target=https.serve_forever, daemon=True).start()
    threading.Thread(target=apns_serve, args=(apns, tls_context(certfile, ["h2"]), apns_key.public_key()),
                     daemon=True).start()
    print(json.dumps({"https": https.server_port, "apns": apns.getsockname()[1], "smtp": smtp.port,
                      "control": control.server_port}), flush=True)
    control.serve_forever()


if __name__ == "__main__":
    main()
