#!/usr/bin/env bash
# Install the Debian packages pcivirt builds and tests with, when any is missing.
# Quiet and quick when everything is there; needs root (or sudo) otherwise.
set -euo pipefail

packages=(
    cmake ninja-build gcc g++ pkg-config make
    libcmocka-dev   # unit tests
    libjansson-dev  # scenario files, JSON output
    pciutils        # lspci -F: the independent decoder our config dumps are checked against
    clang libclang-rt-14-dev  # libFuzzer targets (make fuzz)
    clang-format    # the `format` test of make check (Debian 12: version 14)
    graphviz        # checks that `pcivirt lspci --dot` output is valid Graphviz
)

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing+=("$p")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
if [ "$(id -u)" -eq 0 ]; then
    sudo=""
elif command -v sudo >/dev/null 2>&1; then
    sudo="sudo"
else
    echo "install-deps: missing ${missing[*]}; run as root: apt-get install ${missing[*]}" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
