#!/usr/bin/env bash
# Builds the .deb as a packager would (plain Release, no preset, no -Werror), installs it
# (`apt-get install ./cargo-analysis_*.deb` as root, else `dpkg -x` into a prefix), lets the
# client start the daemon on demand with private dirs, captures one real cargo build of
# tests/fixtures/workspaces/demo, prints `report rebuilds`, stops the daemon, removes the
# package and checks that its files are gone.
#
# Usage: packaging/deb-smoke-test.sh [BUILD_DIR]     (default: build-deb)
#        CA_SMOKE_DPKG_X=1: extract with dpkg -x even as root (what a non-root run does)
# Prints the package's files and size, and the time from install to the first answered report.
# Exit: 0 ok, 1 failure, 125 skipped (no cargo).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
build=${1:-build-deb}
say() { printf '== %s\n' "$*"; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

command -v cargo >/dev/null || { echo "deb-smoke-test: no cargo: skipped"; exit 125; }

say "build (cmake -DCMAKE_BUILD_TYPE=Release, no preset) and cpack -G DEB in $build"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCA_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j "$(nproc)"
rm -f "$build"/cargo-analysis_*.deb
(cd "$build" && cpack -G DEB >/dev/null)
debs=("$build"/cargo-analysis_*_*.deb)
deb=$(realpath "${debs[0]}")
[[ -f $deb ]] || { echo "deb-smoke-test: no .deb in $build"; exit 1; }
say "$(basename "$deb"): $(du -k "$deb" | cut -f1) KiB"
dpkg-deb --field "$deb" Package Version Architecture Depends Recommends Installed-Size
dpkg -c "$deb"
# What a user gets: both programs, units, completions for three shells, two man pages, the doc.
for f in ./usr/bin/cargo-analysisd ./usr/bin/cargo-analysis-client \
         ./usr/lib/systemd/user/cargo-analysisd.service ./usr/lib/systemd/user/cargo-analysisd.socket \
         ./usr/share/bash-completion/completions/cargo-analysis-client \
         ./usr/share/zsh/vendor-completions/_cargo-analysis-client \
         ./usr/share/fish/vendor_completions.d/cargo-analysis-client.fish \
         ./usr/share/man/man1/cargo-analysisd.1.gz ./usr/share/man/man1/cargo-analysis-client.1.gz \
         ./usr/share/doc/cargo-analysis/README.md; do
  dpkg -c "$deb" | awk '{print $6}' | grep -qx "$f" || { echo "deb-smoke-test: $f missing"; exit 1; }
done

scratch=$(mktemp -d /tmp/cargo-analysis-deb.XXXXXX)
say "scratch dir: $scratch"
# Private dirs: the daemon the client starts finds its runtime dir, state and config here, and
# watches this CARGO_HOME's log dir; nothing of the user's is touched.
export XDG_RUNTIME_DIR=$scratch/run XDG_STATE_HOME=$scratch/state
export XDG_CONFIG_HOME=$scratch/config CARGO_HOME=$scratch/cargo-home
unset CARGO_ANALYSIS_RUNTIME_DIR CARGO_ANALYSIS_STATE_DIR CARGO_ANALYSIS_CONFIG CARGO_ANALYSIS_NO_SPAWN
mkdir -p "$CARGO_HOME/log" "$XDG_CONFIG_HOME/cargo-analysis"
mkdir -m 0700 "$XDG_RUNTIME_DIR"
# A daemon left behind by a failed run exits by itself.
printf 'idle_timeout = 300\n[retention]\nkeep_days = 30\n' \
  >"$XDG_CONFIG_HOME/cargo-analysis/config.toml"

installed=""
cleanup() {
  if [[ -n ${client:-} ]]; then "$client" --no-spawn stop >/dev/null 2>&1 || true; fi
  if [[ $installed == apt ]]; then
    apt-get remove -y -qq -o DPkg::Lock::Timeout=120 cargo-analysis >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

t_install=$(now)
if [[ $(id -u) -eq 0 && ${CA_SMOKE_DPKG_X:-0} != 1 ]]; then
  say "apt-get install ./$(basename "$deb")"
  if dpkg -s cargo-analysis >/dev/null 2>&1; then
    apt-get remove -y -qq -o DPkg::Lock::Timeout=120 cargo-analysis >/dev/null
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=120 "$deb" \
    >/dev/null
  installed=apt
  bin=/usr/bin
  dpkg -L cargo-analysis >"$scratch/files"
else
  say "dpkg -x into $scratch/root (not root)"
  dpkg -x "$deb" "$scratch/root"
  installed=prefix
  bin=$scratch/root/usr/bin
  (cd "$scratch/root" && find . -mindepth 1 | sed 's|^\.||') >"$scratch/files"
fi
t_installed=$(now)
# (Not /usr/bin first: a rustup cargo in ~/.cargo/bin must stay ahead of Debian's.)
[[ $installed == prefix ]] && export PATH=$bin:$PATH
client=$bin/cargo-analysis-client
[[ $(command -v cargo-analysis-client) == "$client" ]]

say "first report (the client starts the daemon on demand; nothing is stored yet)"
if "$client" report sessions --all 2>"$scratch/first.err"; then :; else
  cat "$scratch/first.err"
  grep -q "no sessions found" "$scratch/first.err" # an answer: the daemon is up and answering
fi
t_first=$(now)
"$client" status | sed 's/^/  /'
grep -q "retention.keep_days = 30 *(file)" <("$client" status)

say "one real cargo build of the demo workspace, captured by the daemon's log watcher"
cp -r tests/fixtures/workspaces/demo "$scratch/demo"
cd "$scratch/demo"
analysis_env=(__CARGO_TEST_CHANNEL_OVERRIDE_DO_NOT_USE_THIS=nightly
              CARGO_UNSTABLE_BUILD_ANALYSIS=true CARGO_BUILD_ANALYSIS_ENABLED=true)
timeout 300 env "${analysis_env[@]}" cargo build --quiet
touch demo-core/src/lib.rs
timeout 300 env "${analysis_env[@]}" cargo build --quiet
logs=$(find "$CARGO_HOME/log" -name '*.jsonl' | wc -l)
# The watcher commits a run once cargo lets go of its log: wait (bounded) for both runs.
for _ in $(seq 100); do
  runs=$("$client" status --format json | sed -n 's/.*"runs_stored": *"\{0,1\}\([0-9]*\).*/\1/p')
  [[ ${runs:-0} -ge $logs ]] && break
  sleep 0.1
done
say "cargo wrote $logs logs; the daemon stored ${runs:-0} runs"
[[ ${runs:-0} -ge 2 ]] || { echo "deb-smoke-test: the daemon did not capture the builds"; exit 1; }

say "cargo analysis-client report rebuilds (through cargo, as an external subcommand)"
cargo analysis-client report rebuilds | tee "$scratch/rebuilds.txt"
t_rebuilds=$(now)
grep -q "demo-core" "$scratch/rebuilds.txt"
cd "$repo"

say "stop"
"$client" stop
for _ in $(seq 100); do
  [[ -e $XDG_RUNTIME_DIR/cargo-analysis/client.sock ]] || break
  sleep 0.1
done
[[ ! -e $XDG_RUNTIME_DIR/cargo-analysis/client.sock ]]

say "remove the package"
if [[ $installed == apt ]]; then
  apt-get remove -y -qq -o DPkg::Lock::Timeout=120 cargo-analysis >/dev/null
else
  rm -rf "$scratch/root"
fi
installed=""
left=0
while read -r f; do
  # Files only: /usr, /usr/share, ... are shared with every other package.
  if [[ -n $f && -f ${bin%/usr/bin}$f ]]; then
    echo "deb-smoke-test: left behind: $f"
    left=$((left + 1))
  fi
done <"$scratch/files"
((left == 0))

say "install took $(secs "$t_install" "$t_installed") s; install to first answered report: \
$(secs "$t_install" "$t_first") s; install to report rebuilds of the captured build (two cargo \
builds included): $(secs "$t_install" "$t_rebuilds") s"
rm -rf "$scratch"
say "ok"
