// The exact Cochran-Armitage dose-trend test with the server's budget
// (signal::ServerTrendOptions), memoized for the whole process.
//
// The signal evaluator asks for the same trends again and again: a row a
// batch touched is re-evaluated at every timepoint although only the later
// timepoints' cumulative counts moved, the screen asks for the most extreme
// allocation of a row's total (which many rows share), and with thousands of
// subjects per group one exact test costs about a millisecond. Loading the
// 1,000-PT bench trial, two thirds of the evaluator's exact tests repeat an
// earlier input (docs/benchmarks.md, eighth round of issue 20). The test is
// a pure function of its inputs, so a memoized answer is the answer.
//
// Thread-safe (two callers missing on the same input both compute it).
// Bounded: the memo is emptied when it holds 32,768 entries.
#ifndef AESIGNAL_SERVICES_DOMAIN_TREND_CACHE_H_
#define AESIGNAL_SERVICES_DOMAIN_TREND_CACHE_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "services/signal/signal_stats.h"

namespace aesignal::domain {

// signal::CochranArmitage(x, n, scores, signal::ServerTrendOptions()),
// memoized; errors are not memoized.
absl::StatusOr<signal::TrendResult> ServerTrend(
    const std::vector<int64_t>& x, const std::vector<int64_t>& n,
    const std::vector<double>& scores);

// What the memo did since the process started (for tests and benchmarks).
struct TrendCacheStats {
  int64_t hits = 0;
  int64_t misses = 0;
  int64_t entries = 0;
};
TrendCacheStats GetTrendCacheStats();

}  // namespace aesignal::domain

#endif  // AESIGNAL_SERVICES_DOMAIN_TREND_CACHE_H_
