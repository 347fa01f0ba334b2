// The C ABI (fl/c_api.h) over fl::Client. Every entry point checks its
// handles and sizes first and catches everything: no C++ exception and no
// null dereference reaches a C caller.
#include "fl/c_api.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "fl/client.h"
#include "fl/model.h"
#include "fl/version.h"

struct fl_options {
  fl::ClientOptions options;
  void (*log)(void*, const char*) = nullptr;
  void* log_user = nullptr;
};

struct fl_client {
  std::unique_ptr<fl::Client> client;
};

struct fl_model {
  fl::Model model;
};

struct fl_round_report {
  fl::RoundReport report;
};

struct fl_training_plan {
  const fl::TrainingPlan* plan;
};

struct fl_cancel_token {
  const fl::CancellationToken* token;
};

namespace {

// Stores the message (when asked for) and returns the code. Never throws:
// malloc, not std::string, holds the copy.
int fail(char** errptr, fl::ErrorCode code, const char* message) noexcept {
  if (errptr != nullptr) {
    std::free(*errptr);  // LevelDB's convention: a previous message is replaced
    const size_t n = std::strlen(message);
    *errptr = static_cast<char*>(std::malloc(n + 1));
    if (*errptr != nullptr) std::memcpy(*errptr, message, n + 1);
  }
  return static_cast<int>(code);
}

int fail(char** errptr, fl::ErrorCode code, const std::string& message) noexcept {
  return fail(errptr, code, message.c_str());
}

int fail(char** errptr, const fl::Status& status) noexcept {
  return fail(errptr, status.code(), status.message().c_str());
}

// Every entry point that can fail runs its whole body here, its argument
// checks included: no exception (an allocation failing while a message is
// built) crosses into C.
template <typename F>
int guarded(char** errptr, const char* what, F&& body) noexcept {
  char message[256];
  try {
    return body();
  } catch (const std::bad_alloc&) {
    std::snprintf(message, sizeof(message), "%s: out of memory", what);
    return fail(errptr, fl::ErrorCode::kResourceExhausted, message);
  } catch (const std::exception& e) {
    std::snprintf(message, sizeof(message), "%s: %s", what, e.what());
    return fail(errptr, fl::ErrorCode::kInternal, message);
  } catch (...) {
    std::snprintf(message, sizeof(message), "%s: unexpected exception", what);
    return fail(errptr, fl::ErrorCode::kInternal, message);
  }
}

// The codes are fl::ErrorCode's: fl_code's values are part of the ABI.
static_assert(FL_INVALID_ARGUMENT == static_cast<int>(fl::ErrorCode::kInvalidArgument));
static_assert(FL_UNAVAILABLE == static_cast<int>(fl::ErrorCode::kUnavailable));
static_assert(FL_INTERNAL == static_cast<int>(fl::ErrorCode::kInternal));
static_assert(FL_CANCELLED == static_cast<int>(fl::ErrorCode::kCancelled));
static_assert(FL_DEADLINE_EXCEEDED == static_cast<int>(fl::ErrorCode::kDeadlineExceeded));

int set_string(fl_options* options, const char* value, std::string fl::ClientOptions::*field) {
  if (options == nullptr || value == nullptr) return FL_INVALID_ARGUMENT;
  try {
    options->options.*field = value;
  } catch (...) {
    return static_cast<int>(fl::ErrorCode::kResourceExhausted);
  }
  return FL_OK;
}

// The C trainer table as an fl::Trainer.
class CTrainer final : public fl::Trainer {
 public:
  explicit CTrainer(const fl_trainer& table) : table_(table) {}
  ~CTrainer() override {
    if (table_.destroy != nullptr) table_.destroy(table_.user);
  }

