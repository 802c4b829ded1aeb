#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) with clang, ASan and UBSan in build-fuzz, and runs
# each for a bounded time on a corpus seeded from real cargo logs. A crash, a leak or a sanitizer
# report fails the run and leaves the input in build-fuzz/artifacts/.
# Usage: packaging/run-fuzz.sh [seconds per target]   (default: 60)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
build=build-fuzz
cmake -S . -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCA_FUZZ=ON -DCA_BUILD_TESTS=OFF -DCA_SANITIZE=address,undefined -DCA_WERROR=ON >/dev/null
cmake --build "$build" --target fuzz_targets -j "$(nproc)"

# Seeds: every line of the real logs (one line per input for the line targets, whole logs for
# the ingest target), and a few config files.
seeds=$build/seeds
rm -rf "$seeds"
mkdir -p "$seeds/lines" "$seeds/logs" "$seeds/config" "$seeds/publish" "$build/artifacts"
i=0
for log in tests/fixtures/corpus/*/logs/*.jsonl tests/fixtures/*.jsonl; do
  cp "$log" "$seeds/logs/$(basename "$log")"
  while IFS= read -r line; do
    i=$((i + 1))
    printf '%s' "$line" >"$seeds/lines/$i"
  done < <(head -n 400 "$log")
done
printf '[retention]\nkeep_days = 30\n' >"$seeds/config/1.toml"
printf 'no_watch = true\nwatch_dirs = ["~/logs"]\nlog_level = "debug"\n[team]\nurl = "http://localhost:8123"\n' >"$seeds/config/2.toml"
cp "$seeds/lines/"1 "$seeds/publish/" 2>/dev/null || true
# Inputs that once failed (each fixed, with a test that names it) stay in the seeds.
for dir in tests/fuzz/regressions/*/; do
  target=$(basename "$dir")
  case $target in
  fuzz_config) cp "$dir"* "$seeds/config/" ;;
  fuzz_ingest) cp "$dir"* "$seeds/logs/" ;;
  fuzz_publish) cp "$dir"* "$seeds/publish/" ;;
  *) cp "$dir"* "$seeds/lines/" ;;
  esac
done

run() { # target corpus-dir extra-args...
  local target=$1 corpus=$2
  shift 2
  local work=$build/corpus-$target
  mkdir -p "$work"
  echo "== $target: ${seconds}s"
  "$build/tests/fuzz/$target" "$work" "$corpus" -max_total_time="$seconds" -timeout=10 \
    -rss_limit_mb=2048 -artifact_prefix="$build/artifacts/$target-" -print_final_stats=1 "$@" \
    2>"$build/$target.log" || {
    tail -n 60 "$build/$target.log"
    echo "run-fuzz: $target failed; the input is in $build/artifacts/"
    exit 1
  }
  grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb" "$build/$target.log" || true
}

run fuzz_event_decoder "$seeds/lines" -max_len=4096
run fuzz_line_framer "$seeds/lines" -max_len=4096
run fuzz_config "$seeds/config" -max_len=2048
run fuzz_ingest "$seeds/logs" -max_len=65536
run fuzz_publish "$seeds/publish" -max_len=4096
echo "run-fuzz: all targets ran ${seconds}s without a finding"
