#!/usr/bin/env bash
# Live parity check: our reports against cargo's own, on builds that real cargo runs now.
#
# Creates, in a temporary directory whose path has a space and a non-ASCII letter, a workspace
# of path crates of varied shapes (a lib with a build script, a proc-macro, a lib with features,
# a bin with examples, tests and a bench, a build script that reruns every time, a member without
# a version, two same-named crates outside the workspace, an excluded crate, a nested workspace),
# runs about 80 cargo commands on it with build analysis on (everyday builds, feature, flag and
# profile changes, target selection, dependency edits, failures, a killed build, unstable flags,
# nested and concurrent builds, a build over a minute) while our daemon watches the log
# directory. Then, when /usr/share/cargo/registry (Debian's librust-*-dev crate sources;
# REGISTRY=DIR for another directory source) has the crates it needs, it points cargo at that
# directory through its CARGO_HOME's config.toml (offline) and runs about 20 commands on a second
# workspace that depends on registry crates (serde with serde_derive on syn, serde_json, regex,
# log with value-bag, libc, anyhow: proc-macros and build scripts of registry packages): clean
# build, no-op, a dependency's feature on and off, RUSTFLAGS, release, check, test --no-run, doc,
# members touched, an env var a registry build script reruns on (and one it reads without), a
# [profile.dev.package."*"] override, CARGO_ENCODED_RUSTFLAGS, a registry package cleaned and
# selected, an explicit --target, and, only if the registry holds two versions of a direct
# dependency, a version pin changed and back; otherwise it says why it skips that part (it
# installs nothing). Then it waits until the daemon has stored and ended every run, and
# compares, for every run id:
#   - `report rebuilds --id ID` at default, -v and -vv verbosity (exact text, colour off);
#   - `report timings --id ID`: the unit table (rows as a multiset, rank column dropped, HTML
#     entities decoded, as tests/unit/query/timings_test.cpp's read_page does) and the summary
#     rows both pages have;
# and `report sessions` once (cargo's list of run ids against ours, inside the workspace).
# Every difference is printed as a unified diff; the script exits 1 if there was any.
#
# Usage: tests/parity/live_parity.sh [BUILD_DIR]   (default: the repo's build/)
# Env: KEEP=1 keeps the temporary directory; REUSE=DIR (a directory kept before) skips the
# workspace and the builds and compares the logs there again, with a fresh daemon and database
# (for checking a fix quickly).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
build="${1:-$repo/build}"
daemon="$build/cargo-analysisd"
client="$build/cargo-analysis-client"
for bin in "$daemon" "$client"; do
  [[ -x "$bin" ]] || { echo "live_parity: $bin not built" >&2; exit 2; }
done
command -v cargo >/dev/null || { echo "live_parity: cargo not on PATH" >&2; exit 2; }

if [[ -n "${REUSE:-}" ]]; then
  tmp="$(cd "$REUSE" && pwd)"
  KEEP=1
  rm -rf "$tmp/state" "$tmp/runtime" "$tmp/reports"
else
  tmp="$(mktemp -d "${TMPDIR:-/tmp}/live-parity.XXXXXX")"
fi
daemon_pid=""
cleanup() {
  if [[ -n "$daemon_pid" ]]; then
    kill "$daemon_pid" 2>/dev/null || true
    wait "$daemon_pid" 2>/dev/null || true
  fi
  if [[ "${KEEP:-0}" == 1 ]]; then
    echo "live_parity: kept $tmp" >&2
  else
    rm -rf "$tmp"
  fi
}
trap cleanup EXIT

export CARGO_HOME="$tmp/cargo-home"
# A space and a non-ASCII letter in the workspace path: paths print relative to it.
ws="$tmp/w sü"
runtime="$tmp/runtime"
state="$tmp/state"
mkdir -p "$CARGO_HOME/log" "$runtime" "$state"
chmod 700 "$runtime"

if [[ -z "${REUSE:-}" ]]; then
# --- the workspace --------------------------------------------------------------------------
mkdir -p "$ws"/{leaf/src,leaf/data,pmacro/src,mid/src,app/src,app/examples,app/tests,app/benches}
mkdir -p "$ws/vendor/vend/src" "$tmp/outside/helper/src" "$ws/always/src" "$ws/nested/src"

cat >"$ws/Cargo.toml" <<'EOF'
[workspace]
members = ["leaf", "pmacro", "mid", "app", "always"]
exclude = ["vendor", "nested"]
resolver = "2"
EOF

cat >"$ws/leaf/Cargo.toml" <<'EOF'
[package]
name = "leaf"
version = "0.1.0"
edition = "2021"
build = "build.rs"
EOF
cat >"$ws/leaf/build.rs" <<'EOF'
use std::env;
use std::fs;
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=data/input.txt");
    println!("cargo:rerun-if-env-changed=LEAF_MODE");
    let mode = env::var("LEAF_MODE").unwrap_or_else(|_| "plain".to_string());
    let data = fs::read_to_string("data/input.txt").unwrap();
    let out = Path::new(&env::var("OUT_DIR").unwrap()).join("gen.rs");
    fs::write(
        out,
        format!("pub const MODE: &str = {:?};\npub const LINES: usize = {};\n", mode, data.lines().count()),
    )
    .unwrap();
}
EOF
printf 'alpha\nbeta\n' >"$ws/leaf/data/input.txt"
cat >"$ws/leaf/src/lib.rs" <<'EOF'
include!(concat!(env!("OUT_DIR"), "/gen.rs"));

