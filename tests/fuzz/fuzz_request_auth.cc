// Fuzzes the fl-request-v3 verifier with arbitrary request lines and header
// values. It never sees a body (verification is from the header alone).
#include <string>
#include <string_view>
#include <vector>

#include "coordinator/http/auth/request_authenticator.h"
#include "crypto/ed25519.h"
#include "crypto/rng.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fl;
  static const crypto::Ed25519KeyPair key = [] {
    crypto::SeededRng rng(1);
    return crypto::ed25519_keypair(rng);
  }();
  static auth::RequestAuthenticator verifier(
      [](uint64_t id) -> std::optional<crypto::Key32> {
        if (id == 7) return key.public_key;
        return std::nullopt;
      },
      [] { return int64_t{1'700'000'000'000}; },
      auth::AuthenticatorOptions{.audience = "fuzz-coordinator"});
  // Fields separated by '\n': method, target, client, timestamp, nonce,
  // body hash, signature; the rest (a body, in the seeds) is ignored.
  constexpr size_t kFields = 7;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> f;
  while (f.size() < kFields) {
    auto nl = in.find('\n');
    if (nl == std::string_view::npos) break;
    f.push_back(in.substr(0, nl));
    in.remove_prefix(nl + 1);
  }
  while (f.size() < kFields) f.push_back({});
  auth::SignedRequest r{f[0], f[1], f[2], f[3], f[4], f[5], f[6]};
  (void)verifier.authenticate(r);
  return 0;
}
