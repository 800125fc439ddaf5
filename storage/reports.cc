#include "storage/reports.h"

#include "storage/keys.h"

namespace aesignal::storage {
namespace {

absl::StatusOr<std::optional<StoredReport>> ReadAt(const ReadView& view,
                                                   const std::string& key) {
  auto bytes = view.Get(Cf::kReports, key);
  if (!bytes.ok()) return bytes.status();
  if (!bytes->has_value()) return std::nullopt;
  StoredReport stored;
  if (!stored.ParseFromString(**bytes)) {
    return absl::DataLossError("corrupt stored report");
  }
  return stored;
}

}  // namespace

absl::StatusOr<std::optional<StoredReport>> ReadReportVersion(
    const ReadView& view, std::string_view trial_id, std::string_view site_id,
    std::string_view report_id, uint32_t version) {
  return ReadAt(view, ReportKey(trial_id, site_id, report_id, version));
}

absl::StatusOr<std::optional<StoredReport>> ReadNewestReport(
    const ReadView& view, std::string_view trial_id, std::string_view site_id,
    std::string_view report_id) {
  auto head =
      view.Get(Cf::kReportHeads, ReportHeadKey(trial_id, site_id, report_id));
  if (!head.ok()) return head.status();
  if (!head->has_value()) return std::nullopt;
  std::string_view in = **head;
  uint32_t version = 0;
  if (!ConsumeBigEndian32(&in, &version) || !in.empty()) {
    return absl::DataLossError("corrupt report head");
  }
  auto stored = ReadAt(view, ReportKey(trial_id, site_id, report_id, version));
  if (stored.ok() && !stored->has_value()) {
    return absl::DataLossError("report head points at a missing version");
  }
  return stored;
}

void WriteReportVersion(Txn& txn, std::string_view trial_id,
                        const StoredReport& stored, bool newest) {
  const auto& r = stored.report();
  txn.Put(Cf::kReports,
          ReportKey(trial_id, r.site_id(), r.report_id(), r.version()),
          stored.SerializeAsString());
  if (newest) {
    std::string version;
    AppendBigEndian32(&version, r.version());
    txn.Put(Cf::kReportHeads,
            ReportHeadKey(trial_id, r.site_id(), r.report_id()),
            std::move(version));
  }
}

}  // namespace aesignal::storage
