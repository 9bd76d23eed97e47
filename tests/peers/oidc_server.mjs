// A real OAuth 2.0 / OpenID Connect authorization server (oidc-provider) for
// tollgate's integration tests. Listens on 127.0.0.1 only; issuer http://127.0.0.1:PORT.
//
//   node oidc_server.mjs --port P --clients FILE [--redirect-uri URI ...]
//                        [--access-token-ttl SECONDS] [--refresh-token-ttl SECONDS]
//
// Options may come from the environment instead: OIDC_PORT, OIDC_CLIENTS_FILE or
// OIDC_CLIENTS (the JSON itself), OIDC_REDIRECT_URIS (space-separated),
// OIDC_ACCESS_TOKEN_TTL (default 60), OIDC_REFRESH_TOKEN_TTL (default 86400).
// Prints "READY <port>" once listening; exits 0 on SIGTERM or SIGINT, 3 when
// the port is taken.
//
// Users: devInteractions accept any login name with any password; the account
// id (the `sub`) is the login name. Token, introspection and revocation requests
// must authenticate with the client's registered token_endpoint_auth_method.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import Provider from 'oidc-provider';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: process.env.OIDC_PORT },
    'redirect-uri': { type: 'string', multiple: true },
    clients: { type: 'string', default: process.env.OIDC_CLIENTS_FILE },
    'access-token-ttl': { type: 'string', default: process.env.OIDC_ACCESS_TOKEN_TTL ?? '60' },
    'refresh-token-ttl': { type: 'string', default: process.env.OIDC_REFRESH_TOKEN_TTL ?? '86400' },
  },
});

function fail(message) {
  console.error(`oidc_server: ${message}`);
  process.exit(2);
}

function positiveInt(name, text) {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) fail(`${name} must be a positive integer, got ${JSON.stringify(text)}`);
  return n;
}

const port = positiveInt('--port', args.port);
const accessTokenTtl = positiveInt('--access-token-ttl', args['access-token-ttl']);
const refreshTokenTtl = positiveInt('--refresh-token-ttl', args['refresh-token-ttl']);
const redirectUris = args['redirect-uri']
  ?? (process.env.OIDC_REDIRECT_URIS ?? '').split(' ').filter(Boolean);
const issuer = `http://127.0.0.1:${port}`;

// Scopes of the pretend API behind this server. Listed in `scopes` so that the
// access token of an authorization-code grant carries them (without a resource
// indicator oidc-provider keeps only the scopes it knows).
const API_SCOPES = ['api:read', 'api:write'];

// Client metadata as oidc-provider takes it (client_id, client_secret,
// grant_types, redirect_uris, token_endpoint_auth_method, scope, ...). A client
// allowed the authorization_code grant but given no redirect_uris gets the
// --redirect-uri values, so one clients file serves servers on any port.
function loadClients() {
  const source = args.clients ? readFileSync(args.clients, 'utf8') : process.env.OIDC_CLIENTS;
  if (!source) fail('give the clients as --clients FILE or OIDC_CLIENTS (a JSON array)');
  const clients = JSON.parse(source);
  if (!Array.isArray(clients)) fail('the clients must be a JSON array of client metadata');
  return clients.map((client) => {
    const wantsRedirect = (client.grant_types ?? ['authorization_code']).includes('authorization_code');
    if (!wantsRedirect || client.redirect_uris?.length) return client;
    if (!redirectUris.length) fail(`client ${client.client_id} needs redirect_uris or --redirect-uri`);
    return { ...client, redirect_uris: redirectUris };
  });
}

const clients = loadClients();

const provider = new Provider(issuer, {
  clients,
  // Fixed keys: these cookies only ever live inside one test run.
  cookies: { keys: ['tollgate-test-peer-cookie-key'] },
  scopes: ['openid', 'offline_access', ...API_SCOPES],
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  // Every authorization-code grant gets a refresh token, whether or not
  // offline_access survived (oidc-provider drops it unless prompt=consent).
  issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
  // Each refresh answers a new refresh token and consumes the old one; reusing
  // a consumed one revokes the whole grant (invalid_grant).
  rotateRefreshToken: true,
  // Refresh tokens outlive the browser session that created them, as at
  // real providers (oidc-provider's default ties them to it without offline_access).
  expiresWithSession: async () => false,
  ttl: {
    AccessToken: accessTokenTtl,
    ClientCredentials: accessTokenTtl,
    AuthorizationCode: 60,
    IdToken: 3600,
    RefreshToken: refreshTokenTtl,
    Interaction: 3600,
    Session: 86400,
    Grant: refreshTokenTtl,
  },
  features: {
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    // No resource indicators: access tokens are opaque and carry the scopes.
    resourceIndicators: { enabled: false },
  },
});

