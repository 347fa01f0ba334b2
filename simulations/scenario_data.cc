#include "simulations/scenario_data.h"

#include <cmath>
#include <random>

#include "model/fashion_mnist.h"
#include "model/partition.h"

namespace fl::sim {

Result<FederatedData> FederatedData::load(const DataSpec& spec, uint64_t seed) {
  FederatedData d;
  d.seed_ = seed;
  if (spec.source == "fashion-mnist") {
    auto train = model::load_fashion_mnist(spec.dir, model::Split::kTrain);
    if (!train.ok()) return train.status();
    auto test = model::load_fashion_mnist(spec.dir, model::Split::kTest);
    if (!test.ok()) return test.status();
    d.train_ = std::move(*train);
    if (spec.train_limit > 0 && spec.train_limit < d.train_.size())
      d.train_ = model::head(model::shuffled(d.train_, seed), spec.train_limit);
    d.test_ = spec.test_limit > 0 ? model::head(*test, spec.test_limit) : std::move(*test);
    d.name_ = "fashion-mnist";
    d.dim_ = d.train_.dim();
    d.num_classes_ = d.train_.num_classes;
    d.train_labels_ = d.train_.labels;
    return d;
  }
  d.synthetic_ = true;
  d.name_ = "synthetic(" + std::to_string(spec.dim) + " features, " + std::to_string(spec.classes) +
            " classes)";
  d.dim_ = spec.dim;
  d.num_classes_ = spec.classes;
  std::mt19937_64 rng(seed ^ 0x73796e74ULL);  // "synt"
  d.means_.resize(spec.dim, spec.classes);
  for (int c = 0; c < spec.classes; ++c) {
    double norm = 0;
    for (int j = 0; j < spec.dim; ++j) {
      const double v = model::standard_normal(rng);
      d.means_(j, c) = static_cast<float>(v);
      norm += v * v;
    }
    d.means_.col(c) *= static_cast<float>(spec.separation / std::sqrt(std::max(norm, 1e-12)));
  }
  const int64_t total = spec.n + spec.test_n;
  Eigen::VectorXi labels(total);
  for (int64_t i = 0; i < total; ++i)
    labels[i] = static_cast<int>(rng() % static_cast<uint64_t>(spec.classes));
  d.train_labels_ = labels.head(spec.n);
  d.test_.num_classes = spec.classes;
  d.all_labels_ = labels;
  d.test_.labels = labels.tail(spec.test_n);
  d.test_.features.resize(spec.test_n, spec.dim);
  // Test rows continue the training stream's indices, so they never repeat one.
  for (int64_t i = 0; i < spec.test_n; ++i)
    d.generate_row(spec.n + i, d.test_.features.row(i).data());
  d.test_.source = d.name_ + " test";
  return d;
}

void FederatedData::generate_row(int64_t index, float* out) const {
  std::mt19937_64 rng(seed_ * 0x9E3779B97F4A7C15ULL +
                      static_cast<uint64_t>(index) * 0xD1B54A32D192ED03ULL + 1);
  const int label = all_labels_[index];
  // Unit-variance uniform noise: (u - 1/2) * sqrt(12), two draws per 64 bits.
  constexpr float kScale = 3.46410161514f * 0x1.0p-32f;
  const float* mean = means_.col(label).data();
  int j = 0;
  for (; j + 1 < dim_; j += 2) {
    const uint64_t r = rng();
    out[j] = mean[j] + (static_cast<float>(static_cast<uint32_t>(r)) - 0x1.0p31f) * kScale;
    out[j + 1] =
        mean[j + 1] + (static_cast<float>(static_cast<uint32_t>(r >> 32)) - 0x1.0p31f) * kScale;
  }
  if (j < dim_)
    out[j] = mean[j] + (static_cast<float>(static_cast<uint32_t>(rng())) - 0x1.0p31f) * kScale;
}

model::Dataset FederatedData::rows(std::span<const int64_t> indices) const {
  if (!synthetic_) return model::subset(train_, indices);
  model::Dataset out;
  out.num_classes = num_classes_;
  out.source = name_;
  out.features.resize(static_cast<Eigen::Index>(indices.size()), dim_);
  out.labels.resize(static_cast<Eigen::Index>(indices.size()));
  for (size_t k = 0; k < indices.size(); ++k) {
    out.labels[static_cast<Eigen::Index>(k)] = all_labels_[indices[k]];
    generate_row(indices[k], out.features.row(static_cast<Eigen::Index>(k)).data());
  }
  return out;
}

}  // namespace fl::sim
