// A deterministic generator of adverse-event reports for aesignal-bench.
//
// Report n depends only on (n, shape, tag), so any stream (or peer database
// connection) can build any index without coordination, and two runs send
// the same reports. What it models, and why:
//   - subject: uniform (a splitmix64 hash of n) over S1..S{subjects}; the
//     bench enrols subject i in dose group G(1 + (i - 1) % groups), so every
//     subject has many AEs (Poisson-like counts) and every PT is spread over
//     every dose group: a subject's per-term state is read and updated often,
//     as in a real trial, not once;
//   - PT: Zipf-like (exponent 1) over "Preferred term 0".."Preferred term
//     {pts - 1}", PT 0 the most frequent: as in the CDISC pilot a few PTs
//     (application site pruritus, erythema, ...) are most of the reports and
//     most PTs are rare. SOC = "System organ class {pt % 27}", one per PT;
//   - onset study day in 1..last_day, skewed early (~3/4 in the first month);
//   - grade 1..5 skewed to low grades (50/30/13/5/2 %); serious ~5 %;
//     relatedness always given, ~59 % possible or probable (the CDISC
//     pilot's shares);
//   - no dose effect by default (signals then arise only by chance); with
//     `dose_effect_pts` = K, half the reports of PTs 1..K go to a subject of
//     the highest dose group instead (the subject's number moved to the
//     top group's in its block of `groups`), as a dose-related toxicity
//     would: a trial whose signals raise topics, for the DSMB report's
//     and the evaluator's costs with real evidence to carry;
//   - follow-ups: report n is version 2 of report n - 1 (same report_id,
//     subject, site, PT and onset; another grade) exactly when n % 10 == 9,
//     i.e. 1 in 10, so every-version-kept / latest-maintained is exercised.
//
// The follow-up rule, for callers that split indexes among messages: version
// 1 (n - 1) and version 2 (n) of a report are consecutive indexes with the
// same n / 10. So a message holding indexes [m * B, (m + 1) * B) with B a
// multiple of 10 (the bench's --batch_size must be) holds both, and a sender
// that gives each stream whole blocks of 10 consecutive indexes in order
// (e.g. one report per message) sends version 1 before version 2 on the
// same stream.
#ifndef AESIGNAL_TESTS_LOAD_GENERATOR_H_
#define AESIGNAL_TESTS_LOAD_GENERATOR_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "aesignal/v1/report.pb.h"

namespace aesignal::bench {

// What the reports are spread over.
struct ReportShape {
  int subjects = 1000;
  int pts = 1000;
  int last_day = 1825;  // onset days are 1..last_day
  // The dose effect (see above): 0 PTs, or PTs 1..dose_effect_pts with
  // subjects enrolled in `groups` dose groups, S{i} in G(1 + (i-1) % groups).
  int dose_effect_pts = 0;
  int groups = 5;
};

class ReportGenerator {
 public:
  explicit ReportGenerator(const ReportShape& shape);

  // Report n; its report_id is "{tag}-{n'}" where n' is the index of its
  // version 1 (n - 1 for a follow-up, else n).
  v1::AdverseEventReport Make(int64_t n, const std::string& tag) const;

  // Whether report n is version 2 of report n - 1 (n % 10 == 9).
  static bool IsFollowUp(int64_t n) { return n % 10 == 9; }
  // The PT index of report n (0 is the most frequent).
  int PtOf(int64_t n) const;
  // The 1-based subject number of report n.
  int SubjectOf(int64_t n) const;

  const ReportShape& shape() const { return shape_; }

 private:
  ReportShape shape_;
  // Inverse-CDF table of the PT law: pt_cdf_[k] = P(PT <= k) in 2^-53 units.
  std::vector<uint64_t> pt_cdf_;
};

}  // namespace aesignal::bench

#endif  // AESIGNAL_TESTS_LOAD_GENERATOR_H_
