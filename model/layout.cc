#include "model/layout.h"

namespace fl::model {

std::vector<DenseShape> dense_shapes(const ModelSpec& spec) {
  std::vector<DenseShape> shapes;
  if (spec.kind == ModelKind::kCustom) return shapes;  // the app's layout, not ours
  int64_t offset = 0;
  int in = spec.input_dim;
  auto add = [&](int out) {
    DenseShape s{in, out, offset, offset + int64_t{in} * out};
    shapes.push_back(s);
    offset = s.bias_offset + out;
    in = out;
  };
  for (int width : spec.hidden_layers) add(width);
  add(output_dim(spec));
  return shapes;
}

Eigen::VectorXf weight_mask(const ModelSpec& spec) {
  Eigen::VectorXf mask = Eigen::VectorXf::Zero(num_params(spec));
  for (const DenseShape& s : dense_shapes(spec)) {
    mask.segment(s.weight_offset, int64_t{s.in} * s.out).setOnes();
  }
  return mask;
}

}  // namespace fl::model