  fl::Result<fl::LocalTrainingResult> train(std::span<const float> global,
                                            const fl::TrainingPlan& plan,
                                            const fl::CancellationToken& cancel) override {
    fl::LocalTrainingResult out;
    out.weights.assign(global.size(), 0.0f);
    fl_training_plan c_plan{&plan};
    fl_cancel_token c_cancel{&cancel};
    char error[512] = {0};
    uint64_t examples = 0;
    const int code = table_.train(table_.user, global.data(), global.size(), &c_plan, &c_cancel,
                                  out.weights.data(), &examples, error, sizeof(error));
    error[sizeof(error) - 1] = '\0';
    if (code != FL_OK) {
      const auto as_code = code > FL_OK && code <= FL_DEADLINE_EXCEEDED
                               ? static_cast<fl::ErrorCode>(code)
                               : fl::ErrorCode::kInternal;
      return fl::Status(as_code, std::string("the C trainer failed: ") +
                                     (error[0] != '\0' ? error : fl_code_name(code)));
    }
    out.examples = examples;
    return out;
  }

  uint64_t num_examples() const override {
    return table_.num_examples != nullptr ? table_.num_examples(table_.user) : 0;
  }

 private:
  fl_trainer table_;
};

}  // namespace

extern "C" {

int fl_cancel_requested(const fl_cancel_token* cancel) {
  return cancel != nullptr && cancel->token != nullptr && cancel->token->cancelled() ? 1 : 0;
}

#define FL_PLAN_GETTER(type, name, fallback)                                       \
  type fl_training_plan_##name(const fl_training_plan* plan) {                     \
    return plan != nullptr && plan->plan != nullptr ? plan->plan->name : fallback; \
  }
FL_PLAN_GETTER(uint32_t, epochs, 0)
FL_PLAN_GETTER(uint32_t, batch_size, 0)
FL_PLAN_GETTER(float, learning_rate, 0.0f)
FL_PLAN_GETTER(float, momentum, 0.0f)
FL_PLAN_GETTER(float, weight_decay, 0.0f)
FL_PLAN_GETTER(float, fedprox_mu, 0.0f)
FL_PLAN_GETTER(uint64_t, seed, 0)
#undef FL_PLAN_GETTER

const char* fl_training_plan_optimizer(const fl_training_plan* plan) {
  return plan != nullptr && plan->plan != nullptr ? plan->plan->optimizer.c_str() : "";
}

fl_options* fl_options_create(void) { return new (std::nothrow) fl_options(); }
void fl_options_destroy(fl_options* options) { delete options; }

int fl_options_set_coordinator(fl_options* o, const char* v) {
  return set_string(o, v, &fl::ClientOptions::coordinator);
}
int fl_options_set_ca_file(fl_options* o, const char* v) {
  return set_string(o, v, &fl::ClientOptions::ca_file);
}
int fl_options_set_identity_file(fl_options* o, const char* v) {
  return set_string(o, v, &fl::ClientOptions::identity_file);
}
int fl_options_set_population(fl_options* o, const char* v) {
  return set_string(o, v, &fl::ClientOptions::population);
}
int fl_options_set_device_token(fl_options* o, const char* v) {
  return set_string(o, v, &fl::ClientOptions::device_token);
}
int fl_options_set_device_certificate_file(fl_options* o, const char* v) {
  return set_string(o, v, &fl::ClientOptions::device_certificate_file);
}
int fl_options_set_label(fl_options* o, const char* v) {
  return set_string(o, v, &fl::ClientOptions::label);
}
int fl_options_set_client_certificate(fl_options* o, const char* cert, const char* key) {
  if (o == nullptr || cert == nullptr || key == nullptr) return FL_INVALID_ARGUMENT;
  int code = set_string(o, cert, &fl::ClientOptions::client_certificate_file);
  if (code != FL_OK) return code;
  return set_string(o, key, &fl::ClientOptions::client_key_file);
}
int fl_options_set_allow_insecure_http(fl_options* o, int allow) {
  if (o == nullptr) return FL_INVALID_ARGUMENT;
  o->options.allow_insecure_http = allow != 0;
  return FL_OK;
}
int fl_options_set_round_timeout_ms(fl_options* o, int64_t ms) {
  if (o == nullptr) return FL_INVALID_ARGUMENT;
  o->options.round_timeout = std::chrono::milliseconds(ms);  // checked by fl_client_create
  return FL_OK;
}
int fl_options_set_retry(fl_options* o, int max_attempts, int64_t base_ms, int64_t max_ms) {
  if (o == nullptr) return FL_INVALID_ARGUMENT;
  o->options.retry.max_attempts = max_attempts;
  o->options.retry.base_delay = std::chrono::milliseconds(base_ms);
  o->options.retry.max_delay = std::chrono::milliseconds(max_ms);
  return FL_OK;
}
int fl_options_set_round_failure_backoff(fl_options* o, int64_t base_ms, int64_t max_ms) {
  if (o == nullptr) return FL_INVALID_ARGUMENT;
  if (base_ms < 0 || max_ms < base_ms) return FL_INVALID_ARGUMENT;
  o->options.retry.round_failure_base_delay = std::chrono::milliseconds(base_ms);
  o->options.retry.round_failure_max_delay = std::chrono::milliseconds(max_ms);
  return FL_OK;
}
int fl_options_set_logger(fl_options* o, void (*log)(void*, const char*), void* user) {
  if (o == nullptr) return FL_INVALID_ARGUMENT;
  o->log = log;
  o->log_user = user;
  return FL_OK;
}

