// Stored baselines, signals, the signal change log and dirty-term marks.
//
// - baselines: every version is kept; the current one is the highest.
// - signals: the current state of each signal (without history); every
//   change is appended to the signal's history and to the trial's change log
//   under a dense, increasing sequence number, which WatchSignals cursors use.
//   Writes stay O(1) however long a signal's history grows.
// - dirty terms: term rows whose counters changed since their signals were
//   last evaluated (see records.proto DirtyTerm).
//
// Thread-compatible: reads and writes go through the given view/transaction.
#ifndef AESIGNAL_STORAGE_SIGNALS_H_
#define AESIGNAL_STORAGE_SIGNALS_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "aesignal/v1/signal.pb.h"
#include "storage/dirty_mark.h"
#include "storage/keys.h"
#include "storage/records.pb.h"
#include "storage/store.h"

namespace aesignal::storage {

// --- Baselines ---------------------------------------------------------------
std::string BaselineKey(std::string_view trial_id, std::string_view baseline_id,
                        uint32_t version);
absl::StatusOr<std::optional<v1::Baseline>> ReadBaseline(
    const ReadView& view, std::string_view trial_id,
    std::string_view baseline_id);
// Every stored version of one baseline, oldest first (empty if none).
absl::StatusOr<std::vector<v1::Baseline>> ReadBaselineVersions(
    const ReadView& view, std::string_view trial_id,
    std::string_view baseline_id);
// The current version of every baseline of the trial, by baseline_id.
absl::StatusOr<std::vector<v1::Baseline>> ReadBaselines(
    const ReadView& view, std::string_view trial_id);
void WriteBaseline(Txn& txn, std::string_view trial_id,
                   const v1::Baseline& baseline);

// --- Signals -----------------------------------------------------------------
std::string SignalKey(std::string_view trial_id, std::string_view signal_id);
absl::StatusOr<std::optional<v1::Signal>> ReadSignal(
    const ReadView& view, std::string_view trial_id,
    std::string_view signal_id);
absl::StatusOr<std::vector<v1::Signal>> ReadSignals(const ReadView& view,
                                                    std::string_view trial_id);

// The sequence number the next change of the trial gets (1 for the first).
// Scan-free: reads the last log key.
absl::StatusOr<int64_t> NextSignalSequence(const ReadView& view,
                                           std::string_view trial_id);
// Stores `signal` (whose change_sequence must be set; its history field is
// not stored) and appends `event` to its history and to the trial's log.
void WriteSignalChange(Txn& txn, std::string_view trial_id,
                       const v1::Signal& signal, const v1::SignalEvent& event);
// --- Signal topics -----------------------------------------------------------
// A topic's stored state: status, raise and update times, change sequence and
// its own history (raised, triaged). Its evidence is its signals, read apart.
std::string TopicKey(std::string_view trial_id, std::string_view topic_id);
absl::StatusOr<std::optional<v1::SignalTopic>> ReadTopic(
    const ReadView& view, std::string_view trial_id, std::string_view topic_id);
// Every stored topic of the trial, by topic_id.
absl::StatusOr<std::vector<v1::SignalTopic>> ReadTopics(
    const ReadView& view, std::string_view trial_id);
// Stores `topic` (with `event` appended to its history; its evidence is not
// stored) and, if `log` (the topic's change_sequence must be set then),
// appends {topic without history, event} to the trial's change log.
void WriteTopicChange(Txn& txn, std::string_view trial_id,
                      const v1::SignalTopic& topic,
                      const v1::SignalEvent& event, bool log = true);

// Moves a stored signal to a new id (an id scheme upgrade): `renamed` (whose
// signal_id is the new id) replaces it, and its history events move with it
// under the same sequences. The change log keeps the snapshots it logged.
absl::Status RenameSignal(Txn& txn, std::string_view trial_id,
                          std::string_view old_id, const v1::Signal& renamed);
// Fills signal->history with every stored event of the signal, oldest first.
absl::Status ReadSignalHistory(const ReadView& view, std::string_view trial_id,
                               v1::Signal* signal);
// Calls fn for each logged change with sequence > after, in order, until fn
// returns false.
absl::Status ReadSignalLog(const ReadView& view, std::string_view trial_id,
                           int64_t after,
                           const std::function<bool(SignalChange)>& fn);

// --- Dirty terms -------------------------------------------------------------
std::string DirtyTermKey(std::string_view trial_id, const TermKey& term);
struct DirtyTermEntry {
  std::string trial_id;
  TermKey term;
  DirtyTerm mark;
};
// Marks `term` of the trial dirty, keeping a generation that increases:
// `report_id`/`report_version` is the row's latest report, and `cells` the
// latest report per cell (group, window) that the change touched
// (dirty_mark.h updates the encoded mark).
absl::Status MarkTermDirty(Txn& txn, std::string_view trial_id,
                           const TermKey& term, std::string_view report_id,
                           uint32_t report_version,
                           const std::vector<CellReport>& cells = {});
// Marks `term` of the trial dirty for a change other than a report: keeps
// its latest report and cells, sets `change` (the latest such change; none
// if null, for a recount or an upgrade) and increases the generation.
absl::Status MarkTermChanged(Txn& txn, std::string_view trial_id,
                             const TermKey& term, const v1::ChangeRef* change);
// A stored dirty mark that does not parse: only a damaged store holds one.
struct MalformedDirtyMark {
  std::string trial_id;  // empty when even the key's trial does not parse
  absl::Status error;    // DATA_LOSS, naming the key
};
// Every dirty mark (all trials), in key order. With `malformed` null, a mark
// that does not parse fails the read (DATA_LOSS); otherwise it is skipped
// and appended to `*malformed`, and the read goes on, so that one damaged
// mark need not stop the evaluation of every other trial.
absl::StatusOr<std::vector<DirtyTermEntry>> ReadDirtyTerms(
    const ReadView& view, std::vector<MalformedDirtyMark>* malformed = nullptr);
// How many term rows of the trial are marked dirty: changed by a batch (or a
// trial or baseline change) that no evaluation has covered yet.
absl::StatusOr<int> CountDirtyTerms(const ReadView& view,
                                    std::string_view trial_id);
// Removes the mark if its generation is still `generation`.
absl::Status ClearDirtyTerm(Txn& txn, std::string_view trial_id,
                            const TermKey& term, uint64_t generation);

}  // namespace aesignal::storage

#endif  // AESIGNAL_STORAGE_SIGNALS_H_
