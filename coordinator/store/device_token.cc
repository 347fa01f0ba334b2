#include "coordinator/store/device_token.h"

namespace fl::coordinator {

std::string_view device_token_state_name(DeviceTokenState state) {
  switch (state) {
    case DeviceTokenState::kUnused:
      return "unused";
    case DeviceTokenState::kSpent:
      return "spent";
    case DeviceTokenState::kRevoked:
      return "revoked";
  }
  return "unknown";
}

}  // namespace fl::coordinator
