#include "client_sdk/identity_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace fl::client_sdk {
namespace {

std::string errno_text() { return std::strerror(errno); }

// Reads exactly 32 bytes (and checks there is nothing more).
Status read_seed(int fd, const std::string& path, crypto::Secret32& seed) {
  size_t got = 0;
  while (got < seed.size()) {
    const ssize_t n = ::read(fd, seed.data() + got, seed.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Internal("cannot read identity file " + path + ": " + errno_text());
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  uint8_t extra = 0;
  const ssize_t more = ::read(fd, &extra, 1);
  if (got != seed.size() || more > 0)
    return DataLoss("identity file " + path +
                    " is not a 32-byte Ed25519 seed; refusing to use or overwrite it");
  return Status::Ok();
}

Status write_all(int fd, const std::string& path, const uint8_t* data, size_t size) {
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::write(fd, data + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Internal("cannot write identity file " + path + ": " + errno_text());
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) return Internal("cannot sync identity file " + path + ": " + errno_text());
  return Status::Ok();
}

}  // namespace

Result<LoadedIdentity> load_or_create_identity(const std::string& path, crypto::Rng& rng) {
  if (path.empty()) return InvalidArgument("identity_file is empty: name a file for the key");
  LoadedIdentity out;
  crypto::Secret32 seed;

  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    rng.fill(seed.mutable_bytes());
    Status written = write_all(fd, path, seed.data(), seed.size());
    ::close(fd);
    if (!written.ok()) {
      ::unlink(path.c_str());  // never leave a half-written key behind
      return written;
    }
    out.created = true;
  } else if (errno == EEXIST) {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return PermissionDenied("cannot open identity file " + path + ": " + errno_text());
    struct stat st {};
    if (::fstat(fd, &st) == 0 && (st.st_mode & 077) != 0)
      out.warning =
          "identity file " + path + " is readable by other users; restrict it with chmod 600";
    Status read = read_seed(fd, path, seed);
    ::close(fd);
    FL_RETURN_IF_ERROR(read);
  } else {
    return PermissionDenied("cannot create identity file " + path + ": " + errno_text());
  }
  out.key = crypto::ed25519_keypair_from_seed(seed);
  return out;
}

}  // namespace fl::client_sdk
