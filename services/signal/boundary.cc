#include "services/signal/boundary.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "services/signal/distributions.h"
#include "services/signal/signal_stats.h"

namespace aesignal::signal {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Probability mass below this is dropped from both ends of the running
// count's law: it keeps the recursion's window ~20 standard deviations below
// the mean (and off subnormal numbers) instead of spanning every count. At
// most 2 N such masses are dropped, so a probability moves by less than
// 2e-96: nothing a double can show next to any alpha above 1e-80.
constexpr double kNegligible = 1e-100;

// The widest parameter an EvaluateStoppingRule of OBF or WT takes.
constexpr double kMaxCriticalValue = 1000;

// --- The recursion --------------------------------------------------------

struct Law {
  std::vector<double> cross;  // P(first stop at look k)
  double stopped = 0;
  double expected_subjects = 0;
  double expected_events = 0;
  bool exceeded = false;  // stopped early once `stopped` passed the limit
};

// Advances the law of the count among paths not yet stopped by one subject:
// next[x] = cur[x] q + cur[x - 1] p on the window [lo, hi], then trims
// negligible mass from both ends.
void Step(std::vector<double>& cur, std::vector<double>& next, int& lo, int& hi,
          double p, double q) {
  const double* __restrict from = cur.data();
  double* __restrict to = next.data();
  to[lo] = from[lo] * q;
  for (int x = lo + 1; x <= hi; ++x) to[x] = from[x] * q + from[x - 1] * p;
  to[hi + 1] = from[hi] * p;
  cur.swap(next);
  ++hi;
  while (hi > lo && cur[hi] < kNegligible) --hi;
  while (lo < hi && cur[lo] < kNegligible) ++lo;
}

// The law of stopping for boundary b at looks `looks` under rate p: the
// exact recursion over the count of paths that have not crossed, O(N x
// window). Returns as soon as P(stopped) exceeds `limit` (calibration needs
// only the comparison), with `exceeded` set.
Law RunBoundary(const std::vector<int>& looks, const std::vector<int>& b,
                double p, double limit = kInf) {
  const int n_max = looks.back();
  const double q = 1 - p;
  std::vector<double> cur(n_max + 2, 0.0), next(n_max + 2, 0.0);
  cur[0] = 1;
  int lo = 0, hi = 0, n = 0;
  bool alive = true;
  Law law;
  law.cross.assign(looks.size(), 0.0);
  for (size_t k = 0; k < looks.size() && alive; ++k) {
    for (; n < looks[k]; ++n) Step(cur, next, lo, hi, p, q);
    double mass = 0, events = 0;
    for (int x = std::max(lo, b[k]); x <= hi; ++x) {
      mass += cur[x];
      events += x * cur[x];
    }
    hi = std::min(hi, b[k] - 1);
    alive = hi >= lo;
    law.cross[k] = mass;
    law.stopped += mass;
    law.expected_subjects += looks[k] * mass;
    law.expected_events += events;
    if (law.stopped > limit) {
      law.exceeded = true;
      return law;
    }
  }
  // Paths never stopped end at N with their count.
  for (int x = lo; alive && x <= hi; ++x) {
    law.expected_subjects += n_max * cur[x];
    law.expected_events += x * cur[x];
  }
  law.stopped = std::min(1.0, law.stopped);
  return law;
}

StoppingCharacteristics ToCharacteristics(const Law& law, double p) {
  StoppingCharacteristics out;
  out.p = p;
  out.stop_probability = law.stopped;
  out.expected_subjects = law.expected_subjects;
  out.expected_events = law.expected_events;
  double sum = 0;
  for (double c : law.cross) {
    sum += c;
    out.cumulative.push_back(std::min(1.0, sum));
  }
  return out;
}

// --- Validation -----------------------------------------------------------

absl::Status Invalid(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("stopping rule: ", what));
}

absl::Status ValidateProbability(const char* name, double v) {
  if (v > 0 && v < 1) return absl::OkStatus();
  return Invalid(absl::StrCat(name, " must be in (0, 1), got ", v));
}

