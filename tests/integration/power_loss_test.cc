// Durability under power loss. The crash test kills aesignald with SIGKILL,
// which loses nothing the kernel already has: an acknowledgement given
// before its fsync would pass it. Here the store runs on a file system that
// loses power (tests/testing/power_loss_file_system.h): at a random moment,
// or as the next WAL sync starts (the moment every acknowledgement waits
// for), every write and sync starts failing, and the disk is then left as a
// power cut may leave it — unsynced bytes dropped (some of them kept, at
// random), files and renames not covered by a directory fsync undone. Clients
// stream new reports, follow-ups and the same reports from two clients at once
// through the domain's asynchronous ingest (what the gRPC stream calls),
// 20 cycles by default (AESIGNAL_POWER_CYCLES). After each cycle every
// acknowledged report version must be stored; at the end the counters equal
// a recount, no report is counted twice, and the signals equal a
// re-evaluation.
#include <rocksdb/db.h>
#include <rocksdb/env.h>

#include <atomic>
#include <filesystem>
#include <iostream>
#include <map>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "services/domain/monitor.h"
#include "storage/keys.h"
#include "storage/store.h"
#include "tests/testing/async_ingest.h"
#include "tests/testing/fixtures.h"
#include "tests/testing/power_loss_file_system.h"
#include "tests/testing/recount_checks.h"
#include "tests/testing/temp_dir.h"

