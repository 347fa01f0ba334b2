#!/usr/bin/env bash
# The C ABI of libfl_client.so (the fl_* functions of fl/c_api.h) against the
# checked-in baseline, with abidiff (Debian abigail-tools). Any change fails:
# an incompatible one is a break; a compatible one (a new function) must be
# recorded on purpose, by refreshing the baseline:
#   check_c_abi.sh LIB BASELINE SUPPRESSIONS HEADER --update
# usage: check_c_abi.sh LIB BASELINE SUPPRESSIONS HEADER [--update]
set -uo pipefail
lib=$1 baseline=$2 suppressions=$3 header=$4
current=$(mktemp)
trap 'rm -f "$current"' EXIT
abidw --suppressions "$suppressions" --drop-private-types --header-file "$header" \
  --exported-interfaces-only --drop-undefined-syms --no-show-locs --no-comp-dir-path \
  --no-corpus-path "$lib" >"$current" || { echo "abidw failed on $lib"; exit 1; }
if [[ ${5:-} == --update ]]; then
  cp "$current" "$baseline" && echo "baseline updated: $baseline"
  exit 0
fi
abidiff --suppressions "$suppressions" "$baseline" "$current"
rc=$?
if ((rc == 0)); then
  echo "C ABI unchanged: $(grep -c "elf-symbol name='fl_" "$current") fl_* functions match $baseline"
  exit 0
fi
if ((rc & 8)); then
  echo "INCOMPATIBLE change to the C ABI (fl/c_api.h) against $baseline: a break for every app"
  echo "and binding built against it. Restore it, or bump the SONAME and refresh the baseline."
elif ((rc & 4)); then
  # abidiff sets bit 8 only for some breaks (a removed function); an added or
  # retyped parameter shows as a sub-type change (bit 4) and breaks callers too.
  echo "the C ABI (fl/c_api.h) changed against $baseline (above). A change to an existing"
  echo "function breaks every app and binding: restore it, or bump the SONAME. A new function"
  echo "is compatible: record it by refreshing the baseline:"
  echo "  $0 $lib $baseline $suppressions $header --update"
else
  echo "abidiff failed (exit $rc)"
fi
exit 1
