#include "services/domain/validation.h"

#include <limits>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace aesignal::domain {
namespace {

using ::testing::HasSubstr;

v1::Trial GoodTrial() {
  v1::Trial t;
  t.set_trial_id("NCT0001");
  t.set_title("Test");
  for (const char* id : {"LOW", "HIGH"})
    t.add_dose_groups()->set_dose_group_id(id);
  int day = 0;
  for (const char* id : {"M3", "M6", "M12"}) {
    auto* tp = t.add_timepoints();
    tp->set_timepoint_id(id);
    tp->set_study_day(day += 91);
  }
  t.add_sites()->set_site_id("01");
  return t;
}

v1::AdverseEventReport GoodReport() {
  v1::AdverseEventReport r;
  r.set_report_id("R1");
  r.set_version(1);
  r.set_site_id("01");
  r.set_subject_id("S1");
  r.set_onset_study_day(10);
  r.set_pt("Headache");
  r.set_soc("Nervous system disorders");
  r.set_grade(1);
  return r;
}

TEST(TrialValidationTest, NormalizesAGoodTrial) {
  auto t = ValidateAndNormalizeTrial(GoodTrial());
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->name(), "trials/NCT0001");
  EXPECT_EQ(t->aesi_categories_size(), 4);
}

TEST(TrialValidationTest, ReportsEveryViolationWithItsField) {
  v1::Trial t = GoodTrial();
  t.set_trial_id("bad id!");
  t.mutable_timepoints(1)->set_study_day(10);     // not increasing
  t.add_dose_groups()->set_dose_group_id("LOW");  // duplicate
  t.clear_sites();
  auto result = ValidateAndNormalizeTrial(t);
  ASSERT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(errors::ViolatedFields(result.status()),
              ::testing::UnorderedElementsAre(
                  "trial.trial_id", "trial.timepoints[1].study_day",
                  "trial.dose_groups[2].dose_group_id", "trial.sites"));
}

TEST(TrialValidationTest, RefusesAnUnknownErrorControlAndAnUnboundedPlan) {
  v1::Trial t = GoodTrial();
  t.mutable_signal_policy()->set_error_control(
      static_cast<v1::ErrorControl>(7));
  t.mutable_signal_policy()->set_planned_subjects_per_group(1001);
  // MaxSPRT's T = p0 x this (x the groups for the total) is computed up to
  // 1e5 only; GoodTrial has 2 dose groups.
  t.mutable_signal_policy()->set_maxsprt_planned_subjects(50001);
  auto result = ValidateAndNormalizeTrial(t);
  ASSERT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(errors::ViolatedFields(result.status()),
              ::testing::UnorderedElementsAre(
                  "trial.signal_policy.error_control",
                  "trial.signal_policy.planned_subjects_per_group",
                  "trial.signal_policy.maxsprt_planned_subjects"));
  EXPECT_THAT(result.status().message(),
              HasSubstr("7 is not an ErrorControl (ERROR_CONTROL_"));
  EXPECT_THAT(result.status().message(),
              HasSubstr("maxsprt_planned_subjects: times the 2 dose groups "
                        "must be at most 100000"));
  t.mutable_signal_policy()->set_error_control(v1::ERROR_CONTROL_PER_TEST);
  t.mutable_signal_policy()->set_planned_subjects_per_group(1000);
  t.mutable_signal_policy()->set_maxsprt_planned_subjects(50000);
  EXPECT_TRUE(ValidateAndNormalizeTrial(t).ok());
}

