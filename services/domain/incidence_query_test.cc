// GetIncidence against an independent count: random reports (with
// follow-ups and versions superseded on arrival) are counted by hand here,
// from the final versions alone, with the clinical rules written out again,
// and every cell of every table is compared: subjects, events,
// denominators, Clopper-Pearson intervals, the highest grades, the
// comparisons with the control group and the dose trends; for each subset
// and level, through the counters and through the count from reports. Also
// the counting-rule upgrades (a store without the `death` row gets it on
// open; the related row recounted with "not given" as related, also after
// an interrupted start) and the request's checks.
#include <algorithm>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "services/domain/common.h"
#include "services/domain/counting_upgrade.h"
#include "services/domain/incidence_rows.h"
#include "services/domain/monitor.h"
#include "services/errors/errors.h"
#include "services/signal/binomial_ci.h"
#include "services/signal/rule.h"
#include "services/signal/signal_stats.h"
#include "storage/incidence.h"
#include "storage/keys.h"
#include "storage/signals.h"
#include "storage/store.h"
#include "tests/testing/temp_dir.h"

namespace aesignal::domain {
namespace {

using ::testing::HasSubstr;

constexpr char kTrial[] = "NCT0042";
constexpr char kParent[] = "trials/NCT0042";
constexpr double kConfidence = 0.9;
const std::vector<std::string> kGroups = {"PBO", "LOW", "HIGH"};
const std::vector<double> kDoses = {0, 10, 30};
const std::vector<int> kDays = {28, 84, 168};  // W4, W12, W24
const std::vector<std::string> kTimepoints = {"W4", "W12", "W24"};
const std::vector<std::string> kAesi = {"infection", "bleeding"};
const std::vector<std::pair<std::string, std::string>> kTerms = {
    {"Infections", "Pneumonia"},
    {"Infections", "Sepsis"},
    {"Skin", "Rash"},
    {"Skin", "Pruritus"},
    {"Cardiac", "Tachycardia"},
    {"Nervous", "Headache"}};
constexpr int kSubjects = 30;

v1::Trial MakeTrial() {
  v1::Trial t;
  t.set_trial_id(kTrial);
  t.set_title("incidence by hand");
  for (size_t g = 0; g < kGroups.size(); ++g) {
    auto* group = t.add_dose_groups();
    group->set_dose_group_id(kGroups[g]);
    group->set_dose_value(kDoses[g]);
    group->set_control(g == 0);
  }
  for (size_t w = 0; w < kDays.size(); ++w) {
    auto* tp = t.add_timepoints();
    tp->set_timepoint_id(kTimepoints[w]);
    tp->set_study_day(kDays[w]);
  }
  t.add_sites()->set_site_id("01");
  for (const auto& c : kAesi) t.add_aesi_categories(c);
  return t;
}

// Subject i: group i % 3; follow-up to day 20, 60 or 168 (some subjects are
// not followed into later windows, and some of those have AEs there).
int LastContact(int i) { return i % 5 == 0 ? 20 : i % 7 == 0 ? 60 : 168; }
std::string SubjectId(int i) { return absl::StrCat("S", i); }

// --- The hand count ---------------------------------------------------------

// A final (counted) version as the hand count sees it.
struct Ae {
  int subject = 0;
  int group = 0;
  int window = 0;
  v1::AdverseEventReport report;
};

int WindowOfDay(int day) {
  for (size_t w = 0; w < kDays.size(); ++w) {
    if (day <= kDays[w]) return static_cast<int>(w);
  }
  return -1;
}

bool Related(const v1::AdverseEventReport& r) {
  return r.relatedness() == v1::RELATEDNESS_UNSPECIFIED ||
         r.relatedness() == v1::RELATEDNESS_POSSIBLE ||
         r.relatedness() == v1::RELATEDNESS_PROBABLE ||
         r.relatedness() == v1::RELATEDNESS_DEFINITE;
}
bool Fatal(const v1::AdverseEventReport& r) {
  return r.death() || r.outcome() == v1::OUTCOME_FATAL;
}
bool HasAesi(const v1::AdverseEventReport& r, const std::string& c) {
  for (const auto& a : r.aesi()) {
    if (a == c) return true;
  }
  return false;
}

struct Subset {
  v1::IncidenceSubset subset = v1::INCIDENCE_SUBSET_UNSPECIFIED;
  std::string aesi;
};

bool In(const v1::AdverseEventReport& r, const Subset& s) {
  switch (s.subset) {
    case v1::INCIDENCE_SUBSET_SERIOUS:
      return r.serious();
    case v1::INCIDENCE_SUBSET_GRADE_3_PLUS:
      return r.grade() >= 3;
    case v1::INCIDENCE_SUBSET_RELATED:
      return Related(r);
    case v1::INCIDENCE_SUBSET_DEATH:
      return Fatal(r);
    case v1::INCIDENCE_SUBSET_AESI:
      return HasAesi(r, s.aesi);
    default:
      return true;
  }
}

// The rows of `level` a report counts in, written out again: "soc|pt",
// "soc", or the overall keys.
std::vector<std::string> RowsOf(const v1::AdverseEventReport& r,
                                v1::TermLevel level) {
  if (level == v1::TERM_LEVEL_PT) return {r.soc() + "|" + r.pt()};
  if (level == v1::TERM_LEVEL_SOC) return {r.soc()};
  std::vector<std::string> rows = {"any_ae"};
  if (r.serious()) rows.push_back("any_sae");
  if (r.grade() >= 3) rows.push_back("grade_3_plus");
  if (Related(r)) rows.push_back("related");
  if (Fatal(r)) rows.push_back("death");
  for (const auto& c : kAesi) {
    if (HasAesi(r, c)) rows.push_back("aesi:" + c);
  }
  return rows;
}

std::string RowOf(const v1::TermIncidence& t) {
  switch (t.level()) {
    case v1::TERM_LEVEL_PT:
      return t.soc() + "|" + t.pt();
    case v1::TERM_LEVEL_SOC:
      return t.soc();
    default:
      return t.overall_key();
  }
}

// One cell counted by hand; group -1 is the all-groups total.
struct HandCell {
  int64_t cum_subjects = 0, cum_events = 0;
  int64_t int_subjects = 0, int_events = 0;
  int64_t dosed = 0, at_risk = 0;
  std::vector<int64_t> max_grade = std::vector<int64_t>(5, 0);
};

class HandCount {
 public:
  HandCount(std::vector<Ae> aes, Subset subset, v1::TermLevel level)
      : aes_(std::move(aes)), subset_(std::move(subset)), level_(level) {
    for (const Ae& ae : aes_) {
      if (!In(ae.report, subset_)) continue;
      for (const std::string& row : RowsOf(ae.report, level_)) {
        rows_.insert(row);
      }
    }
  }
  // Rows with >= 1 subject in the subset.
  const std::set<std::string>& rows() const { return rows_; }

