#include "crypto/kdf.h"

#include <sodium.h>

#include <algorithm>

namespace fl::crypto {
namespace {
void put_u64(crypto_generichash_state& st, uint64_t v) {
  uint8_t b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<uint8_t>(v >> (8 * i));
  crypto_generichash_update(&st, b, 8);
}
}  // namespace

Secret32 derive_pair_key(const Secret32& ikm, ByteSpan session_id, uint64_t party_a,
                         uint64_t party_b, std::string_view purpose) {
  ensure_sodium();
  crypto_generichash_state st;
  crypto_generichash_init(&st, ikm.data(), ikm.size(), 32);
  put_u64(st, purpose.size());
  crypto_generichash_update(&st, reinterpret_cast<const uint8_t*>(purpose.data()), purpose.size());
  put_u64(st, session_id.size());
  crypto_generichash_update(&st, session_id.data(), session_id.size());
  put_u64(st, std::min(party_a, party_b));
  put_u64(st, std::max(party_a, party_b));
  Secret32 out;
  crypto_generichash_final(&st, out.data(), 32);
  wipe(&st, sizeof(st));
  return out;
}

Key32 blake2b_256(ByteSpan message) {
  ensure_sodium();
  Key32 out;
  crypto_generichash(out.data(), out.size(), message.data(), message.size(), nullptr, 0);
  return out;
}

}  // namespace fl::crypto
