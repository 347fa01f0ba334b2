#include "aggregation/server_optimizer.h"

#include <cmath>
#include <string>
#include <utility>

namespace fl::aggregation {
namespace {

using proto::SERVER_OPTIMIZER_KIND_FEDADAGRAD;
using proto::SERVER_OPTIMIZER_KIND_FEDADAM;
using proto::SERVER_OPTIMIZER_KIND_FEDAVG;
using proto::SERVER_OPTIMIZER_KIND_FEDAVGM;
using proto::SERVER_OPTIMIZER_KIND_FEDYOGI;

bool is_adaptive(ServerOptimizerKind kind) {
  return kind == SERVER_OPTIMIZER_KIND_FEDADAGRAD || kind == SERVER_OPTIMIZER_KIND_FEDADAM ||
         kind == SERVER_OPTIMIZER_KIND_FEDYOGI;
}

std::string kind_name(ServerOptimizerKind kind) {
  switch (kind) {
    case SERVER_OPTIMIZER_KIND_FEDAVG:
      return "FedAvg";
    case SERVER_OPTIMIZER_KIND_FEDAVGM:
      return "FedAvgM";
    case SERVER_OPTIMIZER_KIND_FEDADAGRAD:
      return "FedAdagrad";
    case SERVER_OPTIMIZER_KIND_FEDADAM:
      return "FedAdam";
    case SERVER_OPTIMIZER_KIND_FEDYOGI:
      return "FedYogi";
    default:
      return "unspecified (" + std::to_string(static_cast<int>(kind)) + ")";
  }
}

Status check_positive(std::string_view name, double value) {
  if (!std::isfinite(value) || value <= 0) {
    return InvalidArgument(std::string(name) + " must be positive and finite, got " +
                           std::to_string(value));
  }
  return Status::Ok();
}

Status check_decay(std::string_view name, double value) {
  if (!std::isfinite(value) || value < 0 || value >= 1) {
    return InvalidArgument(std::string(name) + " must be in [0, 1), got " + std::to_string(value));
  }
  return Status::Ok();
}

Status check_finite(std::string_view what, std::span<const float> values) {
  for (size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) {
      return InvalidArgument(std::string(what) + " coordinate " + std::to_string(i) +
                             " is not finite");
    }
  }
  return Status::Ok();
}

double sign(double x) { return (x > 0) - (x < 0); }

}  // namespace

Result<std::unique_ptr<ServerOptimizer>> ServerOptimizer::create(
    const ServerOptimizerConfig& config) {
  const ServerOptimizerKind kind = config.kind();
  const bool adaptive = is_adaptive(kind);
  if (!adaptive && kind != SERVER_OPTIMIZER_KIND_FEDAVG && kind != SERVER_OPTIMIZER_KIND_FEDAVGM) {
    return InvalidArgument("server optimizer kind is " + kind_name(kind) +
                           "; choose FedAvg, FedAvgM, FedAdagrad, FedAdam or FedYogi");
  }
  if (config.has_momentum() && kind != SERVER_OPTIMIZER_KIND_FEDAVGM) {
    return InvalidArgument("momentum applies to FedAvgM only, not " + kind_name(kind));
  }
  if (!adaptive && (config.has_beta1() || config.has_beta2() || config.has_tau())) {
    return InvalidArgument("beta1, beta2 and tau apply to the adaptive optimizers only, not " +
                           kind_name(kind));
  }

  Hyperparameters h;
  h.server_lr = config.has_server_lr()
                    ? config.server_lr()
                    : (adaptive ? kDefaultAdaptiveServerLr : kDefaultFedAvgServerLr);
  h.momentum = config.has_momentum() ? config.momentum() : kDefaultMomentum;
  h.beta1 = config.has_beta1() ? config.beta1() : kDefaultBeta1;
  h.beta2 = config.has_beta2() ? config.beta2() : kDefaultBeta2;
  h.tau = config.has_tau() ? config.tau() : kDefaultTau;
  FL_RETURN_IF_ERROR(check_positive("server_lr", h.server_lr));
  FL_RETURN_IF_ERROR(check_decay("momentum", h.momentum));
  FL_RETURN_IF_ERROR(check_decay("beta1", h.beta1));
  FL_RETURN_IF_ERROR(check_decay("beta2", h.beta2));
  FL_RETURN_IF_ERROR(check_positive("tau", h.tau));
  return std::unique_ptr<ServerOptimizer>(new ServerOptimizer(kind, h));
}

bool ServerOptimizer::uses_first_moment() const { return kind_ != SERVER_OPTIMIZER_KIND_FEDAVG; }

bool ServerOptimizer::uses_second_moment() const { return is_adaptive(kind_); }