  HandCell Cell(const std::string& row, int group, int k) const {
    HandCell c;
    std::map<int, int> highest;  // subject -> highest grade by window k
    std::set<int> cum, in_window;
    for (const Ae& ae : aes_) {
      if ((group >= 0 && ae.group != group) || !In(ae.report, subset_)) {
        continue;
      }
      const auto rows = RowsOf(ae.report, level_);
      if (std::find(rows.begin(), rows.end(), row) == rows.end()) continue;
      if (ae.window <= k) {
        ++c.cum_events;
        cum.insert(ae.subject);
        highest[ae.subject] = std::max(highest[ae.subject], ae.report.grade());
      }
      if (ae.window == k) {
        ++c.int_events;
        in_window.insert(ae.subject);
      }
    }
    c.cum_subjects = cum.size();
    c.int_subjects = in_window.size();
    for (const auto& [subject, grade] : highest) ++c.max_grade[grade - 1];
    Denominators(group, k, &c);
    return c;
  }

 private:
  // Dosed: every subject of the group. At risk in window k: followed to its
  // first day, or with any AE (any subset) in window k or later.
  void Denominators(int group, int k, HandCell* c) const {
    const int first_day = k == 0 ? 1 : kDays[k - 1] + 1;
    for (int i = 0; i < kSubjects; ++i) {
      if (group >= 0 && i % 3 != group) continue;
      ++c->dosed;
      bool later_ae = false;
      for (const Ae& ae : aes_) {
        later_ae = later_ae || (ae.subject == i && ae.window >= k);
      }
      if (LastContact(i) >= first_day || later_ae) ++c->at_risk;
    }
  }

  const std::vector<Ae> aes_;
  const Subset subset_;
  const v1::TermLevel level_;
  std::set<std::string> rows_;
};

// --- Reports -----------------------------------------------------------------

v1::AdverseEventReport RandomReport(std::mt19937& rng, int id) {
  auto pick = [&](int n) { return static_cast<int>(rng() % n); };
  v1::AdverseEventReport r;
  r.set_report_id(absl::StrCat("AE-", id));
  r.set_version(1);
  r.set_site_id("01");
  r.set_subject_id(SubjectId(pick(kSubjects)));
  const auto& [soc, pt] = kTerms[pick(kTerms.size())];
  r.set_soc(soc);
  r.set_pt(pt);
  if (pick(6) == 0) {
    r.set_timepoint_id(kTimepoints[pick(3)]);  // a timepoint, no day
  } else {
    r.set_onset_study_day(1 + pick(kDays.back()));
  }
  r.set_grade(1 + pick(5));
  r.set_serious(pick(4) == 0);
  r.set_death(pick(15) == 0);
  if (r.death()) r.set_serious(true);
  r.set_outcome(pick(12) == 0 ? v1::OUTCOME_FATAL : v1::OUTCOME_RECOVERED);
  r.set_relatedness(static_cast<v1::Relatedness>(pick(6)));
  for (const auto& c : kAesi) {
    if (pick(5) == 0) r.add_aesi(c);
  }
  return r;
}

// A follow-up: the same report, another version, changed.
v1::AdverseEventReport FollowUp(std::mt19937& rng,
                                const v1::AdverseEventReport& first,
                                uint32_t version) {
  v1::AdverseEventReport r = RandomReport(rng, 0);
  r.set_report_id(first.report_id());
  r.set_subject_id(first.subject_id());
  r.set_version(version);
  return r;
}

class IncidenceQueryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    OpenStore();
    v1::CreateTrialRequest create;
    *create.mutable_trial() = MakeTrial();
    ASSERT_TRUE(monitor_->CreateTrial(create).ok());
    v1::EnrollSubjectsRequest enroll;
    enroll.set_parent(kParent);
    for (int i = 0; i < kSubjects; ++i) {
      v1::Subject* s = enroll.add_subjects();
      s->set_subject_id(SubjectId(i));
      s->set_site_id("01");
      s->set_dose_group_id(kGroups[i % 3]);
      s->set_last_contact_day(LastContact(i));
    }
    ASSERT_TRUE(monitor_->EnrollSubjects(enroll).ok());
  }

  // The counters disagree with a recount until the store is opened again,
  // when the counting-rule upgrade brings them to the current rule.
  void ReopenExpectingTheUpgrade() {
    const absl::Status before = monitor_->VerifyCounters(kTrial).status();
    EXPECT_EQ(before.code(), absl::StatusCode::kDataLoss) << before;
    monitor_.reset();
    store_.reset();
    OpenStore();
    EXPECT_EQ(*storage::ReadCountingRulesVersion(store_->Latest()),
              kCountingRulesVersion);
    EXPECT_TRUE(monitor_->VerifyCounters(kTrial).ok());
  }

  // The monitor's counting-rule upgrade must succeed unless `may_refuse`.
  void OpenStore(bool may_refuse = false) {
    auto store = storage::Store::Open({.path = dir_.Sub("db")});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    monitor_ = std::make_unique<Monitor>(store_.get());
    if (!may_refuse) {
      ASSERT_TRUE(monitor_->counting_upgrade_status().ok());
    }
  }

  void Submit(const std::vector<v1::AdverseEventReport>& reports) {
    v1::SubmitReportsRequest request;
    request.set_parent(kParent);
    for (const auto& r : reports) *request.add_reports() = r;
    auto response = monitor_->SubmitReports(request);
    ASSERT_TRUE(response.ok()) << response.status();
    for (const auto& result : response->results()) {
      ASSERT_NE(result.status(), v1::REPORT_STATUS_REJECTED) << result.reason();
    }
  }

  // Submits random reports, follow-ups and late lower versions (superseded
  // on arrival), and keeps the final version of each report.
  void SubmitRandomReports(int count, unsigned seed);

  std::vector<Ae> FinalAes() const {
    std::vector<Ae> out;
    for (const auto& [id, r] : final_) {
      if (r.entered_in_error()) continue;
      Ae ae;
      ae.subject = std::stoi(r.subject_id().substr(1));
      ae.group = ae.subject % 3;
      ae.window = r.has_onset_study_day()
                      ? WindowOfDay(r.onset_study_day())
                      : static_cast<int>(std::find(kTimepoints.begin(),
                                                   kTimepoints.end(),
                                                   r.timepoint_id()) -
                                         kTimepoints.begin());
      ae.report = r;
      out.push_back(std::move(ae));
    }
    return out;
  }

  // Every page of a table.
  v1::GetIncidenceResponse Table(v1::GetIncidenceRequest request) {
    request.set_parent(kParent);
    request.set_confidence_level(kConfidence);
    request.set_page_size(2);
    v1::GetIncidenceResponse all;
    for (;;) {
      auto page = monitor_->GetIncidence(request);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok()) return all;
      for (auto& t : *page->mutable_terms()) *all.add_terms() = std::move(t);
      if (page->next_page_token().empty()) return all;
      request.set_page_token(page->next_page_token());
    }
  }

  testing::TempDir dir_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<Monitor> monitor_;
  std::map<std::string, v1::AdverseEventReport> final_;  // by report id
};

void IncidenceQueryTest::SubmitRandomReports(int count, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<v1::AdverseEventReport> first, later, late;
  for (int i = 0; i < count; ++i) {
    first.push_back(RandomReport(rng, i));
    final_[first.back().report_id()] = first.back();
  }
  for (int i = 0; i < count; i += 4) {
    later.push_back(FollowUp(rng, first[i], 3));
    if (i % 12 == 4) {  // withdrawn: counts nowhere
      later.back().set_entered_in_error(true);
      later.back().set_entered_in_error_reason("entered in error");
    }
    final_[first[i].report_id()] = later.back();
    if (i % 8 == 0) late.push_back(FollowUp(rng, first[i], 2));  // superseded
  }
  Submit(first);
  Submit(later);
  Submit(late);
}

