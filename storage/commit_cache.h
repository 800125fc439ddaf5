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
// For the cached column families the cache also indexes the writes the
// committer has handed to the writer thread and RocksDB may not hold yet
// (InFlightWrites keeps those mutations and retires them), so the
// committer's point read of such a key is one lookup: an in-flight write's
// value if there is one, else the value RocksDB holds. An in-flight write is
// not a cached value: it is never evicted, and only its retirement (RocksDB
// accepted the batch) makes it one, if no later write of the key is in flight.
//
// Memory is bounded by `max_bytes` (keys, values and a per-entry estimate of
// the values RocksDB holds; in-flight writes are bounded by the store's
// pipeline instead): between mutations, when over, the largest column
// family's held values are dropped. Within one mutation the cache may go
// over by what that mutation reads and retires.
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

#include "absl/container/node_hash_map.h"

namespace aesignal::storage {

class CommitCache {
 public:
  // Column families are indexed 0..kMaxCfs-1; `cached[i]` says whether column
  // family i is cached at all.
  static constexpr int kMaxCfs = 32;
  CommitCache(size_t max_bytes, std::array<bool, kMaxCfs> cached)
      : max_bytes_(max_bytes), cached_(cached) {}

  bool caches(int cf) const { return cached_[cf]; }

  // What the cache knows of one key. Callers keep only pointers to it: an
  // entry stays at its address until TrimToBudget or Clear drops it, and
  // TrimToBudget never drops one with a write in flight. Its fields are the
  // cache's own.
  struct Entry {
    // The value RocksDB holds, if known (`held`); counted in bytes_.
    bool held = false;
    std::optional<std::string> value;
    // The newest in-flight write of the key, if any: its mutation and its
    // value (owned by the mutation's writes).
    uint64_t seq = 0;
    const std::optional<std::string>* in_flight = nullptr;
  };

  // The newest value of `key` the committer knows (nullopt inside: absent):
  // an in-flight write's, else the value RocksDB holds; null if neither is
  // known. A value RocksDB holds counts as a hit. Null for a column family
  // that is not cached.
  const std::optional<std::string>* Find(int cf, std::string_view key);
  // Only an in-flight write's value, or null.
  const std::optional<std::string>* FindInFlight(int cf,
                                                 std::string_view key) const;

  // The committer's read of a cached column family in one hash lookup: the
  // key's entry, added empty if the key is new (null for a column family
  // that is not cached). Known(entry) is then what Find would answer; when
  // it is null, the caller reads RocksDB and passes the value to Remember.
  Entry* Lookup(int cf, std::string_view key);
  const std::optional<std::string>* Known(Entry& entry);

  // Records the value of `key` as RocksDB now holds it (nullopt: absent),
  // read by the committer. An in-flight write of the key still answers
  // first. No-op for a column family that is not cached. The first form
  // takes the key's entry from Lookup.
  void Remember(int cf, std::string_view key, Entry* entry,
                std::optional<std::string> value);
  void Remember(int cf, std::string_view key, std::optional<std::string> value);

  // Mutation `seq` (handed to the writer; sequences increase) writes
  // `*value` to `key` of cached column family `cf`. `value` lives in the
  // mutation's writes, kept by InFlightWrites until EndWrite. Returns the
  // key's entry, for EndWrite.
  Entry* BeginWrite(int cf, std::string_view key, uint64_t seq,
                    const std::optional<std::string>* value);
  // RocksDB now holds mutation `seq`'s write of `key` (whose entry
  // BeginWrite returned), whose value is moved in, unless a later in-flight
  // mutation writes the key (then its value stays the answer and this one
  // is dropped).
  void EndWrite(int cf, std::string_view key, Entry* entry, uint64_t seq,
                std::optional<std::string>&& value);

  // While over budget, drops the values of the column family using the most
  // memory. Never called by the cache itself, so that the entries a running
  // mutation looked up stay put: the Store calls it between mutations.
  void TrimToBudget();

  // Forgets everything, in-flight writes included (after a failed write).
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
  // Nodes, so that entries keep their addresses as the map grows: the
  // in-flight writes hold them from BeginWrite to EndWrite, and a read from
  // Lookup to Remember, each saving a hash lookup of a long key in a large
  // table (the issue 20 load profile, nineteenth round).
  using Map = absl::node_hash_map<std::string, Entry>;
  // Makes `value` the held value of `entry` (under `key`), keeping the byte
  // counts.
  void Hold(int cf, std::string_view key, Entry& entry,
            std::optional<std::string>&& value);
  void EvictLargest();

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
