// What an application implements to train on its own data: fl::Trainer.
//
// The SDK downloads the round's global model, calls train() on a background
// thread with its weights and the coordinator's TrainingPlan, and turns the
// returned local weights into the round's update (new minus global),
// weighted by the example count. The Trainer never sees the network, the
// secure aggregation protocol or any key.
//
// Weights are one flat float32 vector in the model's own parameter layout;
// the SDK only subtracts, so any layout works as long as train() returns
// weights of the same length as it was given.
//
// Not for: inference on the published model (fetch it with
// fl::Client::fetch_model and load it with your own runtime).
//
// Thread-safety: the SDK calls one Trainer from one thread at a time (the
// training thread during a round, the caller's thread otherwise); a Trainer
// need not be thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fl/export.h"
#include "fl/status.h"

namespace fl {

// Tells a running Trainer that its app cancelled the round
// (fl::Client::cancel) or that the round ended without it: train() should
// check cancelled() between batches and return fl::Cancelled(...) soon after
// it turns true. A default-constructed token is never cancelled.
//
// Thread-safety: cancelled() may be called from any thread.
class CancellationToken {
 public:
  CancellationToken() = default;
  // Cancelled when either flag (each may be null) is true.
  explicit CancellationToken(const std::atomic<bool>* flag,
                             const std::atomic<bool>* other = nullptr)
      : flag_(flag), other_(other) {}
  bool cancelled() const noexcept {
    return (flag_ != nullptr && flag_->load(std::memory_order_acquire)) ||
           (other_ != nullptr && other_->load(std::memory_order_acquire));
  }

 private:
  const std::atomic<bool>* flag_ = nullptr;
  const std::atomic<bool>* other_ = nullptr;
};

// Local training settings for one round, as the coordinator sends them
// (mirrors proto fl.proto.TrainingPlan). A custom trainer may honour or
// ignore any of them.
struct TrainingPlan {
  uint32_t epochs = 1;
  uint32_t batch_size = 32;
  float learning_rate = 0.1f;
  std::string optimizer = "sgd";  // "sgd" | "adam"
  float momentum = 0.0f;
  float weight_decay = 0.0f;
  float fedprox_mu = 0.0f;  // > 0: keep the local weights near the global ones (FedProx)
  uint64_t seed = 0;        // for shuffling, so a round's training is reproducible
};

struct LocalTrainingResult {
  // The new local weights after training, same length as the global weights
  // train() was given (NOT the difference: the SDK computes new - global).
  std::vector<float> weights;
  // Examples trained on: this client's weight in the federated average (the
  // coordinator caps it). Must be > 0.
  uint64_t examples = 0;
  // Optional figures for logs (loss, accuracy); never sent to the coordinator.
  std::map<std::string, double> metrics;
};

// A Trainer's evaluation as counts, for federated evaluation: the coordinator
// adds the counts of many clients and derives the metrics exactly, as if it
// had all their held-out data. A classifier fills num_classes (>= 2) and the
// confusion matrix (accuracy, precision, recall, F1, loss); a regressor
// leaves num_classes 0 and the confusion empty and fills the error sums (MSE,
// MAE, loss). The coordinator refuses a report of the other kind than its
// model.
struct LocalEvaluation {
  uint64_t examples = 0;
  double loss_sum = 0;  // the loss summed over the examples
  uint32_t num_classes = 0;
  std::vector<uint64_t> confusion;  // num_classes x num_classes, [true][predicted]
  double squared_error_sum = 0;     // regression: sum of (prediction - target)^2
  double absolute_error_sum = 0;    // regression: sum of |prediction - target|
};

class FL_EXPORT Trainer {
 public:
  virtual ~Trainer() = default;

  // Trains from `global_weights` on local data. An error fails this client's
  // part in the round: the SDK tells the coordinator that it dropped out, so
  // the round carries on without it at once, and participate() waits a
  // growing backoff before the next attempt (RoundReport::retry_after).
  //
  // `cancel` turns true when the app calls fl::Client::cancel() or the round
  // ends without this client: return soon after (fl::Cancelled), since
  // participate() waits for train() to return before it does.
  virtual Result<LocalTrainingResult> train(std::span<const float> global_weights,
                                            const TrainingPlan& plan,
                                            const CancellationToken& cancel) = 0;

  // Scores `weights` on local data ("loss", "accuracy", ...). Default: none.
  virtual Result<std::map<std::string, double>> evaluate(std::span<const float> weights) {
    (void)weights;
    return std::map<std::string, double>{};
  }

  // Scores `weights` on local held-out data (never trained on), as counts.
  // Default: FailedPrecondition (this Trainer takes no part in federated
  // evaluation; the round is unaffected).
  virtual Result<LocalEvaluation> evaluate_counts(std::span<const float> weights) {
    (void)weights;
    return FailedPrecondition("this Trainer does not do federated evaluation");
  }

  // Local examples, reported at check-in (the coordinator may use it for
  // selection). Default 0: unknown.
  virtual uint64_t num_examples() const { return 0; }

  // Optional hook: the round's global model file (fl.proto.ModelFile bytes,
  // the exact download) before train() is called. The built-in trainer reads
  // the architecture from it; a custom trainer that knows its model can
  // ignore it. An error skips this round. `model_file` is valid only during
  // the call (the SDK frees it once the round's update is built): copy what
  // you keep.
  virtual Status on_global_model(std::string_view model_file, int64_t version) {
    (void)model_file;
    (void)version;
    return Status::Ok();
  }
};

}  // namespace fl