// --- Comparing --------------------------------------------------------------

void ExpectEstimate(const v1::Estimate& e, int64_t x, int64_t events, int64_t n,
                    const std::string& where) {
  SCOPED_TRACE(where);
  EXPECT_EQ(e.subjects(), x);
  EXPECT_EQ(e.events(), events);
  EXPECT_EQ(e.denominator(), n);
  auto ci = signal::ClopperPearson(x, n, kConfidence);
  ASSERT_TRUE(ci.ok()) << ci.status();
  EXPECT_DOUBLE_EQ(e.proportion(), n == 0 ? 0 : static_cast<double>(x) / n);
  EXPECT_DOUBLE_EQ(e.ci_lower(), ci->lower);
  EXPECT_DOUBLE_EQ(e.ci_upper(), ci->upper);
}

// `has`: whether the cell has the comparison; a treated group's cell must
// whenever both denominators are positive, the control's never.
void ExpectComparison(const v1::ControlComparison& c, bool has, bool treated,
                      int64_t x1, int64_t n1, int64_t x0, int64_t n0,
                      const std::string& where) {
  SCOPED_TRACE(where);
  ASSERT_EQ(has, treated && n1 > 0 && n0 > 0);
  if (!has) return;
  EXPECT_EQ(c.control_dose_group_id(), "PBO");
  EXPECT_EQ(c.control_subjects(), x0);
  EXPECT_EQ(c.control_denominator(), n0);
  auto rd = signal::MiettinenNurminenDifference(x1, n1, x0, n0, kConfidence);
  auto rr = signal::MiettinenNurminenRatio(x1, n1, x0, n0, kConfidence);
  ASSERT_TRUE(rd.ok() && rr.ok());
  EXPECT_DOUBLE_EQ(c.risk_difference(), rd->difference);
  EXPECT_DOUBLE_EQ(c.risk_difference_lower(), rd->lower);
  EXPECT_DOUBLE_EQ(c.risk_difference_upper(), rd->upper);
  EXPECT_EQ(c.has_relative_risk(), x0 > 0);
  if (x0 > 0) {
    EXPECT_DOUBLE_EQ(c.relative_risk(), rr->ratio);
  }
  EXPECT_EQ(c.has_relative_risk_lower(), x0 > 0 || x1 > 0);
  EXPECT_EQ(c.has_relative_risk_upper(), x0 > 0);
}

// One cell: the counts, the highest grades and, for a treated group, the
// comparisons with the control group's hand-counted cell.
void ExpectCell(const v1::IncidenceCell& cell, const HandCell& hand,
                const HandCell& control, bool treated, bool extras,
                const std::string& where) {
  EXPECT_EQ(cell.n_dosed(), hand.dosed) << where;
  EXPECT_EQ(cell.n_at_risk(), hand.at_risk) << where;
  ExpectEstimate(cell.cumulative(), hand.cum_subjects, hand.cum_events,
                 hand.dosed, where + " cumulative");
  ExpectEstimate(cell.interval(), hand.int_subjects, hand.int_events,
                 hand.at_risk, where + " interval");
  if (!extras) {
    EXPECT_EQ(cell.max_grade_subjects_size(), 0) << where;
    EXPECT_FALSE(cell.has_cumulative_vs_control()) << where;
    return;
  }
  EXPECT_THAT(cell.max_grade_subjects(),
              ::testing::ElementsAreArray(hand.max_grade))
      << where;
  ExpectComparison(cell.cumulative_vs_control(),
                   cell.has_cumulative_vs_control(), treated, hand.cum_subjects,
                   hand.dosed, control.cum_subjects, control.dosed,
                   where + " cumulative vs control");
  ExpectComparison(cell.interval_vs_control(), cell.has_interval_vs_control(),
                   treated, hand.int_subjects, hand.at_risk,
                   control.int_subjects, control.at_risk,
                   where + " interval vs control");
}

void ExpectTrends(const v1::TermIncidence& term, const HandCount& hand) {
  ASSERT_EQ(term.dose_trends_size(), 3);
  for (int k = 0; k < 3; ++k) {
    std::vector<int64_t> x, n;
    for (int g = 0; g < 3; ++g) {
      const HandCell c = hand.Cell(RowOf(term), g, k);
      x.push_back(c.cum_subjects);
      n.push_back(c.dosed);
    }
    auto trend =
        signal::CochranArmitage(x, n, kDoses, signal::ServerTrendOptions());
    ASSERT_TRUE(trend.ok());
    const v1::IncidenceTrend& t = term.dose_trends(k);
    EXPECT_EQ(t.timepoint_id(), kTimepoints[k]);
    EXPECT_DOUBLE_EQ(t.p_value(), trend->p) << RowOf(term);
    EXPECT_DOUBLE_EQ(t.z(), trend->z);
    EXPECT_EQ(t.scores(), "dose scores");
  }
}

// Every row and cell of `table` against the hand count.
void ExpectTable(const v1::GetIncidenceResponse& table, const HandCount& hand,
                 v1::TermLevel level, bool extras) {
  std::vector<std::string> rows;
  for (const auto& term : table.terms()) rows.push_back(RowOf(term));
  if (level != v1::TERM_LEVEL_OVERALL) {
    EXPECT_THAT(rows, ::testing::ElementsAreArray(hand.rows()));
  } else {
    EXPECT_THAT(rows, ::testing::ElementsAre(
                          "any_ae", "any_sae", "grade_3_plus", "related",
                          "death", "aesi:infection", "aesi:bleeding"));
  }
  for (const auto& term : table.terms()) {
    ASSERT_EQ(term.cells_size(), 4 * 3);
    for (int g = -1; g < 3; ++g) {
      for (int k = 0; k < 3; ++k) {
        const v1::IncidenceCell& cell = term.cells((g < 0 ? 3 : g) * 3 + k);
        const std::string where =
            absl::StrCat(RowOf(term), " group ", g, " window ", k);
        ExpectCell(cell, hand.Cell(RowOf(term), g, k),
                   hand.Cell(RowOf(term), 0, k), g > 0, extras, where);
      }
    }
    if (extras) ExpectTrends(term, hand);
  }
}

v1::GetIncidenceRequest Request(v1::TermLevel level, const Subset& subset,
                                bool extras) {
  v1::GetIncidenceRequest request;
  request.set_level(level);
  request.set_subset(subset.subset);
  request.set_aesi_category(subset.aesi);
  request.set_max_grade(extras);
  request.set_compare_to_control(extras);
  request.set_dose_trend(extras);
  return request;
}

const std::vector<Subset>& Subsets() {
  static const auto* subsets =
      new std::vector<Subset>{{v1::INCIDENCE_SUBSET_UNSPECIFIED, ""},
                              {v1::INCIDENCE_SUBSET_SERIOUS, ""},
                              {v1::INCIDENCE_SUBSET_GRADE_3_PLUS, ""},
                              {v1::INCIDENCE_SUBSET_RELATED, ""},
                              {v1::INCIDENCE_SUBSET_DEATH, ""},
                              {v1::INCIDENCE_SUBSET_AESI, "bleeding"}};
  return *subsets;
}

