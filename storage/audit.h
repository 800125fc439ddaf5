// The append-only audit trail: one record per state change, under a dense
// per-trial sequence, written in the same WriteBatch as the change itself.
// The records one transaction appends to a trial are stored together, as one
// AuditBlock keyed by its last record's sequence (so a batch of 250 reports
// writes one key, not 250). Records are never rewritten or deleted (except
// by the one-time upgrade of older stores into blocks).
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

// (trial, sequence): the key of a block (its last record's sequence) in
// audit_blocks, and of one record in schema 2's audit column family.
std::string AuditKey(std::string_view trial_id, int64_t sequence);

// Appends records of one trial inside one transaction, as one block. Create
// at most one per transaction and trial.
class AuditWriter {
 public:
  // Reads the trial's last sequence (scan-free).
  static absl::StatusOr<AuditWriter> Begin(Txn& txn, std::string_view trial_id);
  // Sets the record's sequence and adds it to this transaction's block.
  void Append(v1::AuditRecord record);

 private:
  AuditWriter(Txn& txn, std::string trial_id, int64_t next)
      : txn_(&txn), trial_id_(std::move(trial_id)), next_(next) {}
  Txn* txn_;
  std::string trial_id_;
  int64_t next_;
  std::string block_key_;  // where the block is pending; empty before Append
};

// Calls fn for each record with sequence > after, oldest first, until fn
// returns false.
absl::Status ReadAudit(const ReadView& view, std::string_view trial_id,
                       int64_t after,
                       const std::function<bool(v1::AuditRecord)>& fn);

// Schemas 1 and 2 kept one key per record in the `audit` column family.
// Moves every such record into blocks of at most 1,000 consecutive records
// of a trial in `audit_blocks`, deleting the old keys in the same commit, a
// bounded number per commit: an interrupted run leaves each record in exactly
// one of the two layouts and a rerun finishes the job. Called by Store::Open
// before it records schema version 3.
absl::Status MigrateAuditToBlocks(Store& store);

}  // namespace aesignal::storage

#endif  // AESIGNAL_STORAGE_AUDIT_H_
