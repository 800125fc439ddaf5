#include "services/domain/incidence_rows.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace aesignal::domain {
namespace {

using storage::Level;
using storage::TermKey;
using ::testing::ElementsAre;

std::vector<std::string> Labels(const std::vector<TermKey>& rows) {
  std::vector<std::string> labels;
  for (const TermKey& t : rows) {
    labels.push_back(t.level == Level::kOverall ? t.overall
                     : t.level == Level::kSoc   ? "SOC:" + t.soc
                                                : "PT:" + t.pt);
  }
  return labels;
}

TEST(CountedRowsTest, ListsEveryRowAReportCountsIn) {
  v1::AdverseEventReport r;
  r.set_pt("Pneumonia");
  r.set_soc("Infections and infestations");
  r.set_grade(3);
  r.set_serious(true);
  r.set_relatedness(v1::RELATEDNESS_POSSIBLE);
  r.add_aesi("infection");
  r.add_aesi("infection");  // duplicates count once
  EXPECT_THAT(
      Labels(CountedRows(r)),
      ElementsAre("PT:Pneumonia", "SOC:Infections and infestations", "any_ae",
                  "any_sae", "grade_3_plus", "related", "aesi:infection"));
  r.set_grade(2);
  r.set_serious(false);
  r.set_relatedness(v1::RELATEDNESS_UNLIKELY);
  r.clear_aesi();
  EXPECT_EQ(CountedRows(r).size(), 3u);
}

TEST(OverallRowsTest, AesiRowsAreLabelledForReaders) {
  v1::Trial trial;
  trial.add_aesi_categories("infusion_reaction");
  trial.add_aesi_categories("ild_exacerbation");
  const std::vector<OverallRow> rows = OverallRows(trial);
  ASSERT_EQ(rows.size(), 7u);
  EXPECT_EQ(rows[5].key, "aesi:infusion_reaction");
  EXPECT_EQ(rows[5].label, "AESI: infusion reaction");
  EXPECT_EQ(rows[6].label, "AESI: ild exacerbation");
  EXPECT_EQ(AesiCategoryLabel("a_b_c"), "a b c");
}

// A missing assessment counts as related (the worst case), as safety tables
// count it.
TEST(CountedRowsTest, PossibleProbableDefiniteAndNotGivenAreRelated) {
  v1::AdverseEventReport r;
  r.set_pt("Rash");
  r.set_soc("Skin");
  r.set_grade(1);
  for (auto [relatedness, related] :
       {std::pair{v1::RELATEDNESS_UNSPECIFIED, true},
        {v1::RELATEDNESS_NOT_RELATED, false},
        {v1::RELATEDNESS_UNLIKELY, false},
        {v1::RELATEDNESS_POSSIBLE, true},
        {v1::RELATEDNESS_PROBABLE, true},
        {v1::RELATEDNESS_DEFINITE, true}}) {
    r.set_relatedness(relatedness);
    EXPECT_EQ(CountedRows(r).size(), related ? 4u : 3u)
        << v1::Relatedness_Name(relatedness);
  }
}

TEST(CountedRowsTest, DeathOrAFatalOutcomeCountsInTheDeathRow) {
  v1::AdverseEventReport r;
  r.set_pt("Sepsis");
  r.set_soc("Infections and infestations");
  r.set_grade(5);
  r.set_serious(true);
  r.set_relatedness(v1::RELATEDNESS_NOT_RELATED);
  r.add_aesi("infection");
  EXPECT_THAT(
      Labels(CountedRows(r)),
      ElementsAre("PT:Sepsis", "SOC:Infections and infestations", "any_ae",
                  "any_sae", "grade_3_plus", "aesi:infection"));
  r.set_outcome(v1::OUTCOME_FATAL);
  // After `related`, before the AESI rows.
  EXPECT_THAT(
      Labels(CountedRows(r)),
      ElementsAre("PT:Sepsis", "SOC:Infections and infestations", "any_ae",
                  "any_sae", "grade_3_plus", "death", "aesi:infection"));
  r.set_outcome(v1::OUTCOME_RECOVERED_WITH_SEQUELAE);
  r.set_death(true);
  r.set_relatedness(v1::RELATEDNESS_PROBABLE);
  EXPECT_THAT(Labels(CountedRows(r)),
              ElementsAre("PT:Sepsis", "SOC:Infections and infestations",
                          "any_ae", "any_sae", "grade_3_plus", "related",
                          "death", "aesi:infection"));
}

TEST(InSubsetTest, EachSubsetIsItsOverallRowsRule) {
  v1::AdverseEventReport r;
  r.set_grade(3);
  r.set_relatedness(v1::RELATEDNESS_DEFINITE);
  r.add_aesi("infection");
  auto in = [&](v1::IncidenceSubset subset, std::string aesi = "") {
    return InSubset(r, {subset, std::move(aesi)});
  };
  EXPECT_TRUE(in(v1::INCIDENCE_SUBSET_UNSPECIFIED));
  EXPECT_FALSE(in(v1::INCIDENCE_SUBSET_SERIOUS));
  EXPECT_TRUE(in(v1::INCIDENCE_SUBSET_GRADE_3_PLUS));
  EXPECT_TRUE(in(v1::INCIDENCE_SUBSET_RELATED));
  EXPECT_FALSE(in(v1::INCIDENCE_SUBSET_DEATH));
  EXPECT_TRUE(in(v1::INCIDENCE_SUBSET_AESI, "infection"));
  EXPECT_FALSE(in(v1::INCIDENCE_SUBSET_AESI, "malignancy"));
  r.set_serious(true);
  r.set_grade(2);
  r.set_relatedness(v1::RELATEDNESS_UNLIKELY);
  r.set_outcome(v1::OUTCOME_FATAL);
  EXPECT_TRUE(in(v1::INCIDENCE_SUBSET_SERIOUS));
  EXPECT_FALSE(in(v1::INCIDENCE_SUBSET_GRADE_3_PLUS));
  EXPECT_FALSE(in(v1::INCIDENCE_SUBSET_RELATED));
  EXPECT_TRUE(in(v1::INCIDENCE_SUBSET_DEATH));
}

TEST(CountedRowsTest, ReusingTheVectorGivesTheSameRowsAsAFreshOne) {
  v1::AdverseEventReport big;
  big.set_pt("Pneumonia");
  big.set_soc("Infections and infestations");
  big.set_grade(4);
  big.set_serious(true);
  big.set_relatedness(v1::RELATEDNESS_UNLIKELY);
  big.add_aesi("malignancy");
  big.add_aesi("infection");
  v1::AdverseEventReport small;
  small.set_pt("Rash");
  small.set_soc("Skin");
  small.set_grade(1);
  std::vector<TermKey> rows;
  for (const auto* r : {&big, &small, &big}) {
    CountedRows(*r, &rows);
    EXPECT_EQ(rows, CountedRows(*r));
  }
  EXPECT_THAT(Labels(rows),
              ElementsAre("PT:Pneumonia", "SOC:Infections and infestations",
                          "any_ae", "any_sae", "grade_3_plus", "aesi:infection",
                          "aesi:malignancy"));
}

TEST(OverallRowsTest, FixedRowsThenOnePerAesiCategory) {
  v1::Trial trial;
  trial.add_aesi_categories("infection");
  std::vector<std::string> keys;
  for (const OverallRow& row : OverallRows(trial)) keys.push_back(row.key);
  EXPECT_THAT(keys, ElementsAre("any_ae", "any_sae", "grade_3_plus", "related",
                                "death", "aesi:infection"));
  for (const std::string& key : keys) EXPECT_TRUE(IsOverallRow(trial, key));
  EXPECT_FALSE(IsOverallRow(trial, "aesi:malignancy"));
  EXPECT_FALSE(IsOverallRow(trial, "aesi:"));
  EXPECT_FALSE(IsOverallRow(trial, "infection"));
  EXPECT_FALSE(IsOverallRow(trial, ""));
}

}  // namespace
}  // namespace aesignal::domain
