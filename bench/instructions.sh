#!/usr/bin/env bash
# User-space instructions per proxied call, counted by callgrind: the number
# that does not move when other jobs share the machine (wrk's req/s and even
# cpu/req swing by ±20 % here), so a hot-path change can be judged in one run.
#
#   bench/instructions.sh [--bin PATH] [--seconds N] [--tls] [--top N] [--nginx]
#
# Starts nginx serving the bench's 1 KiB body and tollgate under
# `valgrind --tool=callgrind` with the bench's full-path config (tenant key,
# auth config, bearer injection, metering, request log), warms it up, then
# counts every instruction tollgate's threads execute while wrk drives it for
# --seconds (default 8), divided by the proxied calls in that window. Prints
# that number and the functions with the most instructions of their own per
# call. Everything on 127.0.0.1, ports chosen at run time, stopped on exit.
# Kernel time is not in the count (callgrind sees user space only): system
# calls per call are in run.sh --profile.
#
# --nginx counts the anchor instead: run.sh's nginx reverse proxy (proxy_pass to
# a keep-alive upstream block, a fixed Authorization, the access log on), as one
# worker without a master process so callgrind sees all of it, and its calls
# counted by its access log's lines.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN="" SECS=8 TOP=25 PROVIDER=bench TARGET=tollgate
while (($#)); do
  case $1 in
    --bin) BIN=$2; shift ;;
    --seconds) SECS=$2; shift ;;
    --tls) PROVIDER=bench-tls ;;
    --top) TOP=$2; shift ;;
    --nginx) TARGET=nginx ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "bench/instructions.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done
for tool in wrk nginx node openssl curl jq valgrind callgrind_control callgrind_annotate; do
  command -v "$tool" >/dev/null || { echo "bench/instructions.sh: '$tool' is missing: run scripts/deps.sh --bench" >&2; exit 1; }
done
source "$ROOT/bench/lib.sh"
[[ -n $BIN || $TARGET == nginx ]] || build_tollgate

