// Where each dense layer lives inside a model's one contiguous parameter vector.
//
// Layer l holds W_l (in x out, column-major) followed by b_l (out), layers in
// order from the input. Layers are Eigen::Map views into the vector, so the
// whole model is one float32 span: flattening an update for secure
// aggregation, averaging, clipping or quantising needs no copy. The layout is
// part of the model file format (proto/model.proto); changing it means a new
// format version.
//
// Thread-safety: views alias the vector they were made from; they are as safe
// as that vector.
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <vector>

#include "model/model_spec.h"

namespace fl::model {

struct DenseShape {
  int in = 0;
  int out = 0;
  int64_t weight_offset = 0;  // W: in * out floats, column-major
  int64_t bias_offset = 0;    // b: out floats, right after W
};

// The dense layers of a valid spec, input side first; none for kind custom.
std::vector<DenseShape> dense_shapes(const ModelSpec& spec);

struct DenseView {
  Eigen::Map<Eigen::MatrixXf> weights;  // in x out
  Eigen::Map<Eigen::RowVectorXf> bias;  // 1 x out
};
struct ConstDenseView {
  Eigen::Map<const Eigen::MatrixXf> weights;
  Eigen::Map<const Eigen::RowVectorXf> bias;
};

inline DenseView dense_view(float* params, const DenseShape& s) {
  return {{params + s.weight_offset, s.in, s.out}, {params + s.bias_offset, s.out}};
}
inline ConstDenseView dense_view(const float* params, const DenseShape& s) {
  return {{params + s.weight_offset, s.in, s.out}, {params + s.bias_offset, s.out}};
}

// 1 for weights, 0 for biases: weight decay leaves biases alone.
Eigen::VectorXf weight_mask(const ModelSpec& spec);

}  // namespace fl::model