absl::Status ValidateSpec(const StoppingRuleSpec& spec) {
  if (absl::Status s = ValidateProbability("p0", spec.p0); !s.ok()) return s;
  if (spec.max_subjects < 1 || spec.max_subjects > kMaxStoppingRuleSubjects) {
    return Invalid(
        absl::StrCat("N (the maximum number of subjects) must be "
                     "in [1, ",
                     kMaxStoppingRuleSubjects, "], got ", spec.max_subjects));
  }
  if (spec.cohort < 1 || spec.cohort > spec.max_subjects) {
    return Invalid(absl::StrCat("the cohort size must be in [1, N = ",
                                spec.max_subjects, "], got ", spec.cohort));
  }
  switch (spec.type) {
    case StoppingRuleType::kWangTsiatis:
      if (!(spec.delta >= 0 && spec.delta <= 0.5)) {
        return Invalid(absl::StrCat(
            "the Wang-Tsiatis delta must be in [0, 0.5], got ", spec.delta));
      }
      break;
    case StoppingRuleType::kBayesian:
      if (!(spec.prior_a > 0 && spec.prior_a <= 1e6) ||
          !(spec.prior_b > 0 && spec.prior_b <= 1e6)) {
        return Invalid(
            absl::StrCat("the Beta prior's a and b must be in (0, "
                         "1e6], got ",
                         spec.prior_a, " and ", spec.prior_b));
      }
      break;
    case StoppingRuleType::kPocock:
    case StoppingRuleType::kOBrienFleming:
      break;
    default:
      return Invalid("unknown type");
  }
  return absl::OkStatus();
}

absl::Status ValidateParameter(StoppingRuleType type, double parameter) {
  switch (type) {
    case StoppingRuleType::kPocock:
      return ValidateProbability("the nominal level c", parameter);
    case StoppingRuleType::kBayesian:
      return ValidateProbability("the posterior threshold tau", parameter);
    default:
      if (std::abs(parameter) <= kMaxCriticalValue) return absl::OkStatus();
      return Invalid(absl::StrCat("the critical value C must be in [-",
                                  kMaxCriticalValue, ", ", kMaxCriticalValue,
                                  "], got ", parameter));
  }
}

// --- The family's statistic -----------------------------------------------

