#include "base/yaml_reader.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <functional>
#include <limits>
#include <set>
#include <sstream>
#include <type_traits>

namespace fl::yaml {

struct Context {
  std::string source;
  // Command-line overrides in the order given: (dotted key, value as written).
  std::vector<std::pair<std::string, std::string>> overrides;
};

namespace {

std::string describe(const YAML::Node& n) {
  if (n.IsMap()) return "a mapping";
  if (n.IsSequence()) return "a list";
  if (n.IsNull()) return "nothing";
  return "'" + n.Scalar() + "'";
}

// Optimal string alignment distance (Levenshtein plus adjacent swaps), for
// "did you mean". Keys are short, so the quadratic table is nothing.
size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i)
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.size()][b.size()];
}

// A key is a likely typo of a known one when at most two edits, and at most
// a third of its letters, separate them.
std::optional<std::string_view> nearest(std::string_view key,
                                        std::initializer_list<std::string_view> known) {
  std::optional<std::string_view> best;
  size_t best_distance = 3;
  for (std::string_view k : known) {
    const size_t d = edit_distance(key, k);
    if (d < best_distance && 3 * d <= std::max(key.size(), k.size())) {
      best = k;
      best_distance = d;
    }
  }
  return best;
}

// An override of `key` explains an error about `path` when it set that value,
// a mapping holding it, or something inside the section the error is about.
bool override_explains(const std::string& key, const std::string& path) {
  if (path.empty()) return false;
  return key == path || path.rfind(key + ".", 0) == 0 || key.rfind(path + ".", 0) == 0;
}

std::vector<std::string> split_dotted(std::string_view dotted) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t dot = dotted.find('.', start);
    parts.emplace_back(
        dotted.substr(start, dot == std::string_view::npos ? dotted.npos : dot - start));
    if (dot == std::string_view::npos) return parts;
    start = dot + 1;
  }
}

// Runs a read, turning anything yaml-cpp throws into a Status: the promise
// that no exception leaves this layer does not rest on yaml-cpp's internals.
Status guarded(const std::string& where, const std::function<Status()>& body) {
  try {
    return body();
  } catch (const std::exception& e) {
    return InvalidArgument(where + ": " + e.what());
  }
}

// ---- scalar decoding: false with `why` set when the node is not a T --------

bool decode(const YAML::Node& n, std::string& out, std::string& why) {
  if (!n.IsScalar()) {
    why = "expected a single value, got " + describe(n);
    return false;
  }
  out = n.Scalar();
  return true;
}

bool decode(const YAML::Node& n, bool& out, std::string& why) {
  bool v = false;
  if (!n.IsScalar() || !YAML::convert<bool>::decode(n, v)) {
    why = "expected true or false, got " + describe(n);
    return false;
  }
  out = v;
  return true;
}

bool decode(const YAML::Node& n, double& out, std::string& why) {
  double v = 0;
  if (!n.IsScalar() || !YAML::convert<double>::decode(n, v)) {
    why = "expected a number, got " + describe(n);
    return false;
  }
  if (!std::isfinite(v)) {
    why = "must be a finite number, got " + describe(n);
    return false;
  }
  out = v;
  return true;
}

bool decode(const YAML::Node& n, float& out, std::string& why) {
  double v = 0;
  if (!decode(n, v, why)) return false;
  if (std::fabs(v) > std::numeric_limits<float>::max()) {
    why = "is too large, got " + describe(n);
    return false;
  }
  out = static_cast<float>(v);
  return true;
}

// Decimal or 0x-hexadecimal, with an optional sign; nothing else (no 1e3, no
// 2.0): an integer setting written as a fraction is a mistake worth naming.
bool parse_integer(const std::string& text, bool& negative, uint64_t& magnitude) {
  std::string_view s = text;
  negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s.remove_prefix(2);
  }
  if (s.empty()) return false;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), magnitude, base);
  return ec == std::errc() && end == s.data() + s.size();
}

