#include "model/model.h"

#include <cmath>
#include <random>

#include "model/layout.h"

namespace fl::model {

Result<Model> create_model(const ModelSpec& spec, uint64_t seed) {
  FL_RETURN_IF_ERROR(validate_spec(spec));
  Model model;
  model.spec = spec;
  model.params = Eigen::VectorXf::Zero(num_params(spec));
  if (spec.kind != ModelKind::kMlp) return model;

  std::mt19937_64 rng(seed);
  const std::vector<DenseShape> shapes = dense_shapes(spec);
  for (size_t l = 0; l < shapes.size(); ++l) {
    const DenseShape& s = shapes[l];
    const bool is_output = l + 1 == shapes.size();
    // Glorot & Bengio (2010): Var = 2 / (in + out); He et al. (2015): Var = 2 / in for ReLU.
    // A uniform on [-a, a] has variance a^2 / 3.
    const double variance =
        (!is_output && spec.activation == Activation::kRelu) ? 2.0 / s.in : 2.0 / (s.in + s.out);
    const auto limit = static_cast<float>(std::sqrt(3.0 * variance));
    DenseView layer = dense_view(model.params.data(), s);
    for (int64_t i = 0; i < layer.weights.size(); ++i) {
      // Top 24 bits as a float in [-1, 1): unlike std::uniform_real_distribution,
      // the same on every standard library.
      const float unit = static_cast<float>(rng() >> 40) * 0x1.0p-24f;
      layer.weights.data()[i] = limit * (2.0f * unit - 1.0f);
    }
  }
  return model;
}

Status validate_model(const Model& model) {
  FL_RETURN_IF_ERROR(validate_spec(model.spec));
  const int64_t expected = num_params(model.spec);
  if (model.params.size() != expected) {
    return InvalidArgument(describe(model.spec) + " has " + std::to_string(expected) +
                           " parameters, but the model holds " +
                           std::to_string(model.params.size()));
  }
  return validate_standardizer(model.standardizer, model.spec.input_dim);
}

}  // namespace fl::model
