#!/usr/bin/env bash
# Set-up command 2: install what is missing (apt packages, npm test peers),
# build everything, and run every test with CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh --test
scripts/build.sh
cd "${BUILD_DIR:-build}"
# Integration tests mostly wait on sockets, so run more than one per core.
exec ctest --output-on-failure --timeout 300 -j "$(( $(nproc) * 2 ))" "$@"
