#include "model/train.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <random>
#include <thread>

#include "model/layout.h"
#include "model/loss.h"
#include "model/network.h"
#include "model/optimizer.h"
#include "model/worker_pool.h"

namespace fl::model {
namespace {

// Below this many rows per thread, the handoff costs more than the arithmetic
// it spreads (measured: a 784 x 10 softmax shard of 16 rows is ~10 us).
constexpr int kMinRowsPerShard = 16;
// Below this many parameters the optimiser step is cheaper than waking a
// thread for it (a softmax's 7,850 Adam updates take a few microseconds).
constexpr int64_t kMinParamsPerUpdateThread = 16384;

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

Result<TrainReport> train(Model& model, const Dataset& data, const TrainConfig& config,
                          const float* global_weights_for_prox, const float* gradient_correction) {
  FL_RETURN_IF_ERROR(require_built_in(model.spec, "the built-in trainer"));
  FL_RETURN_IF_ERROR(validate_train_config(config));
  FL_RETURN_IF_ERROR(check_compatible(model, data));
  const int64_t n = data.size();
  if (n == 0) {
    return InvalidArgument("cannot train on " + (data.source.empty() ? "dataset" : data.source) +
                           ": it has no examples");
  }
  const bool prox = global_weights_for_prox != nullptr && config.fedprox_mu > 0;

  TrainReport report;
  report.num_threads = config.num_threads > 0
                           ? config.num_threads
                           : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  const auto start = Clock::now();

  const ModelSpec& spec = model.spec;
  const std::vector<DenseShape> shapes = dense_shapes(spec);
  const LossKind loss = loss_kind(spec);
  const int64_t p = model.params.size();
  const int d = spec.input_dim;
  const Eigen::VectorXf initial = model.params;
  Eigen::Map<const Eigen::VectorXf> global(global_weights_for_prox, prox ? p : 0);
  Eigen::Map<const Eigen::VectorXf> correction(gradient_correction,
                                               gradient_correction != nullptr ? p : 0);
  // The optimiser's response to a constant unit gradient (unit_gradient_travel).
  const bool linear_steps = config.optimizer == OptimizerKind::kSgd;
  double unit_velocity = 0;

  WorkerPool pool(report.num_threads);
  std::vector<internal::Workspace> workspaces(report.num_threads);
  for (internal::Workspace& ws : workspaces) ws.grad.resize(p);
  Optimizer optimizer(config, weight_mask(spec));
  Eigen::VectorXf grad(p);
  const int update_threads =
      static_cast<int>(std::clamp<int64_t>(p / kMinParamsPerUpdateThread, 1, report.num_threads));

  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), int64_t{0});
  std::mt19937_64 rng(config.seed);
  const int64_t steps_per_epoch = (n + config.batch_size - 1) / config.batch_size;
  const int64_t total_steps = steps_per_epoch * config.epochs;

  for (int epoch = 0; epoch < config.epochs; ++epoch) {
    const auto epoch_start = Clock::now();
    shuffle_indices(order, rng);
    double epoch_loss = 0;
    float lr = config.lr;
    for (int64_t b = 0; b < steps_per_epoch; ++b) {
      if (config.should_stop && config.should_stop())
        return Cancelled("training stopped at epoch " + std::to_string(epoch + 1) + ", batch " +
                         std::to_string(b + 1) + ": cancelled");
      const int64_t begin = b * config.batch_size;
      const auto rows = static_cast<int>(std::min<int64_t>(config.batch_size, n - begin));
      const int shards = std::clamp(rows / kMinRowsPerShard, 1, report.num_threads);
      const float scale = 1.0f / static_cast<float>(rows);

      pool.run(shards, [&](int k) {
        internal::Workspace& ws = workspaces[k];
        const int first = rows * k / shards;
        const int count = rows * (k + 1) / shards - first;
        const int64_t* idx = order.data() + begin + first;
        ws.batch.resize(count, d);
        for (int i = 0; i < count; ++i) ws.batch.row(i) = data.features.row(idx[i]);
        apply_standardizer(model.standardizer, ws.batch);
        internal::TargetsView y;
        if (is_classifier(spec)) {
          ws.batch_labels.resize(count);
          for (int i = 0; i < count; ++i) ws.batch_labels[i] = data.labels[idx[i]];
          y.labels = ws.batch_labels.data();
        } else {
          ws.batch_targets.resize(count);
          for (int i = 0; i < count; ++i) ws.batch_targets[i] = data.targets[idx[i]];
          y.values = ws.batch_targets.data();
        }
        internal::forward(spec, shapes, model.params.data(), ws.batch, ws);
        ws.loss_sum = internal::head_loss(loss, ws.scores, y, scale, &ws.delta);
        ws.grad.setZero();
        internal::backward(spec, shapes, model.params.data(), ws.batch, ws, ws.grad.data());
      });

      double batch_loss = 0;
      for (int k = 0; k < shards; ++k) batch_loss += workspaces[k].loss_sum;
      batch_loss /= rows;
      lr = learning_rate_at(config, epoch, epoch * steps_per_epoch + b, total_steps);

      // Sum the shards' gradients and step the optimiser, each thread over
      // its own slice of the parameter vector: serial, this is a tenth of an
      // MLP step.
      optimizer.begin_step();
      pool.run(update_threads, [&](int k) {
        const int64_t first = p * k / update_threads;
        const int64_t count = p * (k + 1) / update_threads - first;
        auto g = grad.segment(first, count);
        g = workspaces[0].grad.segment(first, count);
        for (int s = 1; s < shards; ++s) g += workspaces[s].grad.segment(first, count);
        workspaces[k].prox_sum = 0;
        if (prox) {
          const auto diff = model.params.segment(first, count) - global.segment(first, count);
          g += config.fedprox_mu * diff;
          workspaces[k].prox_sum = diff.squaredNorm();
        }
        if (gradient_correction != nullptr) g += correction.segment(first, count);
        optimizer.update(model.params.data(), grad.data(), lr, first, count);
      });
      if (linear_steps) {
        // As Optimizer::update moves a weight under a gradient of 1 (weight
        // decay aside): heavy ball v = m v + 1, Nesterov 1 + m v.
        unit_velocity = config.momentum > 0 ? config.momentum * unit_velocity + 1.0 : 1.0;
        const double unit_step = config.momentum > 0 && config.nesterov
                                     ? 1.0 + config.momentum * unit_velocity
                                     : unit_velocity;
        report.unit_gradient_travel += static_cast<double>(lr) * unit_step;
      }
      if (prox) {
        for (const internal::Workspace& ws : workspaces) {
          batch_loss += 0.5 * config.fedprox_mu * ws.prox_sum;
        }
      }
      if (!std::isfinite(batch_loss)) {
        model.params = initial;
        return FailedPrecondition("training diverged at epoch " + std::to_string(epoch + 1) +
                                  ", step " + std::to_string(b + 1) +
                                  " (loss is not finite); lower the learning rate");
      }
      epoch_loss += batch_loss * rows;
    }
    report.steps += steps_per_epoch;
    report.examples_processed += n;
    EpochReport er{.epoch = epoch + 1,
                   .mean_loss = static_cast<float>(epoch_loss / static_cast<double>(n)),
                   .lr = lr,
                   .seconds = seconds_since(epoch_start)};
    report.epochs.push_back(er);
    if (config.on_epoch) config.on_epoch(er);
  }
  if (!model.params.allFinite()) {
    model.params = initial;
    return FailedPrecondition(
        "training diverged (weights are not finite); lower the learning rate");
  }
  report.seconds = seconds_since(start);
  return report;
}

}  // namespace fl::model
