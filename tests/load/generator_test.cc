#include "tests/load/generator.h"

#include <algorithm>
#include <map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace aesignal::bench {
namespace {

constexpr int kReports = 200000;

ReportShape QueryShape() {
  return {.subjects = 10000, .pts = 1000, .last_day = 1825};
}

TEST(GeneratorTest, DeterministicAndIndependentOfOrder) {
  const ReportGenerator a(QueryShape());
  const ReportGenerator b(QueryShape());
  for (int64_t n : {12345, 7, 0, 999999, 19, 18}) {
    EXPECT_EQ(a.Make(n, "t").SerializeAsString(),
              b.Make(n, "t").SerializeAsString());
  }
  EXPECT_NE(a.Make(1, "t").report_id(), a.Make(1, "u").report_id());
}

TEST(GeneratorTest, TopPtIsFrequentAndMostPtsAreRare) {
  const ReportGenerator g(QueryShape());
  std::vector<int> per_pt(1000);
  for (int64_t n = 0; n < kReports; ++n) ++per_pt[g.PtOf(n)];
  // Zipf(1) over 1,000 PTs: P(PT 0) = 1 / H(1000) = 13.4 %.
  const double top = per_pt[0] / static_cast<double>(kReports);
  EXPECT_GT(top, 0.12);
  EXPECT_LT(top, 0.15);
  EXPECT_GT(per_pt[0], per_pt[9]);
  EXPECT_GT(per_pt[9], per_pt[999]);
  // Every PT is used (the rarest still ~27 times), so every page is full.
  EXPECT_GT(*std::min_element(per_pt.begin(), per_pt.end()), 5);
  // The top 10 PTs hold ~39 % of the reports; the bottom half ~9 %.
  int top10 = 0, bottom_half = 0;
  for (int k = 0; k < 10; ++k) top10 += per_pt[k];
  for (int k = 500; k < 1000; ++k) bottom_half += per_pt[k];
  EXPECT_GT(top10, kReports * 0.35);
  EXPECT_LT(bottom_half, kReports * 0.12);
}

TEST(GeneratorTest, ReportsPerSubjectArePoissonLike) {
  const ReportGenerator g(QueryShape());
  std::vector<int> per_subject(10001);
  for (int64_t n = 0; n < kReports; ++n) {
    if (!ReportGenerator::IsFollowUp(n)) ++per_subject[g.SubjectOf(n)];
  }
  // 180,000 first versions over 10,000 subjects: mean 18, sd ~4.2.
  const auto [lo, hi] =
      std::minmax_element(per_subject.begin() + 1, per_subject.end());
  EXPECT_GT(*lo, 2);
  EXPECT_LT(*lo, 12);
  EXPECT_GT(*hi, 26);
  EXPECT_LT(*hi, 45);
}

TEST(GeneratorTest, OnsetSkewedEarlyGradesLowSeriousFew) {
  const ReportGenerator g(QueryShape());
  int first_month = 0, serious = 0, low_grade = 0, related = 0;
  for (int64_t n = 0; n < kReports; ++n) {
    const v1::AdverseEventReport r = g.Make(n, "t");
    ASSERT_GE(r.onset_study_day(), 1);
    ASSERT_LE(r.onset_study_day(), 1825);
    ASSERT_GE(r.grade(), 1);
    ASSERT_LE(r.grade(), 5);
    first_month += r.onset_study_day() <= 30;
    serious += r.serious();
    low_grade += r.grade() <= 2;
    ASSERT_NE(r.relatedness(), v1::RELATEDNESS_UNSPECIFIED);
    related += r.relatedness() == v1::RELATEDNESS_POSSIBLE ||
               r.relatedness() == v1::RELATEDNESS_PROBABLE;
  }
  EXPECT_GT(first_month, kReports * 0.65);
  EXPECT_LT(first_month, kReports * 0.90);
  EXPECT_GT(serious, kReports * 0.04);
  EXPECT_LT(serious, kReports * 0.06);
  EXPECT_GT(low_grade, kReports * 0.7);
  EXPECT_GT(related, kReports * 0.55);
  EXPECT_LT(related, kReports * 0.63);
}

TEST(GeneratorTest, FollowUpIsVersionTwoOfThePreviousIndex) {
  const ReportGenerator g(QueryShape());
  int follow_ups = 0;
  for (int64_t n = 1; n < 10000; ++n) {
    const v1::AdverseEventReport r = g.Make(n, "t");
    if (r.version() == 1) continue;
    ++follow_ups;
    const v1::AdverseEventReport first = g.Make(n - 1, "t");
    EXPECT_EQ(r.version(), 2);
    EXPECT_EQ(r.report_id(), first.report_id());
    EXPECT_EQ(r.subject_id(), first.subject_id());
    EXPECT_EQ(r.site_id(), first.site_id());
    EXPECT_EQ(r.pt(), first.pt());
    EXPECT_EQ(r.onset_study_day(), first.onset_study_day());
    EXPECT_NE(r.grade(), first.grade());
    // Never split by a message of 10k consecutive indexes (k >= 1).
    EXPECT_NE(n % 10, 0);
  }
  EXPECT_EQ(follow_ups, 1000);
}

TEST(GeneratorTest, SubjectsSpreadOverEveryDoseGroupPerPt) {
  const ReportGenerator g(QueryShape());
  std::map<int, std::vector<int>> groups_of_pt;  // pt -> count per group
  for (int64_t n = 0; n < kReports; ++n) {
    auto& groups = groups_of_pt[g.PtOf(n)];
    groups.resize(5);
    ++groups[(g.SubjectOf(n) - 1) % 5];
  }
  for (int pt : {0, 1, 10, 100}) {
    for (int count : groups_of_pt[pt]) EXPECT_GT(count, 0) << pt;
  }
}

// With a dose effect on PTs 1..K, ~60 % of those PTs' reports are in the
// top group (half moved there, a fifth of the rest there already); other
// PTs, and every report's other fields, are as without the effect.
TEST(GeneratorTest, DoseEffectMovesHalfOfItsPtsReportsToTheTopGroup) {
  ReportShape shape = QueryShape();
  const ReportGenerator plain(shape);
  shape.dose_effect_pts = 20;
  const ReportGenerator dosed(shape);
  std::vector<int> top(1000), all(1000);
  for (int64_t n = 0; n < kReports; ++n) {
    const int pt = dosed.PtOf(n);
    ++all[pt];
    top[pt] += (dosed.SubjectOf(n) - 1) % 5 == 4;
    if (pt == 0 || pt > 20) {
      ASSERT_EQ(dosed.Make(n, "t").SerializeAsString(),
                plain.Make(n, "t").SerializeAsString());
    }
  }
  for (int pt : {1, 2, 20}) {
    EXPECT_GT(top[pt], all[pt] * 0.55) << pt;
    EXPECT_LT(top[pt], all[pt] * 0.65) << pt;
  }
  for (int pt : {0, 21, 100}) {
    EXPECT_GT(top[pt], all[pt] * 0.15) << pt;
    EXPECT_LT(top[pt], all[pt] * 0.25) << pt;
  }
  // A follow-up still has its version 1's subject.
  for (int64_t n = 9; n < 10000; n += 10) {
    EXPECT_EQ(dosed.Make(n, "t").subject_id(),
              dosed.Make(n - 1, "t").subject_id());
  }
}

}  // namespace
}  // namespace aesignal::bench
