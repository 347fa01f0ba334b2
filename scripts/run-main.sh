#!/usr/bin/env bash
# The project's main job (the README's): the flagship demo. On a fresh Debian
# 12 machine it installs the packages it needs, builds, then runs a real
# fl-coordinator and 13 fl-client processes doing secure federated rounds over
# loopback HTTP on non-IID Fashion-MNIST (each client holds a Dirichlet(0.5)
# share of the labels, as fl-sim's scenarios partition them). Every new
# version is evaluated by the clients on their held-out data (federated
# evaluation) and passes the quality gate before it is published. The demo
# ends by asking the coordinator's TensorFlow Serving API for a prediction
# from the published model, and by scoring that model on the test split.
#   FL_DEMO_CLIENTS=N  client processes (default 13: 10 per round + 30% over-selection)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target fl-coordinator fl-client

clients=${FL_DEMO_CLIENTS:-13}
demo=out/demo
coordinator_bin=./build/coordinator/service/fl-coordinator
rm -rf "$demo" && mkdir -p "$demo"
head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$demo/admin.token"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 8080)

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

"$coordinator_bin" --config deploy/demo-coordinator.yaml --port "$port" > "$demo/coordinator.log" 2>&1 &
coordinator=$!
pids+=("$coordinator")
for _ in $(seq 100); do grep -q "listening on" "$demo/coordinator.log" && break; sleep 0.1; done
grep "listening on" "$demo/coordinator.log"

# The coordinator enrols only devices holding a one-time token: issue one per
# client (the store keeps only their hashes) and hand each its own, 0600.
"$coordinator_bin" devices issue --db "$demo/fl.db" --count "$clients" \
  --out "$demo/device-tokens.txt" --label demo
for i in $(seq 0 $((clients - 1))); do
  (umask 077 && sed -n "$((i + 1))p" "$demo/device-tokens.txt" > "$demo/client-$i.token")
  ./build/client_sdk/fl-client --coordinator "http://127.0.0.1:$port" \
    --device-token-file "$demo/client-$i.token" \
    --identity "$demo/client-$i.key" --population fmnist --data fashion-mnist \
    --partition dirichlet:0.5 --clients "$clients" --index "$i" --partition-seed 1 \
    --threads 1 --label "demo-device-$i" > "$demo/client-$i.log" 2>&1 &
  pids+=("$!")
done
echo "started $clients fl-client processes (non-IID: Dirichlet 0.5 over the labels)"
echo "the coordinator's log (rounds, federated evaluation, quality gate):"
tail -n +3 -f "$demo/coordinator.log" | grep --line-buffered -v ": selecting;\|: running;\|started with" &
tailer=$!
pids+=("$tailer")
for p in "${pids[@]:1:$clients}"; do wait "$p" || true; done
sleep 1  # the last round's federated evaluation and publication
kill "$tailer" 2>/dev/null || true
echo "client 0 saw:"; cat "$demo/client-0.log"

echo "the registry:"
"$coordinator_bin" models list --db "$demo/fl.db" --model fmnist-mlp

# A prediction from the served model over TensorFlow Serving's REST API, with
# nothing but bash: the first test image (a Fashion-MNIST ankle boot, class 9).
set +o pipefail  # head stops reading early; zcat's SIGPIPE is expected
pixels=$(zcat /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz | tail -c +17 |
  head -c 784 | od -An -tu1 -v | tr -s ' \n' ',' | sed 's/^,//; s/,$//')
set -o pipefail
body="{\"instances\": [[$pixels]]}"
predict() {
  exec 3<>"/dev/tcp/127.0.0.1/$port"
  printf 'POST /v1/models/fmnist-mlp:predict HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' \
    "${#body}" "$body" >&3
  sed -n '/^\r$/,$p' <&3 | tail -n +2
  exec 3>&-
}
echo "POST /v1/models/fmnist-mlp:predict with the first test image (true class 9, ankle boot):"
predict
echo
exec 3<>"/dev/tcp/127.0.0.1/$port"
printf 'GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' >&3
echo "from GET /metrics:"
grep -E '^fl_(rounds_completed_total|model_published_version|prediction_requests_total|registry_alerts_total)' <&3 || true
exec 3>&-

kill -TERM "$coordinator"; wait "$coordinator" || true
"$coordinator_bin" evaluate --db "$demo/fl.db" --model fmnist-mlp
