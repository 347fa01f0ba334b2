// The built-in trainer over fl_model (see fl/model_trainer.h).
#include "fl/model_trainer.h"

#include <exception>
#include <optional>
#include <utility>

#include "client_sdk/shard.h"
#include "model/csv_reader.h"
#include "model/fashion_mnist.h"
#include "model/metrics.h"
#include "model/model.h"
#include "model/partition.h"
#include "model/serialization.h"
#include "model/train.h"

namespace fl {
namespace {

class ModelTrainer final : public Trainer {
 public:
  ModelTrainer(model::Dataset shard, model::Dataset held_out)
      : shard_(std::move(shard)), held_out_(std::move(held_out)) {}

  uint64_t num_examples() const override { return static_cast<uint64_t>(shard_.size()); }

  Status on_global_model(std::string_view model_file, int64_t version) override {
    auto loaded = model::load_model(model_file, "global model version " + std::to_string(version));
    if (!loaded.ok()) return loaded.status();
    const model::ModelSpec& spec = loaded->spec;
    FL_RETURN_IF_ERROR(model::require_built_in(
        spec, "the built-in trainer (fl::make_model_trainer); give fl::Client your own Trainer"));
    if (spec.input_dim != shard_.dim())
      return InvalidArgument("the global model (" + model::describe(spec) + ") takes " +
                             std::to_string(spec.input_dim) + " features but " + shard_.source +
                             " has " + std::to_string(shard_.dim()));
    if (model::is_classifier(spec) != shard_.is_classification())
      return InvalidArgument("the global model (" + model::describe(spec) + ") is a " +
                             (model::is_classifier(spec) ? "classifier" : "regressor") + " but " +
                             shard_.source + " has " +
                             (shard_.is_classification() ? "class labels" : "real targets"));
    if (shard_.is_classification() && shard_.num_classes > spec.num_classes)
      return InvalidArgument(shard_.source + " has labels up to " +
                             std::to_string(shard_.num_classes - 1) + " but the global model has " +
                             std::to_string(spec.num_classes) + " classes");
    shard_.num_classes = shard_.is_classification() ? spec.num_classes : 0;
    held_out_.num_classes = shard_.num_classes;
    model_ = std::move(*loaded);
    return Status::Ok();
  }

  Result<LocalTrainingResult> train(std::span<const float> global_weights, const TrainingPlan& plan,
                                    const CancellationToken& cancel) override {
    FL_RETURN_IF_ERROR(set_weights(global_weights));
    model::TrainConfig config;
    config.epochs = static_cast<int>(plan.epochs);
    config.batch_size = static_cast<int>(plan.batch_size);
    config.lr = plan.learning_rate;
    auto optimizer = model::parse_optimizer(plan.optimizer.empty() ? "sgd" : plan.optimizer);
    if (!optimizer.ok()) return optimizer.status();
    config.optimizer = *optimizer;
    config.momentum = plan.momentum;
    config.weight_decay = plan.weight_decay;
    config.fedprox_mu = plan.fedprox_mu;
    config.seed = plan.seed;
    config.num_threads = num_threads_;
    config.should_stop = [&cancel] { return cancel.cancelled(); };
    FL_RETURN_IF_ERROR(model::validate_train_config(config));
    auto report = model::train(*model_, shard_, config,
                               plan.fedprox_mu > 0 ? global_weights.data() : nullptr);
    if (!report.ok()) return report.status();
    LocalTrainingResult out;
    out.weights.assign(model_->params.data(), model_->params.data() + model_->params.size());
    out.examples = static_cast<uint64_t>(shard_.size());
    out.metrics["train_loss"] = report->final_loss();
    out.metrics["train_seconds"] = report->seconds;
    return out;
  }

  Result<std::map<std::string, double>> evaluate(std::span<const float> weights) override {
    FL_RETURN_IF_ERROR(set_weights(weights));
    auto metrics = model::evaluate(*model_, shard_);
    if (!metrics.ok()) return metrics.status();
    std::map<std::string, double> out{{"loss", metrics->loss}};
    if (metrics->classification) out["accuracy"] = metrics->classification->accuracy;
    if (metrics->regression) out["mse"] = metrics->regression->mse;
    return out;
  }

  Result<LocalEvaluation> evaluate_counts(std::span<const float> weights) override {
    if (held_out_.size() == 0)
      return FailedPrecondition("no held-out examples (evaluation_fraction is 0)");
    FL_RETURN_IF_ERROR(set_weights(weights));
    auto metrics = model::evaluate(*model_, held_out_);
    if (!metrics.ok()) return metrics.status();
    LocalEvaluation out;
    out.examples = static_cast<uint64_t>(metrics->count);
    out.loss_sum = metrics->loss * static_cast<double>(metrics->count);
    if (metrics->regression) {
      // The sums model::regression_metrics divided by the count.
      out.squared_error_sum = metrics->regression->mse * static_cast<double>(metrics->count);
      out.absolute_error_sum = metrics->regression->mae * static_cast<double>(metrics->count);
      return out;
    }
    if (!metrics->classification)
      return Internal("model::evaluate returned neither classification nor regression metrics");
    const auto& confusion = metrics->classification->confusion;
    out.num_classes = static_cast<uint32_t>(confusion.rows());
    for (Eigen::Index t = 0; t < confusion.rows(); ++t)
      for (Eigen::Index p = 0; p < confusion.cols(); ++p)
        out.confusion.push_back(static_cast<uint64_t>(confusion(t, p)));
    return out;
  }

