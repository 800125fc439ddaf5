// Disk full: a RocksDB file system that answers "no space" on demand (every
// write, WAL and tables alike) stands in for a full disk. Writes then fail
// with RESOURCE_EXHAUSTED, nothing acknowledged is lost, and once space
// returns the store resumes by itself; its state equals a recount. A DSMB
// report, which writes only its audit record, is not given without it.
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>

#include <atomic>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/app/application.h"
#include "services/domain/monitor.h"
#include "storage/keys.h"
#include "storage/store.h"
#include "tests/testing/api_helpers.h"
#include "tests/testing/async_ingest.h"
#include "tests/testing/fixtures.h"
#include "tests/testing/hooked_file_system.h"
#include "tests/testing/temp_dir.h"

namespace aesignal {
namespace {

using ::testing::HasSubstr;

// Shared switch: while true, every append, flush and sync (of the WAL,
// tables, MANIFEST alike) fails with IOStatus::NoSpace, as ENOSPC would.
struct Disk {
  std::atomic<bool> full{false};
};

// Fails every append, flush and sync (of the WAL, tables, MANIFEST alike)
// while the disk is full, and reports no free space then.
class FullableFileSystem final : public testing::HookedFileSystem {
 public:
  explicit FullableFileSystem(Disk* disk)
      : HookedFileSystem([disk](const std::string&, Op) {
          return disk->full ? rocksdb::IOStatus::NoSpace("test disk is full")
                            : rocksdb::IOStatus::OK();
        }),
        disk_(disk) {}

  // What RocksDB's SstFileManager polls before it resumes by itself.
  rocksdb::IOStatus GetFreeSpace(const std::string& path,
                                 const rocksdb::IOOptions& options,
                                 uint64_t* free,
                                 rocksdb::IODebugContext* dbg) override {
    if (disk_->full) {
      *free = 0;
      return rocksdb::IOStatus::OK();
    }
    return target()->GetFreeSpace(path, options, free, dbg);
  }

  // RocksDB's own information logger, should the store not bring one,
  // writing through this file system as it does on a real disk (the wrapper
  // would otherwise hand the default file system's logger out, which never
  // sees the disk fill). `env` wraps this file system.
  void set_env(rocksdb::Env* env) { env_ = env; }
  rocksdb::IOStatus NewLogger(const std::string& name,
                              const rocksdb::IOOptions& /*options*/,
                              std::shared_ptr<rocksdb::Logger>* result,
                              rocksdb::IODebugContext* /*dbg*/) override {
    return rocksdb::status_to_io_status(
        rocksdb::NewEnvLogger(name, env_, result));
  }

 private:
  Disk* disk_;
  rocksdb::Env* env_ = nullptr;
};

// An Env over a FullableFileSystem, whose loggers write through it.
std::unique_ptr<rocksdb::Env> FullableEnv(Disk* disk) {
  auto fs = std::make_shared<FullableFileSystem>(disk);
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(fs);
  fs->set_env(env.get());
  return env;
}

v1::SubmitReportsRequest Batch(int from, int count) {
  v1::SubmitReportsRequest request;
  request.set_parent("trials/T1");
  for (int i = from; i < from + count; ++i) {
    *request.add_reports() =
        testing::Report(absl::StrCat("R", i), 1, absl::StrCat("S", 1 + i % 9),
                        1 + i % 300, "Headache");
  }
  return request;
}

// Trial T1 (three groups) with subjects S1..S9.
absl::Status CreateTrialT1(domain::Monitor& monitor) {
  v1::CreateTrialRequest create;
  *create.mutable_trial() = testing::ThreeGroupTrial("T1");
  if (auto created = monitor.CreateTrial(create); !created.ok()) {
    return created.status();
  }
  v1::EnrollSubjectsRequest enroll;
  enroll.set_parent("trials/T1");
  for (int i = 1; i <= 9; ++i) {
    *enroll.add_subjects() = testing::SubjectNumber(i);
  }
  return monitor.EnrollSubjects(enroll).status();
}

// A store on a disk that fills on demand, resuming every 20 ms, with trial
// T1 in it. Members are destroyed in reverse: the monitor, the store, then
// the disk under them.
struct FullableTrial {
  absl::Status Open() {
    env = FullableEnv(&disk);
    auto opened =
        storage::Store::Open({.path = dir.Sub("data"),
                              .env = env.get(),
                              .resume_interval = absl::Milliseconds(20)});
    if (!opened.ok()) return opened.status();
    store = std::move(*opened);
    monitor = std::make_unique<domain::Monitor>(store.get());
    return CreateTrialT1(*monitor);
  }