TEST_F(IncidenceQueryTest, EveryCellOfEverySubsetMatchesAHandCount) {
  SubmitRandomReports(160, 20240611);
  ASSERT_TRUE(monitor_->VerifyCounters(kTrial).ok());
  const std::vector<Ae> aes = FinalAes();
  for (v1::TermLevel level :
       {v1::TERM_LEVEL_PT, v1::TERM_LEVEL_SOC, v1::TERM_LEVEL_OVERALL}) {
    for (const Subset& subset : Subsets()) {
      for (bool extras : {false, true}) {
        SCOPED_TRACE(absl::StrCat(v1::TermLevel_Name(level), " ",
                                  v1::IncidenceSubset_Name(subset.subset),
                                  extras ? " with extras" : ""));
        const HandCount hand(aes, subset, level);
        ExpectTable(Table(Request(level, subset, extras)), hand, level, extras);
      }
    }
  }
}

TEST_F(IncidenceQueryTest, OneRowAndCellFiltersOfASubset) {
  SubmitRandomReports(80, 7);
  const HandCount hand(FinalAes(), {v1::INCIDENCE_SUBSET_GRADE_3_PLUS, ""},
                       v1::TERM_LEVEL_SOC);
  ASSERT_FALSE(hand.rows().empty());
  v1::GetIncidenceRequest request = Request(
      v1::TERM_LEVEL_SOC, {v1::INCIDENCE_SUBSET_GRADE_3_PLUS, ""}, true);
  request.set_soc(*hand.rows().begin());
  request.set_dose_group_id("HIGH");
  request.set_timepoint_id("W12");
  const v1::GetIncidenceResponse table = Table(request);
  ASSERT_EQ(table.terms_size(), 1);
  ASSERT_EQ(table.terms(0).cells_size(), 1);
  ExpectCell(table.terms(0).cells(0), hand.Cell(*hand.rows().begin(), 2, 1),
             hand.Cell(*hand.rows().begin(), 0, 1), true, true, "HIGH W12");
  ASSERT_EQ(table.terms(0).dose_trends_size(), 1);
  EXPECT_EQ(table.terms(0).dose_trends(0).timepoint_id(), "W12");
  // The one trend asked for is the whole row's trend at that timepoint.
  v1::GetIncidenceRequest whole = request;
  whole.clear_dose_group_id();
  whole.clear_timepoint_id();
  const v1::GetIncidenceResponse row = Table(whole);
  ASSERT_EQ(row.terms_size(), 1);
  ASSERT_EQ(row.terms(0).dose_trends_size(), 3);
  EXPECT_EQ(table.terms(0).dose_trends(0).DebugString(),
            row.terms(0).dose_trends(1).DebugString());
  // A term outside the subset is an all-zero row.
  request.set_soc("No such SOC");
  const v1::GetIncidenceResponse zero = Table(request);
  ASSERT_EQ(zero.terms_size(), 1);
  EXPECT_EQ(zero.terms(0).cells(0).cumulative().subjects(), 0);
  EXPECT_THAT(zero.terms(0).cells(0).max_grade_subjects(),
              ::testing::ElementsAre(0, 0, 0, 0, 0));
}

// The DebugStrings of the messages in `items` that `keep` accepts.
template <typename Items, typename Keep>
std::vector<std::string> DebugStringsOf(const Items& items, Keep keep) {
  std::vector<std::string> out;
  for (const auto& item : items) {
    if (keep(item)) out.push_back(item.DebugString());
  }
  return out;
}

// A filtered table is the whole table's cells that match the filters, with
// their comparisons and the filtered timepoint's trends: for every dose
// group and timepoint filter, alone and together (the extras are computed
// only for the cells a filter keeps).
TEST_F(IncidenceQueryTest, EveryCellFilterKeepsTheWholeTablesCells) {
  SubmitRandomReports(80, 11);
  const auto every = [](const auto&) { return true; };
  for (v1::TermLevel level : {v1::TERM_LEVEL_PT, v1::TERM_LEVEL_SOC}) {
    const v1::GetIncidenceRequest whole_request =
        Request(level, {v1::INCIDENCE_SUBSET_UNSPECIFIED, ""}, true);
    const v1::GetIncidenceResponse whole = Table(whole_request);
    ASSERT_GT(whole.terms_size(), 0);
    std::vector<std::string> groups = kGroups, timepoints = kTimepoints;
    groups.push_back("");
    timepoints.push_back("");
    for (const std::string& group : groups) {
      for (const std::string& timepoint : timepoints) {
        SCOPED_TRACE(absl::StrCat(v1::TermLevel_Name(level), " group '", group,
                                  "' timepoint '", timepoint, "'"));
        v1::GetIncidenceRequest request = whole_request;
        request.set_dose_group_id(group);
        request.set_timepoint_id(timepoint);
        const v1::GetIncidenceResponse filtered = Table(request);
        ASSERT_EQ(filtered.terms_size(), whole.terms_size());
        const auto kept_timepoint = [&](const auto& m) {
          return timepoint.empty() || m.timepoint_id() == timepoint;
        };
        const auto kept_cell = [&](const v1::IncidenceCell& cell) {
          return (group.empty() || cell.dose_group_id() == group) &&
                 kept_timepoint(cell);
        };
        int compared = 0;
        for (int t = 0; t < whole.terms_size(); ++t) {
          const v1::TermIncidence& all = whole.terms(t);
          const v1::TermIncidence& some = filtered.terms(t);
          EXPECT_EQ(DebugStringsOf(some.cells(), every),
                    DebugStringsOf(all.cells(), kept_cell))
              << all.label();
          EXPECT_EQ(DebugStringsOf(some.dose_trends(), every),
                    DebugStringsOf(all.dose_trends(), kept_timepoint))
              << all.label();
          for (const v1::IncidenceCell& cell : some.cells()) {
            compared += cell.has_cumulative_vs_control();
          }
        }
        // Not vacuous: the kept treated cells carry their comparisons.
        if (group != "PBO") {
          EXPECT_GT(compared, 0);
        }
      }
    }
  }
}

// --- The request's checks ----------------------------------------------------

void ExpectViolation(const absl::StatusOr<v1::GetIncidenceResponse>& r,
                     const std::string& field) {
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  const auto violations = errors::ViolationsOf(r.status());
  ASSERT_EQ(violations.size(), 1u) << r.status();
  EXPECT_EQ(violations[0].field, field);
}

