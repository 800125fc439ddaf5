#include "storage/reports.h"

#include <optional>
#include <string>

#include "absl/status/statusor.h"
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

absl::StatusOr<std::optional<uint32_t>> ReadNewestVersion(
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
  return version;
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

namespace {

// Scans the trial's stored report versions, which are adjacent per report
// and in ascending version order: `version` sees each version's value, and
// `report_done` is called after a report's last version (false stops the
// scan). The first non-OK status either returns ends the scan and is
// returned.
absl::Status ScanReportVersions(
    const ReadView& view, std::string_view trial_id,
    const std::function<absl::Status(std::string_view value)>& version,
    const std::function<absl::StatusOr<bool>()>& report_done) {
  std::string group;  // (site, report) prefix of the versions seen
  bool keep_going = true;
  absl::Status error;
  auto done = [&]() {
    if (group.empty()) return;
    absl::StatusOr<bool> more = report_done();
    if (!more.ok()) error = more.status();
    keep_going = more.ok() && *more;
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
          done();
          if (!keep_going) return false;
          group.assign(prefix);
        }
        error = version(value);
        return error.ok();
      });
  if (!scan.ok()) return scan;
  if (error.ok() && keep_going) done();
  return error;
}

}  // namespace

absl::Status ScanNewestReports(
    const ReadView& view, std::string_view trial_id,
    const std::function<bool(const StoredReport&)>& fn) {
  // A report's newest version is its last: only that one is parsed.
  std::string pending;
  return ScanReportVersions(
      view, trial_id,
      [&](std::string_view value) {
        pending.assign(value);
        return absl::OkStatus();
      },
      [&]() -> absl::StatusOr<bool> {
        StoredReport stored;
        if (!stored.ParseFromString(pending)) {
          return absl::DataLossError("corrupt stored report");
        }
        return fn(stored);
      });
}

absl::Status ScanReportsAsOf(
    const ReadView& view, std::string_view trial_id,
    const google::protobuf::Timestamp& as_of,
    const std::function<bool(const StoredReport&)>& fn) {
  // The last version received by the cut-off is the report's version as of
  // it (a report with none is skipped).
  std::optional<StoredReport> pending;
  return ScanReportVersions(
      view, trial_id,
      [&](std::string_view value) {
        StoredReport stored;
        if (!stored.ParseFromArray(value.data(),
                                   static_cast<int>(value.size()))) {
          return absl::DataLossError("corrupt stored report");
        }
        if (stored.receive_time() <= as_of) pending = std::move(stored);
        return absl::OkStatus();
      },
      [&]() -> absl::StatusOr<bool> {
        if (!pending.has_value()) return true;
        const bool more = fn(*pending);
        pending.reset();
        return more;
      });
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
