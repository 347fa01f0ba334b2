// Reader for IDX files, the format of MNIST and Fashion-MNIST
// (http://yann.lecun.com/exdb/mnist/), gzip-compressed or plain.
//
// Everything is checked against the header: the magic, the element type
// (unsigned byte only: all the datasets we read use it), the dimension sizes,
// the data length (a truncated file is an error, and so are trailing bytes)
// and, for gzip, the stream's CRC. Every error names the file.
//
// Thread-safety: reentrant.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"

namespace fl::model {

struct IdxArray {
  std::vector<int64_t> dims;  // outermost first: {60000, 28, 28}
  std::vector<uint8_t> data;  // product(dims) bytes, row-major
};

Result<IdxArray> read_idx(const std::string& path);

}  // namespace fl::model
