// Subject-level incidence counters, maintained incrementally.
//
// Model. A report version contributes one event to each term row it belongs
// to (its PT, its SOC, and overall rows such as any AE / any SAE / grade >= 3
// / related / each AESI category), in the timepoint window of its onset.
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
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "aesignal/v1/report.pb.h"
#include "storage/keys.h"
#include "storage/store.h"

namespace aesignal::storage {

// Overall row keys, in display order (AESI rows follow, one per category).
inline constexpr const char* kAnyAe = "any_ae";
inline constexpr const char* kAnySae = "any_sae";
inline constexpr const char* kGrade3Plus = "grade_3_plus";
inline constexpr const char* kRelated = "related";
inline constexpr const char* kAesiPrefix = "aesi:";

// The term rows one report version counts in (PT, SOC, overall rows).
std::vector<TermKey> TermsOf(const v1::AdverseEventReport& report);

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
absl::StatusOr<WindowCounts> DecodeWindowCounts(std::string_view bytes,
                                                int num_windows);

// Pure: the counter deltas that changing a subject's per-window counts from
// `before` to `after` implies, keyed by window.
std::map<int, CellCounts> CellDeltas(const WindowCounts& before,
                                     const WindowCounts& after);

// Where one report version counts.
struct Placement {
  std::string subject_id;
  int group = 0;   // dose group index
  int window = 0;  // timepoint window index
};

// Moves the counters of `trial_id` from `removed` (the previously counted
// version of a report, if any) to `added` (the newly counted one), each being
// one report version with its placement. Either may be null.
absl::Status ApplyReportChange(Txn& txn, std::string_view trial_id,
                               int num_windows,
                               const v1::AdverseEventReport* removed,
                               const Placement* removed_at,
                               const v1::AdverseEventReport* added,
                               const Placement* added_at);

// The counters of one term row: cells[group * num_windows + window].
struct TermCounters {
  TermKey term;
  std::vector<CellCounts> cells;
};

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

// Recomputes every subject-term state and counter of a trial from the stored
// reports (the highest version of each report) and compares them with what is
// stored. OK if identical; DATA_LOSS describing the first differences if not.
// Scans all reports: for verification and tests, never on a query path.
absl::Status VerifyCounters(const ReadView& view, std::string_view trial_id,
                            int num_windows);

// Schema 1 stored one key per counter cell, (trial, term, group, window) ->
// CellCounts. Rewrites every such key into the counter rows of schema 2, one
// atomic commit per batch of whole terms, so an interrupted run leaves each
// term either converted or not and a rerun finishes the job. Called by
// Store::Open before it records schema version 2.
absl::Status MigrateCellCountersToRows(Store& store);

}  // namespace aesignal::storage

#endif  // AESIGNAL_STORAGE_INCIDENCE_H_
