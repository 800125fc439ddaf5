// SignalBook's topic side: listing, reading, triaging and watching signal
// topics, and creating the records of topics raised before topics existed.
// The topic model (assembly from signals, ranking) is in topics.h.
#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/util/time_util.h"
#include "services/domain/audit_actions.h"
#include "services/domain/common.h"
#include "services/domain/evaluate.h"
#include "services/domain/prespecified.h"
#include "services/domain/signals.h"
#include "services/domain/topic_replay.h"
#include "services/domain/topics.h"
#include "services/domain/triage.h"
#include "services/domain/validation.h"
#include "services/errors/errors.h"
#include "storage/audit.h"
#include "storage/signals.h"

namespace aesignal::domain {
namespace {

using internal::LoadTrial;

absl::StatusOr<std::pair<std::string, std::string>> ParseTopicName(
    const std::string& name) {
  std::vector<std::string> parts = absl::StrSplit(name, '/');
  if (parts.size() != 4 || parts[0] != "trials" || parts[2] != "topics" ||
      parts[1].empty() || parts[3].empty()) {
    return errors::InvalidArgument(
        "name", "must be trials/{trial_id}/topics/{topic_id}");
  }
  return std::make_pair(parts[1], parts[3]);
}

bool Matches(const v1::ListTopicsRequest& request,
             const v1::SignalTopic& topic) {
  if (request.status() != v1::SIGNAL_STATUS_UNSPECIFIED &&
      request.status() != topic.status()) {
    return false;
  }
  if (request.level() != v1::TERM_LEVEL_UNSPECIFIED &&
      request.level() != topic.level()) {
    return false;
  }
  if (!request.term().empty() && request.term() != topic.pt() &&
      request.term() != topic.soc() && request.term() != topic.overall_key()) {
    return false;
  }
  return !request.crossing_only() || topic.crossing();
}

// The topics of `trial` at one snapshot (`topic_id` non-empty: only it,
// and with evidence its signals' histories are read, for the topic's
// crossing events).
absl::StatusOr<std::vector<v1::SignalTopic>> TopicsAt(
    const storage::ReadView& view, const v1::Trial& trial,
    const std::string& topic_id, bool with_evidence) {
  const std::string& trial_id = trial.trial_id();
  AESIGNAL_ASSIGN_OR_RETURN(std::vector<v1::Signal> signals,
                            storage::ReadSignals(view, trial_id));
  AESIGNAL_ASSIGN_OR_RETURN(std::vector<v1::SignalTopic> records,
                            storage::ReadTopics(view, trial_id));
  if (!topic_id.empty()) {
    std::erase_if(signals, [&](const v1::Signal& s) {
      return TopicId(TermOfSignal(s)) != topic_id;
    });
    std::erase_if(records, [&](const v1::SignalTopic& t) {
      return t.topic_id() != topic_id;
    });
    if (with_evidence) {
      for (v1::Signal& s : signals) {
        AESIGNAL_RETURN_IF_ERROR(
            storage::ReadSignalHistory(view, trial_id, &s));
      }
    }
  }
  for (v1::Signal& s : signals) FillScope(&s);
  return AssembleTopics(trial_id, ProtocolOrder(trial), signals, records,
                        with_evidence);
}

// The topics of the trial as they stood at `as_of`, replayed from the
// change log (topic_replay.h); `topic_id` non-empty: only it (the replay
// reads the whole log either way, but only its topic is assembled).
absl::StatusOr<std::vector<v1::SignalTopic>> TopicsAsOf(
    const storage::ReadView& view, const v1::Trial& trial,
    const google::protobuf::Timestamp& as_of, const std::string& topic_id,
    bool with_evidence) {
  const std::string& trial_id = trial.trial_id();
  std::vector<storage::SignalChange> log;
  AESIGNAL_RETURN_IF_ERROR(storage::ReadSignalLog(
      view, trial_id, 0, [&](storage::SignalChange change) {
        log.push_back(std::move(change));
        return true;
      }));
  AESIGNAL_ASSIGN_OR_RETURN(std::vector<v1::SignalTopic> stored,
                            storage::ReadTopics(view, trial_id));
  ReplayedTopics replayed = ReplayTopics(log, stored, as_of);
  if (!topic_id.empty()) {
    std::erase_if(replayed.signals, [&](const v1::Signal& s) {
      return TopicId(TermOfSignal(s)) != topic_id;
    });
    std::erase_if(replayed.records, [&](const v1::SignalTopic& t) {
      return t.topic_id() != topic_id;
    });
  }
  for (v1::Signal& s : replayed.signals) FillScope(&s);
  return AssembleTopics(trial_id, ProtocolOrder(trial), replayed.signals,
                        replayed.records, with_evidence);
}

v1::TriageSignalRequest AsTriage(const v1::TriageTopicRequest& request) {
  v1::TriageSignalRequest triage;
  triage.set_name(request.name());
  triage.set_status(request.status());
  triage.set_comment(request.comment());
  triage.set_display_name(request.display_name());
  triage.set_request_id(request.request_id());
  return triage;
}

// The record a topic raised before topics existed gets: raised when its
// first signal was, then every triage of its signals in time order.
v1::SignalTopic RecordFromSignals(const v1::SignalTopic& assembled,
                                  const std::vector<v1::Signal>& signals) {
  v1::SignalTopic record = assembled;
  record.clear_evidence();
  record.clear_history();
  v1::SignalEvent raised;
  raised.set_kind(v1::SignalEvent::KIND_RAISED);
  raised.set_actor("system");
  *raised.mutable_time() = assembled.raise_time();
  raised.set_to_status(v1::SIGNAL_STATUS_NEW);
  std::vector<v1::SignalEvent> triages;
  for (const v1::Signal& s : signals) {
    for (const v1::SignalEvent& e : s.history()) {
      if (e.kind() == v1::SignalEvent::KIND_TRIAGED) triages.push_back(e);
    }
  }
  std::stable_sort(triages.begin(), triages.end(),
                   [](const v1::SignalEvent& a, const v1::SignalEvent& b) {
                     return a.time() < b.time();
                   });
  *record.add_history() = std::move(raised);
  record.set_status(v1::SIGNAL_STATUS_NEW);
  for (v1::SignalEvent& e : triages) {
    record.set_status(e.to_status());
    *record.add_history() = std::move(e);
  }
  return record;
}

}  // namespace

absl::StatusOr<v1::ListTopicsResponse> SignalBook::ListTopics(
    const v1::ListTopicsRequest& request) {
  AESIGNAL_ASSIGN_OR_RETURN(std::string trial_id,
                            ParseTrialName(request.parent(), "parent"));
  AESIGNAL_ASSIGN_OR_RETURN(
      int page_size,
      internal::PageSize(request.page_size(), 50, 1000, "page_size"));
  AESIGNAL_ASSIGN_OR_RETURN(size_t offset, internal::PageOffset(request));
  if (request.has_as_of()) {
    AESIGNAL_RETURN_IF_ERROR(internal::CheckAsOf(request.as_of()));
  }
  auto view = store_.Snapshot();
  AESIGNAL_ASSIGN_OR_RETURN(v1::Trial trial, LoadTrial(*view, trial_id));
  AESIGNAL_ASSIGN_OR_RETURN(
      std::vector<v1::SignalTopic> topics,
      request.has_as_of() ? TopicsAsOf(*view, trial, request.as_of(), "", false)
                          : TopicsAt(*view, trial, "", false));
  v1::ListTopicsResponse response;
  size_t matched = 0;
  for (v1::SignalTopic& topic : topics) {
    if (!Matches(request, topic)) continue;
    if (matched >= offset && response.topics_size() < page_size) {
      topic.clear_history();
      *response.add_topics() = std::move(topic);
    }
    ++matched;
  }
  response.set_total_size(static_cast<int>(matched));
  if (offset + page_size < matched) {
    response.set_next_page_token(
        internal::EncodePageToken(request, absl::StrCat(offset + page_size)));
  }
  AESIGNAL_ASSIGN_OR_RETURN(int pending,
                            RowsPendingEvaluation(*view, trial_id));
  response.set_rows_pending_evaluation(pending);
  return response;
}

absl::StatusOr<v1::SignalTopic> SignalBook::GetTopic(
    const v1::GetTopicRequest& request) {
  AESIGNAL_ASSIGN_OR_RETURN(auto ids, ParseTopicName(request.name()));
  if (request.has_as_of()) {
    AESIGNAL_RETURN_IF_ERROR(internal::CheckAsOf(request.as_of()));
  }
  auto view = store_.Snapshot();
  AESIGNAL_ASSIGN_OR_RETURN(v1::Trial trial, LoadTrial(*view, ids.first));
  if (request.has_as_of()) {
    AESIGNAL_ASSIGN_OR_RETURN(
        std::vector<v1::SignalTopic> topics,
        TopicsAsOf(*view, trial, request.as_of(), ids.second, true));
    for (v1::SignalTopic& topic : topics) {
      if (topic.topic_id() == ids.second) return std::move(topic);
    }
    return errors::NotFound("topic", request.name());
  }
  AESIGNAL_ASSIGN_OR_RETURN(std::vector<v1::SignalTopic> topics,
                            TopicsAt(*view, trial, ids.second, true));
  if (topics.empty()) return errors::NotFound("topic", request.name());
  return std::move(topics.front());
}

namespace {

// A server-side read of a whole trial at a data cut-off: the snapshot and
// the trial that request.parent names. `as_of` is required; `why` says why
// when it is missing.
struct CutOffRead {
  std::unique_ptr<storage::SnapshotView> view;
  v1::Trial trial;
};
absl::StatusOr<CutOffRead> ReadAtCutOff(const storage::Store& store,
                                        const v1::ListTopicsRequest& request,
                                        const char* why) {
  AESIGNAL_ASSIGN_OR_RETURN(std::string trial_id,
                            ParseTrialName(request.parent(), "parent"));
  if (!request.has_as_of()) return errors::InvalidArgument("as_of", why);
  AESIGNAL_RETURN_IF_ERROR(internal::CheckAsOf(request.as_of()));
  CutOffRead read{.view = store.Snapshot(), .trial = {}};
  AESIGNAL_ASSIGN_OR_RETURN(read.trial, LoadTrial(*read.view, trial_id));
  return read;
}

}  // namespace

absl::StatusOr<std::vector<v1::SignalTopic>> SignalBook::GetTopicsAtCutOff(
    const v1::ListTopicsRequest& request) {
  AESIGNAL_ASSIGN_OR_RETURN(
      CutOffRead read,
      ReadAtCutOff(store_, request,
                   "topics read together are read at a data cut-off"));
  AESIGNAL_ASSIGN_OR_RETURN(std::vector<v1::SignalTopic> topics,
                            TopicsAsOf(*read.view, read.trial, request.as_of(),
                                       "", /*with_evidence=*/true));
  std::erase_if(topics, [&](const v1::SignalTopic& topic) {
    return !Matches(request, topic);
  });
  return topics;
}

absl::StatusOr<std::vector<v1::Baseline>> SignalBook::BaselinesAtCutOff(
    const std::string& parent, const google::protobuf::Timestamp& as_of) {
  v1::ListTopicsRequest request;
  request.set_parent(parent);
  *request.mutable_as_of() = as_of;
  AESIGNAL_ASSIGN_OR_RETURN(
      CutOffRead read,
      ReadAtCutOff(store_, request,
                   "baselines in force are read at a data cut-off"));
  return ReadBaselinesAsOf(*read.view, read.trial.trial_id(), as_of);
}

absl::StatusOr<std::vector<v1::SignalTopic>> SignalBook::PrespecifiedAtCutOff(
    const v1::ListTopicsRequest& request) {
  AESIGNAL_ASSIGN_OR_RETURN(
      CutOffRead read,
      ReadAtCutOff(store_, request,
                   "pre-specified rows are evaluated at a data cut-off"));
  return EvaluatePrespecifiedAtCutOff(*read.view, read.trial, request.as_of());
}

absl::StatusOr<v1::SignalTopic> SignalBook::TriageTopic(
    const v1::TriageTopicRequest& request, const CallInfo& call) {
  AESIGNAL_ASSIGN_OR_RETURN(auto ids, ParseTopicName(request.name()));
  const v1::TriageSignalRequest triage = AsTriage(request);
  AESIGNAL_RETURN_IF_ERROR(CheckTriageRequest(triage));
  bool changed = false;
  AESIGNAL_RETURN_IF_ERROR(store_.Commit([&](storage::Txn& txn) {
    AESIGNAL_ASSIGN_OR_RETURN(std::optional<v1::SignalTopic> topic,
                              storage::ReadTopic(txn, ids.first, ids.second));
    if (!topic.has_value()) return errors::NotFound("topic", request.name());
    AESIGNAL_ASSIGN_OR_RETURN(
        bool retried, AlreadyTriaged(topic->history(), triage, "topic"));
    if (retried) return absl::OkStatus();
    AESIGNAL_RETURN_IF_ERROR(CheckTransition(topic->status(), request.status(),
                                             "topic", request.name()));
    AESIGNAL_ASSIGN_OR_RETURN(int64_t sequence,
                              storage::NextSignalSequence(txn, ids.first));
    const v1::SignalEvent event = TriageEvent(topic->status(), triage, call);
    topic->set_status(request.status());
    *topic->mutable_update_time() = event.time();
    topic->set_change_sequence(sequence);
    storage::WriteTopicChange(txn, ids.first, *topic, event);
    AESIGNAL_RETURN_IF_ERROR(AuditTriage(txn, ids.first, call, event,
                                         audit_action::kTopicTriage,
                                         topic->name(), sequence));
    changed = true;
    return absl::OkStatus();
  }));
  if (changed) {
    metrics_.SignalEvents(v1::SignalEvent::KIND_TRIAGED, 1);
    NotifyChanges();
  }
  v1::GetTopicRequest get;
  get.set_name(request.name());
  return GetTopic(get);
}

absl::StatusOr<std::vector<v1::WatchTopicsResponse>>
SignalBook::WaitForTopicChanges(const std::string& trial_id, int64_t after,
                                absl::Time deadline) {
  AESIGNAL_ASSIGN_OR_RETURN(
      std::vector<storage::SignalChange> changes,
      WaitForChanges(trial_id, after, deadline, /*include_topics=*/true));
  std::vector<v1::WatchTopicsResponse> out;
  if (changes.empty()) return out;
  auto view = store_.Snapshot();
  AESIGNAL_ASSIGN_OR_RETURN(v1::Trial trial, LoadTrial(*view, trial_id));
  AESIGNAL_ASSIGN_OR_RETURN(std::vector<v1::SignalTopic> topics,
                            TopicsAt(*view, trial, "", false));
  std::map<std::string, const v1::SignalTopic*> by_id;
  for (const v1::SignalTopic& t : topics) by_id[t.topic_id()] = &t;
  for (storage::SignalChange& change : changes) {
    v1::WatchTopicsResponse& response = out.emplace_back();
    const bool own = !change.has_signal();
    const std::string id = own ? change.topic().topic_id()
                               : TopicId(TermOfSignal(change.signal()));
    response.set_change_sequence(own ? change.topic().change_sequence()
                                     : change.signal().change_sequence());
    if (!own) {
      response.set_signal_id(change.signal().signal_id());
      change.mutable_event()->set_kind(v1::SignalEvent::KIND_EVIDENCE_UPDATED);
    }
    auto it = by_id.find(id);
    *response.mutable_topic() =
        it != by_id.end() ? *it->second : change.topic();
    response.mutable_topic()->clear_history();
    *response.mutable_event() = std::move(*change.mutable_event());
  }
  return out;
}

namespace {
// Whether some signal of the trial has no topic record.
absl::StatusOr<bool> SignalsWithoutTopics(const storage::ReadView& view,
                                          const std::string& trial_id) {
  AESIGNAL_ASSIGN_OR_RETURN(std::vector<v1::Signal> signals,
                            storage::ReadSignals(view, trial_id));
  AESIGNAL_ASSIGN_OR_RETURN(std::vector<v1::SignalTopic> records,
                            storage::ReadTopics(view, trial_id));
  std::set<std::string> recorded;
  for (const v1::SignalTopic& r : records) recorded.insert(r.topic_id());
  for (const v1::Signal& s : signals) {
    if (!recorded.contains(TopicId(TermOfSignal(s)))) return true;
  }
  return false;
}
}  // namespace

absl::StatusOr<int> SignalBook::UpgradeTopics() {
  AESIGNAL_ASSIGN_OR_RETURN(std::vector<std::string> trial_ids,
                            internal::ReadTrialIds(store_.Latest()));
  int created = 0;
  for (const std::string& trial_id : trial_ids) {
    // Most stores have nothing to upgrade: found by reading, so that a
    // store open read-only (its disk full) still starts.
    AESIGNAL_ASSIGN_OR_RETURN(bool needed,
                              SignalsWithoutTopics(store_.Latest(), trial_id));
    if (!needed) continue;
    AESIGNAL_RETURN_IF_ERROR(store_.Commit([&](storage::Txn& txn) {
      AESIGNAL_ASSIGN_OR_RETURN(std::vector<v1::Signal> signals,
                                storage::ReadSignals(txn, trial_id));
      AESIGNAL_ASSIGN_OR_RETURN(std::vector<v1::SignalTopic> records,
                                storage::ReadTopics(txn, trial_id));
      std::map<std::string, std::vector<v1::Signal>> by_topic;
      for (v1::Signal& s : signals) {
        AESIGNAL_RETURN_IF_ERROR(storage::ReadSignalHistory(txn, trial_id, &s));
        by_topic[TopicId(TermOfSignal(s))].push_back(std::move(s));
      }
      for (const v1::SignalTopic& r : records) by_topic.erase(r.topic_id());
      AESIGNAL_ASSIGN_OR_RETURN(v1::Trial trial, LoadTrial(txn, trial_id));
      const ProtocolOrder order(trial);
      for (auto& [id, members] : by_topic) {
        v1::SignalTopic topic =
            AssembleTopics(trial_id, order, members, {}, false).front();
        v1::SignalTopic record = RecordFromSignals(topic, members);
        v1::SignalEvent last = record.history(record.history_size() - 1);
        record.mutable_history()->RemoveLast();
        storage::WriteTopicChange(txn, trial_id, record, last, /*log=*/false);
        ++created;
      }
      return absl::OkStatus();
    }));
  }
  return created;
}

}  // namespace aesignal::domain
