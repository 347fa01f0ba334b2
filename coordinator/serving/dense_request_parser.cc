#include "coordinator/serving/dense_request_parser.h"

#include <charconv>
#include <cmath>

namespace fl::serving {
namespace {

class Cursor {
 public:
  explicit Cursor(std::string_view text) : p_(text.data()), end_(text.data() + text.size()) {}

  void skip_space() {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }
  bool at_end() const { return p_ == end_; }
  // Skips whitespace, then consumes `c` if it is next.
  bool eat(char c) {
    skip_space();
    if (p_ == end_ || *p_ != c) return false;
    ++p_;
    return true;
  }
  // A string without escapes; its contents as a view.
  std::optional<std::string_view> plain_string() {
    if (!eat('"')) return std::nullopt;
    const char* begin = p_;
    while (p_ != end_ && *p_ != '"') {
      if (*p_ == '\\' || static_cast<unsigned char>(*p_) < 0x20) return std::nullopt;
      ++p_;
    }
    if (p_ == end_) return std::nullopt;
    return std::string_view(begin, static_cast<size_t>(p_++ - begin));
  }
  // A JSON number as a finite float32.
  bool number(float& value) {
    skip_space();
    if (p_ == end_) return false;
    // from_chars also takes "inf", "nan" and hex digits after "0x"; JSON does not.
    const char* digits = *p_ == '-' ? p_ + 1 : p_;
    if (digits == end_ || *digits < '0' || *digits > '9') return false;
    const auto [next, ec] = std::from_chars(p_, end_, value);
    if (ec != std::errc() || !std::isfinite(value)) return false;
    p_ = next;
    return true;
  }

 private:
  const char* p_;
  const char* end_;
};

// [[n, n, ...], ...] into `values`; rows all of one length.
bool parse_rows(Cursor& in, std::vector<float>& values, DenseRequest& request) {
  if (!in.eat('[')) return false;
  int64_t rows = 0;
  int64_t cols = -1;
  do {
    if (!in.eat('[')) return false;
    const size_t row_start = values.size();
    do {
      float value;
      if (!in.number(value)) return false;
      values.push_back(value);
    } while (in.eat(','));
    if (!in.eat(']')) return false;
    const auto width = static_cast<int64_t>(values.size() - row_start);
    if (cols >= 0 && width != cols) return false;
    cols = width;
    ++rows;
  } while (in.eat(','));
  if (!in.eat(']')) return false;
  request.rows = rows;
  request.cols = cols;
  return true;
}

}  // namespace

std::optional<DenseRequest> parse_dense_request(std::string_view body, std::vector<float>& values) {
  values.clear();
  Cursor in(body);
  DenseRequest request;
  bool have_data = false;
  if (!in.eat('{')) return std::nullopt;
  do {
    const std::optional<std::string_view> key = in.plain_string();
    if (!key || !in.eat(':')) return std::nullopt;
    if (*key == "signature_name" && !request.signature_name) {
      request.signature_name = in.plain_string();
      if (!request.signature_name) return std::nullopt;
    } else if ((*key == "instances" || *key == "inputs") && !have_data) {
      request.columnar = *key == "inputs";
      if (!parse_rows(in, values, request)) return std::nullopt;
      have_data = true;
    } else {
      return std::nullopt;
    }
  } while (in.eat(','));
  if (!in.eat('}')) return std::nullopt;
  in.skip_space();
  if (!in.at_end() || !have_data) return std::nullopt;
  return request;
}

}  // namespace fl::serving