// The counts view answers the full view's counts, for every subset, with
// max grades, a data cut-off and filters, and no proportion or interval.
TEST_F(IncidenceQueryTest, TheCountsViewIsTheFullViewWithoutStatistics) {
  SubmitRandomReports(80, 11);
  for (const Subset& subset : Subsets()) {
    for (bool max_grade : {false, true}) {
      SCOPED_TRACE(absl::StrCat(v1::IncidenceSubset_Name(subset.subset),
                                max_grade ? " with max grades" : ""));
      v1::GetIncidenceRequest request =
          Request(v1::TERM_LEVEL_PT, subset, false);
      request.set_max_grade(max_grade);
      const v1::GetIncidenceResponse full = Table(request);
      request.set_view(v1::INCIDENCE_VIEW_COUNTS);
      const v1::GetIncidenceResponse counts = Table(request);
      v1::GetIncidenceResponse expected = full;
      int nonzero = 0;
      for (v1::TermIncidence& term : *expected.mutable_terms()) {
        for (v1::IncidenceCell& cell : *term.mutable_cells()) {
          for (v1::Estimate* e :
               {cell.mutable_cumulative(), cell.mutable_interval()}) {
            nonzero += e->proportion() > 0;
            e->clear_proportion();
            e->clear_ci_lower();
            e->clear_ci_upper();
          }
        }
      }
      EXPECT_GT(nonzero, 0);  // the full view had statistics to leave out
      EXPECT_EQ(counts.SerializeAsString(), expected.SerializeAsString());
      EXPECT_LT(counts.ByteSizeLong(), full.ByteSizeLong());
    }
  }
}

// A columns view's page in the counts view's shape: each term given its
// cells back from the columns.
v1::GetIncidenceResponse AsCells(const v1::GetIncidenceResponse& page) {
  const v1::IncidenceColumns& columns = page.columns();
  const int n = columns.cells_size();
  const int values = page.terms_size() * n;
  EXPECT_EQ(columns.cumulative_subjects_size(), values);
  EXPECT_EQ(columns.cumulative_events_size(), values);
  EXPECT_EQ(columns.interval_subjects_size(), values);
  EXPECT_EQ(columns.interval_events_size(), values);
  const bool grades = columns.max_grade_subjects_size() > 0;
  if (grades) {
    EXPECT_EQ(columns.max_grade_subjects_size(), values * 5);
  }
  v1::GetIncidenceResponse out = page;
  out.clear_columns();
  for (int t = 0; t < out.terms_size() && !::testing::Test::HasFailure(); ++t) {
    v1::TermIncidence* term = out.mutable_terms(t);
    EXPECT_EQ(term->cells_size(), 0);
    for (int c = 0; c < n; ++c) {
      const int k = t * n + c;
      v1::IncidenceCell* cell = term->add_cells();
      *cell = columns.cells(c);
      EXPECT_FALSE(cell->has_cumulative() || cell->has_interval());
      cell->mutable_cumulative()->set_subjects(columns.cumulative_subjects(k));
      cell->mutable_cumulative()->set_events(columns.cumulative_events(k));
      cell->mutable_cumulative()->set_denominator(cell->n_dosed());
      cell->mutable_interval()->set_subjects(columns.interval_subjects(k));
      cell->mutable_interval()->set_events(columns.interval_events(k));
      cell->mutable_interval()->set_denominator(cell->n_at_risk());
      for (int g = 0; grades && g < 5; ++g) {
        cell->add_max_grade_subjects(columns.max_grade_subjects(k * 5 + g));
      }
    }
  }
  return out;
}

// The columns view is the counts view as columns, page by page, at every
// level, for every subset, with max grades, cell filters and a data
// cut-off; an empty page still describes its cells.
TEST_F(IncidenceQueryTest, TheColumnsViewIsTheCountsViewAsColumns) {
  SubmitRandomReports(80, 11);
  const std::vector<std::pair<std::string, std::string>> filters = {
      {"", ""}, {"LOW", ""}, {"", "W12"}, {"HIGH", "W4"}};
  int pages = 0, subjects = 0, grades = 0;
  for (v1::TermLevel level :
       {v1::TERM_LEVEL_PT, v1::TERM_LEVEL_SOC, v1::TERM_LEVEL_OVERALL}) {
    for (const Subset& subset : Subsets()) {
      for (int variant = 0; variant < 3; ++variant) {
        for (const auto& [group, timepoint] : filters) {
          v1::GetIncidenceRequest request = Request(level, subset, false);
          request.set_parent(kParent);
          request.set_page_size(2);
          request.set_max_grade(variant == 1);
          if (variant == 2) {
            request.mutable_as_of()->set_seconds(
                absl::ToUnixSeconds(absl::Now()));
          }
          request.set_dose_group_id(group);
          request.set_timepoint_id(timepoint);
          SCOPED_TRACE(request.ShortDebugString());
          // A page token is bound to its view: each view pages on its own.
          v1::GetIncidenceRequest counts_request = request;
          counts_request.set_view(v1::INCIDENCE_VIEW_COUNTS);
          request.set_view(v1::INCIDENCE_VIEW_COLUMNS);
          for (;;) {
            auto counts = monitor_->GetIncidence(counts_request);
            auto columns = monitor_->GetIncidence(request);
            ASSERT_TRUE(counts.ok()) << counts.status();
            ASSERT_TRUE(columns.ok()) << columns.status();
            ASSERT_EQ(columns->next_page_token().empty(),
                      counts->next_page_token().empty());
            counts_request.set_page_token(counts->next_page_token());
            counts->clear_next_page_token();
            v1::GetIncidenceResponse reshaped = AsCells(*columns);
            reshaped.clear_next_page_token();
            EXPECT_EQ(reshaped.SerializeAsString(),
                      counts->SerializeAsString());
            EXPECT_FALSE(counts->has_columns());
            // The cells are described on every page, even an empty one.
            EXPECT_EQ(columns->columns().cells_size(),
                      (group.empty() ? 4 : 1) * (timepoint.empty() ? 3 : 1));
            ++pages;
            for (int n : columns->columns().cumulative_subjects()) {
              subjects += n;
            }
            grades += columns->columns().max_grade_subjects_size();
            if (columns->next_page_token().empty()) break;
            request.set_page_token(columns->next_page_token());
          }
        }
      }
    }
  }
  // The comparison was over pages with counts in them.
  EXPECT_GT(pages, 200);
  EXPECT_GT(subjects, 0);
  EXPECT_GT(grades, 0);
}

TEST_F(IncidenceQueryTest, TheCountsViewRefusesStatisticsAndUnknownViews) {
  v1::GetIncidenceRequest request;
  request.set_parent(kParent);
  request.set_level(v1::TERM_LEVEL_PT);
  for (v1::IncidenceView view :
       {v1::INCIDENCE_VIEW_COUNTS, v1::INCIDENCE_VIEW_COLUMNS}) {
    request.set_view(view);
    request.set_compare_to_control(true);
    ExpectViolation(monitor_->GetIncidence(request), "compare_to_control");
    request.set_compare_to_control(false);
    request.set_dose_trend(true);
    ExpectViolation(monitor_->GetIncidence(request), "dose_trend");
    request.set_dose_trend(false);
  }
  request.set_dose_trend(true);
  request.set_view(v1::INCIDENCE_VIEW_FULL);
  EXPECT_TRUE(monitor_->GetIncidence(request).ok());
  request.set_view(static_cast<v1::IncidenceView>(7));
  ExpectViolation(monitor_->GetIncidence(request), "view");
}

