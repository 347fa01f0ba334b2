#!/usr/bin/env bash
# The arm64 proof (issue 13), a stage of scripts/run-tests.sh: cross-builds
# the client SDK for aarch64 (FL_SDK_ONLY=ON, cmake/toolchains/aarch64-linux-gnu.cmake),
# installs it into a scratch prefix, builds the C example app against it with
# `aarch64-linux-gnu-gcc -std=c11`, and runs that app under qemu-aarch64 in a
# secure round: two copies of it beside two native fl-client processes, against
# the native fl-coordinator on loopback. It passes when the round completes
# with all four, each arm64 client saying so itself ("round 1: completed").
# Prints the round time with the arm64 clients under emulation and the
# stripped size of the aarch64 libfl_client.so.
#
# It is also the test command's SDK-only build: configured with every server
# and tool dependency disabled (none of them exists for arm64 here anyway).
# Release (-O3, no -g): what ships to a device, and it compiles faster than
# RelWithDebInfo (same -O3; the stripped library is the same size).
#
# Needs the native build's fl-coordinator and fl-client (run-tests.sh builds
# them first). Environment:
#   FL_NATIVE_BUILD=DIR  native build tree (default build)
#   FL_ARM64_BUILD=DIR   cross build tree (default build-aarch64)
set -euo pipefail
cd "$(dirname "$0")/.."
native=${FL_NATIVE_BUILD:-build}
cross=${FL_ARM64_BUILD:-build-aarch64}
coordinator_bin=$native/coordinator/service/fl-coordinator
client_bin=$native/client_sdk/fl-client
for f in "$coordinator_bin" "$client_bin"; do
  [[ -x $f ]] || { echo "test-arm64: $f is missing: build the native tree first" >&2; exit 1; }
done

bash scripts/install-cross-deps.sh

# ---- 1. the SDK and the C app for aarch64 ----------------------------------
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
start=$(date +%s)
cmake -S . -B "$cross" -G Ninja --no-warn-unused-cli -DCMAKE_BUILD_TYPE=Release \
  -DFL_SDK_ONLY=ON -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake \
  -DCMAKE_DISABLE_FIND_PACKAGE_SQLite3=ON -DCMAKE_DISABLE_FIND_PACKAGE_yaml-cpp=ON \
  -DCMAKE_DISABLE_FIND_PACKAGE_nlohmann_json=ON -DCMAKE_DISABLE_FIND_PACKAGE_CLI11=ON \
  -DCMAKE_DISABLE_FIND_PACKAGE_Eigen3=ON -DCMAKE_DISABLE_FIND_PACKAGE_GTest=ON \
  -DCMAKE_DISABLE_FIND_PACKAGE_benchmark=ON \
  "${launcher[@]}" >/dev/null
cmake --build "$cross" -j"$(nproc)"
build_s=$(($(date +%s) - start))
prefix=$cross/prefix
rm -rf "$prefix"
cmake --install "$cross" --prefix "$prefix" --component fl_client >/dev/null

work=$cross/round
rm -rf "$work" && mkdir -p "$work"
app=$work/c_app
# As the install test builds it natively: C11, no C++ compiler, fl/c_api.h only.
aarch64-linux-gnu-gcc -std=c11 -Wall -Wextra -Wpedantic -Werror client_sdk/examples/c_app/main.c \
  -I"$prefix/include" -L"$prefix/lib" -lfl_client -o "$app"
if ! file "$app" | grep -q 'ARM aarch64'; then
  echo "test-arm64: $app is not an aarch64 binary" >&2; exit 1
fi
aarch64-linux-gnu-strip -o "$work/libfl_client.so.stripped" "$prefix/lib/libfl_client.so.0"

# qemu-user with the multiarch tree as the guest root (-L /): the dynamic
# loader is libc6:arm64's /lib/ld-linux-aarch64.so.1 and the libraries come
# from /usr/lib/aarch64-linux-gnu. (-L /usr/aarch64-linux-gnu would pair the
# cross toolchain's libc with the multiarch one's and can hang in pthread_create.)
emulate=(qemu-aarch64 -L / -E "LD_LIBRARY_PATH=$(realpath "$prefix/lib")")
version=$("${emulate[@]}" "$app" --version)
echo "under qemu: $version"

