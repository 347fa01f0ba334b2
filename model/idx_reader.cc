#include "model/idx_reader.h"

#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

namespace fl::model {
namespace {

// IDX magic: two zero bytes, the element type, the number of dimensions.
constexpr uint8_t kTypeUnsignedByte = 0x08;
// Larger than any dataset we would hold in memory; guards the allocation
// against a corrupt header.
constexpr int64_t kMaxElements = int64_t{1} << 34;
// gzread takes an unsigned int length; read big arrays in pieces.
constexpr size_t kReadChunk = size_t{1} << 30;

struct GzCloser {
  void operator()(gzFile f) const { gzclose(f); }
};
using GzFile = std::unique_ptr<gzFile_s, GzCloser>;

// Reads exactly `len` bytes or says why not.
Status read_exact(gzFile f, const std::string& path, uint8_t* out, size_t len, const char* what) {
  size_t done = 0;
  while (done < len) {
    const auto want = static_cast<unsigned>(std::min(len - done, kReadChunk));
    const int got = gzread(f, out + done, want);
    if (got < 0) {
      int errnum = 0;
      const char* msg = gzerror(f, &errnum);
      return DataLoss(path + ": gzip error while reading the " + what + ": " + msg);
    }
    if (got == 0) {
      int errnum = 0;
      const char* msg = gzerror(f, &errnum);
      if (errnum != Z_OK) {
        return DataLoss(path + ": gzip error while reading the " + what + ": " + msg);
      }
      return DataLoss(path + ": file is truncated: the " + std::string(what) + " needs " +
                      std::to_string(len) + " bytes but only " + std::to_string(done) +
                      " are present");
    }
    done += static_cast<size_t>(got);
  }
  return Status::Ok();
}

}  // namespace

Result<IdxArray> read_idx(const std::string& path) {
  errno = 0;
  GzFile f(gzopen(path.c_str(), "rb"));
  if (!f) {
    const int err = errno;
    if (err == ENOENT) return NotFound(path + ": no such file");
    return InvalidArgument(path +
                           ": cannot open: " + (err != 0 ? std::strerror(err) : "out of memory"));
  }
  gzbuffer(f.get(), 1 << 18);

  uint8_t magic[4];
  FL_RETURN_IF_ERROR(read_exact(f.get(), path, magic, 4, "IDX header"));
  if (magic[0] != 0 || magic[1] != 0) {
    return DataLoss(path + ": not an IDX file (the magic number must start with two zero bytes)");
  }
  if (magic[2] != kTypeUnsignedByte) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02X", magic[2]);
    return InvalidArgument(path + ": IDX element type " + hex +
                           " is not supported; only unsigned byte (0x08)");
  }
  const int rank = magic[3];
  if (rank == 0) return DataLoss(path + ": IDX header declares zero dimensions");

  std::vector<uint8_t> raw_dims(4 * static_cast<size_t>(rank));
  FL_RETURN_IF_ERROR(read_exact(f.get(), path, raw_dims.data(), raw_dims.size(), "IDX header"));
  IdxArray out;
  int64_t elements = 1;
  for (int i = 0; i < rank; ++i) {
    const uint8_t* b = raw_dims.data() + 4 * i;
    // Sizes are big-endian 32-bit integers.
    const int64_t dim = (int64_t{b[0]} << 24) | (int64_t{b[1]} << 16) | (int64_t{b[2]} << 8) | b[3];
    out.dims.push_back(dim);
    if (dim != 0 && elements > kMaxElements / dim) {
      return DataLoss(path + ": IDX dimensions are implausibly large (corrupt header?)");
    }
    elements *= dim;
  }

  out.data.resize(static_cast<size_t>(elements));
  FL_RETURN_IF_ERROR(read_exact(f.get(), path, out.data.data(), out.data.size(), "IDX data"));

  // One more read: finds trailing bytes, and lets zlib check the gzip CRC and
  // length trailer, which it only does on reaching the end of the stream.
  uint8_t extra;
  const int got = gzread(f.get(), &extra, 1);
  int errnum = 0;
  const char* msg = gzerror(f.get(), &errnum);
  if (got < 0 || (errnum != Z_OK && errnum != Z_STREAM_END)) {
    return DataLoss(path + ": gzip error at the end of the data: " + msg);
  }
  if (got > 0) {
    return DataLoss(path + ": unexpected bytes after the " + std::to_string(elements) +
                    " data bytes the IDX header declares");
  }
  return out;
}

}  // namespace fl::model