fl_client* fl_client_create(const fl_options* options, const fl_trainer* trainer, char** errptr) {
  fl_client* created = nullptr;
  guarded(errptr, "fl_client_create", [&]() -> int {
    if (trainer == nullptr)
      return fail(errptr, fl::ErrorCode::kInvalidArgument, "fl_client_create: trainer is NULL");
    if (trainer->struct_size < sizeof(fl_trainer)) {
      // Smaller than any table this library knows: its layout is unknown, so
      // not even destroy() is called. A larger one (a newer header) is read
      // up to the fields this library knows.
      return fail(errptr, fl::ErrorCode::kInvalidArgument,
                  "fl_client_create: trainer.struct_size is " +
                      std::to_string(trainer->struct_size) +
                      ", expected sizeof(fl_trainer) = " + std::to_string(sizeof(fl_trainer)));
    }
    auto c_trainer = std::make_unique<CTrainer>(*trainer);  // destroy() runs on any return
    if (trainer->train == nullptr)
      return fail(errptr, fl::ErrorCode::kInvalidArgument,
                  "fl_client_create: trainer.train is NULL");
    if (options == nullptr)
      return fail(errptr, fl::ErrorCode::kInvalidArgument, "fl_client_create: options is NULL");
    fl::ClientOptions copy = options->options;
    if (options->log != nullptr) {
      auto log = options->log;
      void* user = options->log_user;
      copy.logger = [log, user](std::string_view line) {
        const std::string text(line);
        log(user, text.c_str());
      };
    }
    auto client = fl::Client::create(std::move(copy), std::move(c_trainer));
    if (!client.ok()) return fail(errptr, client.status());
    created = new fl_client{std::move(*client)};
    return FL_OK;
  });
  return created;
}

void fl_client_destroy(fl_client* client) { delete client; }

int fl_client_enroll(fl_client* client, char** errptr) {
  return guarded(errptr, "fl_client_enroll", [&]() -> int {
    if (client == nullptr)
      return fail(errptr, fl::ErrorCode::kInvalidArgument, "fl_client_enroll: client is NULL");
    fl::Status s = client->client->enroll();
    return s.ok() ? FL_OK : fail(errptr, s);
  });
}

uint64_t fl_client_id(const fl_client* client) {
  return client != nullptr ? client->client->client_id() : 0;
}