# ---- 2. a secure round: two arm64 clients, two native ones ----------------
# The c_app trains y = w.x + b over 4 features; the population's model is the
# same linear regression (4 weights, then the bias). Cohort of exactly 4 with
# min_cohort 4: the round cannot complete without both arm64 clients, whose
# masks cancel against each other's and the native clients'.
cat >"$work/coordinator.yaml" <<EOF
listen: {address: 127.0.0.1, port: 0, io_threads: 2}
store: {path: $work/fl.db}
admin_token: "arm64-proof-admin-token"
enrollment: {mode: token}
limits: {requests_per_second: 1000, burst: 1000}
population:
  name: sensors
  model: {name: sensors-linear, kind: linear, input_dim: 4, seed: 1}
  rounds: 1
  cohort_size: 4
  over_selection: 1.0
  min_cohort: 4
  allow_small_cohorts: true
  retry_after_ms: 200
  # Selection waits 5 s for all four; the stages allow for emulation (qemu
  # runs the arm64 clients' X25519, Ed25519 and ChaCha20 several times slower).
  deadlines_ms: {selection: 5000, advertise_keys: 120000, share_keys: 120000,
                 masked_input: 120000, unmasking: 120000}
  training: {epochs: 5, batch_size: 16, learning_rate: 0.05, optimizer: sgd, seed: 1}
  quantization: {clip: 4.0, bits: 20, ring_bits: 64, max_weight: 1000}
  secure_aggregation: {graph: complete, signed_keys: true}
  server_optimizer: {kind: fedavg, server_lr: 1.0}
logging: {format: json}
EOF

# The native clients' data: the c_app's function, y = 2x0 - x1 + 0.5x2 + 3x3 + 1.
awk 'BEGIN { srand(7); print "x0,x1,x2,x3,y";
  for (i = 0; i < 400; ++i) { for (j = 0; j < 4; ++j) x[j] = 2 * rand() - 1;
    printf "%.6f,%.6f,%.6f,%.6f,%.6f\n", x[0], x[1], x[2], x[3],
      2 * x[0] - x[1] + 0.5 * x[2] + 3 * x[3] + 1 } }' >"$work/sensors.csv"

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

"$coordinator_bin" --config "$work/coordinator.yaml" >"$work/coordinator.log" 2>&1 &
coordinator=$!
pids+=("$coordinator")
for _ in $(seq 100); do grep -q "listening on" "$work/coordinator.log" && break; sleep 0.1; done
port=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/coordinator.log")
if [[ -z $port ]]; then
  cat "$work/coordinator.log"; echo "test-arm64: coordinator did not start" >&2; exit 1
fi
url=http://127.0.0.1:$port
"$coordinator_bin" devices issue --db "$work/fl.db" --count 4 --out "$work/tokens.txt" \
  --label arm64-proof >/dev/null

# Each client's log lines get the time they were written: a client's round
# time is from its "selected for round 1" to its "round 1 completed".
stamp() { while IFS= read -r line; do printf '%s %s\n' "$(date +%s.%N)" "$line"; done; }
cpu() { awk '{ printf "%.2f", $1 + $2 }' "$1"; }  # user + system seconds
round_time() {  # LOG: seconds from selection to completion, as the client saw them
  awk '/selected for round 1$/ { s = $1 } /round 1 completed/ { e = $1 }
       END { if (s && e) printf "%.2f", e - s; else print "?" }' "$1"
}

round_start=$(date +%s.%N)
arm64_pids=()
for i in 0 1; do
  timeout 600 /usr/bin/time -f '%U %S' -o "$work/arm64-$i.cpu" "${emulate[@]}" "$app" \
    --coordinator "$url" --identity "$work/arm64-$i.key" \
    --population sensors --device-token "$(sed -n "$((i + 1))p" "$work/tokens.txt")" \
    --device "$((i + 1))" >"$work/arm64-$i.out" 2> >(stamp >"$work/arm64-$i.err") &
  arm64_pids+=("$!")