pub fn leaf_value() -> usize {
    LINES + MODE.len()
}
EOF

cat >"$ws/pmacro/Cargo.toml" <<'EOF'
[package]
name = "pmacro"
version = "0.1.0"
edition = "2021"

[lib]
name = "pmacro_impl"
proc-macro = true
EOF
cat >"$ws/pmacro/src/lib.rs" <<'EOF'
use proc_macro::TokenStream;

/// `make_answer!()` expands to `fn answer() -> u32 { 42 }`.
#[proc_macro]
pub fn make_answer(_item: TokenStream) -> TokenStream {
    "pub fn answer() -> u32 { 42 }".parse().unwrap()
}
EOF

cat >"$ws/mid/Cargo.toml" <<'EOF'
[package]
name = "mid"
version = "0.2.0"
edition = "2021"

[features]
default = ["std"]
std = []
extra = []
"fast+x.y" = []

[dependencies]
leaf = { path = "../leaf" }
pmacro = { path = "../pmacro" }
helper = { path = "../../outside/helper" }
vend = { path = "../vendor/vend" }
EOF
cat >"$ws/mid/src/lib.rs" <<'EOF'
pmacro_impl::make_answer!();

pub fn greeting() -> &'static str {
    option_env!("MID_GREETING").unwrap_or("hello")
}

pub fn mid_value() -> usize {
    leaf::leaf_value() + answer() as usize + helper::help() + vend::vend()
}

#[cfg(feature = "extra")]
pub fn extra() -> &'static str {
    "extra"
}

/// ```
/// assert!(mid::doc_tested() > 0);
/// ```
pub fn doc_tested() -> usize {
    1
}
EOF

cat >"$tmp/outside/helper/Cargo.toml" <<'EOF'
[package]
name = "helper"
version = "0.3.0"
edition = "2021"
EOF
echo 'pub fn help() -> usize { 3 }' >"$tmp/outside/helper/src/lib.rs"

cat >"$ws/vendor/vend/Cargo.toml" <<'EOF'
[package]
name = "vend"
version = "0.4.0"
edition = "2021"
EOF
echo 'pub fn vend() -> usize { 4 }' >"$ws/vendor/vend/src/lib.rs"

cat >"$ws/app/Cargo.toml" <<'EOF'
[package]
name = "app"
version = "1.0.0"
edition = "2021"

[dependencies]
mid = { path = "../mid" }

[[bin]]
name = "app-tool"
path = "src/bin/app-tool.rs"

[[bin]]
name = "app"
path = "src/main.rs"

[[bench]]
name = "bb"
harness = false
EOF
cat >"$ws/app/src/main.rs" <<'EOF'
fn main() {
    println!("{}", mid::mid_value());
}
EOF
mkdir -p "$ws/app/src/bin"
# app-tool runs a nested cargo when asked (as an xtask would).
cat >"$ws/app/src/bin/app-tool.rs" <<'EOF'
fn main() {
    println!("{}", mid::greeting());
    if let Ok(manifest) = std::env::var("NESTED_BUILD") {
        let cargo = std::env::var("CARGO").unwrap();
        let status = std::process::Command::new(cargo)
            .args(["build", "--manifest-path", &manifest])
            .status()
            .unwrap();
        assert!(status.success());
    }
}
EOF
# A build script whose rerun-if-changed file does not exist: cargo reruns it every build.
cat >"$ws/always/Cargo.toml" <<'EOF'
[package]
name = "always"
version = "0.0.1"
edition = "2021"
EOF
echo 'fn main() { println!("cargo:rerun-if-changed=does-not-exist.txt"); }' >"$ws/always/build.rs"
echo 'pub fn always() {}' >"$ws/always/src/lib.rs"
# A workspace of its own in an excluded sub-directory.
cat >"$ws/nested/Cargo.toml" <<'EOF'
[package]
name = "nested"
version = "0.1.0"
edition = "2021"

[workspace]
EOF
echo 'fn main() { println!("nested"); }' >"$ws/nested/src/main.rs"
cat >"$ws/app/examples/ex.rs" <<'EOF'
fn main() {
    println!("example {}", mid::mid_value());
}
EOF
cat >"$ws/app/tests/it.rs" <<'EOF'
#[test]
fn it_works() {
    assert!(mid::mid_value() > 0);
}
EOF
cat >"$ws/app/benches/bb.rs" <<'EOF'
fn main() {
    println!("bench {}", mid::mid_value());
}
EOF

fi # REUSE

# --- our daemon -----------------------------------------------------------------------------
export CARGO_ANALYSIS_RUNTIME_DIR="$runtime"
export CARGO_ANALYSIS_STATE_DIR="$state"
export CARGO_ANALYSIS_NO_SPAWN=1
"$daemon" --foreground --runtime-dir "$runtime" --state-dir "$state" \
  --watch-dir "$CARGO_HOME/log" --log-level warn 2>"$tmp/daemon.log" &
daemon_pid=$!
for _ in $(seq 100); do
  [[ -S "$runtime/client.sock" ]] && break
  sleep 0.1
done
[[ -S "$runtime/client.sock" ]] || { echo "live_parity: daemon did not start" >&2; cat "$tmp/daemon.log" >&2; exit 1; }

# --- the builds -----------------------------------------------------------------------------
export CARGO_TERM_COLOR=never CARGO_NET_OFFLINE=true
analysis_env=(__CARGO_TEST_CHANNEL_OVERRIDE_DO_NOT_USE_THIS=nightly
  CARGO_UNSTABLE_BUILD_ANALYSIS=true CARGO_BUILD_ANALYSIS_ENABLED=true)
