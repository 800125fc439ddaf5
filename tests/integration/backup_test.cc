// Backups while serving: a checkpoint taken mid-life restores, into a new
// data dir, exactly the state at the backup — every incidence table, signal
// (with history), baseline, subject and audit record — and nothing after it.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "aesignal/client/client.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "services/domain/monitor.h"
#include "services/server/server.h"
#include "storage/store.h"
#include "tests/testing/fixtures.h"
#include "tests/testing/temp_dir.h"

namespace aesignal {
namespace {

using google::protobuf::util::MessageDifferencer;
using ::testing::HasSubstr;
using ::testing::Not;

// Everything a trial exposes, read through the API.
struct TrialState {
  std::vector<v1::GetIncidenceResponse> incidence;
  std::vector<v1::Signal> signals;
  std::vector<v1::Baseline> baselines;
  std::vector<v1::Subject> subjects;
  std::vector<v1::AuditRecord> audit;
};

TrialState Read(client::Client& c, const std::string& trial) {
  TrialState s;
  for (auto level :
       {v1::TERM_LEVEL_PT, v1::TERM_LEVEL_SOC, v1::TERM_LEVEL_OVERALL}) {
    auto table = c.GetIncidence(trial, level);
    EXPECT_TRUE(table.ok()) << table.status();
    s.incidence.push_back(*table);
  }
  auto signals = c.ListAllSignals(trial);
  EXPECT_TRUE(signals.ok());
  for (const auto& listed : *signals) {
    auto full = c.GetSignal(listed.name());
    EXPECT_TRUE(full.ok());
    s.signals.push_back(*full);
  }
  s.baselines = *c.ListBaselines(trial);
  s.subjects = *c.ListAllSubjects(trial);
  s.audit = *c.GetAuditTrail(trial);
  return s;
}

template <typename M>
void ExpectSame(const std::vector<M>& a, const std::vector<M>& b,
                const char* what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_TRUE(MessageDifferencer::Equals(a[i], b[i])) << what << " " << i;
  }
}

TEST(BackupTest, RestoreGivesExactlyTheStateAtTheBackup) {
  testing::TempDir dir;
  auto server =
      Server::Start({.listen = "127.0.0.1:0", .data_dir = dir.Sub("data")});
  ASSERT_TRUE(server.ok()) << server.status();
  client::ConnectionOptions options;
  options.target = absl::StrCat("127.0.0.1:", (*server)->port());
  client::Client c(client::MakeClientConnection(options));

  ASSERT_TRUE(c.CreateTrial(testing::ThreeGroupTrial("T1")).ok());
  std::vector<v1::Subject> subjects;
  for (int i = 1; i <= 9; ++i) subjects.push_back(testing::SubjectNumber(i));
  ASSERT_TRUE(c.EnrollSubjects("T1", subjects).ok());
  v1::Baseline baseline;
  baseline.set_baseline_id("sae");
  baseline.set_level(v1::TERM_LEVEL_OVERALL);
  baseline.set_overall_key("any_sae");
  baseline.set_expected_proportion(0.02);
  baseline.set_citation("test");
  ASSERT_TRUE(c.PutBaselines("T1", {baseline}).ok());
  ASSERT_TRUE(
      c.SubmitReports("T1",
                      {testing::Report("R1", 1, "S3", 20, "Pneumonia", 3, true),
                       testing::Report("R2", 1, "S6", 30, "Sepsis", 4, true)})
          .ok());
  ASSERT_TRUE((*server)->monitor().signals().WaitIdle(absl::Seconds(10)).ok());
  const TrialState at_backup = Read(c, "T1");
  ASSERT_FALSE(at_backup.signals.empty());

  v1::CreateBackupRequest backup;
  backup.set_destination(dir.Sub("backup"));
  ASSERT_TRUE(c.connection().CreateBackup(backup).ok());
  // A second backup to the same place is refused, not overwritten.
  EXPECT_EQ(c.connection().CreateBackup(backup).status().code(),
            absl::StatusCode::kAlreadyExists);

  // Changes after the backup are not in it.
  ASSERT_TRUE(
      c.SubmitReports("T1", {testing::Report("R3", 1, "S9", 40, "Rash")}).ok());
  server->reset();

  // Restoring into a non-empty data dir is refused.
  auto refused = Server::Start({.listen = "127.0.0.1:0",
                                .data_dir = dir.Sub("data"),
                                .restore_from = dir.Sub("backup")});
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);

