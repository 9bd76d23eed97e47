// Opens N keep-alive client connections, makes one call on each (at most
// PARALLEL at a time), and keeps them all open and idle: prints
// "IDLE open=N ok=K failed=F" once they are, then holds them until SIGTERM.
//
// Usage: node idle_conns.mjs PORT PATH N [PARALLEL]  (headers from BENCH_KEY and BENCH_PAC)
import net from 'node:net';

const [port, path, nArg, parallelArg] = process.argv.slice(2);
const n = Number(nArg);
const parallel = Number(parallelArg ?? 200);
const request =
  `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${process.env.BENCH_KEY}\r\n` +
  `Tollgate-Auth-Config: ${process.env.BENCH_PAC}\r\n\r\n`;
const sockets = [];
let ok = 0;
let failed = 0;

// One call: the answer is read until its head and Content-Length-framed body
// (or a chunked body's last chunk) have arrived; the socket then stays open.
function open() {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port: Number(port) });
    let data = '';
    let done = false;
    const finish = (good) => {
      if (done) return;
      done = true;
      good ? ok++ : failed++;
      resolve();
    };
    s.setEncoding('latin1');
    s.on('connect', () => s.write(request));
    s.on('data', (chunk) => {
      data += chunk;
      const end = data.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = data.slice(0, end);
      const m = /content-length:\s*(\d+)/i.exec(head);
      const complete = m ? data.length - end - 4 >= Number(m[1]) : data.endsWith('0\r\n\r\n');
      if (complete) {
        finish(head.startsWith('HTTP/1.1 200'));
        data = '';
      }
    });
    s.on('error', () => finish(false));
    s.on('close', () => finish(false));
    sockets.push(s);
  });
}

let next = 0;
async function lane() {
  while (next < n) {
    next++;
    await open();
  }
}
await Promise.all(Array.from({ length: parallel }, lane));
const open_now = sockets.filter((s) => !s.destroyed).length;
console.log(`IDLE open=${open_now} ok=${ok} failed=${failed}`);
const quit = () => { for (const s of sockets) s.destroy(); process.exit(0); };
process.on('SIGTERM', quit);
