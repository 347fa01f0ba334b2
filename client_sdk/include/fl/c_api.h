/* The client SDK's C ABI: for apps and bindings that cannot use the C++ API
 * (C, Swift, Kotlin/JNI, Python ctypes, an NDK app built with another C++
 * standard library). After LevelDB's c.h:
 *
 *   - opaque handles, created and destroyed by the library;
 *   - no C++ type crosses it: integers, doubles, floats, char pointers and
 *     function pointers only;
 *   - every fallible call returns an fl_code (FL_OK is 0) and, when `errptr`
 *     is not NULL, stores a message there that the caller frees with
 *     fl_free(); *errptr must be NULL or a message from this library (it is
 *     freed and replaced); a NULL handle or argument, or a struct smaller
 *     than this header's (`struct_size`), is FL_INVALID_ARGUMENT, never a
 *     crash;
 *   - the trainer is a table of C function pointers with a `void* user`.
 *
 *   fl_options* o = fl_options_create();
 *   fl_options_set_coordinator(o, "https://coordinator.example:8443");
 *   fl_options_set_identity_file(o, "device.key");
 *   fl_options_set_population(o, "sensors");
 *   fl_trainer t = {sizeof(fl_trainer), my_state, my_train, my_num_examples, NULL};
 *   char* err = NULL;
 *   fl_client* c = fl_client_create(o, &t, &err);
 *   fl_round_report* r = NULL;
 *   if (fl_client_participate(c, 600000, &r, &err) == FL_OK) { ...; fl_round_report_destroy(r); }
 *   fl_client_destroy(c); fl_options_destroy(o);
 *
 * Semantics are those of fl/client.h (participate, cancel, backoff).
 * Thread-safety: as fl::Client: one thread uses a client at a time, except
 * fl_client_cancel(), which any thread may call. */
#ifndef FL_C_API_H_
#define FL_C_API_H_

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define FL_C_EXPORT __attribute__((visibility("default")))
#else
#define FL_C_EXPORT
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Mirrors fl::ErrorCode (fl/status.h); values are part of the ABI. */
typedef enum fl_code {
  FL_OK = 0,
  FL_INVALID_ARGUMENT = 1,
  FL_FAILED_PRECONDITION = 2,
  FL_NOT_FOUND = 3,
  FL_ALREADY_EXISTS = 4,
  FL_PERMISSION_DENIED = 5,
  FL_DATA_LOSS = 6,
  FL_ABORTED = 7,
  FL_RESOURCE_EXHAUSTED = 8,
  FL_UNAVAILABLE = 9,
  FL_INTERNAL = 10,
  FL_CANCELLED = 11,
  FL_DEADLINE_EXCEEDED = 12
} fl_code;

typedef struct fl_options fl_options;
typedef struct fl_client fl_client;
typedef struct fl_round_report fl_round_report;
typedef struct fl_training_plan fl_training_plan;
typedef struct fl_cancel_token fl_cancel_token;
typedef struct fl_model fl_model;

/* ---- the trainer ---------------------------------------------------------
 * train: train from `global` (n floats) on local data; write the new local
 * weights (n floats, NOT the difference) to `out_weights` and the example
 * count (> 0) to `out_examples`. Return FL_OK, or an error code and a message
 * in `error` (a buffer of `error_size` bytes the SDK owns; NUL-terminate it).
 * Check fl_cancel_requested(cancel) between batches and return FL_CANCELLED
 * soon after it turns 1. Called on the SDK's training thread.
 * num_examples: local example count for check-in; may be NULL (unknown).
 * destroy: called once when the client is destroyed (or its creation
 * fails); may be NULL. */
typedef struct fl_trainer {
  size_t struct_size; /* sizeof(fl_trainer); a larger table (a newer header) is read up to
                         the fields this library knows */
  void* user;
  int (*train)(void* user, const float* global, size_t n, const fl_training_plan* plan,
               const fl_cancel_token* cancel, float* out_weights, uint64_t* out_examples,
               char* error, size_t error_size);
  uint64_t (*num_examples)(void* user);
  void (*destroy)(void* user);
} fl_trainer;

FL_C_EXPORT int fl_cancel_requested(const fl_cancel_token* cancel);

