#!/usr/bin/env bash
# The project's test command (the README's; .ci/run calls exactly this).
# On a fresh Debian 12 machine: installs the packages it needs, configures,
# builds everything (libraries, tools, tests, benchmarks, examples), runs every
# test with CTest, then rebuilds the crypto and protocol suites with
# AddressSanitizer + UndefinedBehaviorSanitizer and runs them again.
#   FL_SKIP_SANITIZE=1  skip the sanitizer pass (quicker local runs)
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

bash scripts/install-deps.sh

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs"

if [[ "${FL_SKIP_SANITIZE:-0}" != 1 ]]; then
  echo "== sanitizer pass (ASan + UBSan): crypto and secure aggregation suites =="
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DFL_SANITIZE=ON \
        -DFL_BUILD_BENCHMARKS=OFF
  cmake --build build-asan -j"$jobs" --target test_crypto test_aggregation
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build-asan --output-on-failure -j"$jobs" -R '^test_(crypto|aggregation)\.'
fi
