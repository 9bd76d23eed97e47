#!/usr/bin/env bash
# tollgate's load benchmark, side by side with nginx in one run (bench/README.md
# says how to read the output).
#
#   bench/run.sh [--quick] [--profile] [--sections LIST] [--bin PATH]
#
#   --quick      2 s per wrk run instead of 10 s (the matrix still runs 3 times);
#                the full run takes about 20 minutes on 2 cores
#   --profile    also `perf record` tollgate under the 64-connection plain case
#   --sections   comma list out of matrix,metering,redis,idle,stream,storm
#                (default: all of them)
#   --bin PATH   the tollgate binary (default: build it in build-bench, Release)
#
# Everything listens on 127.0.0.1 on ports chosen at run time; every process
# started here is stopped on exit. The whole output also goes to
# bench/results/<UTC time>[-quick].txt.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH=$ROOT/bench

QUICK=0
PROFILE=0
SECTIONS=matrix,metering,redis,idle,stream,storm
BIN=""
while (($#)); do
  case $1 in
    --quick) QUICK=1 ;;
    --profile) PROFILE=1 ;;
    --sections) SECTIONS=$2; shift ;;
    --bin) BIN=$2; shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "bench/run.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done
has_section() { [[ ",$SECTIONS," == *",$1,"* ]]; }

DURATION=10 WARMUP=3 REPS=3
((QUICK)) && DURATION=2 WARMUP=1
THREADS=2              # wrk threads; wrk shares the 2 cores with the servers
IDLE_CONNS=10000
STREAM_BYTES=$((1024 * 1024 * 1024))
STORM_CALLS=1000
TOKEN_DELAY_MS=100     # the storm's token endpoint answers after this

for tool in wrk nginx node openssl curl jq redis-server redis-cli; do
  command -v "$tool" >/dev/null || { echo "bench/run.sh: '$tool' is missing: run scripts/deps.sh --bench" >&2; exit 1; }
done
if ((PROFILE)) && ! command -v perf >/dev/null; then
  echo "bench/run.sh: --profile needs perf: run scripts/deps.sh --bench" >&2; exit 1
fi

source "$BENCH/lib.sh"
[[ -n $BIN ]] || build_tollgate

# 10,000 idle clients plus upstream connections need more than 1024 files.
ulimit -n "$(ulimit -Hn)"

TMP=$(mktemp -d /tmp/tollgate-bench.XXXXXX)
PIDS=()
cleanup() {
  stop_started
  [[ -n ${PROBES_ADDED:-} ]] && perf probe -q -d 'tgbench:*' >/dev/null 2>&1
  [[ -n ${KEEP_TMP:-} ]] && echo "kept $TMP" || rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$BENCH/results"
STAMP=$(date -u +%Y-%m-%dT%H%M%SZ)
SUFFIX=""; ((QUICK)) && SUFFIX=-quick
RESULT=$BENCH/results/$STAMP$SUFFIX.txt
exec > >(tee "$RESULT") 2>&1

# ---------------------------------------------------------------- helpers

status_kib() { awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status"; }   # PID FIELD → KiB
# CPU time (user + system, in clock ticks) of PIDs.
# cpu_ticks PID...: "user system" clock ticks (10 ms) the processes have used.
cpu_ticks() {
  local u=0 s=0 p us
  for p in "$@"; do us=($(awk '{print $14, $15}' "/proc/$p/stat")); u=$((u + us[0])) s=$((s + us[1])); done
  echo "$u $s"
}
children() { pgrep -P "$1" | tr '\n' ' '; }

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}'; }
ms() { awk -v us="$1" 'BEGIN {printf "%.2f", us / 1000}'; }
div() { awk -v a="$1" -v b="$2" -v f="${3:-%.3f}" 'BEGIN {if (b == 0) print "n/a"; else printf f, a / b}'; }

start_bg() {  # LOG CMD... : starts CMD in the background; its pid in BG_PID
  local log=$1; shift
  "$@" >"$log" 2>&1 &
  BG_PID=$!
  PIDS+=("$BG_PID")
}

# ---------------------------------------------------------------- header

echo "tollgate bench  $STAMP$( ((QUICK)) && echo '  (--quick)')"
echo "commit     $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- src include || echo ' (+ local changes)')"
echo "binary     $BIN"
echo "machine    $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)"
echo "load       $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min, before the run)"
echo "tools      $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2), $(nginx -v 2>&1 | cut -d' ' -f3), node $(node -v), redis $(redis-server -v | cut -d" " -f3 | cut -d= -f2)"
echo "wrk        -t$THREADS, ${DURATION}s per run after a ${WARMUP}s warm-up per target, $REPS runs per case, medians shown"
echo

# ---------------------------------------------------------------- PKI

make_pki "$TMP/pki"

# ---------------------------------------------------------------- upstream nginx

NGINX_USER=""
[[ $(id -u) -eq 0 ]] && NGINX_USER="user root root;"   # workers must read files in this private temp dir

nginx_common() {  # DIR: the lines every nginx here needs to stay inside DIR
  local d=$1
  mkdir -p "$d/tmp"
  cat <<EOF
$NGINX_USER
pid $d/nginx.pid;
error_log $d/error.log warn;
worker_rlimit_nofile $(ulimit -Hn);
EOF
}

UP=$TMP/upstream
mkdir -p "$UP/www"
# The fixed 1 KiB body (JSON, as an API answers) and a sparse 1 GiB file.
node -e "const pad='x'.repeat(1024-16); process.stdout.write(JSON.stringify({ok:true,pad}).slice(0,1023)+'\n')" >"$UP/www/1k.json"
truncate -s "$STREAM_BYTES" "$UP/www/big.bin"
UP_PLAIN=$(free_port)
UP_TLS=$(free_port)
{
  nginx_common "$UP"
  cat <<EOF
worker_processes 2;
events { worker_connections 20000; }
http {
$(nginx_temp_paths "$UP")
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_timeout 300s;
  keepalive_requests 10000000;
  types { application/json json; application/octet-stream bin; }
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:$UP_PLAIN;
    root $UP/www;
  }
  server {
    listen 127.0.0.1:$UP_TLS ssl;
    ssl_certificate $TMP/pki/upstream.pem;
    ssl_certificate_key $TMP/pki/upstream.key;
    ssl_session_cache shared:SSL:1m;
    root $UP/www;
  }
}
EOF
} >"$UP/nginx.conf"
start_bg "$UP/stdout.log" nginx -p "$UP" -c "$UP/nginx.conf" -e "$UP/error.log" -g 'daemon off;'
UP_PID=$BG_PID
wait_for curl -sf -o /dev/null "http://127.0.0.1:$UP_PLAIN/1k.json"
wait_for curl -sf -o /dev/null --cacert "$TMP/pki/ca.pem" "https://127.0.0.1:$UP_TLS/1k.json"

