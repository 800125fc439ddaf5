#include "services/signal/signal_stats.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>

#include "absl/strings/str_cat.h"
#include "boost/math/distributions/chi_squared.hpp"
#include "boost/math/special_functions/beta.hpp"
#include "boost/math/special_functions/gamma.hpp"
#include "services/signal/binomial_ci.h"
#include "services/signal/distributions.h"

namespace aesignal::signal {
namespace {

// Boost.Math reports domain errors by throwing; nothing is thrown past here.
template <typename F>
absl::StatusOr<double> Guarded(const char* what, F f) {
  try {
    const double v = f();
    if (!std::isfinite(v)) {
      return absl::InternalError(absl::StrCat(what, ": non-finite result"));
    }
    return std::min(1.0, std::max(0.0, v));
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat(what, ": ", e.what()));
  }
}

constexpr int64_t kMaxBinomialSprtEvents = 5000;

}  // namespace

absl::StatusOr<double> BinomialUpperTail(int64_t x, int64_t n, double p0) {
  if (x < 0 || n < 0 || x > n || n > kMaxCount || !(p0 > 0 && p0 < 1)) {
    return absl::InvalidArgumentError(
        "binomial test: need 0 <= x <= n <= 1e12 and 0 < p0 < 1");
  }
  return Binomial(n, p0).UpperTail(x);
}

absl::StatusOr<double> PosteriorExceeds(int64_t x, int64_t n, double p0,
                                        double a, double b) {
  if (x < 0 || n < 0 || x > n || !(p0 > 0 && p0 < 1) || !(a > 0) || !(b > 0)) {
    return absl::InvalidArgumentError(
        "posterior: need 0 <= x <= n, 0 < p0 < 1, a > 0, b > 0");
  }
  return Guarded("posterior",
                 [&] { return boost::math::ibetac(a + x, b + (n - x), p0); });
}

double PoissonLlr(double c, double mu) {
  if (!(c > mu) || c <= 0 || mu <= 0) return 0;
  return (mu - c) + c * std::log(c / mu);
}