step=0
# The workspace c runs cargo in: $ws, then the registry part's.
cws="$ws"
# c [ENV=VALUE...] -- ARGS...: one logged cargo command in the workspace; failures are expected
# for some steps, so the exit code is only recorded.
c() {
  local envs=() dir="$cws"
  while [[ "$1" != "--" ]]; do
    if [[ "$1" == C=* ]]; then dir="$cws/${1#C=}"; else envs+=("$1"); fi
    shift
  done
  shift
  step=$((step + 1))
  local rc=0
  (cd "$dir" && env "${analysis_env[@]}" "${envs[@]}" cargo "$@") >"$tmp/step-$step.log" 2>&1 || rc=$?
  printf '%2d  %-60s exit %d\n' "$step" "${envs[*]:+${envs[*]} }cargo $*" "$rc"
  # Two cargo runs that start in the same millisecond would share one log (see README).
  sleep 0.05
}
append() { printf '%s\n' "$2" >>"$cws/$1"; }

if [[ -z "${REUSE:-}" ]]; then
echo "== cargo commands"
c -- build                                     # clean build: all new
c -- build                                     # no-op: all fresh
touch "$ws/app/src/main.rs"; c -- build        # bin source touched
append leaf/src/lib.rs 'pub fn more() -> u8 { 1 }'
c -- build                                     # leaf edited: cascade
c -- build --release                           # release profile, all new
c -- check                                     # check mode
c -- test --no-run                             # test units
c -- doc                                       # doc units
c -- build --features mid/extra                # feature on
c -- build                                     # feature off again
c RUSTFLAGS=--cfg=live_cfg -- build            # RUSTFLAGS change
c -- build                                     # RUSTFLAGS back
c LEAF_MODE=spicy -- build                     # env var read by the build script
printf 'gamma\n' >>"$ws/leaf/data/input.txt"
c LEAF_MODE=spicy -- build                     # data file changed
cp "$ws/mid/src/lib.rs" "$tmp/mid-lib.rs"
append mid/src/lib.rs 'pub fn broken() -> u32 { "not a number" }'
c -- build                                     # fails to compile
cp "$tmp/mid-lib.rs" "$ws/mid/src/lib.rs"
c -- build                                     # fixed
c -- build -p leaf                             # one member
c -- build --all-targets                       # examples, tests, benches
c -- build --example ex                        # one example
c -- clean -p mid                              # (may or may not log)
c -- build                                     # after clean -p
touch "$ws/leaf/src/lib.rs"; c -- build -j1    # serial cascade
touch "$ws/leaf/build.rs"; c -- build          # build script source changed
printf '\n[profile.dev]\nopt-level = 1\n' >>"$ws/Cargo.toml"
c -- build                                     # profile change
cat >>"$ws/app/Cargo.toml" <<'EOF'

