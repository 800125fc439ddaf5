#include "services/domain/denominator_cache.h"

#include <utility>

namespace aesignal::domain {

DenominatorCache::Probe DenominatorCache::Probes::Of(
    const std::string& trial_id) const {
  auto it = probes_.find(trial_id);
  return it == probes_.end() ? Probe{} : it->second;
}

void DenominatorCache::BeginWrite(const std::string& trial_id) {
  absl::MutexLock lock(&mu_);
  Entry& entry = entries_[trial_id];
  ++entry.generation;
  ++entry.in_flight;
}

void DenominatorCache::EndWrite(const std::string& trial_id) {
  absl::MutexLock lock(&mu_);
  Entry& entry = entries_[trial_id];
  ++entry.generation;
  --entry.in_flight;
}

DenominatorCache::Probe DenominatorCache::ProbeOf(const Entry& entry) {
  Probe probe;
  probe.generation = entry.generation;
  probe.stable = entry.in_flight == 0;
  if (probe.stable && entry.cached != nullptr &&
      entry.cached_generation == entry.generation) {
    probe.cached = entry.cached;
  }
  return probe;
}

DenominatorCache::Probe DenominatorCache::Take(const std::string& trial_id) {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(trial_id);
  return it == entries_.end() ? Probe{} : ProbeOf(it->second);
}

DenominatorCache::Probes DenominatorCache::TakeAll() {
  Probes all;
  absl::MutexLock lock(&mu_);
  for (const auto& [trial_id, entry] : entries_) {
    all.probes_.emplace(trial_id, ProbeOf(entry));
  }
  return all;
}

absl::StatusOr<internal::Denominators> DenominatorCache::At(
    const storage::ReadView& snapshot, const v1::Trial& trial,
    const Probe& probe) {
  const std::string& trial_id = trial.trial_id();
  bool stable_across = false;
  {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(trial_id);
    const uint64_t generation =
        it == entries_.end() ? 0 : it->second.generation;
    const int in_flight = it == entries_.end() ? 0 : it->second.in_flight;
    stable_across =
        probe.stable && in_flight == 0 && generation == probe.generation;
  }
  if (probe.cached != nullptr && stable_across) return *probe.cached;
  auto read = internal::ReadDenominators(snapshot, trial);
  if (!read.ok() || !stable_across) return read;
  // The snapshot holds exactly the state of `probe.generation`.
  absl::MutexLock lock(&mu_);
  Entry& entry = entries_[trial_id];
  if (entry.generation == probe.generation && entry.in_flight == 0) {
    entry.cached = std::make_shared<const internal::Denominators>(*read);
    entry.cached_generation = probe.generation;
  }
  return read;
}

}  // namespace aesignal::domain
