#include "storage/audit.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "storage/keys.h"
#include "storage/records.pb.h"

namespace aesignal::storage {
namespace {

constexpr size_t kSequenceBytes = 8;

// Appends one serialized record to a block's bytes as AuditBlock field 1
// (length-delimited): the bytes of a block are those of its records.
void AppendToBlock(std::string* block, std::string_view record) {
  AppendLengthDelimited(block, 1, record);
}

// The sequence at the end of an audit key, after the trial prefix.
std::optional<int64_t> KeySequence(std::string_view key) {
  if (key.size() < kSequenceBytes) return std::nullopt;
  std::string_view rest = key.substr(key.size() - kSequenceBytes);
  uint32_t high = 0, low = 0;
  if (!ConsumeBigEndian32(&rest, &high) || !ConsumeBigEndian32(&rest, &low)) {
    return std::nullopt;
  }
  return (static_cast<int64_t>(high) << 32) | low;
}

}  // namespace

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
  auto last = txn.LastKey(Cf::kAuditBlocks, prefix);
  if (!last.ok()) return last.status();
  int64_t next = 1;
  if (last->has_value()) {
    std::optional<int64_t> sequence = KeySequence(**last);
    if ((*last)->size() != prefix.size() + kSequenceBytes ||
        !sequence.has_value()) {
      return absl::DataLossError("malformed audit block key");
    }
    next = *sequence + 1;
  }
  return AuditWriter(txn, std::string(trial_id), next);
}

void AuditWriter::Append(v1::AuditRecord record) {
  record.set_sequence(next_);
  // The block so far moves to the key of its new last record.
  std::string block;
  if (!block_key_.empty()) {
    block = txn_->TakePending(Cf::kAuditBlocks, block_key_).value_or("");
  }
  AppendToBlock(&block, record.SerializeAsString());
  block_key_ = AuditKey(trial_id_, next_);
  txn_->Put(Cf::kAuditBlocks, block_key_, std::move(block));
  ++next_;
}

absl::Status ReadAudit(const ReadView& view, std::string_view trial_id,
                       int64_t after,
                       const std::function<bool(v1::AuditRecord)>& fn) {
  absl::Status error;
  // Blocks hold consecutive records and are keyed by their last: the first
  // block at or after key `after + 1` holds record `after + 1`.
  absl::Status scan = view.Scan(
      Cf::kAuditBlocks, TrialPrefix(trial_id), AuditKey(trial_id, after + 1),
      [&](std::string_view key, std::string_view value) {
        AuditBlock block;
        const std::optional<int64_t> last = KeySequence(key);
        if (!last.has_value() ||
            !block.ParseFromArray(value.data(),
                                  static_cast<int>(value.size()))) {
          error = absl::DataLossError("unparsable audit block");
          return false;
        }
        const int64_t first = *last - block.records_size() + 1;
        for (int i = 0; i < block.records_size(); ++i) {
          v1::AuditRecord& record = *block.mutable_records(i);
          if (record.sequence() != first + i) {
            error = absl::DataLossError(absl::StrCat(
                "audit block ending at ", *last, " holds sequence ",
                record.sequence(), " where ", first + i, " belongs"));
            return false;
          }
          if (record.sequence() <= after) continue;
          if (!fn(std::move(record))) return false;
        }
        return true;
      });
  if (!scan.ok()) return scan;
  return error;
}

namespace {

// Old records read for one commit of the migration, in key order.
struct LegacyRecords {
  std::vector<std::string> keys;
  std::vector<std::string> values;
};

// Reads up to `limit` records of the `audit` column family.
absl::StatusOr<LegacyRecords> ReadLegacyRecords(const ReadView& view,
                                                size_t limit) {
  LegacyRecords out;
  absl::Status scan = view.Scan(
      Cf::kAudit, "", "", [&](std::string_view key, std::string_view value) {
        if (out.keys.size() == limit) return false;
        out.keys.emplace_back(key);
        out.values.emplace_back(value);
        return true;
      });
  if (!scan.ok()) return scan;
  return out;
}

}  // namespace

absl::Status MigrateAuditToBlocks(Store& store) {
  constexpr size_t kRecordsPerCommit = 20000;
  constexpr int kRecordsPerBlock = 1000;
  while (true) {
    auto legacy = ReadLegacyRecords(store.Latest(), kRecordsPerCommit);
    if (!legacy.ok()) return legacy.status();
    if (legacy->keys.empty()) return absl::OkStatus();
    absl::Status committed = store.Commit([&](Txn& txn) -> absl::Status {
      std::string block, block_key;
      int in_block = 0;
      auto close_block = [&] {
        if (in_block > 0)
          txn.Put(Cf::kAuditBlocks, block_key, std::move(block));
        block.clear();
        in_block = 0;
      };
      for (size_t i = 0; i < legacy->keys.size(); ++i) {
        const std::string& key = legacy->keys[i];
        v1::AuditRecord record;
        const std::optional<int64_t> sequence = KeySequence(key);
        if (!sequence.has_value() ||
            !record.ParseFromString(legacy->values[i]) ||
            record.sequence() != *sequence) {
          return absl::DataLossError(
              absl::StrCat("malformed schema-2 audit record ", i));
        }
        // A block holds consecutive records of one trial: the previous key
        // must share the trial prefix and hold the previous sequence.
        const std::string_view trial_prefix(key.data(),
                                            key.size() - kSequenceBytes);
        const bool continues = in_block > 0 && in_block < kRecordsPerBlock &&
                               std::string_view(block_key).substr(
                                   0, trial_prefix.size()) == trial_prefix &&
                               block_key.size() == key.size() &&
                               KeySequence(block_key) == *sequence - 1;
        if (!continues) close_block();
        AppendToBlock(&block, legacy->values[i]);
        block_key = key;
        ++in_block;
        txn.Delete(Cf::kAudit, key);
      }
      close_block();
      return absl::OkStatus();
    });
    if (!committed.ok()) return committed;
  }
}

}  // namespace aesignal::storage
