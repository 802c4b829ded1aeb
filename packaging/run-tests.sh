#!/usr/bin/env bash
# The README's test command: install dependencies, build, run the whole suite through CTest.
# Usage: packaging/run-tests.sh [dev|asan]   (default: dev)
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-dev}
bash packaging/install-deps.sh
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -j "$(nproc)"
ctest --preset "$preset" -j 2
