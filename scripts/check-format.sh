#!/usr/bin/env bash
# Every C source and header is in the project's clang-format style (.clang-format);
# `make format` rewrites them.  Usage: check-format.sh ROOT [CLANG_FORMAT]
set -euo pipefail
root=${1:-.}
cf=${2:-clang-format}
out=$(find "$root/include" "$root/src" "$root/tools" "$root/tests" "$root/bench" "$root/fuzz" \
    -type f \( -name '*.c' -o -name '*.h' \) -print0 |
    xargs -0 "$cf" --style=file --dry-run --Werror 2>&1) && exit 0
# clang-format reports "FILE:LINE:COL: error: code should be clang-formatted"; name each file once.
grep -oE '^[^:]+:[0-9]+:[0-9]+: error' <<<"$out" | cut -d: -f1 | sort -u |
    sed "s|^$root/||; s|\$| differs from clang-format's layout (run: make format)|; s|^|format: |"
exit 1