Status ServerOptimizer::apply(std::vector<float>& weights, std::span<const float> mean_update) {
  if (weights.size() != mean_update.size()) {
    return InvalidArgument("mean update has " + std::to_string(mean_update.size()) +
                           " coordinates but the model has " + std::to_string(weights.size()));
  }
  if (dimension_ != 0 && weights.size() != dimension_) {
    return InvalidArgument("this optimizer serves a model of " + std::to_string(dimension_) +
                           " weights, got " + std::to_string(weights.size()));
  }
  if (weights.empty()) return InvalidArgument("cannot apply an empty update");
  FL_RETURN_IF_ERROR(check_finite("mean update", mean_update));
  FL_RETURN_IF_ERROR(check_finite("weight", weights));

  // Computed into copies and swapped in at the end, so a step that would
  // overflow leaves the model and the moments exactly as they were.
  const size_t n = weights.size();
  std::vector<float> next_weights(n);
  std::vector<float> next_m = uses_first_moment() && m_.empty() ? std::vector<float>(n, 0.0f) : m_;
  std::vector<float> next_v =
      uses_second_moment() && v_.empty()
          ? std::vector<float>(n, static_cast<float>(h_.tau * h_.tau))  // v_-1 = tau^2
          : v_;

  for (size_t i = 0; i < n; ++i) {
    const double delta = mean_update[i];
    const double delta2 = delta * delta;
    double step = 0;
    switch (kind_) {
      case SERVER_OPTIMIZER_KIND_FEDAVG:
        step = delta;
        break;
      case SERVER_OPTIMIZER_KIND_FEDAVGM:
        step = h_.momentum * next_m[i] + delta;
        next_m[i] = static_cast<float>(step);
        break;
      default: {  // the adaptive rules differ only in v
        const double m = h_.beta1 * next_m[i] + (1 - h_.beta1) * delta;
        double v = next_v[i];
        if (kind_ == SERVER_OPTIMIZER_KIND_FEDADAGRAD) {
          v = v + delta2;
        } else if (kind_ == SERVER_OPTIMIZER_KIND_FEDADAM) {
          v = h_.beta2 * v + (1 - h_.beta2) * delta2;
        } else {  // FedYogi: v moves towards delta^2 by at most (1 - b2) * delta^2
          v = v - (1 - h_.beta2) * delta2 * sign(v - delta2);
        }
        next_m[i] = static_cast<float>(m);
        next_v[i] = static_cast<float>(v);
        step = m / (std::sqrt(v) + h_.tau);
        break;
      }
    }
    next_weights[i] = static_cast<float>(weights[i] + h_.server_lr * step);
    if (!std::isfinite(next_weights[i]) || (!next_m.empty() && !std::isfinite(next_m[i])) ||
        (!next_v.empty() && !std::isfinite(next_v[i]))) {
      return InvalidArgument("the update would make coordinate " + std::to_string(i) +
                             " non-finite; nothing was changed");
    }
  }

  weights.swap(next_weights);
  m_.swap(next_m);
  v_.swap(next_v);
  dimension_ = n;
  ++steps_;
  return Status::Ok();
}

std::string ServerOptimizer::serialize_state() const {
  proto::ServerOptimizerState state;
  state.set_kind(kind_);
  state.set_steps(steps_);
  state.set_dimension(dimension_);
  state.mutable_first_moment()->Add(m_.begin(), m_.end());
  state.mutable_second_moment()->Add(v_.begin(), v_.end());
  return state.SerializeAsString();
}

Status ServerOptimizer::restore_state(std::string_view bytes) {
  proto::ServerOptimizerState state;
  if (!state.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return DataLoss("server optimizer state does not parse (" + std::to_string(bytes.size()) +
                    " bytes)");
  }
  if (state.kind() != kind_) {
    return FailedPrecondition("saved state belongs to " + kind_name(state.kind()) +
                              ", this optimizer is " + kind_name(kind_));
  }
  const uint64_t n = state.dimension();
  const auto expect = [&](bool used, int size, std::string_view name) -> Status {
    const uint64_t want = used && n != 0 ? n : 0;
    if (static_cast<uint64_t>(size) != want) {
      return DataLoss("saved " + std::string(name) + " has " + std::to_string(size) +
                      " entries, expected " + std::to_string(want));
    }
    return Status::Ok();
  };
  FL_RETURN_IF_ERROR(expect(uses_first_moment(), state.first_moment_size(), "first moment"));
  FL_RETURN_IF_ERROR(expect(uses_second_moment(), state.second_moment_size(), "second moment"));
  if ((n == 0) != (state.steps() == 0)) {
    return DataLoss("saved state has " + std::to_string(state.steps()) + " steps but dimension " +
                    std::to_string(n));
  }
  for (float m : state.first_moment()) {
    if (!std::isfinite(m)) return DataLoss("saved first moment is not finite");
  }
  for (float v : state.second_moment()) {
    if (!std::isfinite(v) || v < 0)
      return DataLoss("saved second moment is negative or not finite");
  }

  steps_ = state.steps();
  dimension_ = n;
  m_.assign(state.first_moment().begin(), state.first_moment().end());
  v_.assign(state.second_moment().begin(), state.second_moment().end());
  return Status::Ok();
}

}  // namespace fl::aggregation
