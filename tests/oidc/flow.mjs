// flow.mjs - the app's side of an OpenID Connect sign-in, for the
// integration tests (tests/integration/test_oidc.c runs it and reads one
// line from stdout).
//
//   node flow.mjs signin ISSUER CLIENT LOGIN NONCE
//       Authorization Code + PKCE against the provider, with plain HTTP
//       requests as an app's browser tab would make them: authorization
//       request, the login interaction, consent, the code at the redirect,
//       the code exchange. Prints the ID token.
//   node flow.mjs forge MODE KEYS_FILE JSON_CLAIMS
//       Attack tokens: "none" (alg none, no signature), "hs256" (HS256 with
//       the provider's public RSA key in PEM as the secret), "rs256" (a
//       token signed with the provider's real key that it never issued:
//       for expired, future, wrong-issuer claims). Prints the token.
//   node flow.mjs rotate ISSUER
//       Asks the test provider to sign with a new key from now on.
import { createHash, randomBytes, createPrivateKey, createPublicKey, createHmac, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';

const b64url = (buf) => Buffer.from(buf).toString('base64url');

class Browser {
  constructor() { this.cookies = new Map(); }

  async request(url, options = {}) {
    const headers = { ...(options.headers || {}) };
    if (this.cookies.size) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await fetch(url, { ...options, headers, redirect: 'manual' });
    const set = res.headers.getSetCookie ? res.headers.getSetCookie() : [];
    for (const c of set) {
      const [pair] = c.split(';');
      const i = pair.indexOf('=');
      this.cookies.set(pair.slice(0, i).trim(), pair.slice(i + 1));
    }
    return res;
  }
}

async function signin(issuer, clientId, login, nonce) {
  const browser = new Browser();
  const verifier = b64url(randomBytes(32));
  const challenge = b64url(createHash('sha256').update(verifier).digest());
  const redirectUri = 'http://127.0.0.1/callback';
  const discovery = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
  const auth = new URL(discovery.authorization_endpoint);
  auth.search = new URLSearchParams({
    client_id: clientId, response_type: 'code', scope: 'openid email profile',
    redirect_uri: redirectUri, code_challenge: challenge, code_challenge_method: 'S256',
    nonce, state: b64url(randomBytes(12)),
  }).toString();
  let url = auth.toString();
  for (let step = 0; step < 12; step++) {
    const res = await browser.request(url);
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      const next = new URL(location, url);
      if (next.toString().startsWith(redirectUri)) return exchange(discovery, clientId, next, verifier, redirectUri);
      url = next.toString();
      continue;
    }
    if (res.status !== 200 || !url.includes('/interaction/')) throw new Error(`unexpected ${res.status} at ${url}: ${await res.text()}`);
    const page = await res.text();
    const prompt = /value="([a-z]+)"/.exec(page)[1];
    const form = new URLSearchParams({ prompt });
    if (prompt === 'login') { form.set('login', login); form.set('password', 'test-password'); }
    const posted = await browser.request(url, {
      method: 'POST', body: form.toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    if (posted.status < 300 || posted.status >= 400) throw new Error(`interaction ${posted.status}: ${await posted.text()}`);
    url = new URL(posted.headers.get('location'), url).toString();
  }
  throw new Error('too many redirects');
}

async function exchange(discovery, clientId, callback, verifier, redirectUri) {
  const code = callback.searchParams.get('code');
  if (!code) throw new Error(`no code: ${callback}`);
  const res = await fetch(discovery.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code', code, redirect_uri: redirectUri, client_id: clientId, code_verifier: verifier,
    }).toString(),
  });
  const body = await res.json();
  if (!body.id_token) throw new Error(`token endpoint: ${JSON.stringify(body)}`);
  return body.id_token;
}

function forge(mode, keysFile, claimsJson) {
  const { keys } = JSON.parse(readFileSync(keysFile, 'utf8'));
  const rsa = keys.find((k) => k.kty === 'RSA');
  const claims = JSON.parse(claimsJson);
  const part = (o) => b64url(JSON.stringify(o));
  if (mode === 'none') return `${part({ alg: 'none', typ: 'JWT', kid: rsa.kid })}.${part(claims)}.`;
  if (mode === 'hs256') {
    const pem = createPublicKey({ key: rsa, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
    const input = `${part({ alg: 'HS256', typ: 'JWT', kid: rsa.kid })}.${part(claims)}`;
    return `${input}.${b64url(createHmac('sha256', pem).update(input).digest())}`;
  }
  if (mode === 'rs256') {
    const input = `${part({ alg: 'RS256', typ: 'JWT', kid: rsa.kid })}.${part(claims)}`;
    const key = createPrivateKey({ key: rsa, format: 'jwk' });
    return `${input}.${b64url(sign('sha256', Buffer.from(input), key))}`;
  }
  throw new Error(`unknown mode ${mode}`);
}

const [cmd, ...args] = process.argv.slice(2);
try {
  let out;
  if (cmd === 'signin') out = await signin(...args);
  else if (cmd === 'forge') out = forge(...args);
  else if (cmd === 'rotate') out = await (await fetch(`${args[0]}/test/rotate`, { method: 'POST' })).text();
  else throw new Error('usage: flow.mjs signin|forge|rotate ...');
  process.stdout.write(`${out}\n`);
} catch (e) {
  process.stderr.write(`flow.mjs: ${e.stack || e}\n`);
  process.exit(1);
}