// The smallest x in [lo, hi) with pred(x), or hi; pred is false then true.
// Gallops out from `guess` before bisecting: a boundary moves by a count or
// so from one look to the next, so the previous look's answer is usually a
// step or two away, and every probe may cost an incomplete beta function.
template <typename Pred>
int FirstTrue(int lo, int hi, int guess, Pred pred) {
  const int g = std::clamp(guess, lo, hi);
  if (g < hi && pred(g)) {
    hi = g;  // the answer is at or below g
    for (int step = 1; hi - step >= lo; step *= 2) {
      if (!pred(hi - step)) {
        lo = hi - step + 1;
        break;
      }
      hi -= step;
    }
  } else if (g < hi) {
    lo = g + 1;  // the answer is above g
    for (int step = 1; lo + step - 1 < hi; step *= 2) {
      if (pred(lo + step - 1)) {
        hi = lo + step - 1;
        break;
      }
      lo += step;
    }
  }
  while (lo < hi) {
    const int mid = lo + (hi - lo) / 2;
    if (pred(mid)) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  return lo;
}

// E(k, x) for look k and x events: nondecreasing in x; a boundary stops at
// look k for the x with E(k, x) >= theta. Pocock: E = -P(X_n >= x), so that
// larger is more extreme; OBF and WT: z; Bayesian: the posterior (a rule
// "posterior > tau" is theta = the next double above tau). Values are
// computed once and cached, so a boundary is always compared with the same
// numbers: the calibration's jump points are exactly the values it compares.
class Family {
 public:
  Family(const StoppingRuleSpec& spec, std::vector<int> looks)
      : spec_(spec), looks_(std::move(looks)) {
    const double n_max = looks_.back();
    const double var = spec.p0 * (1 - spec.p0);
    for (int n : looks_) {
      binomials_.emplace_back(n, spec.p0);
      // OBF as stoppingrule writes it (C sqrt(N p0 q0) + n p0). WT's
      // sqrt(n p0 q0) (n/N)^(delta - 1/2), written sqrt(N p0 q0) (n/N)^delta
      // so that delta = 0 rounds exactly as OBF: equal z at different looks
      // stay equal, not an ulp apart.
      const double delta =
          spec.type == StoppingRuleType::kWangTsiatis ? spec.delta : 0;
      scale_.push_back(std::sqrt(n_max * var) * std::pow(n / n_max, delta));
    }
  }

  int size() const { return static_cast<int>(looks_.size()); }
  int n(int k) const { return looks_[k]; }
  const std::vector<int>& looks() const { return looks_; }
  const absl::Status& status() const { return status_; }

  // P(X_n >= x) under p0 for look k, x in [0, n + 1].
  double Tail(int k, int x) {
    if (x <= 0) return 1;
    if (x > looks_[k]) return 0;
    auto [it, inserted] = tails_.try_emplace(Key(k, x), 0.0);
    if (inserted) it->second = binomials_[k].UpperTail(x);
    return it->second;
  }

  // E(k, x) for x in [0, n]; -inf below, +inf above (no count there).
  double Statistic(int k, int x) {
    if (x < 0) return -kInf;
    if (x > looks_[k]) return kInf;
    switch (spec_.type) {
      case StoppingRuleType::kPocock:
        return -Tail(k, x);
      case StoppingRuleType::kBayesian:
        return Posterior(k, x);
      default:
        return (x - looks_[k] * spec_.p0) / scale_[k];
    }
  }

  // The smallest x in [lo, hi] with E(k, x) >= theta, or hi. The caller
  // knows E(k, x) < theta below lo (or that lo is a floor below which it
  // does not care) and E(k, hi) >= theta or hi = n + 1.
  int Search(int k, double theta, int lo, int hi, int guess) {
    return FirstTrue(lo, hi, guess,
                     [&](int x) { return Statistic(k, x) >= theta; });
  }

  // The boundary at theta, each look searched within [lo[k], hi[k]].
  // Boundaries never decrease from look to look (a count is less extreme
  // among more subjects), so the previous look's answer is the guess.
  std::vector<int> Boundary(double theta, const std::vector<int>& lo,
                            const std::vector<int>& hi) {
    std::vector<int> b(looks_.size());
    for (int k = 0; k < size(); ++k) {
      b[k] = Search(k, theta, lo[k], hi[k], k > 0 ? b[k - 1] : lo[k]);
    }
    return b;
  }

  // Appends E(k, x) for x in [lo, hi], each distinct value at least once:
  // where E(k, lo) == E(k, hi) the values between are all the same (E is
  // monotone), so a posterior that rounds to 1 for every count of a look
  // costs a few evaluations, not one per count.
  void Distinct(int k, int lo, int hi, std::vector<double>& out) {
    const double first = Statistic(k, lo), last = Statistic(k, hi);
    if (first == last || hi - lo == 1) {
      out.push_back(first);
      out.push_back(last);
      return;
    }
    const int mid = lo + (hi - lo) / 2;
    Distinct(k, lo, mid, out);
    Distinct(k, mid, hi, out);
  }

  // The smallest x with P(X_n >= x) <= level at each look (n + 1 if none).
  std::vector<int> SmallestTailsAtMost(double level) {
    std::vector<int> b(looks_.size());
    for (int k = 0; k < size(); ++k) {
      b[k] = FirstTrue(0, looks_[k] + 1, k > 0 ? b[k - 1] : 0,
                       [&](int x) { return Tail(k, x) <= level; });
    }
    return b;
  }

  // theta for a parameter of the family (see StoppingRuleType).
  double ThetaOf(double parameter) const {
    switch (spec_.type) {
      case StoppingRuleType::kPocock:
        return -parameter;
      case StoppingRuleType::kBayesian:
        return std::nextafter(parameter, kInf);
      default:
        return parameter;
    }
  }

  // A probe strictly between lo and hi, halving them on the scale where the
  // family's jump points spread: the tail probability (Pocock) and one minus
  // the posterior (Bayesian) by their floating-point representation, which
  // is nearly logarithmic; z directly. NaN if none (adjacent doubles).
  double Probe(double lo, double hi) const {
    double mid;
    switch (spec_.type) {
      case StoppingRuleType::kPocock:
        mid = -KeyMid(-hi, -lo);
        break;
      case StoppingRuleType::kBayesian:
        mid = 1 - KeyMid(1 - hi, 1 - lo);
        break;
      default:
        mid = KeyMid(lo, hi);
        break;
    }
    if (mid > lo && mid < hi) return mid;
    mid = KeyMid(lo, hi);
    return mid > lo && mid < hi ? mid : std::nan("");
  }

 private:
  static int64_t Key(int k, int x) {
    return (static_cast<int64_t>(k) << 32) | static_cast<uint32_t>(x);
  }

  // The double halfway between a and b in representation order.
  static double KeyMid(double a, double b) {
    const int64_t ka = OrderKey(a), kb = OrderKey(b);
    return FromOrderKey((ka >> 1) + (kb >> 1) + (ka & kb & 1));
  }
  static int64_t OrderKey(double d) {
    int64_t bits;
    std::memcpy(&bits, &d, sizeof bits);
    return bits >= 0 ? bits : std::numeric_limits<int64_t>::min() - bits;
  }
  static double FromOrderKey(int64_t key) {
    const int64_t bits =
        key >= 0 ? key : std::numeric_limits<int64_t>::min() - key;
    double d;
    std::memcpy(&d, &bits, sizeof d);
    return d;
  }

  // PosteriorExceeds, the function of PosteriorBoundary, so that a
  // calibrated tau reproduces its table exactly.
  double Posterior(int k, int x) {
    auto [it, inserted] = posteriors_.try_emplace(Key(k, x), 0.0);
    if (inserted) {
      auto post = PosteriorExceeds(x, looks_[k], spec_.p0, spec_.prior_a,
                                   spec_.prior_b);
      if (!post.ok() && status_.ok()) status_ = post.status();
      it->second = post.value_or(0);
    }
    return it->second;
  }

  StoppingRuleSpec spec_;
  std::vector<int> looks_;
  std::vector<Binomial> binomials_;
  std::vector<double> scale_;
  absl::flat_hash_map<int64_t, double> tails_, posteriors_;
  absl::Status status_;
};

// --- Calibration ----------------------------------------------------------

// The most liberal boundary with error <= alpha and the next one.
struct Calibrated {
  std::vector<int> b, next;
  Law law, next_law;
};

// Searches theta between a boundary known to exceed alpha (lib) and one
// known not to (con). Every boundary with error <= alpha has, at each look,
// P(X_n >= b) <= alpha (stopping there alone would exceed it), so b >=
// floor = the smallest such count, and a boundary reaching below it is
// rejected without running the recursion. Bonferroni gives the starting
// `con`: P(X_n >= b) <= alpha / K at every look bounds the error by alpha.
// theta is bisected until few jump points remain between the two, then the
// jump points themselves are sorted and bisected: the result is exactly the
// first boundary of the family, in the order of theta, with error <= alpha.
class Calibrator {
 public:
  Calibrator(Family& family, double p0, double alpha)
      : f_(family), p0_(p0), alpha_(alpha), k_(family.size()) {}

  absl::StatusOr<Calibrated> Run() {
    Bracket();
    if (!f_.status().ok()) return f_.status();
    Bisect();
    if (!f_.status().ok()) return f_.status();
    Calibrated out = Enumerate();
    if (!f_.status().ok()) return f_.status();
    out.law = RunBoundary(f_.looks(), out.b, p0_);
    out.next_law = RunBoundary(f_.looks(), out.next, p0_);
    return out;
  }

 private:
  bool Valid(const std::vector<int>& b) const {
    for (int k = 0; k < k_; ++k) {
      if (b[k] <= floor_[k]) return false;
    }
    return !RunBoundary(f_.looks(), b, p0_, alpha_).exceeded;
  }

  void Bracket() {
    floor_ = f_.SmallestTailsAtMost(alpha_);
    const std::vector<int> bonferroni = f_.SmallestTailsAtMost(alpha_ / k_);
    lib_ = con_ = -kInf;
    for (int k = 0; k < k_; ++k) {
      --floor_[k];
      lib_ = std::max(lib_, f_.Statistic(k, floor_[k]));
      con_ = std::max(con_, f_.Statistic(k, bonferroni[k] - 1));
    }
    con_ = std::nextafter(con_, kInf);
    std::vector<int> top(k_);
    for (int k = 0; k < k_; ++k) top[k] = f_.n(k) + 1;
    b_lib_ = f_.Boundary(lib_, floor_, top);
    std::vector<int> from(k_);
    for (int k = 0; k < k_; ++k) from[k] = std::max(b_lib_[k], bonferroni[k]);
    b_con_ = f_.Boundary(con_, from, top);
    // Bonferroni's bound is exact arithmetic; should rounding put its
    // boundary a hair above alpha, start from the boundary that never stops.
    if (!Valid(b_con_)) {
      double extreme = -kInf;
      for (int k = 0; k < k_; ++k) {
        extreme = std::max(extreme, f_.Statistic(k, f_.n(k)));
      }
      lib_ = con_;
      b_lib_ = b_con_;
      con_ = std::nextafter(extreme, kInf);
      b_con_ = top;
    }
  }

  int64_t Gaps() const {
    int64_t gaps = 0;
    for (int k = 0; k < k_; ++k) gaps += b_con_[k] - b_lib_[k];
    return gaps;
  }

  // Halves theta's range until ~2 jump points per look remain.
  void Bisect() {
    for (int iter = 0; iter < 200 && Gaps() > 2 * k_ + 64; ++iter) {
      const double mid = f_.Probe(lib_, con_);
      if (std::isnan(mid)) return;
      std::vector<int> b = f_.Boundary(mid, b_lib_, b_con_);
      if (!f_.status().ok()) return;
      if (b == b_lib_) {
        lib_ = mid;
      } else if (b == b_con_) {
        con_ = mid;
      } else if (Valid(b)) {
        con_ = mid;
        b_con_ = std::move(b);
      } else {
        lib_ = mid;
        b_lib_ = std::move(b);
      }
    }
  }

  // Every jump point left, sorted, bisected by index.
  Calibrated Enumerate() {
    std::vector<double> jumps;
    for (int k = 0; k < k_; ++k) {
      if (b_lib_[k] < b_con_[k]) {
        f_.Distinct(k, b_lib_[k], b_con_[k] - 1, jumps);
      }
    }
    std::sort(jumps.begin(), jumps.end());
    jumps.erase(std::unique(jumps.begin(), jumps.end()), jumps.end());
    // Index -1 stands for b_lib_ (error > alpha), jumps.size() for b_con_.
    int64_t lo = -1, hi = static_cast<int64_t>(jumps.size());
    Calibrated out;
    out.b = b_con_;
    out.next = b_lib_;
    while (hi - lo > 1) {
      const int64_t mid = lo + (hi - lo) / 2;
      std::vector<int> b = f_.Boundary(jumps[mid], out.next, out.b);
      if (Valid(b)) {
        hi = mid;
        out.b = std::move(b);
      } else {
        lo = mid;
        out.next = std::move(b);
      }
    }
    return out;
  }

  Family& f_;
  double p0_, alpha_;
  int k_;
  std::vector<int> floor_, b_lib_, b_con_;
  double lib_ = 0, con_ = 0;
};

}  // namespace

