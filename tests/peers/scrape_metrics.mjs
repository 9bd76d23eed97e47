// Scrapes a Prometheus endpoint and parses it with parse-prometheus-text-format
// (a real text-format parser, not tollgate's own code), then prints the parsed
// families as one JSON document on stdout for the C++ test to check.
//   node scrape_metrics.mjs --url http://127.0.0.1:PORT/metrics
// Exit 2 when the answer is not 200 with the text format's content type, or
// when the parser rejects it.
import parsePrometheusTextFormat from 'parse-prometheus-text-format';

const args = process.argv.slice(2);
const url = args[args.indexOf('--url') + 1];
if (!url || !/^http:\/\/127\.0\.0\.1:\d+\//.test(url)) {
  console.error('usage: scrape_metrics.mjs --url http://127.0.0.1:PORT/metrics');
  process.exit(64);
}
const res = await fetch(url);
const text = await res.text();
const type = res.headers.get('content-type') || '';
if (res.status !== 200 || !type.startsWith('text/plain; version=0.0.4')) {
  console.error(`unexpected answer: ${res.status} ${type}\n${text.slice(0, 500)}`);
  process.exit(2);
}
let families;
try {
  families = parsePrometheusTextFormat(text);
} catch (e) {
  console.error(`the parser rejected the exposition: ${e.message}`);
  process.exit(2);
}
// The parser folds every series of a labelled histogram into one sample (it
// keeps the buckets of the last series and drops _sum and _count). So the
// histograms are read a second time with their TYPE lines made untyped, which
// makes the parser hand back each _bucket, _sum and _count sample with its
// labels; they are grouped into series here.
const histograms = {};
const untyped = parsePrometheusTextFormat(text.replace(/^# TYPE (\S+) histogram$/gm, '# TYPE $1 untyped'));
for (const family of families.filter((f) => f.type === 'HISTOGRAM')) {
  const series = new Map();
  const slot = (labels) => {
    const { le, ...rest } = labels || {};
    const key = JSON.stringify(Object.entries(rest).sort());
    if (!series.has(key)) series.set(key, { labels: rest, buckets: {}, sum: null, count: null });
    return series.get(key);
  };
  for (const f of untyped) {
    for (const m of f.metrics) {
      if (f.name === `${family.name}_bucket`) slot(m.labels).buckets[m.labels.le] = Number(m.value);
      else if (f.name === `${family.name}_sum`) slot(m.labels).sum = Number(m.value);
      else if (f.name === `${family.name}_count`) slot(m.labels).count = Number(m.value);
    }
  }
  histograms[family.name] = [...series.values()];
}
process.stdout.write(JSON.stringify({ families, histograms, bytes: text.length }) + '\n');
