#include "crypto/aead.h"

#include <sodium.h>

#include <cstring>

namespace fl::crypto {
namespace {
void append_u64(Bytes& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
}  // namespace

static_assert(kAeadNonceBytes == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
static_assert(kAeadTagBytes == crypto_aead_xchacha20poly1305_ietf_ABYTES);

Bytes aead_context(ByteSpan session_id, uint32_t round, uint64_t sender, uint64_t recipient) {
  static constexpr char kLabel[] = "fl.aead.v1";
  Bytes ad(kLabel, kLabel + sizeof(kLabel) - 1);
  append_u64(ad, session_id.size());
  ad.insert(ad.end(), session_id.begin(), session_id.end());
  append_u64(ad, round);
  append_u64(ad, sender);
  append_u64(ad, recipient);
  return ad;
}

Bytes aead_seal(const Secret32& key, ByteSpan plaintext, ByteSpan associated_data, Rng& rng) {
  ensure_sodium();
  Bytes out(kAeadNonceBytes + plaintext.size() + kAeadTagBytes);
  rng.fill(std::span<uint8_t>(out.data(), kAeadNonceBytes));
  unsigned long long clen = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(out.data() + kAeadNonceBytes, &clen, plaintext.data(),
                                             plaintext.size(), associated_data.data(),
                                             associated_data.size(), nullptr, out.data(),
                                             key.data());
  out.resize(kAeadNonceBytes + clen);
  return out;
}

Result<Bytes> aead_open(const Secret32& key, ByteSpan sealed, ByteSpan associated_data) {
  ensure_sodium();
  if (sealed.size() < kAeadOverhead)
    return DataLoss("ciphertext of " + std::to_string(sealed.size()) +
                    " bytes is shorter than nonce and tag (" + std::to_string(kAeadOverhead) + ")");
  Bytes plain(sealed.size() - kAeadOverhead);
  unsigned long long plen = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          plain.data(), &plen, nullptr, sealed.data() + kAeadNonceBytes,
          sealed.size() - kAeadNonceBytes, associated_data.data(), associated_data.size(),
          sealed.data(), key.data()) != 0) {
    return DataLoss("ciphertext failed authentication (tampered, or wrong key or context)");
  }
  plain.resize(plen);
  return plain;
}

}  // namespace fl::crypto
