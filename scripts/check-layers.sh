#!/usr/bin/env bash
# Layers depend only downward (../shared/STYLE.md "The house"): a file in src/<layer>/
# may include headers of its own layer and of the layers below it, never above.
set -euo pipefail
root=${1:-.}
order=(util pci host dev wdf pf vmbus vsp guest)
rank() { local i; for i in "${!order[@]}"; do [ "${order[$i]}" = "$1" ] && { echo "$i"; return; }; done; echo 99; }
bad=0
for layer in "${order[@]}"; do
    [ -d "$root/src/$layer" ] || continue
    r=$(rank "$layer")
    while IFS=: read -r file _ inc; do
        target=$(sed -E 's/.*"([a-z_]+)\/.*/\1/' <<<"$inc")
        tr=$(rank "$target")
        [ "$tr" = 99 ] && continue
        if [ "$tr" -gt "$r" ]; then
            echo "layering: $file includes $target/ (above $layer/)"
            bad=1
        fi
    done < <(grep -rn '#include "[a-z_]*/' "$root/src/$layer" || true)
done
# guest and vsp are peers: neither includes the other.
if grep -rn '#include "vsp/' "$root/src/guest" 2>/dev/null; then bad=1; fi
[ $bad -eq 0 ] && echo "layering: ok"
exit $bad
