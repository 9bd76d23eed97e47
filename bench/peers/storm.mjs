// Fires N calls at once, each on its own new connection, and reports how long
// until every one was answered and with which statuses.
//
// Usage: node storm.mjs PORT PATH N  (headers from BENCH_KEY and BENCH_PAC)
// Prints one line: "STORM calls=N ms=T statuses={...} refreshed=R errors=E".
import http from 'node:http';

const [port, path, nArg] = process.argv.slice(2);
const n = Number(nArg);
const headers = { Authorization: `Bearer ${process.env.BENCH_KEY}`, 'Tollgate-Auth-Config': process.env.BENCH_PAC };
const statuses = {};
let refreshed = 0;
let errors = 0;

function call() {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: 'GET', headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () => {
        statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
        if (res.headers['tollgate-refreshed'] === 'true') refreshed++;
        resolve();
      });
      res.on('error', () => { errors++; resolve(); });
    });
    req.on('error', () => { errors++; resolve(); });
    req.end();
  });
}

const start = process.hrtime.bigint();
await Promise.all(Array.from({ length: n }, call));
const ms = Number(process.hrtime.bigint() - start) / 1e6;
console.log(`STORM calls=${n} ms=${ms.toFixed(0)} statuses=${JSON.stringify(statuses)} refreshed=${refreshed} errors=${errors}`);
