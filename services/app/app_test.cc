// The application layer driven directly, without any transport: every
// facade method with a CallContext, authorization before anything else, the
// caller reaching the audit trail, the ingest stream's ordering and batch
// errors, the watch loop's end on cancellation and deadline, backup and
// verification.
#include <atomic>
#include <deque>
#include <memory>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/app/application.h"
#include "storage/store.h"
#include "tests/testing/fixtures.h"
#include "tests/testing/temp_dir.h"

namespace aesignal::app {
namespace {

using ::testing::HasSubstr;

CallContext As(std::string principal, access::Role role,
               std::vector<std::string> sites = {}) {
  return CallContext{.caller = {.principal = std::move(principal),
                                .role = role,
                                .sites = std::move(sites)}};
}

class AppTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = storage::Store::Open({.path = dir_.Sub("db")});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    monitor_ = std::make_unique<domain::Monitor>(store_.get());
    app_ = std::make_unique<Application>(monitor_.get());
  }

  // Trial T1 (3 groups x 3 timepoints; only the binomial method on), 9
  // subjects, a baseline for serious AEs in HIGH at M3.
  void CreateTrialWithSubjects() {
    v1::CreateTrialRequest create;
    *create.mutable_trial() = testing::ThreeGroupTrial("T1");
    auto* policy = create.mutable_trial()->mutable_signal_policy();
    policy->set_disable_bayesian(true);
    policy->set_disable_trend(true);
    policy->set_disable_over_time(true);
    ASSERT_TRUE(app_->trials.CreateTrial(admin_, create).ok());
    v1::EnrollSubjectsRequest enroll;
    enroll.set_parent("trials/T1");
    for (int i = 1; i <= 9; ++i) {
      *enroll.add_subjects() = testing::SubjectNumber(i);
    }
    auto enrolled = app_->trials.EnrollSubjects(site01_, enroll);
    ASSERT_TRUE(enrolled.ok()) << enrolled.status();
    v1::PutBaselinesRequest put;
    put.set_parent("trials/T1");
    *put.add_baselines() = testing::SeriousAeBaseline();
    ASSERT_TRUE(app_->signals.PutBaselines(admin_, put).ok());
  }

  // Two serious AEs in HIGH by month 3 (2/3 against p0 = 0.02): one signal.
  v1::SubmitReportsRequest TwoSeriousReports() {
    v1::SubmitReportsRequest submit;
    submit.set_parent("trials/T1");
    *submit.add_reports() = testing::Report("R2", 1, "S3", 20, "Pneumonia", 3,
                                            /*serious=*/true);
    *submit.add_reports() =
        testing::Report("R3", 1, "S6", 30, "Sepsis", 4, /*serious=*/true);
    return submit;
  }

  testing::TempDir dir_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<domain::Monitor> monitor_;
  std::unique_ptr<Application> app_;
  const CallContext admin_ = As("ada", access::Role::kAdmin);
  const CallContext officer_ = As("olga", access::Role::kSafetyOfficer);
  const CallContext site01_ = As("site01", access::Role::kSite, {"01"});
};

TEST_F(AppTest, TrialsFacade) {
  CreateTrialWithSubjects();
  v1::GetTrialRequest get;
  get.set_name("trials/T1");
  auto trial = app_->trials.GetTrial(site01_, get);
  ASSERT_TRUE(trial.ok()) << trial.status();
  EXPECT_EQ(trial->trial_id(), "T1");
  auto trials = app_->trials.ListTrials(officer_, {});
  ASSERT_TRUE(trials.ok()) << trials.status();
  EXPECT_EQ(trials->trials_size(), 1);
  v1::ListSubjectsRequest list;
  list.set_parent("trials/T1");
  auto subjects = app_->trials.ListSubjects(officer_, list);
  ASSERT_TRUE(subjects.ok()) << subjects.status();
  EXPECT_EQ(subjects->subjects_size(), 9);
}

