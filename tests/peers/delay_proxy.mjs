// A forwarding proxy for tests: every request to 127.0.0.1:<port> goes to
// <target> after <delay> ms, unchanged; GET /__stats answers how many requests
// each path received. Prints "READY <port>" when listening.
//   node delay_proxy.mjs --port P --target http://127.0.0.1:Q --delay 2000
import http from 'node:http';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, arg, i, all) => (arg.startsWith('--') ? [...pairs, [arg.slice(2), all[i + 1]]] : pairs), []),
);
const port = Number(args.port);
const target = new URL(args.target);
const delay = Number(args.delay ?? 0);
const counts = {};

const server = http.createServer((req, res) => {
  if (req.url === '/__stats') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(counts));
    return;
  }
  const path = req.url.split('?')[0];
  counts[path] = (counts[path] ?? 0) + 1;
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    setTimeout(() => {
      const headers = { ...req.headers, host: target.host };
      const upstream = http.request(
        { hostname: target.hostname, port: target.port, path: req.url, method: req.method, headers },
        (answer) => {
          res.writeHead(answer.statusCode, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', () => {
        res.writeHead(502);
        res.end();
      });
      upstream.end(Buffer.concat(chunks));
    }, delay);
  });
});

server.listen(port, '127.0.0.1', () => console.log(`READY ${port}`));
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.close(() => process.exit(0)));
