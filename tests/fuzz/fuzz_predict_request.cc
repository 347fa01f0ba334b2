// libFuzzer over the serving APIs' request parsers: TensorFlow Serving's
// :predict JSON (the fast numeric path and the nlohmann fallback) and KServe
// v2's infer JSON. Either parser must answer every input with a value or an
// error, never crash, and on success give exactly rows x input_dim values.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "coordinator/serving/kserve_request.h"
#include "coordinator/serving/signature.h"
#include "coordinator/serving/tfserving_request.h"
#include "model/model_spec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const fl::serving::Signature signature =
      fl::serving::signature_for(fl::model::ModelSpec::softmax_regression(4, 3));
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  std::vector<float> values;
  auto tf = fl::serving::parse_tfserving_predict(body, 4, 64, values);
  if (tf.ok() && values.size() != static_cast<size_t>(tf->rows) * 4) std::abort();
  auto kserve = fl::serving::parse_kserve_infer(body, signature, 64, values);
  if (kserve.ok() && values.size() != static_cast<size_t>(kserve->rows) * 4) std::abort();
  return 0;
}
