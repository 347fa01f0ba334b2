// libFuzzer over the serving APIs' request parsers: TensorFlow Serving's
// :predict JSON (the fast numeric path and the nlohmann fallback) and KServe
// v2's infer JSON. Either parser must answer every input with a value or an
// error, never crash (a body nested 100,000 deep once overflowed the stack),
// and on success give exactly rows x input_dim finite values. An error's
// message must be short whatever the input quotes, and the error body built
// from it must be valid JSON.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string_view>
#include <vector>

#include "coordinator/http/response.h"
#include "coordinator/serving/kserve_request.h"
#include "coordinator/serving/signature.h"
#include "coordinator/serving/tfserving_request.h"
#include "model/model_spec.h"

namespace {

void check(const fl::Status& status, const std::vector<float>& values, size_t expected) {
  if (status.ok()) {
    if (values.size() != expected) std::abort();
    for (float v : values)
      if (!std::isfinite(v)) std::abort();
    return;
  }
  if (status.message().size() > fl::http::kMaxErrorMessageBytes) std::abort();
  if (!nlohmann::json::accept(fl::http::json_error(400, status.message()).body)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const fl::serving::Signature signature =
      fl::serving::signature_for(fl::model::ModelSpec::softmax_regression(4, 3));
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  std::vector<float> values;
  auto tf = fl::serving::parse_tfserving_predict(body, 4, 64, values);
  check(tf.status(), values, tf.ok() ? static_cast<size_t>(tf->rows) * 4 : 0);
  auto kserve = fl::serving::parse_kserve_infer(body, signature, 64, values);
  check(kserve.status(), values, kserve.ok() ? static_cast<size_t>(kserve->rows) * 4 : 0);
  return 0;
}
