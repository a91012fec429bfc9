// A real OpenID provider for the tests: panva's oidc-provider (npm, pinned in package.json).
//
//   node tests/backends/oidc_provider.mjs --port 8765 --client-id spa \
//        --redirect-uri http://127.0.0.1:8000/ [--redirect-uri ...] [--access-ttl 6] \
//        [--alg-client spa-es=ES256 ...]
//
// prints one line once it listens:  oidc-provider ready: issuer http://127.0.0.1:8765
//
// One public client (no secret, PKCE required, the provider's default for public clients),
// the dev login and consent pages (`devInteractions`: any login, any password), refresh
// tokens with rotation and no grace (a spent refresh token presented again kills the whole
// grant: the provider's default for public clients, kept on purpose), revocation, userinfo
// at /me with `preferred_username` for scope `profile`, CORS from the redirect URIs' origins
// (the provider's default). Keys are made fresh at each start; tokens are opaque.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';

import Provider from 'oidc-provider';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    'client-id': { type: 'string', default: 'pyauth-spa' },
    'redirect-uri': { type: 'string', multiple: true },
    'access-ttl': { type: 'string', default: '6' },
    'refresh-ttl': { type: 'string', default: '3600' },
    // More clients like the first, each with its ID tokens signed by another alg (ID=ALG).
    'alg-client': { type: 'string', multiple: true, default: [] },
  },
});
if (!values.port || !values['redirect-uri']?.length) {
  console.error('usage: oidc_provider.mjs --port N --client-id ID --redirect-uri URL [--redirect-uri URL] [--access-ttl S]');
  process.exit(2);
}
const port = Number(values.port);
const issuer = `http://127.0.0.1:${port}`;
const accessTtl = Number(values['access-ttl']);
const refreshTtl = Number(values['refresh-ttl']);

function signingKey(type, options, alg) {
  const jwk = generateKeyPairSync(type, options).privateKey.export({ format: 'jwk' });
  return { ...jwk, alg, use: 'sig', kid: `${alg.toLowerCase()}-${randomBytes(4).toString('hex')}` };
}

const publicClient = (clientId, idTokenAlg) => ({
  client_id: clientId,
  application_type: 'web',
  token_endpoint_auth_method: 'none',
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  redirect_uris: values['redirect-uri'],
  ...(idTokenAlg ? { id_token_signed_response_alg: idTokenAlg } : {}),
});

const configuration = {
  clients: [
    publicClient(values['client-id']),
    ...values['alg-client'].map((pair) => publicClient(...pair.split('='))),
  ],
  // RS256 first: the ID token's default alg; ES256 is published too (a JWKS with two kinds).
  jwks: {
    keys: [
      signingKey('rsa', { modulusLength: 2048 }, 'RS256'),
      signingKey('ec', { namedCurve: 'P-256' }, 'ES256'),
      signingKey('rsa', { modulusLength: 2048 }, 'PS256'),
    ],
  },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  claims: { openid: ['sub'], profile: ['preferred_username'] },
  async findAccount(_ctx, id) {
    return { accountId: id, async claims() { return { sub: id, preferred_username: id }; } };
  },
  features: {
    devInteractions: { enabled: true },
    revocation: { enabled: true },
    userinfo: { enabled: true },
  },
  // The provider drops `offline_access` from an authorization request without
  // `prompt=consent`; a public web client doing the code flow gets a refresh token anyway
  // (the shape the provider's docs give for "always issue a refresh token"), so the app
  // need not force the consent page at every sign-in.
  async issueRefreshToken(_ctx, client, code) {
    if (!client.grantTypeAllowed('refresh_token')) return false;
    return code.scopes.has('offline_access') || (client.applicationType === 'web' && client.clientAuthMethod === 'none');
  },
  // Tied to the grant, not to the provider's browser session (which offline_access would do).
  expiresWithSession: async () => false,
  ttl: {
    AccessToken: accessTtl,
    AuthorizationCode: 60,
    IdToken: 3600,
    Interaction: 600,
    Grant: refreshTtl,
    Session: refreshTtl,
    // Rotation keeps the first token's remaining lifetime (the provider's rule for public clients).
    RefreshToken(ctx, _token, _client) {
      return ctx?.oidc?.entities.RotatedRefreshToken?.remainingTTL ?? refreshTtl;
    },
  },
};

const provider = new Provider(issuer, configuration);
const server = provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider ready: issuer ${issuer}`);
});
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