namespace internal_boundary {

// Assembles a StoppingRule from a boundary (the only writer of its fields).
class Builder {
 public:
  static StoppingRule Make(const StoppingRuleSpec& spec, Family& family,
                           const std::vector<int>& b, const Law& law,
                           double parameter) {
    StoppingRule rule;
    rule.spec_ = spec;
    rule.parameter_ = parameter;
    rule.null_ = ToCharacteristics(law, spec.p0);
    for (int k = 0; k < family.size(); ++k) {
      StoppingLook look;
      look.n = family.n(k);
      look.min_events = b[k];
      look.cumulative = rule.null_.cumulative[k];
      if (b[k] <= look.n) {
        look.nominal = family.Tail(k, b[k]);
        look.statistic = spec.type == StoppingRuleType::kPocock
                             ? look.nominal
                             : family.Statistic(k, b[k]);
      }
      rule.looks_.push_back(look);
    }
    return rule;
  }

  static void SetCalibration(StoppingRule& rule, StoppingCalibration c) {
    rule.calibration_ = std::move(c);
  }
};

}  // namespace internal_boundary

const char* StoppingRuleTypeName(StoppingRuleType type) {
  switch (type) {
    case StoppingRuleType::kPocock:
      return "pocock";
    case StoppingRuleType::kOBrienFleming:
      return "obf";
    case StoppingRuleType::kWangTsiatis:
      return "wt";
    case StoppingRuleType::kBayesian:
      return "bayes";
  }
  return "unknown";
}

