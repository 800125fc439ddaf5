#include "storage/commit_cache.h"

#include <utility>

#include "absl/strings/string_view.h"

namespace aesignal::storage {

const std::optional<std::string>* CommitCache::Find(int cf,
                                                    std::string_view key) {
  if (!cached_[cf]) return nullptr;
  auto it = maps_[cf].find(absl::string_view(key.data(), key.size()));
  if (it == maps_[cf].end()) return nullptr;
  Entry& entry = it->second;
  if (entry.in_flight != nullptr) return entry.in_flight;
  if (!entry.held) return nullptr;
  ++hits_;
  return &entry.value;
}

const std::optional<std::string>* CommitCache::FindInFlight(
    int cf, std::string_view key) const {
  if (!cached_[cf]) return nullptr;
  auto it = maps_[cf].find(absl::string_view(key.data(), key.size()));
  return it == maps_[cf].end() ? nullptr : it->second.in_flight;
}

void CommitCache::Remember(int cf, std::string_view key,
                           std::optional<std::string> value) {
  if (!cached_[cf]) return;
  auto [it, inserted] =
      maps_[cf].try_emplace(absl::string_view(key.data(), key.size()));
  Hold(cf, key, it->second, std::move(value));
}

void CommitCache::BeginWrite(int cf, std::string_view key, uint64_t seq,
                             const std::optional<std::string>* value) {
  auto [it, inserted] =
      maps_[cf].try_emplace(absl::string_view(key.data(), key.size()));
  it->second.seq = seq;
  it->second.in_flight = value;
}

void CommitCache::EndWrite(int cf, std::string_view key, uint64_t seq,
                           std::optional<std::string>&& value) {
  auto [it, inserted] =
      maps_[cf].try_emplace(absl::string_view(key.data(), key.size()));
  Entry& entry = it->second;
  if (entry.in_flight != nullptr && entry.seq != seq) return;  // overwritten
  entry.in_flight = nullptr;
  Hold(cf, key, entry, std::move(value));
}

void CommitCache::Hold(int cf, std::string_view key, Entry& entry,
                       std::optional<std::string>&& value) {
  const size_t added = EntryBytes(key, value);
  if (entry.held) {
    const size_t removed = EntryBytes(key, entry.value);
    bytes_[cf] -= removed;
    total_bytes_ -= removed;
  }
  entry.held = true;
  entry.value = std::move(value);
  bytes_[cf] += added;
  total_bytes_ += added;
  while (total_bytes_ > max_bytes_) EvictLargest();
}

// Drops every value of the column family using the most memory. Coarse, but
// it keeps the hot and small ones (counter rows) when the per-subject states
// outgrow the budget, and costs nothing per entry. In-flight writes stay:
// RocksDB may not hold them yet.
void CommitCache::EvictLargest() {
  int largest = 0;
  for (int cf = 1; cf < kMaxCfs; ++cf) {
    if (bytes_[cf] > bytes_[largest]) largest = cf;
  }
  // A new map, so the memory of the dropped entries is freed.
  Map in_flight;
  for (auto& [key, entry] : maps_[largest]) {
    if (entry.in_flight != nullptr) {
      Entry& kept = in_flight[key];
      kept.seq = entry.seq;
      kept.in_flight = entry.in_flight;
    }
  }
  maps_[largest].swap(in_flight);
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