# ---------------------------------------------------------------- nginx reverse proxy (the anchor)

FIXED_TOKEN=bench-fixed-access-token-0123456789abcdef
PX=$TMP/proxy
mkdir -p "$PX"
PX_PORT=$(free_port)
{
  nginx_common "$PX"
  cat <<EOF
worker_processes auto;
events { worker_connections 4096; }
http {
$(nginx_temp_paths "$PX")
$(nginx_proxy_http "$PX_PORT" "$PX/access.log")
}
EOF
} >"$PX/nginx.conf"
start_bg "$PX/stdout.log" nginx -p "$PX" -c "$PX/nginx.conf" -e "$PX/error.log" -g 'daemon off;'
PX_PID=$BG_PID
wait_for curl -sf -o /dev/null "http://127.0.0.1:$PX_PORT/plain/1k.json"
wait_for curl -sf -o /dev/null "http://127.0.0.1:$PX_PORT/tls/1k.json"

# ---------------------------------------------------------------- tollgate instances

ADMIN=tg_admin_bench_$(openssl rand -hex 16)
declare -A TG_PID TG_PORT TG_KEY TG_PAC
TOKEN_PORT=""   # the storm's token server, when it runs

# start_tollgate NAME STORE_YAML METERING_ENABLED
start_tollgate() {
  local name=$1 store=$2 metering=$3 dir=$TMP/tg-$1
  mkdir -p "$dir"
  tollgate_yaml 127.0.0.1:0 "$store" "$metering" >"$dir/tollgate.yaml"
  TOLLGATE_ADMIN_KEY=$ADMIN start_bg "$dir/tollgate.log" "$BIN" serve --config "$dir/tollgate.yaml"
  TG_PID[$name]=$BG_PID
  wait_for grep -q '"msg":"listening"' "$dir/tollgate.log" ||
    { echo "tollgate $name did not start:"; cat "$dir/tollgate.log"; exit 1; }
  TG_PORT[$name]=$(grep -m1 -o '"msg":"listening","address":"127.0.0.1:[0-9]*' "$dir/tollgate.log" | grep -o '[0-9]*$')
}

# provision NAME [PROVIDER CREDENTIALS_JSON]: a tenant, its key, one imported auth config.
provision() {
  local name=$1 provider=${2:-bench}
  local credentials=${3:-"{\"access_token\":\"$FIXED_TOKEN\",\"refresh_token\":\"bench-refresh\",\"expires_at\":\"2099-01-01T00:00:00Z\"}"}
  local base=http://127.0.0.1:${TG_PORT[$name]} tenant key pac
  tenant=$(curl -sf -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
    -d '{"name":"bench"}' "$base/v1/tenants" | jq -r .id)
  key=$(curl -sf -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
    -d '{}' "$base/v1/tenants/$tenant/api-keys" | jq -r .key)
  pac=$(curl -sf -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
    -d "{\"provider\":\"$provider\",\"external_user_id\":\"bench-user\",\"verify\":false,\"credentials\":$credentials}" \
    "$base/v1/auth-configs" | jq -r .id)
  [[ $pac == pac_* ]] || { echo "provisioning tollgate $name failed"; exit 1; }
  TG_KEY[$name]=$key
  TG_PAC[$name]=$pac
}

