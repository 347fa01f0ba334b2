#!/bin/sh
# Device code never includes the coordinator's or the simulator's code
# (shared DESIGN.md section 2): what both sides need lives in protocol/,
# aggregation/, proto/ or model/. Fails naming every offending line.
#   check_sdk_includes.sh SOURCE_DIR
set -eu
src=${1:?usage: check_sdk_includes.sh SOURCE_DIR}
[ -d "$src/client_sdk" ] || { echo "no client_sdk/ under $src" >&2; exit 2; }
bad=$(grep -rnE '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"](coordinator|simulations)/' \
        --include='*.h' --include='*.cc' --include='*.cpp' "$src/client_sdk" || true)
if [ -n "$bad" ]; then
  echo "client_sdk/ includes server or simulator code:" >&2
  echo "$bad" >&2
  exit 1
fi
echo "client_sdk/: $(find "$src/client_sdk" -name '*.h' -o -name '*.cc' | wc -l) files, none includes coordinator/ or simulations/"
