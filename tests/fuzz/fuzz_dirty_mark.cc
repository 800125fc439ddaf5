// Fuzz target: the dirty-mark codec (storage/dirty_mark.h) on arbitrary
// stored bytes, as a corrupt or foreign DirtyTerm record would reach it,
// checked against protobuf doing the same change.
//
// Input: one byte choosing the change (its low 3 bits: how many cells; the
// rest: which), then the stored mark.
//
// Checks: UpdateDirtyMark succeeds exactly when protobuf parses the stored
// mark (DATA_LOSS otherwise); its result parses, names the new latest
// report, has the stored generation + 1 and every changed cell, and equals
// the general path (protobuf's own decode, change and encode); the fast path
// never accepts a mark protobuf would reject, and when it answers, it
// equals the general path too.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "google/protobuf/util/message_differencer.h"
#include "storage/dirty_mark.h"
#include "storage/records.pb.h"
#include "tests/fuzz/fuzz_check.h"

namespace aesignal::storage {
namespace {

std::vector<CellReport> ChangeOf(uint8_t selector) {
  std::vector<CellReport> cells;
  const int count = selector & 7;
  for (int i = 0; i < count; ++i) {
    // Cells that repeat (a later one wins) and cells beyond the usual grid.
    const int pick = (selector >> 3) + 7 * i;
    cells.push_back({pick % 5, (pick * 3) % 11, i % 3 == 2 ? "" : "N-1",
                     static_cast<uint32_t>(pick % 4)});
  }
  return cells;
}

bool Same(const DirtyTerm& a, const DirtyTerm& b) {
  return google::protobuf::util::MessageDifferencer::Equals(a, b);
}

void Check(uint8_t selector, std::string_view old) {
  const std::vector<CellReport> cells = ChangeOf(selector);
  DirtyTerm stored;
  const bool parsable =
      stored.ParseFromArray(old.data(), static_cast<int>(old.size()));
  const std::optional<std::string> fast =
      dirty_mark_internal::UpdateEncoded(old, "R-9", 2, cells);
  const absl::StatusOr<std::string> updated =
      UpdateDirtyMark(old, "R-9", 2, cells);
  if (!parsable) {
    FUZZ_CHECK(!fast.has_value()) << "fast path accepted an unparsable mark";
    FUZZ_CHECK(updated.status().code() == absl::StatusCode::kDataLoss)
        << "unparsable mark gave " << updated.status();
    return;
  }
  FUZZ_CHECK(updated.ok()) << "parsable mark gave " << updated.status();
  DirtyTerm got;
  FUZZ_CHECK(got.ParseFromString(*updated)) << "result does not parse";
  FUZZ_CHECK(got.report_id() == "R-9" && got.report_version() == 2 &&
             got.generation() == stored.generation() + 1)
      << "latest report or generation not set: " << got.ShortDebugString();
  for (const CellReport& cell : cells) {
    FUZZ_CHECK(
        got.cell_reports().contains(DirtyCellKey(cell.group, cell.window)))
        << "a changed cell is missing";
  }
  // The general path is protobuf's own decode, change and encode.
  const absl::StatusOr<std::string> general =
      dirty_mark_internal::UpdateParsed(old, "R-9", 2, cells);
  FUZZ_CHECK(general.ok()) << general.status();
  DirtyTerm expected;
  FUZZ_CHECK(expected.ParseFromString(*general));
  FUZZ_CHECK(Same(got, expected))
      << "result differs from protobuf's: " << got.ShortDebugString() << " vs "
      << expected.ShortDebugString();
  if (fast.has_value()) {
    DirtyTerm from_fast;
    FUZZ_CHECK(from_fast.ParseFromString(*fast)) << "fast result unparsable";
    FUZZ_CHECK(Same(from_fast, expected)) << "fast path differs";
  }
}

}  // namespace
}  // namespace aesignal::storage

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  aesignal::storage::Check(
      data[0],
      std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1));
  return 0;
}
