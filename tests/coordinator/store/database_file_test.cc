// What opening a database file promises: data survives close and reopen, and
// a file the store cannot trust (newer schema, not a store, garbage, damaged
// pages) is refused with a clear error instead of being guessed at or crashing.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "coordinator/store/sqlite_store.h"
#include "tests/coordinator/store/store_test_support.h"

namespace fl::coordinator {
namespace {

using testing::open_store;
using testing::run_sql;
using testing::sample_key;
using testing::sample_version;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

bool mentions(const Status& status, const std::string& text) {
  return status.message().find(text) != std::string::npos;
}

TEST(StoreFile, EverythingSurvivesCloseAndReopen) {
  testing::TempDir dir;
  const std::string path = dir.file("store.db");
  int64_t version = 0;
  int64_t round = 0;
  uint64_t client = 0;
  {
    auto store = open_store(path);
    ASSERT_NE(store, nullptr);
    version = *store->add_version(sample_version("m", 1));
    ASSERT_TRUE(store->publish("m", version).ok());
    round = *store->begin_round({"p", version, 5});
    client = *store->enroll(sample_key(1), 7, "site");
  }
  auto store = open_store(path);
  ASSERT_NE(store, nullptr);
  auto published = store->latest_version("m", VersionStage::kPublished);
  ASSERT_TRUE(published.ok());
  EXPECT_EQ(published->id, version);
  EXPECT_EQ(published->model_bytes, sample_version("m", 1).model_bytes);
  EXPECT_EQ(store->get_round(round)->state, RoundState::kRunning);
  EXPECT_EQ(store->find_client_by_key(sample_key(1))->client_id, client);
}

TEST(StoreFile, ADatabaseFromANewerSchemaVersionIsRefusedClearly) {
  testing::TempDir dir;
  const std::string path = dir.file("store.db");
  ASSERT_NE(open_store(path), nullptr);
  run_sql(path, "UPDATE schema_version SET version = 99");

  auto store = SqliteStore::open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), ErrorCode::kFailedPrecondition);
  EXPECT_TRUE(mentions(store.status(), "schema version 99")) << store.status().to_string();
  EXPECT_TRUE(mentions(store.status(), "newer")) << store.status().to_string();
  EXPECT_TRUE(mentions(store.status(), path)) << store.status().to_string();
}

TEST(StoreFile, AnotherApplicationsSqliteDatabaseIsRefusedAndLeftAlone) {
  testing::TempDir dir;
  const std::string path = dir.file("other.db");
  run_sql(path, "CREATE TABLE invoices (id INTEGER PRIMARY KEY)");

  auto store = SqliteStore::open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), ErrorCode::kFailedPrecondition);
  EXPECT_TRUE(mentions(store.status(), "not an fl store")) << store.status().to_string();
  run_sql(path, "SELECT * FROM invoices");  // still there, and no store tables were added
}

TEST(StoreFile, AGarbageFileIsDataLossAndIsNotModified) {
  testing::TempDir dir;
  const std::string path = dir.file("store.db");
  const std::string garbage = testing::payload(7, 16 * 1024);
  write_file(path, garbage);

  auto store = SqliteStore::open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), ErrorCode::kDataLoss);
  EXPECT_TRUE(mentions(store.status(), path)) << store.status().to_string();
  EXPECT_EQ(read_file(path), garbage);
}

TEST(StoreFile, DamagedPagesGiveDataLossNotACrash) {
  testing::TempDir dir;
  const std::string path = dir.file("store.db");
  {
    auto store = open_store(path);
    ASSERT_NE(store, nullptr);
    for (uint64_t seed = 1; seed <= 20; ++seed) {
      ASSERT_TRUE(store->add_version(sample_version("m", seed)).ok());
    }
  }  // the last connection to close checkpoints the WAL into the main file

  // Keep page 1 (the header and the schema) and overwrite every later page.
  std::string bytes = read_file(path);
  const size_t page_size = 4096;
  ASSERT_GT(bytes.size(), 2 * page_size);
  const std::string garbage = testing::payload(11, bytes.size() - page_size);
  bytes.replace(page_size, garbage.size(), garbage);
  write_file(path, bytes);

  auto store = SqliteStore::open(path);
  if (store.ok()) {  // if opening got through, reading the damaged tables must not
    auto versions = (*store)->list_versions("m");
    ASSERT_FALSE(versions.ok());
    EXPECT_EQ(versions.status().code(), ErrorCode::kDataLoss) << versions.status().to_string();
  } else {
    EXPECT_EQ(store.status().code(), ErrorCode::kDataLoss) << store.status().to_string();
  }
}

TEST(StoreFile, AnEmptyPathIsInvalid) {
  EXPECT_EQ(SqliteStore::open("").status().code(), ErrorCode::kInvalidArgument);
}

TEST(StoreFile, AMissingDirectoryIsAClearError) {
  auto store = SqliteStore::open("/nonexistent-dir-for-fl-tests/store.db");
  ASSERT_FALSE(store.ok());
  EXPECT_TRUE(mentions(store.status(), "/nonexistent-dir-for-fl-tests/store.db"))
      << store.status().to_string();
}

}  // namespace
}  // namespace fl::coordinator
