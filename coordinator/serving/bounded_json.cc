#include "coordinator/serving/bounded_json.h"

#include <string>

#include "coordinator/http/response.h"

namespace fl::serving {

Status check_json_depth(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // the escaped character cannot end the string
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '[':
      case '{':
        if (++depth > max_depth) {
          return InvalidArgument("the JSON nests arrays and objects more than " +
                                 std::to_string(max_depth) + " levels deep");
        }
        break;
      case ']':
      case '}':
        // An unbalanced closer is malformed; the parser stops there.
        if (depth > 0) --depth;
        break;
      default:
        break;
    }
  }
  return Status::Ok();
}

Result<nlohmann::json> parse_bounded_json(std::string_view text, int max_depth) {
  FL_RETURN_IF_ERROR(check_json_depth(text, max_depth));
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    // parse_error, and out_of_range for a number beyond double (1e99999):
    // found by fuzz_predict_request. Its text quotes the last token read,
    // which can be most of the body (a long string), so it is cut.
    return InvalidArgument("malformed JSON: " + http::excerpt(e.what(), 160));
  }
}

}  // namespace fl::serving