// Each bound of CheckPolicy, at the first value outside it and at the
// nearest one inside; zero (the default) is always accepted.
TEST(TrialValidationTest, RefusesPolicyLevelsTheEvaluatorCannotUse) {
  v1::Trial t = GoodTrial();
  v1::SignalPolicy* p = t.mutable_signal_policy();
  p->set_alpha(1e-9);  // below the smallest alpha, 1e-8
  p->set_posterior_threshold(1);
  p->set_fdr(std::numeric_limits<double>::quiet_NaN());
  p->set_prior_weight(1000.5);
  p->set_min_cases(1001);
  auto result = ValidateAndNormalizeTrial(t);
  ASSERT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(
      errors::ViolatedFields(result.status()),
      ::testing::UnorderedElementsAre(
          "trial.signal_policy.alpha",
          "trial.signal_policy.posterior_threshold", "trial.signal_policy.fdr",
          "trial.signal_policy.prior_weight", "trial.signal_policy.min_cases"));
  EXPECT_THAT(result.status().message(),
              HasSubstr("must be at least 1e-08 (0 for the default 0.05), "
                        "got 1e-09"));
  p->set_alpha(1);
  EXPECT_THAT(ValidateAndNormalizeTrial(t).status().message(),
              HasSubstr("must be a probability below 1"));

  p->set_alpha(1e-8);
  p->set_posterior_threshold(0.999);
  p->set_fdr(0);
  p->set_prior_weight(1000);
  p->set_min_cases(1000);
  EXPECT_TRUE(ValidateAndNormalizeTrial(t).ok());
  p->set_alpha(0);  // the default
  EXPECT_TRUE(ValidateAndNormalizeTrial(t).ok());
  p->set_alpha(-1);  // read as the default too (EffectivePolicy)
  EXPECT_TRUE(ValidateAndNormalizeTrial(t).ok());
}

TEST(WindowTest, UsesHalfOpenWindowsEndingAtTimepointDays) {
  v1::Trial t = GoodTrial();  // days 91, 182, 273
  EXPECT_EQ(WindowOfDay(t, 1), 0);
  EXPECT_EQ(WindowOfDay(t, 91), 0);
  EXPECT_EQ(WindowOfDay(t, 92), 1);
  EXPECT_EQ(WindowOfDay(t, 273), 2);
  EXPECT_EQ(WindowOfDay(t, 274), -1);
}

Rejection Rejected(const v1::AdverseEventReport& r) {
  auto v = ValidateReport(GoodTrial(), r, "reports[0]");
  EXPECT_TRUE(std::holds_alternative<Rejection>(v));
  return std::holds_alternative<Rejection>(v) ? std::get<Rejection>(v)
                                              : Rejection{};
}

TEST(ReportValidationTest, AcceptsAGoodReport) {
  auto v = ValidateReport(GoodTrial(), GoodReport(), "reports[0]");
  ASSERT_TRUE(std::holds_alternative<ValidReport>(v));
  EXPECT_EQ(std::get<ValidReport>(v).window, 0);
}

TEST(ReportValidationTest, TimepointAloneGivesTheWindow) {
  auto r = GoodReport();
  r.clear_onset_study_day();
  r.set_timepoint_id("M12");
  auto v = ValidateReport(GoodTrial(), r, "reports[0]");
  ASSERT_TRUE(std::holds_alternative<ValidReport>(v));
  EXPECT_EQ(std::get<ValidReport>(v).window, 2);
}

// A report with several problems names the first of each group of checks,
// so that a site mends them at once (it had learnt one per resubmission).
TEST(ReportValidationTest, NamesTheFirstProblemOfEveryGroup) {
  auto r = GoodReport();
  r.set_site_id("99");       // ids: not a site of the trial (NOT_FOUND)
  r.set_onset_study_day(0);  // onset
  r.set_pt("");              // terms
  r.set_grade(9);            // severity
  r.add_aesi("no_such");     // AESI
  Rejection rej = Rejected(r);
  EXPECT_EQ(rej.code, absl::StatusCode::kNotFound);
  EXPECT_EQ(rej.field, "reports[0].site_id");
  std::vector<std::string> fields;
  for (const auto& v : rej.also) fields.push_back(v.field);
  EXPECT_THAT(fields, ::testing::ElementsAre(
                          "reports[0].onset_study_day", "reports[0].pt",
                          "reports[0].grade", "reports[0].aesi[0]"));
  // One problem: nothing else.
  EXPECT_THAT(Rejected([] {
                auto one = GoodReport();
                one.set_grade(0);
                return one;
              }())
                  .also,
              ::testing::IsEmpty());
}