TMP=$(mktemp -d /tmp/tollgate-instr.XXXXXX)
PIDS=()
cleanup() {
  stop_started
  [[ -n ${KEEP_TMP:-} ]] && echo "kept $TMP" || rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

WAIT_SECONDS=60  # tollgate starts slowly under valgrind

# The upstream: nginx with the 1 KiB body, plain and TLS (its own throwaway CA).
make_pki "$TMP/pki"
mkdir -p "$TMP/up/www" "$TMP/up/tmp"
node -e "const pad='x'.repeat(1024-16); process.stdout.write(JSON.stringify({ok:true,pad}).slice(0,1023)+'\n')" >"$TMP/up/www/1k.json"
UP_PLAIN=$(free_port) UP_TLS=$(free_port) TG_PORT=$(free_port)
NGINX_USER=""; [[ $(id -u) -eq 0 ]] && NGINX_USER="user root root;"
cat >"$TMP/up/nginx.conf" <<EOF
$NGINX_USER
pid $TMP/up/nginx.pid;
error_log $TMP/up/error.log warn;
worker_processes 1;
events { worker_connections 1024; }
http {
  client_body_temp_path $TMP/up/tmp/body; proxy_temp_path $TMP/up/tmp/proxy; fastcgi_temp_path $TMP/up/tmp/fastcgi;
  uwsgi_temp_path $TMP/up/tmp/uwsgi; scgi_temp_path $TMP/up/tmp/scgi;
  access_log off; keepalive_timeout 300s; keepalive_requests 10000000;
  types { application/json json; }
  server { listen 127.0.0.1:$UP_PLAIN; root $TMP/up/www; }
  server { listen 127.0.0.1:$UP_TLS ssl; ssl_certificate $TMP/pki/upstream.pem; ssl_certificate_key $TMP/pki/upstream.key; root $TMP/up/www; }
}
EOF
nginx -p "$TMP/up" -c "$TMP/up/nginx.conf" -e "$TMP/up/error.log" -g 'daemon off;' >"$TMP/up/stdout.log" 2>&1 &
PIDS+=($!)
wait_for curl -sf -o /dev/null "http://127.0.0.1:$UP_PLAIN/1k.json"

if [[ $TARGET == nginx ]]; then
  # run.sh's nginx proxy, one worker in the foreground process.
  PX_PORT=$(free_port) FIXED_TOKEN=bench-fixed-access-token-0123456789abcdef
  mkdir -p "$TMP/px/tmp"
  cat >"$TMP/px/nginx.conf" <<EOF
$NGINX_USER
pid $TMP/px/nginx.pid;
error_log $TMP/px/error.log warn;
master_process off;
worker_processes 1;
events { worker_connections 4096; }
http {
$(nginx_temp_paths "$TMP/px")
$(nginx_proxy_http "$PX_PORT" "$TMP/px/access.log")
}
EOF
  valgrind --tool=callgrind --callgrind-out-file="$TMP/px/callgrind.out" \
    nginx -p "$TMP/px" -c "$TMP/px/nginx.conf" -e "$TMP/px/error.log" -g 'daemon off;' >"$TMP/px/stdout.log" 2>"$TMP/px/valgrind.log" &
  PIDS+=($!)
  VG_PID=$!
  CG_OUT=$TMP/px/callgrind.out
  [[ $PROVIDER == bench-tls ]] && URL=http://127.0.0.1:$PX_PORT/tls/1k.json || URL=http://127.0.0.1:$PX_PORT/plain/1k.json
  wait_for curl -sf -o /dev/null "$URL"
  export BENCH_KEY=unused BENCH_PAC=unused  # report.lua's headers, which nginx passes on
  LABEL="nginx proxy ($(nginx -v 2>&1 | sed 's/.*: //'))"
  calls() { wc -l <"$TMP/px/access.log"; }
else
  # tollgate under callgrind, with run.sh's full-path configuration.
  mkdir -p "$TMP/tg"
  tollgate_yaml "127.0.0.1:$TG_PORT" $'store:\n  kind: sqlite\n  sqlite: {path: data/tollgate.db}' true >"$TMP/tg/tollgate.yaml"
  ADMIN=tg_admin_instr_$(openssl rand -hex 16)
  TOLLGATE_ADMIN_KEY=$ADMIN valgrind --tool=callgrind --callgrind-out-file="$TMP/tg/callgrind.out" \
    "$BIN" serve --config "$TMP/tg/tollgate.yaml" >"$TMP/tg/tollgate.log" 2>"$TMP/tg/valgrind.log" &
  PIDS+=($!)
  VG_PID=$!
  wait_for grep -q '"msg":"listening"' "$TMP/tg/tollgate.log"
  base=http://127.0.0.1:$TG_PORT
  tenant=$(curl -sf -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' -d '{"name":"bench"}' "$base/v1/tenants" | jq -r .id)
  key=$(curl -sf -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' -d '{}' "$base/v1/tenants/$tenant/api-keys" | jq -r .key)
  pac=$(curl -sf -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
    -d '{"provider":"bench","external_user_id":"bench-user","verify":false,"credentials":{"access_token":"bench-fixed-access-token-0123456789abcdef","refresh_token":"bench-refresh","expires_at":"2099-01-01T00:00:00Z"}}' \
    "$base/v1/auth-configs" | jq -r .id)
  [[ $pac == pac_* ]] || { echo "provisioning failed"; exit 1; }
  export BENCH_KEY=$key BENCH_PAC=$pac
  URL=$base/v1/proxy/$PROVIDER/1k.json
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $key" -H "Tollgate-Auth-Config: $pac" "$URL")
  [[ $code == 200 ]] || { echo "the proxied path answers $code"; exit 1; }

  CG_OUT=$TMP/tg/callgrind.out
  LABEL="tollgate $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- src include || echo ' (+ local changes)')"
  calls() { grep -c "\"path\":\"/v1/proxy/$PROVIDER/" "$TMP/tg/tollgate.log" || true; }
fi

# Warm-up on both workers (each makes its upstream pool and TLS context on its
# first call), then count only the measured window.
wrk -t2 -c64 -d6s -s "$ROOT/bench/wrk/report.lua" "$URL" >/dev/null 2>&1
wrk -t2 -c64 -d3s -s "$ROOT/bench/wrk/report.lua" "$URL" >/dev/null 2>&1
callgrind_control -z "$VG_PID" >/dev/null 2>&1
before=$(calls)
wrk -t1 -c16 -d"${SECS}s" -s "$ROOT/bench/wrk/report.lua" "$URL" >/dev/null 2>&1
after=$(calls)
callgrind_control -d "$VG_PID" >/dev/null 2>&1
wait_for test -s "$CG_OUT.1"
n=$((after - before))
total=$(awk '/^(summary|totals):/ {print $2; exit}' "$CG_OUT.1")
((n > 0)) || { echo "no proxied call was counted"; exit 1; }
echo "$LABEL, $PROVIDER upstream"
echo "proxied calls counted   $n (wrk -t1 -c16 for ${SECS}s under callgrind)"
echo "instructions per call   $((total / n))  (user space, every thread of the process)"
echo
echo "most instructions of their own, per call (background threads' work per second is spread over"
echo "the few calls callgrind lets through, so it reads larger here than at full speed):"
callgrind_annotate --threshold=100 --inclusive=no "$CG_OUT.1" 2>/dev/null |
  awk -v n="$n" -v top="$TOP" -v total="$total" '
    /file:function/ {table = 1; next}
    /^-+$/ {next}
    table && NF >= 2 && $1 ~ /^[0-9,]+$/ {
      c = $1; gsub(",", "", c)
      name = $0; sub(/^ *[0-9,]+ +(\([^)]*\) +)?/, "", name); sub(/^\?\?\?:/, "", name)
      if (c >= 0.99 * total) next  # the frames everything runs under (main, the C start-up)
      if (name ~ /^(\.\/misc|\.\/nptl)|io_context::run\(\)|_M_run\(\)|0x00000000000d4490/) next
      if (shown++ < top) printf "%8.0f  %s\n", c / n, substr(name, 1, 150)
    }'