  void set_num_threads(int n) { num_threads_ = n; }

 private:
  Status set_weights(std::span<const float> weights) {
    if (!model_) return FailedPrecondition("the built-in trainer has not been given a model yet");
    if (static_cast<int64_t>(weights.size()) != model_->params.size())
      return InvalidArgument("weights have " + std::to_string(weights.size()) +
                             " values; the model has " + std::to_string(model_->params.size()));
    model_->params = Eigen::Map<const Eigen::VectorXf>(weights.data(),
                                                       static_cast<Eigen::Index>(weights.size()));
    return Status::Ok();
  }

  model::Dataset shard_;
  model::Dataset held_out_;
  std::optional<model::Model> model_;
  int num_threads_ = 1;
};

Result<model::Dataset> load_dataset(const BuiltinTrainerOptions& options) {
  const std::string& name = options.dataset;
  if (name == "fashion-mnist")
    return model::load_fashion_mnist(model::kDefaultFashionMnistDir, model::Split::kTrain);
  if (name.starts_with("fashion-mnist:"))
    return model::load_fashion_mnist(name.substr(14), model::Split::kTrain);
  if (name.starts_with("csv:")) {
    if (options.target_column.empty())
      return InvalidArgument("dataset " + name + ": name the target column");
    model::CsvOptions csv;
    csv.target_column = options.target_column;
    csv.task = options.regression ? model::Task::kRegression : model::Task::kClassification;
    return model::load_csv(name.substr(4), csv);
  }
  return InvalidArgument("dataset '" + name +
                         "': expected fashion-mnist, fashion-mnist:DIR or csv:PATH");
}

}  // namespace

Result<std::unique_ptr<Trainer>> make_model_trainer(const BuiltinTrainerOptions& options) {
  try {
    if (options.num_threads < 0) return InvalidArgument("num_threads must be >= 0");
    auto data = load_dataset(options);
    if (!data.ok()) return data.status();
    Result<std::vector<int64_t>> indices = std::vector<int64_t>{};
    std::string piece =
        "shard " + std::to_string(options.shard_index) + "/" + std::to_string(options.shard_count);
    if (options.partition.empty()) {
      indices = client_sdk::shard_indices(data->size(), options.shard_index, options.shard_count,
                                          options.partition_seed);
    } else {
      if (!data->is_classification())
        return InvalidArgument("partition '" + options.partition + "' needs class labels");
      auto spec = model::parse_partition_spec(options.partition);
      if (!spec.ok()) return spec.status();
      client_sdk::PartitionedShard shard;
      shard.spec = *spec;
      shard.spec.min_examples = options.min_examples;
      shard.clients = options.partition_clients;
      shard.index = options.partition_index;
      shard.seed = options.partition_seed;
      shard.data_limit = options.data_limit;
      indices = client_sdk::partition_shard_indices(data->labels, data->num_classes, shard);
      piece = "client " + std::to_string(options.partition_index) + "/" +
              std::to_string(options.partition_clients) + " of partition " + options.partition;
    }
    if (!indices.ok()) return indices.status();
    if (!(options.evaluation_fraction >= 0 && options.evaluation_fraction < 1))
      return InvalidArgument("evaluation_fraction must be in [0, 1)");
    // The shard is in shuffled order: its tail is a random held-out sample.
    std::vector<int64_t> train_indices(indices->begin(), indices->end());
    const auto held = static_cast<size_t>(options.evaluation_fraction *
                                          static_cast<double>(train_indices.size()));
    std::vector<int64_t> held_indices(train_indices.end() - static_cast<std::ptrdiff_t>(held),
                                      train_indices.end());
    train_indices.resize(train_indices.size() - held);
    model::Dataset held_out = model::subset(*data, held_indices);
    held_out.num_classes = data->num_classes;
    model::Dataset shard = model::subset(*data, train_indices);
    shard.num_classes = data->num_classes;
    shard.source = data->source + " " + piece;
    auto trainer = std::make_unique<ModelTrainer>(std::move(shard), std::move(held_out));
    trainer->set_num_threads(options.num_threads);
    return std::unique_ptr<Trainer>(std::move(trainer));
  } catch (const std::exception& e) {
    return Internal(std::string("built-in trainer: ") + e.what());
  } catch (...) {
    return Internal("built-in trainer: unknown exception");
  }
}

}  // namespace fl