template <typename T>
requires(std::is_integral_v<T> && !std::is_same_v<T, bool>) bool decode(const YAML::Node& n, T& out,
                                                                        std::string& why) {
  bool negative = false;
  uint64_t magnitude = 0;
  if (!n.IsScalar() || !parse_integer(n.Scalar(), negative, magnitude)) {
    why = "expected an integer, got " + describe(n);
    return false;
  }
  if (negative && magnitude != 0 && !std::is_signed_v<T>) {
    why = "must be a non-negative integer, got " + n.Scalar();
    return false;
  }
  const uint64_t max = static_cast<uint64_t>(std::numeric_limits<T>::max());
  const uint64_t max_negative = std::is_signed_v<T> ? max + 1 : 0;
  if (negative ? magnitude > max_negative : magnitude > max) {
    why = "must be an integer in [" + std::to_string(std::numeric_limits<T>::min()) + ", " +
          std::to_string(std::numeric_limits<T>::max()) + "], got " + n.Scalar();
    return false;
  }
  if (!negative)
    out = static_cast<T>(magnitude);
  else if (magnitude == max_negative)
    out = std::numeric_limits<T>::min();
  else
    out = static_cast<T>(-static_cast<int64_t>(magnitude));
  return true;
}

// A list of values; a single value reads as a list of one ("hidden: 100").
template <typename T>
bool decode(const YAML::Node& n, std::vector<T>& out, std::string& why) {
  std::vector<T> v;
  if (n.IsScalar()) {
    T item{};
    if (!decode(n, item, why)) return false;
    v.push_back(std::move(item));
  } else if (n.IsSequence()) {
    for (const auto& e : n) {
      T item{};
      if (!decode(e, item, why)) {
        why = "each item: " + why;
        return false;
      }
      v.push_back(std::move(item));
    }
  } else {
    why = "expected a list, got " + describe(n);
    return false;
  }
  out = std::move(v);
  return true;
}

}  // namespace

// ---- Range -----------------------------------------------------------------

std::string format_number(double v) {
  if (std::floor(v) == v && std::fabs(v) < 1e15) return std::to_string(static_cast<long long>(v));
  char buffer[32];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, v);
  return ec == std::errc() ? std::string(buffer, end) : std::to_string(v);
}

bool Range::contains(double v) const {
  if (lo_open_ ? !(v > lo_) : !(v >= lo_)) return false;
  if (hi_ == kNone) return true;
  return hi_open_ ? v < hi_ : v <= hi_;
}

std::string Range::rule() const {
  if (hi_ == kNone) return std::string("must be ") + (lo_open_ ? "> " : ">= ") + format_number(lo_);
  return std::string("must be in ") + (lo_open_ ? "(" : "[") + format_number(lo_) + ", " +
         format_number(hi_) + (hi_open_ ? ")" : "]");
}

// ---- Section ---------------------------------------------------------------

Section::Section(std::shared_ptr<const Context> context, std::shared_ptr<const YAML::Node> node,
                 std::string path, int line)
    : context_(std::move(context)), node_(std::move(node)), path_(std::move(path)), line_(line) {
  if (node_ && !node_->Mark().is_null()) line_ = node_->Mark().line;
}

