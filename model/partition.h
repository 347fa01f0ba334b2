// Splitting a pooled, labelled training set among federated clients, and
// summarising how skewed the result is. The simulator (simulations/) splits
// its data with these, and fl-client (--partition) takes its own part with the
// same call, so a client process trains on exactly the examples the in-process
// simulation gives the client of that index.
//
//  - IID: a seeded shuffle dealt into equal parts (sizes differ by at most 1).
//  - Dirichlet(alpha) over labels (Hsu et al., 2019): for every class, client
//    proportions p ~ Dir(alpha, ..., alpha) split that class's examples. Small
//    alpha gives each client few classes; large alpha approaches IID.
//  - Shards (McMahan et al., AISTATS 2017): examples sorted by label are cut
//    into clients x shards_per_client shards, each client gets shards_per_client
//    of them at random. Shards are cut within a class (the number of shards of
//    a class proportional to its size), so no client holds more than
//    shards_per_client labels even when class sizes do not divide evenly.
//  - Quantity skew: labels IID, client sizes skewed, drawn either from a power
//    law (Pareto weights u^(-1/exponent)) or from Dir(beta) over clients.
//
// Every example goes to exactly one client, and every client gets at least
// min_examples (taken from the largest clients after the draw, so small alpha
// cannot leave a client with nothing to train on). Gamma and normal variates
// are drawn by our own code over std::mt19937_64 so a seed gives the same
// partition with any standard library.
//
// Not for: loading data (dataset.h) or choosing which clients train in a
// round (the simulator and the coordinator do that).
//
// Thread-safety: pure functions.
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "base/status.h"

namespace fl::model {

enum class PartitionKind { kIid, kDirichlet, kShards, kQuantitySkew };
enum class QuantityDistribution { kPowerLaw, kDirichlet };

struct PartitionSpec {
  PartitionKind kind = PartitionKind::kIid;
  double alpha = 0.5;                                            // dirichlet
  int shards_per_client = 2;                                     // shards
  QuantityDistribution sizes = QuantityDistribution::kPowerLaw;  // quantity_skew
  double exponent = 1.5;  // quantity_skew power law: Pareto shape
  double beta = 0.5;      // quantity_skew dirichlet
  int64_t min_examples = 1;
};

std::string partition_kind_name(PartitionKind kind);

// The command-line form of a spec, as fl-client's --partition takes it:
// "iid", "dirichlet:ALPHA", "shards:K", "quantity:power_law:EXPONENT" or
// "quantity:dirichlet:BETA" ("quantity:EXPONENT" is a power law).
// min_examples is not part of the text. format_partition_spec prints numbers
// with 17 significant digits, so parse(format(spec)) == spec.
Result<PartitionSpec> parse_partition_spec(const std::string& text);
std::string format_partition_spec(const PartitionSpec& spec);

// Client c's example indices into `labels`, in increasing order.
using Partition = std::vector<std::vector<int64_t>>;

Result<Partition> make_partition(const Eigen::VectorXi& labels, int num_classes,
                                 int64_t num_clients, const PartitionSpec& spec, uint64_t seed);

struct PartitionSummary {
  int64_t clients = 0;
  int64_t examples = 0;
  int64_t min_size = 0, median_size = 0, max_size = 0;
  double mean_classes = 0;          // classes present per client
  double mean_entropy_bits = 0;     // of a client's label distribution
  double max_entropy_bits = 0;      // log2(num_classes): the IID value
  double mean_total_variation = 0;  // from the pooled label distribution, in [0, 1]
};

PartitionSummary summarize_partition(const Partition& partition, const Eigen::VectorXi& labels,
                                     int num_classes);

// Draws used by partitioners and client behaviour, portable across standard libraries.
double standard_normal(std::mt19937_64& rng);
double gamma_variate(double shape, std::mt19937_64& rng);
double uniform01(std::mt19937_64& rng);

}  // namespace fl::model
