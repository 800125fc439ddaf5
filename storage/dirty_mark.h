// Dirty marks (records.proto DirtyTerm) updated in their encoded form.
//
// Every ingest batch marks each term row it changed: the row's mark gets the
// batch's last report, a generation one higher, and for each cell (group,
// window) the batch changed, the last report that changed it. Decoding
// DirtyTerm.cell_reports into a google::protobuf::Map (an allocation per
// cell: 50 cells in a 5-group x 10-timepoint trial) and encoding it back took
// ~15 % of the committer's samples loading a 1,000-PT trial
// (docs/benchmarks.md, sixth round). UpdateDirtyMark edits the encoding
// instead, copying the cells it does not change as bytes. Its output is
// DirtyTerm's wire format, read with protobuf as before (ReadDirtyTerms): the
// stored layout is unchanged.
//
// Thread-safe: pure functions.
#ifndef AESIGNAL_STORAGE_DIRTY_MARK_H_
#define AESIGNAL_STORAGE_DIRTY_MARK_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "aesignal/v1/signal.pb.h"

namespace aesignal::storage {

// The last report that changed one cell of a term row.
struct CellReport {
  int group = 0;
  int window = 0;
  std::string report_id;
  uint32_t report_version = 0;
};

// The key of a cell in DirtyTerm.cell_reports.
inline int DirtyCellKey(int group, int window) { return group * 256 + window; }

// The mark `old` (DirtyTerm bytes; empty if the row had no mark) with
// `report_id`/`report_version` as its latest report, its generation one
// higher and each of `cells` set (a later entry for the same cell wins).
// Equal, parsed, to decoding `old` with protobuf, changing it and encoding
// it. DATA_LOSS if `old` is not a DirtyTerm encoding.
absl::StatusOr<std::string> UpdateDirtyMark(
    std::string_view old, std::string_view report_id, uint32_t report_version,
    const std::vector<CellReport>& cells);

// The mark `old` (as above) with `change` as its latest change other than a
// report (none if null: a recount or an upgrade), its generation one higher,
// and its reports and cells kept. Rare (enrolments, baselines, amendments
// mark every row of a trial), so protobuf does it. DATA_LOSS if `old` is not
// a DirtyTerm encoding.
absl::StatusOr<std::string> UpdateDirtyMarkForChange(
    std::string_view old, const v1::ChangeRef* change);

namespace dirty_mark_internal {
// UpdateDirtyMark's fast path, for tests: the result, or nullopt if `old` is
// not laid out as this codec and protobuf's serializer write marks (unknown
// or repeated-message fields, a malformed encoding); UpdateDirtyMark then
// goes through protobuf. Cells come out in key order, as protobuf's
// deterministic serialization orders them.
std::optional<std::string> UpdateEncoded(std::string_view old,
                                         std::string_view report_id,
                                         uint32_t report_version,
                                         const std::vector<CellReport>& cells);
// UpdateDirtyMark's general path, for tests: protobuf decodes `old`
// (DATA_LOSS if it cannot), the change is applied to the message, and it is
// encoded deterministically. The fast path must agree with it.
absl::StatusOr<std::string> UpdateParsed(std::string_view old,
                                         std::string_view report_id,
                                         uint32_t report_version,
                                         const std::vector<CellReport>& cells);
}  // namespace dirty_mark_internal

}  // namespace aesignal::storage

#endif  // AESIGNAL_STORAGE_DIRTY_MARK_H_