absl::StatusOr<StoppingRuleType> ParseStoppingRuleType(absl::string_view name) {
  for (StoppingRuleType type :
       {StoppingRuleType::kPocock, StoppingRuleType::kOBrienFleming,
        StoppingRuleType::kWangTsiatis, StoppingRuleType::kBayesian}) {
    if (name == StoppingRuleTypeName(type)) return type;
  }
  return Invalid(
      absl::StrCat("type must be pocock, obf, wt or bayes, got '", name, "'"));
}

std::vector<int> StoppingLooks(int max_subjects, int cohort) {
  std::vector<int> looks;
  if (cohort < 1) return looks;
  for (int n = cohort; n < max_subjects; n += cohort) looks.push_back(n);
  if (max_subjects >= 1) looks.push_back(max_subjects);
  return looks;
}

int StoppingRule::MinEventsToStop(int n) const {
  auto it = std::lower_bound(
      looks_.begin(), looks_.end(), n,
      [](const StoppingLook& look, int value) { return look.n < value; });
  if (it == looks_.end() || it->n != n) return n + 1;
  return it->min_events;
}

std::vector<int> StoppingRule::Boundary() const {
  std::vector<int> b;
  for (int n = 1; n <= spec_.max_subjects; ++n) b.push_back(MinEventsToStop(n));
  return b;
}

