// Test support: a temporary directory and a self-signed certificate (EC P-256,
// SAN localhost + 127.0.0.1) written into it with OpenSSL's C API, so no key
// material is committed and no shell is needed.
#pragma once

#include <string>

namespace fl::http::testing {

// mkdtemp under $TMPDIR (or /tmp); removed recursively on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct CertificateFiles {
  std::string certificate_pem;  // also the CA file for clients (self-signed)
  std::string private_key_pem;
};

// Writes <dir>/<stem>.crt and <dir>/<stem>.key; aborts the test on failure.
CertificateFiles write_self_signed_certificate(const std::string& dir, const std::string& stem);

}  // namespace fl::http::testing
