// Subject-level incidence counters, maintained incrementally.
//
// Model. A report version contributes one event to each term row it counts
// in, in the timepoint window of its onset. Which rows those are (its PT, its
// SOC, overall rows such as any AE or each AESI category) is a clinical rule
// that the caller decides and passes in (services/domain/incidence_rows.h):
// storage counts what it is given and never interprets a report.
// For every (term, subject) the store keeps the subject's event count per
// window; for every (term, dose group, window) cell it keeps
//   interval_subjects: subjects with >= 1 event in the window,
//   new_subjects:      subjects whose first event for the term is in the
//                      window,
//   events:            events in the window.
// The cells of one term are stored together, as one counter row (its non-zero
// cells), so a page of an incidence table reads one key per term.
// Cumulative subjects at timepoint k = sum of new_subjects over windows <= k,
// so a subject is counted once per term however many events it has. When a
// follow-up replaces a version, the old contributions are removed and the new
// ones added in the same WriteBatch, which moves the subject between cells.
// Queries read these counters and never scan reports.
//
// All functions are thread-compatible; they read and write through the given
// view / transaction only.
#ifndef AESIGNAL_STORAGE_INCIDENCE_H_
#define AESIGNAL_STORAGE_INCIDENCE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "aesignal/v1/report.pb.h"
#include "storage/keys.h"
#include "storage/store.h"

namespace aesignal::storage {

struct CellCounts {
  int64_t interval_subjects = 0;
  int64_t new_subjects = 0;
  int64_t events = 0;
  bool zero() const {
    return interval_subjects == 0 && new_subjects == 0 && events == 0;
  }
  friend bool operator==(const CellCounts&, const CellCounts&) = default;
};
// Schema 1's value of one counter cell (read by the migration below).
std::string EncodeCellCounts(const CellCounts& c);
absl::StatusOr<CellCounts> DecodeCellCounts(std::string_view bytes);

// One non-zero cell of a counter row.
struct CounterCell {
  uint32_t group = 0;   // dose group index
  uint32_t window = 0;  // timepoint window index
  CellCounts counts;
  friend bool operator==(const CounterCell&, const CounterCell&) = default;
};
// The stored counters of one term: its non-zero cells, in (group, window)
// order. Encoded as varints: group, window, interval_subjects, new_subjects,
// events per cell.
using CounterRow = std::vector<CounterCell>;
std::string EncodeCounterRow(const CounterRow& row);
// DATA_LOSS unless `bytes` is a well-formed row: cells in strictly increasing
// (group, window) order, none all zero.
absl::StatusOr<CounterRow> DecodeCounterRow(std::string_view bytes);

// Per-window event counts of one subject for one term.
using WindowCounts = std::vector<uint32_t>;
std::string EncodeWindowCounts(const WindowCounts& w);
// A state with fewer windows than `num_windows` (stored before an amendment
// appended timepoints) is padded with zeros; one with more is DATA_LOSS.
absl::StatusOr<WindowCounts> DecodeWindowCounts(std::string_view bytes,
                                                int num_windows);

// Pure: the counter deltas that changing a subject's per-window counts from
// `before` to `after` implies, keyed by window.
std::map<int, CellCounts> CellDeltas(const WindowCounts& before,
                                     const WindowCounts& after);

// One counted report version, as the counters see it: whose event it is,
// where it counts (dose group, timepoint window) and the term rows it counts
// in, as decided by the caller. A view: `subject_id` and `rows` must outlive
// the call it is passed to.
struct CountedVersion {
  std::string_view subject_id;
  int group = 0;                  // dose group index
  int window = 0;                 // timepoint window index
  std::span<const TermKey> rows;  // distinct
};

// The counter rows one transaction changes, read and decoded once and kept
// until Flush writes each changed row once: the reports of a batch change
// the same rows (any AE, their SOCs, frequent PTs) over and over.
// Thread-compatible; lives inside one mutation, and `txn` must outlive it.
class CounterRows {
 public:
  explicit CounterRows(Txn& txn) : txn_(txn) {}
  CounterRows(const CounterRows&) = delete;
  CounterRows& operator=(const CounterRows&) = delete;

  // The decoded row of `row_key` (empty if it has none yet), to change.
  absl::StatusOr<CounterRow*> Mutable(const std::string& row_key);
  // Puts every row handed out since the last Flush into the transaction (or
  // deletes it, if no cell is left). Changes not flushed are not written.
  void Flush();

