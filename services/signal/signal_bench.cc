// Google Benchmark of the signal module: every method for one cell, and a
// whole trial of 5 dose groups x 10 timepoints x 1,000 PTs.
//   build/services/signal/signal_bench
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "benchmark/benchmark.h"
#include "services/signal/rule.h"
#include "services/signal/signal_stats.h"

namespace aesignal::signal {
namespace {

RuleSettings AllMethods() {
  RuleSettings s;
  s.planned_subjects = 20;  // MaxSPRT on
  return s;
}

// One cell: baseline methods (binomial, MaxSPRT, Bayesian), control arm,
// dose trend across 5 groups and the over-time test.
void BM_OneCellAllMethods(benchmark::State& state) {
  const SignalRule rule(AllMethods());
  const Baseline baseline{
      .p0 = 0.05, .source_events = 2, .source_subjects = 40};
  for (auto _ : state) {
    auto b = rule.AgainstBaseline(3, 10, baseline);
    auto c = rule.AgainstControl(3, 10, 0, 10);
    auto t = rule.DoseTrend({0, 1, 1, 2, 3}, {10, 10, 10, 10, 10},
                            {0, 2.5e7, 5e7, 1e8, 2e8});
    auto o = rule.OverTime({2, 10, 10 * 365.0}, {1, 40, 40 * 91.0});
    benchmark::DoNotOptimize(b);
    benchmark::DoNotOptimize(c);
    benchmark::DoNotOptimize(t);
    benchmark::DoNotOptimize(o);
  }
}
BENCHMARK(BM_OneCellAllMethods);

// A trial: 5 groups (the first a control) of 10 subjects, 10 timepoints,
// 1,000 PTs with a baseline each; every cell evaluated with every method, as
// a full re-evaluation would (the server re-evaluates only changed rows).
void BM_TrialFullEvaluation(benchmark::State& state) {
  constexpr int kGroups = 5, kTimepoints = 10, kPts = 1000, kPerGroup = 10;
  std::mt19937 rng(7);
  std::binomial_distribution<int> cases(kPerGroup, 0.05);
  std::vector<int64_t> x(kPts * kGroups);
  for (auto& v : x) v = cases(rng);
  const SignalRule rule(AllMethods());
  const Baseline baseline{.p0 = 0.05};
  const std::vector<double> scores = {0, 2.5e7, 5e7, 1e8, 2e8};
  int64_t cells = 0;
  for (auto _ : state) {
    for (int pt = 0; pt < kPts; ++pt) {
      for (int k = 0; k < kTimepoints; ++k) {
        std::vector<int64_t> xs(kGroups), ns(kGroups, kPerGroup);
        for (int g = 0; g < kGroups; ++g) {
          // Cumulative cases grow over the timepoints.
          xs[g] = x[pt * kGroups + g] * (k + 1) / kTimepoints;
          auto b = rule.AgainstBaseline(xs[g], kPerGroup, baseline);
          benchmark::DoNotOptimize(b);
          if (g > 0) {
            auto c = rule.AgainstControl(xs[g], kPerGroup, xs[0], kPerGroup);
            benchmark::DoNotOptimize(c);
          }
          auto o = rule.OverTime(
              {xs[g] > 0 ? 1 : 0, kPerGroup, kPerGroup * 91.0},
              {xs[g], kPerGroup * (k + 1), kPerGroup * (k + 1) * 91.0});
          benchmark::DoNotOptimize(o);
          ++cells;
        }
        auto t = rule.DoseTrend(xs, ns, scores);
        benchmark::DoNotOptimize(t);
      }
    }
  }
  state.counters["cells/s"] = benchmark::Counter(static_cast<double>(cells),
                                                 benchmark::Counter::kIsRate);
}
BENCHMARK(BM_TrialFullEvaluation)->Unit(benchmark::kMillisecond);

// The exact trend test alone on large groups (the query bench's trial: 5
// groups of 2,000 subjects), events rising slightly with dose; scores as a
// dose ladder, the server's budget. Fails if the test is not exact (the
// asymptotic fallback would be timed instead).
void BM_ExactTrendLargeGroups(benchmark::State& state) {
  static const std::vector<std::vector<int64_t>> kEvents = {
      {2, 3, 4, 5, 6}, {16, 18, 20, 22, 24}, {72, 76, 80, 84, 88}};
  const std::vector<int64_t>& x = kEvents[state.range(0)];
  const std::vector<int64_t> n(5, 2000);
  const std::vector<double> scores = {0, 2.5e7, 5e7, 1e8, 2e8};
  for (auto _ : state) {
    auto t = CochranArmitage(x, n, scores, ServerTrendOptions());
    if (!t.ok() || !t->exact) {
      state.SkipWithError("the trend test is not exact");
      break;
    }
    benchmark::DoNotOptimize(t);
  }
  state.SetLabel(absl::StrCat(x[0] + x[1] + x[2] + x[3] + x[4], " events"));
}
BENCHMARK(BM_ExactTrendLargeGroups)
    ->Arg(0)
    ->Arg(1)
    ->Arg(2)
    ->Unit(benchmark::kMicrosecond);

// The exact trend tests the server's evaluator computed while loading that
// trial (testdata/trend_load_corpus.csv, one in ten of them by total events),
// with the server's budget: the evaluator's own mix of small and large tests.
void BM_ExactTrendLoadCorpus(benchmark::State& state) {
  std::vector<std::vector<int64_t>> corpus;
  std::ifstream in(std::string(AESIGNAL_SIGNAL_TESTDATA) +
                   "/trend_load_corpus.csv");
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<int64_t> x;
    const std::vector<std::string> cells = absl::StrSplit(line, ',');
    for (absl::string_view v : absl::StrSplit(cells[0], ' ')) {
      int64_t count = 0;
      if (absl::SimpleAtoi(v, &count)) x.push_back(count);
    }
    corpus.push_back(x);
  }
  if (corpus.empty()) {
    state.SkipWithError("no corpus");
    return;
  }
  const std::vector<int64_t> n(5, 2000);
  const std::vector<double> scores = {2.5e7, 5e7, 1e8, 2e8, 4e8};
  for (auto _ : state) {
    for (const std::vector<int64_t>& x : corpus) {
      auto t = CochranArmitage(x, n, scores, ServerTrendOptions());
      benchmark::DoNotOptimize(t);
    }
  }
  state.SetLabel(absl::StrCat(corpus.size(), " tests"));
}
BENCHMARK(BM_ExactTrendLoadCorpus)->Unit(benchmark::kMillisecond);

void BM_MaxSprtCriticalValueUncached(benchmark::State& state) {
  for (auto _ : state) {
    auto cv = MaxSprtCriticalValue(0.05, 10, 1);
    benchmark::DoNotOptimize(cv);
  }
}
BENCHMARK(BM_MaxSprtCriticalValueUncached)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace aesignal::signal

BENCHMARK_MAIN();
