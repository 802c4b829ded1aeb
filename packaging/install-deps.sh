#!/usr/bin/env bash
# Installs every build and test dependency of cargo-analysis from Debian packages.
# Idempotent: packages already present are skipped, so a second run is fast and offline-safe.
# Usage: packaging/install-deps.sh            (as root, or with sudo available)
set -euo pipefail

packages=(
  build-essential cmake pkg-config ninja-build git
  libboost-dev libboost-system-dev
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  libsqlite3-dev sqlite3
  libspdlog-dev libfmt-dev
  libsimdjson-dev nlohmann-json3-dev libcli11-dev
  libtomlplusplus-dev  # the daemon's config.toml (used header-only)
  libzstd-dev
  help2man dpkg-dev    # man pages from --help; dpkg-shlibdeps for `cpack -G DEB`
  libgtest-dev libgmock-dev libbenchmark-dev
  clang-format
  clang libclang-rt-14-dev  # libFuzzer for tests/fuzz (packaging/run-fuzz.sh)
  chromium  # tests/integration/html_screenshot_test.cpp opens the HTML timings report
  libpng-dev  # tests/e2e/resources_e2e_test.cpp reads the CPU graph's pixels in a screenshot
  cargo rustc
  nodejs npm
  clickhouse-server clickhouse-client  # team export tests (tests/integration/team_export_test.cpp)
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# cargo/rustc may come from rustup instead of Debian: do not install Debian's over it.
if command -v cargo >/dev/null 2>&1; then
  filtered=()
  for p in "${missing[@]}"; do [[ $p == cargo || $p == rustc ]] || filtered+=("$p"); done
  missing=("${filtered[@]}")
fi
# node/npm (the gRPC interop test) may come from NodeSource or nvm: keep those.
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
  filtered=()
  for p in "${missing[@]}"; do [[ $p == nodejs || $p == npm ]] || filtered+=("$p"); done
  missing=("${filtered[@]}")
fi

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
