#!/usr/bin/env bash
# The project's main job (the README's): the flagship demo. On a fresh Debian
# 12 machine it installs the packages it needs, builds, then runs a real
# fl-coordinator and 13 fl-client processes (each on its own shard of
# Fashion-MNIST) doing secure federated rounds over loopback HTTP, and ends by
# scoring the published model on the test split.
#   FL_DEMO_CLIENTS=N  client processes (default 13: 10 per round + 30% over-selection)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target fl-coordinator fl-client

clients=${FL_DEMO_CLIENTS:-13}
demo=out/demo
rm -rf "$demo" && mkdir -p "$demo"
head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$demo/admin.token"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 8080)

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

./build/coordinator/service/fl-coordinator --config deploy/demo-coordinator.yaml --port "$port" \
  > "$demo/coordinator.log" 2>&1 &
coordinator=$!
pids+=("$coordinator")
for _ in $(seq 100); do grep -q "listening on" "$demo/coordinator.log" && break; sleep 0.1; done
head -1 "$demo/coordinator.log"

for i in $(seq 0 $((clients - 1))); do
  ./build/client_sdk/fl-client --coordinator "http://127.0.0.1:$port" \
    --identity "$demo/client-$i.key" --population fmnist --data fashion-mnist \
    --shard "$i/$clients" --threads 1 --label "demo-device-$i" > "$demo/client-$i.log" 2>&1 &
  pids+=("$!")
done
echo "started $clients fl-client processes; each round prints when it completes:"
tail -n +2 -f "$demo/coordinator.log" &
tailer=$!
pids+=("$tailer")
for p in "${pids[@]:1:$clients}"; do wait "$p" || true; done
kill "$tailer" 2>/dev/null || true
echo "client 0 saw:"; cat "$demo/client-0.log"
kill -TERM "$coordinator"; wait "$coordinator" || true
./build/coordinator/service/fl-coordinator evaluate --db "$demo/fl.db" --model fmnist-mlp