  // A backup with a table file missing is refused as such, the new data
  // dir left empty, so a second try says the same, not "not empty".
  std::filesystem::copy(dir.Sub("backup"), dir.Sub("damaged"),
                        std::filesystem::copy_options::recursive);
  std::string removed;
  for (const auto& entry :
       std::filesystem::directory_iterator(dir.Sub("damaged"))) {
    if (removed.empty() && entry.path().extension() == ".sst" &&
        std::filesystem::remove(entry.path())) {
      removed = entry.path().stem().string();
    }
  }
  ASSERT_FALSE(removed.empty()) << "the backup has no table file to remove";
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto damaged = Server::Start({.listen = "127.0.0.1:0",
                                  .data_dir = dir.Sub("from-damaged"),
                                  .restore_from = dir.Sub("damaged")});
    EXPECT_EQ(damaged.status().code(), absl::StatusCode::kFailedPrecondition);
    const std::string why(damaged.status().message());
    EXPECT_THAT(why, HasSubstr("the backup cannot be opened"));
    // The file is named in the backup, not in the copy that was removed.
    EXPECT_THAT(why, HasSubstr(absl::StrCat(dir.Sub("damaged"), "/", removed)));
    EXPECT_THAT(
        why,
        Not(HasSubstr(absl::StrCat(dir.Sub("from-damaged"), "/", removed))));
    EXPECT_TRUE(std::filesystem::is_empty(dir.Sub("from-damaged")));
  }

  auto restored = Server::Start({.listen = "127.0.0.1:0",
                                 .data_dir = dir.Sub("restored"),
                                 .restore_from = dir.Sub("backup")});
  ASSERT_TRUE(restored.ok()) << restored.status();
  options.target = absl::StrCat("127.0.0.1:", (*restored)->port());
  client::Client r(client::MakeClientConnection(options));
  const TrialState after = Read(r, "T1");
  ExpectSame(after.incidence, at_backup.incidence, "incidence");
  ExpectSame(after.signals, at_backup.signals, "signals");
  ExpectSame(after.baselines, at_backup.baselines, "baselines");
  ExpectSame(after.subjects, at_backup.subjects, "subjects");
  ExpectSame(after.audit, at_backup.audit, "audit");
  v1::VerifyTrialRequest verify;
  verify.set_name("trials/T1");
  EXPECT_TRUE(r.connection().VerifyTrial(verify).ok());

  // A start that fails after its restore (its port is taken) leaves the
  // data dir restored; the same command again opens it as it is, and so
  // does a later start that still has the flag, with what was written since.
  const ServerOptions again{
      .listen = absl::StrCat("127.0.0.1:", (*restored)->port()),
      .data_dir = dir.Sub("again"),
      .restore_from = dir.Sub("backup")};
  auto taken = Server::Start(again);
  ASSERT_FALSE(taken.ok());
  ASSERT_FALSE(std::filesystem::is_empty(dir.Sub("again")));
  restored->reset();
  for (int start = 0; start < 2; ++start) {
    auto retried = Server::Start(again);
    ASSERT_TRUE(retried.ok()) << retried.status();
    client::Client a(client::MakeClientConnection(options));
    if (start == 0) {
      ExpectSame(Read(a, "T1").incidence, at_backup.incidence, "incidence");
      ASSERT_TRUE(
          a.SubmitReports("T1", {testing::Report("R4", 1, "S8", 40, "Rash")})
              .ok());
    } else {
      EXPECT_TRUE(a.GetReport("T1", "01", "R4").ok());
    }
  }
  // Another data dir that is not empty is still refused.
  auto other = Server::Start({.listen = "127.0.0.1:0",
                              .data_dir = dir.Sub("again"),
                              .restore_from = dir.Sub("damaged")});
  EXPECT_EQ(other.status().code(), absl::StatusCode::kFailedPrecondition);
}

// Restoring from the data dir of a running store is refused: a copy taken
// while it writes would be torn. Another process holds its LOCK here, as a
// running aesignald would (RocksDB's lock is a POSIX record lock, which a
// process does not see as held against itself).
TEST(BackupTest, RestoreFromARunningStoresDataDirIsRefused) {
  testing::TempDir dir;
  {
    auto store = storage::Store::Open({.path = dir.Sub("live")});
    ASSERT_TRUE(store.ok()) << store.status();
  }
  int ready[2], release[2];
  ASSERT_EQ(pipe(ready), 0);
  ASSERT_EQ(pipe(release), 0);
  const std::string lock = dir.Sub("live") + "/LOCK";
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {  // only async-signal-safe calls until _exit
    const int fd = open(lock.c_str(), O_RDWR);
    struct flock whole = {};
    whole.l_type = F_WRLCK;
    whole.l_whence = SEEK_SET;
    char byte = fd >= 0 && fcntl(fd, F_SETLK, &whole) == 0 ? 'y' : 'n';
    if (write(ready[1], &byte, 1) != 1) _exit(1);
    if (read(release[0], &byte, 1) < 0) _exit(1);
    _exit(0);
  }
  char locked = 0;
  ASSERT_EQ(read(ready[0], &locked, 1), 1);
  ASSERT_EQ(locked, 'y');
  auto refused = Server::Start({.listen = "127.0.0.1:0",
                                .data_dir = dir.Sub("copy"),
                                .restore_from = dir.Sub("live")});
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(refused.status().message()),
              HasSubstr("data dir of a running store"));
  const char go = 'x';
  ASSERT_EQ(write(release[1], &go, 1), 1);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  // Stopped, the same data dir is a consistent copy and restores.
  auto restored = Server::Start({.listen = "127.0.0.1:0",
                                 .data_dir = dir.Sub("copy"),
                                 .restore_from = dir.Sub("live")});
  EXPECT_TRUE(restored.ok()) << restored.status();
}

}  // namespace
}  // namespace aesignal