// A withdrawal (entered in error) says why; a reason without it is refused,
// since it would read as a withdrawal that is not one.
TEST(ReportValidationTest, AWithdrawalNeedsItsReasonAndOnlyItHasOne) {
  auto r = GoodReport();
  r.set_entered_in_error(true);
  EXPECT_EQ(Rejected(r).field, "reports[0].entered_in_error_reason");
  EXPECT_THAT(Rejected(r).reason, ::testing::HasSubstr("is required"));
  r.set_entered_in_error_reason("   ");
  EXPECT_THAT(Rejected(r).reason, ::testing::HasSubstr("is required"));
  r.set_entered_in_error_reason("line\nbreak");
  EXPECT_EQ(Rejected(r).field, "reports[0].entered_in_error_reason");
  r.set_entered_in_error_reason(std::string(501, 'x'));
  EXPECT_EQ(Rejected(r).field, "reports[0].entered_in_error_reason");
  r.set_entered_in_error_reason("duplicate of R7");
  EXPECT_TRUE(std::holds_alternative<ValidReport>(
      ValidateReport(GoodTrial(), r, "reports[0]")));
  r.set_entered_in_error(false);
  EXPECT_EQ(Rejected(r).field, "reports[0].entered_in_error_reason");
  EXPECT_THAT(Rejected(r).reason, ::testing::HasSubstr("only for a version"));
}

// Text limits count characters (code points), as their messages say; ids,
// parts of keys and resource names, count bytes and say so.
TEST(ReportValidationTest, TextIsMeasuredInCharactersAndIdsInBytes) {
  auto accented = [](int n) {
    std::string s;
    for (int i = 0; i < n; ++i) s += "\xC3\xA9";  // U+00E9, two bytes
    return s;
  };
  auto r = GoodReport();
  r.set_verbatim_term(accented(500));  // 1,000 bytes
  EXPECT_TRUE(std::holds_alternative<ValidReport>(
      ValidateReport(GoodTrial(), r, "reports[0]")));
  r.set_verbatim_term(accented(501));
  Rejection rej = Rejected(r);
  EXPECT_EQ(rej.field, "reports[0].verbatim_term");
  EXPECT_EQ(rej.reason, "must be at most 500 characters, got 501");
  r.set_verbatim_term(std::string(501, 'x'));
  EXPECT_EQ(Rejected(r).reason, "must be at most 500 characters, got 501");
  r.clear_verbatim_term();
  r.set_pt(accented(300));
  EXPECT_TRUE(std::holds_alternative<ValidReport>(
      ValidateReport(GoodTrial(), r, "reports[0]")));
  r.set_pt("Rash");
  r.set_report_id(accented(65));  // 130 bytes
  rej = Rejected(r);
  EXPECT_EQ(rej.field, "reports[0].report_id");
  EXPECT_EQ(rej.reason, "must be at most 128 bytes of UTF-8, got 130");
}

TEST(ReportValidationTest, TheEndDayIsNotBeforeTheOnset) {
  auto r = GoodReport();  // onset day 10
  for (int end : {10, 11, 900}) {
    r.set_end_study_day(end);
    EXPECT_TRUE(std::holds_alternative<ValidReport>(
        ValidateReport(GoodTrial(), r, "reports[0]")))
        << end;
  }
  r.set_end_study_day(9);
  Rejection rej = Rejected(r);
  EXPECT_EQ(rej.field, "reports[0].end_study_day");
  EXPECT_THAT(rej.reason, HasSubstr("before the onset (day 10)"));
  // Without an onset day, the first day of the timepoint's window (M12:
  // days 183-365) is the earliest onset.
  r.clear_onset_study_day();
  r.set_timepoint_id("M12");
  r.set_end_study_day(182);
  EXPECT_EQ(Rejected(r).field, "reports[0].end_study_day");
  r.set_end_study_day(183);
  EXPECT_TRUE(std::holds_alternative<ValidReport>(
      ValidateReport(GoodTrial(), r, "reports[0]")));
}

