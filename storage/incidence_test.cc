#include "storage/incidence.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/store.h"
#include "tests/testing/temp_dir.h"

namespace aesignal::storage {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

CellCounts Cell(int64_t interval, int64_t fresh, int64_t events) {
  return CellCounts{interval, fresh, events};
}

TEST(CellDeltasTest, FirstEventMakesSubjectNewInItsWindow) {
  auto d = CellDeltas({0, 0, 0}, {0, 1, 0});
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[1], Cell(1, 1, 1));
}

TEST(CellDeltasTest, SecondEventSameWindowCountsEventOnly) {
  auto d = CellDeltas({0, 1, 0}, {0, 2, 0});
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[1], Cell(0, 0, 1));
}

TEST(CellDeltasTest, EarlierEventMovesFirstOnset) {
  auto d = CellDeltas({0, 0, 1}, {1, 0, 1});
  EXPECT_EQ(d[0], Cell(1, 1, 1));
  EXPECT_EQ(d[2], Cell(0, -1, 0));
}

TEST(CellDeltasTest, MovingTheOnlyEventMovesEverything) {
  auto d = CellDeltas({1, 0}, {0, 1});
  EXPECT_EQ(d[0], Cell(-1, -1, -1));
  EXPECT_EQ(d[1], Cell(1, 1, 1));
}

TEST(CellDeltasTest, NoChangeNoDelta) {
  EXPECT_THAT(CellDeltas({1, 2}, {1, 2}), IsEmpty());
}

TEST(EncodingTest, RoundTrips) {
  CellCounts c{3, 2, 1000000};
  EXPECT_EQ(*DecodeCellCounts(EncodeCellCounts(c)), c);
  EXPECT_FALSE(DecodeCellCounts("\xFF").ok());
  WindowCounts w{0, 5, 300, 0};
  EXPECT_EQ(*DecodeWindowCounts(EncodeWindowCounts(w), 4), w);
  EXPECT_FALSE(DecodeWindowCounts(EncodeWindowCounts(w), 3).ok());
}

TEST(TermsOfTest, ListsEveryRowAReportCountsIn) {
  v1::AdverseEventReport r;
  r.set_pt("Pneumonia");
  r.set_soc("Infections and infestations");
  r.set_grade(3);
  r.set_serious(true);
  r.set_relatedness(v1::RELATEDNESS_POSSIBLE);
  r.add_aesi("infection");
  r.add_aesi("infection");  // duplicates count once
  std::vector<std::string> labels;
  for (const TermKey& t : TermsOf(r)) {
    labels.push_back(t.level == Level::kOverall ? t.overall
                     : t.level == Level::kSoc   ? "SOC:" + t.soc
                                                : "PT:" + t.pt);
  }
  EXPECT_THAT(
      labels,
      ElementsAre("PT:Pneumonia", "SOC:Infections and infestations", "any_ae",
                  "any_sae", "grade_3_plus", "related", "aesi:infection"));
  r.set_grade(2);
  r.set_serious(false);
  r.set_relatedness(v1::RELATEDNESS_UNLIKELY);
  r.clear_aesi();
  EXPECT_EQ(TermsOf(r).size(), 3u);
}

class ApplyReportChangeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = Store::Open({.path = dir_.Sub("db")});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  static v1::AdverseEventReport Report(const std::string& pt, int grade,
                                       bool serious) {
    v1::AdverseEventReport r;
    r.set_pt(pt);
    r.set_soc("SOC-" + pt);
    r.set_grade(grade);
    r.set_serious(serious);
    return r;
  }

  absl::Status Change(const v1::AdverseEventReport* old_r,
                      const Placement* old_at,
                      const v1::AdverseEventReport* new_r,
                      const Placement* new_at) {
    return store_->Commit([&](Txn& txn) {
      return ApplyReportChange(txn, "T", kWindows, old_r, old_at, new_r,
                               new_at);
    });
  }

  CellCounts Counter(const TermKey& term, int group, int window) {
    auto t = ReadOneTerm(store_->Latest(), "T", term, kGroups, kWindows);
    EXPECT_TRUE(t.ok());
    return t->cells[group * kWindows + window];
  }

  static constexpr int kGroups = 2;
  static constexpr int kWindows = 3;
  testing::TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(ApplyReportChangeTest, SubjectCountedOncePerTermAcrossEvents) {
  auto headache = Report("Headache", 1, false);
  Placement s1_w0{"S1", 1, 0};
  Placement s1_w2{"S1", 1, 2};
  ASSERT_TRUE(Change(nullptr, nullptr, &headache, &s1_w0).ok());
  ASSERT_TRUE(Change(nullptr, nullptr, &headache, &s1_w0).ok());
  ASSERT_TRUE(Change(nullptr, nullptr, &headache, &s1_w2).ok());
  TermKey pt{Level::kPt, "SOC-Headache", "Headache", ""};
  EXPECT_EQ(Counter(pt, 1, 0), Cell(1, 1, 2));
  EXPECT_EQ(Counter(pt, 1, 2), Cell(1, 0, 1));
  EXPECT_EQ(Counter(pt, 0, 0), Cell(0, 0, 0));
}

