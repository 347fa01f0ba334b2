#!/usr/bin/env bash
# libfl_client.so keeps its protobuf runtime to itself (issue 13: "an app
# using another protobuf version must link"), played as an attack:
#
#   1. The library NEEDs no libprotobuf and neither defines nor imports a
#      google:: symbol (readelf -d, nm -D).
#   2. An app that brings its own, incompatible protobuf: the C example app
#      linked with foreign_protobuf.c, which defines the protobuf-lite entry
#      points the SDK calls (same mangled names, different behaviour: it says
#      so and exits 86), exported from the executable (-rdynamic) as an app
#      linking protobuf statically does.
#        - Against libfl_client_syspb.so, the same SDK with the system's shared
#          protobuf-lite (the weakened setting), the dynamic linker binds the
#          SDK's protobuf calls to the app's definitions: the app exits 86 with
#          "foreign protobuf runtime called". The attack works.
#        - Against libfl_client.so (the default) three such apps complete a
#          secure round against the real fl-coordinator on loopback: the SDK
#          never calls the app's protobuf. The attack is refused.
#
# Usage: private_protobuf_test.sh SOURCE_DIR BUILD_DIR WORK_DIR CC READELF NM
set -euo pipefail
src=$1 build=$2 work=$3 cc=$4 readelf=$5 nm=$6
lib_dir=$build/client_sdk
private_lib=$lib_dir/libfl_client.so.0
syspb_lib=$lib_dir/libfl_client_syspb.so.0
coordinator_bin=$build/coordinator/service/fl-coordinator
for f in "$private_lib" "$syspb_lib" "$coordinator_bin"; do
  [[ -e $f ]] || { echo "private_protobuf_test: $f is missing" >&2; exit 1; }
done
rm -rf "$work" && mkdir -p "$work"
fail() { echo "private_protobuf_test: $*" >&2; exit 1; }

