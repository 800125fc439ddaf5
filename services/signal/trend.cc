// The Cochran–Armitage trend test and its exact conditional p-value
// (declared in signal_stats.h).
//
// Given the total number of events m, the events per group follow the
// multivariate hypergeometric law, and T = Σ u_i x_i is the statistic. Its
// tail is computed by a dynamic program over the groups whose state is
// (events so far j, score sum so far t) with probability mass, moved group
// by group with the hypergeometric weights of k of the m − j remaining events
// falling in the next group. Three things keep it cheap for thousands of
// subjects, none of which changes the answer beyond a certified 1e-10:
//  * a state whose every completion lands inside the rejection region adds
//    its mass to p at once, and one whose every completion lands outside is
//    dropped (the "network algorithm" of Mehta & Patel);
//  * with more events than non-events the roles are swapped (complementing
//    x and reflecting the scores maps T to T + const), so j <= N/2;
//  * mass below δ is dropped, and the dropped mass D is bounded exactly
//    (hypergeometric tails shrink at least geometrically past the cut, the
//    law being log-concave); δ is lowered until D <= 1e-10 p.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "services/signal/distributions.h"
#include "services/signal/signal_stats.h"

namespace aesignal::signal {
namespace {

__extension__ typedef __int128 Int128;  // m Σ u n overflows 64 bits

constexpr int64_t kMaxGroups = 1000;
// Scores whose differences, relative to their range, are all within 1e-9 of
// fractions with a denominator <= kMaxDenominator (and a common denominator
// <= kMaxLattice) are used as exact integers; others are rounded to a grid
// of 2^-40 of their range.
constexpr int kMaxDenominator = 1000;
constexpr int64_t kMaxLattice = 1'000'000;
constexpr double kGrid = 1099511627776.0;  // 2^40
// Rows of integer scores up to this are dense arrays, else hash maps.
constexpr int64_t kMaxDenseScore = 1024;

// The groups with subjects as the exact computation sees them.
struct Problem {
  std::vector<int64_t> n, u, x;  // u >= 0 integer scores
  int64_t m = 0, total = 0;      // events, subjects
  int64_t t_obs = 0;             // Σ u x
  int64_t tolerance = 0;         // grid units of a tie (rounded scores)
  bool rounded = false;
  bool dense = true;
};

// The smallest q <= kMaxDenominator with d within 1e-9 of a/q (a returned
// in *a), or 0 if none.
int64_t Denominator(double d, int64_t* a) {
  for (int64_t q = 1; q <= kMaxDenominator; ++q) {
    const double near = std::round(d * static_cast<double>(q));
    if (std::fabs(d - near / static_cast<double>(q)) <= 1e-9) {
      *a = static_cast<int64_t>(near);
      return q;
    }
  }
  return 0;
}

// Integer scores, an increasing affine image of `s` (the conditional test is
// invariant under those): exact on a lattice, else rounded (p->rounded).
void ToIntegerScores(const std::vector<double>& s, Problem* p) {
  const auto [lo_it, hi_it] = std::minmax_element(s.begin(), s.end());
  const double lo = *lo_it, range = *hi_it - *lo_it;
  std::vector<int64_t> num(s.size()), den(s.size());
  int64_t lcm = 1;
  for (size_t i = 0; i < s.size() && lcm > 0; ++i) {
    den[i] = Denominator((s[i] - lo) / range, &num[i]);
    lcm = den[i] == 0 ? 0 : std::lcm(lcm, den[i]);
    if (lcm > kMaxLattice) lcm = 0;
  }
  p->u.resize(s.size());
  p->rounded = lcm == 0;
  if (p->rounded) {
    for (size_t i = 0; i < s.size(); ++i) {
      p->u[i] = std::llround((s[i] - lo) / range * kGrid);
    }
    return;
  }
  int64_t common = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    p->u[i] = num[i] * (lcm / den[i]);
    common = std::gcd(common, p->u[i]);
  }
  for (int64_t& v : p->u) v /= common;  // common > 0: the range is positive
}

// The problem in the form the dynamic program wants: events the minority
// (complement x and reflect the scores otherwise: T' = U m' − Σ u n + T is
// increasing in T), the largest group last (it is never convolved).
Problem MakeProblem(const std::vector<int64_t>& x,
                    const std::vector<int64_t>& n,
                    const std::vector<double>& scores) {
  Problem p;
  std::vector<double> s;
  for (size_t i = 0; i < x.size(); ++i) {
    if (n[i] == 0) continue;
    p.x.push_back(x[i]);
    p.n.push_back(n[i]);
    s.push_back(scores[i]);
    p.m += x[i];
    p.total += n[i];
  }
  ToIntegerScores(s, &p);
  if (2 * p.m > p.total) {
    const int64_t top = *std::max_element(p.u.begin(), p.u.end());
    for (size_t i = 0; i < p.n.size(); ++i) {
      p.x[i] = p.n[i] - p.x[i];
      p.u[i] = top - p.u[i];
    }
    p.m = p.total - p.m;
  }
  const size_t largest = static_cast<size_t>(
      std::max_element(p.n.begin(), p.n.end()) - p.n.begin());
  for (auto* v : {&p.n, &p.u, &p.x}) std::swap((*v)[largest], v->back());
  for (size_t i = 0; i < p.n.size(); ++i) p.t_obs += p.u[i] * p.x[i];
  p.tolerance = p.rounded ? p.m : 0;
  p.dense =
      !p.rounded && *std::max_element(p.u.begin(), p.u.end()) <= kMaxDenseScore;
  return p;
}

// The rejection region: T <= lo_max or T >= hi_min.
struct Region {
  int64_t lo_max = std::numeric_limits<int64_t>::min();
  int64_t hi_min = std::numeric_limits<int64_t>::max();
};

Region UpperRegion(const Problem& p) {
  return {.hi_min = p.t_obs - p.tolerance};
}

Int128 FloorDiv(Int128 a, Int128 b) {
  const Int128 q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

// |T − E T| >= |t − E T| with E T = m Σ u n / N, in integers: |N T − m S| >=
// |N t − m S|, S = Σ u n (less the tie tolerance).
Region TwoSidedRegion(const Problem& p) {
  Int128 s = 0;
  for (size_t i = 0; i < p.n.size(); ++i) s += Int128{p.u[i]} * p.n[i];
  const Int128 ms = s * p.m, total = p.total;
  const Int128 dev = Int128{p.t_obs} * total - ms;
  const Int128 d = dev < 0 ? -dev : dev;
  Region r;
  r.hi_min = static_cast<int64_t>(-FloorDiv(-(ms + d), total)) - p.tolerance;
  r.lo_max = static_cast<int64_t>(FloorDiv(ms - d, total)) + p.tolerance;
  return r;
}

// a − b, saturating at the int64 range (the region's open ends are the
// extreme values).
int64_t SafeSub(int64_t a, int64_t b) {
  int64_t out;
  if (__builtin_sub_overflow(a, b, &out)) {
    return a < 0 ? std::numeric_limits<int64_t>::min()
                 : std::numeric_limits<int64_t>::max();
  }
  return out;
}

// The least and greatest Σ u x the groups [from, end) can reach with r
// events: fill the lowest (greatest) scores first.
class RestBounds {
 public:
  RestBounds(const Problem& p, size_t from) {
    for (size_t i = from; i < p.n.size(); ++i)
      groups_.push_back({p.u[i], p.n[i]});
    std::sort(groups_.begin(), groups_.end());
  }
  int64_t Min(int64_t r) const {
    return Fill(r, groups_.begin(), groups_.end());
  }
  int64_t Max(int64_t r) const {
    return Fill(r, groups_.rbegin(), groups_.rend());
  }

 private:
  template <class It>
  static int64_t Fill(int64_t r, It begin, It end) {
    int64_t sum = 0;
    for (It it = begin; it != end && r > 0; ++it) {
      const int64_t k = std::min(r, it->second);
      sum += k * it->first;
      r -= k;
    }
    return sum;
  }
  std::vector<std::pair<int64_t, int64_t>> groups_;  // (score, subjects)
};

// The weights of k of r events falling in a group of n among `remaining`
// subjects, kept where >= theta; `dropped` bounds the mass of the rest.
struct Kernel {
  int64_t first = 0;
  std::vector<double> w;
  double dropped = 0;
};

// Σ of a log-concave tail from a term `w` whose ratio to the next is `ratio`
// (< 1 past the mode): at most w / (1 − ratio).
double TailBound(double w, double ratio, int64_t terms) {
  return ratio < 1 ? w / (1 - ratio) : w * static_cast<double>(terms);
}

Kernel MakeKernel(int64_t r, int64_t n, int64_t remaining, double theta) {
  const Hypergeometric h(r, n, remaining);
  Kernel out;
  const double peak = h.Pmf(h.mode());
  if (peak < theta) {
    out.dropped = 1;
    return out;
  }
  std::vector<double> up = {peak}, down;
  for (int64_t k = h.mode(); k < h.hi(); ++k) {
    const double next = up.back() * h.RatioUp(k);
    if (next < theta || next == 0) {
      out.dropped += TailBound(next, h.RatioUp(k + 1), h.hi() - k);
      break;
    }
    up.push_back(next);
  }
  for (int64_t k = h.mode(); k > h.lo(); --k) {
    const double prev = (down.empty() ? peak : down.back()) / h.RatioUp(k - 1);
    if (prev < theta || prev == 0) {
      const double ratio = k - 1 > h.lo() ? 1 / h.RatioUp(k - 2) : 0;
      out.dropped += TailBound(prev, ratio, k - h.lo());
      break;
    }
    down.push_back(prev);
  }
  out.first = h.mode() - static_cast<int64_t>(down.size());
  out.w.assign(down.rbegin(), down.rend());
  out.w.insert(out.w.end(), up.begin(), up.end());
  return out;
}

struct Cell {
  int64_t t;
  double mass;
};

// Keeps `cell` in `out` unless its mass is below `floor` (then adds it to
// *dropped).
void KeepAbove(const Cell& cell, double floor, std::vector<Cell>& out,
               double* dropped) {
  if (cell.mass >= floor && cell.mass > 0) {
    out.push_back(cell);
  } else {
    *dropped += cell.mass;
  }
}

// Frozen cells sorted by t, without those below `floor` (mass added to
// *dropped). Sorting keeps every later sum in a fixed order, so results do
// not depend on hash-table layout.
std::vector<Cell> Frozen(std::vector<Cell> cells, double floor,
                         double* dropped) {
  std::sort(cells.begin(), cells.end(),
            [](const Cell& a, const Cell& b) { return a.t < b.t; });
  std::vector<Cell> out;
  for (const Cell& c : cells) KeepAbove(c, floor, out, dropped);
  return out;
}

// A row under construction: mass by score sum, as a dense array (small
// integer scores) or a hash map. AddRange adds w × mass of the cells
// [begin, end) (sorted by t) at t + shift; `cells` counts memory cells.
//
// The dense array is a span of the stage's zeroed buffer (DenseBuffer),
// placed before any cell is added and sized by a first pass over the moves
// (PlaceDenseRows), so adding never reallocates: growing an array as cells
// arrived (moving, zero-filling and page-faulting it at each doubling) was
// half of the exact test's time. `cells` still counts what that growable
// array held, since the budget decides whether a test is exact, and a
// signal must come out the same in every build (a re-evaluation is compared
// with the stored signals).
class DenseBuilder {
 public:
  // This row's cells are t in [lo, lo + size), stored at v[t − lo]
  // (zeroed; not owned).
  void Place(int64_t lo, double* v, int64_t size) {
    base_ = lo;
    v_ = v;
    size_ = size;
  }
  void AddRange(const Cell* begin, const Cell* end, int64_t shift, double w,
                int64_t& cells) {
    CountCover(begin->t + shift, (end - 1)->t + shift, cells);
    const int64_t offset = shift - base_;
    for (const Cell* c = begin; c != end; ++c) v_[c->t + offset] += w * c->mass;
  }
  // The array is in t order already: Frozen's sort is not needed.
  std::vector<Cell> Freeze(double floor, double* dropped) const {
    std::vector<Cell> out;
    // One allocation: growing `out` cell by cell cost as much as the adds.
    out.reserve(std::count_if(v_, v_ + size_, [floor](double mass) {
      return mass >= floor && mass > 0;
    }));
    for (int64_t i = 0; i < size_; ++i) {
      if (v_[i] != 0) KeepAbove({base_ + i, v_[i]}, floor, out, dropped);
    }
    return out;
  }

 private:
  // Counts the cells a growable array covering [from, to] would add, at
  // least doubling as it grows (the first version's memory accounting).
  void CountCover(int64_t from, int64_t to, int64_t& cells) {
    if (counted_ == 0) {
      counted_lo_ = from;
      counted_ = to - from + 1;
      cells += counted_;
      return;
    }
    if (from < counted_lo_) {
      const int64_t grow = std::max(counted_lo_ - from, counted_);
      counted_lo_ -= grow;
      counted_ += grow;
      cells += grow;
    }
    if (to - counted_lo_ >= counted_) {
      const int64_t grow = std::max(to - counted_lo_ + 1 - counted_, counted_);
      counted_ += grow;
      cells += grow;
    }
  }

  int64_t base_ = 0, size_ = 0;
  double* v_ = nullptr;
  int64_t counted_lo_ = 0, counted_ = 0;
};

class SparseBuilder {
 public:
  void AddRange(const Cell* begin, const Cell* end, int64_t shift, double w,
                int64_t& cells) {
    for (const Cell* c = begin; c != end; ++c) {
      auto [it, inserted] = map_.try_emplace(c->t + shift, 0.0);
      cells += inserted;
      it->second += w * c->mass;
    }
  }
  std::vector<Cell> Freeze(double floor, double* dropped) {
    std::vector<Cell> cells;
    for (const auto& [t, mass] : map_) cells.push_back({t, mass});
    return Frozen(std::move(cells), floor, dropped);
  }

 private:
  absl::flat_hash_map<int64_t, double> map_;
};

// One pass of the dynamic program at drop threshold delta.
struct Pass {
  double p = 0;        // mass found inside the region
  double dropped = 0;  // bound on the mass dropped below delta
  bool complete = true;
};

// The state after some groups: rows[j − j_lo] holds the cells of j events.
struct Layer {
  int64_t j_lo = 0;
  std::vector<std::vector<Cell>> rows;
};

struct Budget {
  const TrendOptions& options;
  double work = 0;    // over the whole call
  int64_t cells = 0;  // live
  bool Exceeded() const {
    return work > options.max_work || cells > options.max_cells;
  }
};

// The first cell of the sorted row [begin, end) with t > limit.
const Cell* After(const Cell* begin, const Cell* end, int64_t limit) {
  return std::upper_bound(begin, end, limit, [](int64_t value, const Cell& c) {
    return value < c.t;
  });
}

// The mass of a row's first cells and of its last ones, for every split:
// below(i) = Σ mass of cells [0, i), above(i) = of cells [i, n). Each is
// summed from its own end of the row (the extreme t), as a tail's mass is
// summed one cell at a time, so a tail far smaller than the row keeps its
// precision (no difference of large sums).
class TailMasses {
 public:
  explicit TailMasses(const std::vector<Cell>& row)
      : below_(row.size() + 1, 0.0), above_(row.size() + 1, 0.0) {
    for (size_t i = 0; i < row.size(); ++i) {
      below_[i + 1] = below_[i] + row[i].mass;
    }
    for (size_t i = row.size(); i-- > 0;) {
      above_[i] = above_[i + 1] + row[i].mass;
    }
  }
  double Below(size_t i) const { return below_[i]; }
  double Above(size_t i) const { return above_[i]; }

 private:
  std::vector<double> below_, above_;
};

// Where the cells of a sorted row go through group i with k of its events:
// a cell t ends in [t + shift + lo, t + shift + hi], so the cells before
// `a` and from `d` on land inside the region whatever follows, those in
// [b, c) outside (when b < c), and the rest stay open.
struct Split {
  const Cell *a, *b, *c, *d;
  int64_t shift;
  // Calls open(from, to) for each range of open cells.
  template <class Open>
  void ForEachOpen(Open open) const {
    auto call = [&](const Cell* from, const Cell* to) {
      if (from < to) open(from, to);
    };
    if (b < c) {
      call(a, b);
      call(c, d);
    } else {
      call(a, d);
    }
  }
};

Split SplitRow(const Problem& pr, size_t i, const RestBounds& rest,
               const Region& region, int64_t j, int64_t k, const Cell* begin,
               const Cell* end) {
  const int64_t r = pr.m - j - k;  // events left for the later groups
  const int64_t shift = pr.u[i] * k, lo = rest.Min(r), hi = rest.Max(r);
  const Cell* a = After(begin, end, SafeSub(region.lo_max, hi + shift));
  const Cell* d = After(a, end, SafeSub(region.hi_min, lo + shift + 1));
  const Cell* b = After(a, d, SafeSub(region.lo_max, lo + shift));
  const Cell* c = After(a, d, SafeSub(region.hi_min, hi + shift + 1));
  return {.a = a, .b = b, .c = c, .d = d, .shift = shift};
}

// The splits of every row of a layer through group i, one per weight of the
// row's kernel: row r's are [offset[r], offset[r + 1]) of `all`. Computed
// once per stage for both passes over them (placing dense rows, moving).
struct LayerSplits {
  std::vector<Split> all;
  std::vector<size_t> offset;
};

LayerSplits SplitLayer(const Problem& pr, size_t i, const RestBounds& rest,
                       const Region& region, const Layer& layer,
                       const std::vector<Kernel>& kernels) {
  LayerSplits out;
  size_t count = 0;
  for (const Kernel& kernel : kernels) count += kernel.w.size();
  out.all.reserve(count);
  out.offset.reserve(layer.rows.size() + 1);
  out.offset.push_back(0);
  for (size_t row = 0; row < layer.rows.size(); ++row) {
    const Kernel& kernel = kernels[row];
    const Cell* begin = layer.rows[row].data();
    const Cell* end = begin + layer.rows[row].size();
    const int64_t j = layer.j_lo + static_cast<int64_t>(row);
    for (size_t q = 0; q < kernel.w.size(); ++q) {
      const int64_t k = kernel.first + static_cast<int64_t>(q);
      out.all.push_back(SplitRow(pr, i, rest, region, j, k, begin, end));
    }
    out.offset.push_back(out.all.size());
  }
  return out;
}

// Moves one row's cells (j events) through group i: for every weight of the
// kernel, the cells whose every completion lands inside the region add to
// p, those whose every completion lands outside are dropped, and the rest
// go on into next[j' − next_lo]. The row is sorted by t, so each fate is a
// range of cells, found by binary search (`splits`, one per weight).
template <class Builder>
void MoveRow(int64_t j, const std::vector<Cell>& row, const Kernel& kernel,
             const Split* splits, int64_t next_lo, std::vector<Builder>& next,
             Budget& budget, Pass* pass) {
  // An empty row, or one whose weights were all below the threshold (their
  // mass is already in pass->dropped): nothing moves.
  if (kernel.w.empty()) return;
  const Cell* begin = row.data();
  // The inside masses for every weight in O(1) each (summing the ranges per
  // weight was nearly half of the exact test's time in large groups).
  const TailMasses tails(row);
  double inside = 0;
  for (size_t q = 0; q < kernel.w.size(); ++q) {
    const int64_t k = kernel.first + static_cast<int64_t>(q);
    const Split& s = splits[q];
    const double w = kernel.w[q];
    inside += w * (tails.Below(s.a - begin) + tails.Above(s.d - begin));
    s.ForEachOpen([&](const Cell* from, const Cell* until) {
      next[j + k - next_lo].AddRange(from, until, s.shift, w, budget.cells);
    });
    if (budget.Exceeded()) break;
  }
  pass->p += inside;
}

// The zeroed storage of a stage's dense rows, kept for every stage and pass
// of one test so that its memory is allocated (and faulted in) once.
using DenseBuffer = std::vector<double>;

// Places each of `next`'s rows over exactly the score sums MoveRow will add
// to it (from the same splits), in `buffer`. False, with nothing placed, if
// those cells and the stage's others (budget.cells) exceed the budget:
// MoveRow's count, never below them, would exceed it too.
bool PlaceDenseRows(const Layer& layer, const std::vector<Kernel>& kernels,
                    const LayerSplits& splits, int64_t next_lo,
                    const Budget& budget, std::vector<DenseBuilder>& next,
                    DenseBuffer& buffer) {
  constexpr int64_t kNone = std::numeric_limits<int64_t>::max();
  std::vector<std::pair<int64_t, int64_t>> cover(next.size(), {kNone, -kNone});
  for (size_t row = 0; row < layer.rows.size(); ++row) {
    const Kernel& kernel = kernels[row];
    const int64_t j = layer.j_lo + static_cast<int64_t>(row);
    for (size_t q = 0; q < kernel.w.size(); ++q) {
      const int64_t k = kernel.first + static_cast<int64_t>(q);
      const Split& s = splits.all[splits.offset[row] + q];
      // (Not a structured binding: clang 14 cannot capture one.)
      std::pair<int64_t, int64_t>& range = cover[j + k - next_lo];
      s.ForEachOpen([&](const Cell* from, const Cell* until) {
        range.first = std::min(range.first, from->t + s.shift);
        range.second = std::max(range.second, (until - 1)->t + s.shift);
      });
    }
  }
  int64_t total = 0;
  for (const auto& [lo, hi] : cover) total += lo <= hi ? hi - lo + 1 : 0;
  if (total > budget.options.max_cells - budget.cells) return false;
  buffer.assign(total, 0.0);
  int64_t at = 0;
  for (size_t q = 0; q < next.size(); ++q) {
    const auto [lo, hi] = cover[q];
    const int64_t size = lo <= hi ? hi - lo + 1 : 0;
    next[q].Place(lo, buffer.data() + at, size);
    at += size;
  }
  return true;
}

// The layer after group i, given the layer before it (`remaining` subjects
// in groups i and later).
template <class Builder>
Layer Stage(const Problem& pr, size_t i, int64_t remaining,
            const Region& region, double delta, const Layer& layer,
            Budget& budget, DenseBuffer& buffer, Pass* pass) {
  const RestBounds rest(pr, i + 1);
  std::vector<Kernel> kernels(layer.rows.size());
  int64_t j_min = std::numeric_limits<int64_t>::max(), j_max = -1;
  for (size_t row = 0; row < layer.rows.size(); ++row) {
    if (layer.rows[row].empty()) continue;
    const int64_t j = layer.j_lo + static_cast<int64_t>(row);
    double top = 0, total = 0;
    for (const Cell& c : layer.rows[row]) {
      top = std::max(top, c.mass);
      total += c.mass;
    }
    Kernel& kernel = kernels[row];
    kernel = MakeKernel(pr.m - j, pr.n[i], remaining, delta / top);
    pass->dropped += total * kernel.dropped;
    if (kernel.w.empty()) continue;
    j_min = std::min(j_min, j + kernel.first);
    j_max = std::max(
        j_max, j + kernel.first + static_cast<int64_t>(kernel.w.size()) - 1);
  }
  Layer out;
  if (j_max < 0) return out;
  const bool last = i + 2 == pr.n.size();  // every state is decided after it
  std::vector<Builder> next(last ? 0 : j_max - j_min + 1);
  // Live cells: this layer's and the next one's.
  budget.cells = static_cast<int64_t>(next.size());
  for (const auto& row : layer.rows) {
    budget.cells += static_cast<int64_t>(row.size());
  }
  const LayerSplits splits = SplitLayer(pr, i, rest, region, layer, kernels);
  if constexpr (std::is_same_v<Builder, DenseBuilder>) {
    if (!last &&
        !PlaceDenseRows(layer, kernels, splits, j_min, budget, next, buffer)) {
      pass->complete = false;
      return out;
    }
  }
  for (size_t row = 0; row < layer.rows.size() && !budget.Exceeded(); ++row) {
    budget.work += static_cast<double>(layer.rows[row].size()) *
                   static_cast<double>(kernels[row].w.size());
    if (budget.Exceeded()) break;
    MoveRow(layer.j_lo + static_cast<int64_t>(row), layer.rows[row],
            kernels[row], splits.all.data() + splits.offset[row], j_min, next,
            budget, pass);
  }
  if (budget.Exceeded()) {
    pass->complete = false;
    return out;
  }
  out.j_lo = j_min;
  out.rows.resize(next.size());
  for (size_t q = 0; q < next.size(); ++q) {
    out.rows[q] = next[q].Freeze(delta, &pass->dropped);
  }
  return out;
}

template <class Builder>
Pass RunPass(const Problem& pr, const Region& region, double delta,
             Budget& budget, DenseBuffer& buffer) {
  Pass pass;
  Layer layer{.j_lo = 0, .rows = {{Cell{0, 1.0}}}};
  int64_t remaining = pr.total;
  for (size_t i = 0; i + 1 < pr.n.size() && !layer.rows.empty(); ++i) {
    layer = Stage<Builder>(pr, i, remaining, region, delta, layer, budget,
                           buffer, &pass);
    if (!pass.complete) return pass;
    remaining -= pr.n[i];
  }
  return pass;
}

struct Exact {
  double p = 1;
  bool complete = true;
};

// P(T in region): passes at falling drop thresholds until the dropped mass
// is certified below 1e-10 of p. The first threshold, 1e-17 of the observed
// table's probability (p is at least that), certifies in one pass unless
// some 10^7 cuts accumulate.
Exact ExactTail(const Problem& pr, const Region& region, double p_observed,
                Budget& budget, DenseBuffer& buffer) {
  double delta = 1e-17 * p_observed;
  for (int attempt = 0;; ++attempt) {
    const Pass pass =
        pr.dense ? RunPass<DenseBuilder>(pr, region, delta, budget, buffer)
                 : RunPass<SparseBuilder>(pr, region, delta, budget, buffer);
    if (!pass.complete) return {.p = 1, .complete = false};
    if (pass.dropped <= 1e-10 * pass.p || delta == 0) {
      // Never below the true p: the test stays conservative.
      return {.p = std::min(1.0, pass.p + pass.dropped)};
    }
    delta =
        attempt < 3 && pass.p > 0 ? delta * 1e-11 * pass.p / pass.dropped : 0;
  }
}

// The probability of the observed table given the margins, a lower bound of
// every p-value (the observed table is in every rejection region).
double ObservedProbability(const Problem& pr) {
  double log_p = 0;
  int64_t r = pr.m, remaining = pr.total;
  for (size_t i = 0; i < pr.n.size(); ++i) {
    log_p += Hypergeometric(r, pr.n[i], remaining).LogPmf(pr.x[i]);
    r -= pr.x[i];
    remaining -= pr.n[i];
  }
  return std::exp(log_p);
}

absl::Status Validate(const std::vector<int64_t>& x,
                      const std::vector<int64_t>& n,
                      const std::vector<double>& scores) {
  if (x.size() != n.size() || x.size() != scores.size() || x.size() < 2 ||
      static_cast<int64_t>(x.size()) > kMaxGroups) {
    return absl::InvalidArgumentError(
        "trend: x, n and scores must have the same size, 2 to 1000");
  }
  int64_t total = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    if (x[i] < 0 || x[i] > n[i] || n[i] > kMaxCount) {
      return absl::InvalidArgumentError(
          "trend: need 0 <= x <= n <= 1e12 per group");
    }
    if (!std::isfinite(scores[i])) {
      return absl::InvalidArgumentError("trend: scores must be finite");
    }
    total += n[i];
    if (total > kMaxCount) {
      return absl::InvalidArgumentError("trend: at most 1e12 subjects");
    }
  }
  return absl::OkStatus();
}

// Z and the asymptotic p-values, from centred sums (dose scores of 1e8 would
// otherwise cancel); false, with the reason in r->note, when T is fixed.
bool Statistic(const std::vector<int64_t>& x, const std::vector<int64_t>& n,
               const std::vector<double>& scores, TrendResult* r) {
  double total = 0, events = 0, sum_ns = 0;
  bool one_score = true;
  double first = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    if (n[i] == 0) continue;
    if (total == 0) first = scores[i];
    one_score = one_score && scores[i] == first;
    total += static_cast<double>(n[i]);
    events += static_cast<double>(x[i]);
    sum_ns += static_cast<double>(n[i]) * scores[i];
  }
  if (events == 0) {
    r->note = "no events: T = 0 whatever the scores; p = 1";
  } else if (events == total) {
    r->note = "every subject had the event: T is fixed; p = 1";
  } else if (one_score) {
    r->note = "one score for every group with subjects: T is fixed; p = 1";
  }
  if (!r->note.empty()) return false;
  const double mean = sum_ns / total, pbar = events / total;
  double sxx = 0, sxy = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double d = scores[i] - mean;
    sxx += static_cast<double>(n[i]) * d * d;
    sxy += static_cast<double>(x[i]) * d;
  }
  r->z = sxy / std::sqrt(pbar * (1 - pbar) * sxx);
  r->p_asymptotic = 0.5 * std::erfc(r->z / std::sqrt(2.0));
  r->p_asymptotic_two_sided = std::erfc(std::fabs(r->z) / std::sqrt(2.0));
  return true;
}

}  // namespace