# stop_tollgate NAME: SIGTERM and wait (at most 30 s). SPEC §8: drain, flush,
# exit 0. Anything else — another status, a signal, a line on the log that is
# not JSON (glibc's heap-corruption messages, say) — is reported and counted.
UNCLEAN=()
STOPPED=0
stop_tollgate() {
  local name=$1 pid=${TG_PID[$1]} status=0 junk state
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 30))
  while state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) && [[ $state != Z ]]; do
    ((SECONDS < deadline)) || { kill -KILL "$pid"; echo "   !! tollgate $name did not stop within 30 s"; break; }
    sleep 0.05
  done
  { wait "$pid"; } 2>/dev/null || status=$?
  STOPPED=$((STOPPED + 1))
  junk=$(grep -v '^{' "$TMP/tg-$name/tollgate.log" | head -3 | tr '\n' ' ' || true)
  if ((status != 0)) || [[ -n $junk ]]; then
    echo "   !! tollgate $name on SIGTERM: exit status $status${junk:+; non-JSON output: $junk}"
    UNCLEAN+=("$name")
  fi
}

SQLITE_STORE=$'store:\n  kind: sqlite\n  sqlite: {path: data/tollgate.db}'

start_tollgate main "$SQLITE_STORE" true
provision main
export BENCH_KEY=${TG_KEY[main]} BENCH_PAC=${TG_PAC[main]}   # read by bench/wrk/report.lua
for scheme in plain tls; do
  provider=bench; [[ $scheme == tls ]] && provider=bench-tls
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $BENCH_KEY" \
    -H "Tollgate-Auth-Config: $BENCH_PAC" "http://127.0.0.1:${TG_PORT[main]}/v1/proxy/$provider/1k.json")
  [[ $code == 200 ]] || { echo "tollgate's $scheme path answers $code"; tail -5 "$TMP/tg-main/tollgate.log"; exit 1; }
done

url_of() {  # TARGET SCHEME [TOLLGATE-NAME]
  local provider=bench
  [[ $2 == tls ]] && provider=bench-tls
  case $1 in
    upstream) [[ $2 == tls ]] && echo "https://127.0.0.1:$UP_TLS/1k.json" || echo "http://127.0.0.1:$UP_PLAIN/1k.json" ;;
    nginx) echo "http://127.0.0.1:$PX_PORT/$2/1k.json" ;;
    tollgate) echo "http://127.0.0.1:${TG_PORT[${3:-main}]}/v1/proxy/$provider/1k.json" ;;
  esac
}
pids_of() {  # TARGET [TOLLGATE-NAME]: the processes whose CPU time a run is charged
  case $1 in
    upstream) echo "$UP_PID $(children "$UP_PID")" ;;
    nginx) echo "$PX_PID $(children "$PX_PID")" ;;
    tollgate) echo "${TG_PID[${2:-main}]}" ;;
  esac
}

