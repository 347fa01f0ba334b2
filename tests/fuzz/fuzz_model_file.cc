// Fuzzes the model file reader (what a device downloads and the registry stores).
#include <string_view>

#include "model/serialization.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)fl::model::load_model(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz");
  return 0;
}
