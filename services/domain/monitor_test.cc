#include "services/domain/monitor.h"

#include <functional>
#include <map>
#include <random>
#include <set>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "services/domain/validation.h"
#include "services/errors/errors.h"
#include "storage/audit.h"
#include "storage/incidence.h"
#include "storage/keys.h"
#include "storage/store.h"
#include "tests/testing/temp_dir.h"

namespace aesignal::domain {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;

constexpr char kTrial[] = "NCT0001";
constexpr char kParent[] = "trials/NCT0001";

v1::Trial MakeTrial() {
  v1::Trial t;
  t.set_trial_id(kTrial);
  t.set_title("MSC dose escalation");
  for (const char* id : {"LOW", "MID", "HIGH"}) {
    auto* g = t.add_dose_groups();
    g->set_dose_group_id(id);
    g->set_label(id);
  }
  for (auto [id, day] : {std::pair{"M3", 91}, {"M6", 182}, {"M12", 365}}) {
    auto* tp = t.add_timepoints();
    tp->set_timepoint_id(id);
    tp->set_study_day(day);
  }
  t.add_sites()->set_site_id("01");
  t.add_sites()->set_site_id("02");
  return t;
}

v1::Subject MakeSubject(const std::string& id, const std::string& group,
                        int last_contact, const std::string& site = "01") {
  v1::Subject s;
  s.set_subject_id(id);
  s.set_site_id(site);
  s.set_dose_group_id(group);
  s.set_last_contact_day(last_contact);
  return s;
}

v1::AdverseEventReport MakeReport(const std::string& id, uint32_t version,
                                  const std::string& subject, int day,
                                  const std::string& pt, int grade = 1,
                                  bool serious = false) {
  v1::AdverseEventReport r;
  r.set_report_id(id);
  r.set_version(version);
  r.set_site_id("01");
  r.set_subject_id(subject);
  r.set_onset_study_day(day);
  r.set_pt(pt);
  r.set_soc("SOC " + pt.substr(0, 1));
  r.set_grade(grade);
  r.set_serious(serious);
  return r;
}

class MonitorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = storage::Store::Open({.path = dir_.Sub("db")});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    monitor_ = std::make_unique<Monitor>(store_.get());
    v1::CreateTrialRequest create;
    *create.mutable_trial() = MakeTrial();
    ASSERT_TRUE(monitor_->CreateTrial(create).ok());
    // 3 subjects per group; S9 followed only to day 100 (into M6's window).
    v1::EnrollSubjectsRequest enroll;
    enroll.set_parent(kParent);
    const char* groups[] = {"LOW", "MID", "HIGH"};
    for (int i = 1; i <= 9; ++i) {
      *enroll.add_subjects() = MakeSubject(
          absl::StrCat("S", i), groups[(i - 1) / 3], i == 9 ? 100 : 365);
    }
    ASSERT_TRUE(monitor_->EnrollSubjects(enroll).ok());
  }

  static v1::SubmitReportsRequest RequestOf(
      std::vector<v1::AdverseEventReport> reports) {
    v1::SubmitReportsRequest request;
    request.set_parent(kParent);
    for (auto& r : reports) *request.add_reports() = std::move(r);
    return request;
  }

  absl::StatusOr<v1::SubmitReportsResponse> Submit(
      std::vector<v1::AdverseEventReport> reports) {
    return monitor_->SubmitReports(RequestOf(std::move(reports)));
  }

  // Submits `before`, then `after`, and returns a data cut-off between
  // them.
  // Submits `before`, takes a cut-off, calls `at_cut_off` (to read what
  // the store holds then), and submits `after`.
  google::protobuf::Timestamp SubmitAroundACutOff(
      std::vector<v1::AdverseEventReport> before,
      std::vector<v1::AdverseEventReport> after,
      const std::function<void()>& at_cut_off = [] {}) {
    EXPECT_TRUE(Submit(std::move(before)).ok());
    absl::SleepFor(absl::Milliseconds(2));
    const google::protobuf::Timestamp cut_off =
        google::protobuf::util::TimeUtil::NanosecondsToTimestamp(
            absl::ToUnixNanos(absl::Now()));
    at_cut_off();
    absl::SleepFor(absl::Milliseconds(2));
    EXPECT_TRUE(Submit(std::move(after)).ok());
    return cut_off;
  }

  std::vector<v1::ReportStatus> Statuses(const v1::SubmitReportsResponse& r) {
    std::vector<v1::ReportStatus> out;
    for (const auto& x : r.results()) out.push_back(x.status());
    return out;
  }

  v1::GetIncidenceResponse Incidence(v1::TermLevel level) {
    v1::GetIncidenceResponse all;
    v1::GetIncidenceRequest request;
    request.set_parent(kParent);
    request.set_level(level);
    request.set_page_size(2);  // exercise pagination
    for (;;) {
      auto page = monitor_->GetIncidence(request);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok()) return all;
      for (auto& t : *page->mutable_terms()) *all.add_terms() = std::move(t);
      if (page->next_page_token().empty()) return all;
      request.set_page_token(page->next_page_token());
    }
  }

  // The cell of `label` for `group` ("" = total) at `timepoint`.
  static const v1::IncidenceCell* Cell(const v1::GetIncidenceResponse& r,
                                       const std::string& label,
                                       const std::string& group,
                                       const std::string& timepoint) {
    for (const auto& t : r.terms()) {
      if (t.label() != label) continue;
      for (const auto& c : t.cells()) {
        if (c.dose_group_id() == group && c.timepoint_id() == timepoint) {
          return &c;
        }
      }
    }
    return nullptr;
  }

  // Submits each of `batches` as one request while the committer is held
  // busy, so that all are queued when the first runs; returns their
  // outcomes in submission order.
  std::vector<absl::StatusOr<v1::SubmitReportsResponse>> SubmitQueued(
      std::vector<std::vector<v1::AdverseEventReport>> batches) {
    absl::Notification release, held;
    store_->CommitAsync(
        [&](storage::Txn&) {
          held.Notify();
          release.WaitForNotification();
          return absl::OkStatus();
        },
        [](absl::Status) {});
    held.WaitForNotification();
    std::vector<absl::StatusOr<v1::SubmitReportsResponse>> out(
        batches.size(), absl::UnknownError("not completed"));
    absl::BlockingCounter completed(static_cast<int>(batches.size()));
    for (size_t b = 0; b < batches.size(); ++b) {
      monitor_->SubmitReportsAsync(
          RequestOf(std::move(batches[b])),
          [&out, &completed, b](absl::StatusOr<v1::SubmitReportsResponse> r) {
            out[b] = std::move(r);
            completed.DecrementCount();
          });
    }
    release.Notify();
    completed.Wait();
    return out;
  }

  // Damages the store: report R1's head names version 1, which is gone, so
  // a follow-up of R1 fails with DATA_LOSS.
  void StoreR1WithoutItsVersion() {
    ASSERT_TRUE(Submit({MakeReport("R1", 1, "S4", 20, "Pneumonia")}).ok());
    ASSERT_TRUE(store_
                    ->Commit([&](storage::Txn& txn) {
                      txn.Delete(storage::Cf::kReports,
                                 storage::ReportKey(kTrial, "01", "R1", 1));
                      return absl::OkStatus();
                    })
                    .ok());
  }

  // Submits R1 (serious) and R2 for S4 (MID) and R3 for S5, then corrects
  // S4's dose group to HIGH with `correct`; returns a cut-off just before
  // the correction.
  google::protobuf::Timestamp StoreAndCorrectS4(
      v1::EnrollSubjectsRequest* correct) {
    v1::AdverseEventReport r2 = MakeReport("R2", 1, "S4", 120, "Rash");
    r2.set_dose_group_id("MID");  // as the site knew it then
    EXPECT_TRUE(Submit({MakeReport("R1", 1, "S4", 20, "Pneumonia", 3, true), r2,
                        MakeReport("R3", 1, "S5", 30, "Rash")})
                    .ok());
    const google::protobuf::Timestamp before =
        google::protobuf::util::TimeUtil::NanosecondsToTimestamp(
            absl::ToUnixNanos(absl::Now()));
    correct->set_parent(kParent);
    *correct->add_subjects() = MakeSubject("S4", "HIGH", 365);
    correct->mutable_subjects(0)->set_version(1);  // the version corrected
    correct->mutable_subjects(0)->set_correction_reason(
        "randomization error: received the high dose");
    auto corrected = monitor_->EnrollSubjects(*correct);
    EXPECT_TRUE(corrected.ok()) << corrected.status();
    if (corrected.ok()) {
      EXPECT_EQ(corrected->updated_count(), 1);
      EXPECT_EQ(corrected->subjects(0).version(), 2u);
    }
    return before;
  }

  // Audit blocks stored: one per transaction that audited anything.
  int AuditBlocks() {
    int blocks = 0;
    EXPECT_TRUE(store_->Latest()
                    .Scan(storage::Cf::kAuditBlocks, "", "",
                          [&](std::string_view, std::string_view) {
                            ++blocks;
                            return true;
                          })
                    .ok());
    return blocks;
  }

  testing::TempDir dir_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<Monitor> monitor_;
};

