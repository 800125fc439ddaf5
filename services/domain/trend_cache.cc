#include "services/domain/trend_cache.h"

#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "services/signal/rule.h"

namespace aesignal::domain {
namespace {

// Every input of the test: the options are the same for every entry.
struct TrendKey {
  std::vector<int64_t> x, n;
  std::vector<double> scores;

  template <typename H>
  friend H AbslHashValue(H h, const TrendKey& k) {
    return H::combine(std::move(h), k.x, k.n, k.scores);
  }
  friend bool operator==(const TrendKey&, const TrendKey&) = default;
};

// ~100 bytes of key and result each: a few MB at most.
constexpr size_t kMaxEntries = 1 << 15;

struct Memo {
  absl::Mutex mu;
  absl::flat_hash_map<TrendKey, signal::TrendResult> results
      ABSL_GUARDED_BY(mu);
  TrendCacheStats stats ABSL_GUARDED_BY(mu);
};

Memo& TheMemo() {
  static Memo* memo = new Memo;
  return *memo;
}

}  // namespace

absl::StatusOr<signal::TrendResult> ServerTrend(
    const std::vector<int64_t>& x, const std::vector<int64_t>& n,
    const std::vector<double>& scores) {
  Memo& memo = TheMemo();
  TrendKey key{x, n, scores};
  {
    absl::MutexLock lock(&memo.mu);
    if (auto it = memo.results.find(key); it != memo.results.end()) {
      ++memo.stats.hits;
      return it->second;
    }
    ++memo.stats.misses;
  }
  // Computed outside the lock: a test can take milliseconds.
  absl::StatusOr<signal::TrendResult> trend =
      signal::CochranArmitage(x, n, scores, signal::ServerTrendOptions());
  if (!trend.ok()) return trend;
  absl::MutexLock lock(&memo.mu);
  if (memo.results.size() >= kMaxEntries) memo.results.clear();
  memo.results.emplace(std::move(key), *trend);
  return trend;
}

TrendCacheStats GetTrendCacheStats() {
  Memo& memo = TheMemo();
  absl::MutexLock lock(&memo.mu);
  TrendCacheStats stats = memo.stats;
  stats.entries = static_cast<int64_t>(memo.results.size());
  return stats;
}

}  // namespace aesignal::domain
