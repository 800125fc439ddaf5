#include "storage/audit.h"

#include <utility>

#include "storage/keys.h"

namespace aesignal::storage {

std::string AuditKey(std::string_view trial_id, int64_t sequence) {
  std::string out = TrialPrefix(trial_id);
  AppendBigEndian32(&out, static_cast<uint32_t>(sequence >> 32));
  AppendBigEndian32(&out, static_cast<uint32_t>(sequence));
  return out;
}

absl::StatusOr<AuditWriter> AuditWriter::Begin(Txn& txn,
                                               std::string_view trial_id) {
  const std::string prefix = TrialPrefix(trial_id);
  // Records appended earlier in this transaction are not visible to Last;
  // a writer is created once per transaction and trial.
  auto last = txn.Last(Cf::kAudit, prefix);
  if (!last.ok()) return last.status();
  int64_t next = 1;
  if (last->has_value()) {
    std::string_view rest = (*last)->first;
    rest.remove_prefix(prefix.size());
    uint32_t high, low;
    if (!ConsumeBigEndian32(&rest, &high) || !ConsumeBigEndian32(&rest, &low)) {
      return absl::DataLossError("malformed audit key");
    }
    next = ((static_cast<int64_t>(high) << 32) | low) + 1;
  }
  return AuditWriter(txn, std::string(trial_id), next);
}

void AuditWriter::Append(v1::AuditRecord record) {
  record.set_sequence(next_);
  txn_->Put(Cf::kAudit, AuditKey(trial_id_, next_), record.SerializeAsString());
  ++next_;
}

absl::Status ReadAudit(const ReadView& view, std::string_view trial_id,
                       int64_t after,
                       const std::function<bool(v1::AuditRecord)>& fn) {
  absl::Status error;
  absl::Status scan = view.Scan(
      Cf::kAudit, TrialPrefix(trial_id), AuditKey(trial_id, after + 1),
      [&](std::string_view, std::string_view value) {
        v1::AuditRecord record;
        if (!record.ParseFromArray(value.data(),
                                   static_cast<int>(value.size()))) {
          error = absl::DataLossError("unparsable audit record");
          return false;
        }
        return fn(std::move(record));
      });
  if (!scan.ok()) return scan;
  return error;
}

}  // namespace aesignal::storage
