#!/usr/bin/env bash
# The project's test command (the README's; .ci/run calls exactly this).
# On a fresh Debian 12 machine: installs the packages it needs, configures,
# builds everything (libraries, tools, tests, benchmarks, examples), runs every
# test with CTest, then rebuilds the crypto and protocol suites with
# AddressSanitizer + UndefinedBehaviorSanitizer and runs them again.
#   FL_SKIP_SANITIZE=1  skip the sanitizer pass (quicker local runs)
# Then the arm64 proof (scripts/test-arm64.sh): the SDK and the C example app
# cross-built for aarch64, two of them under qemu-aarch64 in a secure round
# with two native clients against the native coordinator.
#   FL_SKIP_ARM64=1     skip it
# and finally builds the libFuzzer harnesses with clang and runs each briefly
# on seeds recorded from real traffic.
#   FL_SKIP_FUZZ=1      skip the fuzzers; FL_FUZZ_SECONDS=N  run each N seconds
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

bash scripts/install-deps.sh

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs" | tee build/ctest.log
summary=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests failed out of [0-9]+' build/ctest.log | tail -1)

if [[ "${FL_SKIP_SANITIZE:-0}" != 1 ]]; then
  echo "== sanitizer pass (ASan + UBSan): crypto, secure aggregation, HTTP, serving, metrics and registry suites =="
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DFL_SANITIZE=ON \
        -DFL_BUILD_BENCHMARKS=OFF
  cmake --build build-asan -j"$jobs" --target test_crypto test_aggregation test_http test_serving test_metrics test_registry
  # Not BacksOffWhenOutOfDescriptors (it runs in the main pass above): it
  # exhausts the process's descriptors on purpose, and UBSan's vptr check
  # then probes memory through a pipe() that fails, reporting a valid object
  # as "invalid vptr" ("memory cannot be printed"): a false positive seen in
  # 2 of 40 runs beside another instance.
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build-asan --output-on-failure -j"$jobs" -R '^test_(crypto|aggregation|http|serving|metrics|registry)\.' \
      -E 'HttpServerHardening\.BacksOffWhenOutOfDescriptors'
fi

if [[ "${FL_SKIP_ARM64:-0}" != 1 ]]; then
  echo "== arm64 proof: SDK cross-built for aarch64, its C app under qemu in a secure round =="
  FL_NATIVE_BUILD=build FL_ARM64_BUILD=build-aarch64 bash scripts/test-arm64.sh
fi

if [[ "${FL_SKIP_FUZZ:-0}" != 1 ]]; then
  echo "== libFuzzer (clang): request and file parsers, ${FL_FUZZ_SECONDS:-20}s each =="
  CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DFL_FUZZ=ON -DFL_BUILD_TESTS=OFF -DFL_BUILD_BENCHMARKS=OFF
  fuzzers=(secagg_server secagg_client request_auth coordinator_config model_file predict_request
           http_request)
  cmake --build build-fuzz -j"$jobs" --target fuzz_seeds "${fuzzers[@]/#/fuzz_}"
  rm -rf build-fuzz/corpus && ./build-fuzz/tests/fuzz/fuzz_seeds build-fuzz/corpus
  for f in "${fuzzers[@]}"; do
    ./build-fuzz/tests/fuzz/fuzz_$f -max_total_time="${FL_FUZZ_SECONDS:-20}" -rss_limit_mb=4096 \
      -print_final_stats=1 build-fuzz/corpus/$f 2>build-fuzz/fuzz_$f.log \
      || { tail -60 build-fuzz/fuzz_$f.log; echo "fuzz_$f found a failure"; exit 1; }
    echo "fuzz_$f: $(grep -E '^stat::number_of_executed_units' build-fuzz/fuzz_$f.log | awk '{print $2}') inputs, no failure"
  done
fi

# One closing line for CI: the main suite's count (the sanitizer and fuzz
# passes above would have stopped this script had they failed).
total=$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$summary")
failed=$(sed -E 's/.*passed, ([0-9]+) tests failed.*/\1/' <<<"$summary")
echo "tests: $((total - failed)) passed, $failed failed"
