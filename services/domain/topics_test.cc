// AssembleTopics' evidence order: strongest first, and among items of equal
// strength the earliest timepoint, the smaller unadjusted p where an
// adjustment made them equal, then the trial's dose group order (the total
// and the trend after the groups), so that a topic whose windows tie reads M3
// before M12 and its lead is the earliest window.
#include "services/domain/topics.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/domain/evaluate.h"

namespace aesignal::domain {
namespace {

using ::testing::ElementsAre;

v1::Trial MakeTrial() {
  v1::Trial trial;
  trial.set_trial_id("T");
  for (const char* id : {"LOW", "HIGH"}) {
    trial.add_dose_groups()->set_dose_group_id(id);
  }
  int day = 30;
  for (const char* id : {"M1", "M3", "M6", "M12"}) {
    v1::Timepoint* t = trial.add_timepoints();
    t->set_timepoint_id(id);
    t->set_study_day(day);
    day *= 2;
  }
  return trial;
}

// A crossing PT "Rash" signal of `method` in one cell, p = `p`.
v1::Signal MakeSignal(v1::SignalMethod method, const std::string& group,
                      const std::string& timepoint, double p) {
  v1::Signal s;
  s.set_trial_id("T");
  s.set_method(method);
  s.set_level(v1::TERM_LEVEL_PT);
  s.set_soc("Skin");
  s.set_pt("Rash");
  s.set_label("Rash");
  s.set_dose_group_id(group);
  s.set_timepoint_id(timepoint);
  s.set_signal_id(SignalId(method, TermOfSignal(s), group, timepoint));
  s.set_status(v1::SIGNAL_STATUS_NEW);
  s.mutable_evidence()->set_method(method);
  s.mutable_evidence()->set_crosses(true);
  s.mutable_evidence()->set_p_value(p);
  s.mutable_evidence()->set_threshold(0.05);
  return s;
}

// "timepoint/group" of each evidence item, in order ("-" for no group).
std::vector<std::string> Cells(const v1::SignalTopic& topic) {
  std::vector<std::string> cells;
  for (const v1::Signal& s : topic.evidence()) {
    cells.push_back(s.timepoint_id() + "/" +
                    (s.dose_group_id().empty() ? "-" : s.dose_group_id()));
  }
  return cells;
}

TEST(TopicOrderTest, EvidenceOfEqualStrengthIsInProtocolOrder) {
  constexpr auto kFisher = v1::SIGNAL_METHOD_CONTROL_FISHER;
  constexpr auto kTrend = v1::SIGNAL_METHOD_DOSE_TREND;
  // Ids order these M12 < M3 < M6 and HIGH < LOW: the protocol must win.
  const std::vector<v1::Signal> signals = {
      MakeSignal(kFisher, "HIGH", "M12", 0.01),
      MakeSignal(kTrend, "", "M6", 0.01),
      MakeSignal(kFisher, "LOW", "M6", 0.01),
      MakeSignal(kFisher, "HIGH", "M3", 0.01),
      MakeSignal(kFisher, "", "M3", 0.01),
      MakeSignal(kFisher, "LOW", "M3", 0.01),
      MakeSignal(kFisher, "HIGH", "M6", 0.001),  // strongest
      MakeSignal(kFisher, "HIGH", "Y9", 0.01),   // not in the protocol
  };
  const std::vector<v1::SignalTopic> topics =
      AssembleTopics("T", ProtocolOrder(MakeTrial()), signals, {}, true);
  ASSERT_EQ(topics.size(), 1u);
  EXPECT_THAT(Cells(topics[0]),
              ElementsAre("M6/HIGH", "M3/LOW", "M3/HIGH", "M3/-", "M6/LOW",
                          "M6/-", "M12/HIGH", "Y9/HIGH"));
  EXPECT_EQ(topics[0].lead_signal_id(), signals[6].signal_id());

  // Without the strongest item, the lead is the earliest window's first
  // group, where the id order would have made it M12's.
  const std::vector<v1::Signal> ties(signals.begin(), signals.begin() + 6);
  const v1::SignalTopic tied =
      AssembleTopics("T", ProtocolOrder(MakeTrial()), ties, {}, true).front();
  EXPECT_EQ(tied.lead_signal_id(), signals[5].signal_id());
}

// Double FDR gives every test of a row one adjusted p: of two groups
// compared with the control at the same timepoint, the one whose own
// comparison is stronger leads, whatever the protocol's group order; an
// earlier window still leads a later one.
TEST(TopicOrderTest, AdjustedTiesInOneWindowGoToTheSmallerUnadjustedP) {
  constexpr auto kFisher = v1::SIGNAL_METHOD_CONTROL_FISHER;
  std::vector<v1::Signal> signals = {
      MakeSignal(kFisher, "LOW", "M6", 0.004),
      MakeSignal(kFisher, "HIGH", "M6", 0.0002),
      MakeSignal(kFisher, "LOW", "M12", 0.003),
      MakeSignal(kFisher, "HIGH", "M12", 0.0001),
  };
  for (v1::Signal& s : signals) {
    s.mutable_evidence()->set_adjusted_p_value(0.0286);
  }
  const v1::SignalTopic topic =
      AssembleTopics("T", ProtocolOrder(MakeTrial()), signals, {}, true)
          .front();
  EXPECT_THAT(Cells(topic),
              ElementsAre("M6/HIGH", "M6/LOW", "M12/HIGH", "M12/LOW"));
  EXPECT_EQ(topic.lead_signal_id(), signals[1].signal_id());

  // Unadjusted decisions that tie have equal p: the protocol order holds.
  for (v1::Signal& s : signals) {
    s.mutable_evidence()->set_adjusted_p_value(0);
    s.mutable_evidence()->set_p_value(0.01);
  }
  EXPECT_THAT(
      Cells(AssembleTopics("T", ProtocolOrder(MakeTrial()), signals, {}, true)
                .front()),
      ElementsAre("M6/LOW", "M6/HIGH", "M12/LOW", "M12/HIGH"));
}

// Items of one strength, some adjusted and some not (a trend test whose own
// p equals the row's adjusted p): one order whatever the input order, by
// the unadjusted p. Comparing it only between adjusted items made the
// comparator cycle (total < LOW by p, LOW < HIGH and HIGH < total by group).
TEST(TopicOrderTest, MixedAdjustedAndUnadjustedTiesHaveOneOrder) {
  constexpr auto kFisher = v1::SIGNAL_METHOD_CONTROL_FISHER;
  std::vector<v1::Signal> signals = {
      MakeSignal(kFisher, "", "M3", 0.001),
      MakeSignal(kFisher, "HIGH", "M3", 0.0286),
      MakeSignal(kFisher, "LOW", "M3", 0.01),
  };
  signals[0].mutable_evidence()->set_adjusted_p_value(0.0286);
  signals[2].mutable_evidence()->set_adjusted_p_value(0.0286);
  std::vector<int> order = {0, 1, 2};
  do {
    std::vector<v1::Signal> permuted;
    for (int i : order) permuted.push_back(signals[i]);
    EXPECT_THAT(Cells(AssembleTopics("T", ProtocolOrder(MakeTrial()), permuted,
                                     {}, true)
                          .front()),
                ElementsAre("M3/-", "M3/LOW", "M3/HIGH"));
  } while (std::next_permutation(order.begin(), order.end()));
}

TEST(TopicOrderTest, WithoutAProtocolOrderTiesFallToTheSignalId) {
  const std::vector<v1::Signal> signals = {
      MakeSignal(v1::SIGNAL_METHOD_CONTROL_FISHER, "LOW", "M3", 0.01),
      MakeSignal(v1::SIGNAL_METHOD_CONTROL_FISHER, "HIGH", "M12", 0.01),
  };
  const v1::SignalTopic topic =
      AssembleTopics("T", ProtocolOrder(), signals, {}, true).front();
  EXPECT_THAT(Cells(topic), ElementsAre("M12/HIGH", "M3/LOW"));
}

// The summary line names groups as the incidence tables do: by label, and
// by id where the trial gives none (or no trial is at hand).
TEST(TopicSummaryTest, NamesTheGroupsByTheirLabels) {
  v1::Trial trial = MakeTrial();
  v1::DoseGroup* placebo = trial.add_dose_groups();
  placebo->set_dose_group_id("PBO");
  placebo->set_control(true);
  placebo->set_label("Placebo");
  trial.mutable_dose_groups(1)->set_label("High dose (1e8 cells)");
  v1::Signal fisher =
      MakeSignal(v1::SIGNAL_METHOD_CONTROL_FISHER, "HIGH", "M3", 0.01);
  v1::Evidence& e = *fisher.mutable_evidence();
  e.set_subjects(5);
  e.set_denominator(6);
  e.set_comparison("PBO");
  e.set_comparison_subjects(1);
  e.set_comparison_denominator(6);
  e.set_risk_difference(4.0 / 6);
  e.set_p_value_two_sided(0.08);

  trial.mutable_timepoints(1)->set_label("Month 3");
  const v1::SignalTopic labelled =
      AssembleTopics("T", ProtocolOrder(trial), {fisher}, {}, false).front();
  // Where first (a queue line is read without its table), then the counts.
  EXPECT_THAT(labelled.summary(),
              ::testing::StartsWith("Month 3: High dose (1e8 cells) 5/6 vs "
                                    "Placebo 1/6, RD 67% ["));
  trial.mutable_dose_groups(1)->clear_label();
  EXPECT_THAT(AssembleTopics("T", ProtocolOrder(trial), {fisher}, {}, false)
                  .front()
                  .summary(),
              ::testing::StartsWith("Month 3: HIGH 5/6 vs Placebo 1/6, RD 67% "
                                    "["));
  EXPECT_THAT(AssembleTopics("T", ProtocolOrder(), {fisher}, {}, false)
                  .front()
                  .summary(),
              ::testing::StartsWith("M3: HIGH 5/6 vs PBO 1/6, RD 67% ["));
}

// Against a baseline, the lead test's own line follows its dose group (the
// total: all groups; the trend test: dose trend) and timepoint.
TEST(TopicSummaryTest, NamesTheLeadTestsGroupAndTimepoint) {
  v1::Trial trial = MakeTrial();
  trial.mutable_dose_groups(1)->set_label("High dose");
  trial.mutable_timepoints(2)->set_label("Month 6");
  const ProtocolOrder order(trial);
  v1::Signal binomial =
      MakeSignal(v1::SIGNAL_METHOD_BINOMIAL_EXACT, "HIGH", "M6", 0.001);
  binomial.mutable_evidence()->set_summary("2/3 (66.7%) vs expected 2.2%");
  EXPECT_EQ(AssembleTopics("T", order, {binomial}, {}, false).front().summary(),
            "High dose, Month 6: 2/3 (66.7%) vs expected 2.2%");
  binomial.set_dose_group_id("");
  EXPECT_EQ(AssembleTopics("T", order, {binomial}, {}, false).front().summary(),
            "all groups, Month 6: 2/3 (66.7%) vs expected 2.2%");
  v1::Signal trend = MakeSignal(v1::SIGNAL_METHOD_DOSE_TREND, "", "M12", 0.01);
  trend.mutable_evidence()->set_summary("trend p = 0.01");
  EXPECT_EQ(AssembleTopics("T", order, {trend}, {}, false).front().summary(),
            "dose trend, M12: trend p = 0.01");
}

// Appends an evaluation event at second `t` to the signal's history, its
// evidence crossing or not, after `report` (or the change `action`).
void Evaluate(v1::Signal& s, int t, bool crosses, const std::string& report,
              const std::string& action = "") {
  v1::SignalEvent* e = s.add_history();
  e->set_kind(s.history_size() == 1 ? v1::SignalEvent::KIND_RAISED
                                    : v1::SignalEvent::KIND_EVIDENCE_UPDATED);
  e->mutable_time()->set_seconds(t);
  e->set_actor("system");
  *e->mutable_evidence() = s.evidence();
  e->mutable_evidence()->set_crosses(crosses);
  e->mutable_evidence()->set_report_id(report);
  if (!action.empty()) {
    e->mutable_evidence()->mutable_change()->set_action(action);
    e->mutable_evidence()->mutable_change()->set_name(
        "trials/T/subjects/PBO-1");
    e->mutable_evidence()->mutable_change()->set_version(2);
  }
  s.mutable_evidence()->set_crosses(crosses);
}

v1::SignalEvent StoredEvent(v1::SignalEvent::Kind kind, int t) {
  v1::SignalEvent e;
  e.set_kind(kind);
  e.mutable_time()->set_seconds(t);
  return e;
}

// A topic's history says when all its evidence stopped crossing and when
// some crossed again, each with the evaluation's cause, among its own
// raised and triaged events; an evaluation in which one item stops as
// another starts changes nothing.
TEST(TopicHistoryTest, SaysWhenTheTopicStoppedCrossingAndCrossedAgain) {
  v1::Signal a =
      MakeSignal(v1::SIGNAL_METHOD_BINOMIAL_EXACT, "HIGH", "M1", 0.01);
  v1::Signal b =
      MakeSignal(v1::SIGNAL_METHOD_BINOMIAL_EXACT, "HIGH", "M3", 0.01);
  Evaluate(a, 10, true, "R1");
  Evaluate(b, 20, true, "R2");
  Evaluate(a, 30, false, "", "subject.correct");
  Evaluate(b, 30, false, "", "subject.correct");
  Evaluate(a, 50, true, "R12");
  Evaluate(a, 60, false, "R13");
  Evaluate(b, 60, true, "R13");
  v1::SignalTopic record = TopicOfSignal(a);
  *record.add_history() = StoredEvent(v1::SignalEvent::KIND_RAISED, 10);
  *record.add_history() = StoredEvent(v1::SignalEvent::KIND_TRIAGED, 40);
  record.mutable_history(1)->set_to_status(v1::SIGNAL_STATUS_VALIDATED);

  const v1::SignalTopic topic =
      AssembleTopics("T", ProtocolOrder(MakeTrial()), {a, b}, {record}, true)
          .front();
  std::vector<std::string> seen;
  for (const v1::SignalEvent& e : topic.history()) {
    seen.push_back(absl::StrCat(
        v1::SignalEvent::Kind_Name(e.kind()), "@", e.time().seconds(), " ",
        e.evidence().report_id(), e.evidence().change().action()));
  }
  EXPECT_THAT(
      seen,
      ElementsAre("KIND_RAISED@10 ", "KIND_STOPPED_CROSSING@30 subject.correct",
                  "KIND_TRIAGED@40 ", "KIND_CROSSING_AGAIN@50 R12"));
  EXPECT_TRUE(topic.crossing());
  for (const v1::Signal& s : topic.evidence()) EXPECT_EQ(s.history_size(), 0);
  // Each crossing event carries the topic's status then: new before the
  // triage, validated after it.
  EXPECT_EQ(topic.history(1).to_status(), v1::SIGNAL_STATUS_NEW);
  EXPECT_EQ(topic.history(3).to_status(), v1::SIGNAL_STATUS_VALIDATED);

  // Lists read no histories, and add nothing.
  EXPECT_EQ(
      AssembleTopics("T", ProtocolOrder(MakeTrial()), {a, b}, {record}, false)
          .front()
          .history_size(),
      2);
}

}  // namespace
}  // namespace aesignal::domain