// A row named at another level is refused on the field that names it.
TEST_F(IncidenceQueryTest, ARowOfAnotherLevelIsNamedByItsField) {
  v1::GetIncidenceRequest request;
  request.set_parent(kParent);
  request.set_level(v1::TERM_LEVEL_PT);
  request.set_overall_key("any_ae");
  ExpectViolation(monitor_->GetIncidence(request), "overall_key");
  request.set_level(v1::TERM_LEVEL_SOC);
  ExpectViolation(monitor_->GetIncidence(request), "overall_key");
  request.set_level(v1::TERM_LEVEL_OVERALL);
  request.set_soc("Infections");
  ExpectViolation(monitor_->GetIncidence(request), "soc");
  request.set_pt("Sepsis");
  ExpectViolation(monitor_->GetIncidence(request), "pt");
  request.clear_soc();
  request.clear_pt();
  EXPECT_TRUE(monitor_->GetIncidence(request).ok());
}

// Unknown cell filters are each named, both when both are wrong.
TEST_F(IncidenceQueryTest, UnknownCellFiltersAreEachNamed) {
  v1::GetIncidenceRequest request;
  request.set_parent(kParent);
  request.set_level(v1::TERM_LEVEL_PT);
  request.set_dose_group_id("HIGHH");
  ExpectViolation(monitor_->GetIncidence(request), "dose_group_id");
  request.set_timepoint_id("W13");
  auto refused = monitor_->GetIncidence(request);
  ASSERT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(errors::ViolatedFields(refused.status()),
              ::testing::ElementsAre("dose_group_id", "timepoint_id"));
  request.set_dose_group_id("HIGH");
  ExpectViolation(monitor_->GetIncidence(request), "timepoint_id");
  request.set_timepoint_id("W12");
  EXPECT_TRUE(monitor_->GetIncidence(request).ok());
}

TEST_F(IncidenceQueryTest, RefusesSubsetsAndComparisonsTheTrialCannotHave) {
  v1::GetIncidenceRequest request;
  request.set_parent(kParent);
  request.set_level(v1::TERM_LEVEL_PT);
  request.set_subset(v1::INCIDENCE_SUBSET_AESI);
  ExpectViolation(monitor_->GetIncidence(request), "aesi_category");
  request.set_aesi_category("malignancy");  // not the trial's
  ExpectViolation(monitor_->GetIncidence(request), "aesi_category");
  request.set_subset(v1::INCIDENCE_SUBSET_SERIOUS);
  ExpectViolation(monitor_->GetIncidence(request), "aesi_category");
  request.clear_aesi_category();
  request.set_subset(static_cast<v1::IncidenceSubset>(99));
  ExpectViolation(monitor_->GetIncidence(request), "subset");

  // A trial of two groups without a control arm.
  v1::Trial two = MakeTrial();
  two.set_trial_id("TWO");
  two.mutable_dose_groups()->RemoveLast();
  two.mutable_dose_groups(0)->set_control(false);
  v1::CreateTrialRequest create;
  *create.mutable_trial() = two;
  ASSERT_TRUE(monitor_->CreateTrial(create).ok());
  v1::GetIncidenceRequest other;
  other.set_parent("trials/TWO");
  other.set_level(v1::TERM_LEVEL_OVERALL);
  other.set_compare_to_control(true);
  ExpectViolation(monitor_->GetIncidence(other), "compare_to_control");
  other.set_compare_to_control(false);
  other.set_dose_trend(true);
  ExpectViolation(monitor_->GetIncidence(other), "dose_trend");
}

TEST_F(IncidenceQueryTest, APageTokenContinuesOnlyItsOwnSubset) {
  SubmitRandomReports(60, 3);
  v1::GetIncidenceRequest request =
      Request(v1::TERM_LEVEL_PT, {v1::INCIDENCE_SUBSET_UNSPECIFIED, ""}, true);
  request.set_parent(kParent);
  request.set_page_size(1);
  auto first = monitor_->GetIncidence(request);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_FALSE(first->next_page_token().empty());
  request.set_page_token(first->next_page_token());
  request.set_subset(v1::INCIDENCE_SUBSET_SERIOUS);
  ExpectViolation(monitor_->GetIncidence(request), "page_token");
}

// --- Data cut-off (as_of) ----------------------------------------------------

// The time now, after a pause: data stored before it have earlier times and
// data stored after it later ones (the store stamps with absl::Now()).
google::protobuf::Timestamp CutOffNow() {
  absl::SleepFor(absl::Milliseconds(5));
  const absl::Time now = absl::Now();
  absl::SleepFor(absl::Milliseconds(5));
  google::protobuf::Timestamp t;
  t.set_seconds(absl::ToUnixSeconds(now));
  t.set_nanos(static_cast<int32_t>(
      (now - absl::FromUnixSeconds(absl::ToUnixSeconds(now))) /
      absl::Nanoseconds(1)));
  return t;
}

// Every table an as-of check compares: each level and subset, with and
// without the extras, and with both cell filters.
std::vector<v1::GetIncidenceRequest> EveryTable() {
  std::vector<v1::GetIncidenceRequest> out;
  for (v1::TermLevel level :
       {v1::TERM_LEVEL_PT, v1::TERM_LEVEL_SOC, v1::TERM_LEVEL_OVERALL}) {
    for (const Subset& subset : Subsets()) {
      for (bool extras : {false, true}) {
        out.push_back(Request(level, subset, extras));
      }
    }
    v1::GetIncidenceRequest filtered =
        Request(level, {v1::INCIDENCE_SUBSET_UNSPECIFIED, ""}, true);
    filtered.set_dose_group_id("HIGH");
    filtered.set_timepoint_id("W12");
    out.push_back(std::move(filtered));
  }
  return out;
}

std::string TableName(const v1::GetIncidenceRequest& request) {
  return absl::StrCat(v1::TermLevel_Name(request.level()), " ",
                      v1::IncidenceSubset_Name(request.subset()),
                      request.max_grade() ? " with extras" : "",
                      request.dose_group_id().empty() ? "" : " filtered");
}

class IncidenceAsOfTest : public IncidenceQueryTest {
 protected:
  // Every table of EveryTable(), live or as of `as_of` (their terms: Table
  // keeps nothing else, so the live and the as-of answers compare).
  std::vector<v1::GetIncidenceResponse> Tables(
      const std::optional<google::protobuf::Timestamp>& as_of) {
    std::vector<v1::GetIncidenceResponse> out;
    for (v1::GetIncidenceRequest request : EveryTable()) {
      if (as_of.has_value()) *request.mutable_as_of() = *as_of;
      out.push_back(Table(request));
    }
    return out;
  }

  static void ExpectSameTables(
      const std::vector<v1::GetIncidenceResponse>& expected,
      const std::vector<v1::GetIncidenceResponse>& actual) {
    const std::vector<v1::GetIncidenceRequest> requests = EveryTable();
    ASSERT_EQ(expected.size(), actual.size());
    for (size_t i = 0; i < expected.size(); ++i) {
      SCOPED_TRACE(TableName(requests[i]));
      EXPECT_GT(expected[i].terms_size(), 0);
      google::protobuf::util::MessageDifferencer differ;
      std::string differences;
      differ.ReportDifferencesToString(&differences);
      EXPECT_TRUE(differ.Compare(expected[i], actual[i]))
          << differences.substr(0, 1500);
    }
  }