[dependencies.helper]
path = "../../outside/helper"
EOF
sed -i 's/^fn main() {/fn main() {\n    let _ = helper::help();/' "$ws/app/src/main.rs"
c -- build                                     # dependency added
c CARGO_INCREMENTAL=0 -- build                 # incremental off
c -- test                                      # tests run, doctests
c -- build --target "$(rustc -vV | sed -n 's/^host: //p')"  # explicit target
c -- rustc -p leaf -- --cfg=rustc_extra        # extra rustc args
mkdir -p "$ws/.cargo"
printf '[build]\nrustflags = ["--cfg", "from_config"]\n' >"$ws/.cargo/config.toml"
c -- build                                     # rustflags from config
c -- bench --no-run                            # bench profile
c -- run --bin app                             # run
c -- build --timings                           # --timings also on
c C=app -- build                               # from a member's directory
c MID_GREETING=hi -- build                     # env var read by rustc (option_env!)
touch "$tmp/outside/helper/src/lib.rs"; c -- build   # source outside the workspace
touch "$ws/vendor/vend/src/lib.rs"; c -- build       # excluded, non-member path crate
c -- check --all-targets                       # check-test units
c -- test --doc                                # doctest units
sed -i 's/^helper = { path/hlp = { package = "helper", path/' "$ws/mid/Cargo.toml"
sed -i 's/helper::help()/hlp::help()/' "$ws/mid/src/lib.rs"
c -- build                                     # dependency renamed
sed -i 's/^version = "0.1.0"/version = "0.1.1"/' "$ws/leaf/Cargo.toml"
c -- build                                     # version bump
c -- build --features "mid/fast+x.y"           # feature with + and .
sed -i 's/^    let mode = /    if env::var("LEAF_FAIL").is_ok() { panic!("asked to fail"); }\n    println!("cargo:rerun-if-env-changed=LEAF_FAIL");\n    let mode = /' "$ws/leaf/build.rs"
c LEAF_FAIL=1 -- build                         # build script panics
c -- build                                     # and recovers
cp "$ws/mid/src/lib.rs" "$tmp/mid-lib.rs"
append mid/src/lib.rs 'pub fn broken() -> u32 { "not a number" }'
c -- build --keep-going                        # one crate fails, the others go on
cp "$tmp/mid-lib.rs" "$ws/mid/src/lib.rs"
c -- build                                     # fixed
c C=nested -- build                            # another workspace, below this one
c -- build --manifest-path nested/Cargo.toml   # the same, from this one's root
c CARGO_TARGET_DIR="$tmp/other-target" -- build  # another target dir: all new
# -Z flags that cargo passes on to rustc need RUSTC_BOOTSTRAP on a stable rustc.
c RUSTC_BOOTSTRAP=1 -- -Zchecksum-freshness build   # checksums instead of mtimes
touch "$ws/leaf/src/lib.rs"
c RUSTC_BOOTSTRAP=1 -- -Zchecksum-freshness build   # touched, same content
append leaf/src/lib.rs 'pub fn more2() -> u8 { 2 }'
c RUSTC_BOOTSTRAP=1 -- -Zchecksum-freshness build   # content changed
append leaf/src/lib.rs 'pub fn more3() -> u8 { 3 }'
c RUSTC_BOOTSTRAP=1 -- -Zsection-timings build      # rustc's own sections in the timings
c RUSTC_BOOTSTRAP=1 -- -Zrustdoc-scrape-examples doc --no-deps  # docscrape units
c -- clippy                                    # clippy-driver as the workspace wrapper
printf '#!/bin/sh\nexec "$@"\n' >"$tmp/wrapper.sh"; chmod +x "$tmp/wrapper.sh"
c RUSTC_WORKSPACE_WRAPPER="$tmp/wrapper.sh" -- build  # another wrapper
c -- build --config 'env.LIVE_ENV="1"'         # [env] from config
c -- build --config 'env.LIVE_ENV="2"'         # [env] value changed
c -- build --config profile.dev.build-override.opt-level=2  # build-override
c -- build --workspace --exclude app           # a member excluded
c -- build -p no-such-package                  # fails before any unit
cp "$ws/app/Cargo.toml" "$tmp/app-Cargo.toml"
printf '\n[dependencies.ghost]\npath = "../ghost"\n' >>"$ws/app/Cargo.toml"
c -- build                                     # fails at resolution
cp "$tmp/app-Cargo.toml" "$ws/app/Cargo.toml"
# Two packages named `helper`, in different versions.
mkdir -p "$tmp/outside/helper5/src"
printf '[package]\nname = "helper"\nversion = "0.5.0"\nedition = "2021"\n' >"$tmp/outside/helper5/Cargo.toml"
echo 'pub fn help() -> usize { 5 }' >"$tmp/outside/helper5/src/lib.rs"
printf '\n[dependencies.helper5]\npackage = "helper"\npath = "../../outside/helper5"\n' >>"$ws/app/Cargo.toml"
c -- build                                     # a second helper
touch "$tmp/outside/helper/src/lib.rs" "$tmp/outside/helper5/src/lib.rs"
c -- build                                     # both touched: tied roots
c -- doc --no-deps                             # doc after edits
# An interrupted build: the build script sleeps, cargo gets SIGINT.
sed -i 's/^    let mode = /    if let Ok(s) = env::var("LEAF_SLEEP") { std::thread::sleep(std::time::Duration::from_secs(s.parse().unwrap())); }\n    let mode = /' "$ws/leaf/build.rs"
step=$((step + 1))
# setsid: its own process group, signalled as a whole like a terminal's Ctrl-C would (a
# background job of this script ignores SIGINT, so SIGTERM).
(cd "$ws" && exec setsid env "${analysis_env[@]}" LEAF_SLEEP=30 cargo build) >"$tmp/step-$step.log" 2>&1 &
cargo_pid=$!
sleep 4
kill -TERM -- "-$cargo_pid" 2>/dev/null || true
rc=0; wait "$cargo_pid" || rc=$?
printf '%2d  %-60s exit %d\n' "$step" "cargo build (SIGTERM to its group after 4s)" "$rc"
sleep 0.05
c -- build                                     # after the interrupted one
c NESTED_BUILD="$ws/nested/Cargo.toml" -- run --bin app-tool  # a cargo inside a cargo
touch "$ws/nested/src/main.rs"
c NESTED_BUILD="$ws/nested/Cargo.toml" -- run --bin app-tool  # ... that builds something
c RUSTDOCFLAGS=--cfg=docflag -- doc --no-deps  # rustdoc flags changed
printf '\n[profile.fast]\ninherits = "release"\n' >>"$ws/Cargo.toml"
c -- build --profile fast                      # a custom profile
cat >>"$ws/app/Cargo.toml" <<'EOF'

[[example]]
name = "exlib"
crate-type = ["rlib"]
EOF
echo 'pub fn exlib() {}' >"$ws/app/examples/exlib.rs"
c -- build --examples                          # a library example
mkdir -p "$ws/nover/src"
printf '[package]\nname = "nover"\nedition = "2021"\n' >"$ws/nover/Cargo.toml"
echo 'pub fn nover() {}' >"$ws/nover/src/lib.rs"
sed -i 's/"always"\]/"always", "nover"]/' "$ws/Cargo.toml"
c -- build                                     # a member without a version
append nover/src/lib.rs 'pub fn nover2() {}'
c -- build                                     # ... rebuilt
# at_once NAME DELAY DIR1 CMD1 DIR2 CMD2 LABEL: two logged cargo commands, the second started
# DELAY seconds after the first, both waited for; their output in step-NAME-{1,2}.log.
at_once() {
  local name=$1 delay=$2 dir1=$3 cmd1=$4 dir2=$5 cmd2=$6 label=$7
  (cd "$dir1" && env "${analysis_env[@]}" cargo "$cmd1") >"$tmp/step-$name-1.log" 2>&1 &
  local first=$!
  sleep "$delay"
  (cd "$dir2" && env "${analysis_env[@]}" cargo "$cmd2") >"$tmp/step-$name-2.log" 2>&1 &
  local second=$!
  wait "$first" "$second" || true
  echo "    $label"
}
touch "$ws/leaf/src/lib.rs" "$ws/nested/src/main.rs"
at_once par 0.01 "$ws" build "$ws/nested" build "two workspaces at once"
# The second waits for the first's lock.
touch "$ws/leaf/src/lib.rs"
at_once lock 0.2 "$ws" build "$ws" check "two builds of one workspace at once"
append app/tests/it.rs '#[test] fn fails() { panic!("on purpose"); }'
c -- test                                      # a test fails after the build
c RUSTC_BOOTSTRAP=1 -- -Zsection-timings build --release  # sections, release
c LEAF_SLEEP=61 LEAF_MODE=slow -- build        # over a minute: total time with minutes

