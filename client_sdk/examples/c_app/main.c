/* A device app in C: the client SDK through its C ABI (fl/c_api.h) only.
 *
 * It trains a linear model y = w.x + b on 200 synthetic sensor readings,
 * like examples/device_app, with the trainer given as a table of C function
 * pointers. Built by the test suite with `gcc -std=c11` against the installed
 * SDK:
 *
 *   gcc -std=c11 main.c -I PREFIX/include -L PREFIX/lib -lfl_client -lm -o c_app
 *   ./c_app --coordinator http://127.0.0.1:8080 --identity dev.key --population sensors
 */
#include <fl/c_api.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FEATURES 4
#define EXAMPLES 200

typedef struct {
  float x[EXAMPLES][FEATURES];
  float y[EXAMPLES];
} sensor_data;

static float predict(const float* w, const float* x) {
  float y = w[FEATURES];
  for (int j = 0; j < FEATURES; ++j) y += w[j] * x[j];
  return y;
}

static int train(void* user, const float* global, size_t n, const fl_training_plan* plan,
                 const fl_cancel_token* cancel, float* out, uint64_t* examples, char* error,
                 size_t error_size) {
  const sensor_data* data = (const sensor_data*)user;
  if (n != FEATURES + 1) {
    snprintf(error, error_size, "expected a linear model over %d features, got %zu weights",
             FEATURES, n);
    return FL_INVALID_ARGUMENT;
  }
  memcpy(out, global, n * sizeof(float));
  float lr = fl_training_plan_learning_rate(plan);
  if (lr <= 0) lr = 0.05f;
  uint32_t epochs = fl_training_plan_epochs(plan);
  if (epochs == 0) epochs = 1;
  for (uint32_t e = 0; e < epochs; ++e) {
    if (fl_cancel_requested(cancel)) {
      snprintf(error, error_size, "cancelled at epoch %u", (unsigned)e);
      return FL_CANCELLED;
    }
    for (int i = 0; i < EXAMPLES; ++i) {
      const float err = predict(out, data->x[i]) - data->y[i];
      for (int j = 0; j < FEATURES; ++j) out[j] -= lr * err * data->x[i][j];
      out[FEATURES] -= lr * err;
    }
  }
  *examples = EXAMPLES;
  return FL_OK;
}

static uint64_t num_examples(void* user) {
  (void)user;
  return EXAMPLES;
}

static void destroy(void* user) { free(user); }

static void log_line(void* user, const char* line) {
  (void)user;
  fprintf(stderr, "[fl] %s\n", line);
}

static float uniform(uint64_t* state) { /* xorshift64*: reproducible readings */
  *state ^= *state >> 12;
  *state ^= *state << 25;
  *state ^= *state >> 27;
  return (float)((*state * 2685821657736338717ULL) >> 40) / (float)(1 << 24) * 2.0f - 1.0f;
}

int main(int argc, char** argv) {
  const char* coordinator = NULL;
  const char* identity = NULL;
  const char* population = NULL;
  const char* token = NULL;
  int rounds = 1;
  uint64_t device = 1;
  for (int i = 1; i < argc; ++i) {
    const int has_value = i + 1 < argc;
    if (strcmp(argv[i], "--version") == 0) {
      printf("c_app with libfl_client %s\n", fl_version());
      return 0;
    } else if (strcmp(argv[i], "--coordinator") == 0 && has_value) {
      coordinator = argv[++i];
    } else if (strcmp(argv[i], "--identity") == 0 && has_value) {
      identity = argv[++i];
    } else if (strcmp(argv[i], "--population") == 0 && has_value) {
      population = argv[++i];
    } else if (strcmp(argv[i], "--device-token") == 0 && has_value) {
      token = argv[++i];
    } else if (strcmp(argv[i], "--rounds") == 0 && has_value) {
      rounds = atoi(argv[++i]);
    } else if (strcmp(argv[i], "--device") == 0 && has_value) {
      device = strtoull(argv[++i], NULL, 10);
    } else {
      fprintf(stderr,
              "usage: c_app --coordinator URL --identity FILE --population NAME "
              "[--device-token T] [--rounds N] [--device SEED] | --version\n");
      return 2;
    }
  }
  if (coordinator == NULL || identity == NULL || population == NULL) {
    fprintf(stderr, "c_app: --coordinator, --identity and --population are required\n");
    return 2;
  }

  sensor_data* data = (sensor_data*)malloc(sizeof(sensor_data));
  if (data == NULL) return 1;
  uint64_t state = 0x9E3779B97F4A7C15ULL ^ device;
  for (int i = 0; i < EXAMPLES; ++i) {
    for (int j = 0; j < FEATURES; ++j) data->x[i][j] = uniform(&state);
    data->y[i] = 2 * data->x[i][0] - data->x[i][1] + 0.5f * data->x[i][2] + 3 * data->x[i][3] + 1 +
                 0.05f * uniform(&state);
  }

  fl_options* options = fl_options_create();
  fl_options_set_coordinator(options, coordinator);
  fl_options_set_identity_file(options, identity);
  fl_options_set_population(options, population);
  if (token != NULL) fl_options_set_device_token(options, token);
  fl_options_set_label(options, "c example device");
  fl_options_set_logger(options, log_line, NULL);
  const fl_trainer trainer = {sizeof(fl_trainer), data, train, num_examples, destroy};
  char* err = NULL;
  fl_client* client = fl_client_create(options, &trainer, &err); /* owns data now */
  fl_options_destroy(options);
  if (client == NULL) {
    fprintf(stderr, "c_app: %s\n", err);
    fl_free(err);
    return 1;
  }
  int status = 0;
  for (int done = 0; done < rounds;) {
    fl_round_report* report = NULL;
    const int code = fl_client_participate(client, 300000, &report, &err);
    if (code != FL_OK) {
      fprintf(stderr, "c_app: %s: %s\n", fl_code_name(code), err);
      fl_free(err);
      err = NULL;
      if (code == FL_DEADLINE_EXCEEDED) continue;      /* not selected yet: again */
      status = code == FL_FAILED_PRECONDITION ? 0 : 1; /* population finished: done */
      break;
    }
    if (fl_round_report_completed(report)) {
      printf("round %llu: completed, new version %lld\n",
             (unsigned long long)fl_round_report_round_id(report),
             (long long)fl_round_report_new_version(report));
      ++done;
    } else {
      printf("round %llu: failed: %s; next attempt in %lld ms\n",
             (unsigned long long)fl_round_report_round_id(report),
             fl_round_report_failure_reason(report),
             (long long)fl_round_report_retry_after_ms(report));
    }
    fl_round_report_destroy(report);
  }
  fl_client_destroy(client);
  return status;
}