  testing::TempDir dir;
  Disk disk;
  std::unique_ptr<rocksdb::Env> env;
  std::unique_ptr<storage::Store> store;
  std::unique_ptr<domain::Monitor> monitor;
};

int64_t AnyAeEvents(domain::Monitor& monitor) {
  v1::GetIncidenceRequest request;
  request.set_parent("trials/T1");
  request.set_level(v1::TERM_LEVEL_OVERALL);
  request.set_overall_key("any_ae");
  auto incidence = monitor.GetIncidence(request);
  EXPECT_TRUE(incidence.ok()) << incidence.status();
  if (!incidence.ok()) return -1;
  const auto& cells = incidence->terms(0).cells();
  return cells[cells.size() - 1].cumulative().events();  // total, last window
}

TEST(DiskFullTest, WritesFailCleanlyAndTheStoreRecoversWhenSpaceReturns) {
  testing::TempDir dir;
  Disk disk;
  auto env = FullableEnv(&disk);
  int acked = 0;
  {
    auto store =
        storage::Store::Open({.path = dir.Sub("data"),
                              .env = env.get(),
                              .resume_interval = absl::Milliseconds(50)});
    ASSERT_TRUE(store.ok()) << store.status();
    domain::Monitor monitor(store->get());
    ASSERT_TRUE(CreateTrialT1(monitor).ok());

    for (int b = 0; b < 5; ++b) {
      auto response = monitor.SubmitReports(Batch(acked, 100));
      ASSERT_TRUE(response.ok()) << response.status();
      ASSERT_EQ(response->accepted_count(), 100);
      acked += 100;
    }
    ASSERT_EQ(AnyAeEvents(monitor), acked);

    // The disk fills up: the batch in flight fails, and so does every write
    // after it, with a code and message that say so.
    disk.full = true;
    auto failed = monitor.SubmitReports(Batch(10000, 100));
    EXPECT_EQ(failed.status().code(), absl::StatusCode::kResourceExhausted)
        << failed.status();
    EXPECT_THAT(failed.status().message(), HasSubstr("disk full"));
    auto refused = monitor.SubmitReports(Batch(20000, 100));
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
    EXPECT_THAT(refused.status().message(), HasSubstr("refused until"));
    // Reads keep working and show what was acknowledged.
    EXPECT_GE(AnyAeEvents(monitor), acked);
    // What aesignal_store_writes_refused (1 while failures > resumes) reads.
    EXPECT_GT((*store)->stats().write_failures, (*store)->stats().resumes);

    // Space returns: the store resumes on its own and takes writes again.
    disk.full = false;
    // (It probes the disk and opens RocksDB again every resume_interval.)
    absl::StatusOr<v1::SubmitReportsResponse> resumed;
    for (int attempt = 0; attempt < 600; ++attempt) {
      resumed = monitor.SubmitReports(Batch(30000, 100));
      if (resumed.ok()) break;
      absl::SleepFor(absl::Milliseconds(50));
    }
    ASSERT_TRUE(resumed.ok()) << resumed.status();
    EXPECT_EQ(resumed->accepted_count(), 100);
    acked += 100;
    EXPECT_GE((*store)->stats().resumes, 1);
    EXPECT_EQ((*store)->stats().write_failures, (*store)->stats().resumes);
    // The batch that failed may or may not have been kept (it was never
    // acknowledged); retrying it is safe either way.
    auto retried = monitor.SubmitReports(Batch(10000, 100));
    ASSERT_TRUE(retried.ok()) << retried.status();
    EXPECT_EQ(retried->accepted_count() + retried->duplicate_count(), 100);
    acked += 100;
    EXPECT_TRUE(monitor.VerifyCounters("T1").ok());
  }

  // After a restart: everything acknowledged is there, counted once.
  auto store = storage::Store::Open({.path = dir.Sub("data")});
  ASSERT_TRUE(store.ok()) << store.status();
  domain::Monitor monitor(store->get());
  EXPECT_TRUE(monitor.VerifyCounters("T1").ok());
  auto again = monitor.SubmitReports(Batch(0, 500));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->duplicate_count(), 500) << "acknowledged reports lost";
  // The unacknowledged batch (R20000..) was refused before reaching RocksDB.
  const int64_t events = AnyAeEvents(monitor);
  EXPECT_EQ(events, acked);
}

// Batch `b` of client `client` in round `round`: 50 new reports.
v1::SubmitReportsRequest StreamBatch(int round, int client, int b) {
  v1::SubmitReportsRequest request;
  request.set_parent("trials/T1");
  for (int i = 0; i < 50; ++i) {
    *request.add_reports() =
        testing::Report(absl::StrCat("F", round, "-K", client, "-B", b, "-", i),
                        1, absl::StrCat("S", 1 + i % 9), 1 + i % 300,
                        i % 2 ? "Headache" : "Nausea");
  }
  return request;
}

// The disk fills while three clients stream, four batches in flight each, so
// a write or WAL sync fails while others are being written and synced:
// every client's stream ends with RESOURCE_EXHAUSTED (never a crash — a WAL
// synced after a failed append once aborted the process, found by the
// power-loss test), the store resumes once space returns, and everything
// acknowledged is stored and counted once. Five times over.
TEST(DiskFullTest, ConcurrentStreamsFailCleanlyAndResumeWhenTheDiskFills) {
  FullableTrial t;
  ASSERT_TRUE(t.Open().ok());
  domain::Monitor& monitor = *t.monitor;
  Disk& disk = t.disk;
  std::mt19937 random(static_cast<uint32_t>(absl::ToUnixMicros(absl::Now())));
  std::vector<testing::AckedVersion> acked;
  for (int round = 0; round < 5; ++round) {
    std::atomic<bool> stop{false};
    std::vector<testing::StreamOutcome> outcomes(3);
    std::vector<std::thread> clients;
    for (int k = 0; k < 3; ++k) {
      clients.emplace_back([&, k] {
        outcomes[k] = testing::StreamUntilFailure(
            monitor, /*window=*/4, round,
            [&](int b) { return StreamBatch(round, k, b); }, stop);
      });
    }
    absl::SleepFor(absl::Milliseconds(
        std::uniform_int_distribution<int>(20, 200)(random)));
    disk.full = true;
    for (std::thread& client : clients) client.join();
    for (const testing::StreamOutcome& outcome : outcomes) {
      EXPECT_EQ(outcome.failure.code(), absl::StatusCode::kResourceExhausted)
          << outcome.failure;
      acked.insert(acked.end(), outcome.acked.begin(), outcome.acked.end());
    }
    disk.full = false;
    absl::StatusOr<v1::SubmitReportsResponse> resumed;
    for (int attempt = 0; attempt < 1500; ++attempt) {
      resumed = monitor.SubmitReports(StreamBatch(round, 9, attempt));
      if (resumed.ok()) break;
      absl::SleepFor(absl::Milliseconds(20));
    }
    ASSERT_TRUE(resumed.ok()) << "round " << round << ": " << resumed.status();
  }
  int missing = 0;
  for (const testing::AckedVersion& a : acked) {
    auto value = t.store->Latest().Get(
        storage::Cf::kReports,
        storage::ReportKey("T1", "01", a.report_id, a.version));
    ASSERT_TRUE(value.ok()) << value.status();
    missing += value->has_value() ? 0 : 1;
  }
  EXPECT_EQ(missing, 0) << "of " << acked.size() << " acknowledged reports";
  EXPECT_GT(acked.size(), 0u);
  EXPECT_TRUE(monitor.VerifyCounters("T1").ok());
}

// Opening needs a write (RocksDB starts a new MANIFEST and WAL each time), so
// on a full disk the store opens read-only: what was acknowledged can be
// read, writes are refused, and once space is back it takes writes again.
// (Before, RocksDB's own information log asserted on its second line after
// one the disk refused, and the server aborted at every start until space
// was freed: this test aborted.)
TEST(DiskFullTest, OnAFullDiskTheStoreOpensReadOnlyUntilSpaceReturns) {
  testing::TempDir dir;
  Disk disk;
  auto env = FullableEnv(&disk);
  const storage::StoreOptions options{
      .path = dir.Sub("data"),
      .env = env.get(),
      .resume_interval = absl::Milliseconds(20)};
  {
    auto store = storage::Store::Open(options);
    ASSERT_TRUE(store.ok()) << store.status();
    domain::Monitor monitor(store->get());
    ASSERT_TRUE(CreateTrialT1(monitor).ok());
    ASSERT_TRUE(monitor.SubmitReports(Batch(0, 100)).ok());
  }

  disk.full = true;
  {
    auto store = storage::Store::Open(options);
    ASSERT_TRUE(store.ok()) << store.status();
    EXPECT_TRUE((*store)->read_only());
    EXPECT_EQ((*store)->stats().write_failures, 1);
    domain::Monitor monitor(store->get());
    EXPECT_EQ(AnyAeEvents(monitor), 100);  // from the WAL, not yet flushed
    // What the server runs at start (nothing to upgrade: nothing written).
    EXPECT_TRUE(monitor.counting_upgrade_status().ok());
    EXPECT_TRUE(monitor.signals().UpgradeSignalIds().ok());
    EXPECT_TRUE(monitor.signals().UpgradeTopics().ok());
    auto refused = monitor.SubmitReports(Batch(100, 10));
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
    EXPECT_THAT(refused.status().message(), HasSubstr("open read-only"));
    EXPECT_THAT(refused.status().message(), HasSubstr("until space is freed"));

    // Space returns: the store opens RocksDB again, for writing.
    disk.full = false;
    absl::StatusOr<v1::SubmitReportsResponse> taken;
    for (int attempt = 0; attempt < 600; ++attempt) {
      taken = monitor.SubmitReports(Batch(100, 10));
      if (taken.ok()) break;
      absl::SleepFor(absl::Milliseconds(20));
    }
    ASSERT_TRUE(taken.ok()) << taken.status();
    EXPECT_EQ(taken->accepted_count(), 10);
    EXPECT_FALSE((*store)->read_only());
    EXPECT_EQ((*store)->stats().resumes, 1);
    EXPECT_EQ(AnyAeEvents(monitor), 110);
  }

  // And after a restart everything is there, counted once.
  auto store = storage::Store::Open(options);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_FALSE((*store)->read_only());
  domain::Monitor monitor(store->get());
  auto again = monitor.SubmitReports(Batch(0, 110));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->duplicate_count(), 110) << "acknowledged reports lost";
  EXPECT_EQ(AnyAeEvents(monitor), 110);
  EXPECT_TRUE(monitor.VerifyCounters("T1").ok());
}