# --- the registry part ----------------------------------------------------------------------
# A second workspace whose dependencies come from a registry: Debian's librust-*-dev packages
# unpack crate sources into /usr/share/cargo/registry (REGISTRY=DIR for another), which cargo
# reads as a directory source, offline, through $CARGO_HOME/config.toml. Skipped when that
# directory lacks a crate it needs; this script installs nothing.
registry="${REGISTRY:-/usr/share/cargo/registry}"
# reg_versions NAME: the versions of NAME in the registry, oldest first.
reg_versions() {
  local d
  for d in "$registry/$1"-[0-9]*; do
    if [[ -d "$d" ]]; then printf '%s\n' "${d##*/$1-}"; fi
  done | sort -V
}
reg_needs=(serde serde_derive serde_json itoa ryu regex regex-syntax log value-bag ctor
  version_check libc anyhow proc-macro2 quote syn unicode-ident cfg-if indexmap hashbrown autocfg)
reg_missing=()
declare -A pin=()
for name in "${reg_needs[@]}"; do
  v="$(reg_versions "$name" | tail -n1)"
  if [[ -z "$v" ]]; then reg_missing+=("$name"); else pin[$name]="$v"; fi
done
rws="$tmp/reg wsü"
if [[ ! -d "$registry" ]]; then
  echo "== registry part skipped: no $registry (apt-get install librust-serde-derive-dev" \
    "librust-serde-json-dev librust-regex-dev librust-log-dev librust-libc-dev librust-anyhow-dev" \
    "librust-indexmap-dev)"
