#include "storage/reports.h"

#include "google/protobuf/util/time_util.h"
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

absl::StatusOr<std::vector<StoredReport>> ReadReportVersions(
    const ReadView& view, std::string_view trial_id, std::string_view site_id,
    std::string_view report_id) {
  std::vector<StoredReport> versions;
  bool corrupt = false;
  absl::Status scan = view.Scan(
      Cf::kReports, ReportVersionsPrefix(trial_id, site_id, report_id), "",
      [&](std::string_view, std::string_view value) {
        StoredReport& stored = versions.emplace_back();
        corrupt = !stored.ParseFromArray(value.data(),
                                         static_cast<int>(value.size()));
        return !corrupt;
      });
  if (!scan.ok()) return scan;
  if (corrupt) return absl::DataLossError("corrupt stored report");
  return versions;
}

absl::Status ScanNewestReports(
    const ReadView& view, std::string_view trial_id,
    const std::function<bool(const StoredReport&)>& fn) {
  // Versions of a report are adjacent and ascending: a report's newest
  // version is the last key before the (site, report) prefix changes.
  std::string group;  // (site, report) prefix of `pending`
  std::string pending;
  bool keep_going = true;
  absl::Status error;
  auto flush = [&]() {
    if (pending.empty()) return;
    StoredReport stored;
    if (!stored.ParseFromString(pending)) {
      error = absl::DataLossError("corrupt stored report");
      keep_going = false;
      return;
    }
    keep_going = fn(stored);
  };
  absl::Status scan = view.Scan(
      Cf::kReports, TrialPrefix(trial_id), "",
      [&](std::string_view key, std::string_view value) {
        if (key.size() < sizeof(uint32_t)) {
          error = absl::DataLossError("malformed report key");
          return false;
        }
        std::string_view prefix = key.substr(0, key.size() - sizeof(uint32_t));
        if (prefix != group) {
          flush();
          if (!keep_going) return false;
          group.assign(prefix);
        }
        pending.assign(value);
        return true;
      });
  if (!scan.ok()) return scan;
  if (keep_going) flush();
  return error;
}

absl::Status ScanReportsAsOf(
    const ReadView& view, std::string_view trial_id,
    const google::protobuf::Timestamp& as_of,
    const std::function<bool(const StoredReport&)>& fn) {
  // Versions of a report are adjacent and in ascending version order: the
  // last one received by the cut-off before the (site, report) prefix
  // changes is the report's version as of it.
  std::string group;  // (site, report) prefix of the versions seen
  std::optional<StoredReport> pending;
  bool keep_going = true;
  absl::Status error;
  auto flush = [&]() {
    if (pending.has_value()) keep_going = fn(*pending);
    pending.reset();
  };
  absl::Status scan = view.Scan(
      Cf::kReports, TrialPrefix(trial_id), "",
      [&](std::string_view key, std::string_view value) {
        if (key.size() < sizeof(uint32_t)) {
          error = absl::DataLossError("malformed report key");
          return false;
        }
        std::string_view prefix = key.substr(0, key.size() - sizeof(uint32_t));
        if (prefix != group) {
          flush();
          if (!keep_going) return false;
          group.assign(prefix);
        }
        StoredReport stored;
        if (!stored.ParseFromArray(value.data(),
                                   static_cast<int>(value.size()))) {
          error = absl::DataLossError("corrupt stored report");
          return false;
        }
        if (stored.receive_time() <= as_of) pending = std::move(stored);
        return true;
      });
  if (!scan.ok()) return scan;
  if (error.ok() && keep_going) flush();
  return error;
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