TEST(ReportValidationTest, NamesTheFieldOfEachProblem) {
  struct Case {
    std::function<void(v1::AdverseEventReport&)> mutate;
    std::string field;
    std::string reason_part;
    absl::StatusCode code = absl::StatusCode::kInvalidArgument;
  };
  std::vector<Case> cases = {
      {[](auto& r) { r.set_grade(6); }, "reports[0].grade", "1-5"},
      {[](auto& r) { r.set_grade(0); }, "reports[0].grade", "is required"},
      {[](auto& r) { r.set_version(0); }, "reports[0].version", ">= 1"},
      {[](auto& r) { r.clear_report_id(); }, "reports[0].report_id",
       "required"},
      {[](auto& r) { r.clear_pt(); }, "reports[0].pt", "required"},
      {[](auto& r) { r.clear_soc(); }, "reports[0].soc", "required"},
      // A padded or blank term would be an incidence row of its own.
      {[](auto& r) { r.set_pt("Rash "); }, "reports[0].pt",
       "start or end with a space"},
      {[](auto& r) { r.set_pt("  "); }, "reports[0].pt", "blank"},
      {[](auto& r) { r.set_soc(" Skin disorders"); }, "reports[0].soc",
       "start or end with a space"},
      {[](auto& r) { r.set_onset_study_day(400); },
       "reports[0].onset_study_day", "after the last timepoint"},
      {[](auto& r) { r.set_onset_study_day(0); }, "reports[0].onset_study_day",
       ">= 1"},
      {[](auto& r) { r.clear_onset_study_day(); }, "reports[0].onset_study_day",
       "required"},
      {[](auto& r) { r.set_timepoint_id("M6"); }, "reports[0].onset_study_day",
       "outside the window"},
      {[](auto& r) { r.set_timepoint_id("M99"); }, "reports[0].timepoint_id",
       "not a timepoint", absl::StatusCode::kNotFound},
      {[](auto& r) { r.set_site_id("99"); }, "reports[0].site_id", "not a site",
       absl::StatusCode::kNotFound},
      {[](auto& r) { r.set_dose_group_id("MID"); }, "reports[0].dose_group_id",
       "not a dose group", absl::StatusCode::kNotFound},
      {[](auto& r) { r.set_hospitalization(true); }, "reports[0].serious",
       "seriousness criterion"},
      {[](auto& r) { r.add_aesi("covid"); }, "reports[0].aesi[0]",
       "not an AESI category", absl::StatusCode::kNotFound},
      {[](auto& r) { r.set_pt_code("12"); }, "reports[0].pt_code", "8-digit"},
      // The wording every enum check uses: the number, the type, its names.
      {[](auto& r) { r.set_relatedness(static_cast<v1::Relatedness>(42)); },
       "reports[0].relatedness", "42 is not a Relatedness (RELATEDNESS_"},
      {[](auto& r) { r.set_outcome(static_cast<v1::Outcome>(99)); },
       "reports[0].outcome", "99 is not an Outcome (OUTCOME_UNSPECIFIED, "},
      {[](auto& r) { r.set_action_taken(static_cast<v1::ActionTaken>(-1)); },
       "reports[0].action_taken", "-1 is not an ActionTaken ("},
      {[](auto& r) { r.set_subject_id("a/b"); }, "reports[0].subject_id",
       "'/'"},
  };
  for (const Case& c : cases) {
    auto r = GoodReport();
    c.mutate(r);
    Rejection rej = Rejected(r);
    EXPECT_EQ(rej.field, c.field);
    EXPECT_THAT(rej.reason, HasSubstr(c.reason_part)) << c.field;
    EXPECT_EQ(rej.code, c.code) << c.field;
  }
}

