// fl-sim: launch simulation scenarios and protocol benches.
#include <CLI/CLI.hpp>
#include <cstdio>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <string>
#include <vector>

#include "simulations/scenario_run.h"
#include "simulations/secagg_bench.h"

int main(int argc, char** argv) {
#if defined(__GLIBC__)
  // Every simulated client allocates and frees model-sized buffers (its
  // weights, update, ring input, masked input: 0.4 MB each at 10^5
  // parameters). Above glibc's mmap threshold each one is a fresh mapping
  // whose pages fault in again, and trimming hands freed heap back just as
  // the next client needs it: in scale_1000 that was 432,000 page faults and
  // a first round of 8.6 s instead of 3.8 s. Keep such buffers in the heap
  // (peak RSS unchanged, 215 MiB).
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
#endif
  CLI::App app{"fl-sim: federated learning simulations and secure aggregation benches"};
  app.require_subcommand(1);

  fl::sim::SecAggBenchOptions bench;
  auto* sb = app.add_subcommand("secagg-bench", "one full in-process secure aggregation round");
  sb->add_option("--clients", bench.clients, "cohort size");
  sb->add_option("--dim", bench.dim, "ring elements per update");
  sb->add_option("--dropout", bench.dropout,
                 "fraction of clients that drop, spread over the stages");
  sb->add_option("--corrupt", bench.corrupt,
                 "tolerated fraction of corrupt clients (parameter rule)");
  sb->add_option("--graph", bench.graph, "complete | harary");
  sb->add_option("--threads", bench.threads, "server unmasking threads");
  sb->add_option("--client-threads", bench.client_threads,
                 "threads simulating clients (0: all cores)");
  sb->add_option("--seed", bench.seed, "seed of every random choice");
  sb->add_option("--ring", bench.ring_bits, "ring bits: 32 or 64");
  sb->add_option("--prg", bench.prg, "mask PRG: aes256ctr | chacha20");
  sb->add_flag("--reveal-pair-seeds", bench.reveal_pair_seeds,
               "survivors send dropped neighbours' pairwise seeds (trusts the server to follow "
               "the protocol; see README)");
  sb->add_option("--bits", bench.bits, "quantisation bits per coordinate");
  sb->add_option("--k", bench.k, "override the neighbour-graph degree");
  sb->add_option("--t", bench.t, "override the threshold");

  std::string scenario_path;
  std::vector<std::string> sets;
  auto* run = app.add_subcommand("run", "run a simulation scenario (simulations/scenarios/*.yaml)");
  run->add_option("scenario", scenario_path, "scenario file")->required();
  run->add_option("--set", sets,
                  "override a scenario key: --set rounds=5 --set partition.alpha=0.1")
      ->type_name("KEY=VALUE");
  fl::sim::NetworkBinaries binaries = fl::sim::default_network_binaries();
  run->add_option("--coordinator-bin", binaries.coordinator,
                  "network mode: the fl-coordinator binary (env FL_COORDINATOR_BIN)");
  run->add_option("--client-bin", binaries.client,
                  "network mode: the fl-client binary (env FL_CLIENT_BIN)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "fl-sim: error: %s\n", e.what());
    return 2;
  }
  if (sb->parsed()) return fl::sim::run_secagg_bench(bench);
  if (run->parsed())
    return fl::sim::run_scenario_command(scenario_path, sets, stdout, stderr, binaries);
  return 2;
}