namespace aesignal {
namespace {

using testing::PowerLossFileSystem;

// A file system that can lose power, and an Env over it for RocksDB.
struct PowerLossEnv {
  explicit PowerLossEnv(uint32_t seed, double keep_unsynced = 0.5)
      : fs(std::make_shared<PowerLossFileSystem>(seed, keep_unsynced)),
        env(rocksdb::NewCompositeEnv(fs)) {}
  std::shared_ptr<PowerLossFileSystem> fs;
  std::unique_ptr<rocksdb::Env> env;
};

// --- The model itself: it must lose what a power cut loses -----------------

std::unique_ptr<rocksdb::DB> OpenDb(const std::string& path,
                                    rocksdb::Env* env) {
  rocksdb::Options options;
  options.create_if_missing = true;
  if (env != nullptr) options.env = env;
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, path, &db);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return std::unique_ptr<rocksdb::DB>(db);
}

bool Has(rocksdb::DB& db, const std::string& key) {
  std::string value;
  return db.Get(rocksdb::ReadOptions(), key, &value).ok();
}

// What the power-loss test relies on: a write RocksDB synced survives, one it
// did not is lost — though a killed process (a copy of the files as they are
// when the power goes) still has it, which is why kill -9 cannot tell.
TEST(PowerLossFileSystemTest, UnsyncedWritesAreLostAndSyncedOnesKept) {
  testing::TempDir dir;
  const std::string path = dir.Sub("db");
  PowerLossEnv power(/*seed=*/1, /*keep_unsynced=*/0);
  {
    std::unique_ptr<rocksdb::DB> db = OpenDb(path, power.env.get());
    ASSERT_NE(db, nullptr);
    rocksdb::WriteOptions synced, unsynced;
    synced.sync = true;
    ASSERT_TRUE(db->Put(synced, "synced", "1").ok());
    ASSERT_TRUE(db->Put(unsynced, "unsynced", "2").ok());
    power.fs->CutPower();
    EXPECT_FALSE(db->Put(synced, "after", "3").ok());
    std::filesystem::copy(path, dir.Sub("killed"));
  }
  PowerLossFileSystem::Loss loss;
  ASSERT_TRUE(power.fs->RestoreAfterPowerLoss(&loss).ok());
  EXPECT_GT(loss.bytes_dropped, 0);

  std::unique_ptr<rocksdb::DB> killed = OpenDb(dir.Sub("killed"), nullptr);
  ASSERT_NE(killed, nullptr);
  EXPECT_TRUE(Has(*killed, "unsynced")) << "a killed process keeps it";
  std::unique_ptr<rocksdb::DB> db = OpenDb(path, nullptr);
  ASSERT_NE(db, nullptr);
  EXPECT_TRUE(Has(*db, "synced"));
  EXPECT_FALSE(Has(*db, "unsynced")) << "the power cut did not drop it";
  EXPECT_FALSE(Has(*db, "after"));
}

std::string ReadAll(const std::string& path) {
  std::string content;
  std::unique_ptr<rocksdb::SequentialFile> file;
  rocksdb::Env* env = rocksdb::Env::Default();
  if (!env->NewSequentialFile(path, &file, rocksdb::EnvOptions()).ok()) {
    return "<absent>";
  }
  char buf[256];
  rocksdb::Slice got;
  while (file->Read(sizeof buf, &got, buf).ok() && !got.empty()) {
    content.append(got.data(), got.size());
  }
  return content;
}

void WriteSynced(rocksdb::FileSystem& fs, const std::string& path,
                 const std::string& content) {
  std::unique_ptr<rocksdb::FSWritableFile> file;
  ASSERT_TRUE(
      fs.NewWritableFile(path, rocksdb::FileOptions(), &file, nullptr).ok());
  ASSERT_TRUE(file->Append(content, rocksdb::IOOptions(), nullptr).ok());
  ASSERT_TRUE(file->Sync(rocksdb::IOOptions(), nullptr).ok());
  ASSERT_TRUE(file->Close(rocksdb::IOOptions(), nullptr).ok());
}

// A synced file whose directory was never synced may vanish, and a rename
// not followed by a directory fsync may be undone (the way RocksDB installs
// CURRENT: write a temporary file, sync it, rename it, sync the directory).
TEST(PowerLossFileSystemTest, EntriesNeedTheirDirectorySynced) {
  testing::TempDir dir;
  const std::string d = dir.Sub("d");
  ASSERT_TRUE(std::filesystem::create_directory(d));
  // From "before the power came on": durable as it is.
  WriteSynced(*rocksdb::FileSystem::Default(), d + "/CURRENT", "old");
  PowerLossEnv power(/*seed=*/1, /*keep_unsynced=*/0);
  PowerLossFileSystem& fs = *power.fs;
  std::unique_ptr<rocksdb::FSDirectory> directory;
  ASSERT_TRUE(
      fs.NewDirectory(d, rocksdb::IOOptions(), &directory, nullptr).ok());
  WriteSynced(fs, d + "/kept", "a");
  ASSERT_TRUE(directory->Fsync(rocksdb::IOOptions(), nullptr).ok());
  WriteSynced(fs, d + "/lost", "b");
  WriteSynced(fs, d + "/CURRENT.tmp", "new");
  ASSERT_TRUE(fs.RenameFile(d + "/CURRENT.tmp", d + "/CURRENT",
                            rocksdb::IOOptions(), nullptr)
                  .ok());
  EXPECT_EQ(ReadAll(d + "/CURRENT"), "new");
  fs.CutPower();
  EXPECT_FALSE(directory->Fsync(rocksdb::IOOptions(), nullptr).ok());
  PowerLossFileSystem::Loss loss;
  ASSERT_TRUE(fs.RestoreAfterPowerLoss(&loss).ok());
  EXPECT_EQ(ReadAll(d + "/kept"), "a");
  EXPECT_EQ(ReadAll(d + "/lost"), "<absent>");
  EXPECT_EQ(ReadAll(d + "/CURRENT"), "old");
  EXPECT_EQ(loss.files_removed, 1);
  EXPECT_EQ(loss.renames_undone, 1);
}

// --- The store under power loss ---------------------------------------------

constexpr char kTrial[] = "T";
constexpr char kParent[] = "trials/T";
constexpr int kSubjects = 30;
constexpr int kBatch = 50;
constexpr int kWindow = 4;  // batches in flight per client

using Acked = testing::AckedVersion;

// Batch `b` of client `client` in `cycle`: mostly new reports of its own,
// every fifth one a report all clients send (identical, so the others get
// DUPLICATE — often while the first is not yet durable), every tenth a
// follow-up version of a report acknowledged in an earlier cycle.
v1::SubmitReportsRequest MakeBatch(int cycle, int client, int b,
                                   const std::vector<Acked>& earlier) {
  v1::SubmitReportsRequest request;
  request.set_parent(kParent);
  for (int i = 0; i < kBatch; ++i) {
    const int subject = 1 + (b * kBatch + i) % kSubjects;
    if (i % 10 == 0 && !earlier.empty()) {
      const Acked& old = earlier[(b * 7 + i + client * 13) % earlier.size()];
      // Distinct for every (cycle, client, batch, slot): never a conflict.
      const uint32_t version =
          2 + cycle * 1'000'000 + client * 200'000 + b * 10 + i / 10;
      auto r = testing::Report(old.report_id, version, "", 1, "Followup", 2);
      r.set_subject_id(old.report_id.substr(old.report_id.rfind('~') + 1));
      *request.add_reports() = r;
      continue;
    }
    const std::string id =
        i % 5 == 1 ? absl::StrCat("P", cycle, "-B", b, "-", i, "~S", subject)
                   : absl::StrCat("P", cycle, "-K", client, "-B", b, "-", i,
                                  "~S", subject);
    *request.add_reports() =
        testing::Report(id, 1, absl::StrCat("S", subject), 1 + (b + i) % 365,
                        i % 3 ? "Headache" : "Nausea", 1 + i % 5, i % 7 == 0);
  }
  return request;
}

// Trial T (three groups, 30 subjects) with baselines for both PTs, so that
// signals are raised and updated while the power goes.
void CreateTrial(domain::Monitor& monitor) {
  v1::CreateTrialRequest create;
  *create.mutable_trial() = testing::ThreeGroupTrial(kTrial);
  ASSERT_TRUE(monitor.CreateTrial(create).ok());
  v1::EnrollSubjectsRequest enroll;
  enroll.set_parent(kParent);
  for (int i = 1; i <= kSubjects; ++i) {
    *enroll.add_subjects() = testing::SubjectNumber(i);
  }
  ASSERT_TRUE(monitor.EnrollSubjects(enroll).ok());
  const v1::PutBaselinesRequest put =
      testing::HeadacheNauseaBaselines(kParent, "power loss test");
  auto put_response = monitor.signals().PutBaselines(put);
  ASSERT_TRUE(put_response.ok()) << put_response.status();
}

// Every acknowledged version is stored; says which are not (the first few).
void ExpectAckedStored(storage::Store& store, const std::vector<Acked>& acked,
                       const std::string& when) {
  int missing = 0;
  for (const Acked& a : acked) {
    auto value = store.Latest().Get(
        storage::Cf::kReports,
        storage::ReportKey(kTrial, "01", a.report_id, a.version));
    ASSERT_TRUE(value.ok()) << value.status();
    if (value->has_value()) continue;
    if (++missing <= 5) {
      ADD_FAILURE() << when << ": " << a.report_id << " v" << a.version
                    << " (acknowledged in cycle " << a.round
                    << ") is not stored";
    }
  }
  EXPECT_EQ(missing, 0) << "acknowledged report versions lost";
}

struct CycleOutcome {
  std::vector<Acked> acked;
  PowerLossFileSystem::Loss loss;
  absl::Duration open_time;
};

// When a cycle's power goes, `cut_after` into the ingest: at once, at the
// start of the next WAL sync after it (the bytes every acknowledgement waits
// for), or after a clean shutdown.
enum class Cut { kAtRandom, kDuringWalSync, kAfterCleanShutdown };

const char* CutName(Cut cut) {
  switch (cut) {
    case Cut::kAtRandom:
      return "power cut";
    case Cut::kDuringWalSync:
      return "power cut during the next WAL sync";
    case Cut::kAfterCleanShutdown:
      return "clean shutdown, then the power cut";
  }
  return "?";
}

// One power cycle: opens the store on a file system that loses power, checks
// what earlier cycles acknowledged, ingests, and loses power as `cut` says.
CycleOutcome PowerCycle(const std::string& data_dir, int cycle, uint32_t seed,
                        int clients, const std::vector<Acked>& earlier,
                        absl::Duration cut_after, Cut cut) {
  CycleOutcome outcome;
  PowerLossEnv power(seed);
  const absl::Time opening = absl::Now();
  auto store =
      storage::Store::Open({.path = data_dir,
                            .env = power.env.get(),
                            .resume_interval = absl::Milliseconds(50)});
  EXPECT_TRUE(store.ok()) << "cycle " << cycle << ": " << store.status();
  if (!store.ok()) return outcome;
  outcome.open_time = absl::Now() - opening;
  ExpectAckedStored(**store, earlier,
                    absl::StrCat("after the power loss of cycle ", cycle - 1));
  {
    domain::Monitor monitor(store->get());
    if (cycle == 0) CreateTrial(monitor);
    std::atomic<bool> stop{false};
    std::vector<std::vector<Acked>> got(clients);
    std::vector<std::thread> threads;
    for (int k = 0; k < clients; ++k) {
      threads.emplace_back([&, k] {
        got[k] =
            testing::StreamUntilFailure(
                monitor, kWindow, cycle,
                [&](int b) { return MakeBatch(cycle, k, b, earlier); }, stop)
                .acked;
      });
    }
    absl::SleepFor(cut_after);
    switch (cut) {
      case Cut::kAtRandom:
        power.fs->CutPower();
        break;
      case Cut::kDuringWalSync:
        power.fs->CutPowerDuringNextWalSync();
        break;
      case Cut::kAfterCleanShutdown:
        stop = true;
        break;
    }
    for (std::thread& t : threads) t.join();
    for (const auto& g : got) {
      outcome.acked.insert(outcome.acked.end(), g.begin(), g.end());
    }
  }
  store->reset();  // after a clean stop: flushed and closed as aesignald does
  power.fs->CutPower();
  rocksdb::IOStatus restored = power.fs->RestoreAfterPowerLoss(&outcome.loss);
  EXPECT_TRUE(restored.ok()) << restored.ToString();
  return outcome;
}

// AESIGNAL_POWER_CYCLES (default 20; more while under 1,000 acknowledged),
// AESIGNAL_POWER_CLIENTS (3), AESIGNAL_POWER_SEED (time) for the moments and
// the kept tails. Every fifth cycle shuts down cleanly before the cut; of
// the others, odd ones cut during a WAL sync, even ones at a random moment.
TEST(PowerLossTest, AckedReportsSurvivePowerLoss) {
  const auto [cycles, clients, seed] =
      testing::CycleSettingsFromEnv("AESIGNAL_POWER");
  std::mt19937 random(seed);
  testing::TempDir dir;
  const std::string data_dir = dir.Sub("data");
  std::vector<Acked> acked;
  constexpr size_t kEnoughAcked = 1000;
  PowerLossFileSystem::Loss total;
  int wal_cuts = 0;  // write-ahead logs that lost an unsynced tail
  for (int cycle = 0;
       cycle < cycles || (acked.size() <= kEnoughAcked && cycle < 4 * cycles);
       ++cycle) {
    const absl::Duration cut_after =
        absl::Milliseconds(std::uniform_int_distribution<int>(50, 700)(random));
    const Cut cut = cycle % 5 == 4   ? Cut::kAfterCleanShutdown
                    : cycle % 2 == 1 ? Cut::kDuringWalSync
                                     : Cut::kAtRandom;
    CycleOutcome outcome =
        PowerCycle(data_dir, cycle, static_cast<uint32_t>(random()), clients,
                   acked, cut_after, cut);
    if (::testing::Test::HasFailure()) return;
    std::cout << "cycle " << cycle << ": opened in "
              << absl::FormatDuration(outcome.open_time) << ", " << CutName(cut)
              << " after " << absl::FormatDuration(cut_after) << ", "
              << outcome.acked.size() << " versions acknowledged; lost "
              << outcome.loss.bytes_dropped << " unsynced bytes of "
              << outcome.loss.files_truncated << " files, "
              << outcome.loss.files_removed << " unsynced new files, "
              << outcome.loss.renames_undone << " renames ("
              << absl::StrJoin(outcome.loss.names, ", ") << ")\n";
    acked.insert(acked.end(), outcome.acked.begin(), outcome.acked.end());
    total.bytes_dropped += outcome.loss.bytes_dropped;
    for (const std::string& name : outcome.loss.names) {
      wal_cuts += name.ends_with(".log") ? 1 : 0;
    }
  }
  ASSERT_GT(acked.size(), kEnoughAcked);
  EXPECT_GT(wal_cuts, 0) << "no power cut dropped an unsynced write-ahead "
                            "log tail: nothing was tested";

  auto store = storage::Store::Open({.path = data_dir});
  ASSERT_TRUE(store.ok()) << store.status();
  ExpectAckedStored(**store, acked, "at the end");
  int64_t stored = 0;
  testing::ExpectStoreEqualsARecount(**store, kTrial, &stored);
  std::cout << "acknowledged " << acked.size()
            << " report versions, every one stored; " << total.bytes_dropped
            << " unsynced bytes dropped over the cycles, from " << wal_cuts
            << " write-ahead logs\n";
}

}  // namespace
}  // namespace aesignal
