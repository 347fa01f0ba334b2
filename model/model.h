// A model: its architecture, one contiguous float32 parameter vector, the
// input standardisation it was trained with, and free-form metadata.
//
// float32 throughout: it is what devices compute in, halves the bytes of every
// download and upload, and is ample for SGD (gradients are accumulated per
// batch, losses summed in double). Layers are views into `params` (layout.h),
// so `params` *is* the flattened update for aggregation: new minus global.
// Every function taking a Model expects raw features; the standardisation is
// applied inside.
//
// Thread-safety: a value. Concurrent predictions on one const Model are safe;
// training mutates it.
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <map>
#include <string>

#include "base/status.h"
#include "model/model_spec.h"
#include "model/standardizer.h"

namespace fl::model {

struct Model {
  ModelSpec spec;
  Eigen::VectorXf params;  // num_params(spec) floats, layout in layout.h
  Standardizer standardizer;
  std::map<std::string, std::string> metadata;
};

// A model with freshly initialised weights, deterministic given the seed.
// Linear models start at zero (the convex optimum does not depend on it);
// MLP layers use Glorot-uniform (tanh and the output layer) or He-uniform
// (ReLU) so activations neither vanish nor explode at the start. A custom
// model starts at zero: the coordinator does not know which of its blocks are
// weights or biases, or their fan-in, so any random start would be a guess; an
// app that needs one draws it in its Trainer from a seed all devices share
// (README, "App-defined models").
Result<Model> create_model(const ModelSpec& spec, uint64_t seed);

// Ok if the spec is valid and params and standardisation match it.
Status validate_model(const Model& model);

}  // namespace fl::model
