#include "tests/load/generator.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace aesignal::bench {
namespace {

uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Independent draws for the different fields of one report: the index mixed
// with a per-field salt.
enum Field : uint64_t {
  kSubject = 1,
  kPt,
  kDay,
  kDayTail,
  kGrade,
  kSerious,
  kDoseEffect,
  kRelatedness  // appended: the other fields' draws stay as they were
};

uint64_t Draw(int64_t n, Field field) {
  return SplitMix64(static_cast<uint64_t>(n) * 0x100000001b3ULL ^
                    SplitMix64(field));
}

// A uniform double in [0, 1).
double Unit(uint64_t bits) { return (bits >> 11) * 0x1.0p-53; }

// Onset day: 60 % from an exponential of mean 7 days (the first weeks after
// dosing, when most AEs of a cell therapy trial start), 40 % log-uniform over
// the whole follow-up (a long tail of late events).
int OnsetDay(int64_t n, int last_day) {
  const double u = Unit(Draw(n, kDay));
  double day;
  if (u < 0.6) {
    day = 1 + std::floor(-7.0 * std::log1p(-u / 0.6));
  } else {
    day = std::floor(std::exp(Unit(Draw(n, kDayTail)) * std::log(last_day)));
  }
  return std::clamp(static_cast<int>(day), 1, last_day);
}

// CTCAE grade 1..5 with P = 50, 30, 13, 5, 2 %.
int Grade(int64_t n) {
  static constexpr double kCdf[] = {0.50, 0.80, 0.93, 0.98};
  const double u = Unit(Draw(n, kGrade));
  int grade = 1;
  for (double c : kCdf) grade += u >= c ? 1 : 0;
  return grade;
}

// The investigator's causality with the CDISC pilot's shares (AEREL: none
// 322, remote 161, possible 343, probable 361 of 1,191 records): not
// related 27 %, unlikely 14 %, possible 29 %, probable 30 %. Every report
// gives one, as site reports do (one without would count as related).
v1::Relatedness Relatedness(int64_t n) {
  const double u = Unit(Draw(n, kRelatedness));
  if (u < 0.27) return v1::RELATEDNESS_NOT_RELATED;
  if (u < 0.41) return v1::RELATEDNESS_UNLIKELY;
  if (u < 0.70) return v1::RELATEDNESS_POSSIBLE;
  return v1::RELATEDNESS_PROBABLE;
}

}  // namespace

ReportGenerator::ReportGenerator(const ReportShape& shape) : shape_(shape) {
  // Zipf with exponent 1: P(k) proportional to 1 / (k + 1).
  double total = 0;
  for (int k = 0; k < shape_.pts; ++k) total += 1.0 / (k + 1);
  double cumulative = 0;
  pt_cdf_.reserve(shape_.pts);
  for (int k = 0; k < shape_.pts; ++k) {
    cumulative += 1.0 / (k + 1) / total;
    pt_cdf_.push_back(static_cast<uint64_t>(cumulative * 0x1.0p53));
  }
  pt_cdf_.back() = uint64_t{1} << 53;  // no rounding gap at the top
}

int ReportGenerator::PtOf(int64_t n) const {
  if (IsFollowUp(n)) --n;
  const uint64_t u = Draw(n, kPt) >> 11;
  return static_cast<int>(std::upper_bound(pt_cdf_.begin(), pt_cdf_.end(), u) -
                          pt_cdf_.begin());
}

int ReportGenerator::SubjectOf(int64_t n) const {
  if (IsFollowUp(n)) --n;
  const int subject = 1 + static_cast<int>(Draw(n, kSubject) % shape_.subjects);
  const int pt = shape_.dose_effect_pts > 0 ? PtOf(n) : 0;
  if (pt < 1 || pt > shape_.dose_effect_pts ||
      Unit(Draw(n, kDoseEffect)) >= 0.5) {
    return subject;
  }
  // The top group's subject in the same block of `groups` subjects.
  const int top = subject - (subject - 1) % shape_.groups + shape_.groups - 1;
  return top <= shape_.subjects ? top : subject;
}

v1::AdverseEventReport ReportGenerator::Make(int64_t n,
                                             const std::string& tag) const {
  const bool follow_up = IsFollowUp(n);
  const int64_t first = follow_up ? n - 1 : n;  // version 1's index
  v1::AdverseEventReport r;
  r.set_report_id(absl::StrCat(tag, "-", first));
  r.set_version(follow_up ? 2 : 1);
  r.set_site_id("01");
  r.set_subject_id(absl::StrCat("S", SubjectOf(first)));
  r.set_onset_study_day(OnsetDay(first, shape_.last_day));
  const int pt = PtOf(first);
  r.set_pt(absl::StrCat("Preferred term ", pt));
  r.set_soc(absl::StrCat("System organ class ", pt % 27));
  // A follow-up reassesses the grade (one step up, 5 back to 4).
  const int grade = Grade(first);
  r.set_grade(follow_up ? (grade == 5 ? 4 : grade + 1) : grade);
  r.set_serious(Unit(Draw(first, kSerious)) < 0.05);
  r.set_relatedness(Relatedness(first));
  return r;
}

}  // namespace aesignal::bench