TEST_F(MonitorTest, QueuedBatchesAreAppliedTogetherAsIfOneAfterAnother) {
  const int blocks_before = AuditBlocks();
  v1::AdverseEventReport conflicting = MakeReport("R1", 1, "S1", 20, "Rash");
  auto outcomes = SubmitQueued({
      {MakeReport("R1", 1, "S1", 20, "Pneumonia")},
      {MakeReport("R2", 1, "S2", 25, "Pneumonia")},
      {MakeReport("R1", 1, "S1", 20, "Pneumonia")},  // a retry
      {MakeReport("R1", 2, "S1", 40, "Bronchitis")},
      {MakeReport("R3", 1, "S99", 10, "Pneumonia")},  // not enrolled
      {conflicting},
  });
  std::vector<v1::ReportStatus> statuses;
  for (const auto& outcome : outcomes) {
    ASSERT_TRUE(outcome.ok()) << outcome.status();
    ASSERT_EQ(outcome->results_size(), 1);
    statuses.push_back(outcome->results(0).status());
  }
  EXPECT_THAT(
      statuses,
      ElementsAre(v1::REPORT_STATUS_ACCEPTED, v1::REPORT_STATUS_ACCEPTED,
                  v1::REPORT_STATUS_DUPLICATE, v1::REPORT_STATUS_ACCEPTED,
                  v1::REPORT_STATUS_REJECTED, v1::REPORT_STATUS_REJECTED));
  EXPECT_EQ(outcomes[5]->results(0).code(),
            static_cast<int>(absl::StatusCode::kAlreadyExists));
  // One transaction stored the three accepted versions: one audit block,
  // with their records in submission order.
  EXPECT_EQ(AuditBlocks(), blocks_before + 1);
  std::vector<std::string> reports;
  ASSERT_TRUE(
      storage::ReadAudit(store_->Latest(), kTrial, 0, [&](v1::AuditRecord r) {
        if (absl::StartsWith(r.action(), "report.")) {
          reports.push_back(absl::StrCat(r.resource(), " v", r.version()));
        }
        return true;
      }).ok());
  EXPECT_THAT(reports, ElementsAre("trials/NCT0001/sites/01/reports/R1 v1",
                                   "trials/NCT0001/sites/01/reports/R2 v1",
                                   "trials/NCT0001/sites/01/reports/R1 v2"));
  const auto pts = Incidence(v1::TERM_LEVEL_PT);
  const v1::IncidenceCell* pneumonia = Cell(pts, "Pneumonia", "", "M3");
  const v1::IncidenceCell* bronchitis = Cell(pts, "Bronchitis", "", "M3");
  ASSERT_NE(pneumonia, nullptr);
  ASSERT_NE(bronchitis, nullptr);
  EXPECT_EQ(pneumonia->cumulative().subjects(), 1);  // S1 moved to Bronchitis
  EXPECT_EQ(bronchitis->cumulative().subjects(), 1);
  EXPECT_TRUE(monitor_->VerifyCounters(kTrial).ok());
}

TEST_F(MonitorTest, ATransactionTakesQueuedBatchesUpToItsLimitInOrder) {
  // Three requests of 400 reports: the first transaction takes two (800),
  // the third (1,200 would pass the limit of 1,000) waits for its own.
  std::vector<std::vector<v1::AdverseEventReport>> batches(3);
  for (int b = 0; b < 3; ++b) {
    for (int i = 0; i < 400; ++i) {
      batches[b].push_back(MakeReport(absl::StrCat("B", b, "-", i), 1,
                                      absl::StrCat("S", 1 + i % 8), 1 + i % 90,
                                      absl::StrCat("PT", i % 7)));
    }
  }
  const int blocks_before = AuditBlocks();
  for (const auto& outcome : SubmitQueued(batches)) {
    ASSERT_TRUE(outcome.ok()) << outcome.status();
    EXPECT_EQ(outcome->accepted_count(), 400);
  }
  EXPECT_EQ(AuditBlocks(), blocks_before + 2);
  EXPECT_TRUE(monitor_->VerifyCounters(kTrial).ok());
}

TEST_F(MonitorTest, AStorageErrorFailsEveryBatchOfItsGroupAndStoresNone) {
  ASSERT_NO_FATAL_FAILURE(StoreR1WithoutItsVersion());
  auto outcomes = SubmitQueued({{MakeReport("R5", 1, "S5", 20, "Rash")},
                                {MakeReport("R1", 2, "S4", 30, "Bronchitis")}});
  for (const auto& outcome : outcomes) {
    ASSERT_FALSE(outcome.ok());
    EXPECT_EQ(outcome.status().code(), absl::StatusCode::kDataLoss);
  }
  auto stored = store_->Latest().Get(storage::Cf::kReports,
                                     storage::ReportKey(kTrial, "01", "R5", 1));
  ASSERT_TRUE(stored.ok());
  EXPECT_FALSE(stored->has_value());
  // Alone, the innocent batch is stored.
  auto retry = Submit({MakeReport("R5", 1, "S5", 20, "Rash")});
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(retry->accepted_count(), 1);
}

TEST_F(MonitorTest, CreateTrialIsIdempotentButImmutable) {
  v1::CreateTrialRequest again;
  *again.mutable_trial() = MakeTrial();
  auto same = monitor_->CreateTrial(again);
  ASSERT_TRUE(same.ok()) << same.status();
  EXPECT_EQ(same->name(), kParent);
  again.mutable_trial()->set_title("changed");
  EXPECT_EQ(monitor_->CreateTrial(again).status().code(),
            absl::StatusCode::kAlreadyExists);
  v1::GetTrialRequest get;
  get.set_name("trials/NOPE");
  EXPECT_EQ(monitor_->GetTrial(get).status().code(),
            absl::StatusCode::kNotFound);
}

// A trial whose data records no AEs of special interest can be created
// without the default categories: no AESI rows that would show 0 subjects.
TEST_F(MonitorTest, TrialWithoutAesiCategoriesHasNoAesiRows) {
  v1::CreateTrialRequest create;
  *create.mutable_trial() = MakeTrial();
  create.mutable_trial()->set_trial_id("NOAESI");
  create.mutable_trial()->set_no_aesi_categories(true);
  create.mutable_trial()->add_aesi_categories("infection");
  EXPECT_THAT(errors::ViolationsOf(monitor_->CreateTrial(create).status()),
              ElementsAre(::testing::Field(&errors::FieldViolation::field,
                                           "trial.no_aesi_categories")));
  create.mutable_trial()->clear_aesi_categories();
  auto created = monitor_->CreateTrial(create);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_TRUE(created->aesi_categories().empty());
  EXPECT_TRUE(created->no_aesi_categories());
  ASSERT_TRUE(monitor_->CreateTrial(create).ok());  // a retry: idempotent

  v1::GetIncidenceRequest overall;
  overall.set_parent("trials/NOAESI");
  overall.set_level(v1::TERM_LEVEL_OVERALL);
  auto rows = monitor_->GetIncidence(overall);
  ASSERT_TRUE(rows.ok()) << rows.status();
  std::vector<std::string> keys;
  for (const auto& t : rows->terms()) keys.push_back(t.overall_key());
  EXPECT_THAT(keys, ElementsAre("any_ae", "any_sae", "grade_3_plus", "related",
                                "death"));
  // A report naming an AESI is refused, and the reason says there are none.
  v1::EnrollSubjectsRequest enroll;
  enroll.set_parent("trials/NOAESI");
  *enroll.add_subjects() = MakeSubject("N1", "LOW", 365);
  ASSERT_TRUE(monitor_->EnrollSubjects(enroll).ok());
  v1::SubmitReportsRequest submit;
  submit.set_parent("trials/NOAESI");
  *submit.add_reports() = MakeReport("R1", 1, "N1", 10, "Rash");
  submit.mutable_reports(0)->add_aesi("infection");
  auto refused = monitor_->SubmitReports(submit);
  ASSERT_TRUE(refused.ok()) << refused.status();
  ASSERT_EQ(refused->rejected_count(), 1);
  EXPECT_THAT(refused->results(0).reason(), HasSubstr("(it has none)"));

  // An amendment of something else does not bring the defaults back; one
  // that adds a category clears the flag.
  v1::UpdateTrialRequest retitle;
  retitle.mutable_trial()->set_name("trials/NOAESI");
  retitle.mutable_trial()->set_title("retitled");
  retitle.mutable_update_mask()->add_paths("title");
  auto retitled = monitor_->UpdateTrial(retitle);
  ASSERT_TRUE(retitled.ok()) << retitled.status();
  EXPECT_TRUE(retitled->aesi_categories().empty());
  EXPECT_TRUE(retitled->no_aesi_categories());
  v1::UpdateTrialRequest add;
  add.mutable_trial()->set_name("trials/NOAESI");
  add.mutable_trial()->add_aesi_categories("dermatologic_events");
  add.mutable_update_mask()->add_paths("aesi_categories");
  auto added = monitor_->UpdateTrial(add);
  ASSERT_TRUE(added.ok()) << added.status();
  EXPECT_THAT(added->aesi_categories(), ElementsAre("dermatologic_events"));
  EXPECT_FALSE(added->no_aesi_categories());
}

