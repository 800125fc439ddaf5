// Signal topics: one per term row of a trial, the unit a DSMB reviews. A
// topic's evidence is its row's signals (method x dose group x timepoint);
// its triage state and own history are stored apart (storage/signals.h).
// These functions are pure: they assemble topics from the stored signals
// and topic records and rank them. Internal to services/domain.
#ifndef AESIGNAL_SERVICES_DOMAIN_TOPICS_H_
#define AESIGNAL_SERVICES_DOMAIN_TOPICS_H_

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "aesignal/v1/signal.pb.h"
#include "aesignal/v1/trial.pb.h"
#include "storage/keys.h"

namespace aesignal::domain {

// How far one evidence item is past its threshold, in decades (0 at the
// threshold, negative below it): log10(threshold / p) for the exact tests
// (the adjusted p where screening adjusted it), log10((1 - threshold) /
// (1 - posterior)) for the Bayesian rule, (LLR - CV) / ln 10 for MaxSPRT.
double EvidenceStrength(const v1::Evidence& evidence);

// The topic of a signal's term row, with its term fields and id set.
v1::SignalTopic TopicOfSignal(const v1::Signal& signal);
storage::TermKey TermOfSignal(const v1::Signal& signal);

// The order a trial's protocol gives its timepoints and dose groups. It
// orders evidence items of equal strength the way a safety table reads:
// earliest timepoint first, then the dose groups as the trial lists them,
// with the all-groups total and the trend test (no group) after them. Ids
// the trial does not list come after those it does. Copyable; immutable
// after construction, so safe to share between threads.
class ProtocolOrder {
 public:
  ProtocolOrder() = default;  // no trial: every id unlisted
  explicit ProtocolOrder(const v1::Trial& trial);

  int TimepointRank(const std::string& timepoint_id) const;
  int DoseGroupRank(const std::string& dose_group_id) const;
  // The group as the trial's tables name it: its label, else its id (also
  // for an id the trial does not list).
  const std::string& DoseGroupName(const std::string& dose_group_id) const;
  // The timepoint as the trial's tables name it: its label, else its id.
  const std::string& TimepointName(const std::string& timepoint_id) const;

 private:
  absl::flat_hash_map<std::string, int> timepoints_;
  absl::flat_hash_map<std::string, int> dose_groups_;
  absl::flat_hash_map<std::string, std::string> dose_group_labels_;
  absl::flat_hash_map<std::string, std::string> timepoint_labels_;
};

// The trial's topics: one per term that has signals, each from its stored
// record (status, history, raise time) if any, else NEW, with its evidence
// summarized: counts, crossing, lead signal, strength, one-line summary.
// Stored records without signals are kept. Ranked: strength, highest first,
// then topic_id. `with_evidence` also fills each topic's evidence items
// (strongest first, without their histories) and, from those histories
// where `signals` carry them, adds to the topic's history when it stopped
// crossing and crossed again (SignalEvent.KIND_STOPPED_CROSSING,
// KIND_CROSSING_AGAIN). Items of equal strength are
// in `order`, then by signal id; so is the lead among them.
std::vector<v1::SignalTopic> AssembleTopics(
    const std::string& trial_id, const ProtocolOrder& order,
    const std::vector<v1::Signal>& signals,
    const std::vector<v1::SignalTopic>& records, bool with_evidence);

}  // namespace aesignal::domain

#endif  // AESIGNAL_SERVICES_DOMAIN_TOPICS_H_
