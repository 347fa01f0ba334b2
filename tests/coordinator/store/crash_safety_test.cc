// Nothing committed is lost when the coordinator dies (DESIGN.md section 5).
//
// A child process writes versions in a loop and reports each committed id
// through a pipe; the parent SIGKILLs it mid-loop, usually mid-transaction,
// then reopens the file and checks that every reported version is intact and
// that the round the child left running is failed on restart.
//
// SIGKILL models a process crash, where the OS still holds the written pages;
// synchronous=FULL is what extends the guarantee to a power cut, which a test
// cannot pull.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <map>

#include "coordinator/store/sqlite_store.h"
#include "tests/coordinator/store/store_test_support.h"

namespace fl::coordinator {
namespace {

using testing::sample_version;

// Big enough that a kill often lands inside writing or syncing a version.
constexpr size_t kPayloadBytes = 64 * 1024;

NewVersion crash_version(uint64_t seed, std::optional<int64_t> parent) {
  NewVersion v = sample_version("m", seed, parent);
  v.model_bytes = testing::payload(seed, kPayloadBytes);
  return v;
}

// Reported through the pipe after each commit.
struct Report {
  int64_t kind;  // 0: the round id; 1: a version (seed, id)
  int64_t seed;
  int64_t id;
};

bool write_report(int fd, const Report& report) {
  return write(fd, &report, sizeof report) == static_cast<ssize_t>(sizeof report);
}

// The child: never returns. Uses only the store and write(2); no gtest.
[[noreturn]] void run_child(const std::string& path, int fd) {
  auto opened = SqliteStore::open(path);
  if (!opened.ok()) _exit(2);
  SqliteStore& store = **opened;
  auto base = store.add_version(crash_version(0, std::nullopt));
  if (!base.ok() || !store.publish("m", *base).ok()) _exit(3);
  auto round = store.begin_round({"p", *base, 1});
  if (!round.ok() || !write_report(fd, {0, 0, *round})) _exit(4);
  if (!write_report(fd, {1, 0, *base})) _exit(5);
  int64_t parent = *base;
  for (int64_t seed = 1;; ++seed) {
    auto id = store.add_version(crash_version(static_cast<uint64_t>(seed), parent));
    if (!id.ok()) _exit(6);
    if (seed % 5 == 0 && !store.publish("m", *id).ok()) _exit(7);
    if (!write_report(fd, {1, seed, *id})) _exit(8);
    parent = *id;
  }
}

bool read_report(int fd, Report& report) {
  size_t got = 0;
  auto* bytes = reinterpret_cast<char*>(&report);
  while (got < sizeof report) {
    const ssize_t n = read(fd, bytes + got, sizeof report - got);
    if (n == 0) return false;
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    got += static_cast<size_t>(n);
  }
  return true;
}

class CrashSafety : public ::testing::TestWithParam<int> {};

TEST_P(CrashSafety, VersionsReportedCommittedSurviveSigkillAndTheRoundIsFailedOnRestart) {
  const int kill_after = GetParam();  // versions reported before the kill
  testing::TempDir dir;
  const std::string path = dir.file("store.db");

  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(fds[0]);
    run_child(path, fds[1]);
  }
  close(fds[1]);

  Report report{};
  ASSERT_TRUE(read_report(fds[0], report)) << "child died before starting its round";
  ASSERT_EQ(report.kind, 0);
  const int64_t round = report.id;
  std::map<int64_t, int64_t> committed;  // version id -> seed
  while (static_cast<int>(committed.size()) < kill_after && read_report(fds[0], report)) {
    committed[report.id] = report.seed;
  }
  ASSERT_EQ(kill(child, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "child exited early with status " << status;
  // Reports written between our last read and the kill are commitments too.
  while (read_report(fds[0], report)) committed[report.id] = report.seed;
  close(fds[0]);
  ASSERT_GE(static_cast<int>(committed.size()), kill_after);

  // Restart.
  EXPECT_EQ(testing::integrity_check(path), "ok");
  auto store = testing::open_store(path);
  ASSERT_NE(store, nullptr);
  for (const auto& [id, seed] : committed) {
    auto version = store->get_version(id);
    ASSERT_TRUE(version.ok()) << "committed version " << id << ": " << version.status().to_string();
    const NewVersion expected = crash_version(static_cast<uint64_t>(seed), std::nullopt);
    EXPECT_EQ(version->model_bytes, expected.model_bytes) << "version " << id;
    EXPECT_EQ(version->optimizer_state, expected.optimizer_state) << "version " << id;
    EXPECT_EQ(version->metrics, expected.metrics) << "version " << id;
  }
  EXPECT_EQ(testing::published_count(*store, "m"), 1u);

  auto failed = store->fail_running_rounds("coordinator restarted after a crash", 42);
  ASSERT_TRUE(failed.ok()) << failed.status().to_string();
  EXPECT_EQ(*failed, std::vector<int64_t>{round});
  auto record = store->get_round(round);
  ASSERT_TRUE(record.ok());
  EXPECT_EQ(record->state, RoundState::kFailed);
  EXPECT_EQ(record->failure_reason, "coordinator restarted after a crash");

  // The restarted coordinator carries on: the next version gets a fresh id.
  auto next = store->add_version(crash_version(999'999, std::nullopt));
  ASSERT_TRUE(next.ok());
  EXPECT_GT(*next, committed.rbegin()->first);
}

INSTANTIATE_TEST_SUITE_P(KillPoints, CrashSafety, ::testing::Values(3, 17, 40));

}  // namespace
}  // namespace fl::coordinator