TEST(SubjectValidationTest, ChecksReferencesAndFollowUp) {
  v1::Subject s;
  s.set_subject_id("S1");
  s.set_site_id("02");
  s.set_dose_group_id("MID");
  s.set_last_contact_day(0);
  std::vector<errors::FieldViolation> v;
  ValidateSubject(GoodTrial(), s, "subjects[0]", &v);
  std::vector<std::string> fields;
  for (const auto& x : v) fields.push_back(x.field);
  EXPECT_THAT(fields, ::testing::ElementsAre("subjects[0].site_id",
                                             "subjects[0].dose_group_id",
                                             "subjects[0].last_contact_day"));
  // 0 is proto3's "not given" (an empty CSV cell): said so.
  EXPECT_THAT(v[2].description, ::testing::StartsWith("is required"));
  s.set_last_contact_day(-3);
  v.clear();
  ValidateSubject(GoodTrial(), s, "subjects[0]", &v);
  EXPECT_EQ(v[2].description, "must be >= 1 (day 1 = first dose), got -3");
}

// The violations ValidateSubject finds in a good subject with `reason`.
std::vector<std::string> WithdrawalViolations(v1::FollowUpStatus status,
                                              const std::string& reason) {
  v1::Subject s;
  s.set_subject_id("S1");
  s.set_site_id("01");
  s.set_dose_group_id("LOW");
  s.set_last_contact_day(10);
  s.set_status(status);
  s.set_withdrawal_reason(reason);
  std::vector<errors::FieldViolation> v;
  ValidateSubject(GoodTrial(), s, "subjects[0]", &v);
  std::vector<std::string> fields;
  for (const auto& x : v) fields.push_back(x.field + ": " + x.description);
  return fields;
}

TEST(SubjectValidationTest, AnUnknownStatusIsNamedAsEveryEnumIs) {
  EXPECT_THAT(WithdrawalViolations(static_cast<v1::FollowUpStatus>(42), ""),
              ::testing::ElementsAre(::testing::StartsWith(
                  "subjects[0].status: 42 is not a FollowUpStatus "
                  "(FOLLOW_UP_STATUS_UNSPECIFIED, ")));
}

TEST(SubjectValidationTest, AWithdrawalReasonOnlyWithAWithdrawal) {
  using ::testing::ElementsAre;
  using ::testing::HasSubstr;
  using ::testing::IsEmpty;
  const auto withdrawn = v1::FOLLOW_UP_STATUS_WITHDRAWN;
  EXPECT_THAT(WithdrawalViolations(withdrawn, "ADVERSE EVENT"), IsEmpty());
  EXPECT_THAT(WithdrawalViolations(withdrawn, ""), IsEmpty());
  EXPECT_THAT(WithdrawalViolations(v1::FOLLOW_UP_STATUS_ONGOING, "MOVED"),
              ElementsAre(HasSubstr("FOLLOW_UP_STATUS_WITHDRAWN")));
  // 200 characters, counted as characters, not bytes ("é" is two bytes).
  std::string accents;
  for (int i = 0; i < 200; ++i) accents += "\xc3\xa9";
  EXPECT_THAT(WithdrawalViolations(withdrawn, accents), IsEmpty());
  EXPECT_THAT(WithdrawalViolations(withdrawn, accents + "x"),
              ElementsAre(HasSubstr("at most 200 characters")));
  EXPECT_THAT(WithdrawalViolations(withdrawn, "bad \xc3"),
              ElementsAre(HasSubstr("UTF-8")));
  EXPECT_THAT(WithdrawalViolations(withdrawn, "line\nbreak"),
              ElementsAre(HasSubstr("control characters")));
  EXPECT_THAT(WithdrawalViolations(withdrawn, "\xed\xa0\x80"),  // surrogate
              ElementsAre(HasSubstr("UTF-8")));
}