# run_wrk URL CONNS SECONDS PIDS: one wrk run; sets R_RPS R_P50 R_P99 R_ERR R_CPU
# (CPU µs the PIDS spent per request) and R_SPLIT ("user+system" of it).
run_wrk() {
  local url=$1 conns=$2 secs=$3 pids=$4 out before after line
  before=($(cpu_ticks $pids))
  out=$(wrk -t"$THREADS" -c"$conns" -d"${secs}s" --latency -s "$BENCH/wrk/report.lua" "$url" 2>&1) ||
    { echo "wrk failed: $out"; exit 1; }
  after=($(cpu_ticks $pids))
  line=$(grep '^BENCH ' <<<"$out") || { echo "no BENCH line from wrk: $out"; exit 1; }
  local -A f
  local kv
  for kv in ${line#BENCH }; do f[${kv%%=*}]=${kv#*=}; done
  R_RPS=${f[rps]} R_P50=${f[p50_us]} R_P99=${f[p99_us]} R_REQ=${f[requests]}
  R_ERR=$((f[non2xx] + f[connect] + f[read] + f[write] + f[timeout]))
  local du=$((after[0] - before[0])) ds=$((after[1] - before[1]))   # ticks are 10 ms
  R_CPU=$(div $(((du + ds) * 10000)) "${f[requests]}" %.1f)
  R_SPLIT="$(div $((du * 10000)) "${f[requests]}" %.0f)+$(div $((ds * 10000)) "${f[requests]}" %.0f)"
}

# ---------------------------------------------------------------- 1. the matrix

declare -A RPS P50 P99 ERR CPU TRACE_REQ MALLOCS
SUMMARY=()
PASS=()

if has_section matrix; then
  echo "== throughput and latency: 1 KiB GET, keep-alive clients, wrk -t$THREADS"
  echo "   upstream = nginx direct (the ceiling); nginx = nginx reverse proxy (the anchor);"
  echo "   tollgate = full path (tenant key, auth config, bearer injection, metering, request log)"
  echo "   cpu/req = CPU time the target's own processes spent per request (µs)"
  echo
  for scheme in plain tls; do
    for conns in 64 512; do
      c="$scheme,$conns"
      echo "-- $scheme upstream, $conns connections"
      for t in upstream nginx tollgate; do run_wrk "$(url_of $t $scheme)" "$conns" "$WARMUP" "$(pids_of $t)"; done
      for rep in $(seq "$REPS"); do
        for t in upstream nginx tollgate; do
          run_wrk "$(url_of $t $scheme)" "$conns" "$DURATION" "$(pids_of $t)"
          RPS[$c,$t]+="$R_RPS " P50[$c,$t]+="$R_P50 " P99[$c,$t]+="$R_P99 " ERR[$c,$t]+="$R_ERR " CPU[$c,$t]+="$R_CPU "
          printf '   run %d  %-9s %10.0f req/s  p50 %7s ms  p99 %7s ms  errors %s  cpu/req %s µs (user+sys %s)\n' \
            "$rep" "$t" "$R_RPS" "$(ms "$R_P50")" "$(ms "$R_P99")" "$R_ERR" "$R_CPU" "$R_SPLIT"
        done
      done
      echo "   tollgate peak RSS so far (VmHWM): $(status_kib "${TG_PID[main]}" VmHWM) KiB"
      echo
    done
  done

  echo "== matrix: medians of $REPS runs"
  printf '%-12s %-9s %10s %9s %9s %8s %8s\n' case target req/s p50_ms p99_ms errors cpu/req
  for scheme in plain tls; do
    for conns in 64 512; do
      c="$scheme,$conns"
      for t in upstream nginx tollgate; do
        # shellcheck disable=SC2086
        printf '%-12s %-9s %10.0f %9s %9s %8s %8s\n' "$scheme c=$conns" "$t" "$(median ${RPS[$c,$t]})" \
          "$(ms "$(median ${P50[$c,$t]})")" "$(ms "$(median ${P99[$c,$t]})")" \
          "$(awk '{for (i = 1; i <= NF; i++) s += $i} END {print s + 0}' <<<"${ERR[$c,$t]}")" "$(median ${CPU[$c,$t]})"
      done
      # shellcheck disable=SC2086
      ratio=$(div "$(median ${RPS[$c,tollgate]})" "$(median ${RPS[$c,nginx]})")
      # shellcheck disable=SC2086
      p99r=$(div "$(median ${P99[$c,tollgate]})" "$(median ${P99[$c,nginx]})")
      printf '%-12s %-9s req/s tollgate/nginx = %s   p99 tollgate/nginx = %s\n' "" ratio "$ratio" "$p99r"
      SUMMARY+=("$(printf 'throughput tollgate/nginx, %-5s c=%-3s  %6s   (target >= 1.0)' "$scheme" "$conns" "$ratio")")
      PASS+=("$(awk -v r="$ratio" 'BEGIN {print (r >= 1.0) ? "PASS" : "FAIL"}')")
      SUMMARY+=("$(printf 'p99 tollgate/nginx,        %-5s c=%-3s  %6s   (target <= 1.0)' "$scheme" "$conns" "$p99r")")
      PASS+=("$(awk -v r="$p99r" 'BEGIN {print (r <= 1.0) ? "PASS" : "FAIL"}')")
    done
  done
  echo "tollgate peak RSS (VmHWM) over the matrix: $(status_kib "${TG_PID[main]}" VmHWM) KiB"
  px_hwm=0
  for p in $PX_PID $(children "$PX_PID"); do px_hwm=$((px_hwm + $(status_kib "$p" VmHWM))); done
  echo "nginx proxy peak RSS (sum of VmHWM, master + workers): $px_hwm KiB"
  SUMMARY+=("$(printf 'tollgate peak RSS over the matrix   %6s MiB   (nginx proxy: %s MiB)' \
    "$(div "$(status_kib "${TG_PID[main]}" VmHWM)" 1024 %.1f)" "$(div "$px_hwm" 1024 %.1f)")")
  PASS+=("info")
  echo
fi

# ---------------------------------------------------------------- 2. metering on vs off

if has_section metering; then
  # More rounds than the matrix: the difference sought is smaller than the noise.
  M_REPS=$((REPS + 2))
  echo "== metering on vs off: tollgate, plain upstream, 64 connections, $M_REPS interleaved rounds"
  start_tollgate nometer "$SQLITE_STORE" false
  provision nometer
  declare -A M_RPS M_CPU
  for name in main nometer; do
    BENCH_KEY=${TG_KEY[$name]} BENCH_PAC=${TG_PAC[$name]} \
      run_wrk "$(url_of tollgate plain $name)" 64 "$WARMUP" "$(pids_of tollgate $name)"
  done
  for rep in $(seq "$M_REPS"); do
    for name in main nometer; do
      BENCH_KEY=${TG_KEY[$name]} BENCH_PAC=${TG_PAC[$name]} \
        run_wrk "$(url_of tollgate plain $name)" 64 "$DURATION" "$(pids_of tollgate $name)"
      M_RPS[$name]+="$R_RPS " M_CPU[$name]+="$R_CPU "
      label="metering on"; [[ $name == nometer ]] && label="metering off"
      printf '   run %d  %-13s %10.0f req/s  p99 %7s ms  errors %s  cpu/req %s µs\n' \
        "$rep" "$label" "$R_RPS" "$(ms "$R_P99")" "$R_ERR" "$R_CPU"
    done
  done
  # shellcheck disable=SC2086
  on=$(median ${M_RPS[main]}) off=$(median ${M_RPS[nometer]})
  # shellcheck disable=SC2086
  cpu_on=$(median ${M_CPU[main]}) cpu_off=$(median ${M_CPU[nometer]})
  cost=$(awk -v a="$on" -v b="$off" 'BEGIN {printf "%.1f", (1 - a / b) * 100}')
  cpu_cost=$(awk -v a="$cpu_on" -v b="$cpu_off" 'BEGIN {printf "%.1f", (a / b - 1) * 100}')
  # shellcheck disable=SC2086
  spread=$(printf '%s\n' ${M_RPS[nometer]} | sort -g | awk '{a[NR] = $1} END {printf "%.0f", (a[NR] - a[1]) / a[int((NR + 1) / 2)] * 100}')
  printf 'medians: on %.0f req/s, off %.0f req/s: %s %% less throughput (the off runs alone spread over %s %%)\n' \
    "$on" "$off" "$cost" "$spread"
  printf '         on %s µs, off %s µs CPU per request: metering costs %s %% more CPU per call\n\n' \
    "$cpu_on" "$cpu_off" "$cpu_cost"
  SUMMARY+=("$(printf 'metering cost, CPU per call         %6s %%   (target < 3 %%; throughput: %s %%, noise %s %%)' \
    "$cpu_cost" "$cost" "$spread")")
  PASS+=("$(awk -v c="$cpu_cost" 'BEGIN {print (c < 3) ? "PASS" : "FAIL"}')")
  stop_tollgate nometer
fi

# ---------------------------------------------------------------- 3. store round trips on Redis

if has_section redis; then
  echo "== store round trips per proxied call, Redis store, steady state (plain, 64 connections)"
  REDIS_PORT=$(free_port)
  mkdir -p "$TMP/redis"
  start_bg "$TMP/redis/redis.log" redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no \
    --dir "$TMP/redis"
  wait_for redis-cli -p "$REDIS_PORT" ping
  start_tollgate redis $'store:\n  kind: redis\n  redis: {url: "redis://127.0.0.1:'"$REDIS_PORT"$'/0"}' true
  provision redis
  export_redis() { BENCH_KEY=${TG_KEY[redis]} BENCH_PAC=${TG_PAC[redis]} "$@"; }
  export_redis run_wrk "$(url_of tollgate plain redis)" 64 "$WARMUP" "$(pids_of tollgate redis)"
  commandstats() { redis-cli -p "$REDIS_PORT" info commandstats | tr -d '\r' | grep '^cmdstat_' |
    sed 's/^cmdstat_\([^:]*\):calls=\([0-9]*\),.*/\1 \2/'; }
  commandstats >"$TMP/redis/before"
  line=$(BENCH_KEY=${TG_KEY[redis]} BENCH_PAC=${TG_PAC[redis]} \
    wrk -t"$THREADS" -c64 -d"${DURATION}s" -s "$BENCH/wrk/report.lua" "$(url_of tollgate plain redis)" | grep '^BENCH ')
  commandstats >"$TMP/redis/after"
  requests=$(grep -o 'requests=[0-9]*' <<<"$line" | cut -d= -f2)
  # The INFO that took the second snapshot is counted in it: leave it out.
  deltas=$(join -a2 -e0 -o '0,1.2,2.2' <(sort "$TMP/redis/before") <(sort "$TMP/redis/after") |
    awk '{d = $3 - $2; if ($1 == "info") d -= 1; if (d > 0) print $1, d}')
  total=$(awk '{s += $2} END {print s + 0}' <<<"$deltas")
  per=$(div "$total" "$requests" %.5f)
  echo "   proxied calls: $requests in ${DURATION}s ($(div "$requests" "$DURATION" %.0f) req/s)"
  echo "   Redis commands during the run: $total  ($(awk '{printf "%s%s=%s", (NR > 1 ? " " : ""), $1, $2}' <<<"$deltas"))"
  echo "   store round trips per proxied call: $per ($(div "$total" "$DURATION" %.1f) commands/s, whatever the load)"
  echo
  SUMMARY+=("$(printf 'Redis round trips per proxied call  %8s   (target <= 0.01)' "$per")")
  PASS+=("$(awk -v r="$per" 'BEGIN {print (r <= 0.01) ? "PASS" : "FAIL"}')")
  stop_tollgate redis
fi

# ---------------------------------------------------------------- 4. idle keep-alive clients

if has_section idle; then
  echo "== $IDLE_CONNS idle keep-alive client connections (one proxied call each, then idle)"
  start_tollgate idle "$SQLITE_STORE" true
  provision idle
  pid=${TG_PID[idle]}
  # Warm up with the same parallelism the idle clients are opened with, so
  # worker state and the upstream pool exist before the baseline is taken.
  BENCH_KEY=${TG_KEY[idle]} BENCH_PAC=${TG_PAC[idle]} run_wrk "$(url_of tollgate plain idle)" 200 2 "$pid"
  rss0=$(status_kib "$pid" VmRSS) fds0=$(ls "/proc/$pid/fd" | wc -l)
  BENCH_KEY=${TG_KEY[idle]} BENCH_PAC=${TG_PAC[idle]} \
    start_bg "$TMP/idle.log" node "$BENCH/peers/idle_conns.mjs" "${TG_PORT[idle]}" /v1/proxy/bench/1k.json "$IDLE_CONNS" 200
  idle_pid=$BG_PID
  wait_for grep -q '^IDLE ' "$TMP/idle.log" || { cat "$TMP/idle.log"; exit 1; }
  rss1=$(status_kib "$pid" VmRSS) fds1=$(ls "/proc/$pid/fd" | wc -l)
  echo "   client: $(grep '^IDLE ' "$TMP/idle.log")"
  echo "   tollgate open files: $fds0 before, $fds1 with the clients connected"
  echo "   tollgate RSS: $rss0 KiB before, $rss1 KiB with the clients connected"
  per_conn=$(div "$((rss1 - rss0))" "$IDLE_CONNS" %.2f)
  echo "   RSS per idle client connection: $per_conn KiB"
  echo
  kill -TERM "$idle_pid"
  SUMMARY+=("$(printf 'RSS per idle client connection      %6s KiB (target <= 16 KiB)' "$per_conn")")
  PASS+=("$(awk -v r="$per_conn" -v n="$((fds1 - fds0))" -v want="$IDLE_CONNS" \
    'BEGIN {print (r <= 16 && n >= want) ? "PASS" : "FAIL"}')")
  stop_tollgate idle
fi

# ---------------------------------------------------------------- 5. 1 GiB streamed through

if has_section stream; then
  echo "== $((STREAM_BYTES >> 20)) MiB response streamed through tollgate (plain upstream, one client, curl)"
  start_tollgate stream "$SQLITE_STORE" true
  provision stream
  pid=${TG_PID[stream]}
  hdr=(-H "Authorization: Bearer ${TG_KEY[stream]}" -H "Tollgate-Auth-Config: ${TG_PAC[stream]}")
  curl -sf -o /dev/null "${hdr[@]}" "$(url_of tollgate plain stream)"
  rss0=$(status_kib "$pid" VmRSS)
  # Sample RSS while the body flows (the sampler stops when curl has exited).
  (
    max=0
    while [[ ! -f $TMP/stream.done ]]; do
      r=$(status_kib "$pid" VmRSS); ((r > max)) && max=$r
      echo "$max" >"$TMP/stream.max"; sleep 0.02
    done
  ) &
  sampler=$!
  PIDS+=("$sampler")
  got=$(curl -s -o /dev/null -w '%{http_code} %{size_download} %{time_total}' "${hdr[@]}" \
    "http://127.0.0.1:${TG_PORT[stream]}/v1/proxy/bench/big.bin")
  touch "$TMP/stream.done"
  wait "$sampler" || true
  rss_max=$(cat "$TMP/stream.max")
  read -r code size secs <<<"$got"
  growth=$(div "$((rss_max - rss0))" 1024 %.1f)
  echo "   answer $code, $size bytes in ${secs}s ($(awk -v b="$size" -v s="$secs" 'BEGIN {printf "%.0f", b / s / 1048576}') MiB/s)"
  echo "   tollgate RSS: $rss0 KiB before, at most $rss_max KiB while streaming: growth $growth MiB"
  echo
  SUMMARY+=("$(printf 'RSS growth streaming %4d MiB        %6s MiB (target < 32 MiB)' "$((STREAM_BYTES >> 20))" "$growth")")
  PASS+=("$(awk -v g="$growth" -v ok="$([[ $code == 200 && $size == "$STREAM_BYTES" ]] && echo 1 || echo 0)" \
    'BEGIN {print (g < 32 && ok) ? "PASS" : "FAIL"}')")
  stop_tollgate stream
fi

# ---------------------------------------------------------------- 6. refresh storm

if has_section storm; then
  echo "== refresh storm: $STORM_CALLS concurrent calls (each on a new connection) on one expired token"
  echo "   token endpoint answers after ${TOKEN_DELAY_MS} ms; the API answers 401 to any token it did not just issue"
  start_bg "$TMP/token_server.log" node "$BENCH/peers/token_server.mjs" bench-refresh-0 "$TOKEN_DELAY_MS"
  wait_for grep -q '^listening ' "$TMP/token_server.log"
  TOKEN_PORT=$(awk '/^listening / {print $2}' "$TMP/token_server.log")
  start_tollgate storm "$SQLITE_STORE" true
  provision storm storm \
    '{"access_token":"bench-expired-token","refresh_token":"bench-refresh-0","expires_at":"2000-01-01T00:00:00Z"}'
  storm_line=$(BENCH_KEY=${TG_KEY[storm]} BENCH_PAC=${TG_PAC[storm]} \
    node "$BENCH/peers/storm.mjs" "${TG_PORT[storm]}" /v1/proxy/storm/items "$STORM_CALLS")
  stats=$(curl -sf "http://127.0.0.1:$TOKEN_PORT/__stats")
  grants=$(jq .refresh_token <<<"$stats")
  echo "   $storm_line"
  echo "   token endpoint: $stats"
  storm_ms=$(grep -o 'ms=[0-9]*' <<<"$storm_line" | cut -d= -f2)
  all_ok=$(grep -q "statuses={\"200\":$STORM_CALLS}" <<<"$storm_line" && echo 1 || echo 0)
  echo "   all $STORM_CALLS answered in $storm_ms ms; token requests: $grants"
  echo
  SUMMARY+=("$(printf 'refresh storm: token requests       %6s     (target = 1; all 200: %s; %s ms)' \
    "$grants" "$([[ $all_ok == 1 ]] && echo yes || echo no)" "$storm_ms")")
  PASS+=("$([[ $grants == 1 && $all_ok == 1 ]] && echo PASS || echo FAIL)")
  stop_tollgate storm
fi

# ---------------------------------------------------------------- 7. profile

if ((PROFILE)); then
  echo "== profile: tollgate, plain upstream, 64 connections (perf; sampling is cpu-clock in this VM)"
  pid=${TG_PID[main]}
  PERF_DATA=$TMP/perf.data
  PROFILE_OUT=$BENCH/results/$STAMP-profile.txt
  tidy() { grep -v '^#' | grep -v '^$' | sed 's/ *-  *- *$//; s/  *$//' | cut -c1-220; }
  run_wrk "$(url_of tollgate plain)" 64 "$WARMUP" "$pid"
  perf record -F 999 -g --call-graph dwarf,8192 -p "$pid" -o "$PERF_DATA" -- sleep "$DURATION" \
    >"$TMP/perf-record.log" 2>&1 &
  perf_pid=$!
  run_wrk "$(url_of tollgate plain)" 64 "$DURATION" "$pid"
  wait "$perf_pid" || true
  printf '   under perf record: %.0f req/s, p99 %s ms (%s)\n' "$R_RPS" "$(ms "$R_P99")" \
    "$(grep -o '[0-9]* samples' "$TMP/perf-record.log" | head -1)"
  {
    echo "# tollgate under wrk -t$THREADS -c64 -d${DURATION}s, plain upstream; perf record -F 999 --call-graph dwarf"
    echo
    echo "## time by object (perf report --sort dso)"
    perf report -i "$PERF_DATA" --no-children --sort dso --stdio -g none 2>/dev/null | tidy
    echo
    echo "## self time by symbol, >= 0.3 % (perf report --no-children --sort dso,symbol)"
    perf report -i "$PERF_DATA" --no-children --sort dso,symbol --stdio -g none --percent-limit 0.3 2>/dev/null | tidy
    echo
    echo "## inclusive time of tollgate's own functions, >= 0.5 % (perf report --children, tollgate:: symbols)"
    perf report -i "$PERF_DATA" --children --sort symbol --stdio -g none --percent-limit 0.5 2>/dev/null | tidy |
      grep 'tollgate::'
    echo
    echo "## share of tollgate's samples with a frame in … (perf script; a sample counts once per line)"
    perf script -i "$PERF_DATA" -F ip,sym 2>/dev/null | awk -v RS= '
      BEGIN {
        n = split("tollgate::metering::|tollgate::ops::log|tollgate::relay::forward|tollgate::crypto::random|" \
                  "tollgate::auth::|tollgate::crypto::sha256|tollgate::upstream::|expand_url|parse_url|" \
                  "tollgate::http::Router", pat, "|")
      }
      {
        total++
        for (i = 1; i <= n; i++) if (index($0, pat[i])) hit[i]++
      }
      END {if (total) for (i = 1; i <= n; i++) printf "%7.2f%%  %s\n", 100 * hit[i] / total, pat[i]}'
  } >"$PROFILE_OUT"
  METERING_SHARE=$(awk '$2 == "tollgate::metering::" {print $1}' "$PROFILE_OUT")
  SUMMARY+=("$(printf 'metering share of tollgate CPU       %6s   (perf samples with a tollgate::metering:: frame)' "$METERING_SHARE")")
  PASS+=("$(awk -v c="${METERING_SHARE%\%}" 'BEGIN {print (c == "") ? "info" : (c + 0 < 3) ? "PASS" : "FAIL"}')")

  # System calls per request, tollgate against the nginx proxy under the same
  # load: perf stat counts every syscall tracepoint, enabled (through its
  # control fifo, acknowledged) only while one wrk run is on.
  # Uprobes on the allocators count allocations the same way (removed on exit):
  # libc's malloc (nginx's, and whatever still calls it in tollgate) and
  # jemalloc's malloc, aligned_alloc and operator new, which tollgate links.
  LIBC=$(awk '$6 ~ /\/libc\.so/ {print $6; exit}' "/proc/$pid/maps")
  JEMALLOC=$(awk '$6 ~ /\/libjemalloc\.so/ {print $6; exit}' "/proc/$pid/maps")
  malloc_event=()
  if perf probe -q -x "$LIBC" -a 'tgbench:malloc=malloc' >/dev/null 2>&1; then
    PROBES_ADDED=1
    malloc_event=(-e tgbench:malloc)
  fi
  if [[ -n $JEMALLOC ]]; then
    for f in malloc aligned_alloc _Znwm; do
      if perf probe -q -x "$JEMALLOC" -a "tgbench:je$f=$f" >/dev/null 2>&1; then
        PROBES_ADDED=1
        malloc_event+=(-e "tgbench:je$f")
      fi
    done
  fi
  for t in nginx tollgate; do
    mkfifo "$TMP/perf-ctl-$t" "$TMP/perf-ack-$t"
    perf stat -D -1 --control "fifo:$TMP/perf-ctl-$t,$TMP/perf-ack-$t" -e 'syscalls:sys_enter_*' "${malloc_event[@]}" \
      -p "$(pids_of $t | xargs | tr ' ' ',')" -o "$TMP/syscalls-$t.txt" >/dev/null 2>&1 &
    perf_pid=$!
    exec {ctl}>"$TMP/perf-ctl-$t" {ack}<"$TMP/perf-ack-$t"
    echo enable >&"$ctl"; read -r -t 30 _ <&"$ack"
    run_wrk "$(url_of $t plain)" 64 "$DURATION" "$(pids_of $t)"
    echo disable >&"$ctl"; read -r -t 30 _ <&"$ack"
    kill -INT "$perf_pid"; wait "$perf_pid" || true
    exec {ctl}>&- {ack}<&-
    awk '$2 ~ /^syscalls:sys_enter_/ {gsub(/,/, "", $1); sub(/syscalls:sys_enter_/, "", $2); if ($1 + 0 > 0) print $2, $1}' \
      "$TMP/syscalls-$t.txt" | sort >"$TMP/syscalls-$t.counts"
    MALLOCS[$t]=$(awk '$2 ~ /^tgbench:/ {gsub(/,/, "", $1); n += $1} END {print n + 0}' "$TMP/syscalls-$t.txt")
    TRACE_REQ[$t]=$R_REQ
  done
  {
    echo
    echo "## system calls per request (perf stat on every syscalls:sys_enter_* tracepoint during one ${DURATION}s wrk run each)"
    printf '%-20s %10s %10s\n' syscall nginx tollgate
    join -a1 -a2 -e0 -o '0,1.2,2.2' "$TMP/syscalls-nginx.counts" "$TMP/syscalls-tollgate.counts" |
      awk -v rn="${TRACE_REQ[nginx]}" -v rt="${TRACE_REQ[tollgate]}" '
        {n = $2 / rn; t = $3 / rt; tn += n; tt += t; if (n >= 0.005 || t >= 0.005) printf "%-20s %10.3f %10.3f\n", $1, n, t}
        END {printf "%-20s %10.3f %10.3f\n", "total", tn, tt}' | sort -k3 -gr
    if [[ -n ${MALLOCS[tollgate]:-} ]]; then
      echo
      echo "## allocations per request (uprobes on libc's malloc and jemalloc's malloc, aligned_alloc and operator new, same runs)"
      printf '%-20s %10s %10s\n' "" nginx tollgate
      printf '%-20s %10s %10s\n' malloc "$(div "${MALLOCS[nginx]:-0}" "${TRACE_REQ[nginx]}" %.2f)" \
        "$(div "${MALLOCS[tollgate]}" "${TRACE_REQ[tollgate]}" %.2f)"
    fi
  } >>"$PROFILE_OUT"
  echo "   full report: bench/results/$(basename "$PROFILE_OUT")"
  # (awk 'NR <= n' rather than head: head's early exit would end the run through pipefail)
  echo "   time by object:"
  sed -n '/^## time by object/,/^$/p' "$PROFILE_OUT" | sed '1d;$d' | awk 'NR <= 8' | sed 's/^/   /'
  echo "   top self-time symbols:"
  sed -n '/^## self time/,/^$/p' "$PROFILE_OUT" | sed '1d;$d' | awk 'NR <= 25' | cut -c1-150 | sed 's/^/   /'
  echo "   share of samples with a frame in:"
  sed -n "/^## share of tollgate/,/^\$/p" "$PROFILE_OUT" | sed '1d' | grep -v '^$' | sed 's/^/   /'
  echo "   system calls per request:"
  sed -n '/^## system calls/,/^$/p' "$PROFILE_OUT" | sed '1d' | grep -v '^$' | awk 'NR <= 16' | sed 's/^/   /'
  sed -n '/^## allocations per request/,$p' "$PROFILE_OUT" | sed '1d' | sed 's/^/   /'
  echo
fi

# ---------------------------------------------------------------- summary

stop_tollgate main
SUMMARY+=("$(printf 'clean exit 0 on SIGTERM after load  %3d of %d (target: all)%s' \
  "$((STOPPED - ${#UNCLEAN[@]}))" "$STOPPED" "$( ((${#UNCLEAN[@]})) && echo "  unclean: ${UNCLEAN[*]}")")")
PASS+=("$( ((${#UNCLEAN[@]} == 0)) && echo PASS || echo FAIL)")
echo
echo "load       $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min, at the end)"
echo
echo "== summary against the targets (2-core machine)"
for i in "${!SUMMARY[@]}"; do printf '  %-5s %s\n' "${PASS[$i]}" "${SUMMARY[$i]}"; done
echo
echo "full output: bench/results/$(basename "$RESULT")"
