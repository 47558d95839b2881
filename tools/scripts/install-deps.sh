#!/bin/bash
# Installs the Debian 12 packages Cairn builds with, only those missing (apt-get update first
# when something is). Used by the README's two commands; safe to run again.
#   --browser   also Chromium and its WebDriver (chromium, chromium-driver), which the dashboard's
#               end-to-end test drives; tools/scripts/test.sh asks for them, main.sh does not.
#   --clang     also Clang, llvm-symbolizer and lld, which test.sh's builds use.
set -euo pipefail
packages=(
  g++ cmake ninja-build pkg-config
  liburing-dev libflatbuffers-dev flatbuffers-compiler libxxhash-dev
  libgtest-dev libgmock-dev libbenchmark-dev libcli11-dev nlohmann-json3-dev
  libconcurrentqueue-dev librocksdb-dev libsqlite3-dev libcpp-httplib-dev
  libhowardhinnant-date-dev tzdata
)
for arg in "$@"; do
  case $arg in
    --browser) packages+=(chromium chromium-driver) ;;
    # The sanitizer runtimes are a package of their own; llvm-symbolizer (package llvm) names the
    # functions in a report, without which tests/tsan.supp, which matches names, matches nothing.
    # lld links a test binary in a third of GNU ld's CPU.
    --clang) packages+=(clang libclang-rt-14-dev llvm lld) ;;
    *) echo "install-deps.sh: unknown argument '$arg' (--browser, --clang)" >&2; exit 2 ;;
  esac
done
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
