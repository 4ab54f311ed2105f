// A real OpenID Connect provider (the npm package oidc-provider) for ferrocd's SSO tests.
//
//   node provider.mjs <redirect-uri> [id-token-alg]
//
// Loads oidc-provider from $FERROCD_NODE_MODULES, listens on a free loopback port and prints
// its issuer URL (http://localhost:<port>) on one line when ready. One confidential client,
// `ferrocd` (secret `mlops-sso-secret`, PKCE required, the given redirect URI). Any login name
// is accepted by the development login form; these have claims:
//   dana  groups [ml-engineers]        email dana@ml.example.com
//   erin  groups [data-analysts]       email erin@ml.example.com
//   admin groups []                    (a name that collides with ferrocd's local admin)
// For failure tests, `POST /__test/tamper?mode=aud|nonce|off` makes the token endpoint return
// ID tokens re-signed with the provider's own key but another audience or nonce, as a
// misbehaving provider (or an attacker holding a token for another client) would.
import { createRequire } from 'node:module';
import { createServer } from 'node:http';
import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const modules = process.env.FERROCD_NODE_MODULES;
if (!modules) {
  console.error('provider.mjs: FERROCD_NODE_MODULES is not set');
  process.exit(2);
}
const redirectUri = process.argv[2];
if (!redirectUri) {
  console.error('usage: node provider.mjs <redirect-uri> [RS256|ES256]');
  process.exit(2);
}
const idTokenAlg = process.argv[3] || 'RS256';

const require = createRequire(join(modules, 'ferrocd-sso-test.js'));
const load = async (name) => import(pathToFileURL(require.resolve(name)).href);
const { default: Provider } = await load('oidc-provider');
const { SignJWT, decodeJwt, decodeProtectedHeader } = await load('jose');

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const signingKeys = {
  'rsa-1': { key: rsa.privateKey, alg: 'RS256' },
  'ec-1': { key: ec.privateKey, alg: 'ES256' },
};
const jwks = {
  keys: [
    { ...rsa.privateKey.export({ format: 'jwk' }), kid: 'rsa-1', alg: 'RS256', use: 'sig' },
    { ...ec.privateKey.export({ format: 'jwk' }), kid: 'ec-1', alg: 'ES256', use: 'sig' },
  ],
};

const people = {
  dana: { name: 'Dana Data', email: 'dana@ml.example.com', groups: ['ml-engineers'] },
  erin: { name: 'Erin Analyst', email: 'erin@ml.example.com', groups: ['data-analysts'] },
  admin: { name: 'Not The Admin', email: 'impostor@ml.example.com', groups: [] },
};

let tamper = 'off';

const server = createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://localhost:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: 'ferrocd',
    client_secret: 'mlops-sso-secret',
    redirect_uris: [redirectUri],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: idTokenAlg,
  }],
  jwks,
  cookies: { keys: ['ferrocd-sso-test-cookie-key'] },
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: true },
    claimsParameter: { enabled: true },
  },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username'],
    groups: ['groups'],
  },
  async findAccount(ctx, id) {
    const person = people[id] || { name: id, email: `${id}@example.org`, groups: [] };
    return {
      accountId: id,
      async claims() {
        return {
          sub: id,
          name: person.name,
          preferred_username: id,
          email: person.email,
          email_verified: true,
          groups: person.groups,
        };
      },
    };
  },
});

provider.use(async (ctx, next) => {
  if (ctx.path === '/__test/tamper' && ctx.method === 'POST') {
    tamper = ctx.query.mode || 'off';
    ctx.body = { tamper };
    return;
  }
  await next();
  if (ctx.path === '/token' && tamper !== 'off' && ctx.body && ctx.body.id_token) {
    const header = decodeProtectedHeader(ctx.body.id_token);
    const claims = decodeJwt(ctx.body.id_token);
    if (tamper === 'aud') claims.aud = 'jupyterhub';
    if (tamper === 'nonce') claims.nonce = 'a-nonce-from-another-login';
    const { key, alg } = signingKeys[header.kid];
    ctx.body = {
      ...ctx.body,
      id_token: await new SignJWT(claims).setProtectedHeader({ alg, kid: header.kid }).sign(key),
    };
  }
});

server.on('request', provider.callback());
process.on('SIGTERM', () => process.exit(0));
console.log(issuer);
