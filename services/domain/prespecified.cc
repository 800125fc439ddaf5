#include "services/domain/prespecified.h"

#include <map>
#include <set>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "services/domain/evaluate.h"
#include "services/domain/incidence_derived.h"
#include "services/domain/incidence_rows.h"
#include "services/domain/row_evaluation.h"
#include "services/domain/topics.h"
#include "services/errors/errors.h"
#include "storage/keys.h"
#include "storage/signals.h"

namespace aesignal::domain {
namespace {

using storage::Level;
using storage::TermKey;

// The overall rows in display order, then each other row a baseline names
// (by level and term).
std::vector<TermKey> PrespecifiedTerms(
    const v1::Trial& trial, const std::vector<v1::Baseline>& baselines) {
  std::vector<TermKey> terms;
  for (const OverallRow& row : OverallRows(trial)) {
    TermKey term;
    term.level = Level::kOverall;
    term.overall = row.key;
    terms.push_back(std::move(term));
  }
  std::set<TermKey> named;
  for (const v1::Baseline& b : baselines) {
    const TermKey term = TermOf(b);
    if (term.level != Level::kOverall || !IsOverallRow(trial, term.overall)) {
      named.insert(term);
    }
  }
  terms.insert(terms.end(), named.begin(), named.end());
  return terms;
}

// The levels the rows are at (and every PT row's, with `all_pts`), each
// counted with every report version.
std::vector<TallySpec> SpecsFor(const std::vector<TermKey>& terms,
                                bool all_pts) {
  std::set<Level> levels;
  for (const TermKey& term : terms) levels.insert(term.level);
  if (all_pts) levels.insert(Level::kPt);
  std::vector<TallySpec> specs;
  for (Level level : levels) {
    TallySpec spec;
    spec.level = level;
    specs.push_back(std::move(spec));
  }
  return specs;
}

// A finding as the signal it would be: the fields topics are assembled
// from (no status, no history: it is not stored).
v1::Signal SignalOf(const v1::Trial& trial, const TermKey& term,
                    Finding finding) {
  v1::Signal signal;
  const std::string id = SignalId(finding.method, term, finding.dose_group_id,
                                  finding.timepoint_id);
  signal.set_name(absl::StrCat("trials/", trial.trial_id(), "/signals/", id));
  signal.set_signal_id(id);
  signal.set_trial_id(trial.trial_id());
  signal.set_method(finding.method);
  SetTermFields(term, &signal);
  signal.set_dose_group_id(std::move(finding.dose_group_id));
  signal.set_timepoint_id(std::move(finding.timepoint_id));
  FillScope(&signal);
  *signal.mutable_evidence() = std::move(finding.evidence);
  return signal;
}

// The topic of a row with no evidence.
v1::SignalTopic EmptyTopic(const v1::Trial& trial, const TermKey& term) {
  v1::Signal signal;
  signal.set_trial_id(trial.trial_id());
  SetTermFields(term, &signal);
  v1::SignalTopic topic = TopicOfSignal(signal);
  topic.clear_raise_time();
  return topic;
}

}  // namespace

absl::StatusOr<std::vector<v1::Baseline>> ReadBaselinesAsOf(
    const storage::ReadView& view, const std::string& trial_id,
    const google::protobuf::Timestamp& as_of) {
  AESIGNAL_ASSIGN_OR_RETURN(std::vector<v1::Baseline> current,
                            storage::ReadBaselines(view, trial_id));
  std::vector<v1::Baseline> in_force;
  for (v1::Baseline& baseline : current) {
    if (baseline.update_time() <= as_of) {
      in_force.push_back(std::move(baseline));
      continue;
    }
    // Revised after the cut-off: the newest version stored by then, if any.
    AESIGNAL_ASSIGN_OR_RETURN(
        std::vector<v1::Baseline> versions,
        storage::ReadBaselineVersions(view, trial_id, baseline.baseline_id()));
    for (auto it = versions.rbegin(); it != versions.rend(); ++it) {
      if (it->update_time() <= as_of) {
        in_force.push_back(std::move(*it));
        break;
      }
    }
  }
  return in_force;
}

absl::StatusOr<std::vector<v1::SignalTopic>> EvaluatePrespecifiedAtCutOff(
    const storage::ReadView& view, const v1::Trial& trial,
    const google::protobuf::Timestamp& as_of) {
  TrialEvaluation e;
  e.trial = trial;
  e.policy = EffectivePolicy(trial.signal_policy());
  AESIGNAL_ASSIGN_OR_RETURN(e.baselines,
                            ReadBaselinesAsOf(view, trial.trial_id(), as_of));
  e.prespecified_rows = PrespecifiedRows(trial, e.baselines);
  const std::vector<TermKey> terms = PrespecifiedTerms(trial, e.baselines);
  // Per test with screening_fdr, a PT row's control-arm decisions use every
  // PT row's p-values (as the evaluator's rounds do).
  const bool screening =
      ScreensPts(e) && e.policy.error_control() == v1::ERROR_CONTROL_PER_TEST;
  const std::vector<TallySpec> specs = SpecsFor(terms, screening);
  AESIGNAL_ASSIGN_OR_RETURN(CutOffCount count,
                            CountAtCutOff(view, trial, specs, as_of));
  e.denominators = std::move(count.denominators);
  if (screening) {
    std::vector<storage::TermCounters> pts;
    for (size_t i = 0; i < specs.size(); ++i) {
      if (specs[i].level != Level::kPt) continue;
      for (auto& [key, row] : count.rows[i]) pts.push_back(row.counters);
    }
    AESIGNAL_RETURN_IF_ERROR(SetScreening(pts, &e));
  }
  const size_t cells =
      static_cast<size_t>(trial.dose_groups_size()) * trial.timepoints_size();
  std::vector<v1::Signal> signals;
  for (const TermKey& term : terms) {
    storage::TermCounters row{.term = term, .cells = {}};
    for (size_t i = 0; i < specs.size(); ++i) {
      if (specs[i].level != term.level) continue;
      auto it = count.rows[i].find(storage::EncodeTerm(term));
      if (it != count.rows[i].end()) row = it->second.counters;
    }
    row.cells.resize(cells);  // a row without subjects: every cell zero
    AESIGNAL_ASSIGN_OR_RETURN(std::vector<Finding> findings,
                              EvaluateRow(e, row));
    for (Finding& finding : findings) {
      signals.push_back(SignalOf(trial, term, std::move(finding)));
    }
  }
  std::map<std::string, v1::SignalTopic> assembled;
  for (v1::SignalTopic& topic :
       AssembleTopics(trial.trial_id(), ProtocolOrder(trial), signals, {},
                      /*with_evidence=*/true)) {
    std::string id = topic.topic_id();
    assembled.emplace(std::move(id), std::move(topic));
  }
  std::vector<v1::SignalTopic> topics;
  for (const TermKey& term : terms) {
    auto it = assembled.find(TopicId(term));
    topics.push_back(it != assembled.end() ? std::move(it->second)
                                           : EmptyTopic(trial, term));
  }
  return topics;
}

}  // namespace aesignal::domain