TEST_F(MonitorTest, ListTrialsPaginates) {
  for (const char* id : {"A1", "B2", "C3"}) {
    v1::CreateTrialRequest create;
    *create.mutable_trial() = MakeTrial();
    create.mutable_trial()->set_trial_id(id);
    ASSERT_TRUE(monitor_->CreateTrial(create).ok());
  }
  std::vector<std::string> ids;
  v1::ListTrialsRequest request;
  request.set_page_size(3);
  for (int pages = 0;; ++pages) {
    ASSERT_LT(pages, 5);
    auto page = monitor_->ListTrials(request);
    ASSERT_TRUE(page.ok());
    for (const auto& t : page->trials()) ids.push_back(t.trial_id());
    if (page->next_page_token().empty()) break;
    request.set_page_token(page->next_page_token());
  }
  EXPECT_THAT(ids, ElementsAre("A1", "B2", "C3", kTrial));
  request.set_page_token("%%%");
  EXPECT_EQ(monitor_->ListTrials(request).status().code(),
            absl::StatusCode::kInvalidArgument);

  // A token altered anywhere is refused, not followed from wherever its
  // cursor now points: a flipped byte, or a cursor edited by hand.
  request.clear_page_token();
  request.set_page_size(1);
  auto first = monitor_->ListTrials(request);
  ASSERT_TRUE(first.ok()) << first.status();
  std::string bytes;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(first->next_page_token(), &bytes));
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string altered = bytes;
    altered[i] = static_cast<char>(altered[i] ^ 0x04);
    request.set_page_token(absl::WebSafeBase64Escape(altered));
    EXPECT_EQ(monitor_->ListTrials(request).status().message(),
              "page_token: is not a token this server issued")
        << "byte " << i;
  }
  request.set_page_token(absl::WebSafeBase64Escape(bytes + "Z"));
  EXPECT_EQ(monitor_->ListTrials(request).status().code(),
            absl::StatusCode::kInvalidArgument);
  request.set_page_token(first->next_page_token());
  EXPECT_TRUE(monitor_->ListTrials(request).ok());
}

TEST_F(MonitorTest, EnrollmentIsVersionedAndAllOrNothing) {
  v1::EnrollSubjectsRequest req;
  req.set_parent(kParent);
  *req.add_subjects() = MakeSubject("S1", "LOW", 365);  // unchanged
  *req.add_subjects() = MakeSubject("S2", "LOW", 400);  // follow-up grows
  *req.add_subjects() = MakeSubject("S10", "MID", 5);   // new
  auto resp = monitor_->EnrollSubjects(req);
  ASSERT_TRUE(resp.ok()) << resp.status();
  EXPECT_EQ(resp->unchanged_count(), 1);
  EXPECT_EQ(resp->updated_count(), 1);
  EXPECT_EQ(resp->created_count(), 1);
  EXPECT_EQ(resp->subjects(1).version(), 2u);
  // Both versions of S2 are kept.
  for (uint32_t v : {1u, 2u}) {
    auto h = store_->Latest().Get(storage::Cf::kSubjectHistory,
                                  storage::SubjectHistoryKey(kTrial, "S2", v));
    ASSERT_TRUE(h.ok());
    EXPECT_TRUE(h->has_value()) << "version " << v;
  }

  // A bad subject fails the whole request; the good one is not written.
  v1::EnrollSubjectsRequest bad;
  bad.set_parent(kParent);
  *bad.add_subjects() = MakeSubject("S11", "MID", 5);
  *bad.add_subjects() = MakeSubject("S3", "HIGH", 365);  // group change
  *bad.add_subjects() = MakeSubject("S4", "MID", 10);    // follow-up shrinks
  // A reason with no correction, and a site change.
  *bad.add_subjects() = MakeSubject("S5", "MID", 400);
  bad.mutable_subjects(3)->set_correction_reason("follow-up grew");
  *bad.add_subjects() = MakeSubject("S6", "MID", 365, "02");
  bad.mutable_subjects(4)->set_correction_reason("wrong site");
  auto failed = monitor_->EnrollSubjects(bad);
  ASSERT_EQ(failed.status().code(), absl::StatusCode::kInvalidArgument);
  // Corrections without their reason are named on the corrected field.
  EXPECT_THAT(
      errors::ViolatedFields(failed.status()),
      ElementsAre("subjects[1].dose_group_id", "subjects[2].last_contact_day",
                  "subjects[3].correction_reason", "subjects[4].site_id",
                  "subjects[4].correction_reason"));
  v1::ListSubjectsRequest list;
  list.set_parent(kParent);
  list.set_page_size(4);
  std::vector<std::string> ids;
  for (;;) {
    auto page = monitor_->ListSubjects(list);
    ASSERT_TRUE(page.ok());
    for (const auto& s : page->subjects()) ids.push_back(s.subject_id());
    if (page->next_page_token().empty()) break;
    list.set_page_token(page->next_page_token());
  }
  EXPECT_EQ(ids.size(), 10u);  // S1..S10, not S11
  EXPECT_EQ(std::count(ids.begin(), ids.end(), "S11"), 0);
}

TEST_F(MonitorTest, ReportOutcomesAndIdempotency) {
  auto first = Submit({MakeReport("R1", 1, "S1", 10, "Headache"),
                       MakeReport("R2", 1, "S2", 10, "Nausea")});
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->accepted_count(), 2);

  // Retried batch: nothing counted twice.
  auto retry = Submit({MakeReport("R1", 1, "S1", 10, "Headache"),
                       MakeReport("R2", 1, "S2", 10, "Nausea")});
  ASSERT_TRUE(retry.ok());
  EXPECT_THAT(Statuses(*retry), ElementsAre(v1::REPORT_STATUS_DUPLICATE,
                                            v1::REPORT_STATUS_DUPLICATE));

  // v3 then v2: v2 is history only.
  auto follow = Submit({MakeReport("R1", 3, "S1", 10, "Headache", 2),
                        MakeReport("R1", 2, "S1", 10, "Headache", 3)});
  ASSERT_TRUE(follow.ok());
  EXPECT_THAT(Statuses(*follow), ElementsAre(v1::REPORT_STATUS_ACCEPTED,
                                             v1::REPORT_STATUS_SUPERSEDED));
  auto overall = Incidence(v1::TERM_LEVEL_OVERALL);
  EXPECT_EQ(
      Cell(overall, "Any grade >= 3 AE", "", "M3")->cumulative().subjects(), 0);

  // Versions below the newest are looked up too: a retried history version
  // is a DUPLICATE, one with new content a conflict, not SUPERSEDED again.
  auto history = Submit({MakeReport("R1", 2, "S1", 10, "Headache", 3),
                         MakeReport("R1", 1, "S1", 10, "Headache")});
  ASSERT_TRUE(history.ok());
  EXPECT_THAT(Statuses(*history), ElementsAre(v1::REPORT_STATUS_DUPLICATE,
                                              v1::REPORT_STATUS_DUPLICATE));
  auto changed_history = Submit({MakeReport("R1", 2, "S1", 10, "Migraine", 3)});
  ASSERT_TRUE(changed_history.ok());
  EXPECT_EQ(changed_history->results(0).status(), v1::REPORT_STATUS_REJECTED);
  EXPECT_EQ(changed_history->results(0).field(), "reports[0].version");

  // Same version, different content: rejected, not silently dropped.
  auto conflict = Submit({MakeReport("R2", 1, "S2", 10, "Vomiting")});
  ASSERT_TRUE(conflict.ok());
  EXPECT_EQ(conflict->results(0).status(), v1::REPORT_STATUS_REJECTED);
  EXPECT_EQ(conflict->results(0).field(), "reports[0].version");
  EXPECT_EQ(conflict->results(0).code(),
            static_cast<int>(absl::StatusCode::kAlreadyExists));
  EXPECT_TRUE(monitor_->VerifyCounters(kTrial).ok());
}

// The dose group and the timepoint of a report with an onset day are derived
// by the server: a retry that fills them in is the same report.
TEST_F(MonitorTest, ARetryThatFillsInDerivedFieldsIsADuplicate) {
  v1::AdverseEventReport first = MakeReport("R1", 1, "S1", 10, "Headache");
  ASSERT_EQ(Submit({first})->accepted_count(), 1);
  v1::AdverseEventReport filled = first;
  filled.set_dose_group_id("LOW");  // S1's group
  filled.set_timepoint_id("M3");    // day 10's window
  auto retry = Submit({filled});
  ASSERT_TRUE(retry.ok());
  EXPECT_THAT(Statuses(*retry), ElementsAre(v1::REPORT_STATUS_DUPLICATE));

  // Without an onset day the timepoint is the report's timing: another one
  // is different content.
  v1::AdverseEventReport by_timepoint = MakeReport("R2", 1, "S1", 10, "Rash");
  by_timepoint.clear_onset_study_day();
  by_timepoint.set_timepoint_id("M3");
  ASSERT_EQ(Submit({by_timepoint})->accepted_count(), 1);
  by_timepoint.set_timepoint_id("M6");
  auto moved = Submit({by_timepoint});
  ASSERT_TRUE(moved.ok());
  EXPECT_EQ(moved->results(0).code(),
            static_cast<int>(absl::StatusCode::kAlreadyExists));
  // Nor is an onset day added to a report that had only its timepoint.
  v1::AdverseEventReport dated = MakeReport("R2", 1, "S1", 10, "Rash");
  dated.set_timepoint_id("M3");
  auto added_day = Submit({dated});
  ASSERT_TRUE(added_day.ok());
  EXPECT_EQ(added_day->results(0).code(),
            static_cast<int>(absl::StatusCode::kAlreadyExists));
  EXPECT_TRUE(monitor_->VerifyCounters(kTrial).ok());
}