  void Enroll(const std::vector<v1::Subject>& subjects) {
    v1::EnrollSubjectsRequest enroll;
    enroll.set_parent(kParent);
    for (const auto& s : subjects) *enroll.add_subjects() = s;
    auto response = monitor_->EnrollSubjects(enroll);
    ASSERT_TRUE(response.ok()) << response.status();
  }

  // Everything that may arrive after a cut-off: new reports, follow-ups of
  // old ones, new subjects with reports, follow-up and withdrawal updates
  // of enrolled subjects, and a baseline revision.
  void EverythingLater(unsigned seed);
};

void IncidenceAsOfTest::EverythingLater(unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<v1::AdverseEventReport> reports;
  int follow_ups = 0;
  for (auto& [id, r] : final_) {
    if (follow_ups++ % 3 != 0) continue;
    reports.push_back(FollowUp(rng, r, r.version() + 5));
    if (follow_ups % 4 == 1) {  // withdrawn after the cut-off
      reports.back().set_entered_in_error(true);
      reports.back().set_entered_in_error_reason("entered in error");
    }
  }
  for (int i = 0; i < 40; ++i) reports.push_back(RandomReport(rng, 1000 + i));
  std::vector<v1::Subject> subjects;
  for (int i = kSubjects; i < kSubjects + 6; ++i) {
    v1::Subject& s = subjects.emplace_back();
    s.set_subject_id(SubjectId(i));
    s.set_site_id("01");
    s.set_dose_group_id(kGroups[i % 3]);
    s.set_last_contact_day(100);
  }
  for (int i = 0; i < kSubjects; i += 5) {  // followed further, or withdrawn
    v1::Subject& s = subjects.emplace_back();
    s.set_subject_id(SubjectId(i));
    s.set_site_id("01");
    s.set_dose_group_id(kGroups[i % 3]);
    s.set_last_contact_day(168);
    if (i % 10 == 0) {
      s.set_status(v1::FOLLOW_UP_STATUS_WITHDRAWN);
      s.set_withdrawal_reason("WITHDRAWAL BY SUBJECT");
    }
  }
  Enroll(subjects);
  for (int i = kSubjects; i < kSubjects + 6; ++i) {
    v1::AdverseEventReport r = RandomReport(rng, 2000 + i);
    r.set_subject_id(SubjectId(i));
    reports.push_back(r);
  }
  Submit(reports);
  v1::PutBaselinesRequest put;
  put.set_parent(kParent);
  v1::Baseline* b = put.add_baselines();
  b->set_baseline_id("rash");
  b->set_level(v1::TERM_LEVEL_PT);
  b->set_soc("Skin");
  b->set_pt("Rash");
  b->set_timepoint_id("W4");
  b->set_expected_proportion(0.01);
  b->set_citation("revised after the cut-off");
  ASSERT_TRUE(monitor_->signals().PutBaselines(put).ok());
}

TEST_F(IncidenceAsOfTest, AsOfNowIsTheLiveAnswerForEveryTable) {
  SubmitRandomReports(160, 20260501);
  const google::protobuf::Timestamp now = CutOffNow();
  ExpectSameTables(Tables(std::nullopt), Tables(now));
}

TEST_F(IncidenceAsOfTest, AnAnswerAtACutOffIgnoresEverythingLater) {
  SubmitRandomReports(120, 11);
  const std::vector<v1::GetIncidenceResponse> then = Tables(std::nullopt);
  const google::protobuf::Timestamp cut = CutOffNow();
  EverythingLater(12);
  ExpectSameTables(then, Tables(cut));
  // The later data did change the live tables (else the check is empty),
  // and a cut-off after them is the live answer again.
  const std::vector<v1::GetIncidenceResponse> live = Tables(std::nullopt);
  EXPECT_FALSE(google::protobuf::util::MessageDifferencer::Equals(
      live[0].terms(0), then[0].terms(0)));
  ExpectSameTables(live, Tables(CutOffNow()));
}

TEST_F(IncidenceAsOfTest, AFutureCutOffIsRefusedAndOneBeforeTheTrialIsEmpty) {
  SubmitRandomReports(40, 5);
  v1::GetIncidenceRequest request = Request(
      v1::TERM_LEVEL_OVERALL, {v1::INCIDENCE_SUBSET_UNSPECIFIED, ""}, true);
  request.set_parent(kParent);
  request.mutable_as_of()->set_seconds(absl::ToUnixSeconds(absl::Now()) + 3600);
  ExpectViolation(monitor_->GetIncidence(request), "as_of");
  request.mutable_as_of()->set_nanos(-1);
  ExpectViolation(monitor_->GetIncidence(request), "as_of");

  request.mutable_as_of()->set_seconds(946684800);  // 2000-01-01
  request.mutable_as_of()->set_nanos(0);
  auto overall = monitor_->GetIncidence(request);
  ASSERT_TRUE(overall.ok()) << overall.status();
  EXPECT_EQ(overall->as_of().seconds(), 946684800);
  ASSERT_GT(overall->terms_size(), 0);  // every overall row, all zero
  for (const v1::TermIncidence& term : overall->terms()) {
    for (const v1::IncidenceCell& cell : term.cells()) {
      EXPECT_EQ(cell.n_dosed(), 0);
      EXPECT_EQ(cell.cumulative().subjects(), 0);
    }
  }
  request.set_level(v1::TERM_LEVEL_PT);
  auto pt = monitor_->GetIncidence(request);
  ASSERT_TRUE(pt.ok()) << pt.status();
  EXPECT_EQ(pt->terms_size(), 0);
}

// --- The counting-rule upgrade -----------------------------------------------

TEST_F(IncidenceQueryTest, AStoreWithoutTheDeathRowGetsItOnOpen) {
  SubmitRandomReports(120, 99);
  ASSERT_TRUE(monitor_->signals().WaitIdle(absl::Seconds(30)).ok());
  // The store as a build before the `death` row left it: no death states
  // or counters, counting rules version 1.
  const storage::TermKey death{storage::Level::kOverall, "", "", "death"};
  ASSERT_TRUE(
      store_
          ->Commit([&](storage::Txn& txn) {
            std::vector<std::string> keys;
            // A term's states follow its counter row key.
            const std::string prefix = storage::CounterRowKey(kTrial, death);
            EXPECT_TRUE(txn.Scan(storage::Cf::kSubjectTerms, prefix, "",
                                 [&](std::string_view key, std::string_view) {
                                   keys.emplace_back(key);
                                   return true;
                                 })
                            .ok());
            EXPECT_FALSE(keys.empty());
            for (const auto& k : keys) {
              txn.Delete(storage::Cf::kSubjectTerms, k);
            }
            txn.Delete(storage::Cf::kCounters,
                       storage::CounterRowKey(kTrial, death));
            storage::WriteCountingRulesVersion(txn, 1);
            return absl::OkStatus();
          })
          .ok());
  // Reopened: the upgrade recounts the row from the reports.
  ReopenExpectingTheUpgrade();
  const Subset all;
  const HandCount hand(FinalAes(), all, v1::TERM_LEVEL_OVERALL);
  ASSERT_TRUE(hand.rows().contains("death"));
  ExpectTable(Table(Request(v1::TERM_LEVEL_OVERALL, all, false)), hand,
              v1::TERM_LEVEL_OVERALL, false);
  // Every row is evaluated again (the pre-specified rows gained one), and
  // the signals agree with the counters.
  ASSERT_TRUE(monitor_->signals().WaitIdle(absl::Seconds(30)).ok());
  EXPECT_TRUE(monitor_->signals().VerifySignals(kTrial).ok());
  // Opening again changes nothing.
  monitor_.reset();
  store_.reset();
  OpenStore();
  EXPECT_TRUE(monitor_->VerifyCounters(kTrial).ok());
}

