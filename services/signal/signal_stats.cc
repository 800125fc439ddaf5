#include "services/signal/signal_stats.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>

#include "absl/strings/str_cat.h"
#include "boost/math/distributions/chi_squared.hpp"
#include "boost/math/special_functions/beta.hpp"
#include "services/signal/binomial_ci.h"

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

// log C(n, k).
double LogChoose(int64_t n, int64_t k) {
  return std::lgamma(n + 1.0) - std::lgamma(k + 1.0) - std::lgamma(n - k + 1.0);
}

// P(k defective in a sample of `sample` from `total` holding `defective`),
// via log-gamma: fast, and accurate to ~1e-13 relative for the sizes of
// safety cohorts.
double HypergeometricPmf(int64_t k, int64_t defective, int64_t sample,
                         int64_t total) {
  return std::exp(LogChoose(defective, k) +
                  LogChoose(total - defective, sample - k) -
                  LogChoose(total, sample));
}

}  // namespace

absl::StatusOr<double> BinomialUpperTail(int64_t x, int64_t n, double p0) {
  if (x < 0 || n < 0 || x > n || !(p0 > 0 && p0 < 1)) {
    return absl::InvalidArgumentError(
        "binomial test: need 0 <= x <= n and "
        "0 < p0 < 1");
  }
  if (x == 0) return 1.0;
  return Guarded("binomial test", [&] {
    return boost::math::ibeta(static_cast<double>(x),
                              static_cast<double>(n - x + 1), p0);
  });
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

absl::StatusOr<double> FisherGreater(int64_t x1, int64_t n1, int64_t x0,
                                     int64_t n0) {
  if (x1 < 0 || x0 < 0 || x1 > n1 || x0 > n0) {
    return absl::InvalidArgumentError("Fisher: need 0 <= x <= n per group");
  }
  // X, the events of group 1 given k events in all, is hypergeometric on
  // [lo, hi]: at or below lo the upper tail is everything.
  const int64_t k = x1 + x0, total = n1 + n0, others = total - k;
  const int64_t lo = std::max<int64_t>(0, n1 - others);
  const int64_t hi = std::min(k, n1);
  if (x1 <= lo) return 1.0;
  // Summed from the term next to the mode outwards, where terms shrink: one
  // log-gamma evaluation, then exact term ratios. (Boost's hypergeometric
  // CDF, used before, costs a prime factorisation per evaluation and, with
  // Boost 1.74's constexpr tables, copies its prime tables on every call: it
  // was ~10 % of the server's CPU under ingest. FisherGreaterMatchesBoost
  // checks the two agree.)
  const double mode =
      std::floor((n1 + 1.0) * (k + 1.0) / (static_cast<double>(total) + 2.0));
  double sum = 1, term = 1;
  if (static_cast<double>(x1) > mode) {
    // P(X >= x1): terms decrease from x1 upwards.
    for (int64_t j = x1; j < hi; ++j) {
      term *= static_cast<double>(k - j) * static_cast<double>(n1 - j) /
              (static_cast<double>(j + 1) *
               static_cast<double>(others - n1 + j + 1));
      sum += term;
      if (term < sum * 1e-17) break;
    }
    return std::min(1.0, HypergeometricPmf(x1, k, n1, total) * sum);
  }
  // 1 - P(X <= x1 - 1): terms decrease from x1 - 1 downwards.
  for (int64_t j = x1 - 1; j > lo; --j) {
    term *= static_cast<double>(j) * static_cast<double>(others - n1 + j) /
            (static_cast<double>(k - j + 1) * static_cast<double>(n1 - j + 1));
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return std::max(0.0, 1.0 - HypergeometricPmf(x1 - 1, k, n1, total) * sum);
}

absl::StatusOr<TrendResult> CochranArmitageIncreasing(
    const std::vector<int64_t>& x, const std::vector<int64_t>& n,
    const std::vector<double>& scores) {
  if (x.size() != n.size() || x.size() != scores.size() || x.size() < 2) {
    return absl::InvalidArgumentError(
        "trend: x, n and scores must have the same size >= 2");
  }
  int64_t total_n = 0, total_x = 0;
  double s_obs = 0, sum_nt = 0, sum_ntt = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    if (x[i] < 0 || x[i] > n[i]) {
      return absl::InvalidArgumentError("trend: need 0 <= x <= n per group");
    }
    total_n += n[i];
    total_x += x[i];
    s_obs += scores[i] * x[i];
    sum_nt += n[i] * scores[i];
    sum_ntt += n[i] * scores[i] * scores[i];
  }
  TrendResult result;
  if (total_n == 0 || total_x == 0 || total_x == total_n) return result;
  const double pbar = static_cast<double>(total_x) / total_n;
  const double variance =
      pbar * (1 - pbar) * (sum_ntt - sum_nt * sum_nt / total_n);
  if (!(variance > 0)) return result;
  result.z = (s_obs - pbar * sum_nt) / std::sqrt(variance);
  result.p_asymptotic = 0.5 * std::erfc(result.z / std::sqrt(2.0));

  // Conditional exact distribution of S = sum t_i x_i given the total, by
  // chaining hypergeometric draws group by group, when small enough.
  double states = 1;
  for (int64_t ni : n) states *= static_cast<double>(ni + 1);
  if (states <= 2e5) {
    try {
      // (events left, score sum scaled to an integer) -> probability.
      constexpr double kScale = 1e6;
      std::map<std::pair<int64_t, int64_t>, double> dist = {
          {{total_x, 0}, 1.0}};
      int64_t n_left = total_n;
      for (size_t i = 0; i < x.size(); ++i) {
        std::map<std::pair<int64_t, int64_t>, double> next;
        for (const auto& [state, prob] : dist) {
          const auto [left, sum] = state;
          for (int64_t k = std::max<int64_t>(0, left - (n_left - n[i]));
               k <= std::min(left, n[i]); ++k) {
            const double pk = HypergeometricPmf(k, left, n[i], n_left);
            if (pk == 0) continue;
            next[{left - k, sum + std::llround(scores[i] * k * kScale)}] +=
                prob * pk;
          }
        }
        n_left -= n[i];
        dist = std::move(next);
      }
      const int64_t observed = std::llround(s_obs * kScale);
      double p = 0;
      for (const auto& [state, prob] : dist) {
        if (state.second >= observed) p += prob;
      }
      result.p = std::min(1.0, p);
      result.exact = true;
      return result;
    } catch (const std::exception&) {
      // Fall through to the asymptotic test.
    }
  }
  result.p = result.p_asymptotic;
  return result;
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
  if (!(cv > 0) || !(surveillance_end > 0) || min_events < 1) {
    return absl::InvalidArgumentError("MaxSPRT: need cv > 0, T > 0 and M >= 1");
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
  double lo = 1e-9, hi = 1;
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

absl::StatusOr<std::vector<double>> DoubleFdr(
    const std::vector<std::string>& soc, const std::vector<double>& p) {
  if (soc.size() != p.size()) {
    return absl::InvalidArgumentError("double FDR: soc and p differ in size");
  }
  for (double v : p) {
    if (!(v >= 0 && v <= 1)) {
      return absl::InvalidArgumentError(
          "double FDR: p-values must be in [0, 1]");
    }
  }
  std::map<std::string, std::vector<size_t>> by_soc;
  for (size_t i = 0; i < p.size(); ++i) by_soc[soc[i]].push_back(i);
  std::vector<double> within(p.size());
  std::vector<std::string> names;
  std::vector<double> soc_min;
  for (const auto& [name, members] : by_soc) {
    std::vector<double> ps;
    for (size_t i : members) ps.push_back(p[i]);
    std::vector<double> adj = BenjaminiHochberg(ps);
    double lowest = 1;
    for (size_t j = 0; j < members.size(); ++j) {
      within[members[j]] = adj[j];
      lowest = std::min(lowest, adj[j]);
    }
    names.push_back(name);
    soc_min.push_back(lowest);
  }
  std::vector<double> across = BenjaminiHochberg(soc_min);
  std::map<std::string, double> soc_adjusted;
  for (size_t b = 0; b < names.size(); ++b) soc_adjusted[names[b]] = across[b];
  std::vector<double> combined(p.size());
  for (size_t i = 0; i < p.size(); ++i) {
    combined[i] = std::max(soc_adjusted[soc[i]], within[i]);
  }
  return combined;
}

absl::StatusOr<double> BinomialMidP(int64_t x, int64_t n, double p0) {
  if (x < 0 || n < 0 || x > n || !(p0 > 0 && p0 < 1)) {
    return absl::InvalidArgumentError("mid-p: need 0 <= x <= n and 0 < p0 < 1");
  }
  return Guarded("mid-p", [&] {
    const double above =
        x == n ? 0.0
               : boost::math::ibeta(static_cast<double>(x + 1),
                                    static_cast<double>(n - x), p0);
    const double at = std::exp(LogChoose(n, x) + x * std::log(p0) +
                               (n - x) * std::log1p(-p0));
    return above + 0.5 * at;
  });
}

absl::StatusOr<RateInterval> PoissonRate(int64_t events, double patient_years,
                                         double level) {
  if (events < 0 || !(patient_years > 0) || !(level > 0 && level < 1)) {
    return absl::InvalidArgumentError(
        "rate: need events >= 0, patient-years > 0 and level in (0, 1)");
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
  if (!(cv > 0) || max_events < 1 || max_events > 100000 || min_cases < 1 ||
      !(z > 0)) {
    return absl::InvalidArgumentError(
        "binomial MaxSPRT: need cv > 0, 1 <= N <= 100000, M >= 1, z > 0");
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
