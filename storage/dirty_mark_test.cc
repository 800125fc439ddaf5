#include "storage/dirty_mark.h"

#include <random>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "storage/records.pb.h"

namespace aesignal::storage {
namespace {

using dirty_mark_internal::UpdateEncoded;
using dirty_mark_internal::UpdateParsed;

// What marking did before the codec: protobuf decodes, changes, encodes
// (deterministically, cells in key order).
std::string Reference(const std::string& old, std::string_view report_id,
                      uint32_t report_version,
                      const std::vector<CellReport>& cells) {
  auto bytes = UpdateParsed(old, report_id, report_version, cells);
  EXPECT_TRUE(bytes.ok()) << bytes.status();
  return bytes.ok() ? *bytes : "";
}

DirtyTerm Parse(const std::string& bytes) {
  DirtyTerm mark;
  EXPECT_TRUE(mark.ParseFromString(bytes));
  return mark;
}

TEST(DirtyMarkTest, AFirstMarkHasGenerationOneAndItsCells) {
  auto bytes = UpdateDirtyMark(
      "", "R-7", 2, {{0, 3, "R-5", 1}, {1, 0, "R-7", 2}, {0, 3, "R-6", 1}});
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  const DirtyTerm mark = Parse(*bytes);
  EXPECT_EQ(mark.report_id(), "R-7");
  EXPECT_EQ(mark.report_version(), 2u);
  EXPECT_EQ(mark.generation(), 1u);
  ASSERT_EQ(mark.cell_reports_size(), 2);
  EXPECT_EQ(mark.cell_reports().at(3).report_id(), "R-6");  // the later one
  EXPECT_EQ(mark.cell_reports().at(256).report_id(), "R-7");
  EXPECT_EQ(mark.cell_reports().at(256).report_version(), 2u);
}

TEST(DirtyMarkTest, KeepsTheCellsItDoesNotChangeAndBumpsTheGeneration) {
  DirtyTerm old;
  old.set_report_id("R-1");
  old.set_report_version(1);
  old.set_generation(41);
  (*old.mutable_cell_reports())[2].set_report_id("R-1");
  (*old.mutable_cell_reports())[2].set_report_version(1);
  (*old.mutable_cell_reports())[258].set_report_id("R-0");
  const auto bytes = UpdateEncoded(old.SerializeAsString(), "R-2", 3,
                                   {{1, 2, "R-2", 3}, {4, 9, "R-2", 3}});
  ASSERT_TRUE(bytes.has_value());
  const DirtyTerm mark = Parse(*bytes);
  EXPECT_EQ(mark.generation(), 42u);
  EXPECT_EQ(mark.report_id(), "R-2");
  ASSERT_EQ(mark.cell_reports_size(), 3);
  EXPECT_EQ(mark.cell_reports().at(2).report_id(), "R-1");
  EXPECT_EQ(mark.cell_reports().at(258).report_id(), "R-2");
  EXPECT_EQ(mark.cell_reports().at(258).report_version(), 3u);
  EXPECT_EQ(mark.cell_reports().at(4 * 256 + 9).report_id(), "R-2");
}

// Random marks as protobuf writes them (cells in its own order), sometimes
// two encodings concatenated (protobuf merges them: the last value per cell
// and per scalar wins), and random changes: the codec's bytes equal
// protobuf's deterministic encoding of the same change.
TEST(DirtyMarkTest, EqualsProtobufOnRandomMarksAndChanges) {
  std::mt19937_64 rng(20261130);
  auto uniform = [&](uint64_t n) { return rng() % n; };
  auto random_mark = [&] {
    DirtyTerm mark;
    if (uniform(4) != 0) mark.set_report_id(absl::StrCat("R-", uniform(1000)));
    mark.set_report_version(static_cast<uint32_t>(uniform(3)));
    mark.set_generation(uniform(3) == 0 ? ~uint64_t{0} - uniform(2)
                                        : uniform(1 << 20));
    const int cells = static_cast<int>(uniform(60));
    for (int i = 0; i < cells; ++i) {
      ReportRef& ref = (*mark.mutable_cell_reports())[static_cast<int>(
          uniform(5) * 256 + uniform(10))];
      if (uniform(5) != 0) ref.set_report_id(absl::StrCat("S-", uniform(99)));
      ref.set_report_version(static_cast<uint32_t>(uniform(4)));
    }
    if (uniform(3) == 0) {
      mark.mutable_change()->set_action(uniform(2) ? "subject.correct" : "");
      mark.mutable_change()->set_name(
          absl::StrCat("trials/T/subjects/S", uniform(9)));
      mark.mutable_change()->set_version(static_cast<uint32_t>(uniform(3)));
    }
    return mark;
  };
  int changed = 0;
  for (int trial = 0; trial < 2000; ++trial) {
    std::string old;
    bool has_change = false;
    if (uniform(10) != 0) {
      const DirtyTerm first = random_mark();
      has_change = first.has_change();
      old = first.SerializeAsString();
    }
    if (uniform(4) == 0) {
      // Protobuf merges a second change into the first: the codec leaves
      // that to it (EncodingsItDoesNotKnowGoThroughProtobuf).
      DirtyTerm second = random_mark();
      if (has_change) second.clear_change();
      old += second.SerializeAsString();
    }
    std::vector<CellReport> cells(uniform(20));
    for (CellReport& cell : cells) {
      cell = {static_cast<int>(uniform(5)), static_cast<int>(uniform(10)),
              uniform(6) == 0 ? "" : absl::StrCat("N-", uniform(99)),
              static_cast<uint32_t>(uniform(3))};
    }
    const std::string id = uniform(8) == 0 ? "" : absl::StrCat("N-", trial);
    const uint32_t version = static_cast<uint32_t>(uniform(3));
    const auto fast = UpdateEncoded(old, id, version, cells);
    ASSERT_TRUE(fast.has_value()) << "trial " << trial;
    ASSERT_EQ(*fast, Reference(old, id, version, cells)) << "trial " << trial;
    changed += cells.empty() ? 0 : 1;
  }
  EXPECT_GT(changed, 1500);
}

TEST(DirtyMarkTest, EncodingsItDoesNotKnowGoThroughProtobuf) {
  DirtyTerm base;
  base.set_generation(7);
  (*base.mutable_cell_reports())[1].set_report_id("R-1");
  const std::string plain = base.SerializeAsString();
  // A field DirtyTerm does not define (number 9, varint 5): kept by protobuf.
  const std::string unknown = plain + std::string("\x48\x05", 2);
  // An entry whose value appears twice: protobuf merges the two messages.
  const std::string merged_value =
      plain +
      std::string("\x22\x0b\x08\x01\x12\x02\x10\x04\x12\x03\x0a\x01X", 13);
  // A kept report id protobuf must check as UTF-8.
  DirtyTerm accented = base;
  (*accented.mutable_cell_reports())[1].set_report_id("R-\xc3\xa9");
  // A change whose name protobuf must check, and a change given twice
  // (protobuf merges the two messages).
  DirtyTerm accented_change = base;
  accented_change.mutable_change()->set_name("trials/T/subjects/\xc3\xa9");
  DirtyTerm with_change = base;
  with_change.mutable_change()->set_action("subject.correct");
  DirtyTerm second_change;
  second_change.mutable_change()->set_version(3);
  const std::string two_changes =
      with_change.SerializeAsString() + second_change.SerializeAsString();
  const std::vector<CellReport> cells = {{0, 2, "R-2", 1}};
  for (const std::string& old :
       {unknown, merged_value, accented.SerializeAsString(),
        accented_change.SerializeAsString(), two_changes}) {
    EXPECT_FALSE(UpdateEncoded(old, "R-2", 1, cells).has_value());
    auto bytes = UpdateDirtyMark(old, "R-2", 1, cells);
    ASSERT_TRUE(bytes.ok()) << bytes.status();
    EXPECT_EQ(*bytes, Reference(old, "R-2", 1, cells));
    EXPECT_EQ(Parse(*bytes).generation(), 8u);
  }
  const DirtyTerm merged_change =
      Parse(*UpdateDirtyMark(two_changes, "R-2", 1, cells));
  EXPECT_EQ(merged_change.change().action(), "subject.correct");
  EXPECT_EQ(merged_change.change().version(), 3u);
  // The merged value is version 4 with report id "X".
  const DirtyTerm mark = Parse(*UpdateDirtyMark(merged_value, "R-2", 1, cells));
  EXPECT_EQ(mark.cell_reports().at(1).report_id(), "X");
  EXPECT_EQ(mark.cell_reports().at(1).report_version(), 4u);
}

// A change other than a report keeps the row's report and cells, and a
// report after it keeps the change, on both paths, until the evaluator
// removes the mark.
TEST(DirtyMarkTest, AChangeAndTheReportsAroundItAreKept) {
  auto reported = UpdateDirtyMark("", "R-1", 1, {{0, 3, "R-1", 1}});
  ASSERT_TRUE(reported.ok()) << reported.status();
  v1::ChangeRef change;
  change.set_action("subject.correct");
  change.set_name("trials/T/subjects/S-4");
  change.set_version(2);
  auto changed = UpdateDirtyMarkForChange(*reported, &change);
  ASSERT_TRUE(changed.ok()) << changed.status();
  DirtyTerm mark = Parse(*changed);
  EXPECT_EQ(mark.report_id(), "R-1");
  EXPECT_EQ(mark.generation(), 2u);
  EXPECT_EQ(mark.cell_reports().at(3).report_id(), "R-1");
  EXPECT_EQ(mark.change().name(), "trials/T/subjects/S-4");

  const auto fast = UpdateEncoded(*changed, "R-2", 1, {{1, 3, "R-2", 1}});
  ASSERT_TRUE(fast.has_value());
  EXPECT_EQ(*fast, Reference(*changed, "R-2", 1, {{1, 3, "R-2", 1}}));
  mark = Parse(*fast);
  EXPECT_EQ(mark.report_id(), "R-2");
  EXPECT_EQ(mark.generation(), 3u);
  EXPECT_EQ(mark.change().action(), "subject.correct");
  EXPECT_EQ(mark.change().version(), 2u);

  // A recount names no change and keeps the one there.
  auto recounted = UpdateDirtyMarkForChange(*fast, nullptr);
  ASSERT_TRUE(recounted.ok());
  EXPECT_EQ(Parse(*recounted).change().name(), "trials/T/subjects/S-4");
  auto fresh = UpdateDirtyMarkForChange("", nullptr);
  ASSERT_TRUE(fresh.ok());
  EXPECT_FALSE(Parse(*fresh).has_change());
  EXPECT_EQ(Parse(*fresh).generation(), 1u);
  EXPECT_EQ(UpdateDirtyMarkForChange("\xff", &change).status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(DirtyMarkTest, OverlongTagsAndSizesGoThroughProtobuf) {
  const std::vector<CellReport> cells = {{0, 2, "R-2", 1}};
  // Found by fuzz_dirty_mark: a cell entry whose size, 0, is written in 8
  // bytes. Protobuf reads sizes of at most 5 bytes and rejects it; the fast
  // path read it as 0 and accepted the mark.
  const std::string eight_byte_size("\x22\x80\x80\x80\x80\x80\x80\x80\x00", 9);
  EXPECT_FALSE(UpdateEncoded(eight_byte_size, "R-2", 1, cells).has_value());
  EXPECT_EQ(UpdateDirtyMark(eight_byte_size, "R-2", 1, cells).status().code(),
            absl::StatusCode::kDataLoss);
  // Overlong but short enough for protobuf (a 2-byte size, a 2-byte tag):
  // protobuf's path takes them, with its answer.
  for (const std::string& old :
       {std::string("\x22\x80\x00", 3), std::string("\x98\x00\x07", 3)}) {
    EXPECT_FALSE(UpdateEncoded(old, "R-2", 1, cells).has_value());
    auto bytes = UpdateDirtyMark(old, "R-2", 1, cells);
    ASSERT_TRUE(bytes.ok()) << bytes.status();
    EXPECT_EQ(*bytes, Reference(old, "R-2", 1, cells));
  }
  EXPECT_EQ(
      Parse(*UpdateDirtyMark(std::string("\x98\x00\x07", 3), "R-2", 1, cells))
          .generation(),
      8u);
}

TEST(DirtyMarkTest, AMalformedMarkIsDataLoss) {
  for (const std::string& old :
       {std::string("\x22\x05\x08\x01", 4),  // entry longer than the mark
        std::string("\x18", 1),              // varint cut short
        std::string("\x22\x02\x12\x05", 4),  // value longer than entry
        std::string("\x22\x04\x12\x02\x0a\x05", 6)}) {  // bad report id
    auto bytes = UpdateDirtyMark(old, "R-1", 1, {{0, 0, "R-1", 1}});
    EXPECT_EQ(bytes.status().code(), absl::StatusCode::kDataLoss)
        << absl::CEscape(old);
  }
}

}  // namespace
}  // namespace aesignal::storage