int fl_client_participate(fl_client* client, int64_t max_wait_ms, fl_round_report** report,
                          char** errptr) {
  return guarded(errptr, "fl_client_participate", [&]() -> int {
    if (report != nullptr) *report = nullptr;
    if (client == nullptr || report == nullptr)
      return fail(errptr, fl::ErrorCode::kInvalidArgument,
                  std::string("fl_client_participate: ") +
                      (client == nullptr ? "client" : "report") + " is NULL");
    if (max_wait_ms < 0)
      return fail(errptr, fl::ErrorCode::kInvalidArgument,
                  "fl_client_participate: max_wait_ms must be >= 0");
    auto result = client->client->participate(std::chrono::milliseconds(max_wait_ms));
    if (!result.ok()) return fail(errptr, result.status());
    *report = new fl_round_report{std::move(*result)};
    return FL_OK;
  });
}

void fl_client_cancel(fl_client* client) {
  if (client == nullptr) return;
  try {
    client->client->cancel();
  } catch (...) {  // a mutex that cannot lock: nothing to tell a C caller
  }
}

void fl_round_report_destroy(fl_round_report* report) { delete report; }
uint64_t fl_round_report_round_id(const fl_round_report* r) {
  return r != nullptr ? r->report.round_id : 0;
}
int fl_round_report_completed(const fl_round_report* r) {
  return r != nullptr && r->report.completed ? 1 : 0;
}
int64_t fl_round_report_model_version(const fl_round_report* r) {
  return r != nullptr ? r->report.model_version : 0;
}
int64_t fl_round_report_new_version(const fl_round_report* r) {
  return r != nullptr ? r->report.new_version : 0;
}
const char* fl_round_report_failure_reason(const fl_round_report* r) {
  return r != nullptr ? r->report.failure_reason.c_str() : "";
}
uint64_t fl_round_report_examples(const fl_round_report* r) {
  return r != nullptr ? r->report.examples : 0;
}
double fl_round_report_train_seconds(const fl_round_report* r) {
  return r != nullptr ? r->report.train_seconds : 0.0;
}
uint64_t fl_round_report_bytes_up(const fl_round_report* r) {
  return r != nullptr ? r->report.bytes_up : 0;
}
uint64_t fl_round_report_bytes_down(const fl_round_report* r) {
  return r != nullptr ? r->report.bytes_down : 0;
}
int64_t fl_round_report_retry_after_ms(const fl_round_report* r) {
  return r != nullptr ? r->report.retry_after.count() : 0;
}

void fl_free(void* ptr) { std::free(ptr); }

int fl_client_fetch_published_model(fl_client* client, fl_model** model, char** errptr) {
  return guarded(errptr, "fl_client_fetch_published_model", [&]() -> int {
    if (model != nullptr) *model = nullptr;
    if (client == nullptr || model == nullptr)
      return fail(errptr, fl::ErrorCode::kInvalidArgument,
                  std::string("fl_client_fetch_published_model: ") +
                      (client == nullptr ? "client" : "model") + " is NULL");
    auto fetched = client->client->fetch_published_model();
    if (!fetched.ok()) return fail(errptr, fetched.status());
    *model = new fl_model{std::move(*fetched)};
    return FL_OK;
  });
}

int fl_model_load(const char* bytes, size_t size, int64_t version, fl_model** model,
                  char** errptr) {
  return guarded(errptr, "fl_model_load", [&]() -> int {
    if (model != nullptr) *model = nullptr;
    if (bytes == nullptr || model == nullptr)
      return fail(
          errptr, fl::ErrorCode::kInvalidArgument,
          std::string("fl_model_load: ") + (bytes == nullptr ? "bytes" : "model") + " is NULL");
    if (version < 0)
      return fail(
          errptr, fl::ErrorCode::kInvalidArgument,
          "fl_model_load: version must be >= 0 (0: unknown), not " + std::to_string(version));
    auto loaded = fl::Model::load(std::string_view(bytes, size), version);
    if (!loaded.ok()) return fail(errptr, loaded.status());
    *model = new fl_model{std::move(*loaded)};
    return FL_OK;
  });
}

void fl_model_destroy(fl_model* model) { delete model; }

int64_t fl_model_version(const fl_model* model) {
  return model != nullptr ? model->model.version() : 0;
}

