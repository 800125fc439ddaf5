// Signal evaluation end to end through the Monitor: baselines, ingest,
// evaluation, queries, triage and the change log.
#include "services/domain/signals.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "services/domain/monitor.h"
#include "services/errors/errors.h"
#include "services/signal/signal_stats.h"
#include "storage/signals.h"
#include "storage/store.h"
#include "tests/testing/temp_dir.h"

namespace aesignal::domain {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

constexpr char kTrial[] = "SIG1";
constexpr char kParent[] = "trials/SIG1";
constexpr char kSoc[] = "Infections and infestations";
constexpr char kPneumoniaRow[] = "PT~Infections.20and.20infestations~Pneumonia";
// The binomial signal that pneumonias in HIGH by M12 raise against p0 = 0.05.
constexpr char kPneumoniaHighM12[] =
    "BINOMIAL~PT~Infections.20and.20infestations~Pneumonia~HIGH~M12";

// Groups of six: PBO (control, optional), LOW, MID, HIGH; M3, M6, M12. The
// default AESI categories unless `aesi` names others.
v1::Trial MakeTrial(bool with_control, const v1::SignalPolicy& policy,
                    const std::vector<std::string>& aesi = {}) {
  v1::Trial t;
  t.set_trial_id(kTrial);
  t.set_title("signal test");
  if (with_control) {
    auto* g = t.add_dose_groups();
    g->set_dose_group_id("PBO");
    g->set_control(true);
  }
  for (auto [id, dose] :
       {std::pair{"LOW", 2.5e7}, {"MID", 5e7}, {"HIGH", 1e8}}) {
    auto* g = t.add_dose_groups();
    g->set_dose_group_id(id);
    g->set_dose_value(dose);
    g->set_dose_unit("cells");
  }
  for (auto [id, day] : {std::pair{"M3", 91}, {"M6", 182}, {"M12", 365}}) {
    auto* tp = t.add_timepoints();
    tp->set_timepoint_id(id);
    tp->set_study_day(day);
  }
  t.add_sites()->set_site_id("01");
  for (const std::string& category : aesi) t.add_aesi_categories(category);
  *t.mutable_signal_policy() = policy;
  // These tests check each method's cells one by one: each test against
  // its own alpha unless a test asks for trial-wide control (the default,
  // tested in TrialWideTest below).
  if (policy.error_control() == v1::ERROR_CONTROL_UNSPECIFIED) {
    t.mutable_signal_policy()->set_error_control(v1::ERROR_CONTROL_PER_TEST);
  }
  return t;
}

v1::AdverseEventReport Pneumonia(const std::string& id,
                                 const std::string& subject, int day,
                                 uint32_t version = 1) {
  v1::AdverseEventReport r;
  r.set_report_id(id);
  r.set_version(version);
  r.set_site_id("01");
  r.set_subject_id(subject);
  r.set_onset_study_day(day);
  r.set_pt("Pneumonia");
  r.set_soc(kSoc);
  r.set_grade(2);
  // Assessed, so the related row (which counts a missing assessment) stays
  // out of these tests' signals.
  r.set_relatedness(v1::RELATEDNESS_NOT_RELATED);
  return r;
}

v1::SignalPolicy Only(v1::SignalMethod method) {
  v1::SignalPolicy p;
  p.set_disable_binomial(method != v1::SIGNAL_METHOD_BINOMIAL_EXACT);
  p.set_disable_bayesian(method != v1::SIGNAL_METHOD_BAYESIAN);
  p.set_disable_control(method != v1::SIGNAL_METHOD_CONTROL_FISHER);
  p.set_disable_trend(method != v1::SIGNAL_METHOD_DOSE_TREND);
  p.set_disable_over_time(method != v1::SIGNAL_METHOD_OVER_TIME);
  if (method == v1::SIGNAL_METHOD_MAXSPRT) p.set_maxsprt_planned_subjects(6);
  return p;
}

// Keeps what the signal evaluator tells the metrics sink.
class RecordingMetrics final : public MetricsSink {
 public:
  void BatchCommitted(const v1::SubmitReportsResponse&,
                      absl::Duration) override {}
  void BatchRefused(absl::StatusCode, int) override {}
  void SignalEvents(v1::SignalEvent::Kind, int) override {}
  void StreamsChanged(std::string_view, int) override {}
  void SignalRoundEnded(const SignalRound& round) override {
    absl::MutexLock lock(&mu_);
    rounds_.push_back(round);
  }
  void SignalBacklog(absl::Time oldest_waiting) override {
    absl::MutexLock lock(&mu_);
    backlog_.push_back(oldest_waiting);
  }
  std::vector<SignalRound> rounds() {
    absl::MutexLock lock(&mu_);
    return rounds_;
  }
  std::vector<absl::Time> backlog() {
    absl::MutexLock lock(&mu_);
    return backlog_;
  }

 private:
  absl::Mutex mu_;
  std::vector<SignalRound> rounds_ ABSL_GUARDED_BY(mu_);
  std::vector<absl::Time> backlog_ ABSL_GUARDED_BY(mu_);
};

class SignalsTest : public ::testing::Test {
 protected:
  void Open() {
    auto store = storage::Store::Open({.path = dir_.Sub("db")});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    monitor_ = std::make_unique<Monitor>(store_.get(), &metrics_);
  }
  void Start(bool with_control, const v1::SignalPolicy& policy,
             const std::vector<std::string>& aesi = {}) {
    Open();
    v1::CreateTrialRequest create;
    *create.mutable_trial() = MakeTrial(with_control, policy, aesi);
    ASSERT_TRUE(monitor_->CreateTrial(create).ok());
    v1::EnrollSubjectsRequest enroll;
    enroll.set_parent(kParent);
    for (const auto& g : create.trial().dose_groups()) {
      for (int i = 1; i <= 6; ++i) {
        auto* s = enroll.add_subjects();
        s->set_subject_id(absl::StrCat(g.dose_group_id(), "-", i));
        s->set_site_id("01");
        s->set_dose_group_id(g.dose_group_id());
        s->set_last_contact_day(365);
      }
    }
    ASSERT_TRUE(monitor_->EnrollSubjects(enroll).ok());
  }
  // Enrolls HIGH-first .. HIGH-last in group HIGH of trial `parent`.
  void EnrollHigh(const std::string& parent, int first, int last) {
    v1::EnrollSubjectsRequest enroll;
    enroll.set_parent(parent);
    for (int i = first; i <= last; ++i) {
      auto* s = enroll.add_subjects();
      s->set_subject_id(absl::StrCat("HIGH-", i));
      s->set_site_id("01");
      s->set_dose_group_id("HIGH");
      s->set_last_contact_day(365);
    }
    ASSERT_TRUE(monitor_->EnrollSubjects(enroll).ok());
  }
  void PutBaseline(double p0, const std::string& timepoint = "M12") {
    v1::PutBaselinesRequest put;
    put.set_parent(kParent);
    auto* b = put.add_baselines();
    b->set_baseline_id("pneumonia");
    b->set_level(v1::TERM_LEVEL_PT);
    b->set_soc(kSoc);
    b->set_pt("Pneumonia");
    b->set_timepoint_id(timepoint);
    b->set_expected_proportion(p0);
    b->set_citation("Test et al. 2020");
    auto put_result = monitor_->signals().PutBaselines(put);
    ASSERT_TRUE(put_result.ok()) << put_result.status();
  }
  void Submit(std::vector<v1::AdverseEventReport> reports) {
    v1::SubmitReportsRequest request;
    request.set_parent(kParent);
    for (auto& r : reports) *request.add_reports() = std::move(r);
    auto response = monitor_->SubmitReports(request);
    ASSERT_TRUE(response.ok()) << response.status();
    ASSERT_EQ(response->rejected_count(), 0)
        << response->results(0).field() << response->results(0).reason();
    ASSERT_TRUE(monitor_->signals().WaitIdle(absl::Seconds(10)).ok());
  }
  std::vector<v1::Signal> Signals() {
    v1::ListSignalsRequest list;
    list.set_parent(kParent);
    auto response = monitor_->signals().ListSignals(list);
    EXPECT_TRUE(response.ok()) << response.status();
    // With history (GetSignal fills it; ListSignals does not).
    std::vector<v1::Signal> out;
    for (const auto& listed : response->signals()) {
      EXPECT_EQ(listed.history_size(), 0);
      v1::GetSignalRequest get;
      get.set_name(listed.name());
      auto full = monitor_->signals().GetSignal(get);
      EXPECT_TRUE(full.ok()) << full.status();
      out.push_back(*full);
    }
    return out;
  }
  static std::vector<std::string> Ids(const std::vector<v1::Signal>& s) {
    std::vector<std::string> ids;
    for (const auto& x : s) ids.push_back(x.signal_id());
    return ids;
  }

