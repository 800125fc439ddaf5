// Incidence counted from the stored reports at query time, for the tables
// the maintained counters do not hold: a subset of the AE versions
// (GetIncidenceRequest.subset) and each subject's highest grade per term
// (GetIncidenceRequest.max_grade, tern's AET04).
//
// Why at query time rather than maintained counter rows: the subject-term
// states (storage/incidence.h) keep only each subject's per-window event
// counts, not the grade, seriousness, relatedness or AESI of the versions
// behind them, so they cannot be filtered. Maintaining counter rows per
// subset would multiply the rows every report counts in (a PT and a SOC row
// for each of six subsets, and four more grade thresholds for the highest
// grade), slow every ingest batch, change what is stored (an upgrade of
// every existing store, and VerifyCounters recounting them) and need
// keeping out of signal evaluation. One scan of the trial's current report
// versions (storage::ScanNewestReports) counts a subset with the same rule
// (CountedRows, InSubset) and the same per-subject window model
// (storage::CellDeltas) as the counters, so the cells mean the same. It
// costs a few milliseconds on the CDISC pilot (254 subjects, 1,191 AE
// records; tests/integration/import_test.cc measures it) and grows linearly
// with the trial's reports: for dashboards' filtered views, not for the
// signal evaluator, which reads the counters.
//
// A table at a data cut-off (GetIncidenceRequest.as_of) is always counted
// here, the all-AE table too: the counters hold only the current state, and
// every version is kept with its receive_time, so the versions counted at
// the cut-off are known exactly.
//
// Internal to services/domain. DerivedTally is thread-compatible.
#ifndef AESIGNAL_SERVICES_DOMAIN_INCIDENCE_DERIVED_H_
#define AESIGNAL_SERVICES_DOMAIN_INCIDENCE_DERIVED_H_

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "aesignal/v1/trial.pb.h"
#include "google/protobuf/timestamp.pb.h"
#include "services/domain/common.h"
#include "services/domain/incidence_rows.h"
#include "storage/incidence.h"
#include "storage/keys.h"
#include "storage/records.pb.h"
#include "storage/store.h"

namespace aesignal::domain {

// Subjects by their highest CTCAE grade: [0] grade 1 ... [4] grade 5.
using GradeCounts = std::array<int64_t, 5>;

// One term row counted from reports.
struct DerivedRow {
  // The same counters the maintained row would hold for the subset.
  storage::TermCounters counters;
  // Per group * num_windows + window: subjects by their highest grade over
  // the row's counted versions with onset in that window or an earlier one.
  std::vector<GradeCounts> max_grade;
};
// Keyed by the encoded term (storage::EncodeTerm): counter key order.
using DerivedRows = std::map<std::string, DerivedRow>;

// Counts report versions into the rows of one level, as ingest would count
// them in counters if only `subset`'s versions existed.
class DerivedTally {
 public:
  DerivedTally(int num_groups, int num_windows, storage::Level level,
               SubsetRule subset);

  // Counts one counted (newest) version in dose group index `group` (its
  // subject's); DATA_LOSS if the group or the stored window is outside the
  // trial.
  absl::Status Add(const storage::StoredReport& stored, int group);
  DerivedRows Rows() const;

 private:
  // One subject's part of one term row.
  struct State {
    int group = 0;
    std::vector<uint32_t> events;  // per window
    std::vector<int> max_grade;    // per window, 0 without an event
  };
  struct Term {
    storage::TermKey key;
    std::map<std::string, State> subjects;
  };
  DerivedRow RowOf(const Term& term) const;

  const int num_groups_;
  const int num_windows_;
  const storage::Level level_;
  const SubsetRule subset_;
  std::map<std::string, Term> terms_;   // by encoded term
  std::vector<storage::TermKey> rows_;  // scratch for CountedRows
};

// Every row of `level` with >= 1 subject, counted from the trial's newest
// report versions at `view`.
absl::StatusOr<DerivedRows> DeriveRows(const storage::ReadView& view,
                                       const v1::Trial& trial,
                                       storage::Level level,
                                       const SubsetRule& subset);

// What one table counts: a level, and a subset of the versions.
struct TallySpec {
  storage::Level level = storage::Level::kPt;
  SubsetRule subset;
  bool operator==(const TallySpec&) const = default;
};

// Tables as they stood at a data cut-off: for each spec its rows, counted
// from each report's version as of `as_of` (storage::ScanReportsAsOf) as
// DeriveRows counts the newest (the rows the counters held then, since
// versions are counted by the same rule either way), and the denominators
// then (each subject's version as of the cut-off, and the last window of its
// counted versions, whatever the subset: what the any-AE row's states held).
// One read of the subject history and one pass over the report versions
// serve every table, since the pass parses every version and costs far more
// than the counting (a DSMB report's tables, docs/benchmarks.md). Memory:
// each table's state per (term, subject) with a row, held for every spec
// until the pass ends, and then the rows of every table.
struct CutOffCount {
  std::vector<DerivedRows> rows;  // rows[i] for specs[i]
  internal::Denominators denominators;
};
absl::StatusOr<CutOffCount> CountAtCutOff(
    const storage::ReadView& view, const v1::Trial& trial,
    const std::vector<TallySpec>& specs,
    const google::protobuf::Timestamp& as_of);

}  // namespace aesignal::domain

#endif  // AESIGNAL_SERVICES_DOMAIN_INCIDENCE_DERIVED_H_
