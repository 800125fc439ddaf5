#include "services/domain/topic_replay.h"

#include <map>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "services/domain/evaluate.h"
#include "services/domain/topics.h"
#include "services/domain/validation.h"

namespace aesignal::domain {
namespace {

// A logged signal snapshot under the id the current scheme gives its cell.
v1::Signal WithCurrentId(v1::Signal signal) {
  const std::string id =
      SignalId(signal.method(), TermOfSignal(signal), signal.dose_group_id(),
               signal.timepoint_id());
  if (id != signal.signal_id()) {
    signal.set_signal_id(id);
    signal.set_name(
        absl::StrCat(TrialName(signal.trial_id()), "/signals/", id));
  }
  return signal;
}

// Replaces *current with `snapshot`, keeping the history gathered so far
// and appending `event` to it (snapshots are logged without history).
template <typename Message>
void Advance(Message snapshot, const v1::SignalEvent& event, Message* current) {
  snapshot.clear_history();
  snapshot.mutable_history()->Swap(current->mutable_history());
  *snapshot.add_history() = event;
  *current = std::move(snapshot);
}

// A topic record the log lacks (see topic_replay.h): the stored record with
// the events up to the cut-off; none if it was raised after it.
bool CutStoredRecord(const google::protobuf::Timestamp& as_of,
                     v1::SignalTopic* record) {
  auto* history = record->mutable_history();
  int kept = 0;
  while (kept < history->size() && history->Get(kept).time() <= as_of) ++kept;
  if (kept == 0) return false;
  history->DeleteSubrange(kept, history->size() - kept);
  const v1::SignalEvent& last = history->Get(kept - 1);
  record->set_status(last.to_status());
  *record->mutable_update_time() = last.time();
  return true;
}

}  // namespace

ReplayedTopics ReplayTopics(const std::vector<storage::SignalChange>& log,
                            const std::vector<v1::SignalTopic>& stored_records,
                            const google::protobuf::Timestamp& as_of) {
  std::map<std::string, v1::Signal> signals;
  std::map<std::string, v1::SignalTopic> records;
  for (const storage::SignalChange& change : log) {
    if (change.event().time() > as_of) continue;
    if (change.has_signal()) {
      v1::Signal snapshot = WithCurrentId(change.signal());
      const std::string id = snapshot.signal_id();
      Advance(std::move(snapshot), change.event(), &signals[id]);
    } else if (change.has_topic()) {
      Advance(change.topic(), change.event(),
              &records[change.topic().topic_id()]);
    }
  }
  for (const v1::SignalTopic& stored : stored_records) {
    auto it = records.find(stored.topic_id());
    v1::SignalTopic record = stored;
    if (it == records.end()) {
      if (CutStoredRecord(as_of, &record)) {
        records.emplace(stored.topic_id(), std::move(record));
      }
      continue;
    }
    // A record raised before topics existed and triaged since: its stored
    // history starts with events the log never held.
    if (CutStoredRecord(as_of, &record) &&
        record.history_size() > it->second.history_size()) {
      it->second.mutable_history()->Swap(record.mutable_history());
    }
  }
  ReplayedTopics out;
  for (auto& [id, signal] : signals) out.signals.push_back(std::move(signal));
  for (auto& [id, record] : records) out.records.push_back(std::move(record));
  return out;
}

}  // namespace aesignal::domain
