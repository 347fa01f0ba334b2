#include "crypto/bytes.h"

#include <sodium.h>

#include <cstdlib>
#include <cstdio>
#include <mutex>

namespace fl::crypto {

void wipe(void* data, size_t size) { sodium_memzero(data, size); }

void ensure_sodium() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (sodium_init() < 0) {
      // Without a working CSPRNG nothing here is safe to run.
      std::fprintf(stderr, "fatal: libsodium failed to initialise\n");
      std::abort();
    }
  });
}

std::string to_hex(ByteSpan bytes) {
  std::string out(bytes.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), bytes.data(), bytes.size());
  out.pop_back();
  return out;
}

bool from_hex(const std::string& hex, Bytes& out) {
  if (hex.size() % 2 != 0) return false;
  if (hex.empty()) {  // sodium_hex2bin's output pointer is declared nonnull
    out.clear();
    return true;
  }
  out.assign(hex.size() / 2, 0);
  size_t len = 0;
  const char* end = nullptr;
  if (sodium_hex2bin(out.data(), out.size(), hex.data(), hex.size(), nullptr, &len, &end) != 0)
    return false;
  return len == out.size() && end == hex.data() + hex.size();
}

}  // namespace fl::crypto
