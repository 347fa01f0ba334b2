#!/usr/bin/env bash
# Installs, by Debian package name, everything the build, tests, benchmarks and
# demo need. Idempotent: when every package is already installed it does not
# touch apt at all, so it is cheap to call from every entry-point script.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libsodium-dev                      # all cryptography
  libprotobuf-dev protobuf-compiler  # wire and storage formats
  dpkg-dev                           # dpkg-source: protobuf's source for libfl_client.so (below)
  libeigen3-dev                      # models
  libboost-dev libboost-system-dev libssl-dev  # Beast/Asio HTTP + TLS
  libgtest-dev libgmock-dev libbenchmark-dev
  libcli11-dev                       # command-line parsing of fl-sim/fl-train
  nlohmann-json3-dev                 # JSON lines and JSON APIs
  libyaml-cpp-dev                    # scenario and coordinator config files
  libsqlite3-dev                     # embedded model/round store
  zlib1g-dev                         # gzip-compressed IDX datasets
  librust-blake3-dev                 # BLAKE3's C sources (signed request bodies; cmake/blake3.cmake)
  dataset-fashion-mnist              # real data for tests, demo, simulations
  clang libclang-rt-14-dev           # libFuzzer harnesses (tests/fuzz)
  prometheus                         # promtool: the /metrics output is checked by a test
  wrk                                # HTTP load generator for the serving benchmark
  abigail-tools                      # abidiff: the C ABI of libfl_client.so against its baseline
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The source of the installed protobuf, from which libfl_client.so's private
# protobuf-lite runtime is compiled (cmake/private_protobuf_lite.cmake).
bash "$(dirname "$0")/fetch-protobuf-source.sh"
