#!/usr/bin/env bash
# Installs what tollgate needs to build and test on Debian 12, and nothing when
# it is all there already (so the two set-up commands are quick the second time).
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  g++ cmake ninja-build ccache pkg-config
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libssl-dev libhiredis-dev libsqlite3-dev libyaml-cpp-dev doctest-dev libjemalloc-dev
  redis-server redis-sentinel sqlite3 curl ca-certificates openssl
)

# Only for the tests: the browser the dashboard test drives (playwright-core
# cannot download one here; Debian's is used).
if [[ "${1:-}" == "--test" ]]; then
  PACKAGES+=(chromium)
fi

# Only for bench/: the load generator, the nginx it is compared with, perf for
# run.sh --profile and valgrind for instructions.sh. Debian's nginx package would start a system nginx; the
# bench never uses it (it runs its own nginx processes with their own config in
# a temp dir), so the service is stopped and disabled again when this installed it.
if [[ "${1:-}" == "--bench" ]]; then
  PACKAGES+=(nginx wrk jq linux-perf valgrind)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""
  [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  echo "deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if [[ " ${missing[*]} " == *" nginx "* ]]; then
    if command -v systemctl >/dev/null && [[ -d /run/systemd/system ]]; then
      $SUDO systemctl disable --now nginx >/dev/null 2>&1 || true
    elif [[ -x /etc/init.d/nginx ]]; then
      $SUDO /etc/init.d/nginx stop >/dev/null 2>&1 || true
    fi
  fi
fi

# Test peers (oidc-provider and friends) come from npm, pinned by the lock
# file; reinstalled only when the lock file changes. Node and npm come with the
# machine (Debian's npm package conflicts with it).
if [[ "${1:-}" == "--test" && -f tests/peers/package-lock.json ]]; then
  stamp=tests/peers/node_modules/.lock-sha256
  want=$(sha256sum tests/peers/package-lock.json | cut -d' ' -f1)
  if [[ ! -f $stamp || "$(cat "$stamp")" != "$want" ]]; then
    echo "deps: npm ci in tests/peers"
    (cd tests/peers && npm ci --no-audit --no-fund --loglevel=error)
    echo "$want" > "$stamp"
  fi
fi