std::string Section::key_path(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

std::shared_ptr<const YAML::Node> Section::find(std::string_view key) const {
  if (!node_ || !node_->IsMap()) return nullptr;
  // By iteration, not operator[]: no yaml-cpp key conversion (which can
  // throw on a non-scalar key), and the first of duplicate keys, which
  // expect_keys refuses anyway.
  for (const auto& kv : *node_)
    if (kv.first.IsScalar() && kv.first.Scalar() == key)
      return std::make_shared<const YAML::Node>(kv.second);
  return nullptr;
}

bool Section::has(std::string_view key) const { return find(key) != nullptr; }

std::vector<std::string> Section::keys() const {
  std::vector<std::string> keys;
  if (!node_ || !node_->IsMap()) return keys;
  for (const auto& kv : *node_)
    if (kv.first.IsScalar()) keys.push_back(kv.first.Scalar());
  return keys;
}

Section Section::sub(std::string_view key) const {
  return Section(context_, find(key), key_path(key), line_);
}

Status Section::items(std::string_view key, std::vector<Section>& out) const {
  const auto node = find(key);
  out.clear();
  if (!node || node->IsNull()) return Status::Ok();
  return guarded(context_->source, [&]() -> Status {
    if (!node->IsSequence())
      return error_for(node.get(), key_path(key), "expected a list, got " + describe(*node));
    size_t i = 0;
    for (const auto& item : *node) {
      const YAML::Node& element = item;  // the Node, not yaml-cpp's iterator value
      const std::string path = key_path(key) + "[" + std::to_string(i++) + "]";
      out.push_back(Section(context_, std::make_shared<const YAML::Node>(element), path, line_));
    }
    return Status::Ok();
  });
}

Status Section::error_for(const YAML::Node* at, const std::string& path,
                          std::string_view why) const {
  std::string where;
  for (auto it = context_->overrides.rbegin(); it != context_->overrides.rend(); ++it)
    if (override_explains(it->first, path)) {
      where = "--set " + it->first + "=" + it->second;
      break;
    }
  if (where.empty()) {
    where = context_->source;
    int line = line_;
    if (at && !at->Mark().is_null()) line = at->Mark().line;
    if (line >= 0) where += ":" + std::to_string(line + 1);
  }
  return InvalidArgument(where + ": " + (path.empty() ? "(top level)" : path) + ": " +
                         std::string(why));
}

Status Section::error(std::string_view key, std::string_view why) const {
  const auto at = find(key);
  return error_for(at.get(), key_path(key), why);
}

Status Section::error_here(std::string_view why) const {
  return error_for(node_.get(), path_, why);
}

Status Section::error_at(std::string_view dotted_key, std::string_view why) const {
  const std::vector<std::string> parts = split_dotted(dotted_key);
  Section at = *this;
  std::shared_ptr<const YAML::Node> node;
  for (size_t i = 0; i < parts.size(); ++i) {
    auto found = at.find(parts[i]);
    if (!found) break;
    if (i + 1 == parts.size()) {
      node = found;
      break;
    }
    at = at.sub(parts[i]);
  }
  return at.error_for(node.get(), key_path(dotted_key), why);
}

Status Section::check(std::string_view key, double value, const Range& range) const {
  if (range.contains(value)) return Status::Ok();
  return error(key, range.rule() + ", got " + format_number(value));
}

Status Section::expect_keys(std::initializer_list<std::string_view> known) const {
  if (!node_ || node_->IsNull()) return Status::Ok();
  return guarded(context_->source, [&]() -> Status {
    if (!node_->IsMap()) return error_here("expected a mapping of keys, got " + describe(*node_));
    std::set<std::string> seen;
    for (const auto& kv : *node_) {
      if (!kv.first.IsScalar())
        return error_for(&kv.first, path_, "has a key that is not a plain name");
      const std::string key = kv.first.Scalar();
      // yaml-cpp keeps both of two equal keys and lookups see the first: the
      // second, often the intended one, would be ignored without a word.
      if (!seen.insert(key).second) return error_for(&kv.first, key_path(key), "appears twice");
      if (std::find(known.begin(), known.end(), key) != known.end()) continue;
      std::string why = "unknown key";
      if (auto near = nearest(key, known)) why.append("; did you mean ").append(*near).append("?");
      std::string names;
      for (std::string_view k : known) names.append(names.empty() ? "" : ", ").append(k);
      return error_for(&kv.first, key_path(key), why + " (expected one of: " + names + ")");
    }
    return Status::Ok();
  });
}

Status Section::read_string(std::string_view key, std::string& out, bool& found) const {
  found = false;
  const auto node = find(key);
  if (!node) return Status::Ok();
  std::string why;
  std::string v;
  if (!decode(*node, v, why)) return error_for(node.get(), key_path(key), why);
  out = std::move(v);
  found = true;
  return Status::Ok();
}

Status Section::read_choice(std::string_view key, std::string& out,
                            std::initializer_list<std::string_view> choices) const {
  std::string name;
  bool found = false;
  FL_RETURN_IF_ERROR(read_string(key, name, found));
  if (!found) return Status::Ok();
  std::string names;
  for (std::string_view choice : choices) {
    if (choice == name) {
      out = name;
      return Status::Ok();
    }
    names.append(names.empty() ? "" : ", ").append(choice);
  }
  return error(key, "must be one of " + names + ", got '" + name + "'");
}

template <typename T>
Status Section::read(std::string_view key, T& out) const {
  const auto node = find(key);
  if (!node) return Status::Ok();
  return guarded(context_->source, [&]() -> Status {
    T v{};
    std::string why;
    if (!decode(*node, v, why)) return error_for(node.get(), key_path(key), why);
    out = std::move(v);
    return Status::Ok();
  });
}

template <typename T>
Status Section::read(std::string_view key, T& out, const Range& range) const {
  static_assert(std::is_arithmetic_v<T> && !std::is_same_v<T, bool>, "ranges are for numbers");
  const auto node = find(key);
  if (!node) return Status::Ok();
  T v{};
  FL_RETURN_IF_ERROR(read(key, v));
  if (!range.contains(static_cast<double>(v)))
    return error_for(node.get(), key_path(key), range.rule() + ", got " + node->Scalar());
  out = v;
  return Status::Ok();
}

template <typename T>
Status Section::read(std::string_view key, std::optional<T>& out) const {
  if (!has(key)) return Status::Ok();
  T v{};
  FL_RETURN_IF_ERROR(read(key, v));
  out = std::move(v);
  return Status::Ok();
}

template <typename T>
Status Section::read(std::string_view key, std::optional<T>& out, const Range& range) const {
  if (!has(key)) return Status::Ok();
  T v{};
  FL_RETURN_IF_ERROR(read(key, v, range));
  out = v;
  return Status::Ok();
}

// The supported types (yaml_reader.h).
template Status Section::read(std::string_view, std::string&) const;
template Status Section::read(std::string_view, bool&) const;
template Status Section::read(std::string_view, std::vector<int>&) const;
template Status Section::read(std::string_view, std::vector<std::string>&) const;
#define FL_YAML_NUMERIC(T)                                                  \
  template Status Section::read(std::string_view, T&) const;                \
  template Status Section::read(std::string_view, T&, const Range&) const;  \
  template Status Section::read(std::string_view, std::optional<T>&) const; \
  template Status Section::read(std::string_view, std::optional<T>&, const Range&) const;
FL_YAML_NUMERIC(double)
FL_YAML_NUMERIC(float)
FL_YAML_NUMERIC(int)
FL_YAML_NUMERIC(int64_t)
FL_YAML_NUMERIC(uint16_t)
FL_YAML_NUMERIC(uint32_t)
FL_YAML_NUMERIC(uint64_t)
#undef FL_YAML_NUMERIC

// ---- Document --------------------------------------------------------------

Result<Document> Document::parse(std::string_view text, std::string source) {
  Document doc;
  doc.context_ = std::make_shared<Context>();
  doc.context_->source = std::move(source);
  try {
    doc.root_ = std::make_shared<YAML::Node>(YAML::Load(std::string(text)));
  } catch (const YAML::Exception& e) {
    return InvalidArgument(doc.context_->source + ":" + std::to_string(e.mark.line + 1) +
                           ": not valid YAML: " + e.msg);
  } catch (const std::exception& e) {
    return InvalidArgument(doc.context_->source + ": not valid YAML: " + e.what());
  }
  return doc;
}

Result<Document> Document::load_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot read " + path);
  std::stringstream text;
  text << in.rdbuf();
  if (in.bad()) return NotFound("cannot read " + path);
  return parse(text.str(), path);
}

