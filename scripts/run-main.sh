#!/usr/bin/env bash
# The project's main job (the README's). On a fresh Debian 12 machine: installs
# the packages it needs, configures and builds, then runs one full secure
# aggregation round of 500 clients with 100,000-element updates, 30% of them
# dropping out across the four stages, and prints its measurements as JSON.
# (The flagship demo, federated rounds over the network on Fashion-MNIST with
# the published model served, replaces this as it lands.)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target fl-sim
echo "== fl-sim secagg-bench --clients 500 --dim 100000 --dropout 0.3 --graph complete =="
./build/simulations/fl-sim secagg-bench --clients 500 --dim 100000 --dropout 0.3 \
  --graph complete --threads 2 "$@"