// oidc-provider takes client_secret_basic and client_secret_post alike, whatever
// the client registered. Real providers often do not, and tollgate must send
// what its catalog says (token_endpoint_auth), so this server refuses the other.
const registeredAuthMethod = new Map(clients.map((c) => [c.client_id, c.token_endpoint_auth_method ?? 'client_secret_basic']));
const clientAuthenticatedPaths = new Set(['/token', '/token/introspection', '/token/revocation']);

async function readRawBody(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 64 * 1024) throw Object.assign(new Error('request body too large'), { status: 413, expose: true });
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function formDecode(text) {
  return decodeURIComponent(text.replace(/\+/g, ' '));
}

// Token requests by grant type, for tests that count refreshes at the server:
// GET /__stats → {"grants": {"refresh_token": 1, ...}}. Optional: POST /__delay?ms=N
// makes every later token request wait N ms before it is answered.
const grantCounts = {};
let tokenDelayMs = 0;
provider.use(async (ctx, next) => {
  if (ctx.path === '/__stats' && ctx.method === 'GET') {
    ctx.body = { grants: grantCounts };
    return undefined;
  }
  if (ctx.path === '/__delay' && ctx.method === 'POST') {
    tokenDelayMs = Math.max(0, Number.parseInt(ctx.query.ms ?? '0', 10) || 0);
    ctx.body = { delay_ms: tokenDelayMs };
    return undefined;
  }
  return next();
});

provider.use(async (ctx, next) => {
  if (ctx.method !== 'POST' || !clientAuthenticatedPaths.has(ctx.path) || !ctx.is('application/x-www-form-urlencoded')) {
    return next();
  }
  // Read here, so oidc-provider parses it from req.body (it warns once about that).
  const raw = await readRawBody(ctx.req);
  ctx.req.body = raw;
  const form = new URLSearchParams(raw);
  if (ctx.path === '/token') {
    const grant = form.get('grant_type') ?? '';
    grantCounts[grant] = (grantCounts[grant] ?? 0) + 1;
    if (tokenDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, tokenDelayMs));
  }
  let used;
  let clientId;
  const basic = /^basic\s+(\S+)$/i.exec(ctx.get('authorization'));
  if (basic) {
    used = 'client_secret_basic';
    const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
    try {
      clientId = formDecode(decoded.slice(0, decoded.indexOf(':')));
    } catch {
      clientId = undefined;  // oidc-provider answers the malformed header itself
    }
  } else if (form.has('client_secret')) {
    used = 'client_secret_post';
    clientId = form.get('client_id');
  }
  const registered = registeredAuthMethod.get(clientId);
  if (used && registered && used !== registered) {
    console.error(`oidc_server: client ${clientId} authenticated with ${used}, registered ${registered}`);
    ctx.status = 401;
    ctx.set('Cache-Control', 'no-store');
    ctx.body = {
      error: 'invalid_client',
      error_description: `client authentication failed: this client must use ${registered}`,
    };
    return undefined;
  }
  return next();
});

// A test that sends something odd should see why in the peer's log.
provider.on('server_error', (_ctx, err) => console.error('oidc_server: server_error', err));
for (const event of ['grant.error', 'introspection.error', 'revocation.error', 'authorization.error']) {
  provider.on(event, (_ctx, err) => console.error(`oidc_server: ${event}: ${err.message}`, err.error_detail ?? ''));
}

const server = provider.listen(port, '127.0.0.1', () => {
  console.log(`READY ${server.address().port}`);
});
server.on('error', (err) => {
  console.error(`oidc_server: ${err.message}`);
  process.exit(err.code === 'EADDRINUSE' ? 3 : 1);
});

function stop() {
  server.close(() => process.exit(0));
  server.closeAllConnections();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
