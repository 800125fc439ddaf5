// Null-data simulation of the default signal policy: how often does a trial
// whose true incidence equals the baseline raise a signal?
//
// Each synthetic trial has --groups dose groups of --per_group subjects (the
// first group optionally a control arm), the timepoints of the example trial,
// one PT with a baseline p0 stated at the last timepoint, and every subject
// developing the PT with probability p0 by then, onset uniform over the
// windows, in every group alike (the null). Reports arrive one at a time in
// onset order and the evaluator's own code (domain::EvaluateTerm) runs after
// each, as the server does after each batch; a method "signals" in a trial if
// any look crosses its threshold. Prints, per method and overall, the share of
// trials with a false signal and its exact 95% interval.
//
//   build/tests/signal_null_sim --trials=2000 --per_group=3 --p0=0.1
#include <algorithm>
#include <iostream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "services/domain/evaluate.h"
#include "services/signal/binomial_ci.h"

ABSL_FLAG(int, trials, 2000, "synthetic trials");
ABSL_FLAG(int, groups, 3, "dose groups (including the control, if any)");
ABSL_FLAG(int, per_group, 3, "subjects per group");
ABSL_FLAG(double, p0, 0.1, "true and baseline incidence by the last timepoint");
ABSL_FLAG(bool, control, false, "first group is a placebo control arm");
ABSL_FLAG(int, seed, 20261123, "random seed");

namespace {

using namespace aesignal;  // NOLINT: a tool's main file

v1::Trial MakeTrial(int groups, bool control) {
  v1::Trial t;
  t.set_trial_id("SIM");
  for (int g = 0; g < groups; ++g) {
    auto* dg = t.add_dose_groups();
    dg->set_dose_group_id(absl::StrCat("G", g));
    const bool is_control = control && g == 0;
    dg->set_control(is_control);
    dg->set_dose_value(is_control ? 0 : 2.5e7 * (1 << (g - (control ? 1 : 0))));
  }
  for (auto [id, day] : {std::pair{"M3", 91},
                         {"M6", 182},
                         {"M12", 365},
                         {"Y2", 730},
                         {"Y3", 1095},
                         {"Y4", 1461},
                         {"Y5", 1826}}) {
    auto* tp = t.add_timepoints();
    tp->set_timepoint_id(id);
    tp->set_study_day(day);
  }
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const int trials = absl::GetFlag(FLAGS_trials);
  const int groups = absl::GetFlag(FLAGS_groups);
  const int per_group = absl::GetFlag(FLAGS_per_group);
  const double p0 = absl::GetFlag(FLAGS_p0);
  const bool control = absl::GetFlag(FLAGS_control);
  std::mt19937_64 rng(absl::GetFlag(FLAGS_seed));

  const v1::Trial trial = MakeTrial(groups, control);
  const int windows = trial.timepoints_size();
  const v1::SignalPolicy policy = domain::EffectivePolicy({});
  v1::Baseline baseline;
  baseline.set_baseline_id("null");
  baseline.set_level(v1::TERM_LEVEL_PT);
  baseline.set_soc("SOC");
  baseline.set_pt("PT");
  baseline.set_timepoint_id(trial.timepoints(windows - 1).timepoint_id());
  baseline.set_expected_proportion(p0);
  baseline.set_citation("simulation");
  const std::vector<v1::Baseline> baselines = {baseline};

  domain::internal::Denominators denominators;
  denominators.dosed.assign(groups, per_group);
  denominators.at_risk.assign(groups * windows, per_group);

  std::map<v1::SignalMethod, int> trials_with_signal;
  int any_signal = 0;
  int64_t looks = 0, events_total = 0;
  std::bernoulli_distribution has_event(p0);
  std::uniform_int_distribution<int> window_of(0, windows - 1);
  for (int t = 0; t < trials; ++t) {
    // (window, group) of each subject with the event, in onset order.
    std::vector<std::pair<int, int>> events;
    for (int g = 0; g < groups; ++g) {
      for (int s = 0; s < per_group; ++s) {
        if (has_event(rng)) events.emplace_back(window_of(rng), g);
      }
    }
    std::sort(events.begin(), events.end());
    storage::TermCounters counters;
    counters.term.level = storage::Level::kPt;
    counters.term.soc = "SOC";
    counters.term.pt = "PT";
    counters.cells.assign(groups * windows, {});
    std::map<v1::SignalMethod, bool> signalled;
    for (const auto& [w, g] : events) {
      auto& cell = counters.cells[g * windows + w];
      ++cell.interval_subjects;
      ++cell.new_subjects;
      ++cell.events;
      ++looks;
      auto findings = domain::EvaluateTerm(trial, policy, counters,
                                           denominators, baselines);
      if (!findings.ok()) {
        std::cerr << findings.status() << "\n";
        return 1;
      }
      for (const auto& f : *findings) {
        if (f.evidence.crosses()) signalled[f.method] = true;
      }
    }
    events_total += events.size();
    for (const auto& [method, yes] : signalled) {
      if (yes) ++trials_with_signal[method];
    }
    if (!signalled.empty()) ++any_signal;
  }

  std::cout << absl::StrFormat(
      "null simulation: %d trials, %d groups x %d subjects%s, p0 = %g by %s, "
      "default policy (alpha %g, posterior > %g, min cases %d); %.2f events "
      "and looks per trial\n",
      trials, groups, per_group, control ? " (first = control)" : "", p0,
      baseline.timepoint_id(), policy.alpha(), policy.posterior_threshold(),
      policy.min_cases(), static_cast<double>(events_total) / trials);
  auto line = [&](const std::string& name, int count) {
    auto ci = signal::ClopperPearson(count, trials, 0.95);
    std::cout << absl::StrFormat(
        "  %-22s %6d / %d = %6.2f%%  [%.2f%%, %.2f%%]\n", name, count, trials,
        100.0 * count / trials, 100 * ci->lower, 100 * ci->upper);
  };
  for (v1::SignalMethod m :
       {v1::SIGNAL_METHOD_BINOMIAL_EXACT, v1::SIGNAL_METHOD_BAYESIAN,
        v1::SIGNAL_METHOD_CONTROL_FISHER, v1::SIGNAL_METHOD_DOSE_TREND,
        v1::SIGNAL_METHOD_OVER_TIME}) {
    line(v1::SignalMethod_Name(m).substr(14), trials_with_signal[m]);
  }
  line("any method", any_signal);
  (void)looks;
  return 0;
}
