// An example device application: brings its own training code (a linear
// regression fitted by SGD on synthetic sensor readings) and lets fl::Client
// do everything else.
//
// It joins a population whose model is `kind: linear, input_dim: 4` (weights
// are the coordinator's layout for it: w_0..w_3 then the bias):
//
//   device_app --coordinator http://127.0.0.1:8080 --identity device.key
//              --population sensors [--rounds 3] [--device 7]
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "fl/client.h"
#include "fl/trainer.h"

namespace {

constexpr int kFeatures = 4;

// y = 2 x0 - x1 + 0.5 x2 + 3 x3 + 1 + noise: every device sees the same law
// but its own readings.
class SensorTrainer final : public fl::Trainer {
 public:
  explicit SensorTrainer(uint64_t device_seed) {
    std::mt19937_64 rng(device_seed);
    std::normal_distribution<float> x(0.0f, 1.0f), noise(0.0f, 0.1f);
    for (int i = 0; i < 200; ++i) {
      std::vector<float> row(kFeatures);
      for (float& v : row) v = x(rng);
      features_.push_back(row);
      targets_.push_back(2 * row[0] - row[1] + 0.5f * row[2] + 3 * row[3] + 1 + noise(rng));
    }
  }

  uint64_t num_examples() const override { return features_.size(); }

  fl::Result<fl::LocalTrainingResult> train(std::span<const float> global,
                                            const fl::TrainingPlan& plan,
                                            const fl::CancellationToken& cancel) override {
    if (global.size() != kFeatures + 1)
      return fl::InvalidArgument("expected a linear model over 4 features, got " +
                                 std::to_string(global.size()) + " weights");
    fl::LocalTrainingResult out;
    out.weights.assign(global.begin(), global.end());
    const float lr = plan.learning_rate > 0 ? plan.learning_rate : 0.05f;
    for (uint32_t epoch = 0; epoch < std::max<uint32_t>(plan.epochs, 1); ++epoch) {
      // The app went to the background (fl::Client::cancel): stop here.
      if (cancel.cancelled())
        return fl::Cancelled("training stopped at epoch " + std::to_string(epoch));
      for (size_t i = 0; i < features_.size(); ++i) {
        const float error = predict(out.weights, features_[i]) - targets_[i];
        for (int j = 0; j < kFeatures; ++j) out.weights[j] -= lr * error * features_[i][j];
        out.weights[kFeatures] -= lr * error;
      }
    }
    out.examples = features_.size();
    out.metrics["mse"] = mse(out.weights);
    return out;
  }

  fl::Result<std::map<std::string, double>> evaluate(std::span<const float> weights) override {
    return std::map<std::string, double>{{"mse", mse(weights)}};
  }

 private:
  static float predict(std::span<const float> w, const std::vector<float>& x) {
    float y = w[kFeatures];
    for (int j = 0; j < kFeatures; ++j) y += w[j] * x[j];
    return y;
  }
  double mse(std::span<const float> w) const {
    double sum = 0;
    for (size_t i = 0; i < features_.size(); ++i) {
      const double e = predict(w, features_[i]) - targets_[i];
      sum += e * e;
    }
    return sum / static_cast<double>(features_.size());
  }

  std::vector<std::vector<float>> features_;
  std::vector<float> targets_;
};

void usage() {
  std::cout << "usage: device_app --coordinator URL --identity FILE --population NAME"
               " [--device-token TOKEN | --device-certificate FILE] [--rounds N] [--device SEED]\n";
}

}  // namespace

int main(int argc, char** argv) {
  fl::ClientOptions options;
  int rounds = 1;
  uint64_t device = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--help" || arg == "-h") {
      usage();
      return 0;
    } else if (arg == "--coordinator" && has_value) {
      options.coordinator = argv[++i];
    } else if (arg == "--identity" && has_value) {
      options.identity_file = argv[++i];
    } else if (arg == "--device-token" && has_value) {
      options.device_token = argv[++i];  // from the operator: fl-coordinator devices issue
    } else if (arg == "--device-certificate" && has_value) {
      options.device_certificate_file = argv[++i];
    } else if (arg == "--population" && has_value) {
      options.population = argv[++i];
    } else if (arg == "--rounds" && has_value) {
      rounds = std::stoi(argv[++i]);
    } else if (arg == "--device" && has_value) {
      device = std::stoull(argv[++i]);
    } else {
      usage();
      return 2;
    }
  }
  options.label = "example device " + std::to_string(device);
  options.logger = [](std::string_view line) { std::cerr << "[fl] " << line << "\n"; };

  auto client = fl::Client::create(options, std::make_unique<SensorTrainer>(device));
  if (!client.ok()) {
    std::cerr << client.status().to_string() << "\n";
    return 1;
  }
  // An app going to the background calls (*client)->cancel() from any thread:
  // participate() then returns Cancelled and the round goes on without it.
  for (int round = 0; round < rounds;) {
    auto report = (*client)->participate(std::chrono::minutes(5));
    if (!report.ok()) {
      const fl::ErrorCode code = report.status().code();
      std::cerr << report.status().to_string() << "\n";
      // Not selected within 5 minutes, or still backing off: try again.
      if (code == fl::ErrorCode::kDeadlineExceeded) continue;
      return code == fl::ErrorCode::kFailedPrecondition ? 0 : 1;
    }
    // After a failed round the next participate() first waits retry_after
    // (a growing backoff); an app scheduling its own jobs can wait it itself.
    std::cout << "round " << report->round_id << ": "
              << (report->completed
                      ? "completed, new version " + std::to_string(report->new_version)
                      : "failed: " + report->failure_reason + "; next attempt in " +
                            std::to_string(report->retry_after.count()) + " ms")
              << "\n";
    if (report->completed) ++round;
  }
  return 0;
}
