#include "services/report/dsmb_report.h"

#include <algorithm>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/report/document.h"

namespace aesignal::report {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Two groups (placebo control, high dose), two timepoints, three subjects,
// one serious AE of "Pneumonia" in the high-dose group.
DsmbInputs Example(v1::DsmbSession session, bool coded = false) {
  DsmbInputs in;
  in.request.set_parent("trials/T1");
  in.request.mutable_cutoff()->set_seconds(1793491200);  // 2026-11-01
  in.request.set_session(session);
  in.request.set_coded(coded);
  in.trial.set_trial_id("T1");
  in.trial.set_title("A <trial> & more");
  in.trial.set_meddra_version("MedDRA 26.1");
  for (const auto& [id, label, control] :
       {std::tuple{"P", "Placebo", true},
        std::tuple{"H", "High dose", false}}) {
    auto* g = in.trial.add_dose_groups();
    g->set_dose_group_id(id);
    g->set_label(label);
    g->set_control(control);
  }
  for (const auto& [id, day] : {std::pair{"D7", 7}, std::pair{"D30", 30}}) {
    auto* t = in.trial.add_timepoints();
    t->set_timepoint_id(id);
    t->set_study_day(day);
  }
  in.trial.add_sites()->set_site_id("S1");
  for (const auto& [subject, group] :
       {std::pair{"001", "P"}, std::pair{"002", "H"}, std::pair{"003", "H"}}) {
    v1::Subject s;
    s.set_subject_id(subject);
    s.set_site_id("S1");
    s.set_dose_group_id(group);
    s.set_last_contact_day(30);
    in.subjects.push_back(s);
  }
  in.subjects[2].set_status(v1::FOLLOW_UP_STATUS_WITHDRAWN);
  in.subjects[2].set_withdrawal_reason("ADVERSE EVENT");
  auto add_row = [&](v1::GetIncidenceResponse& r, v1::TermLevel level,
                     const std::string& key) {
    v1::TermIncidence* term = r.add_terms();
    term->set_level(level);
    term->set_soc("Infections");
    if (level == v1::TERM_LEVEL_PT) term->set_pt("Pneumonia");
    term->set_overall_key(level == v1::TERM_LEVEL_OVERALL ? key : "");
    term->set_label(key);
    for (const auto& [group, n, subjects] :
         {std::tuple{"P", 1, 0}, std::tuple{"H", 2, 1}, std::tuple{"", 3, 1}}) {
      v1::IncidenceCell* cell = term->add_cells();
      cell->set_dose_group_id(group);
      cell->set_scope(*group ? v1::DOSE_GROUP_SCOPE_GROUP
                             : v1::DOSE_GROUP_SCOPE_ALL_GROUPS);
      cell->set_timepoint_id("D30");
      cell->set_n_dosed(n);
      cell->set_n_at_risk(n);
      cell->mutable_cumulative()->set_subjects(subjects);
      cell->mutable_cumulative()->set_events(subjects);
      cell->mutable_cumulative()->set_denominator(n);
      cell->mutable_cumulative()->set_proportion(double(subjects) / n);
    }
  };
  add_row(in.overall, v1::TERM_LEVEL_OVERALL, "any_ae");
  add_row(in.soc, v1::TERM_LEVEL_SOC, "Infections");
  add_row(in.pt, v1::TERM_LEVEL_PT, "Pneumonia");
  in.pt.set_confidence_level(0.95);
  v1::Report report;
  report.set_site_id("S1");
  report.set_report_id("R1");
  report.mutable_current()->set_dose_group_id("H");
  v1::AdverseEventReport* ae = report.mutable_current()->mutable_report();
  ae->set_report_id("R1");
  ae->set_version(2);
  ae->set_subject_id("002");
  ae->set_pt("Pneumonia");
  ae->set_grade(3);
  ae->set_serious(true);
  ae->set_hospitalization(true);
  ae->set_relatedness(v1::RELATEDNESS_POSSIBLE);
  in.reports.push_back(report);
  in.source = "aesignald test";
  return in;
}

std::string Html(const DsmbInputs& in, absl::Time when = absl::UnixEpoch()) {
  auto report = RenderDsmbReport(in, when);
  EXPECT_TRUE(report.ok()) << report.status();
  return report.ok() ? report->html() : "";
}

TEST(DsmbReportTest, ClosedSessionShowsGroupsAndBannerOnEveryPage) {
  const std::string html = Html(Example(v1::DSMB_SESSION_CLOSED));
  EXPECT_THAT(html, HasSubstr("CLOSED SESSION \xE2\x80\x94 CONFIDENTIAL"));
  EXPECT_THAT(html, HasSubstr("@top-center{content:\"CLOSED SESSION"));
  EXPECT_THAT(html, HasSubstr("counter(pages)"));
  EXPECT_THAT(html, HasSubstr("Placebo (N=1)"));
  EXPECT_THAT(html, HasSubstr("High dose (N=2)"));
  EXPECT_THAT(html, HasSubstr("Total (N=3)"));
  EXPECT_THAT(html, HasSubstr("1 (50.0) [1]"));  // Pneumonia, high dose
  EXPECT_THAT(html, HasSubstr("ADVERSE EVENT"));
  EXPECT_THAT(html, HasSubstr("MedDRA 26.1"));
  EXPECT_THAT(html, HasSubstr("A &lt;trial&gt; &amp; more"));
  EXPECT_THAT(html, Not(HasSubstr("A <trial>")));
  EXPECT_THAT(html, HasSubstr("R1 (v2)"));
}

TEST(DsmbReportTest, OpenSessionPoolsTheGroups) {
  const std::string html = Html(Example(v1::DSMB_SESSION_OPEN));
  EXPECT_THAT(html, HasSubstr("OPEN SESSION"));
  EXPECT_THAT(html, Not(HasSubstr("CONFIDENTIAL")));
  EXPECT_THAT(html, HasSubstr("Total (N=3)"));
  EXPECT_THAT(html, Not(HasSubstr("Placebo")));
  EXPECT_THAT(html, Not(HasSubstr("High dose")));
  EXPECT_THAT(html, Not(HasSubstr("Risk difference")));
}

// Only figures are kept on one line: a text cell that starts with a digit
// (a triage date, an evidence summary) wraps instead of leaving the page.
TEST(DsmbReportTest, TextCellsWrapAndFiguresDoNot) {
  Document document("T", "B");
  document.Section("S");
  document.Add(Table{.id = "t",
                     .title = "T",
                     .header = {"Topic", "n (%)", "p", "Last triage"},
                     .rows = {{"Rash", "6 (7.0) [10]", "-0.023",
                               "2026-11-30 by chair: validated at the "
                               "October meeting"}}});
  const std::string html = document.Render("", "");
  EXPECT_THAT(html, HasSubstr("<td class=\"n\">6 (7.0) [10]</td>"));
  EXPECT_THAT(html, HasSubstr("<td class=\"n\">-0.023</td>"));
  EXPECT_THAT(html, HasSubstr("<td>2026-11-30 by chair: validated"));
  // Headers are right-aligned (and unwrapped) over figures only.
  EXPECT_THAT(html, HasSubstr("<th>Topic</th><th class=\"n\">n (%)</th>"
                              "<th class=\"n\">p</th><th>Last triage</th>"));
}

// With no report giving an action taken (e.g. an ADaM AEACN left empty),
// discontinuations are not recorded, not 0.
TEST(DsmbReportTest, DiscontinuationsAreNotRecordedWithoutActionTaken) {
  DsmbInputs in = Example(v1::DSMB_SESSION_CLOSED);
  // The row follows the overall table's "death" row.
  *in.overall.add_terms() = in.overall.terms(0);
  in.overall.mutable_terms(1)->set_overall_key("death");
  const std::string none = Html(in);
  EXPECT_THAT(none, HasSubstr("<td>AE leading to discontinuation</td>"
                              "<td>not recorded</td><td>not recorded</td>"
                              "<td>not recorded</td>"));
  EXPECT_THAT(none, HasSubstr("not recorded: no report gives the action"));
  // The group columns' headers stay over figures.
  EXPECT_THAT(none, HasSubstr("<th>Subjects with</th><th class=\"n\">Placebo "
                              "(N=1)</th>"));
  in.reports[0].mutable_current()->mutable_report()->set_action_taken(
      v1::ACTION_TAKEN_UNKNOWN);
  EXPECT_THAT(Html(in), HasSubstr("<td>AE leading to discontinuation</td>"
                                  "<td>not recorded</td>"));
  in.reports[0].mutable_current()->mutable_report()->set_action_taken(
      v1::ACTION_TAKEN_DRUG_WITHDRAWN);
  const std::string withdrawn = Html(in);
  EXPECT_THAT(withdrawn, HasSubstr("<td>AE leading to discontinuation</td>"
                                   "<td class=\"n\">0 (0.0)</td>"
                                   "<td class=\"n\">1 (50.0)</td>"));
  EXPECT_THAT(withdrawn, Not(HasSubstr("not recorded: no report")));
  // A single infusion: every report says there was nothing to withdraw.
  in.reports[0].mutable_current()->mutable_report()->set_action_taken(
      v1::ACTION_TAKEN_NOT_APPLICABLE);
  const std::string single = Html(in);
  EXPECT_THAT(single, HasSubstr("<td>AE leading to discontinuation</td>"
                                "<td>not applicable</td><td>not applicable</td>"
                                "<td>not applicable</td>"));
  EXPECT_THAT(single, HasSubstr("not applicable: every report that gives "
                                "the action taken gives it as not applicable "
                                "(e.g. after a single administration there is "
                                "no treatment to withdraw)."));
  // A report without an action among them does not turn the row into 0s.
  in.reports.push_back(in.reports[0]);
  in.reports.back().mutable_current()->mutable_report()->set_action_taken(
      v1::ACTION_TAKEN_UNKNOWN);
  const std::string mixed = Html(in);
  EXPECT_THAT(mixed, HasSubstr("<td>AE leading to discontinuation</td>"
                               "<td>not applicable</td><td>not applicable</td>"
                               "<td>not applicable</td>"));
  EXPECT_THAT(mixed, HasSubstr("no treatment to withdraw); 1 of 2 reports give "
                               "no action taken (or give it as unknown) and "
                               "count as not withdrawn."));
  // One that gives another action does: the row has figures.
  in.reports.back().mutable_current()->mutable_report()->set_action_taken(
      v1::ACTION_TAKEN_DOSE_NOT_CHANGED);
  EXPECT_THAT(Html(in), HasSubstr("<td>AE leading to discontinuation</td>"
                                  "<td class=\"n\">0 (0.0)</td>"));
}

// A report with a fatal outcome that is not marked serious counts as fatal
// but not serious; the overview says so, naming the subject in the closed
// session only.
TEST(DsmbReportTest, AFatalOutcomeNotMarkedSeriousIsCalledOut) {
  DsmbInputs closed = Example(v1::DSMB_SESSION_CLOSED);
  EXPECT_THAT(Html(closed), Not(HasSubstr("Data check")));
  v1::AdverseEventReport* ae =
      closed.reports[0].mutable_current()->mutable_report();
  ae->set_serious(false);
  ae->set_hospitalization(false);
  ae->set_outcome(v1::OUTCOME_FATAL);
  EXPECT_THAT(Html(closed),
              HasSubstr("Data check: 1 report with a fatal outcome is not "
                        "marked serious, so it counts as fatal but not as "
                        "serious (a death is serious by ICH E2A; the sites "
                        "should be queried): subject 002."));
  DsmbInputs open = Example(v1::DSMB_SESSION_OPEN);
  open.reports = closed.reports;
  const std::string html = Html(open);
  EXPECT_THAT(html, HasSubstr("the sites should be queried)."));
  EXPECT_THAT(html, Not(HasSubstr("subject 002")));
}

// t01 sums the subjects' last contact days: follow-up, which after a
// single infusion is not exposure to treatment, and is named so.
TEST(DsmbReportTest, StudyStatusSumsFollowUp) {
  auto report =
      RenderDsmbReport(Example(v1::DSMB_SESSION_CLOSED), absl::UnixEpoch());
  ASSERT_TRUE(report.ok()) << report.status();
  std::string csv;
  for (const auto& table : report->tables()) {
    if (table.id() == "t01_study_status") csv = table.csv();
  }
  // 30 days each: placebo 1 subject, high dose 2, all 3.
  EXPECT_THAT(csv, HasSubstr("Follow-up (patient-years),0.08,0.16,0.25"));
  EXPECT_THAT(csv, Not(HasSubstr("Exposure")));
}

// A report without a relatedness counts as related (the worst case); the
// overview says how many there are, naming the subjects in the closed
// session only.
TEST(DsmbReportTest, AMissingRelatednessIsCalledOut) {
  DsmbInputs closed = Example(v1::DSMB_SESSION_CLOSED);
  closed.reports[0].mutable_current()->mutable_report()->clear_relatedness();
  EXPECT_THAT(Html(closed),
              HasSubstr("Data check: 1 report gives no relatedness, so it "
                        "counts as related (a missing causality is taken as "
                        "related; the sites should be queried): subject "
                        "002."));
  DsmbInputs open = Example(v1::DSMB_SESSION_OPEN);
  open.reports = closed.reports;
  open.reports.push_back(open.reports[0]);
  const std::string html = Html(open);
  EXPECT_THAT(html, HasSubstr("Data check: 2 reports give no relatedness, so "
                              "they count as related (a missing"));
  EXPECT_THAT(html, Not(HasSubstr("subject 002")));
}

// The forest plot (closed session) prints, beside each risk difference, the
// counts it is computed from: the group's and the control's n/N.
TEST(DsmbReportTest, TheForestPlotGivesEachArmsCounts) {
  DsmbInputs in = Example(v1::DSMB_SESSION_CLOSED);
  v1::IncidenceCell* high = in.pt.mutable_terms(0)->mutable_cells(1);
  ASSERT_EQ(high->dose_group_id(), "H");
  v1::ControlComparison* vs = high->mutable_cumulative_vs_control();
  vs->set_control_dose_group_id("P");
  vs->set_control_subjects(0);
  vs->set_control_denominator(1);
  vs->set_risk_difference(0.5);
  vs->set_risk_difference_lower(-0.3);
  vs->set_risk_difference_upper(0.9);
  const std::string html = Html(in);
  EXPECT_THAT(html, HasSubstr(">Subjects n/N</text>"));
  EXPECT_THAT(html, HasSubstr(">1/2 vs 0/1</text>"));
  EXPECT_THAT(html, HasSubstr(">50.0 (-30.0, 90.0)</text>"));
  EXPECT_THAT(html, HasSubstr("Subjects n/N: subjects with the PT / subjects "
                              "dosed, in the group vs in Placebo."));
  // Under its SOC's heading.
  EXPECT_THAT(html, HasSubstr("class=\"aes-section\" x=\"8\""));
  EXPECT_THAT(html, HasSubstr(">Infections</text>"));
  // Open session: groups are pooled, no forest plot.
  in.request.set_session(v1::DSMB_SESSION_OPEN);
  EXPECT_THAT(Html(in), Not(HasSubstr("Subjects n/N")));
}

// A long forest plot comes in parts of at most 30 lines (rows and SOC
// headings), each printed whole; a part that starts inside a SOC repeats
// the SOC's heading.
TEST(DsmbReportTest, ALongForestPlotIsSplitIntoPartsThatFitAPage) {
  DsmbInputs in = Example(v1::DSMB_SESSION_CLOSED);
  const v1::TermIncidence pneumonia = in.pt.terms(0);
  in.pt.clear_terms();
  for (int i = 0; i < 40; ++i) {
    v1::TermIncidence* term = in.pt.add_terms();
    *term = pneumonia;
    term->set_soc(i < 10 ? "Cardiac disorders" : "Infections");
    term->set_pt(absl::StrCat("Term ", 10 + i));
    v1::ControlComparison* vs =
        term->mutable_cells(1)->mutable_cumulative_vs_control();
    vs->set_control_dose_group_id("P");
    vs->set_control_denominator(1);
    vs->set_risk_difference(0.5);
    vs->set_risk_difference_lower(-0.3);
    vs->set_risk_difference_upper(0.9);
  }
  const std::string html = Html(in);
  const auto count = [&](const std::string& text) {
    size_t n = 0;
    for (size_t at = html.find(text); at != std::string::npos;
         at = html.find(text, at + 1)) {
      ++n;
    }
    return n;
  };
  // 40 rows and 2 headings: 28 rows under 2 headings, then 12 under the
  // repeated "Infections".
  EXPECT_EQ(count("preferred term (part 1 of 2)</title>"), 1u);
  EXPECT_EQ(count("preferred term (part 2 of 2)</title>"), 1u);
  EXPECT_EQ(count(">Cardiac disorders</text>"), 1u);
  EXPECT_EQ(count(">Infections</text>"), 2u);
  const size_t part2 = html.find("preferred term (part 2 of 2)</title>");
  const size_t term37 = html.find("\"start\">Term 37</text>");
  const size_t term38 = html.find("\"start\">Term 38</text>");
  ASSERT_NE(part2, std::string::npos);
  ASSERT_NE(term37, std::string::npos);
  ASSERT_NE(term38, std::string::npos);
  EXPECT_LT(term37, part2);
  EXPECT_GT(term38, part2);
}

// Grades that are not CTCAE grades (a severity scale) are not printed as
// such: the titles say "grade" and the methods say how grades were given.
TEST(DsmbReportTest, GradesThatAreNotCtcaeAreNotCalledCtcae) {
  DsmbInputs in = Example(v1::DSMB_SESSION_CLOSED);
  EXPECT_THAT(Html(in), HasSubstr("Maximum CTCAE grade by preferred term"));
  in.trial.set_grading("severity (AESEV): MILD = 1, MODERATE = 2, SEVERE = 3");
  const std::string html = Html(in);
  EXPECT_THAT(html, HasSubstr("Maximum grade by preferred term"));
  EXPECT_THAT(html, Not(HasSubstr("highest CTCAE grade")));
  EXPECT_THAT(
      html,
      HasSubstr("Grades are not CTCAE grades: severity (AESEV): "
                "MILD = 1, MODERATE = 2, SEVERE = 3; &quot;grade 3 "
                "or higher&quot; and &quot;any grade &gt;= 3 AE&quot; mean "
                "severe or worse."));
  // Some grades CTCAE, others from severity: the rows combine both.
  in.trial.set_grading(
      "CTCAE grade (AETOXGR) where recorded, else severity (AESEV): MILD = 1");
  EXPECT_THAT(Html(in),
              HasSubstr("Grades are not all CTCAE grades: CTCAE "
                        "grade (AETOXGR) where recorded, else "
                        "severity (AESEV): MILD = 1; &quot;grade 3 or "
                        "higher&quot; and &quot;any grade &gt;= 3 AE&quot; "
                        "combine CTCAE grade &gt;= 3 with severe or "
                        "worse."));
}

// The methods paragraph follows the trial's policy and its dictionaries.
TEST(DsmbReportTest, MethodsFollowThePolicy) {
  DsmbInputs in = Example(v1::DSMB_SESSION_CLOSED);
  in.trial.mutable_signal_policy()->set_fdr(0.1);  // alpha unset: 0.05
  in.trial.set_ctcae_version("5.0");
  std::string html = Html(in);
  EXPECT_THAT(html, HasSubstr("Dictionaries: MedDRA 26.1; CTCAE 5.0."));
  EXPECT_THAT(html, HasSubstr("the one-sided alpha of 0.05 by Bonferroni"));
  // Two groups, one a control: screened against it, no dose trend.
  EXPECT_THAT(html, HasSubstr("screened against the control arm with the "
                              "double false discovery rate at 0.1"));
  EXPECT_THAT(html, Not(HasSubstr("for dose trend with")));
  // No baseline: no claim about tests against baselines.
  EXPECT_THAT(html, Not(HasSubstr("published baselines")));
  in.baselines.emplace_back().set_baseline_id("b");
  html = Html(in);
  EXPECT_THAT(html, HasSubstr("no planned enrolment is set, so no "
                              "repeated-look boundary"));
  EXPECT_THAT(html, Not(HasSubstr("Pocock")));
  in.trial.mutable_signal_policy()->set_disable_control(true);
  EXPECT_THAT(Html(in), HasSubstr("other preferred terms are not screened"));
  in.trial.mutable_signal_policy()->set_disable_control(false);
  in.trial.mutable_signal_policy()->set_planned_subjects_per_group(12);
  in.trial.clear_meddra_version();
  html = Html(in);
  EXPECT_THAT(html, HasSubstr("exact Pocock-type boundaries up to 12 "
                              "subjects per group"));
  EXPECT_THAT(html, HasSubstr("Dictionaries: MedDRA not recorded for this "
                              "trial; CTCAE 5.0."));
}

// The methods table and paragraphs name only the tests this trial's design
// allows: the example's two groups (one a control) and no baseline.
TEST(DsmbReportTest, MethodsNameOnlyTheTestsTheTrialCanUse) {
  DsmbInputs in = Example(v1::DSMB_SESSION_CLOSED);
  in.trial.mutable_signal_policy()->set_error_control(
      v1::ERROR_CONTROL_PER_TEST);
  std::string html = Html(in);
  EXPECT_THAT(html,
              HasSubstr("<td>Methods applied</td><td>Fisher&#39;s exact vs "
                        "control; increase over earlier windows</td>"));
  EXPECT_THAT(html, HasSubstr("exact binomial vs baseline (no baselines "
                              "loaded)"));
  EXPECT_THAT(html, HasSubstr("exact Cochran-Armitage dose trend (fewer than "
                              "three dose groups)"));
  EXPECT_THAT(html, HasSubstr("every test at its own one-sided alpha of 0.05 "
                              "(Fisher&#39;s exact vs control; increase over "
                              "earlier windows)"));
  EXPECT_THAT(html, HasSubstr("By-group comparisons: risk differences"));
  // Without a baseline the posterior has nothing to flag against.
  EXPECT_THAT(html, Not(HasSubstr("posterior P(p &gt; p0)")));
  EXPECT_THAT(html, Not(HasSubstr("Cochran-Armitage test, exact")));
  // No control group: no comparison with one is claimed anywhere.
  for (v1::DoseGroup& group : *in.trial.mutable_dose_groups()) {
    group.set_control(false);
  }
  html = Html(in);
  EXPECT_THAT(html,
              HasSubstr("Fisher&#39;s exact vs control (no control group)"));
  EXPECT_THAT(html, Not(HasSubstr("versus the control group")));
  EXPECT_THAT(html, Not(HasSubstr("By-group comparisons")));
}

// A timepoint label that already names its day is not followed by it again;
// the topic table's strength reads as the CLI prints it.
TEST(DsmbReportTest, FollowUpLabelsAndStrengthsPrintOnce) {
  DsmbInputs in = Example(v1::DSMB_SESSION_CLOSED);
  in.trial.mutable_timepoints(1)->set_label("Day 30 (end of data)");
  v1::SignalTopic& topic = in.topics.emplace_back();
  topic.set_topic_id("PT~Infections~Pneumonia");
  topic.set_level(v1::TERM_LEVEL_PT);
  topic.set_pt("Pneumonia");
  topic.set_strength(6);
  const std::string html = Html(in);
  EXPECT_THAT(html, HasSubstr("<td>Day 30 (end of data)</td>"));
  EXPECT_THAT(html, Not(HasSubstr("(end of data) (day 30)")));
  EXPECT_THAT(html, HasSubstr("<td>D7 (day 7)</td>"));
  EXPECT_THAT(html, HasSubstr("<td class=\"n\">6.00</td>"));
  // The topics' footnote says what an adjusted p is under the trial's
  // error control, and only that: trial-wide, ...
  EXPECT_THAT(html, HasSubstr("Trial-wide error control: on a pre-specified "
                              "row (the overall rows and the rows a baseline "
                              "names) the adjusted p is for the "
                              "pre-specified tests sharing alpha"));
  EXPECT_THAT(html, HasSubstr("the larger of the PT screen&#39;s double-FDR "
                              "value and the test&#39;s Bonferroni p within "
                              "its row"));
  EXPECT_THAT(html, Not(HasSubstr("some cross by chance")));
  // ... per test, ...
  in.trial.mutable_signal_policy()->set_error_control(
      v1::ERROR_CONTROL_PER_TEST);
  std::string per_test = Html(in);
  EXPECT_THAT(per_test, HasSubstr("Per-test error control: each test crosses "
                                  "at alpha on its own, with no adjustment "
                                  "for the number of tests, so among many "
                                  "tests some cross by chance."));
  EXPECT_THAT(per_test, Not(HasSubstr("Trial-wide error control: on a")));
  EXPECT_THAT(per_test, Not(HasSubstr("double FDR (their adjusted p")));
  // ... and per test with the PT screen, whose control comparisons are
  // adjusted.
  in.trial.mutable_signal_policy()->set_screening_fdr(true);
  per_test = Html(in);
  EXPECT_THAT(per_test,
              HasSubstr("so among many tests some cross by chance; except a "
                        "PT&#39;s comparisons with the control arm, which are "
                        "screened across PTs with the double FDR (their "
                        "adjusted p against the screening FDR"));
  EXPECT_THAT(per_test, Not(HasSubstr("Trial-wide error control: on a")));
}

// The strength names the test it is taken from, which need not be the
// comparison the evidence text quotes first, and that test's deciding p, so
// a reader can redo the footnote's arithmetic; a coded report prints the
// number alone.
TEST(DsmbReportTest, StrengthNamesTheTestItIsTakenFrom) {
  auto strength = [](bool coded) {
    DsmbInputs in = Example(v1::DSMB_SESSION_CLOSED, coded);
    v1::SignalTopic& topic = in.topics.emplace_back();
    topic.set_topic_id("PT~Infections~Pneumonia");
    topic.set_level(v1::TERM_LEVEL_PT);
    topic.set_pt("Pneumonia");
    topic.set_strength(6);
    topic.set_summary("D30: High dose 2/2 vs Placebo 0/1, ...");
    topic.set_lead_signal_id("TREND");
    for (const auto& [id, method, adjusted] :
         {std::tuple{"FISHER", v1::SIGNAL_METHOD_CONTROL_FISHER, 9.17e-06},
          std::tuple{"TREND", v1::SIGNAL_METHOD_DOSE_TREND, 5.04e-07}}) {
      v1::Signal& s = *topic.add_evidence();
      s.set_signal_id(id);
      s.set_method(method);
      s.set_dose_group_id(method == v1::SIGNAL_METHOD_DOSE_TREND ? "" : "H");
      s.set_timepoint_id("D30");
      s.mutable_evidence()->set_adjusted_p_value(adjusted);
    }
    auto report = RenderDsmbReport(in, absl::UnixEpoch());
    EXPECT_TRUE(report.ok()) << report.status();
    for (const auto& table : report->tables()) {
      if (table.id() == "t12_signal_topics") return table.csv();
    }
    return std::string();
  };
  EXPECT_THAT(strength(false),
              HasSubstr(",\"6.00 (dose trend, across groups, D30; adjusted "
                        "p 5.04e-07)\","));
  const std::string coded = strength(true);
  EXPECT_THAT(coded, HasSubstr(",6.00,"));
  EXPECT_THAT(coded, Not(HasSubstr("dose trend")));
}

// The topic table's last triage names the member as they signed it.
TEST(DsmbReportTest, LastTriageShowsTheDisplayName) {
  DsmbInputs in = Example(v1::DSMB_SESSION_CLOSED);
  v1::SignalTopic& topic = in.topics.emplace_back();
  topic.set_topic_id("PT~Infections~Pneumonia");
  topic.set_level(v1::TERM_LEVEL_PT);
  topic.set_pt("Pneumonia");
  topic.set_status(v1::SIGNAL_STATUS_VALIDATED);
  v1::SignalEvent* triaged = topic.add_history();
  triaged->set_kind(v1::SignalEvent::KIND_TRIAGED);
  triaged->mutable_time()->set_seconds(1793491200);
  triaged->set_actor("chair-token");
  triaged->set_display_name("Dr. A. Smith, DSMB chair");
  triaged->set_to_status(v1::SIGNAL_STATUS_VALIDATED);
  triaged->set_comment("confirmed");
  EXPECT_THAT(Html(in), HasSubstr("2026-11-01 Dr. A. Smith, DSMB chair "
                                  "(chair-token): validated \xE2\x80\x94 "
                                  "confirmed"));
}

// A topic no longer crossing says since when, and in the closed session
// after what; the open session names no subject.
TEST(DsmbReportTest, ATopicNoLongerCrossingSaysSinceWhenAndAfterWhat) {
  for (const auto& [session, text] :
       {std::pair{v1::DSMB_SESSION_CLOSED,
                  "no, since 2026-11-01, after correction of subject S3 v3"},
        std::pair{v1::DSMB_SESSION_OPEN, "no, since 2026-11-01<"}}) {
    DsmbInputs in = Example(session);
    v1::SignalTopic& topic = in.topics.emplace_back();
    topic.set_topic_id("PT~Infections~Pneumonia");
    topic.set_level(v1::TERM_LEVEL_PT);
    topic.set_pt("Pneumonia");
    topic.add_history()->set_kind(v1::SignalEvent::KIND_RAISED);
    v1::SignalEvent* stopped = topic.add_history();
    stopped->set_kind(v1::SignalEvent::KIND_STOPPED_CROSSING);
    stopped->mutable_time()->set_seconds(1793491200);
    v1::ChangeRef* change = stopped->mutable_evidence()->mutable_change();
    change->set_action("subject.correct");
    change->set_name("trials/T/subjects/S3");
    change->set_version(3);
    const std::string html = Html(in);
    EXPECT_THAT(html, HasSubstr(text)) << session;
    if (session == v1::DSMB_SESSION_OPEN) {
      EXPECT_THAT(html, Not(HasSubstr("subject S3")));
    }
  }
  // After a report's withdrawal as entered in error, the cause says so.
  DsmbInputs in = Example(v1::DSMB_SESSION_CLOSED);
  v1::SignalTopic& topic = in.topics.emplace_back();
  topic.set_topic_id("PT~Infections~Pneumonia");
  v1::SignalEvent* stopped = topic.add_history();
  stopped->set_kind(v1::SignalEvent::KIND_STOPPED_CROSSING);
  stopped->mutable_time()->set_seconds(1793491200);
  stopped->mutable_evidence()->set_report_id("R1");
  stopped->mutable_evidence()->set_report_version(3);
  EXPECT_THAT(Html(in), HasSubstr("no, since 2026-11-01, after report R1 v3"));
  v1::Report& withdrawn = in.withdrawn.emplace_back(in.reports[0]);
  withdrawn.mutable_current()->mutable_report()->set_version(3);
  EXPECT_THAT(Html(in), HasSubstr("no, since 2026-11-01, after withdrawal of "
                                  "report R1 (v3)"));
}

// A topic that stopped crossing after a baseline other than its test's says why
// that baseline mattered to it; after its own baseline, nothing more.
TEST(DsmbReportTest, AnotherRowsBaselineAsACauseIsExplained) {
  DsmbInputs in = Example(v1::DSMB_SESSION_CLOSED);
  v1::SignalTopic& topic = in.topics.emplace_back();
  topic.set_topic_id("OVERALL~any_ae");
  v1::SignalEvent* stopped = topic.add_history();
  stopped->set_kind(v1::SignalEvent::KIND_STOPPED_CROSSING);
  stopped->mutable_time()->set_seconds(1793491200);
  v1::Evidence* evidence = stopped->mutable_evidence();
  evidence->set_baseline_id("any-ae-6m");
  evidence->set_multiplicity(24);
  evidence->mutable_change()->set_action("baseline.put");
  evidence->mutable_change()->set_name("trials/T1/baselines/sae-6m");
  evidence->mutable_change()->set_version(1);
  EXPECT_THAT(Html(in),
              HasSubstr("after baseline sae-6m v1 (a baseline other than this "
                        "test&#39;s; under trial-wide control a baseline "
                        "change re-evaluates the pre-specified rows, whose 24 "
                        "tests share alpha)"));
  evidence->set_multiplicity(0);  // not adjusted: no share of alpha to name
  EXPECT_THAT(Html(in), HasSubstr("after baseline sae-6m v1 (a baseline other "
                                  "than this test&#39;s)</td>"));
  evidence->set_baseline_id("sae-6m");
  const std::string own = Html(in);
  EXPECT_THAT(own, HasSubstr("after baseline sae-6m v1</td>"));
  EXPECT_THAT(own, Not(HasSubstr("other than this test")));
}

// The topic's evidence quotes its lead test as the server's summary does,
// naming its dose group and timepoint (domain::AssembleTopics); the closed,
// uncoded report prints it; coded, neither.
TEST(DsmbReportTest, TopicEvidenceNamesTheLeadGroupAndTimepoint) {
  for (const bool coded : {false, true}) {
    DsmbInputs in = Example(v1::DSMB_SESSION_CLOSED, coded);
    v1::SignalTopic& topic = in.topics.emplace_back();
    topic.set_topic_id("OVERALL~any_sae");
    topic.set_level(v1::TERM_LEVEL_OVERALL);
    topic.set_overall_key("any_sae");
    topic.set_summary("High dose, D30: 2/2 (100%) vs expected 2.2%");
    topic.set_lead_signal_id("BINOMIAL~OVERALL~any_sae~H~D30");
    topic.set_evidence_count(1);
    topic.set_crossing_count(1);
    v1::Signal& lead = *topic.add_evidence();
    lead.set_signal_id(topic.lead_signal_id());
    lead.set_method(v1::SIGNAL_METHOD_BINOMIAL_EXACT);
    lead.set_dose_group_id("H");
    lead.set_timepoint_id("D30");
    lead.mutable_evidence()->set_crosses(true);
    const std::string html = Html(in);
    EXPECT_EQ(
        absl::StrContains(html,
                          "1 of 1 tests crossing; High dose, D30: 2/2 (100%) "
                          "vs expected 2.2%"),
        !coded)
        << html;
    EXPECT_EQ(absl::StrContains(html, "High dose, D30"), !coded);
  }
}

// A triage comment may name groups and their counts; only the closed,
// uncoded report prints it.
TEST(DsmbReportTest, TriageCommentsOnlyInTheClosedUncodedReport) {
  for (const auto& [session, coded, shown] :
       {std::tuple{v1::DSMB_SESSION_CLOSED, false, true},
        std::tuple{v1::DSMB_SESSION_CLOSED, true, false},
        std::tuple{v1::DSMB_SESSION_OPEN, false, false}}) {
    DsmbInputs in = Example(session, coded);
    v1::SignalTopic& topic = in.topics.emplace_back();
    topic.set_topic_id("PT~Infections~Pneumonia");
    topic.set_level(v1::TERM_LEVEL_PT);
    topic.set_pt("Pneumonia");
    v1::SignalEvent* triaged = topic.add_history();
    triaged->set_kind(v1::SignalEvent::KIND_TRIAGED);
    triaged->set_actor("olga");
    triaged->set_to_status(v1::SIGNAL_STATUS_REFUTED);
    triaged->set_comment("3/3 in the high dose group");
    const std::string html = Html(in);
    EXPECT_EQ(absl::StrContains(html, "3/3 in the high dose"), shown)
        << session << " coded " << coded;
    EXPECT_EQ(absl::StrContains(html, "olga: refuted (comment in the closed"),
              !shown);
  }
}

// The trend test's p-value beside each group's counts would let a reader
// match letters to doses: a coded report leaves it to the uncoded one.
TEST(DsmbReportTest, ACodedReportLeavesOutTheDoseTrendsPValue) {
  for (const bool coded : {false, true}) {
    DsmbInputs in = Example(v1::DSMB_SESSION_CLOSED, coded);
    v1::SignalTopic& topic = in.topics.emplace_back();
    topic.set_topic_id("OVERALL~any_ae");
    topic.set_level(v1::TERM_LEVEL_OVERALL);
    topic.set_overall_key("any_ae");
    v1::GetIncidenceResponse incidence = in.overall;
    v1::IncidenceTrend* trend = incidence.mutable_terms(0)->add_dose_trends();
    trend->set_timepoint_id("D30");
    trend->set_scores("dose scores 0, 1");
    trend->set_p_value(0.0123);
    trend->set_exact(true);
    in.topic_incidence[topic.topic_id()] = incidence;
    const std::string html = Html(in);
    EXPECT_EQ(absl::StrContains(html, "one-sided p = 0.0123"), !coded);
    EXPECT_EQ(absl::StrContains(html, "dose-trend test is in the uncoded"),
              coded);
  }
}

// The closed report lists each pre-specified row's exact test closest to
// its threshold, crossing or not, with its nominal and adjusted p; the open
// session does not (the tests compare groups), and a coded report leaves
// out the dose trend's p-value.
TEST(DsmbReportTest, PrespecifiedRowsShowTheirClosestTestAndAdjustedP) {
  auto make = [](v1::DsmbSession session, bool coded) {
    DsmbInputs in = Example(session, coded);
    v1::SignalTopic& topic = in.prespecified.emplace_back();
    topic.set_topic_id("OVERALL~any_ae");
    topic.set_level(v1::TERM_LEVEL_OVERALL);
    topic.set_overall_key("any_ae");
    topic.set_evidence_count(3);
    auto add = [&](v1::SignalMethod method, const std::string& group,
                   double p) {
      v1::Signal* s = topic.add_evidence();
      s->set_method(method);
      s->set_dose_group_id(group);
      s->set_timepoint_id("D30");
      s->mutable_evidence()->set_p_value(p);
      s->mutable_evidence()->set_adjusted_p_value(std::min(1.0, p * 12));
      s->mutable_evidence()->set_multiplicity(12);
      s->mutable_evidence()->set_subjects(1);
      s->mutable_evidence()->set_denominator(2);
      s->mutable_evidence()->set_comparison_subjects(0);
      s->mutable_evidence()->set_comparison_denominator(1);
    };
    add(v1::SIGNAL_METHOD_BAYESIAN, "H", 0.001);  // a posterior: not shown
    add(v1::SIGNAL_METHOD_DOSE_TREND, "", 0.004);
    add(v1::SIGNAL_METHOD_CONTROL_FISHER, "H", 0.5);
    in.prespecified.emplace_back().set_topic_id("OVERALL~any_sae");
    in.prespecified.back().set_level(v1::TERM_LEVEL_OVERALL);
    in.prespecified.back().set_overall_key("any_sae");
    return in;
  };
  auto csv = [](const DsmbInputs& in) -> std::string {
    auto report = RenderDsmbReport(in, absl::UnixEpoch());
    EXPECT_TRUE(report.ok()) << report.status();
    for (const auto& table : report->tables()) {
      if (table.id() == "t15_prespecified_tests") return table.csv();
    }
    return "";
  };
  const std::string closed = csv(make(v1::DSMB_SESSION_CLOSED, false));
  EXPECT_THAT(closed, HasSubstr("any_ae,\"dose trend, across groups, D30\","
                                "0.004,0.048 (\xC3\x97"
                                "12),0 of 3"));
  EXPECT_THAT(closed, HasSubstr("any_sae,no exact test applies,-,-,0 of 0"));
  const std::string coded = csv(make(v1::DSMB_SESSION_CLOSED, true));
  EXPECT_THAT(coded, HasSubstr("any_ae,\"vs control, Group B, D30: 1/2 vs "
                               "0/1\",0.5,1 (\xC3\x97"
                               "12),0 of 3"));
  EXPECT_THAT(coded, Not(HasSubstr("0.004")));
  EXPECT_EQ(csv(make(v1::DSMB_SESSION_OPEN, false)), "");
}

// Under trial-wide control a quiet row's adjusted p values are all capped
// at 1: the closest test is then the one with the smallest nominal p, not
// the first in the topic's order.
TEST(DsmbReportTest, AQuietPrespecifiedRowShowsItsSmallestNominalP) {
  DsmbInputs in = Example(v1::DSMB_SESSION_CLOSED);
  v1::SignalTopic& topic = in.prespecified.emplace_back();
  topic.set_topic_id("OVERALL~any_sae");
  topic.set_level(v1::TERM_LEVEL_OVERALL);
  topic.set_overall_key("any_sae");
  topic.set_evidence_count(3);
  for (const auto& [method, group, p] :
       {std::tuple{v1::SIGNAL_METHOD_OVER_TIME, "", 0.723},
        std::tuple{v1::SIGNAL_METHOD_CONTROL_FISHER, "H", 0.243},
        std::tuple{v1::SIGNAL_METHOD_DOSE_TREND, "", 0.144}}) {
    v1::Signal* s = topic.add_evidence();
    s->set_method(method);
    s->set_dose_group_id(group);
    s->set_timepoint_id("D30");
    s->mutable_evidence()->set_p_value(p);
    s->mutable_evidence()->set_adjusted_p_value(1);
    s->mutable_evidence()->set_multiplicity(72);
  }
  auto report = RenderDsmbReport(in, absl::UnixEpoch());
  ASSERT_TRUE(report.ok()) << report.status();
  std::string csv;
  for (const auto& table : report->tables()) {
    if (table.id() == "t15_prespecified_tests") csv = table.csv();
  }
  EXPECT_THAT(csv, HasSubstr("any_sae,\"dose trend, across groups, D30\","
                             "0.144,1 (\xC3\x97"
                             "72),0 of 3"));
}

// Every report draws any AE (and any SAE) over time, also with no topic
// and in the open session, so its figures section is never empty; a topic
// of the row draws it once, not twice.
TEST(DsmbReportTest, AnyAeOverTimeIsDrawnOnceWhateverWasRaised) {
  auto figures = [](const std::string& html) {
    int n = 0;
    const std::string id = "<figure id=\"f_time_OVERALL~any_ae\">";
    for (size_t at = html.find(id); at != std::string::npos;
         at = html.find(id, at + 1)) {
      ++n;
    }
    return n;
  };
  for (const auto session : {v1::DSMB_SESSION_OPEN, v1::DSMB_SESSION_CLOSED}) {
    DsmbInputs in = Example(session);
    ASSERT_TRUE(in.topics.empty());
    const std::string without_topic = Html(in);
    EXPECT_EQ(figures(without_topic), 1) << session;
    EXPECT_THAT(without_topic, HasSubstr("Figure 1. any_ae: cumulative"));
    // Its timepoints are categories, evenly spaced: the axis says so.
    EXPECT_THAT(without_topic,
                HasSubstr(">Timepoint (evenly spaced, not to scale in "
                          "time)</text>"));
    v1::SignalTopic& topic = in.topics.emplace_back();
    topic.set_topic_id("OVERALL~any_ae");
    topic.set_level(v1::TERM_LEVEL_OVERALL);
    topic.set_overall_key("any_ae");
    in.topic_incidence[topic.topic_id()] = in.overall;
    const std::string with_topic = Html(in);
    EXPECT_EQ(figures(with_topic), 1) << session;
    // Its incidence by dose group names the timepoint it is drawn at.
    EXPECT_EQ(absl::StrContains(with_topic,
                                "Cumulative incidence at the last timepoint "
                                "(D30), with exact 95% intervals."),
              session == v1::DSMB_SESSION_CLOSED)
        << session;
  }
}

// Deaths are checked against the subjects' disposition: a fatal AE whose
// subject is still followed, and a withdrawal for death with no fatal AE,
// are both called out under the death listing.
TEST(DsmbReportTest, DeathsAreCheckedAgainstTheDisposition) {
  DsmbInputs in = Example(v1::DSMB_SESSION_CLOSED);
  EXPECT_THAT(Html(in), Not(HasSubstr("Check: ")));
  // Subject 002 (ongoing) dies of R1; 003 is withdrawn "DEATH" unreported.
  in.reports[0].mutable_current()->mutable_report()->set_outcome(
      v1::OUTCOME_FATAL);
  in.subjects[2].set_withdrawal_reason("DEATH");
  const std::string html = Html(in);
  EXPECT_THAT(html, HasSubstr("Check: 002 has a fatal AE but is still "
                              "recorded as in follow-up at the cut-off."));
  EXPECT_THAT(html, HasSubstr("Check: 003 was withdrawn for death, but no "
                              "fatal AE was reported by the cut-off."));
  EXPECT_THAT(html, Not(HasSubstr("does not record the death")));
  // A fatal AE for a subject whose follow-up ended otherwise: completed, or
  // withdrawn for another (or no) reason.
  in.subjects[1].set_status(v1::FOLLOW_UP_STATUS_COMPLETED);
  in.subjects[2].set_withdrawal_reason("ADVERSE EVENT");
  v1::Report& second = in.reports.emplace_back(in.reports[0]);
  second.mutable_current()->mutable_report()->set_subject_id("003");
  EXPECT_THAT(Html(in),
              HasSubstr("Check: 002, 003 have a fatal AE but a disposition "
                        "that does not record the death (completed, or "
                        "withdrawn for no reason or another one; the "
                        "study-status tables count them so)."));
  // Withdrawn with no reason, or one whose words do not say death
  // ("studied" is not "died").
  in.subjects[1].set_status(v1::FOLLOW_UP_STATUS_WITHDRAWN);
  in.subjects[1].clear_withdrawal_reason();
  in.subjects[2].set_withdrawal_reason("Moved; studied elsewhere");
  EXPECT_THAT(Html(in), HasSubstr("Check: 002, 003 have a fatal AE but a "
                                  "disposition that does not record the "
                                  "death"));
  in.subjects[1].set_withdrawal_reason("Died of pneumonia");
  in.subjects[2].set_withdrawal_reason("DEATH");
  EXPECT_THAT(Html(in), Not(HasSubstr("Check: ")));
}

// A fatal AE graded below 5 is explained under the death listing: on a
// severity scale its grade is the severity; as a CTCAE grade, a query.
TEST(DsmbReportTest, AFatalAeBelowGradeFiveIsExplained) {
  DsmbInputs in = Example(v1::DSMB_SESSION_CLOSED);
  in.subjects[1].set_status(v1::FOLLOW_UP_STATUS_WITHDRAWN);
  in.subjects[1].set_withdrawal_reason("DEATH");
  v1::AdverseEventReport* ae =
      in.reports[0].mutable_current()->mutable_report();
  ae->set_outcome(v1::OUTCOME_FATAL);
  ae->set_grade(5);
  EXPECT_THAT(Html(in), Not(HasSubstr("listed below grade 5")));
  ae->set_grade(3);
  EXPECT_THAT(Html(in), HasSubstr("A fatal AE listed below grade 5 has the "
                                  "grade its report gives (CTCAE grade 5 is "
                                  "death); the sites should be queried."));
  in.trial.set_grading("severity (AESEV: mild 1, moderate 2, severe 3)");
  // (The apostrophe of "trial's" is escaped in HTML.)
  EXPECT_THAT(Html(in), HasSubstr("scale (e.g. severe as 3), not CTCAE grade "
                                  "5 (death)."));
}

// The AESI listing names each category as the API's rows do; a category the
// labels do not know (sent before an amendment added it) keeps its id.
TEST(DsmbReportTest, TheAesiListingNamesCategoriesByTheirLabels) {
  DsmbInputs in = Example(v1::DSMB_SESSION_CLOSED);
  v1::AdverseEventReport* ae =
      in.reports[0].mutable_current()->mutable_report();
  ae->add_aesi("infusion_reaction");
  ae->add_aesi("other_thing");
  in.aesi_labels["infusion_reaction"] = "infusion reaction";
  const std::string html = Html(in);
  // (Long words may break after an underscore: <wbr>.)
  EXPECT_THAT(html, HasSubstr("<td>infusion reaction, other_<wbr>thing</td>"));
  EXPECT_THAT(html, Not(HasSubstr("infusion_")));
}

// A topic's figure over time draws every baseline of its term at the
// timepoint it applies to, with the sources in the caption; an open session
// leaves out a baseline of one dose group.
TEST(DsmbReportTest, TopicFigureDrawsEachBaselineAtItsTimepoint) {
  DsmbInputs in = Example(v1::DSMB_SESSION_CLOSED);
  v1::SignalTopic& topic = in.topics.emplace_back();
  topic.set_topic_id("OVERALL~any_ae");
  topic.set_level(v1::TERM_LEVEL_OVERALL);
  topic.set_overall_key("any_ae");
  in.topic_incidence[topic.topic_id()] = in.overall;
  auto baseline = [&](const char* id, const char* timepoint, const char* group,
                      double p0) {
    v1::Baseline& b = in.baselines.emplace_back();
    b.set_baseline_id(id);
    b.set_level(v1::TERM_LEVEL_OVERALL);
    b.set_overall_key("any_ae");
    b.set_timepoint_id(timepoint);
    b.set_dose_group_id(group);
    b.set_expected_proportion(p0);
    b.set_citation(absl::StrCat("Source of ", id, "."));
  };
  baseline("early", "D7", "", 0.05);
  baseline("high", "", "H", 0.2);
  baseline("other-term", "D7", "", 0.3);
  in.baselines.back().set_overall_key("any_sae");
  std::string html = Html(in);
  EXPECT_THAT(html, HasSubstr("Expected 5.0% (early) at 5.0% (D7)"));
  EXPECT_THAT(html, HasSubstr("Expected 20.0% for High dose (high) at 20.0%."));
  EXPECT_THAT(html, HasSubstr("early: Source of early; high: Source of "
                              "high.</figcaption>"));
  EXPECT_THAT(html, Not(HasSubstr("other-term")));
  // Drawn by id whatever order they come in: the same cut-off, the same
  // report.
  std::reverse(in.baselines.begin(), in.baselines.end());
  EXPECT_EQ(Html(in), html);
  in.request.set_session(v1::DSMB_SESSION_OPEN);
  html = Html(in);
  EXPECT_THAT(html, HasSubstr("Expected 5.0% (early)"));
  EXPECT_THAT(html, Not(HasSubstr("(high)")));
}

TEST(DsmbReportTest, CodedSessionHidesTheKey) {
  const std::string html = Html(Example(v1::DSMB_SESSION_CLOSED, true));
  EXPECT_THAT(html, HasSubstr("Group A (N=1)"));
  EXPECT_THAT(html, HasSubstr("Group B (N=2)"));
  EXPECT_THAT(html, Not(HasSubstr("Placebo")));
  EXPECT_THAT(html, Not(HasSubstr("High dose")));
}

// Without a key the letters follow the trial's order, and the report says
// that a reader who knows the protocol can decode them. With a key they
// follow HMAC-SHA256(key, id) — here "H" before "P" (Python's hmac module
// agrees) — and so do the columns; the uncoded closed report with the same
// key holds the key. Expected values computed apart, with Python's hmac.
TEST(DsmbReportTest, AKeyCodesTheGroupsOutOfTheTrialsOrder) {
  const std::string trial_order = Html(Example(v1::DSMB_SESSION_CLOSED, true));
  EXPECT_THAT(trial_order, HasSubstr("coded in the trial's order (a reader "
                                     "who knows the protocol can decode"));

  DsmbInputs keyed = Example(v1::DSMB_SESSION_CLOSED, true);
  keyed.request.set_coding_key("fedcba9876543210");
  auto report = RenderDsmbReport(keyed, absl::UnixEpoch());
  ASSERT_TRUE(report.ok());
  const std::string& html = report->html();
  EXPECT_THAT(html, HasSubstr("coded by the key with fingerprint e0c624f0"));
  EXPECT_LT(html.find("Group A (N=2)"), html.find("Group B (N=1)"));
  EXPECT_THAT(html, Not(HasSubstr("Placebo")));
  EXPECT_THAT(html, Not(HasSubstr("fedcba9876543210")));
  for (const auto& table : report->tables()) {
    if (table.id() != "t06_ae_soc_pt") continue;
    EXPECT_THAT(table.csv(),
                HasSubstr("Pneumonia,1 (50.0) [1],0 (0.0) [0],1 (33.3) [1]"));
  }
  // Another key gives other letters: this one keeps P first.
  keyed.request.set_coding_key("0123456789abcdef");
  EXPECT_LT(Html(keyed).find("Group A (N=1)"), Html(keyed).find("Group B"));

  DsmbInputs key_sheet = Example(v1::DSMB_SESSION_CLOSED, false);
  key_sheet.request.set_coding_key("fedcba9876543210");
  EXPECT_THAT(Html(key_sheet),
              HasSubstr("<dt>Key of the coded report</dt><dd>fingerprint "
                        "e0c624f0: Group A = High dose; Group B = Placebo"));
  EXPECT_THAT(Html(Example(v1::DSMB_SESSION_CLOSED, false)),
              Not(HasSubstr("Key of the coded report")));
}

TEST(DsmbReportTest, HashIgnoresTheGenerationTimeAndCoversTheContent) {
  const DsmbInputs in = Example(v1::DSMB_SESSION_CLOSED);
  auto first = RenderDsmbReport(in, absl::UnixEpoch());
  auto later = RenderDsmbReport(in, absl::UnixEpoch() + absl::Hours(5000));
  ASSERT_TRUE(first.ok() && later.ok());
  EXPECT_NE(first->html(), later->html());
  EXPECT_EQ(first->content_hash(), later->content_hash());
  EXPECT_TRUE(absl::StartsWith(first->content_hash(), "sha256:"));
  EXPECT_THAT(first->html(), HasSubstr(first->content_hash()));
  auto verified = ContentHashOfHtml(later->html());
  ASSERT_TRUE(verified.ok());
  EXPECT_EQ(*verified, first->content_hash());

  DsmbInputs changed = in;
  changed.subjects[0].set_status(v1::FOLLOW_UP_STATUS_COMPLETED);
  auto other = RenderDsmbReport(changed, absl::UnixEpoch());
  ASSERT_TRUE(other.ok());
  EXPECT_NE(other->content_hash(), first->content_hash());
  EXPECT_FALSE(ContentHashOfHtml("<html></html>").ok());
}

TEST(DsmbReportTest, EveryTableIsAlsoCsv) {
  auto report =
      RenderDsmbReport(Example(v1::DSMB_SESSION_CLOSED), absl::UnixEpoch());
  ASSERT_TRUE(report.ok());
  std::vector<std::string> ids;
  for (const auto& table : report->tables()) ids.push_back(table.id());
  EXPECT_THAT(ids,
              ::testing::IsSupersetOf({"t01_study_status", "t05_ae_overview",
                                       "t06_ae_soc_pt", "l01_sae_listing"}));
  // Each table's title is as printed, with its number in this report, and
  // the printed heading names its CSV file (the numbers and ids differ).
  int number = 0;
  for (const auto& table : report->tables()) {
    EXPECT_THAT(report->html(),
                HasSubstr(absl::StrCat("id=\"", table.id(), "\"")));
    EXPECT_THAT(table.title(),
                ::testing::StartsWith(absl::StrCat("Table ", ++number, ". ")));
    EXPECT_THAT(report->html(),
                HasSubstr(absl::StrCat("<span class=\"csv-name\">", table.id(),
                                       ".csv</span></h3>")));
    if (table.id() == "t06_ae_soc_pt") {
      EXPECT_THAT(table.csv(),
                  HasSubstr("Pneumonia,0 (0.0) [0],1 (50.0) [1],1 (33.3) [1]"));
    }
  }
}

// A PT counted under two SOCs (or spelt two ways) splits its subjects
// between rows: the report says so beside the SOC/PT table and lists them.
TEST(DsmbReportTest, TermsCodedMoreThanOneWayAreListed) {
  DsmbInputs in = Example(v1::DSMB_SESSION_CLOSED);
  auto ids = [](const DsmbInputs& inputs) {
    auto report = RenderDsmbReport(inputs, absl::UnixEpoch());
    EXPECT_TRUE(report.ok()) << report.status();
    std::vector<std::string> out;
    if (report.ok()) {
      for (const auto& table : report->tables()) out.push_back(table.id());
    }
    return out;
  };
  EXPECT_THAT(ids(in), Not(::testing::Contains("t06a_pt_coding_check")));
  EXPECT_THAT(Html(in), HasSubstr("Coding check: every preferred term is "
                                  "coded one way"));

  // The same PT under a misspelt SOC, and a case variant of it; a row
  // without subjects is no split.
  for (const auto& [soc, pt, subjects] :
       {std::tuple{"Infectons", "Pneumonia", 1},
        std::tuple{"Infections", "PNEUMONIA", 1},
        std::tuple{"Infections", "Rash", 0}}) {
    v1::TermIncidence* term = in.pt.add_terms();
    *term = in.pt.terms(0);
    term->set_soc(soc);
    term->set_pt(pt);
    for (auto& cell : *term->mutable_cells()) {
      cell.mutable_cumulative()->set_subjects(
          cell.dose_group_id() == "H" ? 0 : subjects);  // P and the total
    }
  }
  EXPECT_THAT(ids(in), ::testing::Contains("t06a_pt_coding_check"));
  auto report = RenderDsmbReport(in, absl::UnixEpoch());
  ASSERT_TRUE(report.ok());
  EXPECT_THAT(report->html(),
              HasSubstr("Coding check: 1 preferred term(s) are coded more "
                        "than one way"));
  for (const auto& table : report->tables()) {
    if (table.id() != "t06a_pt_coding_check") continue;
    EXPECT_THAT(table.csv(), HasSubstr("Pneumonia (Infections),"));
    EXPECT_THAT(table.csv(), HasSubstr("Pneumonia (Infectons),"));
    EXPECT_THAT(table.csv(), HasSubstr("PNEUMONIA (Infections),"));
    EXPECT_THAT(table.csv(), Not(HasSubstr("Rash")));
  }
}

}  // namespace
}  // namespace aesignal::report
