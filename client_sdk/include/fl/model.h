// fl::Model: a downloaded global model, for on-device inference.
//
// Built from model file bytes (fl::Client::fetch_published_model() returns
// one, fetch_model() returns the bytes of any version), for the built-in
// kinds: "linear" (regression), "logistic", "softmax", "svm" and "mlp"
// (a classifier or a regressor). The input standardisation the model was
// trained with is applied inside: predict() takes raw features, as the
// coordinator's serving does, and gives the same numbers up to float
// rounding. An app-defined model (kind "custom") loads too, for its
// parameters() and layout(): the app runs it with its own code; predict()
// refuses it.
//
//   auto model = client->fetch_published_model();
//   if (!model.ok()) { log(model.status().to_string()); return; }
//   auto p = model->predict(features);   // class probabilities
//   auto c = model->predict_class(features);
//
// Uses no Eigen and no protobuf type in this header; it lives in
// libfl_client.so, so an app needs neither the built-in trainer nor Eigen.
// Not for training or batches: one row per call.
//
// Thread-safety: immutable once loaded. Any number of threads may predict
// with one Model; copies share the weights.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fl/export.h"
#include "fl/status.h"

namespace fl {

// One named block of an app-defined model's parameter vector, as the
// population declares it (model: {kind: custom, layout: [{name, size}...]}).
struct ParameterBlock {
  std::string name;
  uint64_t size = 0;
};

class FL_EXPORT Model {
 public:
  // Checks the bytes as the coordinator does (format version, CRC-32, spec,
  // parameter count, finite weights, standardisation): DataLoss for corrupt
  // bytes, FailedPrecondition for another format version. `version` is the
  // registry's id when the caller knows it (0: unknown).
  static Result<Model> load(std::string_view model_file, int64_t version = 0);

  Model(const Model&);
  Model& operator=(const Model&);
  Model(Model&&) noexcept;
  Model& operator=(Model&&) noexcept;
  ~Model();

  // "linear", "logistic", "softmax", "svm", "mlp" or "custom".
  std::string_view kind() const;
  bool is_classifier() const;
  // Features per row that predict() takes (0 for kind custom).
  int input_dim() const;
  // Values per row that predict() returns: the classes of a classifier with
  // probabilities (2 for logistic), 1 for a regressor, the margins of an SVM
  // (1 when binary, else one per class). 0 for kind custom.
  int num_outputs() const;
  // Every parameter, one flat vector: for the built-in kinds in the layout
  // the README documents ("Weight layouts"), for kind custom in the app's
  // own (layout()). Valid as long as this Model or a copy of it lives.
  std::span<const float> parameters() const;
  // Kind custom: the declared blocks in order, their sizes summing to
  // parameters().size(). Empty for the built-in kinds.
  const std::vector<ParameterBlock>& layout() const;
  // The registry's version id, 0 when unknown.
  int64_t version() const;
  // Free-form provenance from the file ("round", ...).
  const std::map<std::string, std::string>& metadata() const;
  // One line for logs: "softmax(4 -> 3)".
  std::string describe() const;

  // For one row of raw features (input_dim() values): class probabilities of
  // a classifier (summing to 1), the value of a regressor, an SVM's margins.
  // InvalidArgument for a row of the wrong length; FailedPrecondition for
  // kind custom (only the app's code knows what its weights compute).
  Result<std::vector<float>> predict(std::span<const float> x) const;
  // The predicted class (0-based) of a classifier; FailedPrecondition for a
  // regressor and for kind custom.
  Result<int> predict_class(std::span<const float> x) const;

 private:
  struct Impl;
  explicit Model(std::shared_ptr<const Impl> impl);
  std::shared_ptr<const Impl> impl_;
};

}  // namespace fl