// The rows rule version 2 counted: a report that gave no relatedness was
// not in the related row.
std::vector<storage::TermKey> RowsOfRuleTwo(const v1::AdverseEventReport& r) {
  std::vector<storage::TermKey> rows = CountedRows(r);
  if (r.relatedness() == v1::RELATEDNESS_UNSPECIFIED) {
    std::erase(rows, OverallTerm(kRelated));
  }
  return rows;
}

// Replaces the related row's states and counters with a recount by
// `rows_of`, and records counting rules version `version`.
absl::Status RecountRelated(storage::Store& store,
                            const storage::CountedRowsFn& rows_of,
                            int version) {
  return store.Commit([&](storage::Txn& txn) -> absl::Status {
    AESIGNAL_ASSIGN_OR_RETURN(v1::Trial trial,
                              internal::LoadTrial(txn, kTrial));
    AESIGNAL_ASSIGN_OR_RETURN(const storage::SubjectGroups groups,
                              internal::ReadSubjectGroups(txn, trial));
    const storage::TermKey related = OverallTerm(kRelated);
    AESIGNAL_RETURN_IF_ERROR(storage::RecountTerms(
        txn, kTrial, trial.timepoints_size(), {&related, 1}, rows_of, groups));
    storage::WriteCountingRulesVersion(txn, version);
    return absl::OkStatus();
  });
}

TEST_F(IncidenceQueryTest, ReportsWithoutRelatednessJoinTheRelatedRowOnOpen) {
  SubmitRandomReports(150, 31);
  ASSERT_TRUE(monitor_->signals().WaitIdle(absl::Seconds(30)).ok());
  const std::vector<Ae> aes = FinalAes();
  ASSERT_TRUE(std::any_of(aes.begin(), aes.end(), [](const Ae& ae) {
    return ae.report.relatedness() == v1::RELATEDNESS_UNSPECIFIED;
  }));
  // The store as rule version 2 left it, in schema 3 (which a build before
  // rule 3 reads; schema 4 keeps such a build out).
  ASSERT_TRUE(RecountRelated(*store_, RowsOfRuleTwo, 2).ok());
  ASSERT_TRUE(store_
                  ->Commit([](storage::Txn& txn) {
                    txn.Put(storage::Cf::kMeta, "schema_version", "3");
                    return absl::OkStatus();
                  })
                  .ok());
  ReopenExpectingTheUpgrade();
  auto schema = store_->Latest().Get(storage::Cf::kMeta, "schema_version");
  ASSERT_TRUE(schema.ok() && schema->has_value());
  EXPECT_EQ(**schema, "4");
  // Against the hand count, whose related row counts "not given".
  const Subset all;
  const HandCount hand(aes, all, v1::TERM_LEVEL_OVERALL);
  ExpectTable(Table(Request(v1::TERM_LEVEL_OVERALL, all, false)), hand,
              v1::TERM_LEVEL_OVERALL, false);
  ASSERT_TRUE(monitor_->signals().WaitIdle(absl::Seconds(30)).ok());
  EXPECT_TRUE(monitor_->signals().VerifySignals(kTrial).ok());
}

TEST_F(IncidenceQueryTest, AnInterruptedRelatedRecountIsFinishedAtTheNextOpen) {
  SubmitRandomReports(150, 32);
  // A second trial, with no reports.
  v1::CreateTrialRequest empty;
  *empty.mutable_trial() = MakeTrial();
  empty.mutable_trial()->set_trial_id("EMPTY1");
  ASSERT_TRUE(monitor_->CreateTrial(empty).ok());
  ASSERT_TRUE(monitor_->signals().WaitIdle(absl::Seconds(30)).ok());
  // What a start stopped after the trial's recount and before the version
  // was recorded leaves: counters by the new rule, version 2. The next
  // start recounts both trials again and must come out the same.
  ASSERT_TRUE(RecountRelated(*store_, RowsOfRuleTwo, 2).ok());
  ASSERT_TRUE(
      RecountRelated(
          *store_,
          [](const v1::AdverseEventReport& r) { return CountedRows(r); }, 2)
          .ok());
  EXPECT_TRUE(monitor_->VerifyCounters(kTrial).ok());
  monitor_.reset();
  // The upgrade itself, run by hand: both trials recounted, then done.
  auto recounted = UpgradeCountingRules(*store_);
  ASSERT_TRUE(recounted.ok()) << recounted.status();
  EXPECT_EQ(*recounted, 2);
  EXPECT_EQ(*UpgradeCountingRules(*store_), 0);
  store_.reset();
  OpenStore();
  EXPECT_TRUE(monitor_->VerifyCounters("EMPTY1").ok());
  EXPECT_EQ(*storage::ReadCountingRulesVersion(store_->Latest()),
            kCountingRulesVersion);
  EXPECT_TRUE(monitor_->VerifyCounters(kTrial).ok());
  const Subset all;
  const HandCount hand(FinalAes(), all, v1::TERM_LEVEL_OVERALL);
  ExpectTable(Table(Request(v1::TERM_LEVEL_OVERALL, all, false)), hand,
              v1::TERM_LEVEL_OVERALL, false);
}

TEST_F(IncidenceQueryTest, AStoreCountedByANewerRuleIsRefused) {
  SubmitRandomReports(20, 33);
  ASSERT_TRUE(monitor_->signals().WaitIdle(absl::Seconds(30)).ok());
  // A newer build's rule, and a row it left for evaluation.
  ASSERT_TRUE(store_
                  ->Commit([](storage::Txn& txn) {
                    storage::WriteCountingRulesVersion(
                        txn, kCountingRulesVersion + 1);
                    return storage::MarkTermChanged(
                        txn, kTrial, OverallTerm(kAnyAe), nullptr);
                  })
                  .ok());
  monitor_.reset();
  store_.reset();
  OpenStore(/*may_refuse=*/true);
  const absl::Status refused = monitor_->counting_upgrade_status();
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition) << refused;
  EXPECT_THAT(refused.message(), HasSubstr("newer than this build's"));
  EXPECT_EQ(monitor_->VerifyCounters(kTrial).status(), refused);
  // Nothing was recounted or rewritten, and no signal was evaluated from
  // counters this build cannot read (the evaluator's first round would have
  // cleared the mark at once).
  absl::SleepFor(absl::Milliseconds(1500));
  EXPECT_EQ(*storage::ReadCountingRulesVersion(store_->Latest()),
            kCountingRulesVersion + 1);
  EXPECT_EQ(*storage::CountDirtyTerms(store_->Latest(), kTrial), 1);
}

}  // namespace
}  // namespace aesignal::domain
