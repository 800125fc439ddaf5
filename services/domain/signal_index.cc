#include "services/domain/signal_index.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "storage/signals.h"

namespace aesignal::domain {
namespace {

absl::StatusOr<std::shared_ptr<const SignalIndex>> Scan(
    const storage::ReadView& view, const std::string& trial_id,
    int64_t next_sequence) {
  auto signals = storage::ReadSignals(view, trial_id);
  if (!signals.ok()) return signals.status();
  auto index = std::make_shared<SignalIndex>();
  index->next_sequence = next_sequence;
  index->newest_first.reserve(signals->size());
  for (const v1::Signal& s : *signals) {
    index->newest_first.push_back(Summarize(s));
  }
  std::sort(index->newest_first.begin(), index->newest_first.end(),
            NewestFirst);
  return index;
}

// `kept` brought forward by the changes logged from its sequence up to (not
// including) `next_sequence`.
absl::StatusOr<std::shared_ptr<const SignalIndex>> Update(
    const storage::ReadView& view, const std::string& trial_id,
    const SignalIndex& kept, int64_t next_sequence) {
  absl::flat_hash_map<std::string, SignalSummary> changed;
  absl::Status read = storage::ReadSignalLog(
      view, trial_id, kept.next_sequence - 1,
      [&](storage::SignalChange change) {
        if (!change.has_signal()) return true;  // a topic's own change
        SignalSummary summary = Summarize(change.signal());
        changed[summary.signal_id] = std::move(summary);
        return true;
      });
  if (!read.ok()) return read;
  auto index = std::make_shared<SignalIndex>();
  index->next_sequence = next_sequence;
  index->newest_first.reserve(kept.newest_first.size() + changed.size());
  for (const SignalSummary& s : kept.newest_first) {
    if (!changed.contains(s.signal_id)) index->newest_first.push_back(s);
  }
  const auto unchanged_end =
      static_cast<std::ptrdiff_t>(index->newest_first.size());
  for (auto& [id, s] : changed) index->newest_first.push_back(std::move(s));
  // The unchanged part is already in order; sort the changes and merge.
  auto middle = index->newest_first.begin() + unchanged_end;
  std::sort(middle, index->newest_first.end(), NewestFirst);
  std::inplace_merge(index->newest_first.begin(), middle,
                     index->newest_first.end(), NewestFirst);
  return index;
}

}  // namespace

SignalSummary Summarize(const v1::Signal& signal) {
  SignalSummary s;
  s.signal_id = signal.signal_id();
  s.raise_seconds = signal.raise_time().seconds();
  s.raise_nanos = signal.raise_time().nanos();
  s.status = signal.status();
  s.method = signal.method();
  s.level = signal.level();
  s.dose_group_id = signal.dose_group_id();
  s.timepoint_id = signal.timepoint_id();
  s.pt = signal.pt();
  s.soc = signal.soc();
  s.overall_key = signal.overall_key();
  return s;
}

bool MatchesListFilter(const v1::ListSignalsRequest& request,
                       const SignalSummary& s) {
  if (request.status() != v1::SIGNAL_STATUS_UNSPECIFIED &&
      s.status != request.status()) {
    return false;
  }
  if (!request.dose_group_id().empty() &&
      s.dose_group_id != request.dose_group_id()) {
    return false;
  }
  if (!request.timepoint_id().empty() &&
      s.timepoint_id != request.timepoint_id()) {
    return false;
  }
  if (!request.term().empty() && s.pt != request.term() &&
      s.soc != request.term() && s.overall_key != request.term()) {
    return false;
  }
  if (request.level() != v1::TERM_LEVEL_UNSPECIFIED &&
      s.level != request.level()) {
    return false;
  }
  if (request.method() != v1::SIGNAL_METHOD_UNSPECIFIED &&
      s.method != request.method()) {
    return false;
  }
  return true;
}

bool NewestFirst(const SignalSummary& a, const SignalSummary& b) {
  if (a.raise_seconds != b.raise_seconds) {
    return a.raise_seconds > b.raise_seconds;
  }
  if (a.raise_nanos != b.raise_nanos) return a.raise_nanos > b.raise_nanos;
  return a.signal_id < b.signal_id;
}

absl::StatusOr<std::shared_ptr<const SignalIndex>> SignalIndexCache::Get(
    const storage::ReadView& view, const std::string& trial_id) {
  auto next = storage::NextSignalSequence(view, trial_id);
  if (!next.ok()) return next.status();
  std::shared_ptr<const SignalIndex> kept;
  {
    absl::MutexLock lock(&mu_);
    auto it = kept_.find(trial_id);
    if (it != kept_.end()) kept = it->second;
  }
  if (kept != nullptr && kept->next_sequence == *next) return kept;

  absl::StatusOr<std::shared_ptr<const SignalIndex>> index;
  // Each logged change carries one whole signal: replaying more changes than
  // there are signals costs more than scanning them.
  const bool update = kept != nullptr && kept->next_sequence < *next &&
                      *next - kept->next_sequence <=
                          static_cast<int64_t>(kept->newest_first.size()) + 64;
  if (update) {
    index = Update(view, trial_id, *kept, *next);
  } else {
    index = Scan(view, trial_id, *next);
  }
  if (!index.ok()) return index.status();

  absl::MutexLock lock(&mu_);
  (update ? updates_ : scans_) += 1;
  auto it = kept_.find(trial_id);
  // Keep the newest index: a query on an older snapshot must not replace it.
  if (it == kept_.end()) {
    // Any index can be rebuilt, so which one goes matters only for speed.
    if (kept_.size() >= max_trials_) kept_.erase(kept_.begin());
    kept_.emplace(trial_id, *index);
  } else if (it->second->next_sequence < (*index)->next_sequence) {
    it->second = *index;
  }
  return index;
}

void SignalIndexCache::Forget(const std::string& trial_id) {
  absl::MutexLock lock(&mu_);
  kept_.erase(trial_id);
}

int64_t SignalIndexCache::scans() const {
  absl::MutexLock lock(&mu_);
  return scans_;
}

int64_t SignalIndexCache::updates() const {
  absl::MutexLock lock(&mu_);
  return updates_;
}

}  // namespace aesignal::domain
