#!/usr/bin/env bash
# Every public header compiles on its own, first in a translation unit, as C11 and
# as C++ (g++ and clang++ when present), with -Wall -Wextra -Wpedantic -Werror, and
# twice in one unit (include guards).  Then wdk_usage.c - WDK-style driver code
# using the headers' macros and inline initialisers - compiles both ways too.  A
# header that leans on an include it does not make, or that only C accepts, fails
# here instead of in a consumer's build.
set -euo pipefail
src=$1
shift
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
compilers=("$@")
fail=0
check() { # compiler, language flags..., file
    local cc=$1 file=${*: -1}
    if ! "$@" -Wall -Wextra -Wpedantic -Werror -I"$src/include" -fsyntax-only 2>"$tmp/err"; then
        echo "FAIL: $cc ${file#"$tmp"/} (${*:2:$#-2})"
        cat "$tmp/err"
        fail=1
    fi
}
lang_flags() { # compiler -> the language flags to use with it
    case "$1" in
    *++) echo "-x c++ -std=c++11" ;;
    *) echo "-x c -std=c11" ;;
    esac
}
n=0
for h in "$src"/include/pcivirt/*.h; do
    name=$(basename "$h" .h)
    printf '#include "pcivirt/%s.h"\n#include "pcivirt/%s.h"\ntypedef int pcivirt_header_check_%s;\n' \
        "$name" "$name" "$name" >"$tmp/$name.c"
    for cc in "${compilers[@]}"; do
        # shellcheck disable=SC2046
        check "$cc" $(lang_flags "$cc") "$tmp/$name.c"
    done
    n=$((n + 1))
done
for cc in "${compilers[@]}"; do
    # shellcheck disable=SC2046
    check "$cc" $(lang_flags "$cc") "$src/tests/abi/wdk_usage.c"
done
[ "$n" -ge 8 ] || { echo "FAIL: only $n headers found"; fail=1; }
[ $fail -eq 0 ] && echo "headers: $n headers x ${#compilers[@]} compilers, standalone and usage: ok"
exit $fail