// The AESI categories are a set: a retry that lists them in another order
// (a client building them from a hash set) is the same report; another set
// is not.
TEST_F(MonitorTest, ARetryWithItsAesiInAnotherOrderIsADuplicate) {
  v1::AdverseEventReport first = MakeReport("R1", 1, "S1", 10, "Pneumonia");
  first.add_aesi("infection");
  first.add_aesi("malignancy");
  ASSERT_EQ(Submit({first})->accepted_count(), 1);
  v1::AdverseEventReport reordered = first;
  reordered.clear_aesi();
  reordered.add_aesi("malignancy");
  reordered.add_aesi("infection");
  auto retry = Submit({reordered});
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_THAT(Statuses(*retry), ElementsAre(v1::REPORT_STATUS_DUPLICATE));
  v1::AdverseEventReport fewer = first;
  fewer.clear_aesi();
  fewer.add_aesi("malignancy");
  auto changed = Submit({fewer});
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_EQ(changed->results(0).code(),
            static_cast<int>(absl::StatusCode::kAlreadyExists));
  EXPECT_TRUE(monitor_->VerifyCounters(kTrial).ok());
}

TEST_F(MonitorTest, RejectedReportsNeverBlockValidOnes) {
  auto bad_subject = MakeReport("R1", 1, "S99", 10, "Headache");
  auto wrong_site = MakeReport("R2", 1, "S1", 10, "Headache");
  wrong_site.set_site_id("02");
  auto wrong_group = MakeReport("R3", 1, "S1", 10, "Headache");
  wrong_group.set_dose_group_id("HIGH");
  auto bad_grade = MakeReport("R4", 1, "S1", 10, "Headache", 9);
  auto good = MakeReport("R5", 1, "S1", 10, "Headache");
  auto dup_in_batch = MakeReport("R5", 1, "S1", 10, "Headache");
  auto moved = MakeReport("R6", 1, "S2", 10, "Headache");
  auto moved_v2 = MakeReport("R6", 2, "S3", 10, "Headache");
  auto resp = Submit({bad_subject, wrong_site, wrong_group, bad_grade, good,
                      dup_in_batch, moved, moved_v2});
  ASSERT_TRUE(resp.ok()) << resp.status();
  EXPECT_THAT(
      Statuses(*resp),
      ElementsAre(v1::REPORT_STATUS_REJECTED, v1::REPORT_STATUS_REJECTED,
                  v1::REPORT_STATUS_REJECTED, v1::REPORT_STATUS_REJECTED,
                  v1::REPORT_STATUS_ACCEPTED, v1::REPORT_STATUS_REJECTED,
                  v1::REPORT_STATUS_ACCEPTED, v1::REPORT_STATUS_REJECTED));
  EXPECT_EQ(resp->results(0).code(),
            static_cast<int>(absl::StatusCode::kNotFound));
  EXPECT_EQ(resp->results(0).field(), "reports[0].subject_id");
  EXPECT_EQ(resp->results(1).field(), "reports[1].site_id");
  EXPECT_EQ(resp->results(2).field(), "reports[2].dose_group_id");
  EXPECT_EQ(resp->results(3).field(), "reports[3].grade");
  EXPECT_THAT(resp->results(5).reason(), HasSubstr("duplicates reports[4]"));
  EXPECT_THAT(resp->results(7).reason(),
              HasSubstr("cannot change the subject"));
  EXPECT_EQ(resp->accepted_count(), 2);
  EXPECT_EQ(resp->rejected_count(), 6);
}

