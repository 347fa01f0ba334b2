#include "model/flat_predict.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace fl::model {

Result<std::vector<float>> flat_decision_function(const ModelForInference& model,
                                                  std::span<const float> x) {
  const ModelSpec& spec = model.weights.spec;
  FL_RETURN_IF_ERROR(require_built_in(spec, "prediction"));
  if (x.size() != static_cast<size_t>(spec.input_dim))
    return InvalidArgument("input has " + std::to_string(x.size()) + " features but " +
                           describe(spec) + " takes " + std::to_string(spec.input_dim));
  std::vector<float> in(x.begin(), x.end());
  if (!model.mean.empty()) {
    for (size_t j = 0; j < in.size(); ++j)
      in[j] = (in[j] - model.mean[j]) * (1.0f / model.scale[j]);
  }
  std::vector<int> widths = spec.hidden_layers;
  widths.push_back(output_dim(spec));
  const float* params = model.weights.params.data();
  std::vector<float> out;
  for (size_t l = 0; l < widths.size(); ++l) {
    const size_t n_in = in.size();
    const size_t n_out = static_cast<size_t>(widths[l]);
    // W is n_in x n_out column-major: column j is contiguous; b follows W.
    const float* w = params;
    const float* b = params + n_in * n_out;
    out.assign(n_out, 0.0f);
    for (size_t j = 0; j < n_out; ++j) {
      const float* column = w + j * n_in;
      double sum = 0;
      for (size_t i = 0; i < n_in; ++i) sum += static_cast<double>(in[i]) * column[i];
      out[j] = static_cast<float>(sum) + b[j];
    }
    params = b + n_out;
    if (l + 1 < widths.size()) {
      for (float& a : out)
        a = spec.activation == Activation::kRelu ? std::max(a, 0.0f) : std::tanh(a);
    }
    in.swap(out);
  }
  return in;
}

Result<std::vector<float>> flat_predict(const ModelForInference& model, std::span<const float> x) {
  auto scores = flat_decision_function(model, x);
  if (!scores.ok() || !has_probabilities(model.weights.spec)) return scores;
  std::vector<float>& s = *scores;
  if (model.weights.spec.kind == ModelKind::kLogisticRegression) {
    // Both columns from the logit, so neither loses digits to 1 - p.
    const float f = s[0];
    return std::vector<float>{1.0f / (1.0f + std::exp(f)), 1.0f / (1.0f + std::exp(-f))};
  }
  const float max = *std::max_element(s.begin(), s.end());
  float sum = 0;
  for (float& v : s) {
    v = std::exp(v - max);
    sum += v;
  }
  for (float& v : s) v /= sum;
  return scores;
}

int flat_num_outputs(const ModelSpec& spec) {
  return spec.kind == ModelKind::kLogisticRegression ? 2 : output_dim(spec);
}

int flat_class_from_scores(std::span<const float> scores) {
  if (scores.size() == 1) return scores[0] > 0 ? 1 : 0;
  return static_cast<int>(std::max_element(scores.begin(), scores.end()) - scores.begin());
}

}  // namespace fl::model
