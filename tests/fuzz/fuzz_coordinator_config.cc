// Fuzzes the coordinator's YAML configuration parser.
#include <string>

#include "coordinator/service/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;
  (void)fl::coordinator::parse_config(std::string(reinterpret_cast<const char*>(data), size),
                                      "fuzz.yaml");
  return 0;
}