/* The round's TrainingPlan (fl/trainer.h); valid during train() only. */
FL_C_EXPORT uint32_t fl_training_plan_epochs(const fl_training_plan* plan);
FL_C_EXPORT uint32_t fl_training_plan_batch_size(const fl_training_plan* plan);
FL_C_EXPORT float fl_training_plan_learning_rate(const fl_training_plan* plan);
FL_C_EXPORT const char* fl_training_plan_optimizer(const fl_training_plan* plan);
FL_C_EXPORT float fl_training_plan_momentum(const fl_training_plan* plan);
FL_C_EXPORT float fl_training_plan_weight_decay(const fl_training_plan* plan);
FL_C_EXPORT float fl_training_plan_fedprox_mu(const fl_training_plan* plan);
FL_C_EXPORT uint64_t fl_training_plan_seed(const fl_training_plan* plan);

/* ---- options (fl/options.h) ---------------------------------------------- */
FL_C_EXPORT fl_options* fl_options_create(void);
FL_C_EXPORT void fl_options_destroy(fl_options* options);
/* String setters copy `value`; NULL options or value: FL_INVALID_ARGUMENT. */
FL_C_EXPORT int fl_options_set_coordinator(fl_options* options, const char* url);
FL_C_EXPORT int fl_options_set_ca_file(fl_options* options, const char* path);
FL_C_EXPORT int fl_options_set_identity_file(fl_options* options, const char* path);
FL_C_EXPORT int fl_options_set_population(fl_options* options, const char* name);
FL_C_EXPORT int fl_options_set_device_token(fl_options* options, const char* token);
FL_C_EXPORT int fl_options_set_device_certificate_file(fl_options* options, const char* path);
FL_C_EXPORT int fl_options_set_client_certificate(fl_options* options, const char* cert_file,
                                                  const char* key_file);
FL_C_EXPORT int fl_options_set_label(fl_options* options, const char* label);
FL_C_EXPORT int fl_options_set_allow_insecure_http(fl_options* options, int allow);
FL_C_EXPORT int fl_options_set_round_timeout_ms(fl_options* options, int64_t ms);
FL_C_EXPORT int fl_options_set_retry(fl_options* options, int max_attempts, int64_t base_delay_ms,
                                     int64_t max_delay_ms);
FL_C_EXPORT int fl_options_set_round_failure_backoff(fl_options* options, int64_t base_delay_ms,
                                                     int64_t max_delay_ms);
/* One line per event, on the thread inside the call; NULL: none. */
FL_C_EXPORT int fl_options_set_logger(fl_options* options,
                                      void (*log)(void* user, const char* line), void* user);

/* ---- the client (fl/client.h) -------------------------------------------- */
/* Validates the options (copied) and takes the trainer table (copied; its
 * destroy() runs when the client is destroyed, or now if creation fails,
 * except for a NULL or too small table, whose layout is unknown).
 * NULL and *errptr set on failure. fl_client_cancel() may be called from any
 * thread, but not concurrently with fl_client_destroy(). */
FL_C_EXPORT fl_client* fl_client_create(const fl_options* options, const fl_trainer* trainer,
                                        char** errptr);
FL_C_EXPORT void fl_client_destroy(fl_client* client);
FL_C_EXPORT int fl_client_enroll(fl_client* client, char** errptr);
/* 0 for NULL or before enrolment. */
FL_C_EXPORT uint64_t fl_client_id(const fl_client* client);
/* One round (fl::Client::participate). On FL_OK, *report is a new report the
 * caller destroys; otherwise *report is NULL. */
FL_C_EXPORT int fl_client_participate(fl_client* client, int64_t max_wait_ms,
                                      fl_round_report** report, char** errptr);
/* Thread-safe, never blocks (fl::Client::cancel). */
FL_C_EXPORT void fl_client_cancel(fl_client* client);

