-- Sends the relay's headers on every request (the same bytes to every target,
-- so the direct and nginx cases carry what tollgate's case carries), and prints
-- one machine-readable line at the end that run.sh parses.
local key = os.getenv("BENCH_KEY") or ""
local pac = os.getenv("BENCH_PAC") or ""
wrk.headers["Authorization"] = "Bearer " .. key
wrk.headers["Tollgate-Auth-Config"] = pac

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d rps=%.1f p50_us=%d p99_us=%d non2xx=%d connect=%d read=%d write=%d timeout=%d\n",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(99),
    e.status, e.connect, e.read, e.write, e.timeout))
end
