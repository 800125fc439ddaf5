// The append-only audit trail: one record per state change, under a dense
// per-trial sequence, written in the same WriteBatch as the change itself.
// Records are never rewritten or deleted.
//
// Thread-compatible: an AuditWriter lives inside one Txn.
#ifndef AESIGNAL_STORAGE_AUDIT_H_
#define AESIGNAL_STORAGE_AUDIT_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "aesignal/v1/audit_service.pb.h"
#include "storage/store.h"

namespace aesignal::storage {

std::string AuditKey(std::string_view trial_id, int64_t sequence);

// Appends records of one trial inside one transaction.
class AuditWriter {
 public:
  // Reads the trial's last sequence (scan-free).
  static absl::StatusOr<AuditWriter> Begin(Txn& txn, std::string_view trial_id);
  // Sets the record's sequence and stores it.
  void Append(v1::AuditRecord record);

 private:
  AuditWriter(Txn& txn, std::string trial_id, int64_t next)
      : txn_(&txn), trial_id_(std::move(trial_id)), next_(next) {}
  Txn* txn_;
  std::string trial_id_;
  int64_t next_;
};

// Calls fn for each record with sequence > after, oldest first, until fn
// returns false.
absl::Status ReadAudit(const ReadView& view, std::string_view trial_id,
                       int64_t after,
                       const std::function<bool(v1::AuditRecord)>& fn);

}  // namespace aesignal::storage

#endif  // AESIGNAL_STORAGE_AUDIT_H_