# ---- 1. what the shared library asks of the process -------------------------
needed=$("$readelf" -d "$private_lib" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
echo "libfl_client.so.0 NEEDED: $needed"
if grep -q protobuf <<<"$needed"; then fail "libfl_client.so needs a shared protobuf: $needed"; fi
# Each tool's output first, so that a failing readelf or nm fails the test
# (set -e) instead of yielding an empty list that passes.
private_syms=$("$nm" -D "$private_lib")
syspb_undefined=$("$nm" -D -u "$syspb_lib")
syspb_dynamic=$("$readelf" -d "$syspb_lib")
[[ -n $private_syms && -n $syspb_undefined ]] || fail "nm printed nothing"
google=$(grep -c 'google8protobuf' <<<"$private_syms" || true)
[[ $google == 0 ]] || fail "libfl_client.so has $google dynamic google:: symbols"
# The weakened build really is weakened, else part 2 would prove nothing.
grep -q 'NEEDED.*libprotobuf-lite' <<<"$syspb_dynamic" ||
  fail "libfl_client_syspb.so does not need libprotobuf-lite: the weakened setting is wrong"
echo "libfl_client_syspb.so.0 imports $(grep -c 'google8protobuf' <<<"$syspb_undefined")" \
  "google::protobuf symbols; libfl_client.so.0 imports 0"

# ---- 2. the app with a protobuf of its own -----------------------------------
build_app() {  # OUT LIBNAME
  "$cc" -std=c11 -Wall -Wextra -Werror -rdynamic "$src/client_sdk/examples/c_app/main.c" \
    "$src/tests/client_sdk/private_protobuf/foreign_protobuf.c" \
    -I"$src/client_sdk/include" -I"$build/client_sdk/include" \
    -L"$lib_dir" -Wl,-rpath,"$(realpath "$lib_dir")" -l"$2" -o "$1"
}
build_app "$work/app_private" fl_client
build_app "$work/app_syspb" fl_client_syspb
app_syms=$("$nm" -D "$work/app_private")
grep -q ' T _ZN6google8protobuf11MessageLite14ParseFromArrayEPKvi' <<<"$app_syms" ||
  fail "the app does not export its protobuf definitions: the attack would not be played"

cat >"$work/coordinator.yaml" <<EOF
listen: {address: 127.0.0.1, port: 0, io_threads: 2}
store: {path: $work/fl.db}
admin_token: "private-protobuf-admin-token"
enrollment: {mode: token}
limits: {requests_per_second: 1000, burst: 1000}
population:
  name: sensors
  model: {name: sensors-linear, kind: linear, input_dim: 4, seed: 1}
  rounds: 1
  cohort_size: 3
  over_selection: 1.0
  min_cohort: 3
  allow_small_cohorts: true
  retry_after_ms: 200
  deadlines_ms: {selection: 5000, advertise_keys: 30000, share_keys: 30000,
                 masked_input: 30000, unmasking: 30000}
  training: {epochs: 5, batch_size: 16, learning_rate: 0.05, optimizer: sgd, seed: 1}
  quantization: {clip: 4.0, bits: 20, ring_bits: 64, max_weight: 1000}
  secure_aggregation: {graph: complete, signed_keys: true}
  server_optimizer: {kind: fedavg, server_lr: 1.0}
logging: {format: json}
EOF

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
"$coordinator_bin" --config "$work/coordinator.yaml" >"$work/coordinator.log" 2>&1 &
coordinator=$!
pids+=("$coordinator")
for _ in $(seq 100); do grep -q "listening on" "$work/coordinator.log" && break; sleep 0.1; done
port=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/coordinator.log")
[[ -n $port ]] || { cat "$work/coordinator.log"; fail "the coordinator did not start"; }
url=http://127.0.0.1:$port
"$coordinator_bin" devices issue --db "$work/fl.db" --count 4 --out "$work/tokens.txt" \
  --label private-protobuf >/dev/null
token() { sed -n "$1p" "$work/tokens.txt"; }

# The weakened setting first: the SDK reaches the app's protobuf.
set +e
timeout 120 "$work/app_syspb" --coordinator "$url" --identity "$work/syspb.key" \
  --population sensors --device-token "$(token 4)" --device 9 >"$work/syspb.out" 2>"$work/syspb.err"
code=$?
set -e
if [[ $code != 86 ]] || ! grep -q 'foreign protobuf runtime called' "$work/syspb.err"; then
  tail -20 "$work/syspb.err"
  fail "against the shared-protobuf SDK the app's protobuf was not called (exit $code)"
fi
echo "weakened (libfl_client_syspb.so): $(grep -m1 'foreign protobuf runtime called' "$work/syspb.err")," \
  "exit $code"

# The default: three such apps, one secure round.
apps=()
for i in 1 2 3; do
  timeout 180 "$work/app_private" --coordinator "$url" --identity "$work/app-$i.key" \
    --population sensors --device-token "$(token "$i")" --device "$i" \
    >"$work/app-$i.out" 2>"$work/app-$i.err" &
  apps+=("$!")
done
pids+=("${apps[@]}")
failed=0
for i in 0 1 2; do wait "${apps[$i]}" || { echo "app $((i + 1)) exited with $?" >&2; failed=1; }; done
sleep 0.5  # the coordinator logs round_completed after answering the clients
kill -TERM "$coordinator" 2>/dev/null || true
wait "$coordinator" || true
show_logs() { for f in app-1.out app-1.err app-2.err app-3.err coordinator.log; do
  echo "---- $f"; tail -n 20 "$work/$f"; done; }
for i in 1 2 3; do
  if grep -q 'foreign protobuf' "$work/app-$i.err" || ! grep -q '^round 1: completed' "$work/app-$i.out"; then
    show_logs; fail "app $i on libfl_client.so did not complete round 1 on the SDK's own protobuf"
  fi
done
grep -q '"event":"round_completed"' "$work/coordinator.log" || { show_logs; fail "no round_completed"; }
((failed == 0)) || { show_logs; exit 1; }
echo "default (libfl_client.so): 3 apps with a foreign protobuf each: $(head -1 "$work/app-1.out")"
