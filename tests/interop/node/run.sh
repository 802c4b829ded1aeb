#!/bin/sh
# The Node.js interop test (see interop.test.mjs), as CTest runs it: installs the locked npm
# packages unless node_modules already matches them (so it runs offline once installed), then
# runs the test. Needs CA_DAEMON_BIN, CA_CLIENT_BIN, CA_PROTO_DIR, CA_FIXTURES_DIR.
# Exit codes: 0 passed, 1 failed, 125 skipped (no node or npm; no cargo: see the test).
set -eu
dir=$(cd "$(dirname "$0")" && pwd)
for tool in node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "interop: $tool is not installed: skipped (packaging/install-deps.sh installs it)"
    exit 125
  fi
done
if ! npm ls --prefix "$dir" --depth=0 >/dev/null 2>&1; then
  npm ci --prefix "$dir" --no-audit --no-fund --prefer-offline
fi
exec node --test "$dir/interop.test.mjs"
