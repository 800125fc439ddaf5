// CommitCache: the committer's own copy of recently read and written values.
//
// Every write goes through the Store's single committer thread, so the
// committer can remember what it wrote (and what it read) and answer its own
// later point reads from memory instead of RocksDB: on ingest, each report
// reads its subject, and for every term it counts in, the subject's per-window
// state and the term's counter row, which the previous batches mostly wrote.
// The cache is write-through: RocksDB always holds every value (the cache
// never changes what is durable or what other readers see), so it may forget
// anything at any time, and nothing is rebuilt on restart.
//
// Consistency rule (kept by the Store): values enter the cache only after
// RocksDB accepted the batch that wrote them, or when read from RocksDB by the
// committer (which is the only writer). After a failed write or sync the whole
// cache is dropped before writes resume, since RocksDB then holds whatever of
// the failed batch it kept.
//
// Only some column families are cached: those read by key on the ingest path
// and small per key (Store chooses them). Report versions and heads are not:
// almost every one is read once, as a miss, and the bloom filters answer those.
//
// Memory is bounded by `max_bytes` (keys, values and a per-entry estimate);
// when over, the largest column family's entries are dropped.
//
// Thread-compatible: only the committer thread uses it.
#ifndef AESIGNAL_STORAGE_COMMIT_CACHE_H_
#define AESIGNAL_STORAGE_COMMIT_CACHE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"

namespace aesignal::storage {

class CommitCache {
 public:
  // Column families are indexed 0..kMaxCfs-1; `cached[i]` says whether column
  // family i is cached at all.
  static constexpr int kMaxCfs = 32;
  CommitCache(size_t max_bytes, std::array<bool, kMaxCfs> cached)
      : max_bytes_(max_bytes), cached_(cached) {}

  // The cached value (nullopt inside: known absent), or null if not cached;
  // a found value counts as a hit.
  const std::optional<std::string>* Find(int cf, std::string_view key);

  // Records the value of `key` as RocksDB now holds it (nullopt: absent).
  // No-op for a column family that is not cached.
  void Remember(int cf, std::string_view key, std::optional<std::string> value);

  // Forgets everything (after a failed write).
  void Clear();

  struct Stats {
    int64_t hits = 0;
    int64_t entries = 0;
    int64_t bytes = 0;      // estimated, including per-entry overhead
    int64_t evictions = 0;  // column families dropped to stay under budget
  };
  Stats stats() const;

 private:
  // Estimated memory of one entry besides its key and value bytes.
  static constexpr size_t kEntryOverhead = 96;
  static size_t EntryBytes(std::string_view key,
                           const std::optional<std::string>& value) {
    return kEntryOverhead + key.size() + (value ? value->size() : 0);
  }
  void EvictLargest();

  using Map = absl::flat_hash_map<std::string, std::optional<std::string>>;
  size_t max_bytes_;
  std::array<bool, kMaxCfs> cached_;
  std::array<Map, kMaxCfs> maps_;
  std::array<size_t, kMaxCfs> bytes_ = {};
  size_t total_bytes_ = 0;
  int64_t hits_ = 0;
  int64_t evictions_ = 0;
};

}  // namespace aesignal::storage

#endif  // AESIGNAL_STORAGE_COMMIT_CACHE_H_
