// Opening a database written by an older build: it is migrated in place,
// keeps everything it held, and its publication history starts from what was
// published, so rolling back by naming a version works at once.
#include <gtest/gtest.h>

#include "coordinator/store/sqlite_schema.h"
#include "coordinator/store/sqlite_store.h"
#include "tests/coordinator/store/store_test_support.h"

namespace fl::coordinator {
namespace {

using testing::open_store;
using testing::run_sql;
using testing::sample_version;

// Turns a current file back into what a schema-version-3 build wrote.
void downgrade_to_version_3(const std::string& path) {
  run_sql(path, "DROP TABLE privacy_ledger; UPDATE schema_version SET version = 3;");
}

// Turns a current file back into what a schema-version-2 build wrote.
void downgrade_to_version_2(const std::string& path) {
  downgrade_to_version_3(path);
  run_sql(path,
          "DROP TABLE device_tokens; ALTER TABLE clients DROP COLUMN revoked_at_ms;"
          " UPDATE schema_version SET version = 2;");
}

// Turns a current file back into what a schema-version-1 build wrote.
void downgrade_to_version_1(const std::string& path) {
  downgrade_to_version_2(path);
  run_sql(path, "DROP TABLE publications; UPDATE schema_version SET version = 1;");
}

TEST(StoreSchemaMigration, AVersion1FileIsMigratedAndKeepsItsVersions) {
  testing::TempDir dir;
  const std::string path = dir.file("old.db");
  int64_t a = 0;
  int64_t b = 0;
  {
    auto store = open_store(path);
    ASSERT_NE(store, nullptr);
    a = *store->add_version(sample_version("m", 1));
    b = *store->add_version(sample_version("m", 2));
    ASSERT_TRUE(store->publish("m", b).ok());
  }
  downgrade_to_version_1(path);

  auto store = open_store(path);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->latest_version("m", VersionStage::kPublished)->id, b);
  EXPECT_EQ(store->get_version(a)->model_bytes, sample_version("m", 1).model_bytes);

  auto history = store->list_publications("m", 10);
  ASSERT_TRUE(history.ok()) << history.status().to_string();
  ASSERT_EQ(history->size(), 1u);
  EXPECT_EQ((*history)[0].version_id, b);
  EXPECT_EQ((*history)[0].reason, "schema-migration");

  PublishInfo rollback;
  rollback.at_ms = 5;
  rollback.reason = "rollback";
  ASSERT_TRUE(store->publish("m", a, rollback).ok());
  EXPECT_EQ(store->list_publications("m", 10)->size(), 2u);
  EXPECT_EQ(testing::integrity_check(path), "ok");
}

TEST(StoreSchemaMigration, AVersion2FileKeepsItsClientsEnrolledAndGainsDeviceTokens) {
  testing::TempDir dir;
  const std::string path = dir.file("v2.db");
  uint64_t first = 0;
  uint64_t second = 0;
  {
    auto store = open_store(path);
    ASSERT_NE(store, nullptr);
    first = *store->enroll(testing::sample_key(1), 100, "site-a");
    second = *store->enroll(testing::sample_key(2), 200, std::nullopt);
  }
  downgrade_to_version_2(path);

  auto store = open_store(path);
  ASSERT_NE(store, nullptr);
  auto a = store->find_client(first);
  ASSERT_TRUE(a.ok()) << a.status().to_string();
  EXPECT_EQ(a->public_key, testing::sample_key(1));
  EXPECT_EQ(a->label, "site-a");
  EXPECT_FALSE(a->revoked_at_ms.has_value());  // existing clients keep working
  EXPECT_EQ(store->find_client_by_key(testing::sample_key(2))->client_id, second);

  // The new table works at once: a token enrols a third device.
  DeviceTokenHash token{};
  token.fill(7);
  ASSERT_TRUE(store->add_device_tokens({token}, 300, std::nullopt).ok());
  auto third = store->enroll_with_token(token, testing::sample_key(3), 400, std::nullopt);
  ASSERT_TRUE(third.ok()) << third.status().to_string();
  EXPECT_GT(*third, second);
  EXPECT_EQ(testing::integrity_check(path), "ok");
}

TEST(StoreSchemaMigration, AVersion3FileKeepsItsRoundsAndGainsAnEmptyPrivacyLedger) {
  testing::TempDir dir;
  const std::string path = dir.file("v3.db");
  int64_t round = 0;
  {
    auto store = open_store(path);
    ASSERT_NE(store, nullptr);
    const int64_t base = *store->add_version(sample_version("m", 1));
    ASSERT_TRUE(store->publish("m", base).ok());
    round = *store->begin_round({"p", base, 100});
    ASSERT_TRUE(store->complete_round(round, {}, sample_version("m", 2), 200).ok());
  }
  downgrade_to_version_3(path);

  auto store = open_store(path);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->get_round(round)->state, RoundState::kCompleted);
  auto ledger = store->privacy_ledger("p");
  ASSERT_TRUE(ledger.ok()) << ledger.status().to_string();
  EXPECT_TRUE(ledger->empty());
  EXPECT_EQ(testing::integrity_check(path), "ok");
}

TEST(StoreSchemaMigration, TheMigratedFileIsAtTheCurrentVersion) {
  testing::TempDir dir;
  const std::string path = dir.file("old.db");
  ASSERT_NE(open_store(path), nullptr);
  downgrade_to_version_1(path);
  ASSERT_NE(open_store(path), nullptr);

  // A second open finds nothing left to migrate (the table already exists:
  // migrating twice would fail on CREATE TABLE).
  auto again = SqliteStore::open(path);
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT version FROM schema_version", -1, &s, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int64(s, 0), kSqliteSchemaVersion);
  sqlite3_finalize(s);
  sqlite3_close(db);
}

}  // namespace
}  // namespace fl::coordinator