// Unblinded data are given only with a record of who was given them
// (services/app/dsmb_report.cc): while the store refuses writes, a DSMB
// report is refused with the store's code rather than handed out
// unrecorded, and once space returns the next one is given and recorded.
TEST(DiskFullTest, NoDsmbReportIsGivenWithoutItsAuditRecord) {
  FullableTrial t;
  ASSERT_TRUE(t.Open().ok());
  domain::Monitor& monitor = *t.monitor;
  Disk& disk = t.disk;
  ASSERT_TRUE(monitor.SubmitReports(Batch(0, 50)).ok());
  app::Application application(&monitor);
  const app::CallContext officer{
      .caller = {.principal = "olga", .role = access::Role::kSafetyOfficer}};
  v1::GenerateDsmbReportRequest request;
  request.set_parent("trials/T1");
  *request.mutable_cutoff() = testing::CutOffNow();
  request.set_session(v1::DSMB_SESSION_CLOSED);
  auto records = [&monitor] {
    v1::GetAuditTrailRequest trail;
    trail.set_parent("trials/T1");
    trail.set_action("dsmb_report.generate");
    auto response = monitor.GetAuditTrail(trail);
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? response->records_size() : -1;
  };

  disk.full = true;
  auto refused = application.reports.GenerateDsmbReport(officer, request);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted)
      << refused.status();
  EXPECT_THAT(refused.status().message(), HasSubstr("disk full"));

  disk.full = false;
  absl::StatusOr<v1::DsmbReport> given;
  for (int attempt = 0; attempt < 600; ++attempt) {
    given = application.reports.GenerateDsmbReport(officer, request);
    if (given.ok()) break;
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_TRUE(given.ok()) << given.status();
  EXPECT_EQ(records(), 1) << "the refused report left a record, or the given "
                             "one none";
}

}  // namespace
}  // namespace aesignal