TEST_F(ApplyReportChangeTest, FollowUpMovesSubjectBetweenCells) {
  // Version 1: grade 2 headache in window 0. Version 2: grade 4 migraine,
  // serious, in window 1. The subject must leave every v1 cell.
  auto v1 = Report("Headache", 2, false);
  auto v2 = Report("Migraine", 4, true);
  Placement w0{"S1", 0, 0};
  Placement w1{"S1", 0, 1};
  ASSERT_TRUE(Change(nullptr, nullptr, &v1, &w0).ok());
  ASSERT_TRUE(Change(&v1, &w0, &v2, &w1).ok());

  TermKey headache{Level::kPt, "SOC-Headache", "Headache", ""};
  TermKey migraine{Level::kPt, "SOC-Migraine", "Migraine", ""};
  TermKey any_ae{Level::kOverall, "", "", kAnyAe};
  TermKey sae{Level::kOverall, "", "", kAnySae};
  TermKey g3{Level::kOverall, "", "", kGrade3Plus};
  EXPECT_EQ(Counter(headache, 0, 0), Cell(0, 0, 0));
  EXPECT_EQ(Counter(migraine, 0, 1), Cell(1, 1, 1));
  EXPECT_EQ(Counter(any_ae, 0, 0), Cell(0, 0, 0));
  EXPECT_EQ(Counter(any_ae, 0, 1), Cell(1, 1, 1));
  EXPECT_EQ(Counter(sae, 0, 1), Cell(1, 1, 1));
  EXPECT_EQ(Counter(g3, 0, 1), Cell(1, 1, 1));
  // The headache row is gone entirely (zero counters are deleted).
  bool more = false;
  auto rows = ReadTermCounters(store_->Latest(), "T", Level::kPt, kGroups,
                               kWindows, "", 100, &more);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].term, migraine);

  // A downgrade back (version 3) restores the original cells.
  ASSERT_TRUE(Change(&v2, &w1, &v1, &w0).ok());
  EXPECT_EQ(Counter(sae, 0, 1), Cell(0, 0, 0));
  EXPECT_EQ(Counter(headache, 0, 0), Cell(1, 1, 1));
}

TEST_F(ApplyReportChangeTest, RemovingAnEventNotHeldIsAnErrorAndWritesNothing) {
  auto r = Report("Rash", 1, false);
  Placement at{"S9", 0, 0};
  EXPECT_FALSE(Change(&r, &at, nullptr, nullptr).ok());
  TermKey rash{Level::kPt, "SOC-Rash", "Rash", ""};
  EXPECT_EQ(Counter(rash, 0, 0), Cell(0, 0, 0));
}

TEST_F(ApplyReportChangeTest, PaginatesByTerm) {
  Placement at{"S1", 0, 0};
  for (const char* pt : {"A", "B", "C", "D", "E"}) {
    auto r = Report(pt, 1, false);
    r.set_soc("SOC");
    ASSERT_TRUE(Change(nullptr, nullptr, &r, &at).ok());
  }
  std::vector<std::string> seen;
  std::string after;
  for (int page = 0; page < 10; ++page) {
    bool more = false;
    auto rows = ReadTermCounters(store_->Latest(), "T", Level::kPt, kGroups,
                                 kWindows, after, 2, &more);
    ASSERT_TRUE(rows.ok());
    for (const auto& row : *rows) seen.push_back(row.term.pt);
    if (!more) break;
    after = EncodeTerm(rows->back().term);
  }
  EXPECT_THAT(seen, ElementsAre("A", "B", "C", "D", "E"));
}

}  // namespace
}  // namespace aesignal::storage
