#!/usr/bin/env bash
# The README's main job, on a fresh Debian 12 machine: install dependencies, build, start the
# daemon, build a small real Rust workspace with build analysis on, capture it, print reports.
#
# Everything lives under one scratch dir (printed at the start), so nothing of the user's
# ~/.cargo or state is touched.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

bash packaging/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)"
bin=$repo/build-release

scratch=${CA_MAIN_JOB_DIR:-$(mktemp -d /tmp/cargo-analysis-demo.XXXXXX)}
echo "== scratch dir: $scratch"
export CARGO_HOME=$scratch/cargo-home           # cargo writes its logs to $CARGO_HOME/log
export CARGO_ANALYSIS_RUNTIME_DIR=$scratch/run  # daemon sockets
export CARGO_ANALYSIS_STATE_DIR=$scratch/state  # daemon database and log
mkdir -p "$CARGO_HOME"
rm -rf "$scratch/demo" && cp -r tests/fixtures/workspaces/demo "$scratch/demo"

echo "== starting cargo-analysisd"
"$bin/cargo-analysisd" --foreground --log-level info >"$scratch/daemon.log" 2>&1 &
daemon=$!
trap '"$bin/cargo-analysis-client" --no-spawn stop >/dev/null 2>&1 || kill $daemon 2>/dev/null; wait $daemon 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  "$bin/cargo-analysis-client" --no-spawn status >/dev/null 2>&1 && break
  sleep 0.1
done
"$bin/cargo-analysis-client" --no-spawn status

echo "== building the demo workspace with build analysis on (clean, then no-op, then a touch)"
cd "$scratch/demo"
analysis_env=(__CARGO_TEST_CHANNEL_OVERRIDE_DO_NOT_USE_THIS=nightly
              CARGO_UNSTABLE_BUILD_ANALYSIS=true CARGO_BUILD_ANALYSIS_ENABLED=true)
env "${analysis_env[@]}" cargo build
env "${analysis_env[@]}" cargo build
touch demo-core/src/lib.rs
env "${analysis_env[@]}" cargo build

echo "== sending cargo's logs to the daemon"
"$bin/cargo-analysis-client" --no-spawn ingest "$CARGO_HOME/log"

echo "== cargo-analysis-client report sessions"
"$bin/cargo-analysis-client" --no-spawn report sessions
echo "== cargo-analysis-client report rebuilds"
"$bin/cargo-analysis-client" --no-spawn report rebuilds
echo "== cargo-analysis-client report timings --format text"
"$bin/cargo-analysis-client" --no-spawn report timings --format text