// The text of a correction's reason; whether the version is a correction
// at all is the monitor's check (it needs the stored subject).
TEST(SubjectValidationTest, ACorrectionReasonIsPrintableTextOf500Characters) {
  using ::testing::ElementsAre;
  using ::testing::HasSubstr;
  using ::testing::IsEmpty;
  auto violations = [](const std::string& reason) {
    v1::Subject s;
    s.set_subject_id("S1");
    s.set_site_id("01");
    s.set_dose_group_id("LOW");
    s.set_last_contact_day(10);
    s.set_correction_reason(reason);
    std::vector<errors::FieldViolation> v;
    ValidateSubject(GoodTrial(), s, "subjects[0]", &v);
    std::vector<std::string> out;
    for (const auto& x : v) out.push_back(x.field + ": " + x.description);
    return out;
  };
  EXPECT_THAT(violations("randomization error"), IsEmpty());
  EXPECT_THAT(violations(std::string(500, 'x')), IsEmpty());
  EXPECT_THAT(violations(std::string(501, 'x')),
              ElementsAre(HasSubstr("at most 500 characters")));
  EXPECT_THAT(violations("  \t "),
              ElementsAre("subjects[0].correction_reason: must not be blank"));
  EXPECT_THAT(violations("tab\there"),
              ElementsAre(HasSubstr("control characters")));
}

TEST(TrialValidationTest, DictionaryVersionsAreShortPrintableText) {
  v1::Trial t = GoodTrial();
  t.set_meddra_version("MedDRA 26.1");
  t.set_ctcae_version("CTCAE v5.0");
  auto good = ValidateAndNormalizeTrial(t);
  ASSERT_TRUE(good.ok()) << good.status();
  EXPECT_EQ(good->meddra_version(), "MedDRA 26.1");
  t.set_grading(std::string(200, 'g'));
  ASSERT_TRUE(ValidateAndNormalizeTrial(t).ok());
  t.set_meddra_version(std::string(65, 'm'));
  t.set_ctcae_version("v5\t0");
  t.set_grading(std::string(201, 'g'));
  EXPECT_THAT(errors::ViolatedFields(ValidateAndNormalizeTrial(t).status()),
              ::testing::ElementsAre("trial.meddra_version",
                                     "trial.ctcae_version", "trial.grading"));
}

TEST(TrialNameTest, ParsesAndRejects) {
  EXPECT_EQ(*ParseTrialName("trials/NCT1", "parent"), "NCT1");
  EXPECT_FALSE(ParseTrialName("NCT1", "parent").ok());
  EXPECT_FALSE(ParseTrialName("trials/", "parent").ok());
  EXPECT_FALSE(ParseTrialName("trials/a/b", "parent").ok());
  auto v = errors::ViolationsOf(ParseTrialName("x", "parent").status());
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].field, "parent");
}

// Unknown enum numbers are found in nested and repeated messages, each named
// by its path; known ones, and unset ones, pass.
TEST(EnumValuesTest, NamesEveryUnknownNumberByItsPath) {
  v1::Trial trial;
  trial.mutable_signal_policy()->set_error_control(
      v1::ERROR_CONTROL_TRIAL_WIDE);
  EXPECT_TRUE(CheckEnumValues(trial).ok());
  trial.mutable_signal_policy()->set_error_control(
      static_cast<v1::ErrorControl>(7));
  EXPECT_EQ(CheckEnumValues(trial).message(),
            "signal_policy.error_control: 7 is not an ErrorControl "
            "(ERROR_CONTROL_UNSPECIFIED, ERROR_CONTROL_TRIAL_WIDE, "
            "ERROR_CONTROL_PER_TEST)");

  v1::Subject subject;
  subject.add_history()->set_status(v1::FOLLOW_UP_STATUS_WITHDRAWN);
  EXPECT_TRUE(CheckEnumValues(subject).ok());
  subject.add_history()->set_status(static_cast<v1::FollowUpStatus>(-1));
  subject.set_status(static_cast<v1::FollowUpStatus>(9));
  const absl::Status status = CheckEnumValues(subject);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("status: 9 is not a FollowUpStatus"));
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("history[1].status: -1 is not a FollowUpStatus"));
  EXPECT_THAT(std::string(status.message()),
              ::testing::Not(HasSubstr("history[0]")));
}

}  // namespace
}  // namespace aesignal::domain
