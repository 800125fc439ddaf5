// Typed access to stored AE report versions.
//
// Every version of a report is kept under its own key in `reports`; the
// `report_heads` column family points at the newest stored version, so
// finding the counted version is one point lookup (bloom-filtered for new
// reports) instead of an iterator seek. Thread-compatible.
#ifndef AESIGNAL_STORAGE_REPORTS_H_
#define AESIGNAL_STORAGE_REPORTS_H_

#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/timestamp.pb.h"
#include "storage/records.pb.h"
#include "storage/store.h"

namespace aesignal::storage {

// The stored report at exactly this version, if any.
absl::StatusOr<std::optional<StoredReport>> ReadReportVersion(
    const ReadView& view, std::string_view trial_id, std::string_view site_id,
    std::string_view report_id, uint32_t version);

// The number of the newest stored version of a report (its head), if any.
// Every stored report has a head, so nullopt means that no version of it is
// stored: one point lookup answers "is this report new?".
absl::StatusOr<std::optional<uint32_t>> ReadNewestVersion(
    const ReadView& view, std::string_view trial_id, std::string_view site_id,
    std::string_view report_id);

// Every stored version of a report, oldest first (empty if none).
absl::StatusOr<std::vector<StoredReport>> ReadReportVersions(
    const ReadView& view, std::string_view trial_id, std::string_view site_id,
    std::string_view report_id);

// Calls fn with the newest stored version of every report of the trial, in
// (site, report) order, while fn returns true. Reads every version's key
// but parses only the newest of each report.
absl::Status ScanNewestReports(
    const ReadView& view, std::string_view trial_id,
    const std::function<bool(const StoredReport&)>& fn);

// Calls fn, as ScanNewestReports does, with each report's version as of a
// data cut-off: the highest version among those with receive_time <= as_of
// (the one counted at that time: a version stored superseded_on_arrival was
// preceded by a higher one, so it is never the highest). Reports without
// such a version are skipped. Parses every version (to read its
// receive_time); for cut-off queries, not hot paths.
absl::Status ScanReportsAsOf(
    const ReadView& view, std::string_view trial_id,
    const google::protobuf::Timestamp& as_of,
    const std::function<bool(const StoredReport&)>& fn);

// Stores one version. If `newest`, it also becomes the report's head.
void WriteReportVersion(Txn& txn, std::string_view trial_id,
                        const StoredReport& stored, bool newest);

}  // namespace aesignal::storage

#endif  // AESIGNAL_STORAGE_REPORTS_H_
