#include "storage/commit_cache.h"

#include <utility>

#include "absl/strings/string_view.h"

namespace aesignal::storage {

const std::optional<std::string>* CommitCache::Find(int cf,
                                                    std::string_view key) {
  if (!cached_[cf]) return nullptr;
  auto it = maps_[cf].find(absl::string_view(key.data(), key.size()));
  return it == maps_[cf].end() ? nullptr : Known(it->second);
}

const std::optional<std::string>* CommitCache::FindInFlight(
    int cf, std::string_view key) const {
  if (!cached_[cf]) return nullptr;
  auto it = maps_[cf].find(absl::string_view(key.data(), key.size()));
  return it == maps_[cf].end() ? nullptr : it->second.in_flight;
}

CommitCache::Entry* CommitCache::Lookup(int cf, std::string_view key) {
  if (!cached_[cf]) return nullptr;
  return &maps_[cf]
              .try_emplace(absl::string_view(key.data(), key.size()))
              .first->second;
}

const std::optional<std::string>* CommitCache::Known(Entry& entry) {
  if (entry.in_flight != nullptr) return entry.in_flight;
  if (!entry.held) return nullptr;
  ++hits_;
  return &entry.value;
}

void CommitCache::Remember(int cf, std::string_view key, Entry* entry,
                           std::optional<std::string> value) {
  if (entry != nullptr) Hold(cf, key, *entry, std::move(value));
}

void CommitCache::Remember(int cf, std::string_view key,
                           std::optional<std::string> value) {
  Remember(cf, key, Lookup(cf, key), std::move(value));
}

CommitCache::Entry* CommitCache::BeginWrite(
    int cf, std::string_view key, uint64_t seq,
    const std::optional<std::string>* value) {
  Entry& entry = maps_[cf]
                     .try_emplace(absl::string_view(key.data(), key.size()))
                     .first->second;
  entry.seq = seq;
  entry.in_flight = value;
  return &entry;
}

void CommitCache::EndWrite(int cf, std::string_view key, Entry* entry,
                           uint64_t seq, std::optional<std::string>&& value) {
  if (entry->in_flight != nullptr && entry->seq != seq) return;  // overwritten
  entry->in_flight = nullptr;
  Hold(cf, key, *entry, std::move(value));
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
}

void CommitCache::TrimToBudget() {
  while (total_bytes_ > max_bytes_) EvictLargest();
}

// Drops every value of the column family using the most memory. Coarse, but
// it keeps the hot and small ones (counter rows) when the per-subject states
// outgrow the budget, and costs nothing per entry. In-flight writes stay:
// RocksDB may not hold them yet, and their mutations hold their entries.
void CommitCache::EvictLargest() {
  int largest = 0;
  for (int cf = 1; cf < kMaxCfs; ++cf) {
    if (bytes_[cf] > bytes_[largest]) largest = cf;
  }
  Map& map = maps_[largest];
  absl::erase_if(map, [](const Map::value_type& key_entry) {
    return key_entry.second.in_flight == nullptr;
  });
  for (auto& [key, entry] : map) {
    entry.held = false;
    entry.value.reset();
  }
  map.rehash(0);  // frees the table of the dropped entries (nodes stay put)
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