/* ---- a round's report (fl::RoundReport); 0 / "" for NULL ----------------- */
FL_C_EXPORT void fl_round_report_destroy(fl_round_report* report);
FL_C_EXPORT uint64_t fl_round_report_round_id(const fl_round_report* report);
FL_C_EXPORT int fl_round_report_completed(const fl_round_report* report);
FL_C_EXPORT int64_t fl_round_report_model_version(const fl_round_report* report);
FL_C_EXPORT int64_t fl_round_report_new_version(const fl_round_report* report);
FL_C_EXPORT const char* fl_round_report_failure_reason(const fl_round_report* report);
FL_C_EXPORT uint64_t fl_round_report_examples(const fl_round_report* report);
FL_C_EXPORT double fl_round_report_train_seconds(const fl_round_report* report);
FL_C_EXPORT uint64_t fl_round_report_bytes_up(const fl_round_report* report);
FL_C_EXPORT uint64_t fl_round_report_bytes_down(const fl_round_report* report);
FL_C_EXPORT int64_t fl_round_report_retry_after_ms(const fl_round_report* report);

/* ---- on-device inference (fl/model.h) ------------------------------------
 *   fl_model* m = NULL;
 *   if (fl_client_fetch_published_model(c, &m, &err) == FL_OK) {
 *     float p[3];
 *     fl_model_predict(m, features, 4, p, 3, &err);
 *     fl_model_destroy(m);
 *   }
 * A model is immutable: any number of threads may predict with it. */
/* The model the coordinator publishes for the client's population
 * (fl::Client::fetch_published_model). On FL_OK, *model is a new model the
 * caller destroys; otherwise *model is NULL. FL_NOT_FOUND when nothing is
 * published for the population. */
FL_C_EXPORT int fl_client_fetch_published_model(fl_client* client, fl_model** model, char** errptr);
/* A model from model file bytes (fl::Model::load); `version` 0 if unknown. */
FL_C_EXPORT int fl_model_load(const char* bytes, size_t size, int64_t version, fl_model** model,
                              char** errptr);
FL_C_EXPORT void fl_model_destroy(fl_model* model);
/* The registry's version id; 0 for NULL or unknown. */
FL_C_EXPORT int64_t fl_model_version(const fl_model* model);
/* "linear", "logistic", "softmax", "svm", "mlp", "custom"; "" for NULL. */
FL_C_EXPORT const char* fl_model_kind(const fl_model* model);
/* Every parameter, one flat vector (fl::Model::parameters): the built-in
 * kinds' layouts are in the README, kind custom's is the app's own
 * (fl_model_layout_*). Stores the count in *n and returns the first, owned
 * by the model (valid until fl_model_destroy); NULL and *n = 0 for a NULL
 * model. n may not be NULL (then NULL is returned). */
FL_C_EXPORT const float* fl_model_parameters(const fl_model* model, size_t* n);
/* Kind custom: how many blocks the population declared (0 for a built-in
 * kind or NULL), and block i's name (owned by the model) and size. */
FL_C_EXPORT size_t fl_model_layout_size(const fl_model* model);
FL_C_EXPORT int fl_model_layout_block(const fl_model* model, size_t i, const char** name,
                                      uint64_t* size, char** errptr);
/* Floats per row fl_model_predict takes, and gives; 0 for NULL and kind custom. */
FL_C_EXPORT size_t fl_model_input_dim(const fl_model* model);
FL_C_EXPORT size_t fl_model_num_outputs(const fl_model* model);
/* One row of raw features, `n` == fl_model_input_dim floats. Writes
 * fl_model_num_outputs values to `out` (room for `out_n` >= that): class
 * probabilities of a classifier, the value of a regressor, an SVM's margins.
 * A wrong n or too small out_n is FL_INVALID_ARGUMENT. */
FL_C_EXPORT int fl_model_predict(const fl_model* model, const float* x, size_t n, float* out,
                                 size_t out_n, char** errptr);
/* The predicted class of a classifier; FL_FAILED_PRECONDITION for a regressor.
 * Both refuse kind custom with FL_FAILED_PRECONDITION. */
FL_C_EXPORT int fl_model_predict_class(const fl_model* model, const float* x, size_t n,
                                       int* out_class, char** errptr);

/* ---- misc ----------------------------------------------------------------- */
/* Frees a message stored through an errptr. NULL is fine. */
FL_C_EXPORT void fl_free(void* ptr);
/* "MAJOR.MINOR.PATCH" of the library (fl/version.h at its build). */
FL_C_EXPORT const char* fl_version(void);
/* A constant name for a code ("invalid argument"), "unknown" otherwise. */
FL_C_EXPORT const char* fl_code_name(int code);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* FL_C_API_H_ */