namespace {

// The largest mu < i at which i events give LLR >= cv (LLR decreases in mu
// below i), or 0 if none (cv unreachable with i events).
double Boundary(int i, double cv) {
  double lo = 0, hi = i;  // LLR(i, lo+) = inf >= cv, LLR(i, i) = 0 < cv
  for (int iter = 0; iter < 200; ++iter) {
    const double mid = 0.5 * (lo + hi);
    if (PoissonLlr(i, mid) >= cv) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  return lo;
}

double PoissonPmf(int k, double mu) {
  if (mu <= 0) return k == 0 ? 1.0 : 0.0;
  return std::exp(k * std::log(mu) - mu - std::lgamma(k + 1.0));
}

}  // namespace

absl::StatusOr<double> MaxSprtAlpha(double cv, double surveillance_end,
                                    int min_events) {
  // The recursion runs over ~T + cv event counts, each holding up to that
  // many states: the bounds keep every call finite (T = 10^4 takes seconds).
  if (!(cv > 0 && cv <= kMaxSprtBound) ||
      !(surveillance_end > 0 && surveillance_end <= kMaxSprtBound) ||
      min_events < 1 || min_events > kMaxSprtBound) {
    return absl::InvalidArgumentError(
        "MaxSPRT: need 0 < cv <= 1e5, 0 < T <= 1e5 and 1 <= M <= 1e5");
  }
  // surviving[j]: probability of j events so far and no signal yet.
  std::vector<double> surviving = {1.0};
  double mu = 0;
  for (int i = min_events;; ++i) {
    // Paths that reach i or more events while mu <= boundary(i) signal; the
    // next look that matters is where count i stops signalling.
    const double next = std::min(Boundary(i, cv), surveillance_end);
    if (next > mu) {
      const double step = next - mu;
      // Poisson(step) weights, once per step (not once per state), stopped
      // past the mode once a weight falls below 1e-20: the mass dropped is
      // below 1e-19 per state (the tail shrinks geometrically), far under
      // the 1e-10 the critical value is bisected to. Without the cuts the
      // recursion costs ~T^3 (T = 1000 took minutes); with them T = 1000
      // takes about half a second (docs/statistics.md).
      std::vector<double> weight;
      for (int k = 0; k < i; ++k) {
        const double w = PoissonPmf(k, step);
        if (k > step && w < 1e-20) break;
        weight.push_back(w);
      }
      std::vector<double> moved(i, 0.0);  // counts >= i are absorbed
      for (size_t j = 0; j < surviving.size(); ++j) {
        const double from = surviving[j];
        // States that far below the mean carry no mass that matters either
        // (at most T of them, each under 1e-25).
        if (from < 1e-25) continue;
        const size_t last = std::min(weight.size(), static_cast<size_t>(i) - j);
        for (size_t k = 0; k < last; ++k) moved[j + k] += from * weight[k];
      }
      surviving = std::move(moved);
      mu = next;
    } else {
      if (static_cast<int>(surviving.size()) > i) surviving.resize(i);
    }
    if (mu >= surveillance_end) break;
  }
  double survive = 0;
  for (double p : surviving) survive += p;
  return std::min(1.0, std::max(0.0, 1 - survive));
}

absl::StatusOr<double> MaxSprtCriticalValue(double alpha,
                                            double surveillance_end,
                                            int min_events) {
  if (!(alpha > 0 && alpha < 1)) {
    return absl::InvalidArgumentError("MaxSPRT: alpha must be in (0, 1)");
  }
  if (auto s = MaxSprtAlpha(1, surveillance_end, min_events); !s.ok()) {
    return s.status();  // the bounds on T and M
  }
  double lo = 1e-9, hi = 1;
  // A signal needs M events by T, so no critical value's error exceeds
  // P(Poisson(T) >= M). When that is already below alpha the search's floor
  // keeps the error: signal at any excess once M events occur. Decided from
  // the incomplete gamma (relative accuracy near 0, down to its underflow),
  // not from alpha(cv), which is 1 − a sum and too noisy near 0. Found by
  // fuzz_trial_json: M = 301 by T = 3.6 (P ~ 1e-451, 0 in double precision)
  // was an error, and a trial whose policy asked for it could not be
  // evaluated (tests/fuzz/regressions/fuzz_trial_json/
  // policy_min_cases_301_maxsprt_unreachable.json).
  auto reach = Guarded("MaxSPRT", [&] {
    return boost::math::gamma_p(static_cast<double>(min_events),
                                surveillance_end);
  });
  if (!reach.ok()) return reach.status();
  if (*reach < alpha) {
    // The value the bisection below returns for such a plan (every step
    // lowers hi; 1.0291e-9), so that evidence stored before this shortcut
    // still equals a re-evaluation.
    while (hi - lo > 1e-10) hi = 0.5 * (lo + hi);
    return 0.5 * (lo + hi);
  }
  // alpha(cv) decreases in cv: find hi with alpha(hi) < alpha.
  while (true) {
    auto a = MaxSprtAlpha(hi, surveillance_end, min_events);
    if (!a.ok()) return a.status();
    if (*a < alpha) break;
    hi *= 2;
    if (hi > 1e4) return absl::InternalError("MaxSPRT: no critical value");
  }
  while (hi - lo > 1e-10) {
    const double mid = 0.5 * (lo + hi);
    auto a = MaxSprtAlpha(mid, surveillance_end, min_events);
    if (!a.ok()) return a.status();
    (*a > alpha ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

std::vector<double> BenjaminiHochberg(const std::vector<double>& p) {
  const size_t m = p.size();
  std::vector<size_t> order(m);
  for (size_t i = 0; i < m; ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return p[a] < p[b]; });
  std::vector<double> adjusted(m);
  double running = 1;
  for (size_t r = m; r-- > 0;) {
    running = std::min(running, p[order[r]] * m / (r + 1));
    adjusted[order[r]] = std::min(1.0, running);
  }
  return adjusted;
}

namespace {

// Step 1 of the double FDR: each SOC's representative (the minimum of its
// PTs' within-SOC BH adjusted p-values), BH-adjusted across SOCs; one value
// per PT.
std::vector<double> AdjustedSocRepresentatives(
    const std::vector<std::string>& soc, const std::vector<double>& p) {
  std::map<std::string, std::vector<size_t>> by_soc;
  for (size_t i = 0; i < p.size(); ++i) by_soc[soc[i]].push_back(i);
  std::vector<double> representatives;
  for (const auto& [name, members] : by_soc) {
    std::vector<double> ps;
    for (size_t i : members) ps.push_back(p[i]);
    const std::vector<double> within = BenjaminiHochberg(ps);
    representatives.push_back(*std::min_element(within.begin(), within.end()));
  }
  const std::vector<double> across = BenjaminiHochberg(representatives);
  std::vector<double> per_pt(p.size());
  size_t b = 0;
  for (const auto& [name, members] : by_soc) {
    for (size_t i : members) per_pt[i] = across[b];
    ++b;
  }
  return per_pt;
}

}  // namespace

absl::StatusOr<DoubleFdrResult> DoubleFdr(const std::vector<std::string>& soc,
                                          const std::vector<double>& p,
                                          double q) {
  if (soc.size() != p.size()) {
    return absl::InvalidArgumentError("double FDR: soc and p differ in size");
  }
  if (!(q > 0 && q < 1)) {
    return absl::InvalidArgumentError("double FDR: need 0 < q < 1");
  }
  for (double v : p) {
    if (!(v >= 0 && v <= 1)) {
      return absl::InvalidArgumentError(
          "double FDR: p-values must be in [0, 1]");
    }
  }
  DoubleFdrResult out;
  out.soc_adjusted = AdjustedSocRepresentatives(soc, p);
  // Step 2: one BH family of every PT whose SOC is flagged at q.
  std::vector<size_t> family;
  std::vector<double> family_p;
  for (size_t i = 0; i < p.size(); ++i) {
    if (out.soc_adjusted[i] <= q) {
      family.push_back(i);
      family_p.push_back(p[i]);
    }
  }
  const std::vector<double> pooled = BenjaminiHochberg(family_p);
  // Outside the family a PT's value is its SOC's (> q): why it is not flagged.
  out.adjusted = out.soc_adjusted;
  for (size_t j = 0; j < family.size(); ++j) {
    out.adjusted[family[j]] = std::max(out.soc_adjusted[family[j]], pooled[j]);
  }
  for (size_t i = 0; i < p.size(); ++i) {
    out.flagged.push_back(out.adjusted[i] <= q);
  }
  return out;
}

absl::StatusOr<double> BinomialMidP(int64_t x, int64_t n, double p0) {
  if (x < 0 || n < 0 || x > n || n > kMaxCount || !(p0 > 0 && p0 < 1)) {
    return absl::InvalidArgumentError(
        "mid-p: need 0 <= x <= n <= 1e12 and 0 < p0 < 1");
  }
  const Binomial law(n, p0);
  return std::min(1.0, law.UpperTail(x + 1) + 0.5 * law.Pmf(x));
}

absl::StatusOr<RateInterval> PoissonRate(int64_t events, double patient_years,
                                         double level) {
  // Boost's chi-square quantile gives up beyond ~10^10 events; the bounds
  // also keep the rate finite.
  if (events < 0 || events > 1'000'000'000 ||
      !(patient_years >= 1e-6 && patient_years <= 1e12) ||
      !(level > 0 && level < 1)) {
    return absl::InvalidArgumentError(
        "rate: need 0 <= events <= 1e9, 1e-6 <= patient-years <= 1e12 and "
        "level in (0, 1)");
  }
  try {
    const double alpha = 1 - level;
    RateInterval out;
    out.rate = 100.0 * events / patient_years;
    if (events > 0) {
      boost::math::chi_squared_distribution<double> lo(2.0 * events);
      out.lower =
          boost::math::quantile(lo, alpha / 2) / 2 * 100 / patient_years;
    }
    boost::math::chi_squared_distribution<double> hi(2.0 * events + 2);
    out.upper =
        boost::math::quantile(hi, 1 - alpha / 2) / 2 * 100 / patient_years;
    return out;
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("rate: ", e.what()));
  }
}

absl::StatusOr<std::vector<BoundaryRow>> PosteriorBoundary(double p0,
                                                           int64_t nmax,
                                                           double threshold,
                                                           double a, double b) {
  if (!(p0 > 0 && p0 < 1) || nmax < 1 || nmax > 100000 ||
      !(threshold > 0 && threshold < 1) || !(a > 0) || !(b > 0)) {
    return absl::InvalidArgumentError(
        "boundary: need 0 < p0 < 1, 1 <= nmax <= 100000, 0 < threshold < 1, "
        "a > 0, b > 0");
  }
  std::vector<BoundaryRow> rows;
  for (int64_t n = 1; n <= nmax; ++n) {
    BoundaryRow row;
    row.n = n;
    // The posterior increases with x: bisect for the smallest flagging x.
    int64_t lo = 0, hi = n + 1;
    while (lo < hi) {
      const int64_t mid = (lo + hi) / 2;
      auto post = PosteriorExceeds(mid, n, p0, a, b);
      if (!post.ok()) return post.status();
      if (*post > threshold) {
        hi = mid;
      } else {
        lo = mid + 1;
      }
    }
    if (lo <= n) {
      row.min_x = lo;
      row.posterior = *PosteriorExceeds(lo, n, p0, a, b);
    }
    rows.push_back(row);
  }
  return rows;
}

absl::StatusOr<DifferenceInterval> NewcombeDifference(int64_t x1, int64_t n1,
                                                      int64_t x0, int64_t n0,
                                                      double level) {
  if (n1 < 1 || n0 < 1) {
    return absl::InvalidArgumentError("risk difference: need n1, n0 >= 1");
  }
  auto w1 = Wilson(x1, n1, level);
  if (!w1.ok()) return w1.status();
  auto w0 = Wilson(x0, n0, level);
  if (!w0.ok()) return w0.status();
  const double p1 = w1->estimate, p0 = w0->estimate;
  DifferenceInterval out;
  out.difference = p1 - p0;
  out.lower = out.difference - std::sqrt((p1 - w1->lower) * (p1 - w1->lower) +
                                         (w0->upper - p0) * (w0->upper - p0));
  out.upper = out.difference + std::sqrt((w1->upper - p1) * (w1->upper - p1) +
                                         (p0 - w0->lower) * (p0 - w0->lower));
  return out;
}

double BinomialLlr(int64_t cases, int64_t events, double z) {
  if (events <= 0 || cases <= 0) return 0;
  const double c = static_cast<double>(cases), n = static_cast<double>(events);
  if (!(c / n > 1 / (1 + z))) return 0;
  double llr = c * std::log(c * (1 + z) / n);
  if (cases < events) llr += (n - c) * std::log((n - c) * (1 + z) / (n * z));
  return llr;
}

absl::StatusOr<double> BinomialMaxSprtAlpha(double cv, int64_t max_events,
                                            int min_cases, double z) {
  // O(N^2) per call and ~50 calls per critical value: N = 5000 takes
  // seconds, N = 10^5 took most of an hour.
  if (!(cv > 0 && cv <= kMaxSprtBound) || max_events < 1 ||
      max_events > kMaxBinomialSprtEvents || min_cases < 1 ||
      !(z > 0 && z <= kMaxSprtBound)) {
    return absl::InvalidArgumentError(
        "binomial MaxSPRT: need 0 < cv <= 1e5, 1 <= N <= 5000, M >= 1, "
        "0 < z <= 1e5");
  }
  const double p = 1 / (1 + z);
  // alive[c]: probability of c cases after n events, no signal yet.
  std::vector<double> alive = {1.0};
  double signalled = 0;
  for (int64_t n = 1; n <= max_events; ++n) {
    std::vector<double> next(alive.size() + 1, 0.0);
    for (size_t c = 0; c < alive.size(); ++c) {
      next[c] += alive[c] * (1 - p);
      next[c + 1] += alive[c] * p;
    }
    for (size_t c = 0; c < next.size(); ++c) {
      if (static_cast<int>(c) >= min_cases &&
          BinomialLlr(static_cast<int64_t>(c), n, z) >= cv) {
        signalled += next[c];
        next[c] = 0;
      }
    }
    alive = std::move(next);
  }
  return std::min(1.0, signalled);
}

absl::StatusOr<double> BinomialMaxSprtCriticalValue(double alpha,
                                                    int64_t max_events,
                                                    int min_cases, double z) {
  if (!(alpha > 0 && alpha < 1)) {
    return absl::InvalidArgumentError(
        "binomial MaxSPRT: alpha must be in (0, 1)");
  }
  // The type-I error is a step function of cv (counts are discrete): return
  // the smallest cv whose error does not exceed alpha.
  double lo = 1e-9, hi = 1;
  auto most = BinomialMaxSprtAlpha(lo, max_events, min_cases, z);
  if (!most.ok()) return most.status();
  if (*most == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "binomial MaxSPRT: the plan can never signal: no path of N = ",
        max_events, " events has M = ", min_cases, " cases above 1/(1+z)"));
  }
  while (true) {
    auto a = BinomialMaxSprtAlpha(hi, max_events, min_cases, z);
    if (!a.ok()) return a.status();
    if (*a <= alpha) break;
    hi *= 2;
    if (hi > 1e4) return absl::InternalError("binomial MaxSPRT: no CV");
  }
  while (hi - lo > 1e-10) {
    const double mid = 0.5 * (lo + hi);
    auto a = BinomialMaxSprtAlpha(mid, max_events, min_cases, z);
    if (!a.ok()) return a.status();
    (*a > alpha ? lo : hi) = mid;
  }
  return hi;
}

absl::StatusOr<CusumResult> BernoulliCusum(const std::vector<int>& outcomes,
                                           double p0, double odds_ratio,
                                           double h) {
  if (!(p0 > 0 && p0 < 1) || !(odds_ratio > 1) || !(h > 0)) {
    return absl::InvalidArgumentError(
        "CUSUM: need 0 < p0 < 1, odds ratio > 1 and h > 0");
  }
  CusumResult out;
  const double up = std::log(odds_ratio);
  const double drift = std::log(1 - p0 + odds_ratio * p0);
  double s = 0;
  for (size_t i = 0; i < outcomes.size(); ++i) {
    if (outcomes[i] != 0 && outcomes[i] != 1) {
      return absl::InvalidArgumentError("CUSUM: outcomes must be 0 or 1");
    }
    s = std::max(0.0, s + outcomes[i] * up - drift);
    out.path.push_back(s);
    if (out.signal_at < 0 && s > h) out.signal_at = static_cast<int64_t>(i + 1);
  }
  return out;
}

}  // namespace aesignal::signal
