// The audit trail: every state change recorded with who, when, what, why;
// append-only and in order; nothing recorded for what was not stored.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/domain/audit_actions.h"
#include "services/domain/monitor.h"
#include "storage/store.h"
#include "tests/testing/temp_dir.h"

namespace aesignal::domain {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kParent[] = "trials/AUD1";

class AuditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = storage::Store::Open({.path = dir_.Sub("db")});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    monitor_ = std::make_unique<Monitor>(store_.get());
  }
  std::vector<v1::AuditRecord> Trail(v1::GetAuditTrailRequest request = {}) {
    request.set_parent(kParent);
    std::vector<v1::AuditRecord> all;
    do {
      auto page = monitor_->GetAuditTrail(request);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok()) break;
      for (const auto& r : page->records()) all.push_back(r);
      request.set_page_token(page->next_page_token());
    } while (!request.page_token().empty());
    return all;
  }

  testing::TempDir dir_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<Monitor> monitor_;
};

v1::AdverseEventReport Report(const std::string& id, uint32_t version,
                              int grade) {
  v1::AdverseEventReport r;
  r.set_report_id(id);
  r.set_version(version);
  r.set_site_id("01");
  r.set_subject_id("S1");
  r.set_onset_study_day(10);
  r.set_pt("Pyrexia");
  r.set_soc("General disorders");
  r.set_grade(grade);
  return r;
}

TEST_F(AuditTest, EveryChangeIsRecordedInOrderWithWhoAndWhy) {
  const CallInfo admin{"admin@site", "TrialService.CreateTrial"};
  const CallInfo site{"site-01", "IngestService.SubmitReports"};

  v1::CreateTrialRequest create;
  auto* t = create.mutable_trial();
  t->set_trial_id("AUD1");
  t->set_title("audit");
  t->add_dose_groups()->set_dose_group_id("LOW");
  auto* tp = t->add_timepoints();
  tp->set_timepoint_id("M3");
  tp->set_study_day(91);
  t->add_sites()->set_site_id("01");
  ASSERT_TRUE(monitor_->CreateTrial(create, admin).ok());
  ASSERT_TRUE(
      monitor_->CreateTrial(create, admin).ok());  // idempotent: no record

  v1::EnrollSubjectsRequest enroll;
  enroll.set_parent(kParent);
  auto* s = enroll.add_subjects();
  s->set_subject_id("S1");
  s->set_site_id("01");
  s->set_dose_group_id("LOW");
  s->set_last_contact_day(30);
  ASSERT_TRUE(monitor_->EnrollSubjects(enroll, site).ok());
  s->set_last_contact_day(60);  // follow-up grows: version 2
  ASSERT_TRUE(monitor_->EnrollSubjects(enroll, site).ok());

  v1::SubmitReportsRequest submit;
  submit.set_parent(kParent);
  *submit.add_reports() = Report("R1", 2, 2);
  *submit.add_reports() = Report("R1", 1, 1);  // older: history only
  *submit.add_reports() = Report("R2", 1, 9);  // rejected: not recorded
  auto submitted = monitor_->SubmitReports(submit, site);
  ASSERT_TRUE(submitted.ok());
  ASSERT_EQ(submitted->rejected_count(), 1);

  std::vector<v1::AuditRecord> trail = Trail();
  std::vector<std::string> actions;
  for (const auto& r : trail) actions.push_back(r.action());
  EXPECT_THAT(actions,
              ElementsAre("trial.create", "subject.enroll", "subject.update",
                          "report.store", "report.history"));
  for (size_t i = 0; i < trail.size(); ++i) {
    EXPECT_EQ(trail[i].sequence(), static_cast<int64_t>(i + 1));
  }
  EXPECT_EQ(trail[0].principal(), "admin@site");
  EXPECT_EQ(trail[0].rpc(), "TrialService.CreateTrial");
  EXPECT_EQ(trail[2].resource(), "trials/AUD1/subjects/S1");
  EXPECT_EQ(trail[2].version(), 2u);
  EXPECT_EQ(trail[3].resource(), "trials/AUD1/sites/01/reports/R1");
  EXPECT_EQ(trail[3].version(), 2u);
  EXPECT_EQ(trail[3].principal(), "site-01");
  EXPECT_EQ(trail[4].version(), 1u);

  // Filters and small pages.
  v1::GetAuditTrailRequest filter;
  filter.set_action("report.store");
  EXPECT_EQ(Trail(filter).size(), 1u);
  v1::GetAuditTrailRequest paged;
  paged.set_page_size(2);
  EXPECT_EQ(Trail(paged).size(), trail.size());
  v1::GetAuditTrailRequest by;
  by.set_principal("site-01");
  EXPECT_EQ(Trail(by).size(), 4u);
}

TEST_F(AuditTest, AnActionFilterNoWriterUsesIsRefusedNotAnsweredEmpty) {
  v1::CreateTrialRequest create;
  create.mutable_trial()->set_trial_id("AUD1");
  create.mutable_trial()->set_title("audit");
  create.mutable_trial()->add_dose_groups()->set_dose_group_id("LOW");
  auto* tp = create.mutable_trial()->add_timepoints();
  tp->set_timepoint_id("M3");
  tp->set_study_day(91);
  create.mutable_trial()->add_sites()->set_site_id("01");
  ASSERT_TRUE(monitor_->CreateTrial(create, {"admin", "CreateTrial"}).ok());
  for (absl::string_view action : audit_action::kAll) {
    v1::GetAuditTrailRequest request;
    request.set_parent(kParent);
    request.set_action(std::string(action));
    EXPECT_TRUE(monitor_->GetAuditTrail(request).ok()) << action;
  }
  v1::GetAuditTrailRequest misspelt;
  misspelt.set_parent(kParent);
  misspelt.set_action("report.stored");
  const absl::Status refused = monitor_->GetAuditTrail(misspelt).status();
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.message(),
              HasSubstr("'report.stored' is not an audit action (one of "
                        "trial.create, trial.amend,"));
}

TEST_F(AuditTest, RefusedRequestsRecordNothing) {
  v1::EnrollSubjectsRequest enroll;
  enroll.set_parent(kParent);
  enroll.add_subjects()->set_subject_id("S1");
  EXPECT_FALSE(monitor_->EnrollSubjects(enroll).ok());  // no such trial
  v1::GetAuditTrailRequest request;
  request.set_parent(kParent);
  EXPECT_EQ(monitor_->GetAuditTrail(request).status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace aesignal::domain
