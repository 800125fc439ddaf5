// Test data builders shared by the integration tests: a 3-group trial with
// timepoints at months 3, 6 and 12, and simple report builders.
#ifndef AESIGNAL_TESTS_TESTING_FIXTURES_H_
#define AESIGNAL_TESTS_TESTING_FIXTURES_H_

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "aesignal/v1/report.pb.h"
#include "aesignal/v1/signal.pb.h"
#include "aesignal/v1/signal_service.pb.h"
#include "aesignal/v1/trial.pb.h"

namespace aesignal::testing {

inline v1::Trial ThreeGroupTrial(const std::string& trial_id) {
  v1::Trial t;
  t.set_trial_id(trial_id);
  t.set_title("Test MSC dose escalation");
  const std::pair<const char*, double> groups[] = {
      {"LOW", 2.5e7}, {"MID", 5e7}, {"HIGH", 1e8}};
  for (auto [id, dose] : groups) {
    auto* g = t.add_dose_groups();
    g->set_dose_group_id(id);
    g->set_label(id);
    g->set_dose_value(dose);
    g->set_dose_unit("cells");
  }
  const std::pair<const char*, int> timepoints[] = {
      {"M3", 91}, {"M6", 182}, {"M12", 365}};
  for (auto [id, day] : timepoints) {
    auto* tp = t.add_timepoints();
    tp->set_timepoint_id(id);
    tp->set_study_day(day);
  }
  t.add_sites()->set_site_id("01");
  // The integration tests check what happens around one signal cell (its
  // raising, storage, streaming, triage): each test against its own alpha.
  // Trial-wide control, the default, is tested in services/domain
  // (TrialWideTest) and by tests/sim/signal_null_sim.
  t.mutable_signal_policy()->set_error_control(v1::ERROR_CONTROL_PER_TEST);
  return t;
}

// Subject "S{i}", i = 1..n, groups assigned round-robin.
inline v1::Subject SubjectNumber(int i) {
  static const char* kGroups[] = {"LOW", "MID", "HIGH"};
  v1::Subject s;
  s.set_subject_id(absl::StrCat("S", i));
  s.set_site_id("01");
  s.set_dose_group_id(kGroups[(i - 1) % 3]);
  s.set_last_contact_day(365);
  return s;
}

inline v1::AdverseEventReport Report(const std::string& report_id,
                                     uint32_t version,
                                     const std::string& subject_id, int day,
                                     const std::string& pt, int grade = 1,
                                     bool serious = false) {
  v1::AdverseEventReport r;
  r.set_report_id(report_id);
  r.set_version(version);
  r.set_site_id("01");
  r.set_subject_id(subject_id);
  r.set_onset_study_day(day);
  r.set_pt(pt);
  r.set_soc(absl::StrCat("SOC ", pt.substr(0, 1)));
  r.set_grade(grade);
  r.set_serious(serious);
  return r;
}

// A baseline of 2 % for any serious AE in HIGH by month 3 (ThreeGroupTrial):
// two serious AEs among HIGH's first subjects cross it.
inline v1::Baseline SeriousAeBaseline() {
  v1::Baseline b;
  b.set_baseline_id("sae");
  b.set_level(v1::TERM_LEVEL_OVERALL);
  b.set_overall_key("any_sae");
  b.set_timepoint_id("M3");
  b.set_dose_group_id("HIGH");
  b.set_expected_proportion(0.02);
  b.set_citation("test");
  return b;
}

// 5 % baselines for the PTs "Headache" and "Nausea" (in "SOC H" and "SOC
// N", as Report() files them) of trial `parent`, so that the durability
// tests' reports raise and update signals.
inline v1::PutBaselinesRequest HeadacheNauseaBaselines(
    const std::string& parent, const std::string& citation) {
  v1::PutBaselinesRequest put;
  put.set_parent(parent);
  for (const char* pt : {"Headache", "Nausea"}) {
    v1::Baseline* b = put.add_baselines();
    b->set_baseline_id(pt);
    b->set_level(v1::TERM_LEVEL_PT);
    b->set_soc(absl::StrCat("SOC ", std::string(pt, 1)));
    b->set_pt(pt);
    b->set_expected_proportion(0.05);
    b->set_citation(citation);
  }
  return put;
}

}  // namespace aesignal::testing

#endif  // AESIGNAL_TESTS_TESTING_FIXTURES_H_
