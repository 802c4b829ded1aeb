#!/usr/bin/env bash
# Issue 3's overhead figure: the wall time of a real, corpus-C-sized cargo build (about 240
# units: 120 path crates, each a lib with a build script) with the daemon watching the log dir
# versus not, alternating, plus the daemon's own CPU time during the watched builds, and its CPU
# time while idle for 60 s (should be ~0: inotify, no polling).
#
# Usage: tests/bench/watch_overhead.sh [build-dir=build-release] [repetitions=3]
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
bin=$repo/${1:-build-release}
reps=${2:-3}
work=$(mktemp -d /tmp/ca-overhead.XXXXXX)
trap 'kill $daemon 2>/dev/null || true; rm -rf "$work"' EXIT
export __CARGO_TEST_CHANNEL_OVERRIDE_DO_NOT_USE_THIS=nightly CARGO_UNSTABLE_BUILD_ANALYSIS=true \
       CARGO_BUILD_ANALYSIS_ENABLED=true CARGO_NET_OFFLINE=true
# Two cargo homes: builds under the watched one are captured, under the other one they are not.
mkdir -p "$work/home-watched/log" "$work/home-plain/log" "$work/ws"

# 120 crates; crate i depends on crates i-1 and i/2, so the graph has both chains and fan-in.
n=120
{
  echo '[workspace]'
  echo 'resolver = "2"'
  printf 'members = ['
  for i in $(seq 0 $((n - 1))); do printf '"c%03d",' "$i"; done
  echo ']'
} >"$work/ws/Cargo.toml"
for i in $(seq 0 $((n - 1))); do
  d=$work/ws/$(printf c%03d "$i")
  mkdir -p "$d/src"
  {
    printf '[package]\nname = "c%03d"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\n' "$i"
    if ((i > 0)); then printf 'c%03d = { path = "../c%03d" }\n' $((i - 1)) $((i - 1)); fi
    if ((i > 1 && i / 2 != i - 1)); then printf 'c%03d = { path = "../c%03d" }\n' $((i / 2)) $((i / 2)); fi
  } >"$d/Cargo.toml"
  echo 'fn main() { println!("cargo:rerun-if-changed=build.rs"); }' >"$d/build.rs"
  {
    echo "pub fn f(x: u64) -> u64 { let mut s = x; for k in 0..64u64 { s = s.wrapping_mul(6364136223846793005).wrapping_add(k); } s }"
    for k in $(seq 0 30); do echo "pub fn g$k(v: &[u64]) -> u64 { v.iter().map(|x| f(*x) ^ $k).sum() }"; done
  } >"$d/src/lib.rs"
done

build() { (cd "$work/ws" && rm -rf target && CARGO_HOME=$1 cargo build -q 2>/dev/null); }
now() { date +%s.%N; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

"$bin/cargo-analysisd" --foreground --runtime-dir "$work/run" --state-dir "$work/state" \
  --watch-dir "$work/home-watched/log" --log-level warn 2>"$work/daemon.log" &
daemon=$!
sleep 1
echo "== idle: daemon CPU over 60 s"
t0=$(cpu_ticks $daemon)
sleep 60
t1=$(cpu_ticks $daemon)
echo "daemon CPU while idle for 60 s: $(( (t1 - t0) * 10 )) ms"
build "$work/home-plain"  # warm the caches once
watched=() unwatched=() daemon_cpu=()
for r in $(seq "$reps"); do
  s=$(now); build "$work/home-plain"; e=$(now); unwatched+=("$(echo "$e - $s" | bc)")
  c0=$(cpu_ticks $daemon)
  s=$(now); build "$work/home-watched"; e=$(now); watched+=("$(echo "$e - $s" | bc)")
  sleep 1; c1=$(cpu_ticks $daemon)
  daemon_cpu+=("$(( (c1 - c0) * 10 ))")
  echo "rep $r: not watched ${unwatched[-1]} s, watched ${watched[-1]} s, daemon CPU ${daemon_cpu[-1]} ms"
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mw=$(median "${watched[@]}"); mu=$(median "${unwatched[@]}")
echo "median wall time: watched $mw s, not watched $mu s, overhead $(echo "scale=2; ($mw - $mu) * 100 / $mu" | bc) %"
echo "median daemon CPU per watched build: $(median "${daemon_cpu[@]}") ms"
"$bin/cargo-analysis-client" --runtime-dir "$work/run" --no-spawn status | head -4
