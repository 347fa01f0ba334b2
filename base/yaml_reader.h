// One way to read a person's YAML file (fl-coordinator's configuration,
// fl-sim's scenarios): typed reads with defaults and ranges, unknown and
// duplicate keys refused, and every error in one form:
//
//   FILE:LINE: key.path: why          a value read from the file
//   --set key=value: key.path: why    a value set by a command-line override
//
// LINE is 1-based, from yaml-cpp's Mark of the offending node (the value for a
// wrong value, the key for an unknown key, the enclosing mapping for a
// missing key). Errors are values: nothing here throws, and whatever yaml-cpp
// throws on a document nobody foresaw is caught and returned as a Status.
// A read that fails leaves its output untouched.
//
// Usage: each reader lists a mapping's keys once (expect_keys), then reads the
// ones it wants, each with its default already in the output:
//
//   auto doc = yaml::Document::load_file(path);  if (!doc.ok()) return doc.status();
//   const yaml::Section listen = doc->root().sub("listen");
//   FL_RETURN_IF_ERROR(listen.expect_keys({"address", "port"}));
//   FL_RETURN_IF_ERROR(listen.read("port", config.port));
//   FL_RETURN_IF_ERROR(listen.read("io_threads", config.io_threads, yaml::Range::closed(1, 64)));
//
// Not for: deciding what a setting means (the readers in coordinator/service
// and simulations do that), or writing YAML. No yaml-cpp type appears here.
//
// Thread-safety: Documents and Sections are values for one thread; a Section
// shares its document's tree, which must not be changed (Document::set) while
// another thread reads it.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace YAML {
class Node;
}

namespace fl::yaml {

// A numeric range; a value outside it is refused with rule() and the value
// as written: "must be in [0, 1), got 1.5".
class Range {
 public:
  static Range at_least(double lo) { return {lo, kNone, false, false}; }          // [lo, inf)
  static Range above(double lo) { return {lo, kNone, true, false}; }              // (lo, inf)
  static Range closed(double lo, double hi) { return {lo, hi, false, false}; }    // [lo, hi]
  static Range half_open(double lo, double hi) { return {lo, hi, false, true}; }  // [lo, hi)
  static Range left_open(double lo, double hi) { return {lo, hi, true, false}; }  // (lo, hi]

  bool contains(double v) const;
  std::string rule() const;  // "must be >= 1", "must be > 0", "must be in [0, 1)"

 private:
  static constexpr double kNone = 1e308;  // no upper bound
  Range(double lo, double hi, bool lo_open, bool hi_open)
      : lo_(lo), hi_(hi), lo_open_(lo_open), hi_open_(hi_open) {}
  double lo_, hi_;
  bool lo_open_, hi_open_;
};

// Formats a number for a message: integers without a fraction, others in
// their shortest exact form.
std::string format_number(double v);

struct Context;

// One mapping of the document, named by its dotted path from the top
// ("population.training"). A section whose key is absent reads as empty, so
// every default stays; its errors point at the nearest enclosing line.
class Section {
 public:
  // Refuses a value that is not a mapping (an empty value reads as {}), a key
  // that is not a plain name, a key given twice (yaml-cpp would silently keep
  // one), and a key not in `known` (naming the nearest known key when one is
  // a likely typo, and listing them all).
  Status expect_keys(std::initializer_list<std::string_view> known) const;

  bool present() const { return node_ != nullptr; }
  bool has(std::string_view key) const;
  // The keys present, in file order (plain names only).
  std::vector<std::string> keys() const;
  const std::string& path() const { return path_; }
  std::string key_path(std::string_view key) const;
  // The mapping at `key`; absent: an empty section. expect_keys on it checks
  // that it is a mapping.
  Section sub(std::string_view key) const;
  // The items of a list of mappings at `key` ("layout: [{name: w, size: 40}]"),
  // each a section named "key[i]" whose errors point at its own line; an
  // absent or empty key gives none. Refuses a value that is not a list; each
  // item's expect_keys checks that it is a mapping.
  Status items(std::string_view key, std::vector<Section>& out) const;

