#!/usr/bin/env bash
# Issue 17's sampling figures:
# - the daemon's CPU time while it samples a build of SECS seconds (a build script that keeps
#   one CPU busy that long), against the same build with sampling off
#   (CARGO_ANALYSIS_SAMPLING=0), in the same run, alternating;
# - the daemon's wake-ups with no build running: its threads' context switches over 10 s, with
#   sampling on and off (the sampler adds none: its timer is armed only while a build runs;
#   the rest are the live hub's and the writer's periodic checks, the same in both);
# - bytes of samples stored per build minute (SUM(length(data)) of run_samples).
#
# Usage: tests/bench/sampling_overhead.sh [build-dir=build] [secs=60] [repetitions=2]
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
bin=$repo/${1:-build}
secs=${2:-60}
reps=${3:-2}
work=$(mktemp -d /tmp/ca-sampling.XXXXXX)
daemon=
trap 'if [ -n "$daemon" ]; then kill "$daemon" 2>/dev/null || true; fi; rm -rf "$work"' EXIT
export __CARGO_TEST_CHANNEL_OVERRIDE_DO_NOT_USE_THIS=nightly CARGO_UNSTABLE_BUILD_ANALYSIS=true \
       CARGO_BUILD_ANALYSIS_ENABLED=true CARGO_NET_OFFLINE=true CARGO_HOME=$work/home
mkdir -p "$work/home/log" "$work/ws/src"
cat >"$work/ws/Cargo.toml" <<'TOML'
[package]
name = "busy"
version = "0.1.0"
edition = "2021"
TOML
cat >"$work/ws/build.rs" <<RS
use std::time::{Duration, Instant};
fn main() {
    println!("cargo:rerun-if-env-changed=BUSY_RUN");
    let start = Instant::now();
    let mut x = 1u64;
    while start.elapsed() < Duration::from_secs($secs) {
        x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
    }
    println!("cargo:rustc-env=BUSY_X={}", x);
}
RS
echo 'pub fn x() -> &'"'"'static str { env!("BUSY_X") }' >"$work/ws/src/lib.rs"

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
switches() {
  local n=0
  for s in /proc/"$1"/task/*/status; do
    n=$((n + $(awk '/^(voluntary|nonvoluntary)_ctxt_switches/ {s += $2} END {print s}' "$s")))
  done
  echo "$n"
}
start_daemon() { # $1: sampling 1 or 0
  rm -rf "$work/run" "$work/state"
  CARGO_ANALYSIS_SAMPLING=$1 "$bin/cargo-analysisd" --foreground --runtime-dir "$work/run" \
    --state-dir "$work/state" --watch-dir "$work/home/log" 2>"$work/daemon-$1.log" &
  daemon=$!
  for _ in $(seq 100); do
    [ -S "$work/run/client.sock" ] && break
    sleep 0.1
  done
  sleep 1
}
stop_daemon() { kill "$daemon"; wait "$daemon" || true; daemon=; }
hz=$(getconf CLK_TCK)

for rep in $(seq "$reps"); do
  for sampling in 1 0; do
    start_daemon "$sampling"
    if [ "$rep" = 1 ]; then
      s0=$(switches "$daemon"); sleep 10; s1=$(switches "$daemon")
      echo "idle, sampling $sampling: $((s1 - s0)) context switches of the daemon's threads in 10 s"
    fi
    t0=$(ticks "$daemon"); w0=$(date +%s.%N)
    (cd "$work/ws" && BUSY_RUN=$rep$sampling cargo build -q)
    sleep 2 # the end of the run, and the last samples
    t1=$(ticks "$daemon"); w1=$(date +%s.%N)
    bytes=$(sqlite3 "$work/state/cargo-analysis.sqlite3" \
      'SELECT COALESCE(SUM(length(data)), 0) FROM run_samples' 2>/dev/null || echo 0)
    stop_daemon
    awk -v t="$((t1 - t0))" -v hz="$hz" -v w0="$w0" -v w1="$w1" -v b="$bytes" -v s="$sampling" \
      'BEGIN { wall = w1 - w0; printf "sampling %s: daemon CPU %.3f s over %.1f s = %.3f%% of a core; samples %d bytes = %.0f bytes per build minute\n", s, t / hz, wall, 100 * t / hz / wall, b, b / (wall / 60) }'
  done
done
