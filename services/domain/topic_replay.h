// Signal topics as they stood at a data cut-off (ListTopicsRequest.as_of),
// replayed from the trial's signal change log.
//
// Every write of a current signal appends the signal as of that change (its
// evidence, status, times; storage::WriteSignalChange) and the event to the
// log in the same atomic write, and every logged change of a topic's own
// record (raised, triaged) appends the record as of it. So the state at a
// cut-off is the last logged snapshot of each signal and topic whose event
// is at or before it, with the events up to it as its history; nothing is
// recomputed, and evidence is what the evaluator had recorded by then.
//
// Two things are not in the log, and are taken from elsewhere:
//  - signals renamed by SignalBook::UpgradeSignalIds keep their old ids in
//    the snapshots logged before the rename: the replay gives every
//    snapshot the id the current scheme assigns to its cell (SignalId), as
//    the upgrade did;
//  - topic records created by SignalBook::UpgradeTopics (stores from before
//    topics existed) were written without logging: their history is the
//    stored record's, cut at the cut-off (events are only ever appended to
//    it, each with its time), and their status the last such event's.
//
// Pure; thread-safe. Internal to services/domain.
#ifndef AESIGNAL_SERVICES_DOMAIN_TOPIC_REPLAY_H_
#define AESIGNAL_SERVICES_DOMAIN_TOPIC_REPLAY_H_

#include <vector>

#include "aesignal/v1/signal.pb.h"
#include "google/protobuf/timestamp.pb.h"
#include "storage/records.pb.h"

namespace aesignal::domain {

struct ReplayedTopics {
  // Each signal raised by the cut-off, as of its last change up to it, with
  // its history up to it (oldest first), by signal_id.
  std::vector<v1::Signal> signals;
  // Each topic record raised by the cut-off, as of it, with its own history
  // up to it, by topic_id.
  std::vector<v1::SignalTopic> records;
};

// `log` is the trial's change log in sequence order (storage::ReadSignalLog
// from the start); `stored_records` the trial's current topic records
// (storage::ReadTopics), for the records the log lacks. Changes whose event
// time is after `as_of` are left out.
ReplayedTopics ReplayTopics(const std::vector<storage::SignalChange>& log,
                            const std::vector<v1::SignalTopic>& stored_records,
                            const google::protobuf::Timestamp& as_of);

}  // namespace aesignal::domain

#endif  // AESIGNAL_SERVICES_DOMAIN_TOPIC_REPLAY_H_