absl::StatusOr<StoppingCharacteristics> StoppingRule::Characteristics(
    double p) const {
  std::vector<int> looks, b;
  for (const StoppingLook& look : looks_) {
    looks.push_back(look.n);
    b.push_back(look.min_events);
  }
  return BoundaryCharacteristics(looks, b, p);
}

absl::StatusOr<StoppingCharacteristics> BoundaryCharacteristics(
    const std::vector<int>& looks, const std::vector<int>& min_events,
    double p) {
  if (absl::Status s = ValidateProbability("p", p); !s.ok()) return s;
  if (looks.empty() || looks.size() != min_events.size()) {
    return Invalid("need one boundary per look and at least one look");
  }
  for (size_t k = 0; k < looks.size(); ++k) {
    if (looks[k] < 1 || looks[k] > kMaxStoppingRuleSubjects ||
        (k > 0 && looks[k] <= looks[k - 1])) {
      return Invalid(absl::StrCat("looks must increase within [1, ",
                                  kMaxStoppingRuleSubjects, "]"));
    }
    if (min_events[k] < 0 || min_events[k] > looks[k] + 1) {
      return Invalid(absl::StrCat("the boundary at n = ", looks[k],
                                  " must be in [0, n + 1], got ",
                                  min_events[k]));
    }
  }
  return ToCharacteristics(RunBoundary(looks, min_events, p), p);
}

absl::StatusOr<StoppingRule> EvaluateStoppingRule(const StoppingRuleSpec& spec,
                                                  double parameter) {
  if (absl::Status s = ValidateSpec(spec); !s.ok()) return s;
  if (absl::Status s = ValidateParameter(spec.type, parameter); !s.ok()) {
    return s;
  }
  Family family(spec, StoppingLooks(spec.max_subjects, spec.cohort));
  std::vector<int> lo(family.size(), 0), hi(family.size());
  for (int k = 0; k < family.size(); ++k) hi[k] = family.n(k) + 1;
  std::vector<int> b = family.Boundary(family.ThetaOf(parameter), lo, hi);
  if (!family.status().ok()) return family.status();
  const Law law = RunBoundary(family.looks(), b, spec.p0);
  return internal_boundary::Builder::Make(spec, family, b, law, parameter);
}

absl::StatusOr<StoppingRule> CalibrateStoppingRule(
    const StoppingRuleSpec& spec) {
  if (absl::Status s = ValidateSpec(spec); !s.ok()) return s;
  if (absl::Status s = ValidateProbability("alpha", spec.alpha); !s.ok()) {
    return s;
  }
  Family family(spec, StoppingLooks(spec.max_subjects, spec.cohort));
  auto found = Calibrator(family, spec.p0, spec.alpha).Run();
  if (!found.ok()) return found.status();
  // The boundary's range of theta: (e_lo, e_hi], e_hi attained at a look
  // where it stops, e_lo at a count just below a boundary.
  double e_hi = kInf, e_lo = -kInf;
  for (int k = 0; k < family.size(); ++k) {
    e_hi = std::min(e_hi, family.Statistic(k, found->b[k]));
    e_lo = std::max(e_lo, family.Statistic(k, found->b[k] - 1));
  }
  if (e_hi == kInf) {
    return Invalid(absl::StrCat(
        "no ", StoppingRuleTypeName(spec.type),
        " boundary that can stop keeps the type I error <= alpha = ",
        spec.alpha, ": the most conservative one that can (with N = ",
        spec.max_subjects, ") already has error ", found->next_law.stopped,
        " (raise alpha or N)"));
  }
  double parameter = e_hi, limit = e_lo;  // OBF and WT: C in (e_lo, e_hi]
  if (spec.type == StoppingRuleType::kPocock) {
    parameter = -e_hi;  // c in [-e_hi, -e_lo)
    limit = -e_lo;
  } else if (spec.type == StoppingRuleType::kBayesian) {
    parameter = e_lo;  // tau in [e_lo, e_hi)
    limit = e_hi;
  }
  StoppingRule rule = internal_boundary::Builder::Make(spec, family, found->b,
                                                       found->law, parameter);
  internal_boundary::Builder::SetCalibration(
      rule, {.alpha = spec.alpha,
             .parameter_limit = limit,
             .next_type_i_error = found->next_law.stopped,
             .next_min_events = found->next});
  return rule;
}

}  // namespace aesignal::signal
