#!/usr/bin/env bash
# `make install PREFIX=…` in a temporary prefix, then build a consumer with nothing but
# the installed headers, the pkg-config file and the shared library, and run it.  The
# expected values are the contract's (contract.md 4.1 and 5) and 2^40 for the
# MemoryLarge round trip.
set -euo pipefail
build=$1
src=$2
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
test -x "$prefix/bin/pcivirt"
test -f "$prefix/lib/pcivirt/drivers/pcivirt_pf.so"
"$prefix/bin/pcivirt" --version | grep -q '^pcivirt '
cc -std=c11 -Wall -Wextra -Werror "$src/tests/install/consumer.c" $(pkg-config --cflags --libs pcivirt) \
    -Wl,-rpath,"$prefix/lib" -o "$prefix/consumer"
out=$("$prefix/consumer")
echo "consumer: $out"
[ "$out" = "0022604C 144 no space left 1099511627776" ]
