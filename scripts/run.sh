#!/usr/bin/env bash
# Set-up command 1: install what is missing, build, and run tollgate on the
# embedded SQLite store with config/tollgate.yaml (Ctrl-C stops it).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh tollgate
exec build/tollgate serve --config config/tollgate.yaml "$@"
