#include "storage/incidence.h"

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/keys.h"
#include "storage/records.pb.h"
#include "storage/reports.h"
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

TEST(EncodingTest, StateFromBeforeAddedTimepointsIsPaddedWithEmptyWindows) {
  // Stored when the trial had 2 timepoints; an amendment appended 2.
  EXPECT_EQ(*DecodeWindowCounts(EncodeWindowCounts({1, 2}), 4),
            (WindowCounts{1, 2, 0, 0}));
}

TEST(EncodingTest, CounterRowRoundTripsAndRejectsMalformedRows) {
  CounterRow row{{0, 0, Cell(1, 1, 1)},
                 {0, 9, Cell(2, 0, 5)},
                 {4, 0, Cell(300, 299, 70000)}};
  EXPECT_EQ(*DecodeCounterRow(EncodeCounterRow(row)), row);
  EXPECT_THAT(*DecodeCounterRow(""), IsEmpty());
  // Truncated inside a cell.
  std::string bytes = EncodeCounterRow(row);
  EXPECT_FALSE(DecodeCounterRow(bytes.substr(0, bytes.size() - 1)).ok());
  // Cells out of order, repeated, or all zero.
  EXPECT_FALSE(DecodeCounterRow(EncodeCounterRow({row[1], row[0]})).ok());
  EXPECT_FALSE(DecodeCounterRow(EncodeCounterRow({row[0], row[0]})).ok());
  EXPECT_FALSE(
      DecodeCounterRow(EncodeCounterRow({{1, 1, Cell(0, 0, 0)}})).ok());
}

// Where one report version counts (the test's owning form of CountedVersion).
struct Placement {
  std::string subject_id;
  int group = 0;
  int window = 0;
};

class ApplyReportChangeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = Store::Open({.path = dir_.Sub("db")});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  // The rows of a report version of `pt` as the domain's rule gives them:
  // its PT and SOC, any AE, and any SAE / grade >= 3 when they apply.
  // Storage counts whatever rows it is given.
  static std::vector<TermKey> Report(const std::string& pt, int grade,
                                     bool serious,
                                     const std::string& soc = "") {
    const std::string soc_name = soc.empty() ? "SOC-" + pt : soc;
    std::vector<TermKey> rows = {{Level::kPt, soc_name, pt, ""},
                                 {Level::kSoc, soc_name, "", ""},
                                 {Level::kOverall, "", "", "any_ae"}};
    if (serious) rows.push_back({Level::kOverall, "", "", "any_sae"});
    if (grade >= 3) rows.push_back({Level::kOverall, "", "", "grade_3_plus"});
    return rows;
  }

  // Each subject in the group its newest stored report versions carry (what
  // the domain reads from the subjects; these tests enroll none).
  SubjectGroups StoredGroups() {
    SubjectGroups groups;
    EXPECT_TRUE(ScanNewestReports(store_->Latest(), "T",
                                  [&](const StoredReport& stored) {
                                    groups[stored.report().subject_id()] =
                                        stored.dose_group();
                                    return true;
                                  })
                    .ok());
    return groups;
  }

  absl::Status Change(const std::vector<TermKey>* old_rows,
                      const Placement* old_at,
                      const std::vector<TermKey>* new_rows,
                      const Placement* new_at) {
    auto counted = [](const std::vector<TermKey>* rows,
                      const Placement* at) -> std::optional<CountedVersion> {
      if (rows == nullptr) return std::nullopt;
      return CountedVersion{at->subject_id, at->group, at->window, *rows};
    };
    const std::optional<CountedVersion> removed = counted(old_rows, old_at);
    const std::optional<CountedVersion> added = counted(new_rows, new_at);
    return store_->Commit([&](Txn& txn) {
      return ApplyReportChange(txn, "T", kWindows,
                               removed ? &*removed : nullptr,
                               added ? &*added : nullptr);
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

// A batch's changes through one CounterRows, flushed once, leave the same
// counters as the same changes committed one at a time; before the flush
// the transaction holds no counter row.
TEST_F(ApplyReportChangeTest, ABatchsCounterRowsEqualOneChangeAtATime) {
  const char* pts[] = {"Headache", "Rash", "Nausea"};
  struct Step {
    std::vector<TermKey> rows;
    Placement at;
  };
  std::vector<Step> steps;
  for (int i = 0; i < 30; ++i) {
    steps.push_back(
        {Report(pts[i % 3], 1 + i % 4, i % 4 == 0),
         {"S" + std::to_string(i % 5), (i % 5) % kGroups, (i * 7) % kWindows}});
  }
  // One at a time, into this test's store; each step after the tenth
  // replaces the version of step i - 10 (a follow-up).
  auto removed_of = [&](size_t i) -> const Step* {
    return i >= 10 ? &steps[i - 10] : nullptr;
  };
  for (size_t i = 0; i < steps.size(); ++i) {
    const Step* old = removed_of(i);
    ASSERT_TRUE(Change(old ? &old->rows : nullptr, old ? &old->at : nullptr,
                       &steps[i].rows, &steps[i].at)
                    .ok());
  }
  // All in one transaction, into a second store.
  testing::TempDir other_dir;
  auto other = Store::Open({.path = other_dir.path()});
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE(
      (*other)
          ->Commit([&](Txn& txn) -> absl::Status {
            CounterRows rows(txn);
            for (size_t i = 0; i < steps.size(); ++i) {
              const Step* old = removed_of(i);
              std::optional<CountedVersion> removed;
              if (old != nullptr) {
                removed = CountedVersion{old->at.subject_id, old->at.group,
                                         old->at.window, old->rows};
              }
              const CountedVersion added{steps[i].at.subject_id,
                                         steps[i].at.group, steps[i].at.window,
                                         steps[i].rows};
              absl::Status applied =
                  ApplyReportChange(txn, rows, "T", kWindows,
                                    removed ? &*removed : nullptr, &added);
              if (!applied.ok()) return applied;
            }
            bool any_row = false;
            absl::Status scan = txn.Scan(
                Cf::kCounters, "", "", [&](std::string_view, std::string_view) {
                  any_row = true;
                  return false;
                });
            if (!scan.ok()) return scan;
            if (any_row ||
                txn.Get(Cf::kCounters, CounterRowKey("T", steps[0].rows[2]))
                    ->has_value()) {
              return absl::InternalError("a row before the flush");
            }
            rows.Flush();
            return absl::OkStatus();
          })
          .ok());
  for (Level level : {Level::kPt, Level::kSoc, Level::kOverall}) {
    bool more = false;
    auto one_by_one = ReadTermCounters(store_->Latest(), "T", level, kGroups,
                                       kWindows, "", 100, &more);
    auto batched = ReadTermCounters((*other)->Latest(), "T", level, kGroups,
                                    kWindows, "", 100, &more);
    ASSERT_TRUE(one_by_one.ok() && batched.ok());
    ASSERT_EQ(one_by_one->size(), batched->size());
    ASSERT_FALSE(one_by_one->empty());
    for (size_t i = 0; i < batched->size(); ++i) {
      EXPECT_EQ((*batched)[i].term, (*one_by_one)[i].term);
      EXPECT_EQ((*batched)[i].cells, (*one_by_one)[i].cells);
    }
  }
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
  TermKey any_ae{Level::kOverall, "", "", "any_ae"};
  TermKey sae{Level::kOverall, "", "", "any_sae"};
  TermKey g3{Level::kOverall, "", "", "grade_3_plus"};
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
    auto r = Report(pt, 1, false, "SOC");
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

// Storage recounts with the caller's rule, never one of its own: with the
// rule the counters were kept under the recount agrees, and with any other
// it does not.
TEST_F(ApplyReportChangeTest, VerifyCountersRecountsWithTheCallersRule) {
  // The test's rule: the rows Report() gives for the report's PT and grade.
  auto rule = [](const v1::AdverseEventReport& r) {
    return Report(r.pt(), r.grade(), r.serious());
  };
  auto store_version = [&](const v1::AdverseEventReport* previous,
                           const v1::AdverseEventReport& r, int window) {
    const std::vector<TermKey> added_rows = rule(r);
    const CountedVersion added{r.subject_id(), 1, window, added_rows};
    std::vector<TermKey> removed_rows;
    std::optional<CountedVersion> removed;
    if (previous != nullptr) {
      removed_rows = rule(*previous);
      removed = CountedVersion{previous->subject_id(), 1, 0, removed_rows};
    }
    return store_->Commit([&](Txn& txn) {
      StoredReport stored;
      *stored.mutable_report() = r;
      stored.set_window(window);
      stored.set_dose_group(1);
      WriteReportVersion(txn, "T", stored, /*newest=*/true);
      return ApplyReportChange(txn, "T", kWindows,
                               removed ? &*removed : nullptr, &added);
    });
  };
  v1::AdverseEventReport first;
  first.set_site_id("01");
  first.set_report_id("R1");
  first.set_version(1);
  first.set_subject_id("S1");
  first.set_pt("Headache");
  first.set_grade(2);
  v1::AdverseEventReport second = first;
  second.set_version(2);
  second.set_grade(3);
  ASSERT_TRUE(store_version(nullptr, first, 0).ok());
  ASSERT_TRUE(store_version(&first, second, 2).ok());

  EXPECT_TRUE(
      VerifyCounters(store_->Latest(), "T", kWindows, rule, StoredGroups())
          .ok());
  auto without_grade_3 = [](const v1::AdverseEventReport& r) {
    return Report(r.pt(), 1, r.serious());
  };
  absl::Status other = VerifyCounters(store_->Latest(), "T", kWindows,
                                      without_grade_3, StoredGroups())
                           .status();
  EXPECT_EQ(other.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(other.message(), ::testing::HasSubstr("grade_3_plus"));
}

// Verification in several passes (each recounting some of the subjects, to
// bound its memory) must agree with one pass: on a right store every pass
// count says OK, and a wrong state of any subject is found whichever pass
// holds that subject. (A partition that counted a subject in two passes, or
// in none, would fail the first half.)
TEST_F(ApplyReportChangeTest, VerifyCountersInPassesAgreesWithOnePass) {
  auto rule = [](const v1::AdverseEventReport& r) {
    return Report(r.pt(), r.grade(), r.serious());
  };
  constexpr int kSubjects = 24;
  for (int i = 0; i < 3 * kSubjects; ++i) {
    v1::AdverseEventReport r;
    r.set_site_id("01");
    r.set_report_id(absl::StrCat("R", i));
    r.set_version(1);
    r.set_subject_id(absl::StrCat("S", i % kSubjects));
    r.set_pt(i % 5 == 0 ? "Rash" : (i % 2 == 0 ? "Headache" : "Nausea"));
    r.set_grade(1 + i % 4);
    const int window = i % kWindows;
    const int group = i % kSubjects % kGroups;
    const std::vector<TermKey> rows = rule(r);
    const CountedVersion added{r.subject_id(), group, window, rows};
    ASSERT_TRUE(store_
                    ->Commit([&](Txn& txn) {
                      StoredReport stored;
                      *stored.mutable_report() = r;
                      stored.set_window(window);
                      stored.set_dose_group(group);
                      WriteReportVersion(txn, "T", stored, /*newest=*/true);
                      return ApplyReportChange(txn, "T", kWindows, nullptr,
                                               &added);
                    })
                    .ok());
  }
  uint64_t stored_states = 0;
  ASSERT_TRUE(store_->Latest()
                  .Scan(Cf::kSubjectTerms, "", "",
                        [&](std::string_view, std::string_view) {
                          ++stored_states;
                          return true;
                        })
                  .ok());
  const std::vector<size_t> per_pass = {1, 3, 10, 50, 1'000'000};
  for (size_t max_states : per_pass) {
    auto summary =
        VerifyCounters(store_->Latest(), "T", kWindows, rule, StoredGroups(),
                       {.max_states_per_pass = max_states});
    ASSERT_TRUE(summary.ok()) << max_states << " states per pass";
    EXPECT_EQ(summary->reports, 3u * kSubjects);
    EXPECT_EQ(summary->states, stored_states);
    EXPECT_EQ(summary->passes, (stored_states + max_states - 1) / max_states);
  }
  const TermKey any_ae{Level::kOverall, "", "", "any_ae"};
  for (int subject = 0; subject < kSubjects; subject += 5) {
    const std::string key =
        SubjectTermKey("T", any_ae, absl::StrCat("S", subject));
    auto stored = store_->Latest().Get(Cf::kSubjectTerms, key);
    ASSERT_TRUE(stored.ok() && stored->has_value());
    auto put = [&](std::optional<std::string> value) {
      return store_->Commit([&](Txn& txn) {
        if (value.has_value()) {
          txn.Put(Cf::kSubjectTerms, key, *value);
        } else {
          txn.Delete(Cf::kSubjectTerms, key);
        }
        return absl::OkStatus();
      });
    };
    for (std::optional<std::string> wrong :
         {std::optional<std::string>(EncodeWindowCounts({9, 0, 0})),
          std::optional<std::string>()}) {
      ASSERT_TRUE(put(wrong).ok());
      for (size_t max_states : per_pass) {
        absl::Status verified =
            VerifyCounters(store_->Latest(), "T", kWindows, rule,
                           StoredGroups(), {.max_states_per_pass = max_states})
                .status();
        EXPECT_EQ(verified.code(), absl::StatusCode::kDataLoss)
            << "S" << subject << ", " << max_states << " states per pass";
        EXPECT_THAT(verified.message(),
                    ::testing::HasSubstr("subject-term state"));
      }
      ASSERT_TRUE(put(**stored).ok());
    }
  }
  EXPECT_TRUE(VerifyCounters(store_->Latest(), "T", kWindows, rule,
                             StoredGroups(), {.max_states_per_pass = 3})
                  .ok());
}

// A dose group correction moves each of the subject's term states out of
// the old group's cells and into the new group's, whole (its first window
// stays its first), and leaves every other subject where it was; the
// recount agrees only with the subject's new group.
TEST_F(ApplyReportChangeTest, MoveSubjectGroupsMovesEveryStateOfTheSubject) {
  auto rule = [](const v1::AdverseEventReport& r) {
    return Report(r.pt(), r.grade(), r.serious());
  };
  const struct {
    const char* report_id;
    const char* subject_id;
    const char* pt;
    int window;
  } reports[] = {{"R1", "S1", "Headache", 0},
                 {"R2", "S1", "Headache", 2},
                 {"R3", "S1", "Rash", 1},
                 {"R4", "S2", "Headache", 1}};
  for (const auto& spec : reports) {
    v1::AdverseEventReport r;
    r.set_site_id("01");
    r.set_report_id(spec.report_id);
    r.set_version(1);
    r.set_subject_id(spec.subject_id);
    r.set_pt(spec.pt);
    r.set_grade(1);
    const std::vector<TermKey> rows = rule(r);
    const CountedVersion added{r.subject_id(), 0, spec.window, rows};
    ASSERT_TRUE(store_
                    ->Commit([&](Txn& txn) {
                      StoredReport stored;
                      *stored.mutable_report() = r;
                      stored.set_window(spec.window);
                      stored.set_dose_group(0);
                      WriteReportVersion(txn, "T", stored, /*newest=*/true);
                      return ApplyReportChange(txn, "T", kWindows, nullptr,
                                               &added);
                    })
                    .ok());
  }
  const TermKey headache = Report("Headache", 1, false)[0];
  const TermKey rash = Report("Rash", 1, false)[0];
  const TermKey any_ae{Level::kOverall, "", "", "any_ae"};
  // S1 moves from group 0 to 1; S9 has no states (nothing to move).
  const GroupMoves moves = {{"S1", {.from = 0, .to = 1}},
                            {"S9", {.from = 0, .to = 1}}};
  ASSERT_TRUE(store_
                  ->Commit([&](Txn& txn) {
                    return MoveSubjectGroups(txn, "T", kWindows, moves);
                  })
                  .ok());
  // S1 is new to Headache in window 0 and has it again in window 2.
  EXPECT_EQ(Counter(headache, 1, 0), Cell(1, 1, 1));
  EXPECT_EQ(Counter(headache, 1, 2), Cell(1, 0, 1));
  EXPECT_EQ(Counter(headache, 0, 0), Cell(0, 0, 0));
  EXPECT_EQ(Counter(headache, 0, 1), Cell(1, 1, 1));  // S2 stays
  EXPECT_EQ(Counter(rash, 1, 1), Cell(1, 1, 1));
  EXPECT_EQ(Counter(rash, 0, 1), Cell(0, 0, 0));
  EXPECT_EQ(Counter(any_ae, 1, 1), Cell(1, 0, 1));  // S1's Rash, not new
  EXPECT_EQ(Counter(any_ae, 0, 1), Cell(1, 1, 1));  // S2's Headache

  SubjectGroups corrected = StoredGroups();
  EXPECT_EQ(VerifyCounters(store_->Latest(), "T", kWindows, rule, corrected)
                .status()
                .code(),
            absl::StatusCode::kDataLoss);  // S1's reports say group 0
  corrected["S1"] = 1;
  EXPECT_TRUE(
      VerifyCounters(store_->Latest(), "T", kWindows, rule, corrected).ok());
}

TEST_F(ApplyReportChangeTest, RecountTermsRebuildsOnlyTheNamedRows) {
  // Stored under an old rule without the grade >= 3 row; the new rule has it.
  auto old_rule = [](const v1::AdverseEventReport& r) {
    return Report(r.pt(), 1, r.serious());
  };
  auto new_rule = [](const v1::AdverseEventReport& r) {
    return Report(r.pt(), r.grade(), r.serious());
  };
  for (int i = 1; i <= 3; ++i) {
    v1::AdverseEventReport r;
    r.set_site_id("01");
    r.set_report_id(absl::StrCat("R", i));
    r.set_version(1);
    r.set_subject_id(absl::StrCat("S", i % 2));
    r.set_pt(i == 3 ? "Rash" : "Headache");
    r.set_grade(i + 1);  // 2, 3, 4
    const std::vector<TermKey> rows = old_rule(r);
    const CountedVersion added{r.subject_id(), 1, i - 1, rows};
    ASSERT_TRUE(store_
                    ->Commit([&](Txn& txn) {
                      StoredReport stored;
                      *stored.mutable_report() = r;
                      stored.set_window(i - 1);
                      stored.set_dose_group(1);
                      WriteReportVersion(txn, "T", stored, /*newest=*/true);
                      return ApplyReportChange(txn, "T", kWindows, nullptr,
                                               &added);
                    })
                    .ok());
  }
  const TermKey grade3{Level::kOverall, "", "", "grade_3_plus"};
  // A stale state of the row (a subject with no such report) goes too.
  ASSERT_TRUE(store_
                  ->Commit([&](Txn& txn) {
                    txn.Put(Cf::kSubjectTerms,
                            SubjectTermKey("T", grade3, "GHOST"),
                            EncodeWindowCounts({1, 0, 0}));
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_EQ(
      VerifyCounters(store_->Latest(), "T", kWindows, new_rule, StoredGroups())
          .status()
          .code(),
      absl::StatusCode::kDataLoss);
  const std::vector<TermKey> terms = {grade3};
  ASSERT_TRUE(store_
                  ->Commit([&](Txn& txn) {
                    return RecountTerms(txn, "T", kWindows, terms, new_rule,
                                        StoredGroups());
                  })
                  .ok());
  EXPECT_TRUE(
      VerifyCounters(store_->Latest(), "T", kWindows, new_rule, StoredGroups())
          .ok());
  // R2 (S0, window 1) and R3 (S1, window 2) are grade >= 3.
  EXPECT_EQ(Counter(grade3, 1, 1), Cell(1, 1, 1));
  EXPECT_EQ(Counter(grade3, 1, 2), Cell(1, 1, 1));
  EXPECT_EQ(Counter(grade3, 1, 0), Cell(0, 0, 0));

  EXPECT_EQ(*ReadCountingRulesVersion(store_->Latest()), 0);
  ASSERT_TRUE(store_
                  ->Commit([](Txn& txn) {
                    WriteCountingRulesVersion(txn, 2);
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_EQ(*ReadCountingRulesVersion(store_->Latest()), 2);
}

// Rewrites every counter row into schema 1's one-key-per-cell layout and
// marks the store as schema 1, as a build before schema 2 left it. Only the
// terms for which `keep_row(term)` is true stay rows (an interrupted upgrade).
absl::Status DowngradeToSchema1(
    Store& store, const std::function<bool(const TermKey&)>& keep_row =
                      [](const TermKey&) { return false; }) {
  std::vector<std::pair<std::string, std::string>> rows;
  absl::Status scan = store.Latest().Scan(
      Cf::kCounters, "", "", [&](std::string_view k, std::string_view v) {
        rows.emplace_back(k, v);
        return true;
      });
  if (!scan.ok()) return scan;
  return store.Commit([&](Txn& txn) -> absl::Status {
    for (const auto& [key, value] : rows) {
      auto parts = DecodeCounterRowKey(key);
      auto row = DecodeCounterRow(value);
      if (!parts.has_value() || !row.ok()) {
        return absl::InternalError("not a row");
      }
      if (keep_row(parts->term)) continue;
      txn.Delete(Cf::kCounters, key);
      for (const CounterCell& cell : *row) {
        std::string cell_key = key;
        AppendBigEndian16(&cell_key, static_cast<uint16_t>(cell.group));
        AppendBigEndian16(&cell_key, static_cast<uint16_t>(cell.window));
        txn.Put(Cf::kCounters, cell_key, EncodeCellCounts(cell.counts));
      }
    }
    txn.Put(Cf::kMeta, "schema_version", "1");
    return absl::OkStatus();
  });
}

TEST_F(ApplyReportChangeTest, OpeningASchema1StoreRewritesCellsIntoRows) {
  // Several terms, groups and windows, and a follow-up that moved a subject.
  const char* pts[] = {"Headache", "Rash", "Nausea", "Fatigue"};
  for (int i = 0; i < 40; ++i) {
    auto r = Report(pts[i % 4], 1 + i % 4, i % 5 == 0);
    // A subject stays in one dose group.
    Placement at{"S" + std::to_string(i % 7), (i % 7) % kGroups, i % kWindows};
    absl::Status changed = Change(nullptr, nullptr, &r, &at);
    ASSERT_TRUE(changed.ok()) << changed;
  }
  auto v1 = Report("Headache", 1, false);
  auto v2 = Report("Rash", 3, true);
  Placement w0{"S100", 1, 0}, w2{"S100", 1, 2};
  ASSERT_TRUE(Change(nullptr, nullptr, &v1, &w0).ok());
  ASSERT_TRUE(Change(&v1, &w0, &v2, &w2).ok());

  auto all_rows = [&](Store& store) {
    std::vector<TermCounters> out;
    for (Level level : {Level::kPt, Level::kSoc, Level::kOverall}) {
      bool more = false;
      auto rows = ReadTermCounters(store.Latest(), "T", level, kGroups,
                                   kWindows, "", 1000, &more);
      EXPECT_TRUE(rows.ok()) << rows.status();
      for (auto& row : *rows) out.push_back(std::move(row));
    }
    return out;
  };
  const std::vector<TermCounters> before = all_rows(*store_);
  ASSERT_EQ(before.size(), 4u + 4u + 3u);  // PTs, SOCs, any/SAE/grade>=3

  // Half the terms already converted: an upgrade that was interrupted.
  ASSERT_TRUE(DowngradeToSchema1(*store_, [](const TermKey& t) {
                return t.pt == "Rash" || t.overall == "any_ae";
              }).ok());
  size_t cell_keys = 0;
  ASSERT_TRUE(store_->Latest()
                  .Scan(Cf::kCounters, "", "",
                        [&](std::string_view k, std::string_view) {
                          cell_keys += !DecodeCounterRowKey(k).has_value();
                          return true;
                        })
                  .ok());
  ASSERT_GT(cell_keys, 20u);
  store_.reset();

  auto reopened = Store::Open({.path = dir_.Sub("db")});
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  store_ = *std::move(reopened);
  const std::vector<TermCounters> after = all_rows(*store_);
  ASSERT_EQ(after.size(), before.size());
  for (size_t i = 0; i < before.size(); ++i) {
    EXPECT_EQ(after[i].term, before[i].term);
    EXPECT_EQ(after[i].cells, before[i].cells) << after[i].term.pt;
  }
  // Nothing of the old layout is left, and the version is recorded.
  ASSERT_TRUE(store_->Latest()
                  .Scan(Cf::kCounters, "", "",
                        [&](std::string_view k, std::string_view) {
                          EXPECT_TRUE(DecodeCounterRowKey(k).has_value());
                          return true;
                        })
                  .ok());
  auto version = store_->Latest().Get(Cf::kMeta, "schema_version");
  ASSERT_TRUE(version.ok() && version->has_value());
  EXPECT_EQ(**version, std::to_string(kSchemaVersion));
}

TEST_F(ApplyReportChangeTest, UpgradeRefusesATermStoredInBothLayouts) {
  auto r = Report("Headache", 1, false);
  Placement at{"S1", 0, 0};
  ASSERT_TRUE(Change(nullptr, nullptr, &r, &at).ok());
  ASSERT_TRUE(DowngradeToSchema1(*store_).ok());
  TermKey pt{Level::kPt, "SOC-Headache", "Headache", ""};
  ASSERT_TRUE(store_
                  ->Commit([&](Txn& txn) {
                    txn.Put(Cf::kCounters, CounterRowKey("T", pt),
                            EncodeCounterRow({{0, 0, Cell(1, 1, 1)}}));
                    return absl::OkStatus();
                  })
                  .ok());
  store_.reset();
  auto reopened = Store::Open({.path = dir_.Sub("db")});
  ASSERT_FALSE(reopened.ok());
  EXPECT_EQ(reopened.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(reopened.status().message(),
              ::testing::HasSubstr("schema version 1"));
}

TEST(StoreSchemaTest, RefusesANewerSchema) {
  testing::TempDir dir;
  {
    auto store = Store::Open({.path = dir.Sub("db")});
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)
                    ->Commit([](Txn& txn) {
                      txn.Put(Cf::kMeta, "schema_version",
                              std::to_string(kSchemaVersion + 1));
                      return absl::OkStatus();
                    })
                    .ok());
  }
  auto store = Store::Open({.path = dir.Sub("db")});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace aesignal::storage
