// fl::testing::create_client (fl/testing.h): only in SDKs built with
// FL_SDK_TESTING, so a release SDK has no way to seed a device's keys.
#include "fl/testing.h"

#include "client_sdk/client_impl.h"

namespace fl::testing {

Result<std::unique_ptr<Client>> create_client(ClientOptions options,
                                              std::unique_ptr<Trainer> trainer, Hooks hooks) {
  return Client::Impl::create_client(std::move(options), std::move(trainer), std::move(hooks));
}

}  // namespace fl::testing
