// provider.mjs - a real OpenID Connect provider (the OpenID-Certified
// oidc-provider, pinned in package-lock.json) on a loopback port, for the
// integration tests of POST /v1/auth/oidc.
//
//   node tests/oidc/provider.mjs PORT KEYS_FILE
//
// Issuer http://127.0.0.1:PORT. Public clients with PKCE, as native apps
// are (RFC 8252): "reflect-app" (RS256 ID tokens), "reflect-app-es"
// (ES256) and "other-app" (an app of someone else, for wrong-audience
// tokens). The sign-in interaction is this file's: any login name is an
// account whose e-mail address is that name, with password "test-password";
// a name starting "unverified." has email_verified false. Consent is given
// at once (first-party apps). Signing keys are made at start-up; the
// private JWKS goes to KEYS_FILE, so that attack tests can make tokens the
// provider's key signed but the provider never issued (expired, wrong
// issuer). POST /test/rotate puts a new RSA key first (the next tokens are
// signed with a kid the service has not seen). Prints "ready" when it
// listens; ends on SIGTERM.
import { createServer } from 'node:http';
import { generateKeyPairSync, createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import Provider from 'oidc-provider';

const port = Number(process.argv[2]);
const keysFile = process.argv[3];
const issuer = `http://127.0.0.1:${port}`;
const PASSWORD = 'test-password';

function newKey(type, kid) {
  const { privateKey } = type === 'RSA'
    ? generateKeyPairSync('rsa', { modulusLength: 2048 })
    : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { ...privateKey.export({ format: 'jwk' }), kid, use: 'sig', alg: type === 'RSA' ? 'RS256' : 'ES256' };
}

let keys = [newKey('RSA', 'rsa-1'), newKey('EC', 'ec-1')];
let rotations = 0;

const client = (id, alg) => ({
  client_id: id,
  application_type: 'native',
  token_endpoint_auth_method: 'none',
  redirect_uris: ['http://127.0.0.1/callback'],
  grant_types: ['authorization_code'],
  response_types: ['code'],
  id_token_signed_response_alg: alg,
});

function account(id) {
  return {
    accountId: id,
    async claims() {
      return {
        sub: createHash('sha256').update(id).digest('hex').slice(0, 32),
        email: id.replace(/^unverified\./, ''),
        email_verified: !id.startsWith('unverified.'),
        name: `Test ${id.split('@')[0]}`,
      };
    },
  };
}

function makeProvider() {
  const p = new Provider(issuer, {
    clients: [client('reflect-app', 'RS256'), client('reflect-app-es', 'ES256'), client('other-app', 'RS256')],
    jwks: { keys },
    pkce: { required: () => true },
    cookies: { keys: ['reflectd-test-cookie-key'] },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    // ID tokens carry the claims themselves: the app has no userinfo call to make.
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: false } },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    findAccount: (ctx, id) => account(id),
    ttl: { IdToken: 600, AccessToken: 600, AuthorizationCode: 60, Interaction: 600, Session: 600, Grant: 600 },
  });
  p.proxy = false;
  return p;
}

let provider = makeProvider();

function readForm(req) {
  return new Promise((resolve, reject) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => resolve(new URLSearchParams(body)));
    req.on('error', reject);
  });
}

async function interaction(req, res) {
  const details = await provider.interactionDetails(req, res);
  const { prompt, params, session } = details;
  if (req.method === 'GET') {
    res.setHeader('Content-Type', 'text/html');
    res.end(`<form method="post"><input name="prompt" value="${prompt.name}"></form>`);
    return;
  }
  const form = await readForm(req);
  if (prompt.name === 'login') {
    if (form.get('password') !== PASSWORD || !form.get('login')) {
      res.statusCode = 403;
      res.end('wrong login');
      return;
    }
    await provider.interactionFinished(req, res, { login: { accountId: form.get('login') } },
      { mergeWithLastSubmission: false });
    return;
  }
  const grant = new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
  if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}

function saveKeys() {
  writeFileSync(keysFile, JSON.stringify({ issuer, keys }));
}

const server = createServer((req, res) => {
  if (req.url.startsWith('/interaction/')) {
    interaction(req, res).catch((e) => {
      res.statusCode = 500;
      res.end(String(e));
    });
    return;
  }
  if (req.method === 'POST' && req.url === '/test/rotate') {
    rotations += 1;
    keys = [newKey('RSA', `rsa-rotated-${rotations}`), ...keys];
    provider = makeProvider();
    saveKeys();
    res.end('rotated');
    return;
  }
  provider.callback()(req, res);
});

saveKeys();
server.listen(port, '127.0.0.1', () => {
  process.stdout.write('ready\n');
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
