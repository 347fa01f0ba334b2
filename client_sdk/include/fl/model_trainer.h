// The built-in Trainer: trains the coordinator's own model kinds (linear,
// logistic, softmax, SVM, MLP) on a local dataset, for devices and sites that
// have no training code of their own, and for tests and simulations.
//
// The architecture comes from the round's downloaded model file
// (Trainer::on_global_model), so the same trainer follows whatever model the
// coordinator's population is configured with. The data is one IID shard of a
// dataset: the examples are shuffled with `partition_seed` and cut into
// `shard_count` contiguous, disjoint pieces; this client keeps piece
// `shard_index`. Every client given the same seed and count gets the same
// partition, so N clients together cover the dataset exactly once.
//
// Thread-safety: as fl::Trainer.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "fl/status.h"
#include "fl/trainer.h"

namespace fl {

struct BuiltinTrainerOptions {
  // "fashion-mnist" (Debian's dataset-fashion-mnist in its default place),
  // "fashion-mnist:DIR", or "csv:PATH" (numeric CSV with a header row).
  std::string dataset = "fashion-mnist";
  std::string target_column;  // CSV: the label (or regression target) column
  bool regression = false;    // CSV: the target is a real value, not a class
  uint32_t shard_index = 0;   // 0 <= shard_index < shard_count
  uint32_t shard_count = 1;
  uint64_t partition_seed = 1;
  // Non-IID data instead of an IID shard: a partition of the whole dataset as
  // fl-sim's scenarios describe it ("iid", "dirichlet:ALPHA", "shards:K",
  // "quantity:power_law:EXP", "quantity:dirichlet:BETA"; model/partition.h),
  // of which this client is `partition_index` of `partition_clients`. Empty:
  // the IID shard above. Client I gets exactly fl-sim's client I's examples
  // for the same seed (partition_seed) and data_limit.
  std::string partition;
  int64_t partition_clients = 1;
  int64_t partition_index = 0;
  int64_t data_limit = 0;    // > 0: partition a seeded subset of this many examples
  int64_t min_examples = 1;  // every client gets at least this many
  int num_threads = 1;       // threads splitting each training batch (0: one per core)
  // Share of this client's examples held out from training for federated
  // evaluation (the last ones of the shard, which is already shuffled).
  double evaluation_fraction = 0.1;
};

// Loads the dataset and cuts this client's shard; errors name the file.
Result<std::unique_ptr<Trainer>> make_model_trainer(const BuiltinTrainerOptions& options);

}  // namespace fl
