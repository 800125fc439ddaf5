#include "storage/commit_cache.h"

#include <utility>

#include "absl/strings/string_view.h"

namespace aesignal::storage {

const std::optional<std::string>* CommitCache::Find(int cf,
                                                    std::string_view key) {
  if (!cached_[cf]) return nullptr;
  auto it = maps_[cf].find(absl::string_view(key.data(), key.size()));
  if (it == maps_[cf].end()) return nullptr;
  ++hits_;
  return &it->second;
}

void CommitCache::Remember(int cf, std::string_view key,
                           std::optional<std::string> value) {
  if (!cached_[cf]) return;
  const size_t added = EntryBytes(key, value);
  auto [it, inserted] =
      maps_[cf].try_emplace(absl::string_view(key.data(), key.size()));
  if (!inserted) {
    const size_t removed = EntryBytes(key, it->second);
    bytes_[cf] -= removed;
    total_bytes_ -= removed;
  }
  it->second = std::move(value);
  bytes_[cf] += added;
  total_bytes_ += added;
  while (total_bytes_ > max_bytes_) EvictLargest();
}

// Drops every entry of the column family using the most memory. Coarse, but
// it keeps the hot and small ones (counter rows) when the per-subject states
// outgrow the budget, and costs nothing per entry.
void CommitCache::EvictLargest() {
  int largest = 0;
  for (int cf = 1; cf < kMaxCfs; ++cf) {
    if (bytes_[cf] > bytes_[largest]) largest = cf;
  }
  Map().swap(maps_[largest]);
  total_bytes_ -= bytes_[largest];
  bytes_[largest] = 0;
  ++evictions_;
}

void CommitCache::Clear() {
  for (int cf = 0; cf < kMaxCfs; ++cf) {
    Map().swap(maps_[cf]);
    bytes_[cf] = 0;
  }
  total_bytes_ = 0;
}

CommitCache::Stats CommitCache::stats() const {
  Stats s;
  s.hits = hits_;
  s.bytes = static_cast<int64_t>(total_bytes_);
  s.evictions = evictions_;
  for (const Map& map : maps_) s.entries += static_cast<int64_t>(map.size());
  return s;
}

}  // namespace aesignal::storage
