// The YAML layer every reader of people's files uses: typed reads that keep
// defaults, ranges, unknown and duplicate keys refused, overrides named, and
// one error form, FILE:LINE: key.path: why, with nothing thrown.
#include "base/yaml_reader.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace fl::yaml {
namespace {

Document parse(const std::string& text) {
  auto doc = Document::parse(text, "f.yaml");
  EXPECT_TRUE(doc.ok()) << doc.status().to_string();
  return std::move(*doc);
}

TEST(YamlReader, AbsentKeysKeepTheirDefaultsAndPresentOnesAreTyped) {
  const Document doc = parse("a: {n: 7, x: 0.25, on: yes, name: hi, list: [1, 2], one: 3}\n");
  const Section a = doc.root().sub("a");
  int n = 1, missing = 42;
  double x = 0;
  bool on = false;
  std::string name;
  std::vector<int> list, one;
  std::optional<double> maybe;
  ASSERT_TRUE(a.read("n", n).ok());
  ASSERT_TRUE(a.read("missing", missing).ok());
  ASSERT_TRUE(a.read("x", x).ok());
  ASSERT_TRUE(a.read("on", on).ok());
  ASSERT_TRUE(a.read("name", name).ok());
  ASSERT_TRUE(a.read("list", list).ok());
  ASSERT_TRUE(a.read("one", one).ok());
  ASSERT_TRUE(a.read("maybe", maybe).ok());
  EXPECT_EQ(n, 7);
  EXPECT_EQ(missing, 42);
  EXPECT_DOUBLE_EQ(x, 0.25);
  EXPECT_TRUE(on);
  EXPECT_EQ(name, "hi");
  EXPECT_EQ(list, (std::vector<int>{1, 2}));
  EXPECT_EQ(one, (std::vector<int>{3}));
  EXPECT_FALSE(maybe.has_value());
  // A whole section that is absent reads as empty.
  int deep = 5;
  EXPECT_TRUE(doc.root().sub("b").sub("c").read("deep", deep).ok());
  EXPECT_TRUE(doc.root().sub("b").expect_keys({"x"}).ok());
  EXPECT_EQ(deep, 5);
}

TEST(YamlReader, AFailedReadNamesFileLineAndKeyAndLeavesTheOutputAlone) {
  const Document doc = parse("top:\n  inner:\n    count: lots\n    small: 300\n    neg: -1\n");
  const Section inner = doc.root().sub("top").sub("inner");
  int count = 4;
  Status st = inner.read("count", count);
  EXPECT_EQ(st.message(), "f.yaml:3: top.inner.count: expected an integer, got 'lots'");
  EXPECT_EQ(count, 4);
  uint16_t small = 0;
  EXPECT_TRUE(inner.read("small", small).ok());
  EXPECT_EQ(small, 300);
  uint32_t neg = 9;
  EXPECT_EQ(inner.read("neg", neg).message(),
            "f.yaml:5: top.inner.neg: must be a non-negative integer, got -1");
  EXPECT_EQ(neg, 9u);
  const Document big = parse("port: 65536\nhuge: 99999999999999999999\nfrac: 1.5\n");
  uint16_t port = 1;
  EXPECT_EQ(big.root().read("port", port).message(),
            "f.yaml:1: port: must be an integer in [0, 65535], got 65536");
  int64_t huge = 0;
  EXPECT_EQ(big.root().read("huge", huge).message(),
            "f.yaml:2: huge: expected an integer, got '99999999999999999999'");
  int frac = 0;
  EXPECT_EQ(big.root().read("frac", frac).message(),
            "f.yaml:3: frac: expected an integer, got '1.5'");
}

TEST(YamlReader, RangesAreCheckedWithTheRuleAndTheValueAsWritten) {
  const Document doc = parse("p: 1.0\nthreads: 0\nrate: .inf\n");
  double p = 0.5;
  EXPECT_EQ(doc.root().read("p", p, Range::half_open(0, 1)).message(),
            "f.yaml:1: p: must be in [0, 1), got 1.0");
  EXPECT_DOUBLE_EQ(p, 0.5);
  int threads = 2;
  EXPECT_EQ(doc.root().read("threads", threads, Range::at_least(1)).message(),
            "f.yaml:2: threads: must be >= 1, got 0");
  double rate = 1;
  EXPECT_EQ(doc.root().read("rate", rate).message(),
            "f.yaml:3: rate: must be a finite number, got '.inf'");
  EXPECT_EQ(doc.root().check("threads", 0, Range::closed(1, 64)).message(),
            "f.yaml:2: threads: must be in [1, 64], got 0");
}

TEST(YamlReader, UnknownKeysAreRefusedWithTheNearestKnownOne) {
  const Document doc = parse("listen:\n  adress: 0.0.0.0\n");
  EXPECT_EQ(doc.root().sub("listen").expect_keys({"address", "port"}).message(),
            "f.yaml:2: listen.adress: unknown key; did you mean address? (expected one of: "
            "address, port)");
  const Document far = parse("colour: blue\n");
  EXPECT_EQ(far.root().expect_keys({"listen", "store"}).message(),
            "f.yaml:1: colour: unknown key (expected one of: listen, store)");
}

TEST(YamlReader, DuplicateAndNonScalarKeysAndWrongNestingAreRefused) {
  EXPECT_EQ(parse("a: 1\nb: 2\na: 3\n").root().expect_keys({"a", "b"}).message(),
            "f.yaml:3: a: appears twice");
  EXPECT_EQ(parse("? [x, y]\n: 1\n").root().expect_keys({"a"}).message(),
            "f.yaml:1: (top level): has a key that is not a plain name");
  EXPECT_EQ(parse("a:\n  - 1\n").root().sub("a").expect_keys({"b"}).message(),
            "f.yaml:2: a: expected a mapping of keys, got a list");
  EXPECT_EQ(parse("just text\n").root().expect_keys({"a"}).message(),
            "f.yaml:1: (top level): expected a mapping of keys, got 'just text'");
}

TEST(YamlReader, ChoicesListTheNamesAllowed) {
  enum class Mode { kA, kB };
  Mode mode = Mode::kA;
  const Document doc = parse("mode: c\n");
  EXPECT_EQ(
      doc.root().read_choice<Mode>("mode", mode, {{"a", Mode::kA}, {"b", Mode::kB}}).message(),
      "f.yaml:1: mode: must be one of a, b, got 'c'");
  EXPECT_EQ(mode, Mode::kA);
}

TEST(YamlReader, ErrorsAboutNestedAndMissingKeysPointAtTheNearestLine) {
  const Document doc = parse("name: x\npopulation:\n  training:\n    epochs: 0\n");
  const Section population = doc.root().sub("population");
  EXPECT_EQ(population.error_at("training.epochs", "must be positive").message(),
            "f.yaml:4: population.training.epochs: must be positive");
  EXPECT_EQ(population.error_at("training.batch_size", "must be positive").message(),
            "f.yaml:4: population.training.batch_size: must be positive");
  EXPECT_EQ(population.error_at("deadlines_ms.selection", "must be positive").message(),
            "f.yaml:3: population.deadlines_ms.selection: must be positive");
}

TEST(YamlReader, OverridesApplyAndTheirErrorsNameTheOverride) {
  auto doc = Document::parse("a:\n  b: 1\n  c: 2\n", "f.yaml");
  ASSERT_TRUE(doc.ok());
  ASSERT_TRUE(doc->set("a.b", "-5").ok());
  ASSERT_TRUE(doc->set("new.deep.key", "[1, 2]").ok());
  int b = 0, c = 0;
  EXPECT_EQ(doc->root().sub("a").read("b", b, Range::at_least(0)).message(),
            "--set a.b=-5: a.b: must be >= 0, got -5");
  EXPECT_TRUE(doc->root().sub("a").read("c", c).ok());
  EXPECT_EQ(c, 2);
  EXPECT_EQ(doc->root().sub("a").error("c", "no").message(), "f.yaml:3: a.c: no");
  std::vector<int> key;
  ASSERT_TRUE(doc->root().sub("new").sub("deep").read("key", key).ok());
  EXPECT_EQ(key, (std::vector<int>{1, 2}));
  EXPECT_EQ(doc->set("a.b.x", "1").message(), "--set a.b.x=1: b is not a mapping");
  EXPECT_EQ(doc->set("a..b", "1").message(), "--set a..b=1: empty part in the key");
  EXPECT_EQ(doc->set("a.b", "[1").message().rfind("--set a.b=[1: not valid YAML", 0), 0u);
}

TEST(YamlReader, MalformedDocumentsAreErrorsNotExceptions) {
  auto bad = Document::parse("a: [1, 2\nb: 3\n", "f.yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message().rfind("f.yaml:", 0), 0u) << bad.status().message();
  EXPECT_NE(bad.status().message().find("not valid YAML"), std::string::npos);
  EXPECT_TRUE(parse("").empty());
  EXPECT_TRUE(parse("# only a comment\n").empty());
  EXPECT_EQ(Document::load_file("/nonexistent/f.yaml").status().code(), ErrorCode::kNotFound);
  // Reads of every type on every kind of node: refused or read, never thrown.
  const Document odd = parse("m: {k: v}\ns: [a, {b: c}]\nn: ~\nx: !!binary aGk=\n");
  for (const char* key : {"m", "s", "n", "x"}) {
    std::string text;
    double number = 0;
    bool flag = false;
    std::vector<int> ints;
    std::vector<std::string> names;
    (void)odd.root().read(key, text);
    (void)odd.root().read(key, number);
    (void)odd.root().read(key, flag);
    (void)odd.root().read(key, ints);
    (void)odd.root().read(key, names);
    (void)odd.root().sub(key).expect_keys({"k"});
  }
}

}  // namespace
}  // namespace fl::yaml
