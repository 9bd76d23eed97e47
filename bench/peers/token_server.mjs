// A token endpoint and a token-checking API for the refresh-storm case.
//
//   POST /token   grant_type=refresh_token with the current refresh token →
//                 a new access token (expires_in 3600) and a rotated refresh
//                 token, after DELAY_MS (a real token endpoint is not instant).
//                 A rotated-out refresh token is invalid_grant, as at a
//                 provider that rotates.
//   ANY  /api/…   200 with a small JSON body for the access token issued
//                 last, 401 invalid_token for any other (none is valid
//                 before the first refresh).
//   GET  /__stats {"refresh_token": n, "other_grants": n, "api_ok": n, "api_401": n}
//
// Usage: node token_server.mjs INITIAL_REFRESH [DELAY_MS]
// Listens on 127.0.0.1 on a free port and prints "listening <port>".
import http from 'node:http';

const [initialRefresh, delayArg] = process.argv.slice(2);
if (!initialRefresh) {
  console.error('usage: token_server.mjs INITIAL_REFRESH [DELAY_MS]');
  process.exit(2);
}
const delayMs = Number(delayArg ?? 100);
let access = null;
let refresh = initialRefresh;
let generation = 0;
const stats = { refresh_token: 0, other_grants: 0, invalid_grant: 0, api_ok: 0, api_401: 0 };

function json(res, status, body, extra = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...extra });
  res.end(text);
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const url = new URL(req.url, 'http://127.0.0.1');
    if (req.method === 'GET' && url.pathname === '/__stats') return json(res, 200, stats);
    if (req.method === 'POST' && url.pathname === '/token') {
      const form = new URLSearchParams(Buffer.concat(chunks).toString());
      if (form.get('grant_type') !== 'refresh_token') {
        stats.other_grants++;
        return json(res, 400, { error: 'unsupported_grant_type' });
      }
      stats.refresh_token++;
      if (form.get('refresh_token') !== refresh) {
        stats.invalid_grant++;
        return json(res, 400, { error: 'invalid_grant' });
      }
      generation++;
      access = `bench-access-${generation}-${Math.random().toString(36).slice(2)}`;
      refresh = `bench-refresh-${generation}-${Math.random().toString(36).slice(2)}`;
      const answer = { access_token: access, token_type: 'Bearer', expires_in: 3600, refresh_token: refresh };
      return setTimeout(() => json(res, 200, answer, { 'Cache-Control': 'no-store' }), delayMs);
    }
    if (url.pathname.startsWith('/api/')) {
      if (access !== null && req.headers.authorization === `Bearer ${access}`) {
        stats.api_ok++;
        return json(res, 200, { ok: true });
      }
      stats.api_401++;
      return json(res, 401, { error: 'invalid_token' }, { 'WWW-Authenticate': 'Bearer error="invalid_token"' });
    }
    json(res, 404, { error: 'not_found' });
  });
});
server.keepAliveTimeout = 120000;
server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
process.on('SIGTERM', () => process.exit(0));
