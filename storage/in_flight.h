// InFlightWrites: the writes the committer has handed to the store's writer
// thread that RocksDB may not hold yet.
//
// The Store's committer runs mutation k+1 while its writer thread applies
// mutation k's batch to RocksDB (two cores instead of one), yet mutation k+1
// must read k's writes. So the committer keeps each handed-over mutation's
// writes here, under the mutation's sequence number, until the writer says
// RocksDB holds them; a Txn reads here after its own writes and before
// RocksDB. The writes of the column families the CommitCache caches are
// indexed by the cache itself (one lookup answers a read with an in-flight
// or a held value), the others here; retiring a mutation makes its cached
// values held ones, which the cache may only have once RocksDB holds them
// (commit_cache.h).
//
// Thread-compatible: only the committer thread uses it. The writer thread
// reads a mutation's Writes (shared, not changed while in flight) until it
// reports them applied; only then does Retire move values out.
#ifndef AESIGNAL_STORAGE_IN_FLIGHT_H_
#define AESIGNAL_STORAGE_IN_FLIGHT_H_

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "storage/commit_cache.h"

namespace aesignal::storage {

// The order of Writes' keys: column family, then key bytes. Transparent, so
// that a pair<int, std::string_view> finds a key without copying it.
struct WriteKeyLess {
  using is_transparent = void;
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const {
    if (a.first != b.first) return a.first < b.first;
    return std::string_view(a.second) < std::string_view(b.second);
  }
};

// One mutation's writes: (column family, key) -> value (nullopt: delete).
using Writes = std::map<std::pair<int, std::string>, std::optional<std::string>,
                        WriteKeyLess>;

class InFlightWrites {
 public:
  // `cache` (may be null: every write is indexed here) must outlive this.
  explicit InFlightWrites(CommitCache* cache = nullptr) : cache_(cache) {}
  InFlightWrites(InFlightWrites&&) = default;
  InFlightWrites& operator=(InFlightWrites&&) = default;

  // Keeps mutation `seq`'s writes; sequence numbers increase.
  void Add(uint64_t seq, std::shared_ptr<Writes> writes);

  // The newest in-flight value of (cf, key) (nullopt inside: deleted), or
  // null if no in-flight mutation writes the key.
  const std::optional<std::string>* Find(int cf, std::string_view key) const;

  // What the in-flight writes say about the last key under `prefix` in `cf`.
  struct LastUnder {
    // An in-flight mutation deletes a key of `cf`: the caller cannot merge
    // with RocksDB's answer and must wait until the writes are applied.
    bool deletes = false;
    // The greatest key under `prefix` an in-flight mutation puts and its
    // newest value, or null: they point into that mutation's writes, valid
    // until it retires. (Not copies: the last key of the audit trail holds a
    // whole block, copied once per in-flight mutation before.)
    const std::string* key = nullptr;
    const std::string* value = nullptr;
  };
  LastUnder Last(int cf, std::string_view prefix) const;

  // Forgets the mutations with sequence <= `applied` (RocksDB holds their
  // writes), handing the cached column families' values no later in-flight
  // mutation overwrites to the cache as held values.
  void Retire(uint64_t applied);

  // Forgets everything, and the whole cache (after a failed write: the
  // writes will never be applied, and RocksDB holds whatever of them it
  // kept).
  void Clear();

  bool empty() const { return mutations_.empty(); }

 private:
  struct Mutation {
    uint64_t seq = 0;
    std::shared_ptr<Writes> writes;
    // The cache's entries of the cached column families' writes, in the
    // writes' order (BeginWrite's answers, for EndWrite).
    std::vector<CommitCache::Entry*> cached;
  };
  // The newest in-flight write of a key. The key views point into a
  // mutation's Writes, whose nodes never move while it is kept.
  struct Newest {
    uint64_t seq = 0;
    const std::optional<std::string>* value = nullptr;
  };
  using Key = std::pair<int, absl::string_view>;
  bool Cached(int cf) const { return cache_ != nullptr && cache_->caches(cf); }

  CommitCache* cache_;
  std::deque<Mutation> mutations_;  // oldest first
  // The writes of the column families the cache does not index.
  absl::flat_hash_map<Key, Newest> index_;
  // In-flight deletes per column family.
  std::array<int64_t, CommitCache::kMaxCfs> deletes_ = {};
};

}  // namespace aesignal::storage

#endif  // AESIGNAL_STORAGE_IN_FLIGHT_H_
