#!/usr/bin/env bash
# ThreadSanitizer over the daemon's concurrency tests: the writer and store, the socket listener
# and log watcher, the live hub and the resource sampler, the correlator. Debian's gRPC is not
# built with TSan, so the suites that run a gRPC server or client are left to ASan; these run
# without one (tests/tsan.supp names the one library frame suppressed, and why).
# Usage: packaging/run-tsan.sh
set -euo pipefail
cd "$(dirname "$0")/.."
suites=(test_store test_ingest test_live test_server test_correlate test_app test_runtime)
cmake --preset tsan >/dev/null
cmake --build --preset tsan -j "$(nproc)" --target "${suites[@]}"
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$PWD/tests/tsan.supp"
failed=0
for s in "${suites[@]}"; do
  echo "== TSan: $s"
  if ! timeout 900 "build-tsan/tests/$s" --gtest_brief=1; then
    echo "TSan: $s failed"
    failed=1
  fi
done
exit "$failed"
