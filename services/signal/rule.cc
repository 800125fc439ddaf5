#include "services/signal/rule.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>

#include "absl/base/const_init.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "services/signal/boundary.h"
#include "services/signal/signal_stats.h"

namespace aesignal::signal {
namespace {

// A costly pure computation remembered process-wide by its arguments (few
// distinct ones occur in a trial); one cache per call site. Computed
// outside the lock: two threads may both compute a new key, with one
// result kept.
template <typename Key, typename Value, typename Compute>
Value Memoized(const Key& key, Compute compute) {
  static absl::Mutex mu(absl::kConstInit);
  static auto* cache = new std::map<Key, Value>();
  {
    absl::MutexLock lock(&mu);
    if (auto it = cache->find(key); it != cache->end()) return it->second;
  }
  Value value = compute();
  absl::MutexLock lock(&mu);
  return cache->emplace(key, std::move(value)).first->second;
}

// Critical values: bisection over exact recursions.
absl::StatusOr<double> CachedCriticalValue(double alpha, double t, int m) {
  return Memoized<std::tuple<double, double, int>, absl::StatusOr<double>>(
      std::make_tuple(alpha, t, m),
      [&] { return MaxSprtCriticalValue(alpha, t, m); });
}

// Pocock calibrations: an exact recursion per step. `planned` <=
// kMaxStoppingRuleSubjects (the caller's condition).
absl::StatusOr<StoppingRule> CachedPocock(double p0, int64_t planned,
                                          double alpha) {
  return Memoized<std::tuple<double, int64_t, double>,
                  absl::StatusOr<StoppingRule>>(
      std::make_tuple(p0, planned, alpha), [&] {
        return CalibrateStoppingRule({.type = StoppingRuleType::kPocock,
                                      .p0 = p0,
                                      .max_subjects = static_cast<int>(planned),
                                      .alpha = alpha});
      });
}

absl::StatusOr<Decision> Cell(Method method, int64_t x, int64_t n,
                              double level) {
  auto ci = ClopperPearson(x, n, level);
  if (!ci.ok()) return ci.status();
  Decision d;
  d.method = method;
  d.subjects = x;
  d.denominator = n;
  d.interval = *ci;
  d.statistic = static_cast<double>(x);
  return d;
}

}  // namespace

TrendOptions ServerTrendOptions() {
  TrendOptions options;
  options.max_work = 2e7;
  options.max_cells = 1'000'000;
  return options;
}

const char* MethodName(Method method) {
  switch (method) {
    case Method::kBinomialExact:
      return "binomial_exact";
    case Method::kBayesian:
      return "bayesian";
    case Method::kMaxSprt:
      return "maxsprt";
    case Method::kControlFisher:
      return "control_fisher";
    case Method::kDoseTrend:
      return "dose_trend";
    case Method::kOverTime:
      return "over_time";
  }
  return "?";
}

std::pair<double, double> SignalRule::Prior(const Baseline& baseline) const {
  if (baseline.source_subjects > 0) {
    const double w = settings_.prior_weight;
    return {w * (baseline.source_events + 0.5),
            w * (baseline.source_subjects - baseline.source_events + 0.5)};
  }
  return {baseline.p0, 1 - baseline.p0};
}

absl::StatusOr<std::vector<Decision>> SignalRule::AgainstBaseline(
    int64_t x, int64_t n, const Baseline& baseline) const {
  if (!(baseline.p0 > 0 && baseline.p0 < 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("p0 must be in (0, 1), got ", baseline.p0));
  }
  if (baseline.source_events < 0 ||
      baseline.source_events > baseline.source_subjects) {
    return absl::InvalidArgumentError(
        "source sample: need 0 <= events <= subjects");
  }
  const double p0 = baseline.p0;
  const bool enough = x >= settings_.min_cases;
  std::vector<Decision> out;
  if (settings_.binomial) {
    auto d = Cell(Method::kBinomialExact, x, n, settings_.confidence_level);
    if (!d.ok()) return d.status();
    auto p = BinomialUpperTail(x, n, p0);
    if (!p.ok()) return p.status();
    d->p_value = *p;
    d->threshold = settings_.alpha;
    d->expected = p0;
    d->crosses = *p <= settings_.alpha && enough;
    if (settings_.boundary_subjects > 0 && n <= settings_.boundary_subjects &&
        settings_.boundary_subjects <= kMaxStoppingRuleSubjects) {
      auto rule =
          CachedPocock(p0, settings_.boundary_subjects, settings_.alpha);
      // A plan that can never stop within alpha (p0^N > alpha) is refused
      // by the calibration: then no count crosses.
      const bool can_stop = rule.ok();
      if (!can_stop &&
          rule.status().code() != absl::StatusCode::kInvalidArgument) {
        return rule.status();
      }
      d->boundary =
          can_stop ? rule->MinEventsToStop(static_cast<int>(n)) : n + 1;
      d->boundary_planned = settings_.boundary_subjects;
      d->threshold = can_stop ? rule->parameter() : 0;
      d->boundary_overall_error = can_stop ? rule->type_i_error() : 0;
      d->crosses = x >= d->boundary && enough;
    }
    out.push_back(*d);
  }
  if (settings_.planned_subjects > 0 && n > 0) {
    auto d = Cell(Method::kMaxSprt, x, n, settings_.confidence_level);
    if (!d.ok()) return d.status();
    const double mu = p0 * static_cast<double>(n);
    const double t = std::max(mu, p0 * settings_.planned_subjects);
    auto cv = CachedCriticalValue(
        settings_.alpha, t,
        static_cast<int>(std::max<int64_t>(1, settings_.min_cases)));
    if (!cv.ok()) return cv.status();
    d->statistic = PoissonLlr(static_cast<double>(x), mu);
    d->threshold = *cv;
    d->expected = mu;
    d->surveillance_end = t;
    d->crosses = d->statistic >= *cv && enough;
    out.push_back(*d);
  }
  if (settings_.bayesian) {
    auto d = Cell(Method::kBayesian, x, n, settings_.confidence_level);
    if (!d.ok()) return d.status();
    const auto [a, b] = Prior(baseline);
    auto post = PosteriorExceeds(x, n, p0, a, b);
    if (!post.ok()) return post.status();
    d->posterior = *post;
    d->threshold = settings_.posterior_threshold;
    d->expected = p0;
    d->prior_a = a;
    d->prior_b = b;
    d->crosses = *post > settings_.posterior_threshold && enough;
    out.push_back(*d);
  }
  return out;
}

absl::StatusOr<Decision> SignalRule::AgainstControl(int64_t x, int64_t n,
                                                    int64_t xc,
                                                    int64_t nc) const {
  auto d = Cell(Method::kControlFisher, x, n, settings_.confidence_level);
  if (!d.ok()) return d.status();
  auto p = FisherGreater(x, n, xc, nc);
  if (!p.ok()) return p.status();
  d->p_value = *p;
  d->threshold = settings_.alpha;
  d->comparison_subjects = xc;
  d->comparison_denominator = nc;
  d->crosses = *p <= settings_.alpha && x >= settings_.min_cases;
  return *d;
}

absl::StatusOr<Decision> SignalRule::DoseTrend(
    const std::vector<int64_t>& x, const std::vector<int64_t>& n,
    const std::vector<double>& scores) const {
  // The server evaluates this for every row a batch changes, at every
  // timepoint: its budget keeps one evaluation to milliseconds and a few MB
  // (exact for every cohort design aesignal targets — groups of tens to a
  // few hundred subjects); beyond it the p is the asymptotic one, labelled
  // in the result. The calculator uses the larger default budget.
  auto trend = CochranArmitage(x, n, scores, ServerTrendOptions());
  if (!trend.ok()) return trend.status();
  return DoseTrendFrom(x, n, *trend);
}

absl::StatusOr<Decision> SignalRule::DoseTrendFrom(
    const std::vector<int64_t>& x, const std::vector<int64_t>& n,
    const TrendResult& trend) const {
  int64_t total_x = 0, total_n = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    total_x += x[i];
    total_n += n[i];
  }
  auto d =
      Cell(Method::kDoseTrend, total_x, total_n, settings_.confidence_level);
  if (!d.ok()) return d.status();
  d->statistic = trend.z;
  d->p_value = trend.p;
  d->exact = trend.exact;
  d->threshold = settings_.alpha;
  d->crosses = trend.p <= settings_.alpha && total_x >= settings_.min_cases;
  return *d;
}

absl::StatusOr<Decision> SignalRule::OverTime(const WindowCount& window,
                                              const WindowCount& before) const {
  if (!(window.exposure > 0 && before.exposure > 0 &&
        std::isfinite(window.exposure) && std::isfinite(before.exposure))) {
    return absl::InvalidArgumentError("over time: exposures must be > 0");
  }
  auto d = Cell(Method::kOverTime, window.subjects, window.at_risk,
                settings_.confidence_level);
  if (!d.ok()) return d.status();
  const double share = window.exposure / (window.exposure + before.exposure);
  const int64_t onsets = window.subjects + before.subjects;
  double p = 1;
  if (window.subjects > 0) {
    auto tail = BinomialUpperTail(window.subjects, onsets, share);
    if (!tail.ok()) return tail.status();
    p = *tail;
  }
  d->p_value = p;
  d->threshold = settings_.alpha;
  d->expected = share;
  d->comparison_subjects = before.subjects;
  d->comparison_denominator = before.at_risk;
  d->crosses = p <= settings_.alpha && window.subjects >= settings_.min_cases;
  return *d;
}

}  // namespace aesignal::signal
