#include "aggregation/scaffold.h"

#include <cmath>

#include "proto/server_optimizer.pb.h"

namespace fl::aggregation {
namespace {

Status check_sizes(size_t want, size_t got, std::string_view what) {
  if (got != want)
    return InvalidArgument(std::string(what) + " has " + std::to_string(got) +
                           " values for a model of " + std::to_string(want));
  return Status::Ok();
}

Status check_finite(std::span<const float> v, std::string_view what) {
  for (size_t i = 0; i < v.size(); ++i)
    if (!std::isfinite(v[i]))
      return InvalidArgument(std::string(what) + " coordinate " + std::to_string(i) +
                             " is not a finite number");
  return Status::Ok();
}

}  // namespace

Result<TrainingAlgorithm> parse_training_algorithm(std::string_view name) {
  if (name.empty() || name == "fedavg") return TrainingAlgorithm::kFedAvg;
  if (name == "scaffold") return TrainingAlgorithm::kScaffold;
  return InvalidArgument("algorithm must be fedavg or scaffold, got '" + std::string(name) + "'");
}

std::string_view training_algorithm_name(TrainingAlgorithm algorithm) {
  return algorithm == TrainingAlgorithm::kScaffold ? "scaffold" : "fedavg";
}

std::string scaffold_refusal(bool dp_enabled, double l2_clip, std::string_view optimizer) {
  if (dp_enabled)
    return "scaffold cannot run with dp: the control variate's half of each upload is neither "
           "clipped nor noised, so a round would release more than the accountant charges";
  if (l2_clip != 0)
    return "scaffold cannot run with an L2 clip: it bounds the model's delta, and clipping it "
           "alone would break the control variate's relation to the update (c_i+ - c_i = "
           "(x - y)/T - c)";
  if (optimizer != "sgd")
    return "scaffold needs local sgd: option II reads the mean gradient off the displacement, "
           "which only a step linear in the gradient allows (Adam's is not)";
  return "";
}

Result<std::vector<float>> gradient_correction(std::span<const float> global_control,
                                               std::span<const float> client_control) {
  std::vector<float> out(global_control.begin(), global_control.end());
  if (client_control.empty()) return out;
  FL_RETURN_IF_ERROR(check_sizes(out.size(), client_control.size(), "the client control variate"));
  for (size_t i = 0; i < out.size(); ++i) out[i] -= client_control[i];
  return out;
}

Result<ControlVariateStep> step_control_variate(std::span<const float> global_weights,
                                                std::span<const float> trained_weights,
                                                std::span<const float> global_control,
                                                std::span<const float> client_control,
                                                double unit_gradient_travel) {
  const size_t d = global_weights.size();
  FL_RETURN_IF_ERROR(check_sizes(d, trained_weights.size(), "the trained weights"));
  FL_RETURN_IF_ERROR(check_sizes(d, global_control.size(), "the global control variate"));
  if (!client_control.empty())
    FL_RETURN_IF_ERROR(check_sizes(d, client_control.size(), "the client control variate"));
  if (!(unit_gradient_travel > 0) || !std::isfinite(unit_gradient_travel))
    return InvalidArgument(
        "the local steps' unit gradient travel must be positive (no step was taken, or the "
        "optimiser is not sgd), got " +
        std::to_string(unit_gradient_travel));
  ControlVariateStep out;
  out.next.resize(d);
  out.delta.resize(d);
  const double inv = 1.0 / unit_gradient_travel;
  for (size_t i = 0; i < d; ++i) {
    const double ci = client_control.empty() ? 0.0 : client_control[i];
    const double drift = (static_cast<double>(global_weights[i]) - trained_weights[i]) * inv;
    const double next = ci - global_control[i] + drift;
    out.next[i] = static_cast<float>(next);
    out.delta[i] = static_cast<float>(next - ci);
  }
  FL_RETURN_IF_ERROR(check_finite(out.next, "the client control variate"));
  return out;
}

Result<std::vector<float>> step_global_control(std::span<const float> global_control,
                                               std::span<const float> mean_control_delta,
                                               double participation) {
  if (!(participation > 0 && participation <= 1))
    return InvalidArgument("the round's participation |S|/N must be in (0, 1], got " +
                           std::to_string(participation));
  std::vector<float> out(mean_control_delta.size(), 0.0f);
  if (!global_control.empty()) {
    FL_RETURN_IF_ERROR(
        check_sizes(global_control.size(), mean_control_delta.size(), "the mean control delta"));
    out.assign(global_control.begin(), global_control.end());
  }
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = static_cast<float>(out[i] + participation * mean_control_delta[i]);
  FL_RETURN_IF_ERROR(check_finite(out, "the global control variate"));
  return out;
}

Result<std::string> with_global_control(std::string optimizer_state,
                                        std::span<const float> global_control) {
  proto::ServerOptimizerState state;
  if (!state.ParseFromString(optimizer_state))
    return DataLoss("server optimizer state does not parse (" +
                    std::to_string(optimizer_state.size()) + " bytes)");
  state.mutable_control_variate()->Assign(global_control.begin(), global_control.end());
  return state.SerializeAsString();
}

Result<std::vector<float>> global_control_of(std::string_view optimizer_state, size_t dimension) {
  proto::ServerOptimizerState state;
  if (!state.ParseFromArray(optimizer_state.data(), static_cast<int>(optimizer_state.size())))
    return DataLoss("server optimizer state does not parse (" +
                    std::to_string(optimizer_state.size()) + " bytes)");
  if (state.control_variate_size() == 0) return std::vector<float>(dimension, 0.0f);
  if (static_cast<size_t>(state.control_variate_size()) != dimension)
    return DataLoss("saved control variate has " + std::to_string(state.control_variate_size()) +
                    " values, the model " + std::to_string(dimension));
  std::vector<float> c(state.control_variate().begin(), state.control_variate().end());
  for (float v : c)
    if (!std::isfinite(v)) return DataLoss("saved control variate is not finite");
  return c;
}

}  // namespace fl::aggregation