elif [[ ${#reg_missing[@]} -gt 0 ]]; then
  echo "== registry part skipped: $registry lacks ${reg_missing[*]}"
else
cat >"$CARGO_HOME/config.toml" <<EOF
[source.crates-io]
replace-with = "debian"
[source.debian]
directory = "$registry"
[net]
offline = true
EOF
mkdir -p "$rws"/{regapp/src,regmac/src}
cat >"$rws/Cargo.toml" <<'EOF'
[workspace]
members = ["regapp", "regmac"]
resolver = "2"
EOF
# A proc-macro member on registry proc-macro2 and quote.
cat >"$rws/regmac/Cargo.toml" <<EOF
[package]
name = "regmac"
version = "0.1.0"
edition = "2021"

[lib]
proc-macro = true

[dependencies]
proc-macro2 = "=${pin[proc-macro2]}"
quote = "=${pin[quote]}"
EOF
cat >"$rws/regmac/src/lib.rs" <<'EOF'
use proc_macro::TokenStream;

/// `hello!()` expands to `fn hello() -> &'static str`.
#[proc_macro]
pub fn hello(_item: TokenStream) -> TokenStream {
    let body: proc_macro2::TokenStream = quote::quote! {
        pub fn hello() -> &'static str { "hello" }
    };
    body.into()
}
EOF
# A bin on a proc-macro (serde_derive, through syn), build scripts (serde, serde_json, libc,
# anyhow, log, value-bag, proc-macro2...), a build script of its own with a registry
# build-dependency, and features of a dependency that a feature of its own turns on.
# write_regapp_manifest NAME=VERSION...: the manifest, with those pins instead of the newest.
write_regapp_manifest() {
  local -A p=()
  local name kv
  for name in "${!pin[@]}"; do p[$name]="${pin[$name]}"; done
  for kv in "$@"; do p[${kv%%=*}]="${kv#*=}"; done
  cat >"$rws/regapp/Cargo.toml" <<EOF
[package]
name = "regapp"
version = "0.1.0"
edition = "2021"

[features]
preserve = ["serde_json/preserve_order"]

[dependencies]
regmac = { path = "../regmac" }
serde = { version = "=${p[serde]}", features = ["derive"] }
serde_json = "=${p[serde_json]}"
regex = { version = "=${p[regex]}", default-features = false, features = ["std", "unicode-perl"] }
log = { version = "=${p[log]}", features = ["kv_unstable"] }
libc = "=${p[libc]}"
anyhow = "=${p[anyhow]}"

[build-dependencies]
version_check = "=${p[version_check]}"
EOF
}
write_regapp_manifest
cat >"$rws/regapp/build.rs" <<'EOF'
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if version_check::is_feature_flaggable().unwrap_or(false) {
        println!("cargo:rustc-cfg=flaggable");
    }
}
EOF
cat >"$rws/regapp/src/main.rs" <<'EOF'
use serde::{Deserialize, Serialize};

regmac::hello!();

#[derive(Serialize, Deserialize, Debug)]
struct Point {
    x: i32,
    y: i32,
}

fn main() -> anyhow::Result<()> {
    let p: Point = serde_json::from_str(r#"{"x":1,"y":2}"#)?;
    let re = regex::Regex::new(r"\d+")?;
    log::info!("{:?} {}", p, re.is_match("42"));
    println!("{} {} {}", hello(), serde_json::to_string(&p)?, unsafe { libc::getpid() } > 0);
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn point() {
        assert_eq!(super::hello(), "hello");
    }
}
EOF
# Resolve once without build analysis: a registry that has the crates but not a version or a
# feature's dependency they need fails here, and the part is skipped.
if ! (cd "$rws" && cargo generate-lockfile) >"$tmp/reg-lock.log" 2>&1; then
  echo "== registry part skipped: cargo cannot resolve the registry workspace from $registry:"
  sed 's/^/    /' "$tmp/reg-lock.log"
  rm -f "$CARGO_HOME/config.toml"
else
echo "== cargo commands on registry crates ($registry)"
cws="$rws"
c -- build                                     # clean build: registry crates all new
c -- build                                     # no-op
c -- build --features regapp/preserve          # a registry dependency's feature on (indexmap)
c -- build                                     # ... and off
c RUSTFLAGS=--cfg=reg_cfg -- build             # RUSTFLAGS change: everything
c -- build --release                           # release profile
c -- check                                     # check mode
c -- test --no-run                             # test units
c -- doc                                       # doc units of registry crates
touch "$rws/regmac/src/lib.rs"; c -- build     # workspace proc-macro touched
touch "$rws/regapp/src/main.rs"; c -- build    # workspace bin touched
# value-bag's build script (log's kv_unstable) says rerun-if-env-changed for these.
if grep -q 'rerun-if-env-changed' "$registry/value-bag-${pin[value-bag]}/build.rs" &&
  grep -q 'VALUE_BAG_CAPTURE_FALLBACK' "$registry/value-bag-${pin[value-bag]}/build.rs"; then
  c VALUE_BAG_CAPTURE_FALLBACK=1 -- build      # a registry build script's env var changed
  # libc's build script reads LIBC_CI but reruns only if build.rs changes: all fresh.
  c VALUE_BAG_CAPTURE_FALLBACK=1 LIBC_CI=1 -- build
  c -- build                                   # the env var unset again
else
  echo "    (value-bag-${pin[value-bag]}'s build script has no rerun-if-env-changed: env steps skipped)"
fi
cp "$rws/Cargo.toml" "$tmp/reg-Cargo.toml"
printf '\n[profile.dev.package."*"]\nopt-level = 1\n' >>"$rws/Cargo.toml"
c -- build                                     # profile override for non-members
cp "$tmp/reg-Cargo.toml" "$rws/Cargo.toml"
c CARGO_ENCODED_RUSTFLAGS=$'--cfg\x1freg_enc' -- build  # encoded rustflags, and override gone
c -- build                                     # back to plain
c -- clean -p serde_json                       # (may or may not log)
c -- build                                     # a registry crate cleaned
c -- build -p serde_json                       # a registry package selected
c -- build --target "$(rustc -vV | sed -n 's/^host: //p')"  # host and target units apart
# A direct dependency that Debian ships in two versions: pin the older, then the newer again.
two=""
for name in libc anyhow regex serde_json log; do
  if [[ $(reg_versions "$name" | wc -l) -ge 2 ]]; then two="$name"; break; fi
done
if [[ -n "$two" ]]; then
  older="$(reg_versions "$two" | tail -n2 | head -n1)"
  write_regapp_manifest "$two=$older"
  c -- build                                   # a registry version pinned down
  write_regapp_manifest
  c -- build                                   # ... and up again
else
  echo "    (no direct dependency in two versions in $registry: version pin steps skipped)"
fi
cws="$ws"
fi
fi

fi # REUSE

# --- wait for the daemon ----------------------------------------------------------------------
mapfile -t run_ids < <(ls "$CARGO_HOME/log" | sed -n 's/\.jsonl$//p' | sort)
echo "== ${#run_ids[@]} logs written by cargo"
want=$(printf '%s\n' "${run_ids[@]}")
for _ in $(seq 300); do
  have=$("$client" report sessions --all --limit 1000 --format json 2>/dev/null | python3 -c '
import json, sys
doc = json.load(sys.stdin)
ids = sorted(r["run_id"] for s in doc.get("sessions", []) for r in s.get("runs", [])
             if r.get("state") not in (None, "", "in_progress"))
print("\n".join(ids))' || true)
  [[ "$have" == "$want" ]] && break
  sleep 0.2
done
if [[ "$have" != "$want" ]]; then
  echo "live_parity: the daemon did not store and end every run:" >&2
  diff -u <(echo "$want") <(echo "$have") >&2 || true
  exit 1
fi

# --- compare ----------------------------------------------------------------------------------
out="$tmp/reports"
mkdir -p "$out"
# Both reports run in the run's own workspace: cargo finds a log only among its workspace's
# (`report rebuilds --id` elsewhere says "not found"), and prints paths relative to it.
dir=""
cargo_report() { (cd "$dir" && env __CARGO_TEST_CHANNEL_OVERRIDE_DO_NOT_USE_THIS=nightly cargo -Zbuild-analysis report "$@"); }
ours_report() { (cd "$dir" && "$client" report "$@"); }
workspace_of() {
  head -n1 "$CARGO_HOME/log/$1.jsonl" | python3 -c 'import json, sys; print(json.load(sys.stdin)["workspace_root"])'
}
declare -A workspaces=()

for id in "${run_ids[@]}"; do
  dir="$(workspace_of "$id")"
  workspaces["$dir"]=1
  for v in "" -v -vv; do
    # cargo prints the report on stderr; its stdout is empty.
    cargo_report rebuilds --id "$id" $v >"$out/cargo-rebuilds$v-$id.txt" 2>&1 || true
    ours_report rebuilds --id "$id" $v >"$out/ours-rebuilds$v-$id.txt" 2>&1 || true
  done
  # cargo writes <target-dir>/cargo-timings/cargo-timing-<id>.html and prints that path.
  cargo_report timings --id "$id" >"$out/cargo-timings-$id.log" 2>&1 || true
  html="$(sed -n 's/^ *Timing report saved to //p' "$out/cargo-timings-$id.log")"
  cp "$html" "$out/cargo-timings-$id.html" 2>/dev/null || true
  ours_report timings --id "$id" --format html -o "$out/ours-timings-$id.html" >/dev/null 2>&1 || true
done
dir="$ws"
# `report sessions`, and `report rebuilds` without an id (the newest run of the workspace), in
# each workspace that has runs and in a member's directory.
n=0
: >"$out/sessions-workspaces.txt"
for dir in "${!workspaces[@]}" "$ws/app"; do
  n=$((n + 1))
  echo "$n $dir" >>"$out/sessions-workspaces.txt"
  cargo_report sessions --limit 1000 >"$out/cargo-sessions-$n.txt" 2>&1 || true
  ours_report sessions --limit 1000 --format json >"$out/ours-sessions-$n.json" 2>&1 || true
  cargo_report rebuilds >"$out/cargo-newest-$n.txt" 2>&1 || true
  ours_report rebuilds >"$out/ours-newest-$n.txt" 2>&1 || true
done

python3 - "$out" "${run_ids[@]}" <<'PY'
import difflib, html, json, re, sys

out, ids = sys.argv[1], sys.argv[2:]
diffs = 0
compared = 0


def read(path):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except FileNotFoundError:
        return None


def show(title, a, b, a_name="cargo", b_name="ours"):
    global diffs
    if a == b:
        return
    diffs += 1
    print(f"--- difference: {title}")
    sys.stdout.writelines(difflib.unified_diff(
        a.splitlines(True), b.splitlines(True), a_name, b_name))
    print()


def between(text, open_, close):
    i = text.find(open_)
    if i < 0:
        return ""
    i += len(open_)
    j = text.find(close, i)
    return "" if j < 0 else text[i:j]


def decode(text):
    # Exactly the four entities read_page decodes (cargo writes `"bin"` unescaped, we escape it).
    for entity, plain in (("&quot;", '"'), ("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&")):
        text = text.replace(entity, plain)
    return text


def read_page(page):
    """tests/unit/query/timings_test.cpp's read_page, in Python."""
    summary = {}
    s = between(page, 'summary-table">', "</table>")
    pos = 0
    while True:
        pos = s.find("<tr>\n<td>", pos)
        if pos < 0:
            break
        pos += 9
        name_end = s.find("</td><td>", pos)
        value_end = s.find("</td>\n</tr>", name_end)
        if name_end < 0 or value_end < 0:
            break
        summary[s[pos:name_end]] = decode(s[name_end + 9:value_end])
    head = between(page, "<thead>", "</thead>")
    headers = re.findall(r"<th>(.*?)</th>", head, re.S)
    body = between(page, "<tbody>", "</tbody>")
    rows = []
    pos = 0
    while True:
        pos = body.find("<tr", pos)
        if pos < 0:
            break
        end = body.find("</tr>", pos)
        row = body[pos:end]
        cells = []
        c = 0
        while True:
            c = row.find("<td>", c)
            if c < 0:
                break
            c += 4
            cells.append(decode(row[c:row.find("</td>", c)]))
        if cells:
            cells.pop(0)  # the rank: cargo's sort of equal durations is unstable
        rows.append(cells)
        pos = end
    rows.sort()
    return summary, headers, rows


ENTRY = re.compile(r"^  (\d+)\. (.*)$")


OURS_ONLY = re.compile(r"^     (new|compared with): ")


def strip_new_unit_origins(text):
    """Our explanations of new units, which cargo never prints: the `new:` and `compared with:`
    lines under a root, and the `New units:` section of a run whose every unit was new (it runs
    to the end of the report)."""
    lines = [l for l in text.splitlines(True) if not OURS_ONLY.match(l)]
    if "New units:" in "".join(lines):
        lines = lines[: next(i for i, l in enumerate(lines) if l.startswith("New units:"))]
    return "".join(lines)


def normalize_rebuilds(text):
    """Root rebuilds of equal impact and equal package name, in a canonical order.

    Cargo sorts the roots (a HashMap's iteration, so a random order per process) by number of
    affected units, then package name, with a stable sort: roots that tie on both (several
    targets of one package) come in a different order each time cargo runs, even between
    `report rebuilds` and `report rebuilds -v` of one log. We break such ties by unit index.
    So within each run of tied roots, both sides' entries are sorted by text and renumbered; and
    when the list is cut to the top 5, which of the tied roots of the last group made the cut is
    random too, so that group is compared by its size only.
    """
    if text is None:
        return None
    text = strip_new_unit_origins(text)
    lines = text.splitlines(True)
    try:
        start = next(i for i, l in enumerate(lines) if l.startswith("Root rebuilds:")) + 1
    except StopIteration:
        return text
    truncated = "(top " in lines[start - 1]
    end = start
    entries = []
    while end < len(lines) and lines[end].strip():
        m = ENTRY.match(lines[end])
        if m:
            entries.append([m.group(2) + "\n"])
        elif entries:
            entries[-1].append(lines[end])
        end += 1

    def key(entry):
        impact = entry[1] if len(entry) > 1 else ""
        return (impact, entry[0].split("@", 1)[0])

    groups = []
    for entry in entries:
        if groups and key(groups[-1][0]) == key(entry):
            groups[-1].append(entry)
        else:
            groups.append([entry])
    out_lines = []
    for g, group in enumerate(groups):
        if truncated and g == len(groups) - 1:
            group = [[f"(one of the tied roots of {key(e)[1]})\n", key(e)[0]] for e in group]
        else:
            group = sorted(group, key=lambda e: "".join(e))
        for entry in group:
            out_lines.append(f"  {len(out_lines)}. " + entry[0])
            out_lines.extend(entry[1:])
    # renumbering above counts entries, not lines
    numbered, n = [], 0
    for l in out_lines:
        if ENTRY.match(l):
            l = ENTRY.sub(lambda m: f"  {n}. {m.group(2)}", l)
            n += 1
        numbered.append(l)
    return "".join(lines[:start] + numbered + lines[end:])


for run in ids:
    compared += 1
    for v in ("", "-v", "-vv"):
        a = normalize_rebuilds(read(f"{out}/cargo-rebuilds{v}-{run}.txt"))
        b = normalize_rebuilds(read(f"{out}/ours-rebuilds{v}-{run}.txt"))
        show(f"report rebuilds {v or '(default)'} --id {run}", a or "(missing)\n", b or "(missing)\n")
    a = read(f"{out}/cargo-timings-{run}.html")
    b = read(f"{out}/ours-timings-{run}.html")
    if a is None and b is None:
        # Neither wrote a report (a run without units: cargo says "no timing data found in
        # log"); the error messages are each tool's own.
        continue
    if a is None or b is None:
        show(f"report timings --id {run}: HTML written",
             "present\n" if a else read(f"{out}/cargo-timings-{run}.log") or "missing\n",
             "present\n" if b else "missing\n")
        continue
    cs, ch, cr = read_page(a)
    os_, oh, orows = read_page(b)
    show(f"report timings --id {run}: table headers", "\n".join(ch) + "\n", "\n".join(oh) + "\n")
    show(f"report timings --id {run}: unit table rows (sorted, rank dropped)",
         "".join(" | ".join(r) + "\n" for r in cr), "".join(" | ".join(r) + "\n" for r in orows))
    common = [k for k in cs if k in os_]
    show(f"report timings --id {run}: summary rows both pages have",
         "".join(f"{k} {cs[k]}\n" for k in common), "".join(f"{k} {os_[k]}\n" for k in common))
    only = sorted(set(cs) - set(os_))
    if only:
        show(f"report timings --id {run}: summary rows only cargo has", "".join(k + "\n" for k in only), "")

# Sessions: cargo lists one line per log file (a run id) of the workspace, newest first, with
# no other data; ours lists the sessions with a run of the workspace, each as its tree of runs: a
# cargo that a cargo of another workspace ran (a build script, an xtask) is listed in that
# session, under its outer run. So we compare cargo's ids with the runs of the sessions we list
# that are in the workspace, and check that every session we list has one.
def runs_of(text):
    return [r for s in json.loads(text).get("sessions", []) for r in s.get("runs", [])]


for line in (read(f"{out}/sessions-workspaces.txt") or "").splitlines():
    n, wsdir = line.split(" ", 1)
    a = read(f"{out}/cargo-sessions-{n}.txt") or ""
    cargo_ids = re.findall(r"^ - (\S+)$", a, re.M)
    root = re.search(r"^Session IDs for `(.*)` \(most recent first\):$", a, re.M)
    root = root.group(1) if root else wsdir
    b = read(f"{out}/ours-sessions-{n}.json") or "{}"
    try:
        our_ids = sorted({r["run_id"] for r in runs_of(b) if r.get("workspace_root") == root},
                         reverse=True)
        strays = [f"{s['session_id']}\n" for s in json.loads(b).get("sessions", [])
                  if not any(r.get("workspace_root") == root for r in s.get("runs", []))]
        show(f"report sessions in {wsdir}: sessions without a run of the workspace", "",
             "".join(strays))
    except json.JSONDecodeError:
        our_ids = ["(not JSON) " + b]
    show(f"report sessions in {wsdir}: run ids, newest first", "".join(i + "\n" for i in cargo_ids),
         "".join(i + "\n" for i in our_ids))
    if not cargo_ids:
        show(f"report sessions in {wsdir}: cargo listed no run", "at least one run\n", a)
    show(f"report rebuilds (no id) in {wsdir}",
         normalize_rebuilds(read(f"{out}/cargo-newest-{n}.txt")) or "(missing)\n",
         normalize_rebuilds(read(f"{out}/ours-newest-{n}.txt")) or "(missing)\n")

print(f"== compared {compared} runs (rebuilds x3 verbosities, timings), and sessions and the newest"
      f" run's rebuilds per workspace: {diffs} difference(s)")
sys.exit(1 if diffs else 0)
PY