absl::StatusOr<TrendResult> CochranArmitage(const std::vector<int64_t>& x,
                                            const std::vector<int64_t>& n,
                                            const std::vector<double>& scores,
                                            const TrendOptions& options) {
  if (auto status = Validate(x, n, scores); !status.ok()) return status;
  TrendResult result;
  if (!Statistic(x, n, scores, &result)) {
    // T has a single value: P(T >= t) = 1 is the exact conditional p.
    result.degenerate = result.exact = true;
    return result;
  }
  const Problem pr = MakeProblem(x, n, scores);
  result.scores_rounded = pr.rounded;
  Exact upper{.complete = false}, two{};
  // Rounded scores on the 2^-40 grid keep sums in 64 bits up to 2^21 events.
  if (!pr.rounded || pr.m <= (int64_t{1} << 21)) {
    const double p_observed = ObservedProbability(pr);
    Budget budget{options};  // for the whole call: every pass, both tails
    DenseBuffer buffer;
    upper = ExactTail(pr, UpperRegion(pr), p_observed, budget, buffer);
    if (upper.complete && options.two_sided) {
      two = ExactTail(pr, TwoSidedRegion(pr), p_observed, budget, buffer);
    }
  }
  if (!upper.complete || !two.complete) {
    result.p = result.p_asymptotic;
    if (options.two_sided) result.p_two_sided = result.p_asymptotic_two_sided;
    result.note = absl::StrCat(
        "the exact law exceeds the budget (", options.max_work, " operations, ",
        options.max_cells, " cells): asymptotic p-values");
    return result;
  }
  result.exact = true;
  result.p = upper.p;
  result.p_two_sided = two.p;
  if (pr.rounded) {
    result.note =
        "scores form no lattice: exact for the scores rounded to 2^-40 of "
        "their range, sums within the event count of grid units are ties";
  }
  return result;
}

absl::StatusOr<TrendResult> CochranArmitageIncreasing(
    const std::vector<int64_t>& x, const std::vector<int64_t>& n,
    const std::vector<double>& scores) {
  return CochranArmitage(x, n, scores, TrendOptions());
}

}  // namespace aesignal::signal