const char* fl_model_kind(const fl_model* model) {
  // model_kind_name's views are of string literals: NUL-terminated.
  return model != nullptr ? model->model.kind().data() : "";
}

const float* fl_model_parameters(const fl_model* model, size_t* n) {
  if (n == nullptr) return nullptr;
  *n = 0;
  if (model == nullptr) return nullptr;
  const std::span<const float> p = model->model.parameters();
  *n = p.size();
  return p.data();
}

size_t fl_model_layout_size(const fl_model* model) {
  return model != nullptr ? model->model.layout().size() : 0;
}

int fl_model_layout_block(const fl_model* model, size_t i, const char** name, uint64_t* size,
                          char** errptr) {
  return guarded(errptr, "fl_model_layout_block", [&]() -> int {
    if (name != nullptr) *name = nullptr;
    if (size != nullptr) *size = 0;
    if (model == nullptr || name == nullptr || size == nullptr)
      return fail(errptr, fl::ErrorCode::kInvalidArgument,
                  std::string("fl_model_layout_block: ") +
                      (model == nullptr  ? "model"
                       : name == nullptr ? "name"
                                         : "size") +
                      " is NULL");
    const auto& layout = model->model.layout();
    if (i >= layout.size())
      return fail(errptr, fl::ErrorCode::kInvalidArgument,
                  "fl_model_layout_block: block " + std::to_string(i) + " of " +
                      std::to_string(layout.size()) + " (" + model->model.describe() + ")");
    *name = layout[i].name.c_str();
    *size = layout[i].size;
    return FL_OK;
  });
}

size_t fl_model_input_dim(const fl_model* model) {
  return model != nullptr ? static_cast<size_t>(model->model.input_dim()) : 0;
}

size_t fl_model_num_outputs(const fl_model* model) {
  return model != nullptr ? static_cast<size_t>(model->model.num_outputs()) : 0;
}

int fl_model_predict(const fl_model* model, const float* x, size_t n, float* out, size_t out_n,
                     char** errptr) {
  return guarded(errptr, "fl_model_predict", [&]() -> int {
    if (model == nullptr || x == nullptr || out == nullptr)
      return fail(errptr, fl::ErrorCode::kInvalidArgument,
                  std::string("fl_model_predict: ") +
                      (model == nullptr ? "model"
                       : x == nullptr   ? "x"
                                        : "out") +
                      " is NULL");
    const size_t outputs = fl_model_num_outputs(model);
    if (out_n < outputs)
      return fail(errptr, fl::ErrorCode::kInvalidArgument,
                  "fl_model_predict: out_n is " + std::to_string(out_n) + " but " +
                      model->model.describe() + " gives " + std::to_string(outputs) + " values");
    auto predicted = model->model.predict(std::span<const float>(x, n));
    if (!predicted.ok()) return fail(errptr, predicted.status());
    std::copy(predicted->begin(), predicted->end(), out);
    return FL_OK;
  });
}

int fl_model_predict_class(const fl_model* model, const float* x, size_t n, int* out_class,
                           char** errptr) {
  return guarded(errptr, "fl_model_predict_class", [&]() -> int {
    if (model == nullptr || x == nullptr || out_class == nullptr)
      return fail(errptr, fl::ErrorCode::kInvalidArgument,
                  std::string("fl_model_predict_class: ") +
                      (model == nullptr ? "model"
                       : x == nullptr   ? "x"
                                        : "out_class") +
                      " is NULL");
    auto predicted = model->model.predict_class(std::span<const float>(x, n));
    if (!predicted.ok()) return fail(errptr, predicted.status());
    *out_class = *predicted;
    return FL_OK;
  });
}

const char* fl_version(void) { return FL_VERSION_STRING; }

const char* fl_code_name(int code) {
  if (code < FL_OK || code > FL_DEADLINE_EXCEEDED) return "unknown";
  // error_code_name's views are of string literals: NUL-terminated.
  return fl::error_code_name(static_cast<fl::ErrorCode>(code)).data();
}

}  // extern "C"