TEST_F(MonitorTest, WholeRequestErrors) {
  v1::SubmitReportsRequest request;
  request.set_parent("trials/NOPE");
  *request.add_reports() = MakeReport("R1", 1, "S1", 10, "Headache");
  EXPECT_EQ(monitor_->SubmitReports(request).status().code(),
            absl::StatusCode::kNotFound);
  request.set_parent("NOPE");
  auto bad = monitor_->SubmitReports(request);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(errors::ViolationsOf(bad.status())[0].field, "parent");
  request.set_parent(kParent);
  request.clear_reports();
  EXPECT_EQ(monitor_->SubmitReports(request).status().code(),
            absl::StatusCode::kInvalidArgument);
  for (int i = 0; i <= kMaxReportsPerBatch; ++i) {
    *request.add_reports() = MakeReport(absl::StrCat("R", i), 1, "S1", 10, "X");
  }
  EXPECT_EQ(monitor_->SubmitReports(request).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// Denominators are cached between queries; every write that changes them
// (enrolment, a follow-up change, an event beyond last contact) must show.
TEST_F(MonitorTest, CachedDenominatorsFollowEveryChange) {
  ASSERT_TRUE(Submit({MakeReport("R1", 1, "S1", 10, "Headache")}).ok());
  auto cell = [&] {
    return *Cell(Incidence(v1::TERM_LEVEL_PT), "Headache", "HIGH", "M12");
  };
  const v1::IncidenceCell before = cell();
  EXPECT_EQ(cell().DebugString(), before.DebugString());  // from the cache

  v1::EnrollSubjectsRequest enroll;
  enroll.set_parent(kParent);
  *enroll.add_subjects() = MakeSubject("S10", "HIGH", 365);
  ASSERT_TRUE(monitor_->EnrollSubjects(enroll).ok());
  const v1::IncidenceCell enrolled = cell();
  EXPECT_EQ(enrolled.n_dosed(), before.n_dosed() + 1);
  EXPECT_EQ(enrolled.n_at_risk(), before.n_at_risk() + 1);

  // S9 (HIGH, last contact day 100) reports an event on day 300: it was
  // evidently followed into M12's window.
  ASSERT_TRUE(Submit({MakeReport("R2", 1, "S9", 300, "Rash")}).ok());
  EXPECT_EQ(cell().n_at_risk(), enrolled.n_at_risk() + 1);
}

TEST_F(MonitorTest, IncidenceOfOneTermAndOneCell) {
  ASSERT_TRUE(Submit({MakeReport("R1", 1, "S1", 10, "Headache"),
                      MakeReport("R2", 1, "S2", 120, "Headache"),
                      MakeReport("R3", 1, "S3", 10, "Rash")})
                  .ok());
  const v1::GetIncidenceResponse full = Incidence(v1::TERM_LEVEL_PT);
  v1::GetIncidenceRequest request;
  request.set_parent(kParent);
  request.set_level(v1::TERM_LEVEL_PT);
  request.set_soc("SOC H");
  request.set_pt("Headache");
  auto term = monitor_->GetIncidence(request);
  ASSERT_TRUE(term.ok()) << term.status();
  ASSERT_EQ(term->terms_size(), 1);
  // The same row as in the full table.
  std::string headache_row;
  for (const auto& t : full.terms()) {
    if (t.label() == "Headache") headache_row = t.DebugString();
  }
  ASSERT_FALSE(headache_row.empty());
  EXPECT_EQ(term->terms(0).DebugString(), headache_row);

  request.set_dose_group_id("LOW");
  request.set_timepoint_id("M6");
  auto cell = monitor_->GetIncidence(request);
  ASSERT_TRUE(cell.ok()) << cell.status();
  ASSERT_EQ(cell->terms(0).cells_size(), 1);
  EXPECT_EQ(cell->terms(0).cells(0).DebugString(),
            Cell(full, "Headache", "LOW", "M6")->DebugString());

  // A term with no events is an all-zero row, not an error.
  request.set_pt("Never reported");
  auto zero = monitor_->GetIncidence(request);
  ASSERT_TRUE(zero.ok());
  EXPECT_EQ(zero->terms(0).cells(0).cumulative().subjects(), 0);

  request.set_timepoint_id("M7");
  EXPECT_EQ(monitor_->GetIncidence(request).status().code(),
            absl::StatusCode::kInvalidArgument);
  request.set_timepoint_id("M6");
  request.clear_soc();
  EXPECT_EQ(monitor_->GetIncidence(request).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(MonitorTest, IncidenceTableValues) {
  // LOW: S1 headache day 10 and day 150 (two events, one subject), S2 day 120.
  // HIGH: S7 serious grade-3 headache day 300; S9 (last contact day 100) has
  // a headache on day 150, so it was evidently followed into M6's window.
  ASSERT_TRUE(Submit({MakeReport("R1", 1, "S1", 10, "Headache"),
                      MakeReport("R2", 1, "S1", 150, "Headache"),
                      MakeReport("R3", 1, "S2", 120, "Headache"),
                      MakeReport("R4", 1, "S7", 300, "Headache", 3, true),
                      MakeReport("R5", 1, "S9", 150, "Headache")})
                  .ok());
  auto pt = Incidence(v1::TERM_LEVEL_PT);
  ASSERT_EQ(pt.terms_size(), 1);
  EXPECT_EQ(pt.terms(0).soc(), "SOC H");
  // 4 groups (3 + total) x 3 timepoints.
  EXPECT_EQ(pt.terms(0).cells_size(), 12);

  const auto* low_m3 = Cell(pt, "Headache", "LOW", "M3");
  ASSERT_NE(low_m3, nullptr);
  EXPECT_EQ(low_m3->n_dosed(), 3);
  EXPECT_EQ(low_m3->cumulative().subjects(), 1);
  EXPECT_EQ(low_m3->interval().subjects(), 1);
  EXPECT_NEAR(low_m3->cumulative().ci_lower(), 0.008403759, 1e-6);
  EXPECT_NEAR(low_m3->cumulative().ci_upper(), 0.905700675, 1e-6);

  const auto* low_m6 = Cell(pt, "Headache", "LOW", "M6");
  EXPECT_EQ(low_m6->cumulative().subjects(), 2);  // S1 counted once
  EXPECT_EQ(low_m6->cumulative().events(), 3);
  EXPECT_EQ(low_m6->interval().subjects(), 2);
  EXPECT_EQ(low_m6->interval().events(), 2);
  EXPECT_DOUBLE_EQ(low_m6->cumulative().proportion(), 2.0 / 3);

  const auto* high_m6 = Cell(pt, "Headache", "HIGH", "M6");
  EXPECT_EQ(high_m6->n_at_risk(), 3);  // S9's follow-up (day 100) reaches M6
  EXPECT_EQ(high_m6->interval().subjects(), 1);
  const auto* high_m12 = Cell(pt, "Headache", "HIGH", "M12");
  EXPECT_EQ(high_m12->cumulative().subjects(), 2);
  // Neither S9's last contact (day 100) nor its event (M6) reaches M12's
  // window (from day 183), so S9 is not at risk there.
  EXPECT_EQ(high_m12->n_at_risk(), 2);
  EXPECT_EQ(high_m12->interval().subjects(), 1);

  const auto* total_m12 = Cell(pt, "Headache", "", "M12");
  EXPECT_EQ(total_m12->n_dosed(), 9);
  EXPECT_EQ(total_m12->cumulative().subjects(), 4);
  EXPECT_EQ(total_m12->cumulative().events(), 5);

  auto overall = Incidence(v1::TERM_LEVEL_OVERALL);
  std::vector<std::string> labels;
  for (const auto& t : overall.terms()) labels.push_back(t.overall_key());
  EXPECT_THAT(labels,
              ElementsAre("any_ae", "any_sae", "grade_3_plus", "related",
                          "death", "aesi:infection", "aesi:thromboembolism",
                          "aesi:malignancy", "aesi:infusion_reaction"));
  EXPECT_EQ(
      Cell(overall, "Any serious AE", "HIGH", "M12")->cumulative().subjects(),
      1);
  EXPECT_EQ(
      Cell(overall, "Any serious AE", "HIGH", "M6")->cumulative().subjects(),
      0);
  EXPECT_TRUE(monitor_->VerifyCounters(kTrial).ok());
}

// The recount behind `aesignal admin verify` must notice a counter row that
// disagrees with the stored reports, and a row that is missing.
TEST_F(MonitorTest, VerifyCountersFindsATamperedOrMissingRow) {
  ASSERT_TRUE(Submit({MakeReport("R1", 1, "S4", 20, "Pneumonia", 3, true),
                      MakeReport("R2", 1, "S5", 40, "Pneumonia")})
                  .ok());
  ASSERT_TRUE(monitor_->VerifyCounters(kTrial).ok());
  storage::TermKey pneumonia;
  pneumonia.level = storage::Level::kPt;
  pneumonia.soc = "SOC P";
  pneumonia.pt = "Pneumonia";
  const std::string key = storage::CounterRowKey(kTrial, pneumonia);
  auto bytes = store_->Latest().Get(storage::Cf::kCounters, key);
  ASSERT_TRUE(bytes.ok() && bytes->has_value());
  auto row = storage::DecodeCounterRow(**bytes);
  ASSERT_TRUE(row.ok()) << row.status();
  ASSERT_FALSE(row->empty());

  (*row)[0].counts.events += 1;
  ASSERT_TRUE(store_
                  ->Commit([&](storage::Txn& txn) {
                    txn.Put(storage::Cf::kCounters, key,
                            storage::EncodeCounterRow(*row));
                    return absl::OkStatus();
                  })
                  .ok());
  absl::Status tampered = monitor_->VerifyCounters(kTrial).status();
  EXPECT_EQ(tampered.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(tampered.message(),
              HasSubstr("counter row differs from recount for term "
                        "'PneumoniaSOC P'"));

  ASSERT_TRUE(store_
                  ->Commit([&](storage::Txn& txn) {
                    txn.Delete(storage::Cf::kCounters, key);
                    return absl::OkStatus();
                  })
                  .ok());
  absl::Status missing = monitor_->VerifyCounters(kTrial).status();
  EXPECT_EQ(missing.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(missing.message(), HasSubstr("counter rows, recount"));
}

// Verification reads each report's newest version (one report at a time,
// in key order) and checks every head against it.
TEST_F(MonitorTest, VerifyCountersRecountsNewestVersionsAndChecksHeads) {
  ASSERT_TRUE(Submit({MakeReport("R1", 1, "S4", 20, "Pneumonia"),
                      MakeReport("R2", 1, "S5", 40, "Nausea"),
                      MakeReport("R3", 1, "S6", 10, "Headache")})
                  .ok());
  // Follow-ups that move R1 and R3 to other PTs: a recount of any older
  // version would differ from the counters.
  ASSERT_TRUE(Submit({MakeReport("R1", 2, "S4", 20, "Rash"),
                      MakeReport("R3", 2, "S6", 10, "Pyrexia")})
                  .ok());
  ASSERT_TRUE(Submit({MakeReport("R3", 3, "S6", 10, "Cough")}).ok());
  auto summary = monitor_->VerifyCounters(kTrial);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->reports, 3u);  // three reports, six versions
  EXPECT_EQ(summary->passes, 1u);

  auto put_head = [&](const std::string& report, uint32_t version) {
    std::string head;
    storage::AppendBigEndian32(&head, version);
    return store_->Commit([&](storage::Txn& txn) {
      txn.Put(storage::Cf::kReportHeads,
              storage::ReportHeadKey(kTrial, "01", report), head);
      return absl::OkStatus();
    });
  };
  ASSERT_TRUE(put_head("R3", 2).ok());
  absl::Status stale = monitor_->VerifyCounters(kTrial).status();
  EXPECT_EQ(stale.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(stale.message(),
              HasSubstr("head of report 'R3' does not point at its newest"));

  ASSERT_TRUE(put_head("R3", 3).ok());
  ASSERT_TRUE(monitor_->VerifyCounters(kTrial).ok());
  ASSERT_TRUE(put_head("R9", 1).ok());  // a head without a report
  absl::Status extra = monitor_->VerifyCounters(kTrial).status();
  EXPECT_EQ(extra.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(extra.message(), HasSubstr("4 report heads for 3 reports"));
}

// A follow-up reads the version its report's head names; if that version is
// gone the store is damaged, and the batch fails without storing anything.
TEST_F(MonitorTest, AHeadNamingAMissingVersionFailsTheBatch) {
  ASSERT_NO_FATAL_FAILURE(StoreR1WithoutItsVersion());
  auto follow_up = Submit({MakeReport("R1", 2, "S4", 30, "Bronchitis")});
  ASSERT_FALSE(follow_up.ok());
  EXPECT_EQ(follow_up.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(follow_up.status().message(),
              HasSubstr("report head points at a missing version"));
  auto stored = store_->Latest().Get(storage::Cf::kReports,
                                     storage::ReportKey(kTrial, "01", "R1", 2));
  ASSERT_TRUE(stored.ok());
  EXPECT_FALSE(stored->has_value());
}

TEST_F(MonitorTest, FollowUpDowngradeUpdatesEveryCell) {
  ASSERT_TRUE(
      Submit({MakeReport("R1", 1, "S4", 20, "Pneumonia", 3, true)}).ok());
  auto overall = Incidence(v1::TERM_LEVEL_OVERALL);
  EXPECT_EQ(
      Cell(overall, "Any serious AE", "MID", "M3")->cumulative().subjects(), 1);
  // Follow-up: recoded to bronchitis, grade 2, not serious, later onset.
  ASSERT_TRUE(Submit({MakeReport("R1", 2, "S4", 100, "Bronchitis", 2)}).ok());
  overall = Incidence(v1::TERM_LEVEL_OVERALL);
  EXPECT_EQ(
      Cell(overall, "Any serious AE", "MID", "M12")->cumulative().subjects(),
      0);
  EXPECT_EQ(Cell(overall, "Any AE", "MID", "M3")->cumulative().subjects(), 0);
  EXPECT_EQ(Cell(overall, "Any AE", "MID", "M6")->cumulative().subjects(), 1);
  auto pt = Incidence(v1::TERM_LEVEL_PT);
  ASSERT_EQ(pt.terms_size(), 1);
  EXPECT_EQ(pt.terms(0).pt(), "Bronchitis");
  EXPECT_TRUE(monitor_->VerifyCounters(kTrial).ok());
}

// A follow-up version entered in error withdraws its report: the report
// leaves every count (counters, subsets, the as-of recount), the listing
// unless asked for, and its versions stay stored; a later version without
// the flag reinstates it.
TEST_F(MonitorTest, AReportEnteredInErrorCountsNowhereUntilReinstated) {
  ASSERT_TRUE(Submit({MakeReport("R1", 1, "S4", 20, "Pneumonia", 3, true),
                      MakeReport("R2", 1, "S5", 30, "Rash")})
                  .ok());
  v1::AdverseEventReport withdrawal =
      MakeReport("R1", 2, "S4", 20, "Pneumonia", 3, true);
  withdrawal.set_entered_in_error(true);
  withdrawal.set_entered_in_error_reason("wrong subject: this was S5's");
  auto withdrawn = Submit({withdrawal});
  ASSERT_TRUE(withdrawn.ok()) << withdrawn.status();
  EXPECT_THAT(Statuses(*withdrawn), ElementsAre(v1::REPORT_STATUS_ACCEPTED));

  auto overall = Incidence(v1::TERM_LEVEL_OVERALL);
  EXPECT_EQ(Cell(overall, "Any AE", "MID", "M3")->cumulative().subjects(), 1);
  EXPECT_EQ(Cell(overall, "Any AE", "MID", "M3")->cumulative().events(), 1);
  EXPECT_EQ(
      Cell(overall, "Any serious AE", "MID", "M3")->cumulative().subjects(), 0);
  auto pt = Incidence(v1::TERM_LEVEL_PT);
  ASSERT_EQ(pt.terms_size(), 1);
  EXPECT_EQ(pt.terms(0).pt(), "Rash");
  EXPECT_TRUE(monitor_->VerifyCounters(kTrial).ok());

  // The recount at a cut-off (now) and a subset table leave it out too.
  v1::GetIncidenceRequest request;
  request.set_parent(kParent);
  request.set_level(v1::TERM_LEVEL_OVERALL);
  auto counted = monitor_->GetIncidence(request);
  // Now to the nanosecond (TimeUtil::GetCurrentTime() drops the fraction).
  *request.mutable_as_of() =
      google::protobuf::util::TimeUtil::NanosecondsToTimestamp(
          absl::ToUnixNanos(absl::Now()));
  auto recounted = monitor_->GetIncidence(request);
  ASSERT_TRUE(counted.ok() && recounted.ok()) << recounted.status();
  EXPECT_EQ(counted->terms(0).DebugString(), recounted->terms(0).DebugString());
  request.clear_as_of();
  request.set_level(v1::TERM_LEVEL_PT);
  request.set_subset(v1::INCIDENCE_SUBSET_SERIOUS);
  auto serious = monitor_->GetIncidence(request);
  ASSERT_TRUE(serious.ok()) << serious.status();
  EXPECT_EQ(serious->terms_size(), 0);

  // Listed only when asked for; every version kept.
  v1::ListReportsRequest list;
  list.set_parent(kParent);
  auto listed = monitor_->ListReports(list, {});
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->reports_size(), 1);
  EXPECT_EQ(listed->reports(0).report_id(), "R2");
  list.set_include_entered_in_error(true);
  listed = monitor_->ListReports(list, {});
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_EQ(listed->total_size(), 2);
  v1::GetReportRequest get;
  get.set_name(absl::StrCat(kParent, "/sites/01/reports/R1"));
  auto report = monitor_->GetReport(get, {});
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->versions_size(), 2);
  EXPECT_TRUE(report->current().report().entered_in_error());

  // Reinstated by version 3: counted again, as a follow-up is.
  ASSERT_TRUE(
      Submit({MakeReport("R1", 3, "S4", 20, "Pneumonia", 3, true)}).ok());
  overall = Incidence(v1::TERM_LEVEL_OVERALL);
  EXPECT_EQ(
      Cell(overall, "Any serious AE", "MID", "M3")->cumulative().subjects(), 1);
  EXPECT_TRUE(monitor_->VerifyCounters(kTrial).ok());
}

// A dose group correction moves the subject's reports, and every count
// that follows from them, into the new group in the same write; cut-offs
// before it keep the old group.
TEST_F(MonitorTest, ADoseGroupCorrectionMovesTheSubjectsCounts) {
  v1::EnrollSubjectsRequest correct;
  const google::protobuf::Timestamp before = StoreAndCorrectS4(&correct);
  EXPECT_TRUE(monitor_->VerifyCounters(kTrial).ok());

  auto overall = Incidence(v1::TERM_LEVEL_OVERALL);
  EXPECT_EQ(Cell(overall, "Any AE", "MID", "M6")->cumulative().subjects(), 1);
  EXPECT_EQ(Cell(overall, "Any AE", "HIGH", "M6")->cumulative().subjects(), 1);
  EXPECT_EQ(Cell(overall, "Any AE", "HIGH", "M6")->cumulative().events(), 2);
  EXPECT_EQ(Cell(overall, "Any AE", "HIGH", "M3")->n_dosed(), 4);
  EXPECT_EQ(Cell(overall, "Any AE", "MID", "M3")->n_dosed(), 2);
  EXPECT_EQ(
      Cell(overall, "Any serious AE", "MID", "M3")->cumulative().subjects(), 0);
  EXPECT_EQ(
      Cell(overall, "Any serious AE", "HIGH", "M3")->cumulative().subjects(),
      1);

  // Derived tables (a subset; a cut-off now) count in the new group too, and
  // a cut-off before the correction in the old one.
  v1::GetIncidenceRequest request;
  request.set_parent(kParent);
  request.set_level(v1::TERM_LEVEL_PT);
  request.set_subset(v1::INCIDENCE_SUBSET_SERIOUS);
  auto serious = monitor_->GetIncidence(request);
  ASSERT_TRUE(serious.ok()) << serious.status();
  EXPECT_EQ(Cell(*serious, "Pneumonia", "HIGH", "M3")->cumulative().subjects(),
            1);
  request.clear_subset();
  request.set_level(v1::TERM_LEVEL_OVERALL);
  *request.mutable_as_of() =
      google::protobuf::util::TimeUtil::NanosecondsToTimestamp(
          absl::ToUnixNanos(absl::Now()));
  auto now = monitor_->GetIncidence(request);
  ASSERT_TRUE(now.ok()) << now.status();
  EXPECT_EQ(Cell(*now, "Any AE", "HIGH", "M6")->DebugString(),
            Cell(overall, "Any AE", "HIGH", "M6")->DebugString());
  *request.mutable_as_of() = before;
  auto then = monitor_->GetIncidence(request);
  ASSERT_TRUE(then.ok()) << then.status();
  EXPECT_EQ(Cell(*then, "Any AE", "MID", "M6")->cumulative().subjects(), 2);
  EXPECT_EQ(Cell(*then, "Any AE", "HIGH", "M6")->cumulative().subjects(), 0);
}

// The names and versions of every page of `list` (two reports a page).
std::vector<std::string> PagedListing(Monitor& monitor,
                                      v1::ListReportsRequest list,
                                      const CallInfo& call) {
  std::vector<std::string> out;
  list.set_page_size(2);
  for (;;) {
    auto page = monitor.ListReports(list, call);
    EXPECT_TRUE(page.ok()) << page.status();
    if (!page.ok()) return out;
    for (const v1::Report& r : page->reports()) {
      out.push_back(
          absl::StrCat(r.name(), "@", r.current().report().version()));
    }
    if (page->next_page_token().empty()) return out;
    list.set_page_token(page->next_page_token());
  }
}

// ListAllReports (the DSMB report's one pass) lists what every page of
// ListReports lists, in the same order: in either order, at a cut-off, and
// under a caller's site restriction.
TEST_F(MonitorTest, ListAllReportsIsEveryPageInOneResponse) {
  const google::protobuf::Timestamp cut_off =
      SubmitAroundACutOff({MakeReport("R1", 1, "S1", 40, "Rash"),
                           MakeReport("R2", 1, "S2", 10, "Nausea"),
                           MakeReport("R3", 1, "S4", 25, "Rash", 3, true),
                           MakeReport("R4", 1, "S7", 10, "Headache"),
                           MakeReport("R5", 1, "S8", 90, "Pyrexia")},
                          {MakeReport("R2", 2, "S2", 60, "Nausea"),
                           MakeReport("R6", 1, "S9", 5, "Rash")});
  for (const char* order : {"", "onset_study_day"}) {
    for (const bool at_cut_off : {false, true}) {
      SCOPED_TRACE(
          absl::StrCat("order '", order, "', at cut-off ", at_cut_off));
      v1::ListReportsRequest list;
      list.set_parent(kParent);
      list.set_order_by(order);
      if (at_cut_off) *list.mutable_as_of() = cut_off;
      const std::vector<std::string> paged = PagedListing(*monitor_, list, {});
      ASSERT_EQ(paged.size(), 6u - at_cut_off);
      list.set_page_size(2);  // ignored
      auto all = monitor_->ListAllReports(list, {});
      ASSERT_TRUE(all.ok()) << all.status();
      std::vector<std::string> listed;
      for (const v1::Report& r : all->reports()) {
        listed.push_back(
            absl::StrCat(r.name(), "@", r.current().report().version()));
      }
      EXPECT_THAT(listed, ElementsAreArray(paged));
      EXPECT_EQ(all->total_size(), static_cast<int>(paged.size()));
      EXPECT_TRUE(all->next_page_token().empty());
    }
  }
  v1::ListReportsRequest list;
  list.set_parent(kParent);
  auto elsewhere = monitor_->ListAllReports(list, {.sites = {"02"}});
  ASSERT_TRUE(elsewhere.ok()) << elsewhere.status();
  EXPECT_EQ(elsewhere->reports_size(), 0);
}

// The whole tables the DSMB report reads together at a cut-off are what
// paging through each with GetIncidence gives, and what the live counters
// held at the cut-off; mixed trials and cut-offs are refused.
TEST_F(MonitorTest, TablesReadTogetherAtACutOffEqualEachTablePaged) {
  std::vector<v1::GetIncidenceRequest> requests;
  auto add = [&](v1::TermLevel level) -> v1::GetIncidenceRequest& {
    v1::GetIncidenceRequest& r = requests.emplace_back();
    r.set_parent(kParent);
    r.set_level(level);
    return r;
  };
  add(v1::TERM_LEVEL_OVERALL);
  add(v1::TERM_LEVEL_PT).set_max_grade(true);
  add(v1::TERM_LEVEL_SOC).set_subset(v1::INCIDENCE_SUBSET_SERIOUS);
  add(v1::TERM_LEVEL_PT).set_subset(v1::INCIDENCE_SUBSET_SERIOUS);
  add(v1::TERM_LEVEL_PT).set_dose_trend(true);
  v1::GetIncidenceRequest& one = add(v1::TERM_LEVEL_PT);
  one.set_soc("SOC R");
  one.set_pt("Rash");
  // The live tables at the cut-off, from the counters ingest keeps.
  std::vector<v1::GetIncidenceResponse> live;
  const google::protobuf::Timestamp cut_off = SubmitAroundACutOff(
      {MakeReport("R1", 1, "S1", 40, "Rash"),
       MakeReport("R2", 1, "S2", 10, "Nausea", 3, true),
       MakeReport("R3", 1, "S4", 25, "Rash", 2, true),
       MakeReport("R4", 1, "S7", 120, "Headache"),
       MakeReport("R5", 1, "S8", 90, "Pyrexia", 4)},
      // After the cut-off: a follow-up, and a new subject's late event that
      // would move the denominators' last windows if it were counted.
      {MakeReport("R2", 2, "S2", 60, "Vomiting"),
       MakeReport("R6", 1, "S9", 200, "Rash", 3, true)},
      [&] {
        for (v1::GetIncidenceRequest r : requests) {
          r.set_page_size(1000);
          auto page = monitor_->GetIncidence(r);
          ASSERT_TRUE(page.ok()) << page.status();
          ASSERT_TRUE(page->next_page_token().empty());
          live.push_back(*std::move(page));
        }
      });
  ASSERT_EQ(live.size(), requests.size());
  for (v1::GetIncidenceRequest& r : requests) *r.mutable_as_of() = cut_off;
  // Whole tables: paging fields are ignored, even a token never issued.
  std::vector<v1::GetIncidenceRequest> batch = requests;
  for (v1::GetIncidenceRequest& r : batch) {
    r.set_page_size(2);
    r.set_page_token("not a token");
  }
  auto together = monitor_->GetIncidenceTablesAtCutOff(batch);
  ASSERT_TRUE(together.ok()) << together.status();
  ASSERT_EQ(together->size(), requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    v1::GetIncidenceResponse now = live[i];
    now.clear_as_of();
    v1::GetIncidenceResponse then = (*together)[i];
    then.clear_as_of();
    EXPECT_EQ(then.DebugString(), now.DebugString())
        << requests[i].ShortDebugString();
  }
  for (size_t i = 0; i < requests.size(); ++i) {
    SCOPED_TRACE(requests[i].ShortDebugString());
    v1::GetIncidenceRequest paged = requests[i];
    paged.set_page_size(2);
    v1::GetIncidenceResponse merged;
    for (;;) {
      auto page = monitor_->GetIncidence(paged);
      ASSERT_TRUE(page.ok()) << page.status();
      merged.set_confidence_level(page->confidence_level());
      *merged.mutable_as_of() = page->as_of();
      for (auto& t : *page->mutable_terms()) *merged.add_terms() = t;
      if (page->next_page_token().empty()) break;
      paged.set_page_token(page->next_page_token());
    }
    EXPECT_GT(merged.terms_size(), 0);
    EXPECT_EQ((*together)[i].DebugString(), merged.DebugString());
  }
  // R2's follow-up (Nausea to Vomiting) came after the cut-off.
  std::vector<std::string> pts;
  for (const auto& t : (*together)[1].terms()) pts.push_back(t.pt());
  EXPECT_THAT(pts, ElementsAre("Headache", "Nausea", "Pyrexia", "Rash"));

  std::vector<v1::GetIncidenceRequest> mixed = {requests[0], requests[1]};
  mixed[1].mutable_as_of()->set_seconds(cut_off.seconds() - 1);
  auto refused = monitor_->GetIncidenceTablesAtCutOff(mixed);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(errors::ViolatedFields(refused.status()), ElementsAre("as_of"));
  mixed[1].clear_as_of();
  refused = monitor_->GetIncidenceTablesAtCutOff(mixed);
  EXPECT_THAT(errors::ViolatedFields(refused.status()), ElementsAre("as_of"));
  mixed[1] = requests[1];
  mixed[1].set_parent("trials/OTHER");
  refused = monitor_->GetIncidenceTablesAtCutOff(mixed);
  EXPECT_THAT(errors::ViolatedFields(refused.status()), ElementsAre("parent"));
}

// After a dose group correction, listings name (and filter by) the new
// group, follow-ups count (and uncount) in it, and a retry of the
// correction, or of a report version stored before it, changes nothing.
TEST_F(MonitorTest, AfterADoseGroupCorrectionEverythingUsesTheNewGroup) {
  v1::EnrollSubjectsRequest correct;
  const google::protobuf::Timestamp before = StoreAndCorrectS4(&correct);

  // Listings name (and filter by) the group the report counts in.
  v1::ListReportsRequest list;
  list.set_parent(kParent);
  list.set_dose_group_id("HIGH");
  auto listed = monitor_->ListReports(list, {});
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_EQ(listed->total_size(), 2);
  EXPECT_EQ(listed->reports(0).current().dose_group_id(), "HIGH");
  *list.mutable_as_of() = before;
  listed = monitor_->ListReports(list, {});
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_EQ(listed->total_size(), 0);
  v1::GetReportRequest get_report;
  get_report.set_name(absl::StrCat(kParent, "/sites/01/reports/R2"));
  auto r2 = monitor_->GetReport(get_report, {});
  ASSERT_TRUE(r2.ok()) << r2.status();
  EXPECT_EQ(r2->versions(0).dose_group_id(), "HIGH");

  // A retry of the correction, and of R1 as first sent, change nothing; a
  // new version that still names the old group is refused.
  auto again = monitor_->EnrollSubjects(correct);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->unchanged_count(), 1);
  v1::AdverseEventReport old_group =
      MakeReport("R1", 1, "S4", 20, "Pneumonia", 3, true);
  old_group.set_dose_group_id("MID");
  v1::AdverseEventReport follow_up = old_group;
  follow_up.set_version(2);
  auto retried = Submit({old_group, follow_up});
  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_THAT(Statuses(*retried), ElementsAre(v1::REPORT_STATUS_DUPLICATE,
                                              v1::REPORT_STATUS_REJECTED));
  EXPECT_EQ(retried->results(1).field(), "reports[1].dose_group_id");
  // A follow-up copied from the stored report may repeat the group its
  // previous version named; it counts in the subject's group all the same.
  v1::AdverseEventReport copy = MakeReport("R2", 2, "S4", 120, "Rash", 2);
  copy.set_dose_group_id("MID");
  auto copied = Submit({copy});
  ASSERT_TRUE(copied.ok()) << copied.status();
  EXPECT_THAT(Statuses(*copied), ElementsAre(v1::REPORT_STATUS_ACCEPTED));

  // A late retry of an older correction cannot undo a later change: a
  // correction names the version it corrects.
  v1::EnrollSubjectsRequest stale = correct;
  stale.mutable_subjects(0)->set_dose_group_id("LOW");
  EXPECT_THAT(errors::ViolatedFields(monitor_->EnrollSubjects(stale).status()),
              ElementsAre("subjects[0].version"));
  stale.mutable_subjects(0)->clear_version();
  EXPECT_THAT(errors::ViolatedFields(monitor_->EnrollSubjects(stale).status()),
              ElementsAre("subjects[0].version"));

  // A follow-up that drops R1's seriousness uncounts it in the new group.
  ASSERT_TRUE(Submit({MakeReport("R1", 2, "S4", 20, "Pneumonia", 3)}).ok());
  auto overall = Incidence(v1::TERM_LEVEL_OVERALL);
  EXPECT_EQ(
      Cell(overall, "Any serious AE", "HIGH", "M3")->cumulative().subjects(),
      0);
  EXPECT_TRUE(monitor_->VerifyCounters(kTrial).ok());

  // The trail says what was corrected and why; the history keeps both.
  v1::GetSubjectRequest get;
  get.set_name(absl::StrCat(kParent, "/subjects/S4"));
  auto subject = monitor_->GetSubject(get, {});
  ASSERT_TRUE(subject.ok()) << subject.status();
  ASSERT_EQ(subject->history_size(), 2);
  EXPECT_EQ(subject->history(1).dose_group_id(), "MID");
  v1::GetAuditTrailRequest audit;
  audit.set_parent(kParent);
  auto trail = monitor_->GetAuditTrail(audit);
  ASSERT_TRUE(trail.ok()) << trail.status();
  bool found = false;
  for (const auto& record : trail->records()) {
    if (record.action() != "subject.correct") continue;
    found = true;
    EXPECT_THAT(record.details(),
                HasSubstr("corrected dose group MID -> HIGH"));
    EXPECT_EQ(record.reason(), "randomization error: received the high dose");
  }
  EXPECT_TRUE(found);
}

// Lowering a mistyped last contact day is a correction: it needs a reason,
// and the at-risk denominators follow it.
TEST_F(MonitorTest, LoweringTheLastContactDayIsACorrection) {
  v1::EnrollSubjectsRequest lower;
  lower.set_parent(kParent);
  *lower.add_subjects() = MakeSubject("S1", "LOW", 150);
  EXPECT_THAT(errors::ViolatedFields(monitor_->EnrollSubjects(lower).status()),
              ElementsAre("subjects[0].last_contact_day"));
  lower.mutable_subjects(0)->set_correction_reason("typo: day 150, not 365");
  lower.mutable_subjects(0)->set_version(1);
  ASSERT_TRUE(monitor_->EnrollSubjects(lower).ok());
  auto overall = Incidence(v1::TERM_LEVEL_OVERALL);
  EXPECT_EQ(Cell(overall, "Any AE", "LOW", "M6")->n_at_risk(), 3);
  EXPECT_EQ(Cell(overall, "Any AE", "LOW", "M12")->n_at_risk(), 2);
  // A new subject has nothing to correct.
  v1::EnrollSubjectsRequest fresh;
  fresh.set_parent(kParent);
  *fresh.add_subjects() = MakeSubject("S20", "LOW", 10);
  fresh.mutable_subjects(0)->set_correction_reason("none");
  EXPECT_THAT(errors::ViolatedFields(monitor_->EnrollSubjects(fresh).status()),
              ElementsAre("subjects[0].correction_reason"));
}

TEST_F(MonitorTest, BadIncidenceRequests) {
  v1::GetIncidenceRequest r;
  r.set_parent(kParent);
  EXPECT_EQ(monitor_->GetIncidence(r).status().code(),
            absl::StatusCode::kInvalidArgument);  // level missing
  r.set_level(v1::TERM_LEVEL_PT);
  r.set_confidence_level(1.5);
  EXPECT_EQ(monitor_->GetIncidence(r).status().code(),
            absl::StatusCode::kInvalidArgument);
  r.set_confidence_level(0.9);
  r.set_page_token("bm9wZQ");
  EXPECT_EQ(monitor_->GetIncidence(r).status().code(),
            absl::StatusCode::kInvalidArgument);
  r.clear_page_token();
  r.set_parent("trials/NOPE");
  EXPECT_EQ(monitor_->GetIncidence(r).status().code(),
            absl::StatusCode::kNotFound);
}

// Model-based: random reports and follow-ups, then every cell of every level
// must equal a brute-force count over the latest version of each report.
TEST_F(MonitorTest, CountersMatchBruteForceUnderRandomFollowUps) {
  std::mt19937 rng(20261123);
  const std::vector<std::string> pts = {"Alpha", "Beta", "Bravo", "Gamma"};
  std::map<std::string, v1::AdverseEventReport> latest;  // by report id
  std::map<std::string, uint32_t> next_version;
  // Each subject's group, as enrolled and then corrected.
  std::map<std::string, std::string> group_of = {
      {"S1", "LOW"},  {"S2", "LOW"},  {"S3", "LOW"},
      {"S4", "MID"},  {"S5", "MID"},  {"S6", "MID"},
      {"S7", "HIGH"}, {"S8", "HIGH"}, {"S9", "HIGH"}};
  std::map<std::string, uint32_t> subject_version;
  for (const auto& [subject, group] : group_of) subject_version[subject] = 1;
  for (int round = 0; round < 40; ++round) {
    std::vector<v1::AdverseEventReport> batch;
    for (int k = 0; k < 10; ++k) {
      std::string id = absl::StrCat("R", rng() % 30);
      std::string subject = latest.count(id) ? latest[id].subject_id()
                                             : absl::StrCat("S", 1 + rng() % 9);
      uint32_t& v = next_version[id];
      // Mostly new versions, sometimes a stale one or an exact retry.
      uint32_t version = rng() % 5 == 0 && v > 1 ? v - 1 : ++v;
      auto r =
          MakeReport(id, version, subject, 1 + rng() % 365,
                     pts[rng() % pts.size()], 1 + rng() % 5, rng() % 4 == 0);
      if (rng() % 3 == 0) r.add_aesi("infection");
      if (rng() % 6 == 0) {  // withdrawn (a later version may reinstate it)
        r.set_entered_in_error(true);
        r.set_entered_in_error_reason("entered in error");
      }
      batch.push_back(r);
    }
    auto resp = Submit(batch);
    ASSERT_TRUE(resp.ok()) << resp.status();
    for (int i = 0; i < resp->results_size(); ++i) {
      if (resp->results(i).status() == v1::REPORT_STATUS_ACCEPTED) {
        latest[batch[i].report_id()] = batch[i];
      }
    }
    if (rng() % 4 == 0) {  // a dose group correction of one subject
      const int s = 1 + rng() % 9;
      const std::string subject = absl::StrCat("S", s);
      std::string& group = group_of[subject];
      const std::string groups[] = {"LOW", "MID", "HIGH"};
      group = groups[(std::find(groups, groups + 3, group) - groups + 1 +
                      rng() % 2) %
                     3];
      v1::EnrollSubjectsRequest correct;
      correct.set_parent(kParent);
      *correct.add_subjects() = MakeSubject(subject, group, s == 9 ? 100 : 365);
      correct.mutable_subjects(0)->set_correction_reason("randomization error");
      correct.mutable_subjects(0)->set_version(subject_version[subject]++);
      ASSERT_TRUE(monitor_->EnrollSubjects(correct).ok());
    }
  }
  ASSERT_TRUE(monitor_->VerifyCounters(kTrial).ok());

  // Brute force: subjects and events per (pt, group, cumulative timepoint).
  const std::vector<std::pair<std::string, int>> tps = {
      {"M3", 91}, {"M6", 182}, {"M12", 365}};
  auto pt_table = Incidence(v1::TERM_LEVEL_PT);
  auto overall = Incidence(v1::TERM_LEVEL_OVERALL);
  for (const std::string& pt : pts) {
    for (const std::string group : {"LOW", "MID", "HIGH"}) {
      for (const auto& [tp, day] : tps) {
        std::set<std::string> subjects, sae_subjects;
        int events = 0;
        for (const auto& [id, r] : latest) {
          if (r.entered_in_error() || group_of.at(r.subject_id()) != group ||
              r.onset_study_day() > day) {
            continue;
          }
          if (r.serious()) sae_subjects.insert(r.subject_id());
          if (r.pt() != pt) continue;
          subjects.insert(r.subject_id());
          ++events;
        }
        const auto* cell = Cell(pt_table, pt, group, tp);
        const int64_t got = cell ? cell->cumulative().subjects() : 0;
        const int64_t got_events = cell ? cell->cumulative().events() : 0;
        EXPECT_EQ(got, static_cast<int64_t>(subjects.size()))
            << pt << " " << group << " " << tp;
        EXPECT_EQ(got_events, events) << pt << " " << group << " " << tp;
        EXPECT_EQ(
            Cell(overall, "Any serious AE", group, tp)->cumulative().subjects(),
            static_cast<int64_t>(sae_subjects.size()));
      }
    }
  }
}

}  // namespace
}  // namespace aesignal::domain
