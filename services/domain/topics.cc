#include "services/domain/topics.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "google/protobuf/util/time_util.h"
#include "services/domain/evaluate.h"
#include "services/domain/validation.h"

namespace aesignal::domain {
namespace {

constexpr double kTiny = 1e-300;  // keeps log10 finite at p = 0

// Rows a DSMB weighs more at equal statistical strength: serious, severe
// and fatal events and pre-specified AEs of special interest
// (docs/statistics.md, "Topics").
bool ClinicallyWeighted(const v1::SignalTopic& topic) {
  const std::string& key = topic.overall_key();
  return key == "any_sae" || key == "grade_3_plus" || key == "death" ||
         key.rfind("aesi:", 0) == 0;
}

struct Item {
  const v1::Signal* signal;
  double strength;
  int timepoint_rank;
  int dose_group_rank;
};

// The unadjusted p of a test's evidence; 1 for the Bayesian rule and
// MaxSPRT, whose strength is not a p. One number per item, so that ordering
// by it keeps Stronger a strict weak ordering.
double UnadjustedP(const v1::Evidence& e) {
  return e.method() == v1::SIGNAL_METHOD_BAYESIAN ||
                 e.method() == v1::SIGNAL_METHOD_MAXSPRT
             ? 1.0
             : e.p_value();
}

// Strongest first; among equals the earliest timepoint, then the smaller
// unadjusted p (where an adjustment made the strengths equal), then the
// protocol's
// order of dose groups (ProtocolOrder), then the id, so the order is stable,
// M3 comes before M12, and of two groups that share a row's adjusted p the
// one with the stronger comparison of its own leads.
bool Stronger(const Item& a, const Item& b) {
  const v1::Evidence& ea = a.signal->evidence();
  const v1::Evidence& eb = b.signal->evidence();
  if (ea.crosses() != eb.crosses()) return ea.crosses();
  if (a.strength != b.strength) return a.strength > b.strength;
  if (a.timepoint_rank != b.timepoint_rank) {
    return a.timepoint_rank < b.timepoint_rank;
  }
  const double pa = UnadjustedP(ea), pb = UnadjustedP(eb);
  if (pa != pb) return pa < pb;
  if (a.dose_group_rank != b.dose_group_rank) {
    return a.dose_group_rank < b.dose_group_rank;
  }
  return a.signal->signal_id() < b.signal->signal_id();
}

// A p-value as safety tables print it.
std::string TableP(double p) {
  return p < 0.001 ? "< 0.001" : absl::StrFormat("= %.3f", p);
}

// A control-arm comparison as published safety tables give it, e.g.
// "Xanomeline High Dose 26/84 vs Placebo 8/86, RD 21% [10, 32], two-sided
// Fisher p < 0.001, adjusted one-sided p = 0.029 (threshold 0.05)": the
// two-sided p as tables print it, the adjusted p of the one-sided test that
// the threshold applies to, and the groups by their labels, as the
// incidence tables name them.
std::string TableLine(const v1::Signal& signal, const ProtocolOrder& order) {
  const v1::Evidence& e = signal.evidence();
  std::string line = absl::StrFormat(
      "%s %d/%d vs %s %d/%d, RD %.0f%% [%.0f, %.0f], two-sided Fisher p %s",
      order.DoseGroupName(signal.dose_group_id()), e.subjects(),
      e.denominator(), order.DoseGroupName(e.comparison()),
      e.comparison_subjects(), e.comparison_denominator(),
      100 * e.risk_difference(), 100 * e.risk_difference_lower(),
      100 * e.risk_difference_upper(), TableP(e.p_value_two_sided()));
  if (e.adjusted_p_value() > 0) {
    absl::StrAppendFormat(&line,
                          ", adjusted one-sided p = %.3g (threshold %.3g)",
                          e.adjusted_p_value(), e.threshold());
  }
  return line;
}

// The dose group and timepoint of a signal, as the trial names them: "High
// dose, Month 6"; the total is "all groups", the trend test "dose trend".
std::string Place(const v1::Signal& signal, const ProtocolOrder& order) {
  const std::string group = signal.method() == v1::SIGNAL_METHOD_DOSE_TREND
                                ? "dose trend"
                            : signal.dose_group_id().empty()
                                ? "all groups"
                                : order.DoseGroupName(signal.dose_group_id());
  return absl::StrCat(group, ", ", order.TimepointName(signal.timepoint_id()));
}

// The first crossing item of `method` (items are strongest first).
const Item* FirstCrossing(const std::vector<Item>& items,
                          v1::SignalMethod method) {
  for (const Item& item : items) {
    const v1::Evidence& e = item.signal->evidence();
    if (e.crosses() && e.method() == method &&
        (method != v1::SIGNAL_METHOD_CONTROL_FISHER ||
         e.has_risk_difference())) {
      return &item;
    }
  }
  return nullptr;
}

// Why the topic is there, in one line: its strongest control-arm
// comparison as a safety table prints it and the dose trend, or else its
// strongest evidence's own summary.
std::string Summary(const std::vector<Item>& items,
                    const ProtocolOrder& order) {
  const v1::Evidence& lead = items.front().signal->evidence();
  const Item* control = FirstCrossing(items, v1::SIGNAL_METHOD_CONTROL_FISHER);
  const Item* trend = FirstCrossing(items, v1::SIGNAL_METHOD_DOSE_TREND);
  // Where the evidence is, first: a queue line is read without its table.
  std::string summary =
      control != nullptr
          ? absl::StrCat(order.TimepointName(control->signal->timepoint_id()),
                         ": ", TableLine(*control->signal, order))
          : absl::StrCat(Place(*items.front().signal, order), ": ",
                         lead.summary());
  if (!lead.crosses()) {
    summary = absl::StrCat("no longer crossing; last: ", summary);
  }
  if (trend != nullptr && (control != nullptr || trend != &items.front())) {
    absl::StrAppend(&summary, "; dose trend p ",
                    TableP(trend->signal->evidence().p_value()));
  }
  return summary;
}

// One evidence event, and which item it belongs to.
struct ItemEvent {
  const v1::SignalEvent* event;
  size_t item;
};

// The evaluation events (raised, evidence updated) of every item, in time
// order; an item's own events keep their order.
std::vector<ItemEvent> EvaluationEvents(const std::vector<Item>& items) {
  std::vector<ItemEvent> events;
  for (size_t i = 0; i < items.size(); ++i) {
    for (const v1::SignalEvent& e : items[i].signal->history()) {
      if (e.kind() == v1::SignalEvent::KIND_TRIAGED || !e.has_evidence()) {
        continue;
      }
      events.push_back({&e, i});
    }
  }
  std::stable_sort(events.begin(), events.end(),
                   [](const ItemEvent& a, const ItemEvent& b) {
                     return a.event->time() < b.event->time();
                   });
  return events;
}

// When the topic stopped crossing and crossed again, replayed from its
// items' histories (empty when they were read without them). Events at one
// time are one evaluation of the row, applied together: an item that stops
// while another starts is no change of the topic. The first crossing is the
// topic's own "raised" event, so it adds none.
std::vector<v1::SignalEvent> CrossingEvents(const std::vector<Item>& items) {
  const std::vector<ItemEvent> events = EvaluationEvents(items);
  std::vector<bool> crosses(items.size(), false);
  int crossing = 0;
  bool crossed_before = false;
  std::vector<v1::SignalEvent> out;
  for (size_t begin = 0; begin < events.size();) {
    const bool was_crossing = crossing > 0;
    const v1::SignalEvent* started = nullptr;
    const v1::SignalEvent* stopped = nullptr;
    size_t end = begin;
    for (; end < events.size() &&
           events[end].event->time() == events[begin].event->time();
         ++end) {
      const v1::SignalEvent& e = *events[end].event;
      const bool now = e.evidence().crosses();
      if (crosses[events[end].item] == now) continue;
      crosses[events[end].item] = now;
      crossing += now ? 1 : -1;
      const v1::SignalEvent*& first = now ? started : stopped;
      if (first == nullptr) first = &e;
    }
    const bool is_crossing = crossing > 0;
    // Before the first crossing nothing can stop, and the first crossing
    // itself is the raise: only a topic that crossed before has events.
    if (is_crossing != was_crossing && crossed_before) {
      const v1::SignalEvent& cause = is_crossing ? *started : *stopped;
      v1::SignalEvent& event = out.emplace_back();
      event.set_kind(is_crossing ? v1::SignalEvent::KIND_CROSSING_AGAIN
                                 : v1::SignalEvent::KIND_STOPPED_CROSSING);
      *event.mutable_time() = cause.time();
      event.set_actor(cause.actor());
      *event.mutable_evidence() = cause.evidence();
    }
    crossed_before = crossed_before || is_crossing;
    begin = end;
  }
  return out;
}

// Adds the crossing events to the topic's stored history, in time order;
// at one time the stored event (raised, triaged) comes first. A crossing
// event carries the topic's status then (from and to: it moves none).
void AddCrossingEvents(const std::vector<Item>& items, v1::SignalTopic* topic) {
  std::vector<v1::SignalEvent> crossing = CrossingEvents(items);
  if (crossing.empty()) return;
  std::vector<v1::SignalEvent> history(topic->history().begin(),
                                       topic->history().end());
  history.insert(history.end(), std::make_move_iterator(crossing.begin()),
                 std::make_move_iterator(crossing.end()));
  std::stable_sort(history.begin(), history.end(),
                   [](const v1::SignalEvent& a, const v1::SignalEvent& b) {
                     return a.time() < b.time();
                   });
  topic->clear_history();
  v1::SignalStatus status = v1::SIGNAL_STATUS_NEW;
  for (v1::SignalEvent& e : history) {
    if (e.kind() == v1::SignalEvent::KIND_STOPPED_CROSSING ||
        e.kind() == v1::SignalEvent::KIND_CROSSING_AGAIN) {
      e.set_from_status(status);
      e.set_to_status(status);
    } else if (e.to_status() != v1::SIGNAL_STATUS_UNSPECIFIED) {
      status = e.to_status();
    }
    *topic->add_history() = std::move(e);
  }
}

// Fills the evidence-derived fields of `topic` from its signals.
void Summarize(std::vector<Item> items, bool with_evidence,
               const ProtocolOrder& order, v1::SignalTopic* topic) {
  std::sort(items.begin(), items.end(), Stronger);
  topic->set_evidence_count(static_cast<int>(items.size()));
  int crossing = 0;
  bool trend = false;
  for (const Item& item : items) {
    const v1::Evidence& e = item.signal->evidence();
    crossing += e.crosses() ? 1 : 0;
    trend =
        trend || (e.crosses() && e.method() == v1::SIGNAL_METHOD_DOSE_TREND);
  }
  topic->set_crossing_count(crossing);
  topic->set_crossing(crossing > 0);
  const Item& lead = items.front();
  topic->set_lead_signal_id(lead.signal->signal_id());
  // A documented heuristic: the lead's decades past its threshold, plus
  // half a decade each for a serious/severe/AESI row and a crossing trend.
  topic->set_strength(lead.strength +
                      (crossing > 0 && ClinicallyWeighted(*topic) ? 0.5 : 0) +
                      (trend ? 0.5 : 0));
  topic->set_summary(Summary(items, order));
  if (with_evidence) AddCrossingEvents(items, topic);
  for (const Item& item : items) {
    if (topic->update_time() < item.signal->update_time()) {
      *topic->mutable_update_time() = item.signal->update_time();
    }
    if (with_evidence) {
      v1::Signal* evidence = topic->add_evidence();
      *evidence = *item.signal;
      evidence->clear_history();
    }
  }
}

bool RankedFirst(const v1::SignalTopic& a, const v1::SignalTopic& b) {
  if (a.crossing() != b.crossing()) return a.crossing();
  if (a.strength() != b.strength()) return a.strength() > b.strength();
  return a.topic_id() < b.topic_id();
}

}  // namespace

ProtocolOrder::ProtocolOrder(const v1::Trial& trial) {
  for (const v1::Timepoint& t : trial.timepoints()) {
    timepoints_.try_emplace(t.timepoint_id(),
                            static_cast<int>(timepoints_.size()));
    if (!t.label().empty()) {
      timepoint_labels_.try_emplace(t.timepoint_id(), t.label());
    }
  }
  for (const v1::DoseGroup& g : trial.dose_groups()) {
    dose_groups_.try_emplace(g.dose_group_id(),
                             static_cast<int>(dose_groups_.size()));
    if (!g.label().empty()) {
      dose_group_labels_.try_emplace(g.dose_group_id(), g.label());
    }
  }
  // The total and the trend test (no group) follow the groups.
  dose_groups_.try_emplace("", static_cast<int>(dose_groups_.size()));
}

int ProtocolOrder::TimepointRank(const std::string& timepoint_id) const {
  auto it = timepoints_.find(timepoint_id);
  return it != timepoints_.end() ? it->second
                                 : static_cast<int>(timepoints_.size());
}

int ProtocolOrder::DoseGroupRank(const std::string& dose_group_id) const {
  auto it = dose_groups_.find(dose_group_id);
  return it != dose_groups_.end() ? it->second
                                  : static_cast<int>(dose_groups_.size());
}

const std::string& ProtocolOrder::TimepointName(
    const std::string& timepoint_id) const {
  auto it = timepoint_labels_.find(timepoint_id);
  return it != timepoint_labels_.end() ? it->second : timepoint_id;
}

const std::string& ProtocolOrder::DoseGroupName(
    const std::string& dose_group_id) const {
  auto it = dose_group_labels_.find(dose_group_id);
  return it != dose_group_labels_.end() ? it->second : dose_group_id;
}

double EvidenceStrength(const v1::Evidence& e) {
  switch (e.method()) {
    case v1::SIGNAL_METHOD_BAYESIAN:
      return std::log10(std::max(1 - e.threshold(), kTiny) /
                        std::max(1 - e.posterior_probability(), kTiny));
    case v1::SIGNAL_METHOD_MAXSPRT:
      return (e.statistic() - e.threshold()) / std::log(10.0);
    default: {
      const double p =
          e.adjusted_p_value() > 0 ? e.adjusted_p_value() : e.p_value();
      return std::log10(std::max(e.threshold(), kTiny) / std::max(p, kTiny));
    }
  }
}

storage::TermKey TermOfSignal(const v1::Signal& signal) {
  storage::TermKey term;
  term.level = signal.level() == v1::TERM_LEVEL_PT ? storage::Level::kPt
               : signal.level() == v1::TERM_LEVEL_SOC
                   ? storage::Level::kSoc
                   : storage::Level::kOverall;
  term.soc = signal.soc();
  term.pt = signal.pt();
  term.overall = signal.overall_key();
  return term;
}

v1::SignalTopic TopicOfSignal(const v1::Signal& signal) {
  v1::SignalTopic topic;
  topic.set_topic_id(TopicId(TermOfSignal(signal)));
  topic.set_trial_id(signal.trial_id());
  topic.set_name(
      absl::StrCat(TrialName(signal.trial_id()), "/topics/", topic.topic_id()));
  topic.set_level(signal.level());
  topic.set_soc(signal.soc());
  topic.set_pt(signal.pt());
  topic.set_overall_key(signal.overall_key());
  topic.set_label(signal.label());
  topic.set_status(v1::SIGNAL_STATUS_NEW);
  *topic.mutable_raise_time() = signal.raise_time();
  return topic;
}

std::vector<v1::SignalTopic> AssembleTopics(
    const std::string& trial_id, const ProtocolOrder& order,
    const std::vector<v1::Signal>& signals,
    const std::vector<v1::SignalTopic>& records, bool with_evidence) {
  std::map<std::string, v1::SignalTopic> topics;
  for (const v1::SignalTopic& record : records) {
    topics[record.topic_id()] = record;
  }
  std::map<std::string, std::vector<Item>> items;
  for (const v1::Signal& s : signals) {
    v1::SignalTopic topic = TopicOfSignal(s);
    auto [it, inserted] = topics.try_emplace(topic.topic_id(), topic);
    if (inserted || s.raise_time() < it->second.raise_time()) {
      *it->second.mutable_raise_time() = s.raise_time();
    }
    items[topic.topic_id()].push_back({&s, EvidenceStrength(s.evidence()),
                                       order.TimepointRank(s.timepoint_id()),
                                       order.DoseGroupRank(s.dose_group_id())});
  }
  std::vector<v1::SignalTopic> out;
  out.reserve(topics.size());
  for (auto& [id, topic] : topics) {
    topic.set_trial_id(trial_id);
    topic.clear_evidence();
    auto it = items.find(id);
    if (it != items.end()) Summarize(it->second, with_evidence, order, &topic);
    out.push_back(std::move(topic));
  }
  std::sort(out.begin(), out.end(), RankedFirst);
  return out;
}

}  // namespace aesignal::domain