bool Document::empty() const { return !root_->IsDefined() || root_->IsNull(); }

const std::string& Document::source() const { return context_->source; }

Section Document::root() const { return Section(context_, empty() ? nullptr : root_, "", 0); }

Status Document::set(std::string_view key, std::string_view value) {
  const std::string name = "--set " + std::string(key) + "=" + std::string(value);
  const std::vector<std::string> parts = split_dotted(key);
  for (const auto& part : parts)
    if (part.empty()) return InvalidArgument(name + ": empty part in the key");
  try {
    YAML::Node parsed;
    try {
      parsed = YAML::Load(std::string(value));
    } catch (const YAML::Exception& e) {
      return InvalidArgument(name + ": not valid YAML: " + e.msg);
    }
    if (empty()) *root_ = YAML::Node(YAML::NodeType::Map);
    if (!root_->IsMap()) return InvalidArgument(name + ": the document is not a mapping");
    // Node handles are references: rebind with reset(), never assign, or the
    // assignment would overwrite the node the handle refers to.
    YAML::Node node;
    node.reset(*root_);
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      YAML::Node child = node[parts[i]];
      if (!child.IsDefined() || child.IsNull()) {
        node[parts[i]] = YAML::Node(YAML::NodeType::Map);
        child.reset(node[parts[i]]);
      } else if (!child.IsMap()) {
        return InvalidArgument(name + ": " + parts[i] + " is not a mapping");
      }
      node.reset(child);
    }
    node[parts.back()] = parsed;
  } catch (const std::exception& e) {
    return InvalidArgument(name + ": " + e.what());
  }
  context_->overrides.emplace_back(std::string(key), std::string(value));
  return Status::Ok();
}

}  // namespace fl::yaml
