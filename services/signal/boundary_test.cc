// The exact repeated-look stopping boundaries (boundary.h): the recursion
// against enumeration of every outcome sequence, the calibration against an
// exhaustive search over every jump point of the family, base-R reference
// vectors (testdata/boundary_reference.R) and stoppingrule's published
// examples (its READMEs, versions 0.5 and 0.6).
#include "services/signal/boundary.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/signal/signal_stats.h"

namespace aesignal::signal {
namespace {

using ::testing::HasSubstr;

constexpr double kInf = std::numeric_limits<double>::infinity();

StoppingRuleSpec Spec(StoppingRuleType type, double p0, int n, double alpha,
                      int cohort = 1) {
  return {.type = type,
          .p0 = p0,
          .max_subjects = n,
          .cohort = cohort,
          .alpha = alpha};
}

std::vector<int> MinEvents(const StoppingRule& rule) {
  std::vector<int> b;
  for (const StoppingLook& look : rule.looks()) b.push_back(look.min_events);
  return b;
}

std::string Describe(const StoppingRuleSpec& s) {
  return absl::StrCat(StoppingRuleTypeName(s.type), " p0=", s.p0,
                      " N=", s.max_subjects, " cohort=", s.cohort,
                      " alpha=", s.alpha, " delta=", s.delta,
                      " prior=", s.prior_a, ",", s.prior_b);
}

// The law of stopping by enumeration of all 2^N outcome sequences, each
// followed to its first look at or above the boundary.
StoppingCharacteristics Enumerate(const std::vector<int>& looks,
                                  const std::vector<int>& b, double p) {
  const int n_max = looks.back();
  StoppingCharacteristics out;
  out.cumulative.assign(looks.size(), 0.0);
  std::vector<double> first(looks.size(), 0.0);
  for (uint32_t seq = 0; seq < (1u << n_max); ++seq) {
    double weight = 1;
    for (int i = 0; i < n_max; ++i) weight *= (seq >> i) & 1 ? p : 1 - p;
    int events = 0, n = 0;
    bool stopped = false;
    for (size_t k = 0; k < looks.size() && !stopped; ++k) {
      for (; n < looks[k]; ++n) events += (seq >> n) & 1;
      if (events >= b[k]) {
        stopped = true;
        first[k] += weight;
        out.expected_subjects += weight * looks[k];
        out.expected_events += weight * events;
      }
    }
    if (!stopped) {
      out.expected_subjects += weight * n_max;
      out.expected_events += weight * events;
    }
  }
  double sum = 0;
  for (size_t k = 0; k < looks.size(); ++k) {
    sum += first[k];
    out.cumulative[k] = sum;
  }
  out.stop_probability = sum;
  return out;
}

void ExpectSameLaw(const StoppingCharacteristics& got,
                   const StoppingCharacteristics& want,
                   const std::string& what) {
  EXPECT_NEAR(got.stop_probability, want.stop_probability, 1e-13) << what;
  // The enumeration's own rounding: 2^14 sequences of 14 factors each.
  EXPECT_NEAR(got.expected_subjects, want.expected_subjects, 1e-11) << what;
  EXPECT_NEAR(got.expected_events, want.expected_events, 1e-11) << what;
  ASSERT_EQ(got.cumulative.size(), want.cumulative.size()) << what;
  for (size_t k = 0; k < want.cumulative.size(); ++k) {
    EXPECT_NEAR(got.cumulative[k], want.cumulative[k], 1e-13) << what;
  }
}

// Small plans of every family, continuous and in cohorts.
std::vector<StoppingRuleSpec> SmallSpecs() {
  std::vector<StoppingRuleSpec> specs;
  for (StoppingRuleType type :
       {StoppingRuleType::kPocock, StoppingRuleType::kOBrienFleming,
        StoppingRuleType::kWangTsiatis, StoppingRuleType::kBayesian}) {
    for (double p0 : {0.1, 0.25, 0.5}) {
      for (int n : {6, 11, 14}) {
        for (int cohort : {1, 3}) {
          StoppingRuleSpec s = Spec(type, p0, n, p0 < 0.5 ? 0.1 : 0.2, cohort);
          if (type == StoppingRuleType::kBayesian) {
            s.prior_a = 0.5;
            s.prior_b = 1.5;
          }
          specs.push_back(s);
        }
      }
    }
  }
  return specs;
}

TEST(BoundaryTest, RecursionMatchesEnumerationOfEveryOutcomeSequence) {
  for (const StoppingRuleSpec& spec : SmallSpecs()) {
    auto rule = CalibrateStoppingRule(spec);
    ASSERT_TRUE(rule.ok()) << Describe(spec) << ": " << rule.status();
    const std::vector<int> looks =
        StoppingLooks(spec.max_subjects, spec.cohort);
    const std::vector<int> b = MinEvents(*rule);
    ExpectSameLaw(rule->under_null(), Enumerate(looks, b, spec.p0),
                  Describe(spec));
    for (double p : {0.05, 0.3, 0.7}) {
      auto law = rule->Characteristics(p);
      ASSERT_TRUE(law.ok());
      ExpectSameLaw(*law, Enumerate(looks, b, p),
                    absl::StrCat(Describe(spec), " p=", p));
    }
    // The next, more liberal boundary's error as well.
    const StoppingCharacteristics next =
        Enumerate(looks, rule->calibration()->next_min_events, spec.p0);
    EXPECT_NEAR(rule->calibration()->next_type_i_error, next.stop_probability,
                1e-13)
        << Describe(spec);
  }
  // Arbitrary boundaries too, including 0 (stop at once) and n + 1.
  const std::vector<int> looks = {1, 2, 4, 7, 8, 12};
  for (const std::vector<int>& b :
       {std::vector<int>{2, 3, 5, 8, 9, 13}, std::vector<int>{1, 1, 2, 3, 3, 4},
        std::vector<int>{2, 0, 5, 8, 9, 13}, std::vector<int>{2, 2, 2, 2, 2, 2},
        std::vector<int>{2, 3, 3, 2, 9, 1}}) {
    for (double p : {0.01, 0.2, 0.5, 0.93}) {
      auto law = BoundaryCharacteristics(looks, b, p);
      ASSERT_TRUE(law.ok()) << law.status();
      ExpectSameLaw(*law, Enumerate(looks, b, p), absl::StrCat("p=", p));
    }
  }
}

// The family's statistic, computed here independently of boundary.cc.
double Statistic(const StoppingRuleSpec& s, int n, int x) {
  if (x < 0) return -kInf;
  if (x > n) return kInf;
  const double var = s.p0 * (1 - s.p0), big_n = s.max_subjects;
  switch (s.type) {
    case StoppingRuleType::kPocock:
      return -BinomialUpperTail(x, n, s.p0).value();
    case StoppingRuleType::kOBrienFleming:
      return (x - n * s.p0) / std::sqrt(big_n * var);
    case StoppingRuleType::kWangTsiatis:
      return (x - n * s.p0) /
             (std::sqrt(big_n * var) * std::pow(n / big_n, s.delta));
    case StoppingRuleType::kBayesian:
      return PosteriorExceeds(x, n, s.p0, s.prior_a, s.prior_b).value();
  }
  return 0;
}

std::vector<int> BoundaryAt(const StoppingRuleSpec& s,
                            const std::vector<int>& looks, double theta) {
  std::vector<int> b;
  for (int n : looks) {
    int x = 0;
    while (x <= n && Statistic(s, n, x) < theta) ++x;
    b.push_back(x);
  }
  return b;
}

// Calibration by brute force: every jump point of the family in order, the
// first whose boundary's error (by enumeration) is <= alpha.
TEST(BoundaryTest, CalibrationMatchesExhaustiveSearchOverEveryJumpPoint) {
  for (const StoppingRuleSpec& spec : SmallSpecs()) {
    if (spec.max_subjects > 11) continue;  // 2^N x every jump point
    const std::vector<int> looks =
        StoppingLooks(spec.max_subjects, spec.cohort);
    std::vector<double> jumps;
    for (int n : looks) {
      for (int x = 0; x <= n; ++x) jumps.push_back(Statistic(spec, n, x));
    }
    std::sort(jumps.begin(), jumps.end());
    jumps.erase(std::unique(jumps.begin(), jumps.end()), jumps.end());
    std::vector<int> want, want_next;
    for (size_t i = 0; i < jumps.size(); ++i) {
      std::vector<int> b = BoundaryAt(spec, looks, jumps[i]);
      if (Enumerate(looks, b, spec.p0).stop_probability <= spec.alpha) {
        want = b;
        want_next = BoundaryAt(spec, looks, jumps[i - 1]);
        break;
      }
    }
    auto rule = CalibrateStoppingRule(spec);
    if (want.empty()) {  // no boundary that can stop is within alpha
      EXPECT_FALSE(rule.ok()) << Describe(spec);
      continue;
    }
    ASSERT_TRUE(rule.ok()) << Describe(spec) << ": " << rule.status();
    EXPECT_EQ(MinEvents(*rule), want) << Describe(spec);
    EXPECT_EQ(rule->calibration()->next_min_events, want_next)
        << Describe(spec);
  }
}

// The parameter a boundary reports gives that boundary; one step further
// gives the next boundary, whose error exceeds alpha; the other end of the
// reported range still gives the same boundary.
void ExpectCalibrated(const StoppingRuleSpec& spec) {
  auto rule = CalibrateStoppingRule(spec);
  ASSERT_TRUE(rule.ok()) << Describe(spec) << ": " << rule.status();
  const StoppingCalibration& cal = *rule->calibration();
  EXPECT_LE(rule->type_i_error(), spec.alpha) << Describe(spec);
  EXPECT_GT(cal.next_type_i_error, spec.alpha) << Describe(spec);
  const std::vector<int> b = MinEvents(*rule);
  // The next boundary is one step more liberal: lower by one where it moved.
  int moved = 0;
  for (size_t k = 0; k < b.size(); ++k) {
    EXPECT_TRUE(cal.next_min_events[k] == b[k] ||
                cal.next_min_events[k] == b[k] - 1)
        << Describe(spec) << " look " << k;
    moved += cal.next_min_events[k] != b[k];
  }
  EXPECT_GE(moved, 1) << Describe(spec);

  double next_step, same_end;
  switch (spec.type) {
    case StoppingRuleType::kPocock:  // c in [parameter, limit)
      EXPECT_LT(rule->parameter(), cal.parameter_limit);
      next_step = cal.parameter_limit;
      same_end = std::nextafter(cal.parameter_limit, 0);
      break;
    case StoppingRuleType::kBayesian:  // tau in [parameter, limit)
      EXPECT_LT(rule->parameter(), cal.parameter_limit);
      next_step = std::nextafter(rule->parameter(), 0);
      same_end = std::nextafter(cal.parameter_limit, 0);
      break;
    default:  // C in (limit, parameter]
      EXPECT_GT(rule->parameter(), cal.parameter_limit);
      next_step = cal.parameter_limit;
      same_end = std::nextafter(cal.parameter_limit, kInf);
      break;
  }
  auto at = EvaluateStoppingRule(spec, rule->parameter());
  ASSERT_TRUE(at.ok()) << at.status();
  EXPECT_EQ(MinEvents(*at), b) << Describe(spec);
  EXPECT_EQ(at->type_i_error(), rule->type_i_error()) << Describe(spec);
  EXPECT_FALSE(at->calibration().has_value());
  auto same = EvaluateStoppingRule(spec, same_end);
  ASSERT_TRUE(same.ok()) << same.status();
  EXPECT_EQ(MinEvents(*same), b) << Describe(spec);
  auto next = EvaluateStoppingRule(spec, next_step);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(MinEvents(*next), cal.next_min_events) << Describe(spec);
  EXPECT_EQ(next->type_i_error(), cal.next_type_i_error) << Describe(spec);
}

TEST(BoundaryTest, CalibratedErrorIsWithinAlphaAndTheNextStepExceedsIt) {
  for (const StoppingRuleSpec& spec : SmallSpecs()) ExpectCalibrated(spec);
  for (StoppingRuleType type :
       {StoppingRuleType::kPocock, StoppingRuleType::kOBrienFleming,
        StoppingRuleType::kWangTsiatis, StoppingRuleType::kBayesian}) {
    for (double p0 : {0.001, 0.02, 0.2, 0.6}) {
      for (double alpha : {0.01, 0.05, 0.2}) {
        for (int cohort : {1, 7}) {
          StoppingRuleSpec spec = Spec(type, p0, 300, alpha, cohort);
          spec.delta = 0.1;
          ExpectCalibrated(spec);
        }
      }
    }
  }
}

// testdata/boundary_reference.R (base R 4.2.2: pbinom, pbeta, dbinom),
// pasted: type, p0, N, cohort, alpha, delta, a, b, p1, {b(n) per look},
// error, next error, parameter, parameter limit, E[n | p0], E[events | p0],
// P(stop | p1), E[n | p1].
struct Reference {
  const char* type;
  double p0;
  int n, cohort;
  double alpha, delta, a, b, p1;
  std::vector<int> bounds;
  double error, next_error, parameter, limit;
  double expected_subjects, expected_events, power, expected_subjects_p1;
};

const std::vector<Reference>& References() {
  // As boundary_reference.R prints them.
  // clang-format off
  static const auto* refs = new std::vector<Reference>{
    {"pocock", 0.20000000000000001, 30, 1, 0.10000000000000001, 0.25, 1, 1, 0.40000000000000002,
     {2, 3, 3, 3, 4, 4, 4, 5, 5, 5, 6, 6, 6, 7, 7, 7, 8, 8, 8, 8, 9, 9, 9, 9, 10, 10, 10, 11, 11, 11},
     0.09915262508565191, 0.10173636401469141, 0.036174988028839138, 0.037663442905333751,
     28.167031666577302, 5.6334063333154596, 0.80576733112688415, 15.750169983734434},
    {"pocock", 0.20000000000000001, 50, 1, 0.10000000000000001, 0.25, 1, 1, 0.29999999999999999,
     {2, 3, 3, 3, 4, 4, 5, 5, 5, 6, 6, 6, 7, 7, 7, 7, 8, 8, 8, 9, 9, 9, 9, 10, 10, 10, 11, 11, 11, 11, 12, 12, 12, 12, 13, 13, 13, 13, 14, 14, 14, 15, 15, 15, 15, 16, 16, 16, 16, 17},
     0.099772538221010482, 0.10076963470372548, 0.028792106223670733, 0.029758244711638911,
     46.724189465100864, 9.3448378930201734, 0.53974016299660477, 34.663213916401851},
    {"bayes", 0.20000000000000001, 30, 1, 0.10000000000000001, 0.25, 0.59999999999999998, 2.3999999999999999, 0.40000000000000002,
     {2, 3, 3, 3, 4, 4, 5, 5, 5, 5, 6, 6, 6, 7, 7, 7, 7, 8, 8, 8, 9, 9, 9, 9, 10, 10, 10, 10, 11, 11},
     0.099573668920081335, 0.10444643333069741, 0.963082691670337, 0.96319151672141312,
     28.255983635061124, 5.6511967270122252, 0.81491087458675127, 15.889508270603706},
    {"bayes", 0.10000000000000001, 100, 1, 0.050000000000000003, 0.25, 1, 9, 0.25,
     {2, 3, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 6, 6, 6, 6, 6, 6, 7, 7, 7, 7, 7, 7, 8, 8, 8, 8, 8, 8, 8, 9, 9, 9, 9, 9, 9, 9, 10, 10, 10, 10, 10, 10, 11, 11, 11, 11, 11, 11, 11, 11, 12, 12, 12, 12, 12, 12, 12, 13, 13, 13, 13, 13, 13, 13, 14, 14, 14, 14, 14, 14, 14, 15, 15, 15, 15, 15, 15, 15, 15, 16, 16, 16, 16, 16, 16, 16, 17, 17, 17, 17, 17, 17, 17, 17, 18, 18, 18},
     0.049668276643819884, 0.050024866431723138, 0.98120175010483957, 0.98125307744398782,
     97.186463221970271, 9.7186463221970296, 0.98065140392734362, 32.938520065495766},
    {"obf", 0.20000000000000001, 50, 1, 0.10000000000000001, 0.25, 1, 1, 0.34999999999999998,
     {2, 3, 4, 5, 6, 6, 7, 7, 7, 7, 7, 8, 8, 8, 8, 8, 9, 9, 9, 9, 9, 10, 10, 10, 10, 10, 11, 11, 11, 11, 11, 12, 12, 12, 12, 12, 13, 13, 13, 13, 13, 14, 14, 14, 14, 14, 15, 15, 15, 15},
     0.094859237067769553, 0.10661518150549333, 1.6970562748477136, 1.626345596729059,
     48.452819640276651, 9.6905639280553313, 0.8483039172551059, 30.938851091466784},
    {"wt", 0.20000000000000001, 50, 1, 0.10000000000000001, 0.25, 1, 1, 0.34999999999999998,
     {2, 3, 4, 4, 4, 5, 5, 5, 6, 6, 6, 7, 7, 7, 7, 8, 8, 8, 8, 9, 9, 9, 9, 10, 10, 10, 10, 11, 11, 11, 11, 12, 12, 12, 12, 12, 13, 13, 13, 13, 14, 14, 14, 14, 15, 15, 15, 15, 15, 16},
     0.099936170073721686, 0.10177488769765201, 1.8423117406387628, 1.8184639542089607,
     47.618389573463929, 9.5236779146927848, 0.83165826301205026, 27.850021141922383},
    {"wt", 0.29999999999999999, 40, 1, 0.050000000000000003, 0.5, 1, 1, 0.5,
     {2, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 11, 12, 12, 13, 13, 14, 14, 14, 15, 15, 16, 16, 17, 17, 17, 18, 18, 19, 19, 19, 20, 20},
     0.043076688137433594, 0.058080968534376914, 2.6533187239053224, 2.6457513110645912,
     38.866918395884959, 11.660075518765487, 0.68638601906968688, 25.225270035232825},
    {"pocock", 0.14999999999999999, 40, 5, 0.050000000000000003, 0.25, 1, 1, 0.34999999999999998,
     {4, 5, 6, 7, 8, 10, 11, 12},
     0.046680998221751126, 0.06302541021261801, 0.025467638521621594, 0.02661187499999999,
     39.032630622373915, 5.8548945933560876, 0.85418627274284609, 21.626371469577318},
    {"obf", 0.10000000000000001, 31, 3, 0.050000000000000003, 0.25, 1, 1, 0.29999999999999999,
     {4, 4, 5, 5, 5, 6, 6, 6, 7, 7, 7},
     0.044007842359401181, 0.054916661231372739, 2.0355267563034487, 1.9756583222945239,
     30.593734336277869, 3.0593734336277869, 0.88144015807455767, 18.898761205575777},
    {"bayes", 0.29999999999999999, 30, 4, 0.050000000000000003, 0.25, 1, 1, 0.5,
     {4, 6, 8, 10, 11, 13, 14, 15},
     0.045348102687630648, 0.05245446493038617, 0.98730727527772277, 0.98834617106506917,
     29.360183843606706, 8.8080551530820124, 0.65325826406478915, 21.755200125277057},
    {"pocock", 0.02, 60, 1, 0.050000000000000003, 0.25, 1, 1, 0.10000000000000001,
     {2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5, 5},
     0.042654931077099938, 0.057757216329717156, 0.019835399217611568, 0.02,
     58.365995177924965, 1.1673199035584993, 0.8244500884517072, 29.367571706365464},
    {"obf", 0.10000000000000001, 100, 1, 0.050000000000000003, 0.25, 1, 1, 0.20000000000000001,
     {2, 3, 4, 5, 6, 7, 7, 7, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 17, 17},
     0.046874343773140377, 0.05092363258437594, 2.0666666666666664, 2.0333333333333332,
     98.653508084763715, 9.8653508084763715, 0.87010558563605556, 61.503061420256046},
    {"bayes", 0.050000000000000003, 80, 1, 0.025000000000000001, 0.25, 0.5, 0.5, 0.14999999999999999,
     {2, 2, 2, 3, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 11, 11, 11, 11, 11},
     0.024951067477742568, 0.02642646477381512, 0.99756212848220371, 0.99756474493665159,
     78.528099614632268, 3.9264049807316139, 0.78170157598797052, 43.690948610089507},
    {"pocock", 0.5, 12, 1, 0.20000000000000001, 0.25, 1, 1, 0.69999999999999996,
     {2, 3, 4, 4, 5, 5, 6, 7, 7, 8, 8, 9},
     0.1826171875, 0.22216796875, 0.11328124999999996, 0.12500000000000003,
     11.0126953125, 5.50634765625, 0.64205318673999989, 8.4612939772600004},
  };
  // clang-format on
  return *refs;
}

TEST(BoundaryTest, MatchesBaseRReference) {
  for (const Reference& r : References()) {
    StoppingRuleSpec spec = {.type = ParseStoppingRuleType(r.type).value(),
                             .p0 = r.p0,
                             .max_subjects = r.n,
                             .cohort = r.cohort,
                             .alpha = r.alpha,
                             .delta = r.delta,
                             .prior_a = r.a,
                             .prior_b = r.b};
    const std::string what = Describe(spec);
    auto rule = CalibrateStoppingRule(spec);
    ASSERT_TRUE(rule.ok()) << what << ": " << rule.status();
    EXPECT_EQ(MinEvents(*rule), r.bounds) << what;
    EXPECT_NEAR(rule->type_i_error(), r.error, 1e-13) << what;
    EXPECT_NEAR(rule->calibration()->next_type_i_error, r.next_error, 1e-13)
        << what;
    EXPECT_NEAR(rule->parameter(), r.parameter, 1e-12 * std::abs(r.parameter))
        << what;
    EXPECT_NEAR(rule->calibration()->parameter_limit, r.limit,
                1e-12 * std::abs(r.limit))
        << what;
    EXPECT_NEAR(rule->under_null().expected_subjects, r.expected_subjects,
                1e-11)
        << what;
    EXPECT_NEAR(rule->under_null().expected_events, r.expected_events, 1e-11)
        << what;
    auto alt = rule->Characteristics(r.p1);
    ASSERT_TRUE(alt.ok());
    EXPECT_NEAR(alt->stop_probability, r.power, 1e-13) << what;
    EXPECT_NEAR(alt->expected_subjects, r.expected_subjects_p1, 1e-11) << what;
  }
}

// stoppingrule's READMEs print 7 significant digits.
TEST(BoundaryTest, ReproducesStoppingrulesPublishedExamples) {
  // Version 0.5: calc.rule(ns = 1:50, p0 = 0.20, type = "Pocock",
  // alpha = 0.10); table.rule and OC.rule at p = 0.2, 0.25, ..., 0.4.
  auto pocock =
      CalibrateStoppingRule(Spec(StoppingRuleType::kPocock, 0.2, 50, 0.1));
  ASSERT_TRUE(pocock.ok()) << pocock.status();
  std::vector<int> table = {2, 3, 3, 3, 4, 4, 5, 5, 5};
  for (auto [last, b] : std::vector<std::pair<int, int>>{{12, 6},
                                                         {16, 7},
                                                         {19, 8},
                                                         {23, 9},
                                                         {26, 10},
                                                         {30, 11},
                                                         {34, 12},
                                                         {38, 13},
                                                         {41, 14},
                                                         {45, 15},
                                                         {49, 16},
                                                         {50, 17}}) {
    while (static_cast<int>(table.size()) < last) table.push_back(b);
  }
  EXPECT_EQ(pocock->Boundary(), table);
  EXPECT_NEAR(pocock->type_i_error(), 0.09977254, 5e-9);
  EXPECT_NEAR(pocock->under_null().expected_subjects, 46.72419, 5e-6);
  const double reject[] = {0.09977254, 0.27689051, 0.53974016, 0.78266569,
                           0.92684148};
  const double evaluated[] = {46.72419, 41.93172, 34.66321, 26.59365, 19.62976};
  for (int i = 0; i < 5; ++i) {
    auto oc = pocock->Characteristics(0.2 + 0.05 * i);
    ASSERT_TRUE(oc.ok());
    EXPECT_NEAR(oc->stop_probability, reject[i], 5e-9) << i;
    EXPECT_NEAR(oc->expected_subjects, evaluated[i], 5e-6) << i;
    // Wald's identity. (That README's E(events) column, 9.424838 at 0.2, is
    // not p E(evaluated) = 9.344838; version 0.6's, below, is.)
    EXPECT_NEAR(oc->expected_events, oc->p * oc->expected_subjects, 1e-12);
  }

  // Version 0.6: calc.rule.bin(ns = 1:30, p0 = 0.20, alpha = 0.10,
  // type = "BB", param = c(0.6, 2.4)): cval 0.9630823; OC.rule.bin.
  StoppingRuleSpec bb = Spec(StoppingRuleType::kBayesian, 0.2, 30, 0.1);
  bb.prior_a = 0.6;
  bb.prior_b = 2.4;
  auto bayes = CalibrateStoppingRule(bb);
  ASSERT_TRUE(bayes.ok()) << bayes.status();
  EXPECT_EQ(
      bayes->Boundary(),
      (std::vector<int>{2, 3, 3, 3, 4, 4, 5, 5, 5, 5,  6,  6,  6,  7,  7,
                        7, 7, 8, 8, 8, 9, 9, 9, 9, 10, 10, 10, 10, 11, 11}));
  // stoppingrule roots each look's boundary with uniroot (tolerance ~1e-4
  // in x), so its cval is within ~1e-6 of the exact tau, 0.96308269 (the
  // posterior of 4 events of 7).
  EXPECT_NEAR(bayes->parameter(), 0.9630823, 1e-6);
  const double bb_reject[] = {0.09957367, 0.23832301, 0.43615256, 0.64555222,
                              0.81491087};
  const double bb_events[] = {5.651197, 6.536293, 6.926712, 6.819377, 6.355803};
  for (int i = 0; i < 5; ++i) {
    auto oc = bayes->Characteristics(0.2 + 0.05 * i);
    ASSERT_TRUE(oc.ok());
    EXPECT_NEAR(oc->stop_probability, bb_reject[i], 5e-9) << i;
    EXPECT_NEAR(oc->expected_events, bb_events[i], 5e-7) << i;
  }
}

// The calibrated Bayesian boundary is PosteriorBoundary's table at the
// calibrated tau, and the Pocock one's nominal levels are binomial tails.
TEST(BoundaryTest, ParametersReproduceTheSignalModulesTables) {
  for (double p0 : {0.05, 0.2}) {
    StoppingRuleSpec spec = Spec(StoppingRuleType::kBayesian, p0, 200, 0.05);
    spec.prior_a = 0.5;
    spec.prior_b = 2;
    auto rule = CalibrateStoppingRule(spec);
    ASSERT_TRUE(rule.ok()) << rule.status();
    auto rows = PosteriorBoundary(p0, 200, rule->parameter(), 0.5, 2);
    ASSERT_TRUE(rows.ok());
    for (const BoundaryRow& row : *rows) {
      const int n = static_cast<int>(row.n);
      EXPECT_EQ(rule->MinEventsToStop(n), row.min_x < 0 ? n + 1 : row.min_x)
          << n;
    }
  }
  auto pocock =
      CalibrateStoppingRule(Spec(StoppingRuleType::kPocock, 0.1, 200, 0.05));
  ASSERT_TRUE(pocock.ok());
  bool attained = false;
  for (const StoppingLook& look : pocock->looks()) {
    if (look.min_events > look.n) continue;
    const double tail = BinomialUpperTail(look.min_events, look.n, 0.1).value();
    EXPECT_EQ(look.nominal, tail);
    EXPECT_EQ(look.statistic, tail);
    EXPECT_LE(look.nominal, pocock->parameter());
    EXPECT_GT(BinomialUpperTail(look.min_events - 1, look.n, 0.1).value(),
              pocock->parameter());
    attained |= look.nominal == pocock->parameter();
  }
  EXPECT_TRUE(attained);
}

TEST(BoundaryTest, CohortLooksAndTheBoundaryAServerCaches) {
  EXPECT_EQ(StoppingLooks(10, 3), (std::vector<int>{3, 6, 9, 10}));
  EXPECT_EQ(StoppingLooks(9, 3), (std::vector<int>{3, 6, 9}));
  EXPECT_EQ(StoppingLooks(5, 5), (std::vector<int>{5}));
  auto rule = CalibrateStoppingRule(
      Spec(StoppingRuleType::kPocock, 0.15, 40, 0.05, /*cohort=*/5));
  ASSERT_TRUE(rule.ok());
  const std::vector<int> b = rule->Boundary();
  ASSERT_EQ(b.size(), 40u);
  for (int n = 1; n <= 40; ++n) {
    if (n % 5 != 0) {
      EXPECT_EQ(b[n - 1], n + 1) << n;  // not a look: never stops
      EXPECT_FALSE(rule->Stops(n, n));
    } else {
      EXPECT_EQ(b[n - 1], rule->MinEventsToStop(n));
      EXPECT_TRUE(rule->Stops(n, b[n - 1]));
      EXPECT_FALSE(rule->Stops(n, b[n - 1] - 1));
    }
  }
  EXPECT_EQ(rule->MinEventsToStop(0), 1);
  EXPECT_EQ(rule->MinEventsToStop(41), 42);
  // Looks where no count stops carry n + 1 and zero levels.
  auto obf = CalibrateStoppingRule(
      Spec(StoppingRuleType::kOBrienFleming, 0.3, 30, 0.05));
  ASSERT_TRUE(obf.ok());
  EXPECT_EQ(obf->looks()[0].min_events, 2);
  EXPECT_EQ(obf->looks()[0].nominal, 0);
  EXPECT_EQ(obf->looks()[0].statistic, 0);
}

TEST(BoundaryTest, PowerAndExpectedSizeUnderAnAlternative) {
  auto rule = CalibrateStoppingRule(
      Spec(StoppingRuleType::kWangTsiatis, 0.1, 80, 0.05));
  ASSERT_TRUE(rule.ok());
  auto null = rule->Characteristics(0.1);
  ASSERT_TRUE(null.ok());
  EXPECT_EQ(null->stop_probability, rule->type_i_error());
  double last_power = 0, last_size = 81;
  for (double p : {0.1, 0.15, 0.2, 0.3, 0.5}) {
    auto oc = rule->Characteristics(p);
    ASSERT_TRUE(oc.ok());
    EXPECT_GT(oc->stop_probability, last_power) << p;
    EXPECT_LT(oc->expected_subjects, last_size) << p;
    EXPECT_NEAR(oc->expected_events, p * oc->expected_subjects, 1e-10) << p;
    EXPECT_EQ(oc->cumulative.back(), oc->stop_probability);
    last_power = oc->stop_probability;
    last_size = oc->expected_subjects;
  }
}

TEST(BoundaryTest, InvalidInputIsInvalidArgument) {
  const auto invalid = [](const StoppingRuleSpec& spec,
                          const std::string& message) {
    auto rule = CalibrateStoppingRule(spec);
    ASSERT_FALSE(rule.ok()) << Describe(spec);
    EXPECT_EQ(rule.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(rule.status().message(), HasSubstr(message));
  };
  const double nan = std::nan("");
  for (double p0 : {0.0, 1.0, -0.1, nan, kInf}) {
    invalid(Spec(StoppingRuleType::kPocock, p0, 30, 0.1), "p0 must be in");
  }
  for (int n : {0, -3, kMaxStoppingRuleSubjects + 1}) {
    invalid(Spec(StoppingRuleType::kPocock, 0.2, n, 0.1), "N (the maximum");
  }
  for (int cohort : {0, -1, 31}) {
    invalid(Spec(StoppingRuleType::kPocock, 0.2, 30, 0.1, cohort),
            "cohort size must be in [1, N = 30]");
  }
  for (double alpha : {0.0, 1.0, nan}) {
    invalid(Spec(StoppingRuleType::kOBrienFleming, 0.2, 30, alpha),
            "alpha must be in (0, 1)");
  }
  StoppingRuleSpec wt = Spec(StoppingRuleType::kWangTsiatis, 0.2, 30, 0.1);
  for (double delta : {-0.1, 0.6, nan}) {
    wt.delta = delta;
    invalid(wt, "delta must be in [0, 0.5]");
  }
  StoppingRuleSpec bayes = Spec(StoppingRuleType::kBayesian, 0.2, 30, 0.1);
  for (double a : {0.0, -1.0, 2e6, nan}) {
    bayes.prior_a = a;
    invalid(bayes, "prior's a and b");
  }
  // A plan that cannot stop within alpha: 5 of 5 at p0 = 0.9 has
  // probability 0.59.
  invalid(Spec(StoppingRuleType::kPocock, 0.9, 5, 0.1),
          "no pocock boundary that can stop keeps the type I error <= alpha");
  invalid(Spec(StoppingRuleType::kBayesian, 0.9, 5, 0.1), "raise alpha or N");
  // A prior so strong that every posterior rounds to 1: no boundary of the
  // family tells counts apart (and the search stays quick).
  bayes.prior_a = bayes.prior_b = 1e6;
  bayes.max_subjects = kMaxStoppingRuleSubjects;
  invalid(bayes, "the most conservative one that can");
  EXPECT_FALSE(ParseStoppingRuleType("OBF").ok());
  EXPECT_EQ(ParseStoppingRuleType("wt").value(),
            StoppingRuleType::kWangTsiatis);

  const StoppingRuleSpec ok = Spec(StoppingRuleType::kPocock, 0.2, 30, 0.1);
  for (double c : {0.0, 1.0, nan}) {
    EXPECT_EQ(EvaluateStoppingRule(ok, c).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
  EXPECT_FALSE(EvaluateStoppingRule(
                   Spec(StoppingRuleType::kOBrienFleming, 0.2, 30, 0.1), 1001)
                   .ok());
  EXPECT_FALSE(BoundaryCharacteristics({1, 1}, {2, 2}, 0.1).ok());
  EXPECT_FALSE(BoundaryCharacteristics({1, 2}, {2, 4}, 0.1).ok());
  EXPECT_FALSE(BoundaryCharacteristics({1, 2}, {2}, 0.1).ok());
  EXPECT_FALSE(BoundaryCharacteristics({}, {}, 0.1).ok());
  EXPECT_FALSE(BoundaryCharacteristics({1, 2}, {2, 3}, 1.0).ok());
  EXPECT_FALSE(
      BoundaryCharacteristics({kMaxStoppingRuleSubjects + 1}, {2}, 0.5).ok());
  auto rule = CalibrateStoppingRule(ok);
  ASSERT_TRUE(rule.ok());
  EXPECT_FALSE(rule->Characteristics(0).ok());
}

// The largest plans, at both ends of p0: calibrated, within alpha, quickly
// (the time is printed; sanitizer builds are slower).
TEST(BoundaryTest, LargestPlansCalibrate) {
  for (StoppingRuleType type :
       {StoppingRuleType::kPocock, StoppingRuleType::kOBrienFleming,
        StoppingRuleType::kWangTsiatis, StoppingRuleType::kBayesian}) {
    for (double p0 : {0.001, 0.5}) {
      const StoppingRuleSpec spec =
          Spec(type, p0, kMaxStoppingRuleSubjects, 0.05);
      const auto start = std::chrono::steady_clock::now();
      auto rule = CalibrateStoppingRule(spec);
      const double seconds = std::chrono::duration<double>(
                                 std::chrono::steady_clock::now() - start)
                                 .count();
      ASSERT_TRUE(rule.ok()) << Describe(spec) << ": " << rule.status();
      EXPECT_LE(rule->type_i_error(), 0.05) << Describe(spec);
      EXPECT_GT(rule->calibration()->next_type_i_error, 0.05) << Describe(spec);
      std::printf("%s: %.3f s, error %.6g\n", Describe(spec).c_str(), seconds,
                  rule->type_i_error());
    }
  }
}

}  // namespace
}  // namespace aesignal::signal