done
native_pids=()
for i in 0 1; do
  (umask 077 && sed -n "$((i + 3))p" "$work/tokens.txt" >"$work/native-$i.token")
  timeout 600 /usr/bin/time -f '%U %S' -o "$work/native-$i.cpu" "$client_bin" \
    --coordinator "$url" --identity "$work/native-$i.key" \
    --population sensors --device-token-file "$work/native-$i.token" --label "native-$i" \
    --data "csv:$work/sensors.csv" --target y --regression --shard "$i/2" --rounds 1 \
    --threads 1 -v > >(stamp >"$work/native-$i.log") 2>&1 &
  native_pids+=("$!")
done
pids+=("${arm64_pids[@]}" "${native_pids[@]}")

failed=0
arm64_s=()
for i in 0 1; do
  wait "${arm64_pids[$i]}" || { echo "test-arm64: arm64 c_app $i exited with $?" >&2; failed=1; }
  arm64_s+=("$(echo "$(date +%s.%N) - $round_start" | bc)")
done
for i in 0 1; do
  wait "${native_pids[$i]}" ||
    { echo "test-arm64: native fl-client $i exited with $?" >&2; failed=1; }
done
sleep 0.5  # the coordinator writes its round_completed line after answering the clients
kill -TERM "$coordinator" 2>/dev/null || true
wait "$coordinator" || true

show_logs() {
  for f in arm64-0.out arm64-0.err arm64-1.out arm64-1.err native-0.log native-1.log \
           coordinator.log; do
    echo "---- $f"; tail -n 30 "$work/$f"
  done
}
for i in 0 1; do
  if ! grep -q '^round 1: completed' "$work/arm64-$i.out"; then
    show_logs; echo "test-arm64: arm64 client $i did not complete round 1" >&2; exit 1
  fi
done
if ! grep -q '"event":"round_completed"' "$work/coordinator.log" ||
   ! grep -q 'round 1: started with 4 clients' "$work/coordinator.log"; then
  show_logs; echo "test-arm64: the coordinator did not complete a round of 4 clients" >&2; exit 1
fi
((failed == 0)) || { show_logs; exit 1; }

# ---- 3. figures -------------------------------------------------------------
ts() { grep "\"event\":\"$1\"" "$work/coordinator.log" | head -1 |
       sed 's/.*"ts":"\([^"]*\)".*/\1/' | xargs -I{} date -d {} +%s.%N; }
round_s=$(echo "$(ts round_completed) - $(ts round_started)" | bc)
lib_bytes=$(stat -c %s "$work/libfl_client.so.stripped")
for i in 0 1; do echo "arm64 c_app $i (qemu-aarch64): $(cat "$work/arm64-$i.out")"; done
printf '%s: %.2f s from cohort to new version at the coordinator\n' \
  "arm64 proof: secure round of 4 (2 aarch64 c_app under qemu, 2 native fl-client)" "$round_s"
echo "arm64 proof: round time, selection to completion as each client saw it:" \
  "arm64 under qemu $(round_time "$work/arm64-0.err") s and $(round_time "$work/arm64-1.err") s;" \
  "native $(round_time "$work/native-0.log") s and $(round_time "$work/native-1.log") s"
printf '%s %.1f s and %.1f s %s\n' "arm64 proof: arm64 processes" \
  "${arm64_s[0]}" "${arm64_s[1]}" \
  "from start to exit (identity, enrolment, the 5 s selection window, the round)"
echo "arm64 proof: CPU time (user + system) of each client process:" \
  "arm64 under qemu $(cpu "$work/arm64-0.cpu") s and $(cpu "$work/arm64-1.cpu") s;" \
  "native $(cpu "$work/native-0.cpu") s and $(cpu "$work/native-1.cpu") s"
printf '%s: %d bytes (%.2f MiB); SDK-only cross build %d s\n' \
  "arm64 proof: libfl_client.so for aarch64, stripped" \
  "$lib_bytes" "$(echo "$lib_bytes / 1048576" | bc -l)" "$build_s"
echo "arm64 proof: passed"
