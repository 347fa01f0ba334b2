// How to train a model locally: epochs, batch size, optimiser, learning-rate
// schedule, regularisation, FedProx, threads and seed.
//
// The same config drives the centralised baseline (fl-train) and each
// client's local update in a federated round. Defaults suit the linear models
// on standardised or [0, 1] inputs; fl-train picks per-model defaults.
//
// Thread-safety: a value.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

#include "base/status.h"

namespace fl::model {

enum class OptimizerKind {
  kSgd,   // minibatch SGD with (optionally Nesterov) momentum
  kAdam,  // Kingma & Ba (2015); weight decay decoupled as in AdamW
};

enum class LrScheduleKind {
  kConstant,
  kStep,    // lr * gamma^floor(epoch / step_epochs)
  kCosine,  // from lr down to lr * min_fraction over the run, per step
};

struct LrSchedule {
  LrScheduleKind kind = LrScheduleKind::kConstant;
  int step_epochs = 10;
  float gamma = 0.1f;
  float min_fraction = 0.0f;
};

struct EpochReport {
  int epoch = 0;        // 1-based
  float mean_loss = 0;  // mean over the epoch's batches, as they were trained
  float lr = 0;         // at the epoch's last step
  double seconds = 0;   // wall time of the epoch
};

struct TrainConfig {
  int epochs = 5;
  int batch_size = 64;
  float lr = 0.01f;
  OptimizerKind optimizer = OptimizerKind::kSgd;
  float momentum = 0.9f;  // SGD
  bool nesterov = false;  // SGD
  float beta1 = 0.9f;     // Adam
  float beta2 = 0.999f;   // Adam
  float epsilon = 1e-8f;  // Adam
  // L2 penalty on weights (never biases): added to the gradient for SGD,
  // decoupled (w -= lr * decay * w) for Adam, after Loshchilov & Hutter (2019).
  float weight_decay = 0.0f;
  LrSchedule schedule;
  // FedProx (Li et al., MLSys 2020): adds mu/2 ||w - w_global||^2 to the loss,
  // keeping a client's update near the global model on non-IID data. Used
  // only when train() is given the global weights.
  float fedprox_mu = 0.0f;
  uint64_t seed = 0;
  // Threads that split each batch; 0 means one per hardware thread. The
  // result is deterministic for a given thread count and batch size.
  int num_threads = 0;
  // Called after every epoch, on the training thread (progress output).
  std::function<void(const EpochReport&)> on_epoch;
  // Polled before every batch, on the training thread: true stops training
  // there, and train() returns Cancelled (an app cancelling a round).
  std::function<bool()> should_stop;
};

Status validate_train_config(const TrainConfig& config);

// The learning rate at `step` (0-based) of a run of `total_steps`, in `epoch` (0-based).
float learning_rate_at(const TrainConfig& config, int epoch, int64_t step, int64_t total_steps);

std::string_view optimizer_name(OptimizerKind kind);
Result<OptimizerKind> parse_optimizer(std::string_view name);
std::string_view lr_schedule_name(LrScheduleKind kind);
Result<LrScheduleKind> parse_lr_schedule(std::string_view name);

}  // namespace fl::model