  // Typed reads; an absent key leaves `out` as it was (its default).
  // Supported T: std::string, bool, double, float, int, int64_t, uint16_t,
  // uint32_t, uint64_t (= size_t), std::vector<int>, std::vector<std::string>
  // (a single value reads as a list of one). Integers must be written as
  // integers and fit T; numbers must be finite.
  template <typename T>
  Status read(std::string_view key, T& out) const;
  // The same, refused outside `range` (numeric T only).
  template <typename T>
  Status read(std::string_view key, T& out, const Range& range) const;
  template <typename T>
  Status read(std::string_view key, std::optional<T>& out) const;
  template <typename T>
  Status read(std::string_view key, std::optional<T>& out, const Range& range) const;
  // A name out of a fixed set: "must be one of a, b, c, got 'd'".
  template <typename E>
  Status read_choice(std::string_view key, E& out,
                     std::initializer_list<std::pair<std::string_view, E>> choices) const;
  Status read_choice(std::string_view key, std::string& out,
                     std::initializer_list<std::string_view> choices) const;

  // An error about `key` in this section, at its line (the section's line
  // when the key is absent): "FILE:LINE: path.key: why".
  Status error(std::string_view key, std::string_view why) const;
  // The same about a nested key, "training.epochs" under this section, at
  // the line of the deepest part of that path present in the file.
  Status error_at(std::string_view dotted_key, std::string_view why) const;
  // An error about this section itself.
  Status error_here(std::string_view why) const;
  // Refuses `value` (already read from `key`) outside `range`, for checks
  // that depend on other keys: "path.key: must be >= 1, got 0".
  Status check(std::string_view key, double value, const Range& range) const;

 private:
  friend class Document;
  Section(std::shared_ptr<const Context> context, std::shared_ptr<const YAML::Node> node,
          std::string path, int line);
  std::shared_ptr<const YAML::Node> find(std::string_view key) const;
  Status error_for(const YAML::Node* at, const std::string& key_path, std::string_view why) const;
  Status read_string(std::string_view key, std::string& out, bool& found) const;

  std::shared_ptr<const Context> context_;
  std::shared_ptr<const YAML::Node> node_;  // null: the key is absent
  std::string path_;
  int line_;  // 0-based line of this mapping, or of the nearest present ancestor; -1: none
};

// A parsed YAML document and where it came from.
class Document {
 public:
  // `source` names the text in errors (a file name).
  static Result<Document> parse(std::string_view text, std::string source);
  static Result<Document> load_file(const std::string& path);

  // Applies a command-line override, `key` a dotted path and `value` in YAML
  // syntax ("partition.alpha", "0.1"), creating mappings on the way. Errors
  // about the value are then reported as "--set key=value: ...".
  Status set(std::string_view key, std::string_view value);

  // True when the text held no value at all (empty, comments only).
  bool empty() const;
  Section root() const;
  const std::string& source() const;

 private:
  Document() = default;
  std::shared_ptr<Context> context_;
  std::shared_ptr<YAML::Node> root_;
};

// ---- templates over the string read ---------------------------------------

template <typename E>
Status Section::read_choice(std::string_view key, E& out,
                            std::initializer_list<std::pair<std::string_view, E>> choices) const {
  std::string name;
  bool found = false;
  FL_RETURN_IF_ERROR(read_string(key, name, found));
  if (!found) return Status::Ok();
  std::string names;
  for (const auto& [choice, value] : choices) {
    if (choice == name) {
      out = value;
      return Status::Ok();
    }
    names.append(names.empty() ? "" : ", ").append(choice);
  }
  return error(key, "must be one of " + names + ", got '" + name + "'");
}

}  // namespace fl::yaml