TEST_F(AppTest, AuthorizesBeforeAnythingElse) {
  // An empty request would be INVALID_ARGUMENT; the role is checked first.
  auto created = app_->trials.CreateTrial(officer_, {});
  EXPECT_EQ(created.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(created.status().message(),
            "principal 'olga' may not call TrialService.CreateTrial");
  EXPECT_EQ(app_->incidence.GetIncidence(site01_, {}).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(app_->admin.VerifyTrial(officer_, {}).status().code(),
            absl::StatusCode::kPermissionDenied);
  bool read = false;
  absl::Status stream = app_->ingest.StreamReports(
      officer_, [&](v1::StreamReportsRequest*) { return read = true, false; },
      [](const v1::StreamReportsResponse&) { return true; });
  EXPECT_EQ(stream.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_FALSE(read) << "nothing is read from a caller that may not stream";
  EXPECT_EQ(app_->trials.CreateTrial(admin_, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(AppTest, PastDeadlineAndCancelledCallsDoNoWork) {
  CallContext late = admin_;
  late.deadline = absl::Now() - absl::Seconds(1);
  EXPECT_EQ(app_->trials.ListTrials(late, {}).status().code(),
            absl::StatusCode::kDeadlineExceeded);
  CallContext gone = admin_;
  gone.is_cancelled = [] { return true; };
  EXPECT_EQ(app_->trials.ListTrials(gone, {}).status().code(),
            absl::StatusCode::kCancelled);
}

TEST_F(AppTest, SiteRestrictionAndCallerReachTheDomain) {
  CreateTrialWithSubjects();
  const CallContext site02 = As("site02", access::Role::kSite, {"02"});
  auto refused = app_->ingest.SubmitReports(site02, TwoSeriousReports());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kPermissionDenied);
  auto stored = app_->ingest.SubmitReports(site01_, TwoSeriousReports());
  ASSERT_TRUE(stored.ok()) << stored.status();

  v1::GetAuditTrailRequest audit;
  audit.set_parent("trials/T1");
  auto trail = app_->audit.GetAuditTrail(officer_, audit);
  ASSERT_TRUE(trail.ok()) << trail.status();
  int reports_by_site01 = 0;
  for (const v1::AuditRecord& r : trail->records()) {
    if (r.action() == "trial.create") {
      EXPECT_EQ(r.principal(), "ada");
      EXPECT_EQ(r.rpc(), "TrialService.CreateTrial");
    }
    if (r.action() == "report.store") {
      EXPECT_EQ(r.principal(), "site01");
      EXPECT_EQ(r.rpc(), "IngestService.SubmitReports");
      ++reports_by_site01;
    }
  }
  EXPECT_EQ(reports_by_site01, 2);
}

// `count` one-report batches with ids 100, 101, ...; every fifth names an
// unknown trial (refused as a whole), and the one at `asks_grouped` sets
// group_acknowledgements.
std::deque<v1::StreamReportsRequest> StreamBatches(int count,
                                                   int asks_grouped) {
  std::deque<v1::StreamReportsRequest> batches;
  for (int i = 0; i < count; ++i) {
    v1::StreamReportsRequest& b = batches.emplace_back();
    b.set_batch_id(100 + i);
    b.set_group_acknowledgements(i == asks_grouped);
    b.set_parent(i % 5 == 4 ? "trials/NOPE" : "trials/T1");
    *b.add_reports() =
        testing::Report(absl::StrCat("R", i), 1, "S1", 10 + i, "Headache");
  }
  return batches;
}

// Reads `batches` front to back, counting the reads in `*reads` if given.
IngestApp::ReadBatch ReadFrom(std::deque<v1::StreamReportsRequest>& batches,
                              std::atomic<int>* reads = nullptr) {
  return [&batches, reads](v1::StreamReportsRequest* next) {
    if (batches.empty()) return false;
    *next = std::move(batches.front());
    batches.pop_front();
    if (reads != nullptr) ++*reads;
    return true;
  };
}

TEST_F(AppTest, StreamAnswersInOrderWithBatchErrors) {
  CreateTrialWithSubjects();
  // Only the first request can ask for grouped acknowledgements.
  std::deque<v1::StreamReportsRequest> batches =
      StreamBatches(40, /*asks_grouped=*/3);
  std::vector<v1::StreamReportsResponse> answers;
  absl::Status status = app_->ingest.StreamReports(
      site01_, ReadFrom(batches), [&](const v1::StreamReportsResponse& r) {
        answers.push_back(r);
        return true;
      });
  ASSERT_TRUE(status.ok()) << status;
  ASSERT_EQ(answers.size(), 40u);
  for (int i = 0; i < 40; ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(answers[i].batch_id(), 100 + i);
    EXPECT_EQ(answers[i].acknowledgements_size(), 0);
    if (i % 5 == 4) {
      EXPECT_EQ(answers[i].error().code(), 5);  // NOT_FOUND
      EXPECT_THAT(answers[i].error().message(), HasSubstr("NOPE"));
    } else {
      EXPECT_FALSE(answers[i].has_error());
      EXPECT_EQ(answers[i].result().results_size(), 1);
    }
  }
}

// On a stream whose first request asks for it, one response acknowledges
// every batch ready when the server writes: each batch exactly once, in
// request order, refusals included, with the top-level fields unset.
TEST_F(AppTest, StreamGroupsAcknowledgementsWhenTheFirstRequestAsks) {
  CreateTrialWithSubjects();
  constexpr int kBatches = 40;
  std::atomic<int> reads = 0;
  std::deque<v1::StreamReportsRequest> batches =
      StreamBatches(kBatches, /*asks_grouped=*/0);
  // The first write waits until the reader has filled the stream's window
  // and those batches are stored, so that several outcomes are ready when
  // the second response is built.
  auto stored = [&] {
    v1::ListReportsRequest list;
    list.set_parent("trials/T1");
    auto page = app_->incidence.ListReports(officer_, list);
    return page.ok() ? page->total_size() : 0;
  };
  std::vector<v1::StreamReportsResponse> answers;
  absl::Status status = app_->ingest.StreamReports(
      site01_, ReadFrom(batches, &reads),
      [&](const v1::StreamReportsResponse& r) {
        if (answers.empty()) {
          const absl::Time deadline = absl::Now() + absl::Seconds(30);
          while (
              (reads < IngestApp::kMaxInFlightPerStream + 2 || stored() < 14) &&
              absl::Now() < deadline) {
            absl::SleepFor(absl::Milliseconds(5));
          }
          absl::SleepFor(absl::Milliseconds(50));
        }
        answers.push_back(r);
        return true;
      });
  ASSERT_TRUE(status.ok()) << status;
  std::vector<v1::BatchAcknowledgement> acks;
  for (const v1::StreamReportsResponse& r : answers) {
    EXPECT_EQ(r.batch_id(), 0);
    EXPECT_FALSE(r.has_result());
    EXPECT_FALSE(r.has_error());
    EXPECT_GE(r.acknowledgements_size(), 1);
    acks.insert(acks.end(), r.acknowledgements().begin(),
                r.acknowledgements().end());
  }
  EXPECT_LT(answers.size(), 30u) << "the window's outcomes came together";
  ASSERT_EQ(acks.size(), static_cast<size_t>(kBatches));
  for (int i = 0; i < kBatches; ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(acks[i].batch_id(), 100 + i);
    if (i % 5 == 4) {
      EXPECT_EQ(acks[i].error().code(), 5);  // NOT_FOUND
      EXPECT_FALSE(acks[i].has_result());
    } else {
      EXPECT_FALSE(acks[i].has_error());
      EXPECT_EQ(acks[i].result().accepted_count(), 1);
    }
  }
}

TEST_F(AppTest, StreamStopsReadingWhenTheCallerCannotReceive) {
  CreateTrialWithSubjects();
  int reads = 0;
  absl::Status status = app_->ingest.StreamReports(
      site01_,
      [&](v1::StreamReportsRequest* next) {
        if (reads == 1000) return false;
        next->set_batch_id(++reads);
        next->set_parent("trials/T1");
        *next->add_reports() =
            testing::Report(absl::StrCat("R", reads), 1, "S1", 10, "Headache");
        return true;
      },
      [](const v1::StreamReportsResponse&) { return false; });
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_LT(reads, 1000) << "a failed write ends the stream";
}

TEST_F(AppTest, SignalsFacadeAndWatch) {
  CreateTrialWithSubjects();
  std::atomic<bool> cancelled = false;
  CallContext watcher = officer_;
  watcher.is_cancelled = [&] { return cancelled.load(); };
  std::vector<v1::WatchSignalsResponse> seen;
  absl::Status watch_status;
  std::thread watch([&] {
    v1::WatchSignalsRequest request;
    request.set_parent("trials/T1");
    watch_status = app_->signals.WatchSignals(
        watcher, request, [&](const v1::WatchSignalsResponse& change) {
          seen.push_back(change);
          cancelled = true;  // one is enough
          return true;
        });
  });
  ASSERT_TRUE(app_->ingest.SubmitReports(site01_, TwoSeriousReports()).ok());
  watch.join();
  EXPECT_EQ(watch_status.code(), absl::StatusCode::kCancelled);
  ASSERT_EQ(seen.size(), 1u);
  const std::string id = "BINOMIAL~OVERALL~any_sae~HIGH~M3";
  EXPECT_EQ(seen[0].signal().signal_id(), id);

  v1::ListSignalsRequest list;
  list.set_parent("trials/T1");
  auto signals = app_->signals.ListSignals(officer_, list);
  ASSERT_TRUE(signals.ok()) << signals.status();
  ASSERT_EQ(signals->signals_size(), 1);
  v1::GetSignalRequest get;
  get.set_name(absl::StrCat("trials/T1/signals/", id));
  auto signal = app_->signals.GetSignal(officer_, get);
  ASSERT_TRUE(signal.ok()) << signal.status();
  v1::UpdateSignalRequest triage;
  triage.set_name(get.name());
  triage.set_status(v1::SIGNAL_STATUS_VALIDATED);
  triage.set_comment("two SAEs in HIGH");
  triage.set_actor("olga");
  auto triaged = app_->signals.UpdateSignal(officer_, triage);
  ASSERT_TRUE(triaged.ok()) << triaged.status();
  EXPECT_EQ(triaged->status(), v1::SIGNAL_STATUS_VALIDATED);

  // A status number no enum value has is a mistake, over either transport:
  // not a filter that lists nothing, not a transition to a nameless status.
  list.set_status(static_cast<v1::SignalStatus>(99));
  EXPECT_EQ(
      app_->signals.ListSignals(officer_, list).status().message(),
      "status: 99 is not a SignalStatus (SIGNAL_STATUS_UNSPECIFIED, "
      "SIGNAL_STATUS_NEW, SIGNAL_STATUS_VALIDATED, SIGNAL_STATUS_REFUTED, "
      "SIGNAL_STATUS_UNDER_ASSESSMENT, SIGNAL_STATUS_CLOSED)");
  triage.set_status(static_cast<v1::SignalStatus>(42));
  const absl::Status bad =
      app_->signals.UpdateSignal(officer_, triage).status();
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.message()),
              HasSubstr("status: 42 is not a SignalStatus"));
  v1::ListBaselinesRequest baselines;
  baselines.set_parent("trials/T1");
  auto listed = app_->signals.ListBaselines(officer_, baselines);
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_EQ(listed->baselines_size(), 1);
}

TEST_F(AppTest, WatchFailsFastOrEndsAtItsDeadline) {
  CreateTrialWithSubjects();
  auto never = [](const v1::WatchSignalsResponse&) { return true; };
  v1::WatchSignalsRequest request;
  request.set_parent("trials/NOPE");
  EXPECT_EQ(app_->signals.WatchSignals(officer_, request, never).code(),
            absl::StatusCode::kNotFound);
  request.set_parent("bad");
  EXPECT_EQ(app_->signals.WatchSignals(officer_, request, never).code(),
            absl::StatusCode::kInvalidArgument);
  request.set_parent("trials/T1");
  request.set_after_sequence(-5);  // would never see a change
  EXPECT_EQ(app_->signals.WatchSignals(officer_, request, never).code(),
            absl::StatusCode::kInvalidArgument);
  v1::WatchTopicsRequest topics;
  topics.set_parent("trials/T1");
  topics.set_after_sequence(-2);
  EXPECT_EQ(
      app_->signals
          .WatchTopics(officer_, topics,
                       [](const v1::WatchTopicsResponse&) { return true; })
          .code(),
      absl::StatusCode::kInvalidArgument);
  request.set_after_sequence(0);
  CallContext brief = officer_;
  brief.deadline = absl::Now() + absl::Milliseconds(200);
  EXPECT_EQ(app_->signals.WatchSignals(brief, request, never).code(),
            absl::StatusCode::kDeadlineExceeded);
}

TEST_F(AppTest, IncidenceVerifyAndBackup) {
  CreateTrialWithSubjects();
  ASSERT_TRUE(app_->ingest.SubmitReports(site01_, TwoSeriousReports()).ok());
  v1::GetIncidenceRequest incidence;
  incidence.set_parent("trials/T1");
  incidence.set_level(v1::TERM_LEVEL_OVERALL);
  auto table = app_->incidence.GetIncidence(officer_, incidence);
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_GT(table->terms_size(), 0);
  // The serious subset with highest grades, through the facade: every AE of
  // the two is serious, so its any-AE row is the table's any-SAE row.
  incidence.set_subset(v1::INCIDENCE_SUBSET_SERIOUS);
  incidence.set_max_grade(true);
  incidence.set_overall_key("any_ae");
  auto serious = app_->incidence.GetIncidence(officer_, incidence);
  ASSERT_TRUE(serious.ok()) << serious.status();
  ASSERT_EQ(serious->terms_size(), 1);
  const v1::IncidenceCell& last =
      serious->terms(0).cells(serious->terms(0).cells_size() - 1);
  EXPECT_EQ(last.cumulative().subjects(),
            table->terms(1)
                .cells(table->terms(1).cells_size() - 1)
                .cumulative()
                .subjects());
  EXPECT_THAT(last.max_grade_subjects(), ::testing::ElementsAre(0, 0, 1, 1, 0));

  ASSERT_TRUE(monitor_->signals().WaitIdle(absl::Seconds(10)).ok());
  v1::VerifyTrialRequest verify;
  verify.set_name("trials/T1");
  auto verified = app_->admin.VerifyTrial(admin_, verify);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_THAT(verified->result(), HasSubstr("1 signals equal"));

  v1::CreateBackupRequest backup;
  EXPECT_EQ(app_->admin.CreateBackup(admin_, backup).status().code(),
            absl::StatusCode::kInvalidArgument);
  // Relative to the server's working directory: refused, not guessed.
  backup.set_destination("backups/nightly");
  EXPECT_THAT(app_->admin.CreateBackup(admin_, backup).status().message(),
              HasSubstr("destination: must be an absolute path"));
  // Parents are made (the deploy files' .../backups/NAME on a fresh
  // server); a parent that cannot be made is named.
  backup.set_destination(dir_.Sub("backups/nightly-1"));
  ::testing::internal::CaptureStderr();
  auto made = app_->admin.CreateBackup(admin_, backup);
  const std::string logged = ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(made.ok()) << made.status();
  // A copy of every trial leaves a trace: who asked, and where it went.
  EXPECT_THAT(logged,
              HasSubstr("backup of the store to '" + backup.destination() +
                        "' asked by principal 'ada': done in"));
  EXPECT_EQ(made->destination(), backup.destination());
  EXPECT_TRUE(made->has_create_time());
  backup.set_destination("/dev/null/backups/nightly");
  const absl::Status refused =
      app_->admin.CreateBackup(admin_, backup).status();
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(refused.message()),
              HasSubstr("cannot create the backup's parent directory "
                        "/dev/null/backups"));
}

}  // namespace
}  // namespace aesignal::app
