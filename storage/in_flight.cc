#include "storage/in_flight.h"

#include <utility>

#include "storage/keys.h"

namespace aesignal::storage {
namespace {

absl::string_view ToAbsl(std::string_view s) { return {s.data(), s.size()}; }

}  // namespace

void InFlightWrites::Add(uint64_t seq, std::shared_ptr<Writes> writes) {
  std::vector<CommitCache::Entry*> cached;
  for (const auto& [cf_key, value] : *writes) {
    if (!value.has_value()) ++deletes_[cf_key.first];
    if (Cached(cf_key.first)) {
      cached.push_back(
          cache_->BeginWrite(cf_key.first, cf_key.second, seq, &value));
      continue;
    }
    // Replace the whole entry, key included: an older entry's key views the
    // older mutation's Writes, which are freed when it retires.
    const Key key(cf_key.first, ToAbsl(cf_key.second));
    index_.erase(key);
    index_.emplace(key, Newest{seq, &value});
  }
  mutations_.push_back({seq, std::move(writes), std::move(cached)});
}

const std::optional<std::string>* InFlightWrites::Find(
    int cf, std::string_view key) const {
  if (Cached(cf)) return cache_->FindInFlight(cf, key);
  auto it = index_.find(Key(cf, ToAbsl(key)));
  return it == index_.end() ? nullptr : it->second.value;
}

InFlightWrites::LastUnder InFlightWrites::Last(int cf,
                                               std::string_view prefix) const {
  LastUnder out;
  if (deletes_[cf] > 0) {
    out.deletes = true;
    return out;
  }
  const std::string upper = PrefixSuccessor(prefix);
  for (const Mutation& m : mutations_) {  // oldest first: newer values win
    auto it = upper.empty() ? m.writes->lower_bound({cf + 1, std::string()})
                            : m.writes->lower_bound({cf, upper});
    if (it == m.writes->begin()) continue;
    --it;
    const auto& [cf_key, value] = *it;
    if (cf_key.first != cf || !cf_key.second.starts_with(prefix)) continue;
    if (out.key == nullptr || cf_key.second >= *out.key) {
      out.key = &cf_key.second;
      out.value = &*value;
    }
  }
  return out;
}

void InFlightWrites::Retire(uint64_t applied) {
  while (!mutations_.empty() && mutations_.front().seq <= applied) {
    Mutation& m = mutations_.front();
    size_t next_cached = 0;
    for (auto& [cf_key, value] : *m.writes) {
      if (!value.has_value()) --deletes_[cf_key.first];
      if (Cached(cf_key.first)) {
        cache_->EndWrite(cf_key.first, cf_key.second, m.cached[next_cached++],
                         m.seq, std::move(value));
        continue;
      }
      auto it = index_.find(Key(cf_key.first, ToAbsl(cf_key.second)));
      // A later in-flight mutation wrote the key again: its value stays.
      if (it == index_.end() || it->second.seq != m.seq) continue;
      index_.erase(it);
    }
    mutations_.pop_front();
  }
}

void InFlightWrites::Clear() {
  // First: the cache points into the writes freed below.
  if (cache_ != nullptr) cache_->Clear();
  index_.clear();
  mutations_.clear();
  deletes_ = {};
}

}  // namespace aesignal::storage
