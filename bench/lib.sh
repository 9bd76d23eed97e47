# Helpers shared by bench/run.sh and bench/instructions.sh (sourced, not run).
# They expect ROOT (the repository) to be set and `set -euo pipefail` in force.

# build_tollgate: builds the Release binary in build-bench/ and sets BIN.
build_tollgate() {
  export CCACHE_BASEDIR=${CCACHE_BASEDIR:-/work}
  export CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime
  if [[ ! -f $ROOT/build-bench/build.ninja ]]; then
    cmake -S "$ROOT" -B "$ROOT/build-bench" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  fi
  cmake --build "$ROOT/build-bench" -j2 --target tollgate >/dev/null
  BIN=$ROOT/build-bench/tollgate
}

# stop_started: SIGTERM to every pid in PIDS, then SIGKILL to what is left after 5 s.
stop_started() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$pid" 2>/dev/null || true
  done
}

free_port() {
  node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}

# wait_for CMD... : runs CMD until it succeeds, for at most WAIT_SECONDS (30) s.
wait_for() {
  local deadline=$((SECONDS + ${WAIT_SECONDS:-30}))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || { echo "timed out waiting for: $*" >&2; return 1; }
    sleep 0.05
  done
}

# make_pki DIR: a throwaway CA (ca.pem) and a localhost/127.0.0.1 server
# certificate it signed (upstream.pem, upstream.key), EC P-256, valid 2 days.
make_pki() {
  mkdir -p "$1"
  (
    cd "$1"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -days 2 \
      -subj "/CN=tollgate bench CA" -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign"
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout upstream.key -out upstream.csr \
      -subj "/CN=localhost"
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' >ext.cnf
    openssl x509 -req -in upstream.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out upstream.pem -days 2 -extfile ext.cnf
  ) >"$1/openssl.log" 2>&1
}

# tollgate_yaml LISTEN STORE_YAML METERING_ENABLED: the bench's full-path config
# on stdout: two workers, the request log on, the bench CA ($TMP/pki), and the
# providers bench (plain upstream $UP_PLAIN), bench-tls ($UP_TLS) and storm (the
# token server's API on $TOKEN_PORT, when there is one).
tollgate_yaml() {
  cat <<YAML
server:
  listen: $1
  workers: 2
$2
secrets: {keys_file: data/master.keys}
admin: {key_file: data/admin.key}
relay:
  ca_file: $TMP/pki/ca.pem
metering: {enabled: $3, journal_dir: data/journal}
logging: {level: info, format: json}
providers:
  bench:
    display_name: Bench
    auth_mode: oauth2
    authorization_url: http://127.0.0.1:9/authorize
    token_url: http://127.0.0.1:${TOKEN_PORT:-9}/token
    managed: {service_config_key: bench, client_id: bench-client, client_secret: bench-secret}
    api: {base_url: "http://127.0.0.1:$UP_PLAIN"}
  bench-tls:
    alias: bench
    api: {base_url: "https://127.0.0.1:$UP_TLS"}
  storm:
    alias: bench
    api: {base_url: "http://127.0.0.1:${TOKEN_PORT:-9}/api"}
YAML
}

# nginx_proxy_http PORT LOG: the anchor's http-level settings, upstream blocks
# and server, as Debian ships nginx plus the proxy (run.sh, instructions.sh
# --nginx). Uses $UP_PLAIN, $UP_TLS, $FIXED_TOKEN and the bench CA in $TMP/pki.
nginx_proxy_http() {
  cat <<EOF
  # As in Debian's shipped nginx.conf:
  sendfile on;
  tcp_nopush on;
  types_hash_max_size 2048;
  default_type application/octet-stream;
  ssl_protocols TLSv1.2 TLSv1.3;
  ssl_prefer_server_ciphers on;
  access_log $2;
  gzip on;

  upstream up_plain { server 127.0.0.1:$UP_PLAIN; keepalive 256; }
  upstream up_tls   { server 127.0.0.1:$UP_TLS;   keepalive 256; }
  server {
    listen 127.0.0.1:$1;
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_set_header Authorization "Bearer $FIXED_TOKEN";
    location /plain/ { proxy_pass http://up_plain/; }
    location /tls/ {
      proxy_pass https://up_tls/;
      proxy_ssl_trusted_certificate $TMP/pki/ca.pem;
      proxy_ssl_verify on;
      proxy_ssl_name localhost;
      proxy_ssl_server_name on;
      proxy_ssl_session_reuse on;
    }
  }
EOF
}

# nginx_temp_paths DIR: nginx's temp directories, inside DIR/tmp.
nginx_temp_paths() {
  local d=$1
  cat <<EOF
  client_body_temp_path $d/tmp/body;
  proxy_temp_path $d/tmp/proxy;
  fastcgi_temp_path $d/tmp/fastcgi;
  uwsgi_temp_path $d/tmp/uwsgi;
  scgi_temp_path $d/tmp/scgi;
EOF
}
