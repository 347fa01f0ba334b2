// Helpers shared by the store tests: a temporary directory, raw SQL access to
// a store's file (to inject faults the public API cannot), and sample records.
#pragma once

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <string>

#include "coordinator/store/sqlite_store.h"

namespace fl::coordinator::testing {

// A fresh directory under the system temp dir, removed with its contents.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "fl-store-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed";
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// Runs SQL on the database file through a separate connection, as an
// operator (or a fault) would, behind the store's back.
inline void run_sql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* error = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  EXPECT_EQ(rc, SQLITE_OK) << (error ? error : "") << " in " << sql;
  sqlite3_free(error);
  sqlite3_close(db);
}

// SQLite's own consistency check of the whole file: "ok" when intact.
inline std::string integrity_check(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) return "cannot open";
  sqlite3_stmt* statement = nullptr;
  std::string result = "cannot prepare";
  if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &statement, nullptr) == SQLITE_OK) {
    result = sqlite3_step(statement) == SQLITE_ROW
                 ? reinterpret_cast<const char*>(sqlite3_column_text(statement, 0))
                 : "no result";
  }
  sqlite3_finalize(statement);
  sqlite3_close(db);
  return result;
}

inline std::unique_ptr<SqliteStore> open_store(const std::string& path) {
  auto store = SqliteStore::open(path);
  EXPECT_TRUE(store.ok()) << store.status().to_string();
  return store.ok() ? std::move(store).value() : nullptr;
}

// Payload bytes that identify `seed` and include NUL and 0xff, so a blob
// truncated at a NUL or mangled as text would not compare equal.
inline std::string payload(uint64_t seed, size_t size = 256) {
  std::string bytes(size, '\0');
  uint64_t state = seed * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = 0; i < size; ++i) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    bytes[i] = static_cast<char>(state & 0xff);
  }
  if (size > 1) {
    bytes[0] = '\0';
    bytes[size - 1] = '\xff';
  }
  return bytes;
}

inline NewVersion sample_version(const std::string& model, uint64_t seed,
                                 std::optional<int64_t> parent = std::nullopt) {
  NewVersion v;
  v.model = model;
  v.parent_id = parent;
  v.created_at_ms = 1'700'000'000'000 + static_cast<int64_t>(seed);
  v.metrics = {{"accuracy", 0.5 + static_cast<double>(seed % 100) / 1000},
               {"loss", 1.0 / (seed + 1)}};
  v.model_bytes = payload(seed);
  v.optimizer_state = payload(seed + 1'000'000, 64);
  return v;
}

inline ClientPublicKey sample_key(uint8_t seed) {
  ClientPublicKey key;
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(seed * 31 + i);
  return key;
}

// How many versions of `model` are published right now.
inline size_t published_count(Store& store, const std::string& model) {
  auto versions = store.list_versions(model);
  EXPECT_TRUE(versions.ok()) << versions.status().to_string();
  size_t published = 0;
  if (versions.ok()) {
    for (const ModelVersion& v : *versions) published += v.stage == VersionStage::kPublished;
  }
  return published;
}

}  // namespace fl::coordinator::testing
