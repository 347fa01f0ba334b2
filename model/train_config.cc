#include "model/train_config.h"

#include <cmath>
#include <numbers>
#include <string>

namespace fl::model {

Status validate_train_config(const TrainConfig& c) {
  auto bad = [](const std::string& what) { return InvalidArgument("training config: " + what); };
  if (c.epochs < 0) return bad("epochs must be >= 0, got " + std::to_string(c.epochs));
  if (c.batch_size <= 0) return bad("batch_size must be > 0, got " + std::to_string(c.batch_size));
  if (!(c.lr > 0) || !std::isfinite(c.lr)) return bad("lr must be positive and finite");
  if (!(c.momentum >= 0 && c.momentum < 1)) return bad("momentum must be in [0, 1)");
  if (!(c.beta1 >= 0 && c.beta1 < 1) || !(c.beta2 >= 0 && c.beta2 < 1)) {
    return bad("Adam betas must be in [0, 1)");
  }
  if (!(c.epsilon > 0)) return bad("Adam epsilon must be positive");
  if (!(c.weight_decay >= 0) || !std::isfinite(c.weight_decay)) {
    return bad("weight_decay must be >= 0");
  }
  if (!(c.fedprox_mu >= 0) || !std::isfinite(c.fedprox_mu)) return bad("fedprox_mu must be >= 0");
  if (c.num_threads < 0) return bad("num_threads must be >= 0");
  if (c.schedule.kind == LrScheduleKind::kStep) {
    if (c.schedule.step_epochs <= 0) return bad("step schedule needs step_epochs > 0");
    if (!(c.schedule.gamma > 0 && c.schedule.gamma <= 1)) {
      return bad("step schedule needs gamma in (0, 1]");
    }
  }
  if (!(c.schedule.min_fraction >= 0 && c.schedule.min_fraction <= 1)) {
    return bad("schedule min_fraction must be in [0, 1]");
  }
  return Status::Ok();
}

float learning_rate_at(const TrainConfig& c, int epoch, int64_t step, int64_t total_steps) {
  switch (c.schedule.kind) {
    case LrScheduleKind::kConstant:
      return c.lr;
    case LrScheduleKind::kStep:
      return c.lr * std::pow(c.schedule.gamma, static_cast<float>(epoch / c.schedule.step_epochs));
    case LrScheduleKind::kCosine: {
      if (total_steps <= 1) return c.lr;
      const double t = static_cast<double>(step) / static_cast<double>(total_steps - 1);
      const double floor = c.lr * c.schedule.min_fraction;
      return static_cast<float>(floor +
                                0.5 * (c.lr - floor) * (1.0 + std::cos(std::numbers::pi * t)));
    }
  }
  return c.lr;
}

std::string_view optimizer_name(OptimizerKind kind) {
  return kind == OptimizerKind::kSgd ? "sgd" : "adam";
}

Result<OptimizerKind> parse_optimizer(std::string_view name) {
  if (name == "sgd") return OptimizerKind::kSgd;
  if (name == "adam") return OptimizerKind::kAdam;
  return InvalidArgument("unknown optimizer '" + std::string(name) + "'; expected sgd or adam");
}

std::string_view lr_schedule_name(LrScheduleKind kind) {
  switch (kind) {
    case LrScheduleKind::kConstant:
      return "constant";
    case LrScheduleKind::kStep:
      return "step";
    case LrScheduleKind::kCosine:
      return "cosine";
  }
  return "constant";
}

Result<LrScheduleKind> parse_lr_schedule(std::string_view name) {
  for (LrScheduleKind kind :
       {LrScheduleKind::kConstant, LrScheduleKind::kStep, LrScheduleKind::kCosine}) {
    if (name == lr_schedule_name(kind)) return kind;
  }
  return InvalidArgument("unknown lr schedule '" + std::string(name) +
                         "'; expected constant, step or cosine");
}

}  // namespace fl::model