 private:
  Txn& txn_;
  std::map<std::string, CounterRow> rows_;
};

// Moves the counters of `trial_id` from `removed` (the previously counted
// version of a report, if any) to `added` (the newly counted one). Either may
// be null. Reads each touched subject-term state once; changes the counter
// rows in `rows`, which the caller flushes (after all of a batch's reports).
absl::Status ApplyReportChange(Txn& txn, CounterRows& rows,
                               std::string_view trial_id, int num_windows,
                               const CountedVersion* removed,
                               const CountedVersion* added);
// The same, flushing its counter rows at once (for a single change).
absl::Status ApplyReportChange(Txn& txn, std::string_view trial_id,
                               int num_windows, const CountedVersion* removed,
                               const CountedVersion* added);

// The counters of one term row: cells[group * num_windows + window].
struct TermCounters {
  TermKey term;
  std::vector<CellCounts> cells;
};

// Dose group corrections: each corrected subject's counted events move from
// group index `from` to `to`. Keyed by subject_id.
struct GroupMove {
  int from = 0;
  int to = 0;
};
using GroupMoves = absl::flat_hash_map<std::string, GroupMove>;

// Applies `moves` in `txn`: the subjects' subject-term states stay as they
// are (they hold no group), and each state's part of its term's counter row
// leaves `from` and joins `to`. States are keyed by term first, so this
// scans every subject-term state of the trial once (for any number of
// subjects): for corrections, never for ingest.
absl::Status MoveSubjectGroups(Txn& txn, std::string_view trial_id,
                               int num_windows, const GroupMoves& moves);

// Reads up to `max_terms` term rows of `level`, in key order, starting after
// the encoded term `after` (empty: from the start). Sets *more if rows remain.
absl::StatusOr<std::vector<TermCounters>> ReadTermCounters(
    const ReadView& view, std::string_view trial_id, Level level,
    int num_groups, int num_windows, std::string_view after, int max_terms,
    bool* more);

// Reads the counters of specific term rows (zero cells when absent).
absl::StatusOr<TermCounters> ReadOneTerm(const ReadView& view,
                                         std::string_view trial_id,
                                         const TermKey& term, int num_groups,
                                         int num_windows);

// The term rows a report version counts in: the caller's rule, the same one
// whose rows it passes to ApplyReportChange.
using CountedRowsFn =
    std::function<std::vector<TermKey>(const v1::AdverseEventReport&)>;
// Each enrolled subject's dose group index: the group all of the subject's
// reports count in. The domain reads it from the subjects, whose dose group
// a correction may change; a stored version's own dose_group is the group at
// the time it was received.
using SubjectGroups = absl::flat_hash_map<std::string, int>;

// How much verification holds in memory. It recounts the subjects in
// passes, each over every stored report, holding one pass's recounted
// subject-term states (~100-200 bytes each) and the trial's recounted
// counter rows (one per term).
struct VerifyLimits {
  // The passes are as many as the stored subject-term states divided by
  // this, rounded up (at least one).
  size_t max_states_per_pass = 2'000'000;
};

// Recomputes every subject-term state and counter of a trial from the stored
// reports (the highest version of each report, counted in the rows
// `rows_of` gives and in its subject's group in `groups`) and compares them
// with what is stored; the recount never reads the maintained states or
// counters (it counts the stored states only to size its passes). Also checks
// that every report's head names its newest version. What it checked if
// identical; DATA_LOSS describing the first differences if not. Scans all
// reports once per pass: for verification and tests, never on a query path.
struct VerifySummary {
  uint64_t reports = 0;       // reports (newest versions) recounted
  uint64_t states = 0;        // subject-term states recounted
  uint64_t counter_rows = 0;  // counter rows recounted
  uint64_t passes = 0;        // passes over the stored reports
};
absl::StatusOr<VerifySummary> VerifyCounters(const ReadView& view,
                                             std::string_view trial_id,
                                             int num_windows,
                                             const CountedRowsFn& rows_of,
                                             const SubjectGroups& groups,
                                             const VerifyLimits& limits = {});

// Recounts the rows `terms` of a trial from its stored reports (the newest
// version of each report, in those of the rows `rows_of` gives that are in
// `terms`) and replaces their stored subject-term states and counter rows
// with the recount, in `txn`; other rows are left alone. For when the
// counting rule gains a row (the domain's UpgradeCountingRules): reports
// stored before were not counted in it. Scans every report of the trial.
absl::Status RecountTerms(Txn& txn, std::string_view trial_id, int num_windows,
                          std::span<const TermKey> terms,
                          const CountedRowsFn& rows_of,
                          const SubjectGroups& groups);

// The version of the domain's counting rule (which rows a report counts in)
// the stored counters follow, as the domain last recorded it; 0 if it never
// did. Storage only keeps the number.
absl::StatusOr<int> ReadCountingRulesVersion(const ReadView& view);
void WriteCountingRulesVersion(Txn& txn, int version);

// Schema 1 stored one key per counter cell, (trial, term, group, window) ->
// CellCounts. Rewrites every such key into the counter rows of schema 2, one
// atomic commit per batch of whole terms, so an interrupted run leaves each
// term either converted or not and a rerun finishes the job. Called by
// Store::Open before it records schema version 2.
absl::Status MigrateCellCountersToRows(Store& store);

}  // namespace aesignal::storage

#endif  // AESIGNAL_STORAGE_INCIDENCE_H_