  testing::TempDir dir_;
  RecordingMetrics metrics_;  // outlives the monitor's evaluator
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<Monitor> monitor_;
};

TEST(RoundSpacingTest, AtLeast100MsAndFourTimesTheRound) {
  EXPECT_EQ(RoundSpacing(absl::ZeroDuration()), absl::Milliseconds(100));
  EXPECT_EQ(RoundSpacing(absl::Milliseconds(20)), absl::Milliseconds(100));
  EXPECT_EQ(RoundSpacing(absl::Milliseconds(25)), absl::Milliseconds(100));
  EXPECT_EQ(RoundSpacing(absl::Milliseconds(30)), absl::Milliseconds(120));
  EXPECT_EQ(RoundSpacing(absl::Milliseconds(500)), absl::Seconds(2));
}

TEST(NextRoundStartTest, SpacedWhileBatchesArriveAtOnceAfterTheyStop) {
  const absl::Time round_started = absl::FromUnixSeconds(1000);
  // A 1 s round: the next may start 4 s after it began.
  const absl::Time spaced_until =
      round_started + RoundSpacing(absl::Seconds(1));
  // Batches still arriving: wait for the spacing.
  EXPECT_EQ(NextRoundStart(spaced_until, spaced_until - absl::Milliseconds(50)),
            spaced_until);
  EXPECT_EQ(NextRoundStart(spaced_until, spaced_until), spaced_until);
  // The last batch came during the round: start 100 ms after it, not 3 s
  // after the round ended.
  const absl::Time last_batch = round_started + absl::Milliseconds(700);
  EXPECT_EQ(NextRoundStart(spaced_until, last_batch),
            last_batch + absl::Milliseconds(100));
  // No batch since the server started: no reason to wait.
  EXPECT_EQ(NextRoundStart(spaced_until, absl::InfinitePast()),
            absl::InfinitePast());
}

TEST_F(SignalsTest, MetricsHearEachRoundAndHowStaleSignalsAre) {
  Start(false, Only(v1::SIGNAL_METHOD_BINOMIAL_EXACT));
  PutBaseline(0.05);
  ASSERT_TRUE(monitor_->signals().WaitIdle(absl::Seconds(10)).ok());
  const absl::Time before = absl::Now();
  Submit({Pneumonia("A1", "HIGH-1", 100)});  // returns once signals are current
  const absl::Time after = absl::Now();

  // The batch's commit became the oldest waiting one (at once, or when a
  // round in progress ended), and once evaluated none is waiting.
  const std::vector<absl::Time> backlog = metrics_.backlog();
  ASSERT_FALSE(backlog.empty());
  EXPECT_TRUE(std::any_of(backlog.begin(), backlog.end(), [&](absl::Time t) {
    return t >= before && t <= after;
  }));
  EXPECT_EQ(backlog.back(), absl::InfinitePast());

  // A round evaluated the batch's rows (PT, SOC and overall), no later than
  // the test saw it, and said how long after the commit.
  const std::vector<MetricsSink::SignalRound> rounds = metrics_.rounds();
  const auto covered = std::find_if(
      rounds.begin(), rounds.end(), [](const MetricsSink::SignalRound& r) {
        return r.ok && r.rows >= 3 && r.lag > absl::ZeroDuration();
      });
  ASSERT_NE(covered, rounds.end());
  EXPECT_LE(covered->lag, after - before);
  EXPECT_LE(covered->took, covered->lag);
  for (const auto& round : rounds) EXPECT_TRUE(round.ok);
}

TEST_F(SignalsTest, CrossingABaselineRaisesExactlyTheExpectedSignal) {
  Start(false, Only(v1::SIGNAL_METHOD_BINOMIAL_EXACT));
  PutBaseline(0.05);
  Submit({Pneumonia("A1", "HIGH-1", 100)});
  EXPECT_THAT(Signals(), IsEmpty());  // 1 case: below the minimum of 2

  Submit({Pneumonia("A2", "HIGH-2", 200)});
  std::vector<v1::Signal> signals = Signals();
  // HIGH at M12: 2/6 against p0 = 0.05; the all-groups cell (2/18) does not
  // cross: P(X >= 2 | 18, 0.05) = 0.2265.
  // Names in ids are URL-safe: every byte but [A-Za-z0-9_-] is ".XX".
  ASSERT_THAT(Ids(signals), ElementsAre("BINOMIAL~PT~Infections.20and."
                                        "20infestations~Pneumonia~HIGH~M12"));
  const v1::Signal& s = signals[0];
  EXPECT_EQ(s.status(), v1::SIGNAL_STATUS_NEW);
  EXPECT_EQ(s.raised_by_report_id(), "A2");
  EXPECT_EQ(s.evidence().subjects(), 2);
  EXPECT_EQ(s.evidence().denominator(), 6);
  // P(X >= 2 | n = 6, p = 0.05) = 1 - 0.95^6 - 6 * 0.05 * 0.95^5.
  const double expected = 1 - std::pow(0.95, 6) - 6 * 0.05 * std::pow(0.95, 5);
  EXPECT_NEAR(s.evidence().p_value(), expected, 1e-12);
  EXPECT_EQ(s.evidence().citation(), "Test et al. 2020");
  EXPECT_DOUBLE_EQ(s.evidence().expected_proportion(), 0.05);
  ASSERT_EQ(s.history_size(), 1);
  EXPECT_EQ(s.history(0).kind(), v1::SignalEvent::KIND_RAISED);
}

// A baseline is matched to its row by the exact name: a padded one would
// never apply.
TEST_F(SignalsTest, ABaselineWithAPaddedTermIsRefused) {
  Start(false, Only(v1::SIGNAL_METHOD_BINOMIAL_EXACT));
  v1::PutBaselinesRequest put;
  put.set_parent(kParent);
  v1::Baseline* b = put.add_baselines();
  b->set_baseline_id("pneumonia");
  b->set_level(v1::TERM_LEVEL_PT);
  b->set_soc(" " + std::string(kSoc));
  b->set_pt("Pneumonia ");
  b->set_timepoint_id("M12");
  b->set_expected_proportion(0.05);
  b->set_citation("Test et al. 2020");
  auto refused = monitor_->signals().PutBaselines(put);
  ASSERT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(errors::ViolatedFields(refused.status()),
              ElementsAre("baselines[0].pt", "baselines[0].soc"));
}

TEST_F(SignalsTest, VerifySignalsDetectsEvidenceThatDisagreesWithCounters) {
  Start(false, v1::SignalPolicy());  // every method on
  PutBaseline(0.05);
  Submit({Pneumonia("A1", "HIGH-1", 100), Pneumonia("A2", "HIGH-2", 200),
          Pneumonia("A3", "LOW-1", 50)});
  auto checked = monitor_->signals().VerifySignals("SIG1");
  ASSERT_TRUE(checked.ok()) << checked.status();
  EXPECT_GT(*checked, 0);

  // Tamper with one stored signal's evidence, as a lost update would.
  std::vector<v1::Signal> signals = Signals();
  ASSERT_FALSE(signals.empty());
  v1::Signal tampered = signals[0];
  tampered.mutable_evidence()->set_subjects(tampered.evidence().subjects() + 1);
  ASSERT_TRUE(store_
                  ->Commit([&](storage::Txn& txn) {
                    storage::WriteSignalChange(txn, "SIG1", tampered,
                                               v1::SignalEvent());
                    return absl::OkStatus();
                  })
                  .ok());
  auto after = monitor_->signals().VerifySignals("SIG1");
  EXPECT_EQ(after.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(after.status().message(),
              ::testing::HasSubstr(tampered.signal_id()));
}

TEST_F(SignalsTest, StayingUnderTheBaselineRaisesNothing) {
  Start(false, v1::SignalPolicy());  // every method on
  PutBaseline(0.5, "");
  Submit({Pneumonia("A1", "LOW-1", 30), Pneumonia("A2", "MID-1", 30),
          Pneumonia("A3", "HIGH-1", 30)});
  EXPECT_THAT(Signals(), IsEmpty());
}

TEST_F(SignalsTest, FollowUpThatDowngradesUpdatesTheEvidence) {
  Start(false, Only(v1::SIGNAL_METHOD_BAYESIAN));
  PutBaseline(0.05);
  Submit({Pneumonia("A1", "HIGH-1", 100), Pneumonia("A2", "HIGH-2", 120)});
  auto signals = Signals();
  ASSERT_EQ(signals.size(), 1u);
  EXPECT_EQ(signals[0].signal_id(),
            "BAYESIAN~PT~Infections.20and.20infestations~Pneumonia~HIGH~M12");
  EXPECT_TRUE(signals[0].evidence().crosses());
  // Posterior Beta(0.05 + 2, 0.95 + 4): P(p > 0.05).
  EXPECT_GT(signals[0].evidence().posterior_probability(), 0.95);

  // The follow-up recodes A2 as a common cold: the cell drops to 1/6.
  v1::AdverseEventReport follow_up = Pneumonia("A2", "HIGH-2", 120, 2);
  follow_up.set_pt("Nasopharyngitis");
  Submit({follow_up});
  signals = Signals();
  ASSERT_EQ(signals.size(), 1u);  // never deleted
  const v1::Signal& s = signals[0];
  EXPECT_FALSE(s.evidence().crosses());
  EXPECT_EQ(s.evidence().subjects(), 1);
  EXPECT_EQ(s.evidence().report_id(), "A2");
  EXPECT_EQ(s.evidence().report_version(), 2u);
  ASSERT_EQ(s.history_size(), 2);
  EXPECT_EQ(s.history(1).kind(), v1::SignalEvent::KIND_EVIDENCE_UPDATED);
  EXPECT_EQ(s.history(0).evidence().subjects(), 2);
}

TEST_F(SignalsTest, ControlArmPathRaisesOnARiseAndStaysQuietOnNull) {
  Start(true, Only(v1::SIGNAL_METHOD_CONTROL_FISHER));
  // Null: one case in every group.
  Submit({Pneumonia("N1", "PBO-1", 50), Pneumonia("N2", "LOW-1", 50),
          Pneumonia("N3", "MID-1", 50), Pneumonia("N4", "HIGH-1", 50)});
  EXPECT_THAT(Signals(), IsEmpty());
  // Rise: five of six in HIGH by M3 against one of six on placebo.
  std::vector<v1::AdverseEventReport> rise;
  for (int i = 2; i <= 5; ++i) {
    rise.push_back(
        Pneumonia(absl::StrCat("R", i), absl::StrCat("HIGH-", i), 60));
  }
  Submit(rise);
  auto signals = Signals();
  // HIGH 5/6 vs PBO 1/6 at M3, M6 and M12 (cumulative).
  ASSERT_THAT(
      Ids(signals),
      ::testing::UnorderedElementsAre(
          "CONTROL~PT~Infections.20and.20infestations~Pneumonia~HIGH~M3",
          "CONTROL~PT~Infections.20and.20infestations~Pneumonia~HIGH~M6",
          "CONTROL~PT~Infections.20and.20infestations~Pneumonia~HIGH~M12",
          "CONTROL~SOC~Infections.20and.20infestations~HIGH~M3",
          "CONTROL~SOC~Infections.20and.20infestations~HIGH~M6",
          "CONTROL~SOC~Infections.20and.20infestations~HIGH~M12",
          "CONTROL~OVERALL~any_ae~HIGH~M3", "CONTROL~OVERALL~any_ae~HIGH~M6",
          "CONTROL~OVERALL~any_ae~HIGH~M12"));
  // P(X >= 5) for X ~ Hypergeometric(N = 12, K = 6, n = 6) =
  // (C(6,5) C(6,1) + C(6,6) C(6,0)) / C(12,6) = 37 / 924.
  for (const auto& s : signals) {
    EXPECT_NEAR(s.evidence().p_value(), 37.0 / 924, 1e-12) << s.signal_id();
    EXPECT_EQ(s.evidence().comparison_subjects(), 1);
  }
}

v1::SignalPolicy TrialWide() {
  v1::SignalPolicy p;
  p.set_error_control(v1::ERROR_CONTROL_TRIAL_WIDE);
  return p;
}

const v1::Signal* FindSignal(const std::vector<v1::Signal>& signals,
                             const std::string& id) {
  for (const auto& s : signals) {
    if (s.signal_id() == id) return &s;
  }
  return nullptr;
}

// A signal that a subject's dose-group correction raises names the
// correction, and no report: no report changed the row since its previous
// evaluation. One that a report raises names no change.
TEST_F(SignalsTest, ASignalRaisedByACorrectionNamesIt) {
  Start(true, Only(v1::SIGNAL_METHOD_CONTROL_FISHER));
  // HIGH 4/6 vs PBO 1/6: P(X >= 4 | N = 12, K = 5, n = 6) = 96 / 792.
  Submit({Pneumonia("P1", "PBO-1", 50), Pneumonia("H1", "HIGH-1", 50),
          Pneumonia("H2", "HIGH-2", 50), Pneumonia("H3", "HIGH-3", 50),
          Pneumonia("H4", "HIGH-4", 50)});
  ASSERT_THAT(Signals(), IsEmpty());

  // PBO-1 received the high dose: HIGH 5/7 vs PBO 0/5,
  // P(X >= 5 | N = 12, K = 5, n = 7) = 21 / 792.
  v1::EnrollSubjectsRequest correct;
  correct.set_parent(kParent);
  v1::Subject* s = correct.add_subjects();
  s->set_subject_id("PBO-1");
  s->set_site_id("01");
  s->set_dose_group_id("HIGH");
  s->set_last_contact_day(365);
  s->set_version(1);
  s->set_correction_reason("randomization error: received the high dose");
  auto corrected = monitor_->EnrollSubjects(correct);
  ASSERT_TRUE(corrected.ok()) << corrected.status();
  ASSERT_TRUE(monitor_->signals().WaitIdle(absl::Seconds(10)).ok());
  std::vector<v1::Signal> signals = Signals();
  const v1::Signal* pneumonia = FindSignal(
      signals, "CONTROL~PT~Infections.20and.20infestations~Pneumonia~HIGH~M3");
  ASSERT_NE(pneumonia, nullptr) << ::testing::PrintToString(Ids(signals));
  EXPECT_NEAR(pneumonia->evidence().p_value(), 21.0 / 792, 1e-12);
  for (const v1::Signal& signal : signals) {
    EXPECT_EQ(signal.raised_by_report_id(), "") << signal.signal_id();
    EXPECT_EQ(signal.raised_by_change().action(), "subject.correct");
    EXPECT_EQ(signal.raised_by_change().name(), "trials/SIG1/subjects/PBO-1");
    EXPECT_EQ(signal.raised_by_change().version(), 2u);
    EXPECT_EQ(signal.evidence().change().name(), "trials/SIG1/subjects/PBO-1");
    ASSERT_GE(signal.history_size(), 1);
    EXPECT_EQ(signal.history(0).evidence().change().action(),
              "subject.correct");
  }

  // The correction is undone (HIGH 4/6 vs PBO 1/6 again): the topic stops
  // crossing, and its history says after what.
  s->set_dose_group_id("PBO");
  s->set_version(2);
  s->set_correction_reason("the first correction named the wrong subject");
  corrected = monitor_->EnrollSubjects(correct);
  ASSERT_TRUE(corrected.ok()) << corrected.status();
  ASSERT_TRUE(monitor_->signals().WaitIdle(absl::Seconds(10)).ok());

  // A report then raises MID's signal (MID 5/6 vs PBO 1/6) and names only
  // itself: the evaluation after the correction removed its mark.
  Submit({Pneumonia("M1", "MID-1", 50), Pneumonia("M2", "MID-2", 50),
          Pneumonia("M3", "MID-3", 50), Pneumonia("M4", "MID-4", 50),
          Pneumonia("M5", "MID-5", 50)});
  signals = Signals();
  const v1::Signal* mid = FindSignal(
      signals, "CONTROL~PT~Infections.20and.20infestations~Pneumonia~MID~M3");
  ASSERT_NE(mid, nullptr);
  EXPECT_EQ(mid->raised_by_report_id(), "M5");
  EXPECT_FALSE(mid->has_raised_by_change());
  EXPECT_FALSE(mid->evidence().has_change());

  // The topic's history: raised by the correction, stopped crossing after
  // its undoing (subject version 3), crossing again after report M5.
  v1::GetTopicRequest get;
  get.set_name(
      "trials/SIG1/topics/PT~Infections.20and.20infestations~Pneumonia");
  auto topic = monitor_->signals().GetTopic(get);
  ASSERT_TRUE(topic.ok()) << topic.status();
  std::vector<std::string> history;
  for (const v1::SignalEvent& e : topic->history()) {
    history.push_back(absl::StrCat(
        v1::SignalEvent::Kind_Name(e.kind()), " ", e.evidence().report_id(),
        e.evidence().change().action(), " ", e.evidence().change().version()));
  }
  EXPECT_THAT(history, ElementsAre("KIND_RAISED subject.correct 2",
                                   "KIND_STOPPED_CROSSING subject.correct 3",
                                   "KIND_CROSSING_AGAIN M5 0"));

  // At a cut-off before report M5, the topic had stopped crossing.
  ASSERT_EQ(topic->history_size(), 3);
  *get.mutable_as_of() = topic->history(1).time();
  topic = monitor_->signals().GetTopic(get);
  ASSERT_TRUE(topic.ok()) << topic.status();
  EXPECT_FALSE(topic->crossing());
  ASSERT_EQ(topic->history_size(), 2);
  EXPECT_EQ(topic->history(1).kind(), v1::SignalEvent::KIND_STOPPED_CROSSING);
}

// One request puts two baselines under trial-wide control: every row is
// re-evaluated (naming the request's last baseline), and a baseline's own
// row names that baseline.
TEST_F(SignalsTest, ASignalRaisedByABaselineNamesItsOwnBaseline) {
  v1::SignalPolicy policy = Only(v1::SIGNAL_METHOD_BINOMIAL_EXACT);
  policy.set_error_control(v1::ERROR_CONTROL_TRIAL_WIDE);
  Start(false, policy);
  std::vector<v1::AdverseEventReport> rise;
  for (int i = 1; i <= 4; ++i) {
    rise.push_back(
        Pneumonia(absl::StrCat("R", i), absl::StrCat("HIGH-", i), 60));
  }
  Submit(rise);
  ASSERT_THAT(Signals(), IsEmpty());  // no baseline to test against yet

  v1::PutBaselinesRequest put;
  put.set_parent(kParent);
  for (const char* pt : {"Pneumonia", "Rash"}) {
    v1::Baseline* b = put.add_baselines();
    b->set_baseline_id(absl::AsciiStrToLower(pt));
    b->set_level(v1::TERM_LEVEL_PT);
    b->set_soc(std::string(pt) == "Rash" ? "Skin" : kSoc);
    b->set_pt(pt);
    b->set_timepoint_id("M12");
    b->set_expected_proportion(0.05);
    b->set_citation("Test et al. 2020");
  }
  ASSERT_TRUE(monitor_->signals().PutBaselines(put).ok());
  ASSERT_TRUE(monitor_->signals().WaitIdle(absl::Seconds(10)).ok());
  const std::vector<v1::Signal> signals = Signals();
  const v1::Signal* high = FindSignal(signals, kPneumoniaHighM12);
  ASSERT_NE(high, nullptr) << ::testing::PrintToString(Ids(signals));
  EXPECT_EQ(high->raised_by_change().action(), "baseline.put");
  EXPECT_EQ(high->raised_by_change().name(), "trials/SIG1/baselines/pneumonia");
  EXPECT_EQ(high->raised_by_change().version(), 1u);
  // R1-R4's batch was evaluated before: no report is named.
  EXPECT_EQ(high->raised_by_report_id(), "");
}

TEST_F(SignalsTest,
       TrialWideControlScreensPtsAndSharesAlphaOverPrespecifiedRows) {
  // Three AESI categories: 8 overall rows share alpha, the five fixed ones
  // (any AE, SAE, grade >= 3, related, death) and three AESI rows. With the
  // four default categories there would be 9 rows, 54 tests, and the any-AE
  // trend below (p 0.00102 x 54 = 0.055) would no longer cross: the `death`
  // row costs every pre-specified test some power, and this test is about a
  // pre-specified row that crosses after the trial-wide adjustment.
  Start(true, TrialWide(), {"infection", "thromboembolism", "malignancy"});
  // Null: one case in every group raises nothing.
  Submit({Pneumonia("N1", "PBO-2", 50), Pneumonia("N2", "LOW-1", 50),
          Pneumonia("N3", "MID-1", 50), Pneumonia("N4", "HIGH-1", 50)});
  EXPECT_THAT(Signals(), IsEmpty());
  // Rise: every HIGH subject against one of six on placebo.
  std::vector<v1::AdverseEventReport> rise;
  for (int i = 2; i <= 6; ++i) {
    rise.push_back(
        Pneumonia(absl::StrCat("R", i), absl::StrCat("HIGH-", i), 60));
  }
  Submit(rise);
  const std::vector<v1::Signal> signals = Signals();
  // The Pneumonia PT (no baseline) is screened: its tests are the control
  // arm for LOW, MID and HIGH and the dose trend, of the cumulative
  // incidence (the last timepoint only), so 4 tests share the row's FDR
  // level. HIGH 6/6 vs PBO 1/6: one-sided Fisher p = C(6,6)C(6,1)/C(12,7) =
  // 6/792; the row's smallest p is the trend's, and one PT in one SOC
  // leaves the double FDR at the row's Bonferroni p, so the HIGH cell's
  // adjusted p is max(4 x p_trend, 4 x 6/792) = 24/792.
  const v1::Signal* pt = FindSignal(
      signals, "CONTROL~PT~Infections.20and.20infestations~Pneumonia~HIGH~M12");
  ASSERT_NE(pt, nullptr);
  EXPECT_NEAR(pt->evidence().p_value(), 6.0 / 792, 1e-12);
  EXPECT_EQ(pt->evidence().multiplicity(), 4);
  EXPECT_NEAR(pt->evidence().adjusted_p_value(), 24.0 / 792, 1e-12);
  EXPECT_DOUBLE_EQ(pt->evidence().threshold(), 0.05);  // the FDR level
  // The control-arm comparison as safety tables print it.
  EXPECT_NEAR(pt->evidence().risk_difference(), 5.0 / 6, 1e-12);
  EXPECT_TRUE(pt->evidence().has_relative_risk());
  EXPECT_NEAR(pt->evidence().relative_risk(), 6.0, 1e-12);
  EXPECT_GT(pt->evidence().p_value_two_sided(), pt->evidence().p_value());
  // The topic's one line reads as a safety table does.
  v1::GetTopicRequest get;
  get.set_name(absl::StrCat(kParent, "/topics/",
                            "PT~Infections.20and.20infestations~Pneumonia"));
  auto topic = monitor_->signals().GetTopic(get);
  ASSERT_TRUE(topic.ok()) << topic.status();
  EXPECT_THAT(topic->summary(),
              ::testing::StartsWith("M12: HIGH 6/6 vs PBO 1/6, RD 83% ["));
  EXPECT_THAT(
      topic->summary(),
      ::testing::HasSubstr("two-sided Fisher p = 0.015, adjusted one-sided p = "
                           "0.0303 (threshold 0.05); dose trend p = "
                           "0.001"));
  // The any-AE row (the same counts) is pre-specified: 8 overall rows (any
  // AE, SAE, grade >= 3, related, death and the trial's 3 AESI categories)
  // share alpha, each with 3 control-arm tests, the trend and 2 later
  // windows: 48 tests. Its control-arm p 6/792 x 48 > 0.05 raises nothing; its
  // exact trend p (0.00102, `aesignal stats trend --x 1,1,1,6 --n 6,6,6,6
  // --scores 0,2.5e7,5e7,1e8`) x 48 = 0.049 does.
  EXPECT_EQ(FindSignal(signals, "CONTROL~OVERALL~any_ae~HIGH~M12"), nullptr);
  const v1::Signal* any = FindSignal(signals, "TREND~OVERALL~any_ae~ALL~M12");
  ASSERT_NE(any, nullptr);
  EXPECT_EQ(any->evidence().multiplicity(), 48);
  EXPECT_NEAR(any->evidence().adjusted_p_value(),
              48 * any->evidence().p_value(), 1e-12);
  for (const auto& s : signals) {
    // No earlier-timepoint cells, no SOC row (descriptive), no MID/LOW.
    EXPECT_EQ(s.timepoint_id(), "M12") << s.signal_id();
    EXPECT_NE(s.level(), v1::TERM_LEVEL_SOC) << s.signal_id();
    EXPECT_LE(s.evidence().adjusted_p_value(), 0.05) << s.signal_id();
  }
  EXPECT_TRUE(monitor_->signals().VerifySignals(kTrial).ok());
}

TEST_F(SignalsTest, ABaselineMakesItsRowPrespecifiedAndReevaluatesEveryRow) {
  Start(true, TrialWide());
  std::vector<v1::AdverseEventReport> rise;
  for (int i = 1; i <= 6; ++i) {
    rise.push_back(
        Pneumonia(absl::StrCat("R", i), absl::StrCat("HIGH-", i), 60));
  }
  Submit(rise);
  ASSERT_NE(FindSignal(Signals(), "TREND~OVERALL~any_ae~ALL~M12"), nullptr);
  // A baseline for Pneumonia: 10 pre-specified rows now share alpha (9
  // overall: any AE, SAE, grade >= 3, related, death and the 4 default AESI
  // categories; and Pneumonia), so the any-AE row (which no report touched)
  // is evaluated again.
  PutBaseline(0.05);
  ASSERT_TRUE(monitor_->signals().WaitIdle(absl::Seconds(10)).ok());
  const std::vector<v1::Signal> signals = Signals();
  const v1::Signal* any = FindSignal(signals, "TREND~OVERALL~any_ae~ALL~M12");
  ASSERT_NE(any, nullptr);
  EXPECT_EQ(any->evidence().multiplicity(), 10 * 6);
  EXPECT_NEAR(any->evidence().adjusted_p_value(),
              10 * 6 * any->evidence().p_value(), 1e-12);
  // The Pneumonia row is pre-specified: its binomial test against the
  // baseline decides, and the Bayesian posterior is shown but never decides.
  for (const auto& s : signals) {
    if (s.method() == v1::SIGNAL_METHOD_BAYESIAN) {
      EXPECT_FALSE(s.evidence().crosses()) << s.signal_id();
    }
  }
  EXPECT_NE(FindSignal(signals,
                       "BINOMIAL~PT~Infections.20and.20infestations~"
                       "Pneumonia~HIGH~M12"),
            nullptr);
  EXPECT_TRUE(monitor_->signals().VerifySignals(kTrial).ok());
}

// The DSMB report's table of pre-specified rows: every test of each row at
// a cut-off, crossing or not, with the numbers the evaluator's own rounds
// gave the signals it raised; reports and a baseline revision after the
// cut-off change nothing in it.
TEST_F(SignalsTest, PrespecifiedRowsAtACutOffAreEvaluatedAsTheEvaluatorDid) {
  Start(true, TrialWide());
  PutBaseline(0.05);
  std::vector<v1::AdverseEventReport> rise;
  for (int i = 1; i <= 6; ++i) {
    rise.push_back(
        Pneumonia(absl::StrCat("R", i), absl::StrCat("HIGH-", i), 60));
  }
  Submit(rise);
  const std::vector<v1::Signal> raised = Signals();
  ASSERT_NE(FindSignal(raised, kPneumoniaHighM12), nullptr);
  absl::SleepFor(absl::Milliseconds(2));
  v1::ListTopicsRequest request;
  request.set_parent(kParent);
  *request.mutable_as_of() =
      google::protobuf::util::TimeUtil::NanosecondsToTimestamp(
          absl::ToUnixNanos(absl::Now()));
  auto at_cut_off = monitor_->signals().PrespecifiedAtCutOff(request);
  ASSERT_TRUE(at_cut_off.ok()) << at_cut_off.status();

  // 9 overall rows in display order (any AE, SAE, grade >= 3, related,
  // death, the 4 default AESI categories), then the baseline's row.
  ASSERT_EQ(at_cut_off->size(), 10u);
  EXPECT_EQ((*at_cut_off)[0].topic_id(), "OVERALL~any_ae");
  EXPECT_EQ((*at_cut_off)[1].topic_id(), "OVERALL~any_sae");
  EXPECT_EQ((*at_cut_off)[9].topic_id(), kPneumoniaRow);
  std::map<std::string, v1::Signal> evaluated;
  for (const v1::SignalTopic& topic : *at_cut_off) {
    EXPECT_GT(topic.evidence_size(), 0) << topic.topic_id();
    EXPECT_EQ(topic.evidence_count(), topic.evidence_size());
    for (const v1::Signal& s : topic.evidence()) evaluated[s.signal_id()] = s;
  }
  // No serious report: the SAE row is evaluated, and nothing crosses.
  EXPECT_EQ((*at_cut_off)[1].crossing_count(), 0);
  // Every raised signal of a pre-specified row, with the same numbers.
  int compared = 0;
  for (const v1::Signal& signal : raised) {
    if (signal.level() == v1::TERM_LEVEL_SOC) continue;  // descriptive
    if (signal.level() == v1::TERM_LEVEL_PT && signal.pt() != "Pneumonia") {
      continue;
    }
    auto it = evaluated.find(signal.signal_id());
    ASSERT_NE(it, evaluated.end()) << signal.signal_id();
    const v1::Evidence& live = signal.evidence();
    const v1::Evidence& cut = it->second.evidence();
    EXPECT_EQ(cut.subjects(), live.subjects()) << signal.signal_id();
    EXPECT_EQ(cut.denominator(), live.denominator()) << signal.signal_id();
    EXPECT_EQ(cut.p_value(), live.p_value()) << signal.signal_id();
    EXPECT_EQ(cut.adjusted_p_value(), live.adjusted_p_value());
    EXPECT_EQ(cut.multiplicity(), live.multiplicity()) << signal.signal_id();
    EXPECT_EQ(cut.crosses(), live.crosses()) << signal.signal_id();
    ++compared;
  }
  EXPECT_GT(compared, 1);
  // HIGH at M12: 6/6 against p0 = 0.05, Bonferroni over every test of the
  // 10 pre-specified rows.
  const v1::Evidence& high = evaluated.at(kPneumoniaHighM12).evidence();
  EXPECT_NEAR(high.p_value(), std::pow(0.05, 6), 1e-20);
  EXPECT_EQ(high.multiplicity() % 10, 0);
  EXPECT_DOUBLE_EQ(high.adjusted_p_value(),
                   high.p_value() * high.multiplicity());
  EXPECT_TRUE(high.crosses());

  // After the cut-off: more pneumonias in LOW and a revised baseline.
  Submit({Pneumonia("L1", "LOW-1", 60), Pneumonia("L2", "LOW-2", 60)});
  PutBaseline(0.5);
  auto again = monitor_->signals().PrespecifiedAtCutOff(request);
  ASSERT_TRUE(again.ok()) << again.status();
  ASSERT_EQ(again->size(), at_cut_off->size());
  for (size_t i = 0; i < again->size(); ++i) {
    EXPECT_EQ((*again)[i].DebugString(), (*at_cut_off)[i].DebugString());
  }
  *request.mutable_as_of() =
      google::protobuf::util::TimeUtil::NanosecondsToTimestamp(
          absl::ToUnixNanos(absl::Now()));
  auto now = monitor_->signals().PrespecifiedAtCutOff(request);
  ASSERT_TRUE(now.ok()) << now.status();
  for (const v1::Signal& s : (*now)[9].evidence()) {
    if (s.signal_id() == kPneumoniaHighM12) {
      EXPECT_DOUBLE_EQ(s.evidence().expected_proportion(), 0.5);
    }
  }

  request.clear_as_of();
  EXPECT_EQ(monitor_->signals().PrespecifiedAtCutOff(request).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(SignalsTest, PlannedEnrollmentGivesBaselineTestsARepeatedLookBoundary) {
  v1::SignalPolicy policy = TrialWide();
  policy.set_planned_subjects_per_group(6);
  Start(false, policy);
  PutBaseline(0.05);
  std::vector<v1::AdverseEventReport> rise;
  for (int i = 1; i <= 4; ++i) {
    rise.push_back(
        Pneumonia(absl::StrCat("R", i), absl::StrCat("HIGH-", i), 60));
  }
  Submit(rise);
  const std::vector<v1::Signal> signals = Signals();
  const v1::Signal* high = FindSignal(signals, kPneumoniaHighM12);
  ASSERT_NE(high, nullptr);
  const v1::Evidence& e = high->evidence();
  // The boundary of 6 planned subjects, calibrated at alpha / multiplicity:
  // 10 pre-specified rows (9 overall: any AE, SAE, grade >= 3, related,
  // death and the 4 default AESI categories; and Pneumonia) x 7 tests (a
  // binomial test for each group and the total, the trend, 2 later windows).
  EXPECT_EQ(e.multiplicity(), 70);
  EXPECT_EQ(e.boundary_planned_subjects(), 6);
  EXPECT_GT(e.boundary(), 0);
  EXPECT_LE(e.boundary(), 4);
  EXPECT_LE(e.boundary_overall_error(), 0.05 / 70);
  EXPECT_LE(e.p_value(), e.boundary_level());
  EXPECT_NEAR(e.adjusted_p_value(), e.p_value() * 0.05 / e.boundary_level(),
              1e-15);
  EXPECT_TRUE(e.crosses());
  for (const auto& s : signals) {
    if (s.method() != v1::SIGNAL_METHOD_BINOMIAL_EXACT) continue;
    EXPECT_EQ(s.evidence().crosses(),
              s.evidence().subjects() >= s.evidence().boundary())
        << s.signal_id();
  }
  EXPECT_TRUE(monitor_->signals().VerifySignals(kTrial).ok());
}

TEST_F(SignalsTest, DoseTrendPathRaisesOnARiseAndStaysQuietOnNull) {
  Start(false, Only(v1::SIGNAL_METHOD_DOSE_TREND));
  Submit({Pneumonia("N1", "LOW-1", 50), Pneumonia("N2", "MID-1", 50),
          Pneumonia("N3", "HIGH-1", 50)});
  EXPECT_THAT(Signals(), IsEmpty());
  Submit({Pneumonia("R1", "HIGH-2", 50), Pneumonia("R2", "HIGH-3", 50),
          Pneumonia("R3", "HIGH-4", 50)});
  auto signals = Signals();
  ASSERT_FALSE(signals.empty());
  for (const auto& s : signals) {
    EXPECT_EQ(s.method(), v1::SIGNAL_METHOD_DOSE_TREND);
    EXPECT_EQ(s.dose_group_id(), "");
    EXPECT_LE(s.evidence().p_value(), 0.05);
  }
  EXPECT_THAT(Ids(signals),
              ::testing::Contains(
                  "TREND~PT~Infections.20and.20infestations~Pneumonia~ALL~M3"));
}

// ListSignals through the index against a filter written out here over a
// full scan of the stored signals, page by page, for a set of filters.
class SignalListingTest : public SignalsTest {
 protected:
  static std::vector<v1::ListSignalsRequest> Filters() {
    std::vector<v1::ListSignalsRequest> out(10);
    out[1].set_dose_group_id("HIGH");
    out[2].set_timepoint_id("M6");
    out[3].set_term("Pneumonia");
    out[4].set_term(kSoc);
    out[5].set_term("any_ae");
    out[6].set_level(v1::TERM_LEVEL_SOC);
    out[7].set_method(v1::SIGNAL_METHOD_CONTROL_FISHER);
    out[8].set_status(v1::SIGNAL_STATUS_VALIDATED);
    out[9].set_dose_group_id("MID");
    out[9].set_timepoint_id("M12");
    out[9].set_term("Pneumonia");
    out[9].set_method(v1::SIGNAL_METHOD_BINOMIAL_EXACT);
    for (auto& f : out) f.set_parent(kParent);
    return out;
  }
  std::vector<std::string> Listed(v1::ListSignalsRequest request) {
    request.set_page_size(4);
    std::vector<std::string> ids;
    for (int pages = 0; pages < 1000; ++pages) {
      auto response = monitor_->signals().ListSignals(request);
      EXPECT_TRUE(response.ok()) << response.status();
      if (!response.ok()) break;
      for (const auto& s : response->signals()) ids.push_back(s.signal_id());
      if (response->next_page_token().empty()) break;
      request.set_page_token(response->next_page_token());
    }
    return ids;
  }
  std::vector<std::string> Expected(const v1::ListSignalsRequest& f) {
    auto all = storage::ReadSignals(store_->Latest(), kTrial);
    EXPECT_TRUE(all.ok()) << all.status();
    std::vector<v1::Signal> kept;
    for (const auto& s : *all) {
      const bool term = f.term().empty() || f.term() == s.pt() ||
                        f.term() == s.soc() || f.term() == s.overall_key();
      if (term &&
          (f.dose_group_id().empty() ||
           f.dose_group_id() == s.dose_group_id()) &&
          (f.timepoint_id().empty() || f.timepoint_id() == s.timepoint_id()) &&
          (f.level() == 0 || f.level() == s.level()) &&
          (f.method() == 0 || f.method() == s.method()) &&
          (f.status() == 0 || f.status() == s.status())) {
        kept.push_back(s);
      }
    }
    std::sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) {
      const int64_t ta =
          a.raise_time().seconds() * 1000000000 + a.raise_time().nanos();
      const int64_t tb =
          b.raise_time().seconds() * 1000000000 + b.raise_time().nanos();
      return ta != tb ? ta > tb : a.signal_id() < b.signal_id();
    });
    return Ids(kept);
  }
  void ExpectListingsMatchTheStore(const std::string& when) {
    for (const auto& f : Filters()) {
      EXPECT_EQ(Listed(f), Expected(f))
          << when << ", filter " << f.ShortDebugString();
    }
  }
};

TEST_F(SignalListingTest, IndexFollowsRaisesTriageAndReevaluation) {
  Start(true, v1::SignalPolicy());
  PutBaseline(0.05);
  std::vector<v1::AdverseEventReport> rise;
  for (int i = 1; i <= 5; ++i) {
    rise.push_back(
        Pneumonia(absl::StrCat("H", i), absl::StrCat("HIGH-", i), 60 * i));
  }
  Submit(rise);
  ASSERT_GE(Expected(Filters()[0]).size(), 10u);
  ExpectListingsMatchTheStore("after the first rise");
  EXPECT_EQ(monitor_->signals().signal_index().scans(), 1);

  // Triage: a status change, seen by the status filter.
  v1::UpdateSignalRequest update;
  update.set_name(
      absl::StrCat(kParent, "/signals/", Expected(Filters()[7]).at(0)));
  update.set_status(v1::SIGNAL_STATUS_VALIDATED);
  update.set_comment("confirmed");
  update.set_actor("dsmb@example.org");
  ASSERT_TRUE(monitor_->signals().UpdateSignal(update).ok());
  ASSERT_EQ(Expected(Filters()[8]).size(), 1u);
  ExpectListingsMatchTheStore("after triage");

  // New signals in another group and updated evidence in HIGH.
  rise.clear();
  for (int i = 1; i <= 5; ++i) {
    rise.push_back(
        Pneumonia(absl::StrCat("M", i), absl::StrCat("MID-", i), 300));
  }
  rise.push_back(Pneumonia("H6", "HIGH-6", 320));
  Submit(rise);
  ASSERT_FALSE(Expected(Filters()[9]).empty());
  ExpectListingsMatchTheStore("after the second rise");

  // Every listing after the first was brought up to date from the log.
  EXPECT_EQ(monitor_->signals().signal_index().scans(), 1);
  EXPECT_GE(monitor_->signals().signal_index().updates(), 2);
}

// A dose group or timepoint the trial lacks is INVALID_ARGUMENT, as in
// GetIncidence and ListReports, not an empty list.
TEST_F(SignalListingTest, UnknownDoseGroupOrTimepointIsRefused) {
  Start(true, v1::SignalPolicy());
  v1::ListSignalsRequest request;
  request.set_parent(kParent);
  request.set_dose_group_id("HIGHH");
  request.set_timepoint_id("M7");
  auto refused = monitor_->signals().ListSignals(request);
  ASSERT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(errors::ViolatedFields(refused.status()),
              ::testing::ElementsAre("dose_group_id", "timepoint_id"));
  request.set_dose_group_id("HIGH");
  request.set_timepoint_id("M6");
  EXPECT_TRUE(monitor_->signals().ListSignals(request).ok());
}

TEST_F(SignalListingTest, SignalsChangedOutsideTheLogAreRescanned) {
  Start(false, Only(v1::SIGNAL_METHOD_BINOMIAL_EXACT));
  PutBaseline(0.05);
  Submit({Pneumonia("A1", "HIGH-1", 100), Pneumonia("A2", "HIGH-2", 200)});
  ASSERT_EQ(Listed(Filters()[0]).size(), 1u);
  // Not something aesignal does: a row deleted behind the change log's back.
  ASSERT_TRUE(store_
                  ->Commit([](storage::Txn& txn) {
                    txn.Delete(storage::Cf::kSignals,
                               storage::SignalKey(kTrial, kPneumoniaHighM12));
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_THAT(Listed(Filters()[0]), IsEmpty());
  EXPECT_EQ(monitor_->signals().signal_index().scans(), 2);
}

TEST_F(SignalsTest, SignalsStoredUnderOldIdsAreRenamedWithTheirHistory) {
  Start(false, Only(v1::SIGNAL_METHOD_BINOMIAL_EXACT));
  PutBaseline(0.05);
  Submit({Pneumonia("A1", "HIGH-1", 100), Pneumonia("A2", "HIGH-2", 200)});
  Submit({Pneumonia("A3", "HIGH-3", 250)});  // a second history event
  v1::GetSignalRequest get;
  get.set_name(absl::StrCat(kParent, "/signals/", kPneumoniaHighM12));
  auto current = monitor_->signals().GetSignal(get);
  ASSERT_TRUE(current.ok()) << current.status();
  ASSERT_EQ(current->history_size(), 2);
  // As a build before URL-safe ids stored it: spaces in the id.
  const std::string old_id =
      "BINOMIAL~PT~Infections and infestations~Pneumonia~HIGH~M12";
  ASSERT_TRUE(store_
                  ->Commit([&](storage::Txn& txn) {
                    v1::Signal old = *current;
                    old.set_signal_id(old_id);
                    old.set_name(absl::StrCat(kParent, "/signals/", old_id));
                    return storage::RenameSignal(txn, kTrial, kPneumoniaHighM12,
                                                 old);
                  })
                  .ok());
  EXPECT_EQ(monitor_->signals().GetSignal(get).status().code(),
            absl::StatusCode::kNotFound);

  auto renamed = monitor_->signals().UpgradeSignalIds();
  ASSERT_TRUE(renamed.ok()) << renamed.status();
  EXPECT_EQ(*renamed, 1);
  auto upgraded = monitor_->signals().GetSignal(get);
  ASSERT_TRUE(upgraded.ok()) << upgraded.status();
  EXPECT_EQ(upgraded->name(), get.name());
  EXPECT_EQ(upgraded->history_size(), 2);
  EXPECT_EQ(upgraded->scope(), v1::DOSE_GROUP_SCOPE_GROUP);
  v1::GetSignalRequest old_get;
  old_get.set_name(absl::StrCat(kParent, "/signals/", old_id));
  EXPECT_EQ(monitor_->signals().GetSignal(old_get).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(*monitor_->signals().UpgradeSignalIds(), 0);  // idempotent
  EXPECT_THAT(Signals(), ::testing::SizeIs(1));
}

TEST_F(SignalsTest, TriageFollowsTheLifecycleAndRecordsWhoWhenWhy) {
  Start(false, Only(v1::SIGNAL_METHOD_BINOMIAL_EXACT));
  PutBaseline(0.05);
  Submit({Pneumonia("A1", "HIGH-1", 100), Pneumonia("A2", "HIGH-2", 200)});
  auto signals = Signals();
  ASSERT_EQ(signals.size(), 1u);
  // Who triages is the caller's principal; the display name is free text.
  CallInfo call;
  call.principal = "dsmb@example.org";
  v1::TriageSignalRequest update;
  update.set_name(signals[0].name());
  update.set_status(v1::SIGNAL_STATUS_CLOSED);
  update.set_comment("x");
  update.set_display_name("DSMB chair");
  EXPECT_EQ(monitor_->signals().TriageSignal(update, call).status().code(),
            absl::StatusCode::kFailedPrecondition);  // NEW -> CLOSED
  update.set_status(v1::SIGNAL_STATUS_VALIDATED);
  update.clear_comment();
  EXPECT_THAT(errors::ViolationsOf(
                  monitor_->signals().TriageSignal(update, call).status()),
              ::testing::Contains(
                  ::testing::Field(&errors::FieldViolation::field, "comment")));
  update.set_comment("two pneumonias at the top dose: confirmed by review");
  auto validated = monitor_->signals().TriageSignal(update, call);
  ASSERT_TRUE(validated.ok()) << validated.status();
  EXPECT_EQ(validated->status(), v1::SIGNAL_STATUS_VALIDATED);
  const auto& event = validated->history(validated->history_size() - 1);
  EXPECT_EQ(event.kind(), v1::SignalEvent::KIND_TRIAGED);
  EXPECT_EQ(event.actor(), "dsmb@example.org");
  EXPECT_EQ(event.display_name(), "DSMB chair");
  EXPECT_EQ(event.from_status(), v1::SIGNAL_STATUS_NEW);
  EXPECT_THAT(event.comment(), HasSubstr("confirmed"));

  // Readable with the signal, and in the change log in order.
  v1::GetSignalRequest get;
  get.set_name(signals[0].name());
  auto got = monitor_->signals().GetSignal(get);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->history_size(), 2);
  auto changes = monitor_->signals().WaitForChanges(kTrial, 0, absl::Now());
  ASSERT_TRUE(changes.ok());
  ASSERT_EQ(changes->size(), 2u);
  // Sequence 1 is the raise of its topic (a topic change, not listed here).
  EXPECT_EQ((*changes)[0].signal().change_sequence(), 2);
  EXPECT_EQ((*changes)[1].event().kind(), v1::SignalEvent::KIND_TRIAGED);
  // Re-evaluation after triage keeps the status.
  Submit({Pneumonia("A3", "HIGH-3", 250)});
  got = monitor_->signals().GetSignal(get);
  EXPECT_EQ(got->status(), v1::SIGNAL_STATUS_VALIDATED);
  EXPECT_EQ(got->evidence().subjects(), 3);
}

TEST_F(SignalsTest, WatcherSeesARaisedSignalPromptly) {
  Start(false, Only(v1::SIGNAL_METHOD_BINOMIAL_EXACT));
  PutBaseline(0.05);
  absl::StatusOr<std::vector<storage::SignalChange>> seen;
  absl::Time seen_at;
  std::thread watcher([&] {
    seen = monitor_->signals().WaitForChanges(kTrial, 0,
                                              absl::Now() + absl::Seconds(10));
    seen_at = absl::Now();
  });
  absl::SleepFor(absl::Milliseconds(50));
  v1::SubmitReportsRequest request;
  request.set_parent(kParent);
  *request.add_reports() = Pneumonia("A1", "HIGH-1", 100);
  *request.add_reports() = Pneumonia("A2", "HIGH-2", 100);
  ASSERT_TRUE(monitor_->SubmitReports(request).ok());
  const absl::Time acked = absl::Now();
  watcher.join();
  ASSERT_TRUE(seen.ok()) << seen.status();
  ASSERT_EQ(seen->size(), 1u);
  EXPECT_EQ((*seen)[0].event().kind(), v1::SignalEvent::KIND_RAISED);
  EXPECT_LT(seen_at - acked, absl::Seconds(1));
}

TEST_F(SignalsTest, BaselinesAreVersionedAndValidated) {
  Start(false, v1::SignalPolicy());
  PutBaseline(0.05);
  PutBaseline(0.05);  // identical: unchanged
  PutBaseline(0.10);  // revised: version 2, version 1 kept
  v1::ListBaselinesRequest list;
  list.set_parent(kParent);
  auto listed = monitor_->signals().ListBaselines(list);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->baselines_size(), 1);
  EXPECT_EQ(listed->baselines(0).version(), 2u);
  EXPECT_DOUBLE_EQ(listed->baselines(0).expected_proportion(), 0.10);
  auto v1_bytes = store_->Latest().Get(
      storage::Cf::kBaselines, storage::BaselineKey(kTrial, "pneumonia", 1));
  ASSERT_TRUE(v1_bytes.ok() && v1_bytes->has_value());

  v1::PutBaselinesRequest bad;
  bad.set_parent(kParent);
  auto* b = bad.add_baselines();
  b->set_baseline_id("x");
  b->set_level(v1::TERM_LEVEL_OVERALL);
  b->set_overall_key("aesi:unknown");
  b->set_timepoint_id("Y9");
  b->set_expected_proportion(1.5);
  auto status = monitor_->signals().PutBaselines(bad).status();
  EXPECT_THAT(
      errors::ViolatedFields(status),
      ElementsAre("baselines[0].overall_key", "baselines[0].timepoint_id",
                  "baselines[0].expected_proportion", "baselines[0].citation"));
  // The message lists the trial's overall rows, death and its AESIs included.
  EXPECT_THAT(errors::ViolationsOf(status)[0].description,
              HasSubstr("(any_ae, any_sae, grade_3_plus, related, death, "
                        "aesi:"));
}

TEST_F(SignalsTest, DirtyRowsLeftByACrashAreEvaluatedOnRestart) {
  Start(false, Only(v1::SIGNAL_METHOD_BINOMIAL_EXACT));
  PutBaseline(0.05);
  Submit({Pneumonia("A1", "HIGH-1", 100), Pneumonia("A2", "HIGH-2", 200)});
  ASSERT_EQ(Signals().size(), 1u);
  // Simulate a crash after an ingest batch and before its evaluation: the
  // row is marked dirty but its signal change was never written.
  monitor_.reset();
  ASSERT_TRUE(store_
                  ->Commit([](storage::Txn& txn) {
                    txn.Delete(storage::Cf::kSignals,
                               storage::SignalKey(kTrial, kPneumoniaHighM12));
                    storage::TermKey term;
                    term.level = storage::Level::kPt;
                    term.soc = kSoc;
                    term.pt = "Pneumonia";
                    return storage::MarkTermDirty(txn, kTrial, term, "A2", 1);
                  })
                  .ok());
  monitor_ = std::make_unique<Monitor>(store_.get());
  ASSERT_TRUE(monitor_->signals().WaitIdle(absl::Seconds(10)).ok());
  EXPECT_EQ(Signals().size(), 1u);
  auto dirty = storage::ReadDirtyTerms(store_->Latest());
  ASSERT_TRUE(dirty.ok());
  EXPECT_THAT(*dirty, IsEmpty());
}

// A trial the evaluator cannot evaluate (here a stored baseline no request
// could have put: p0 = 2, written past PutBaselines' validation, as a damaged
// or foreign record would be) keeps its rows dirty and is named, and trials
// after it in key order still get their signals, and their watchers hear of
// them. Until 2026-12-06 the round stopped at the failing trial
// (docs/fuzzing.md, findings 2-4 and 7).
TEST_F(SignalsTest, ATrialThatCannotBeEvaluatedDoesNotHoldBackTheOthers) {
  Start(false, Only(v1::SIGNAL_METHOD_BINOMIAL_EXACT));
  PutBaseline(0.05);
  // Both before SIG1 in key order.
  const std::vector<std::string> broken = {"EARLY", "EARLY2"};
  for (const std::string& id : broken) {
    v1::CreateTrialRequest create;
    *create.mutable_trial() =
        MakeTrial(false, Only(v1::SIGNAL_METHOD_BINOMIAL_EXACT));
    create.mutable_trial()->set_trial_id(id);
    ASSERT_TRUE(monitor_->CreateTrial(create).ok());
    EnrollHigh(absl::StrCat("trials/", id), 1, 6);
    v1::Baseline unusable;
    unusable.set_baseline_id("pneumonia");
    unusable.set_version(1);
    unusable.set_level(v1::TERM_LEVEL_PT);
    unusable.set_soc(kSoc);
    unusable.set_pt("Pneumonia");
    unusable.set_expected_proportion(2);
    ASSERT_TRUE(store_
                    ->Commit([&](storage::Txn& txn) {
                      storage::WriteBaseline(txn, id, unusable);
                      return absl::OkStatus();
                    })
                    .ok());
  }
  // Waits for SIG1's first signal change (or 30 s): only a notification
  // wakes it once it is waiting.
  absl::StatusOr<std::vector<storage::SignalChange>> heard;
  std::thread watcher([&] {
    heard = monitor_->signals().WaitForChanges(kTrial, 0,
                                               absl::Now() + absl::Seconds(30));
  });

  for (const std::string parent : {"trials/EARLY", "trials/EARLY2", kParent}) {
    v1::SubmitReportsRequest request;
    request.set_parent(parent);
    *request.add_reports() = Pneumonia("A1", "HIGH-1", 100);
    *request.add_reports() = Pneumonia("A2", "HIGH-2", 200);
    // EXPECT, not ASSERT: the watcher is joined below whatever happens.
    auto response = monitor_->SubmitReports(request);
    EXPECT_TRUE(response.ok()) << response.status();
    if (response.ok()) {
      EXPECT_EQ(response->accepted_count(), 2) << parent;
    }
  }
  watcher.join();
  ASSERT_TRUE(heard.ok()) << heard.status();
  ASSERT_FALSE(heard->empty());
  EXPECT_EQ(heard->front().signal().signal_id(), kPneumoniaHighM12);
  EXPECT_THAT(Ids(Signals()), ElementsAre(kPneumoniaHighM12));

  // The evaluator keeps retrying the broken trials, so it is never idle; it
  // names them and why.
  const absl::Status waited =
      monitor_->signals().WaitIdle(absl::Milliseconds(500));
  EXPECT_EQ(waited.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(waited.message(),
              HasSubstr("trials/EARLY: p0 must be in (0, 1), got 2 (and 1 "
                        "more that cannot be evaluated: trials/EARLY2)"));
  auto dirty = storage::ReadDirtyTerms(store_->Latest());
  ASSERT_TRUE(dirty.ok());
  std::set<std::string> pending;
  for (const auto& entry : *dirty) pending.insert(entry.trial_id);
  EXPECT_THAT(pending, ElementsAre("EARLY", "EARLY2"));
  // Failed rounds are counted, with the rows they did evaluate (SIG1's 3).
  const std::vector<MetricsSink::SignalRound> rounds = metrics_.rounds();
  EXPECT_TRUE(std::any_of(rounds.begin(), rounds.end(),
                          [](const auto& r) { return !r.ok && r.rows == 3; }));
  auto verified = monitor_->signals().VerifySignals(kTrial);
  EXPECT_TRUE(verified.ok()) << verified.status();
}

// A dirty mark that does not parse (only a damaged store holds one) holds
// back its own trial, which is named with the key, and no other: before
// 2026-12-06 the round failed before any trial was evaluated, so one damaged
// mark stopped every trial's signals. A damaged key that names no trial is
// reported too, and VerifySignals refuses while it may be the trial's.
TEST_F(SignalsTest, ADamagedDirtyMarkHoldsBackOnlyItsOwnTrial) {
  Start(false, Only(v1::SIGNAL_METHOD_BINOMIAL_EXACT));
  PutBaseline(0.05);
  ASSERT_TRUE(monitor_->signals().WaitIdle(absl::Seconds(10)).ok());
  v1::CreateTrialRequest create;
  *create.mutable_trial() =
      MakeTrial(false, Only(v1::SIGNAL_METHOD_BINOMIAL_EXACT));
  create.mutable_trial()->set_trial_id("EARLY");  // before SIG1 in key order
  ASSERT_TRUE(monitor_->CreateTrial(create).ok());
  storage::TermKey pneumonia;
  pneumonia.level = storage::Level::kPt;
  pneumonia.soc = kSoc;
  pneumonia.pt = "Pneumonia";
  ASSERT_TRUE(store_
                  ->Commit([&](storage::Txn& txn) {
                    txn.Put(storage::Cf::kDirtyTerms,
                            storage::DirtyTermKey("EARLY", pneumonia), "\xff");
                    return absl::OkStatus();
                  })
                  .ok());
  auto strict = storage::ReadDirtyTerms(store_->Latest());
  EXPECT_EQ(strict.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(strict.status().message(),
              HasSubstr("malformed dirty term at key 'EARLY\\x00\\x01"));

  absl::StatusOr<std::vector<storage::SignalChange>> heard;
  std::thread watcher([&] {
    heard = monitor_->signals().WaitForChanges(kTrial, 0,
                                               absl::Now() + absl::Seconds(30));
  });
  v1::SubmitReportsRequest request;
  request.set_parent(kParent);
  *request.add_reports() = Pneumonia("A1", "HIGH-1", 100);
  *request.add_reports() = Pneumonia("A2", "HIGH-2", 200);
  auto response = monitor_->SubmitReports(request);
  EXPECT_TRUE(response.ok()) << response.status();  // the watcher is joined
  watcher.join();
  ASSERT_TRUE(heard.ok()) << heard.status();
  ASSERT_FALSE(heard->empty());
  EXPECT_EQ(heard->front().signal().signal_id(), kPneumoniaHighM12);
  EXPECT_THAT(Ids(Signals()), ElementsAre(kPneumoniaHighM12));
  absl::Status waited = monitor_->signals().WaitIdle(absl::Milliseconds(500));
  EXPECT_EQ(waited.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(waited.message(),
              HasSubstr("trials/EARLY: malformed dirty term at key "
                        "'EARLY\\x00\\x01"));
  auto verified = monitor_->signals().VerifySignals(kTrial);
  EXPECT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(monitor_->signals().VerifySignals("EARLY").status().code(),
            absl::StatusCode::kDataLoss);
  // A report that would change the damaged row is refused, not half-counted.
  EnrollHigh("trials/EARLY", 1, 1);
  v1::SubmitReportsRequest to_early;
  to_early.set_parent("trials/EARLY");
  *to_early.add_reports() = Pneumonia("E1", "HIGH-1", 100);
  EXPECT_EQ(monitor_->SubmitReports(to_early).status().code(),
            absl::StatusCode::kDataLoss);

  // A key whose trial does not parse (no terminator) could be any trial's.
  ASSERT_TRUE(store_
                  ->Commit([&](storage::Txn& txn) {
                    txn.Put(storage::Cf::kDirtyTerms, "ZZZ", "");
                    return absl::OkStatus();
                  })
                  .ok());
  // SIG1 is still evaluated: its third case reaches the signal's evidence.
  request.clear_reports();
  *request.add_reports() = Pneumonia("A3", "HIGH-3", 150);
  response = monitor_->SubmitReports(request);
  ASSERT_TRUE(response.ok()) << response.status();
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (*storage::CountDirtyTerms(store_->Latest(), kTrial) > 0 &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  ASSERT_EQ(*storage::CountDirtyTerms(store_->Latest(), kTrial), 0);
  ASSERT_THAT(Signals(), SizeIs(1));
  EXPECT_EQ(Signals().front().evidence().subjects(), 3);
  std::vector<storage::MalformedDirtyMark> malformed;
  auto lenient = storage::ReadDirtyTerms(store_->Latest(), &malformed);
  ASSERT_TRUE(lenient.ok()) << lenient.status();
  ASSERT_EQ(malformed.size(), 2u);
  EXPECT_EQ(malformed[0].trial_id, "EARLY");
  EXPECT_EQ(malformed[1].trial_id, "");
  EXPECT_THAT(malformed[1].error.message(), HasSubstr("at key 'ZZZ'"));
  waited = monitor_->signals().WaitIdle(absl::Milliseconds(500));
  EXPECT_THAT(waited.message(),
              HasSubstr("(and 1 more that cannot be evaluated: a dirty mark "
                        "naming no trial)"));
  EXPECT_EQ(monitor_->signals().VerifySignals(kTrial).status().code(),
            absl::StatusCode::kDataLoss);
}

TEST_F(SignalsTest, EnrollingMoreSubjectsReevaluatesWithTheNewDenominator) {
  Start(false, Only(v1::SIGNAL_METHOD_BINOMIAL_EXACT));
  PutBaseline(0.05);
  Submit({Pneumonia("A1", "HIGH-1", 100), Pneumonia("A2", "HIGH-2", 200)});
  ASSERT_EQ(Signals().size(), 1u);
  EnrollHigh(kParent, 7, 12);
  ASSERT_TRUE(monitor_->signals().WaitIdle(absl::Seconds(10)).ok());
  auto signals = Signals();
  ASSERT_EQ(signals.size(), 1u);
  EXPECT_EQ(signals[0].evidence().denominator(), 12);
  EXPECT_FALSE(signals[0].evidence().crosses());  // P(X >= 2 | 12) = 0.118
  EXPECT_EQ(signals[0].history_size(), 2);
}

TEST_F(SignalsTest, MaxSprtUsesTheExactCriticalValue) {
  Start(false, Only(v1::SIGNAL_METHOD_MAXSPRT));
  PutBaseline(0.05);
  Submit({Pneumonia("A1", "HIGH-1", 100), Pneumonia("A2", "HIGH-2", 120),
          Pneumonia("A3", "HIGH-3", 130)});
  auto signals = Signals();
  ASSERT_EQ(signals.size(), 1u);
  const v1::Signal& s = signals[0];
  EXPECT_EQ(s.signal_id(),
            "MAXSPRT~PT~Infections.20and.20infestations~Pneumonia~HIGH~M12");
  // 3 cases against mu = 0.05 x 6 = 0.3 expected; T = 0.3, M = 2.
  EXPECT_NEAR(s.evidence().statistic(), 0.3 - 3 + 3 * std::log(10.0), 1e-12);
  auto cv = signal::MaxSprtCriticalValue(0.05, 0.3, 2);
  ASSERT_TRUE(cv.ok());
  EXPECT_DOUBLE_EQ(s.evidence().threshold(), *cv);
  EXPECT_TRUE(s.evidence().crosses());
}

TEST_F(SignalsTest, PtScreeningWithDoubleFdrAdjustsControlArmDecisions) {
  v1::SignalPolicy policy = Only(v1::SIGNAL_METHOD_CONTROL_FISHER);
  policy.set_screening_fdr(true);
  Start(true, policy);
  auto event = [](const std::string& id, const std::string& subject,
                  const std::string& pt, const std::string& soc) {
    v1::AdverseEventReport r = Pneumonia(id, subject, 30);
    r.set_pt(pt);
    r.set_soc(soc);
    return r;
  };
  std::vector<v1::AdverseEventReport> reports = {
      event("P1", "PBO-1", "Pneumonia", kSoc),
      event("N1", "HIGH-6", "Rash", "Skin"),
      event("N2", "MID-1", "Headache", "Nervous"),
      event("N3", "LOW-1", "Nausea", "GI")};
  for (int i = 1; i <= 5; ++i) {
    reports.push_back(event(absl::StrCat("H", i), absl::StrCat("HIGH-", i),
                            "Pneumonia", kSoc));
  }
  Submit(reports);
  // Pneumonia HIGH 5/6 vs placebo 1/6: raw p = 37/924 = 0.040 would cross
  // alpha 0.05, but across 4 SOCs the double-FDR p is 4 x 0.040 = 0.160 > 0.1.
  // The SOC row (pre-specified level, unadjusted) still crosses.
  std::vector<std::string> ids = Ids(Signals());
  EXPECT_THAT(
      ids,
      ::testing::Not(::testing::Contains(
          "CONTROL~PT~Infections.20and.20infestations~Pneumonia~HIGH~M3")));
  EXPECT_THAT(ids, ::testing::Contains(
                       "CONTROL~SOC~Infections.20and.20infestations~HIGH~M3"));
}

// --- Topics ------------------------------------------------------------------

class TopicsTest : public SignalsTest {
 protected:
  // HIGH 5/6 vs PBO 1/6 by M3: the control comparison crosses at M3, M6 and
  // M12 for the PT, its SOC and any AE — nine signals, three topics.
  void RaiseControlArmRise() {
    Start(true, Only(v1::SIGNAL_METHOD_CONTROL_FISHER));
    std::vector<v1::AdverseEventReport> reports = {
        Pneumonia("N1", "PBO-1", 50)};
    for (int i = 1; i <= 5; ++i) {
      reports.push_back(
          Pneumonia(absl::StrCat("R", i), absl::StrCat("HIGH-", i), 60));
    }
    Submit(reports);
  }
  std::vector<v1::SignalTopic> Topics() {
    v1::ListTopicsRequest list;
    list.set_parent(kParent);
    auto response = monitor_->signals().ListTopics(list);
    EXPECT_TRUE(response.ok()) << response.status();
    return {response->topics().begin(), response->topics().end()};
  }
  static constexpr char kPneumoniaTopic[] =
      "PT~Infections.20and.20infestations~Pneumonia";
  // The DSMB's triage of the pneumonia topic to `status`, as request `id`.
  static v1::TriageTopicRequest PneumoniaTriage(v1::SignalStatus status,
                                                const std::string& id) {
    v1::TriageTopicRequest triage;
    triage.set_name(absl::StrCat(kParent, "/topics/", kPneumoniaTopic));
    triage.set_status(status);
    triage.set_comment("five of six at the top dose");
    triage.set_request_id(id);
    return triage;
  }
};

TEST_F(TopicsTest, OneTopicPerTermWithItsSignalsAsEvidence) {
  RaiseControlArmRise();
  const auto topics = Topics();
  ASSERT_EQ(topics.size(), 3u);
  std::set<std::string> ids;
  for (const auto& t : topics) {
    ids.insert(t.topic_id());
    EXPECT_EQ(t.evidence_count(), 3) << t.topic_id();
    EXPECT_EQ(t.crossing_count(), 3) << t.topic_id();
    EXPECT_TRUE(t.crossing());
    EXPECT_EQ(t.status(), v1::SIGNAL_STATUS_NEW);
    EXPECT_THAT(t.summary(), HasSubstr("Fisher"));
    EXPECT_EQ(t.evidence_size(), 0);  // the list carries no evidence
  }
  EXPECT_THAT(ids, ::testing::UnorderedElementsAre(
                       kPneumoniaTopic, "SOC~Infections.20and.20infestations",
                       "OVERALL~any_ae"));
  for (size_t i = 1; i < topics.size(); ++i) {
    EXPECT_GE(topics[i - 1].strength(), topics[i].strength());
  }
  // p = 37/924 against alpha 0.05: log10(0.05 / (37/924)) decades past it.
  const auto pt = std::find_if(topics.begin(), topics.end(), [](auto& t) {
    return t.topic_id() == kPneumoniaTopic;
  });
  EXPECT_NEAR(pt->strength(), std::log10(0.05 / (37.0 / 924)), 1e-9);

  v1::GetTopicRequest get;
  get.set_name(absl::StrCat(kParent, "/topics/", kPneumoniaTopic));
  auto topic = monitor_->signals().GetTopic(get);
  ASSERT_TRUE(topic.ok()) << topic.status();
  ASSERT_EQ(topic->evidence_size(), 3);
  EXPECT_EQ(topic->evidence(0).signal_id(), topic->lead_signal_id());
  for (const auto& e : topic->evidence()) {
    EXPECT_EQ(e.pt(), "Pneumonia");
    EXPECT_EQ(e.history_size(), 0);
  }
  ASSERT_EQ(topic->history_size(), 1);
  EXPECT_EQ(topic->history(0).kind(), v1::SignalEvent::KIND_RAISED);
  get.set_name(absl::StrCat(kParent, "/topics/PT~X~Nope"));
  EXPECT_EQ(monitor_->signals().GetTopic(get).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(TopicsTest, ListsSayHowManyRowsAwaitEvaluation) {
  RaiseControlArmRise();
  v1::ListTopicsRequest topics;
  topics.set_parent(kParent);
  v1::ListSignalsRequest signals;
  signals.set_parent(kParent);
  auto pending = [&]() {
    auto listed_topics = monitor_->signals().ListTopics(topics);
    auto listed_signals = monitor_->signals().ListSignals(signals);
    EXPECT_TRUE(listed_topics.ok()) << listed_topics.status();
    EXPECT_TRUE(listed_signals.ok()) << listed_signals.status();
    EXPECT_EQ(listed_topics->rows_pending_evaluation(),
              listed_signals->rows_pending_evaluation());
    return listed_topics->rows_pending_evaluation();
  };
  auto high_m12 = [&]() {
    v1::GetSignalRequest get;
    get.set_name(absl::StrCat(kParent, "/signals/",
                              "CONTROL~PT~Infections.20and.20infestations~"
                              "Pneumonia~HIGH~M12"));
    auto signal = monitor_->signals().GetSignal(get);
    EXPECT_TRUE(signal.ok()) << signal.status();
    return signal.ok() ? signal->evidence().subjects() : -1;
  };
  EXPECT_EQ(pending(), 0);
  ASSERT_EQ(high_m12(), 5);

  // A report arrives while the evaluator is held: its PT, SOC and any-AE
  // rows await evaluation, and the signals still show the old counts.
  monitor_->signals().HoldEvaluationForTesting(true);
  v1::SubmitReportsRequest submit;
  submit.set_parent(kParent);
  *submit.add_reports() = Pneumonia("R6", "HIGH-6", 70);
  auto submitted = monitor_->SubmitReports(submit);
  ASSERT_TRUE(submitted.ok()) << submitted.status();
  ASSERT_EQ(submitted->accepted_count(), 1);
  EXPECT_EQ(pending(), 3);
  EXPECT_EQ(high_m12(), 5);
  // Another trial's marks are not this trial's (its id extends this one's).
  storage::TermKey any_ae;
  any_ae.level = storage::Level::kOverall;
  any_ae.overall = "any_ae";
  const std::string other = absl::StrCat(kTrial, "X");
  ASSERT_TRUE(store_
                  ->Commit([&](storage::Txn& txn) {
                    return storage::MarkTermDirty(txn, other, any_ae, "Z", 1);
                  })
                  .ok());
  EXPECT_EQ(pending(), 3);
  auto other_count = storage::CountDirtyTerms(store_->Latest(), other);
  ASSERT_TRUE(other_count.ok()) << other_count.status();
  EXPECT_EQ(*other_count, 1);
  ASSERT_TRUE(store_
                  ->Commit([&](storage::Txn& txn) {
                    txn.Delete(storage::Cf::kDirtyTerms,
                               storage::DirtyTermKey(other, any_ae));
                    return absl::OkStatus();
                  })
                  .ok());

  // Released, the evaluator catches up and the lists say so.
  monitor_->signals().HoldEvaluationForTesting(false);
  ASSERT_TRUE(monitor_->signals().WaitIdle(absl::Seconds(10)).ok());
  EXPECT_EQ(pending(), 0);
  EXPECT_EQ(high_m12(), 6);
}

TEST_F(TopicsTest, TriageAppliesToTheTopicAndIsSafeToRetry) {
  RaiseControlArmRise();
  CallInfo call;
  call.principal = "dsmb@example.org";
  v1::TriageTopicRequest triage =
      PneumoniaTriage(v1::SIGNAL_STATUS_VALIDATED, "r-1");
  auto first = monitor_->signals().TriageTopic(triage, call);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->status(), v1::SIGNAL_STATUS_VALIDATED);
  ASSERT_EQ(first->history_size(), 2);
  EXPECT_EQ(first->history(1).actor(), "dsmb@example.org");
  auto retry = monitor_->signals().TriageTopic(triage, call);
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(retry->history_size(), 2);
  EXPECT_EQ(retry->change_sequence(), first->change_sequence());
  // VALIDATED -> CLOSED is allowed; CLOSED -> VALIDATED is not.
  triage.set_status(v1::SIGNAL_STATUS_CLOSED);
  triage.set_request_id("r-2");
  EXPECT_TRUE(monitor_->signals().TriageTopic(triage, call).ok());
  triage.set_status(v1::SIGNAL_STATUS_VALIDATED);
  triage.set_request_id("r-3");
  EXPECT_EQ(monitor_->signals().TriageTopic(triage, call).status().code(),
            absl::StatusCode::kFailedPrecondition);
  v1::ListTopicsRequest closed;
  closed.set_parent(kParent);
  closed.set_status(v1::SIGNAL_STATUS_CLOSED);
  auto listed = monitor_->signals().ListTopics(closed);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->topics_size(), 1);
  EXPECT_EQ(listed->total_size(), 1);
  EXPECT_EQ(listed->topics(0).topic_id(), kPneumoniaTopic);
}

// The DSMB report's one replay: every topic ListTopics lists at a cut-off,
// in its order and filtered as it filters, each exactly as GetTopic at the
// cut-off gives it; a triage after the cut-off is not in it.
TEST_F(TopicsTest, TopicsReadTogetherAtACutOffEqualEachGetTopic) {
  RaiseControlArmRise();
  CallInfo call;
  call.principal = "dsmb@example.org";
  v1::TriageTopicRequest triage =
      PneumoniaTriage(v1::SIGNAL_STATUS_VALIDATED, "r-1");
  ASSERT_TRUE(monitor_->signals().TriageTopic(triage, call).ok());
  absl::SleepFor(absl::Milliseconds(2));
  const google::protobuf::Timestamp cut_off =
      google::protobuf::util::TimeUtil::NanosecondsToTimestamp(
          absl::ToUnixNanos(absl::Now()));
  absl::SleepFor(absl::Milliseconds(2));
  triage.set_status(v1::SIGNAL_STATUS_CLOSED);
  triage.set_request_id("r-2");
  ASSERT_TRUE(monitor_->signals().TriageTopic(triage, call).ok());

  for (const v1::TermLevel level :
       {v1::TERM_LEVEL_UNSPECIFIED, v1::TERM_LEVEL_PT}) {
    v1::ListTopicsRequest list;
    list.set_parent(kParent);
    list.set_level(level);
    *list.mutable_as_of() = cut_off;
    auto listed = monitor_->signals().ListTopics(list);
    ASSERT_TRUE(listed.ok()) << listed.status();
    list.set_page_size(1);  // ignored
    list.set_page_token("not a token");
    auto together = monitor_->signals().GetTopicsAtCutOff(list);
    ASSERT_TRUE(together.ok()) << together.status();
    ASSERT_EQ(together->size(), listed->topics_size());
    EXPECT_EQ(together->size(),
              level == v1::TERM_LEVEL_PT ? 1u : 3u);  // PT, SOC, any AE
    for (size_t i = 0; i < together->size(); ++i) {
      const v1::SignalTopic& topic = (*together)[i];
      EXPECT_EQ(topic.topic_id(), listed->topics(i).topic_id());
      v1::GetTopicRequest get;
      get.set_name(topic.name());
      *get.mutable_as_of() = cut_off;
      auto one = monitor_->signals().GetTopic(get);
      ASSERT_TRUE(one.ok()) << one.status();
      EXPECT_EQ(topic.DebugString(), one->DebugString());
      EXPECT_GT(topic.evidence_size(), 0);
      if (topic.topic_id() == kPneumoniaTopic) {
        EXPECT_EQ(topic.status(), v1::SIGNAL_STATUS_VALIDATED);
        EXPECT_EQ(topic.history_size(), 2);  // raised, validated
      }
    }
  }
  v1::ListTopicsRequest now;
  now.set_parent(kParent);
  auto refused = monitor_->signals().GetTopicsAtCutOff(now);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(errors::ViolatedFields(refused.status()), ElementsAre("as_of"));
}

TEST_F(TopicsTest, TheChangeLogStreamsTopicChanges) {
  RaiseControlArmRise();
  auto changes =
      monitor_->signals().WaitForTopicChanges(kTrial, 0, absl::Now());
  ASSERT_TRUE(changes.ok()) << changes.status();
  int raised = 0, evidence = 0;
  for (const auto& c : *changes) {
    if (c.event().kind() == v1::SignalEvent::KIND_RAISED) {
      ++raised;
      EXPECT_TRUE(c.signal_id().empty());
    } else {
      ++evidence;
      EXPECT_EQ(c.event().kind(), v1::SignalEvent::KIND_EVIDENCE_UPDATED);
      EXPECT_FALSE(c.signal_id().empty());
    }
    EXPECT_FALSE(c.topic().topic_id().empty());
  }
  EXPECT_EQ(raised, 3);    // each topic once
  EXPECT_EQ(evidence, 9);  // each signal raised
  // Signal watchers still see only signal changes.
  auto signal_changes =
      monitor_->signals().WaitForChanges(kTrial, 0, absl::Now());
  ASSERT_TRUE(signal_changes.ok());
  EXPECT_EQ(signal_changes->size(), 9u);
}

TEST_F(TopicsTest, TopicsRaisedBeforeTopicsExistedAreCreatedWithTheirTriage) {
  RaiseControlArmRise();
  // A signal triaged as evidence, as before topics existed.
  CallInfo call;
  call.principal = "officer";
  v1::TriageSignalRequest triage;
  triage.set_name(absl::StrCat(
      kParent,
      "/signals/CONTROL~PT~Infections.20and.20infestations~Pneumonia~HIGH~M3"));
  triage.set_status(v1::SIGNAL_STATUS_REFUTED);
  triage.set_comment("known background rate");
  ASSERT_TRUE(monitor_->signals().TriageSignal(triage, call).ok());
  // A store written before topics: no topic records.
  ASSERT_TRUE(store_
                  ->Commit([&](storage::Txn& txn) {
                    for (const auto& t : Topics()) {
                      txn.Delete(storage::Cf::kTopics,
                                 storage::TopicKey(kTrial, t.topic_id()));
                    }
                    return absl::OkStatus();
                  })
                  .ok());
  auto created = monitor_->signals().UpgradeTopics();
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(*created, 3);
  v1::GetTopicRequest get;
  get.set_name(absl::StrCat(kParent, "/topics/", kPneumoniaTopic));
  auto topic = monitor_->signals().GetTopic(get);
  ASSERT_TRUE(topic.ok()) << topic.status();
  EXPECT_EQ(topic->status(), v1::SIGNAL_STATUS_REFUTED);
  ASSERT_EQ(topic->history_size(), 2);
  EXPECT_EQ(topic->history(0).kind(), v1::SignalEvent::KIND_RAISED);
  EXPECT_EQ(topic->history(1).comment(), "known background rate");
  EXPECT_EQ(topic->history(1).actor(), "officer");
  EXPECT_EQ(*monitor_->signals().UpgradeTopics(), 0);  // idempotent
}

}  // namespace
}  // namespace aesignal::domain
