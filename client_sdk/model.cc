// fl::Model over the model file reader and the flat forward pass
// (model/flat_predict.h): no Eigen in the device library.
#include "fl/model.h"

#include <exception>
#include <new>
#include <utility>

#include "model/flat_predict.h"
#include "model/model_file.h"

namespace fl {

// Hidden although nested in an exported class: not part of libfl_client.so's ABI.
struct __attribute__((visibility("hidden"))) Model::Impl {
  model::ModelForInference file;
  int64_t version = 0;
  std::vector<ParameterBlock> layout;  // kind custom's, else empty
};

namespace {

// Errors as values: nothing of ours throws into the app.
template <typename T, typename F>
Result<T> guarded(const char* what, F&& body) {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return ResourceExhausted(std::string(what) + ": out of memory");
  } catch (const std::exception& e) {
    return Internal(std::string(what) + ": " + e.what());
  } catch (...) {
    return Internal(std::string(what) + ": unexpected exception");
  }
}

const std::map<std::string, std::string>& no_metadata() {
  static const std::map<std::string, std::string> kEmpty;
  return kEmpty;
}

Status moved_from(const char* what) {
  return FailedPrecondition(std::string(what) + ": this fl::Model was moved from");
}

}  // namespace

Model::Model(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
Model::Model(const Model&) = default;
Model& Model::operator=(const Model&) = default;
Model::Model(Model&&) noexcept = default;
Model& Model::operator=(Model&&) noexcept = default;
Model::~Model() = default;

Result<Model> Model::load(std::string_view model_file, int64_t version) {
  return guarded<Model>("fl::Model::load", [&]() -> Result<Model> {
    const std::string source =
        version > 0 ? "model version " + std::to_string(version) : std::string("model file");
    auto file = model::read_model_for_inference(model_file, source);
    if (!file.ok()) return file.status();
    // An app-defined model loads for its parameters and layout; predict()
    // refuses it (no forward pass of ours means anything over its weights).
    auto impl = std::make_shared<Impl>();
    for (const model::ParameterBlock& b : file->weights.spec.layout)
      impl->layout.push_back({b.name, static_cast<uint64_t>(b.size)});
    impl->file = std::move(*file);
    impl->version = version;
    return Model(std::move(impl));
  });
}

std::string_view Model::kind() const {
  return impl_ ? model::model_kind_name(impl_->file.weights.spec.kind) : std::string_view();
}

bool Model::is_classifier() const {
  return impl_ && model::is_classifier(impl_->file.weights.spec);
}

int Model::input_dim() const { return impl_ ? impl_->file.weights.spec.input_dim : 0; }

int Model::num_outputs() const {
  if (!impl_ || impl_->file.weights.spec.kind == model::ModelKind::kCustom) return 0;
  return model::flat_num_outputs(impl_->file.weights.spec);
}

std::span<const float> Model::parameters() const {
  return impl_ ? std::span<const float>(impl_->file.weights.params) : std::span<const float>();
}

const std::vector<ParameterBlock>& Model::layout() const {
  static const std::vector<ParameterBlock> kNone;
  return impl_ ? impl_->layout : kNone;
}

int64_t Model::version() const { return impl_ ? impl_->version : 0; }

const std::map<std::string, std::string>& Model::metadata() const {
  return impl_ ? impl_->file.metadata : no_metadata();
}

std::string Model::describe() const {
  try {
    return impl_ ? model::describe(impl_->file.weights.spec) : std::string("(moved from)");
  } catch (...) {
    return {};
  }
}

Result<std::vector<float>> Model::predict(std::span<const float> x) const {
  return guarded<std::vector<float>>("fl::Model::predict", [&]() -> Result<std::vector<float>> {
    if (!impl_) return moved_from("fl::Model::predict");
    FL_RETURN_IF_ERROR(model::require_built_in(impl_->file.weights.spec, "fl::Model::predict"));
    return model::flat_predict(impl_->file, x);
  });
}

Result<int> Model::predict_class(std::span<const float> x) const {
  return guarded<int>("fl::Model::predict_class", [&]() -> Result<int> {
    if (!impl_) return moved_from("fl::Model::predict_class");
    FL_RETURN_IF_ERROR(
        model::require_built_in(impl_->file.weights.spec, "fl::Model::predict_class"));
    if (!model::is_classifier(impl_->file.weights.spec))
      return FailedPrecondition(model::describe(impl_->file.weights.spec) +
                                " is a regressor; predict() gives its value");
    auto scores = model::flat_decision_function(impl_->file, x);
    if (!scores.ok()) return scores.status();
    return model::flat_class_from_scores(*scores);
  });
}

}  // namespace fl
