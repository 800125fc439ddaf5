#include "storage/dirty_mark.h"

#include <algorithm>
#include <utility>

#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "storage/keys.h"
#include "storage/records.pb.h"

namespace aesignal::storage {
namespace {

// Protobuf wire types this codec reads.
constexpr uint64_t kVarint = 0;
constexpr uint64_t kLengthDelimited = 2;

// DirtyTerm, its cell_reports map entries, and ReportRef (records.proto).
constexpr uint64_t kMarkReportId = 1, kMarkReportVersion = 2,
                   kMarkGeneration = 3, kMarkCellReports = 4, kMarkChange = 5;
constexpr uint64_t kEntryKey = 1, kEntryValue = 2;
constexpr uint64_t kRefReportId = 1, kRefReportVersion = 2;
constexpr uint64_t kChangeAction = 1, kChangeName = 2, kChangeVersion = 3;

// One field as read from the wire: a varint's value or a length-delimited
// field's bytes (a view into the input).
struct Field {
  uint64_t number = 0;
  uint64_t wire_type = 0;
  uint64_t varint = 0;
  std::string_view bytes;
};

// A tag or a size as protobuf's serializer writes it: the shortest varint,
// of at most 32 bits. Protobuf's parser rejects tags and sizes longer than
// 5 bytes (an 8-byte 0, tests/fuzz/regressions/fuzz_dirty_mark/
// overlong-entry-size), so the fast path leaves any non-shortest encoding to
// it.
bool ConsumeShortestVarint32(std::string_view* in, uint64_t* v) {
  std::string_view rest = *in;
  if (!ConsumeVarint(&rest, v) || *v > UINT32_MAX) return false;
  const size_t length = in->size() - rest.size();
  if (length > 1 && (*in)[length - 1] == 0) return false;  // overlong
  *in = rest;
  return true;
}

// Reads one varint or length-delimited field; false for any other wire type
// or a malformed one (the caller then leaves the record to protobuf).
bool ConsumeField(std::string_view* in, Field* field) {
  uint64_t tag = 0;
  if (!ConsumeShortestVarint32(in, &tag)) return false;
  field->number = tag >> 3;
  field->wire_type = tag & 7;
  if (field->wire_type == kVarint) return ConsumeVarint(in, &field->varint);
  if (field->wire_type != kLengthDelimited) return false;
  uint64_t size = 0;
  if (!ConsumeShortestVarint32(in, &size) || size > in->size()) return false;
  field->bytes = in->substr(0, size);
  in->remove_prefix(size);
  return true;
}

void AppendTag(std::string* out, uint64_t number, uint64_t wire_type) {
  AppendVarint(out, number << 3 | wire_type);
}

bool IsAscii(std::string_view bytes) {
  return std::none_of(bytes.begin(), bytes.end(),
                      [](char c) { return (c & 0x80) != 0; });
}

// Whether `bytes` is a ReportRef this codec may copy unread: its two fields
// only, each at most once, and an ASCII report id (protobuf checks proto3
// strings for UTF-8; non-ASCII ids take its path).
bool IsPlainReportRef(std::string_view bytes) {
  bool seen_id = false, seen_version = false;
  Field f;
  while (!bytes.empty()) {
    if (!ConsumeField(&bytes, &f)) return false;
    if (f.number == kRefReportId && f.wire_type == kLengthDelimited &&
        !seen_id) {
      seen_id = true;
      if (!IsAscii(f.bytes)) return false;
    } else if (f.number == kRefReportVersion && f.wire_type == kVarint &&
               !seen_version) {
      seen_version = true;
    } else {
      return false;
    }
  }
  return true;
}

// Whether `bytes` is a ChangeRef this codec may copy unread: its three
// fields only, each at most once, its strings ASCII (as IsPlainReportRef).
bool IsPlainChangeRef(std::string_view bytes) {
  bool seen[4] = {false, false, false, false};
  Field f;
  while (!bytes.empty()) {
    if (!ConsumeField(&bytes, &f)) return false;
    const bool known =
        ((f.number == kChangeAction || f.number == kChangeName) &&
         f.wire_type == kLengthDelimited && IsAscii(f.bytes)) ||
        (f.number == kChangeVersion && f.wire_type == kVarint);
    if (!known || seen[f.number]) return false;
    seen[f.number] = true;
  }
  return true;
}

// A cell of the updated mark: the whole encoded entry kept from the old mark
// (copied as it is), or the cell report that replaces it.
struct Cell {
  int32_t key = 0;
  std::string_view kept_entry;
  const CellReport* fresh = nullptr;
};

// Reads a cell_reports entry (key and value each at most once, as protobuf
// writes them); false if it is laid out otherwise.
bool ConsumeCell(std::string_view entry, Cell* cell) {
  bool seen_key = false, seen_value = false;
  Field f;
  while (!entry.empty()) {
    if (!ConsumeField(&entry, &f)) return false;
    if (f.number == kEntryKey && f.wire_type == kVarint && !seen_key) {
      seen_key = true;
      cell->key = static_cast<int32_t>(f.varint);  // int32: low 32 bits
    } else if (f.number == kEntryValue && f.wire_type == kLengthDelimited &&
               !seen_value && IsPlainReportRef(f.bytes)) {
      seen_value = true;
    } else {
      return false;
    }
  }
  return true;
}

size_t VarintSize(uint64_t v) {
  size_t size = 1;
  for (; v >= 0x80; v >>= 7) ++size;
  return size;
}

// Appends a cell_reports entry for `cell`, as protobuf encodes one (key and
// value always; the value's fields only when not empty/zero), without
// building its parts as strings first.
void AppendFreshCell(std::string* out, int32_t key, const CellReport& cell) {
  // int32 fields are sign-extended to 64 bits on the wire.
  const uint64_t wire_key = static_cast<uint64_t>(static_cast<int64_t>(key));
  const size_t id_size = cell.report_id.size();
  const size_t ref_size =
      (id_size == 0 ? 0 : 1 + VarintSize(id_size) + id_size) +
      (cell.report_version == 0 ? 0 : 1 + VarintSize(cell.report_version));
  const size_t entry_size =
      1 + VarintSize(wire_key) + 1 + VarintSize(ref_size) + ref_size;
  AppendTag(out, kMarkCellReports, kLengthDelimited);
  AppendVarint(out, entry_size);
  AppendTag(out, kEntryKey, kVarint);
  AppendVarint(out, wire_key);
  AppendTag(out, kEntryValue, kLengthDelimited);
  AppendVarint(out, ref_size);
  if (id_size != 0) AppendLengthDelimited(out, kRefReportId, cell.report_id);
  if (cell.report_version != 0) {
    AppendTag(out, kRefReportVersion, kVarint);
    AppendVarint(out, cell.report_version);
  }
}

// Reads the stored mark's generation, cells and change (the whole encoded
// field, empty if none) into `generation`, `cells` and `change`; false if
// the mark is laid out otherwise than this codec and protobuf's serializer
// write marks.
bool ReadPlainMark(std::string_view old, uint64_t* generation,
                   std::vector<Cell>* cells, std::string_view* change) {
  Field f;
  while (!old.empty()) {
    const std::string_view field_start = old;
    if (!ConsumeField(&old, &f)) return false;
    if (f.number == kMarkChange && f.wire_type == kLengthDelimited) {
      // Protobuf merges a message field given twice: leave that to it.
      if (!change->empty() || !IsPlainChangeRef(f.bytes)) return false;
      *change = field_start.substr(0, field_start.size() - old.size());
    } else if (f.number == kMarkCellReports &&
               f.wire_type == kLengthDelimited) {
      Cell cell;
      if (!ConsumeCell(f.bytes, &cell)) return false;
      cell.kept_entry = field_start.substr(0, field_start.size() - old.size());
      cells->push_back(cell);
    } else if (f.number == kMarkGeneration && f.wire_type == kVarint) {
      *generation = f.varint;  // a repeated scalar: the last one wins
    } else if (f.number == kMarkReportId && f.wire_type == kLengthDelimited) {
      // Replaced by the update; checked so that whatever this path accepts,
      // protobuf would parse too (it checks proto3 strings for UTF-8).
      if (!IsAscii(f.bytes)) return false;
    } else if (f.number == kMarkReportVersion && f.wire_type == kVarint) {
      // Replaced by the update.
    } else {
      return false;  // unknown to this codec: protobuf keeps it
    }
  }
  return true;
}

// Encodes `mark` as the codec's fast path expects: deterministically.
std::string EncodeMark(const DirtyTerm& mark) {
  std::string out;
  {  // the streams write `out` in full when they go
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    mark.SerializeToCodedStream(&coded);
  }
  return out;
}

}  // namespace

namespace dirty_mark_internal {

std::optional<std::string> UpdateEncoded(std::string_view old,
                                         std::string_view report_id,
                                         uint32_t report_version,
                                         const std::vector<CellReport>& cells) {
  uint64_t generation = 0;
  std::vector<Cell> merged;
  merged.reserve(cells.size() + 16);
  std::string_view change;
  if (!ReadPlainMark(old, &generation, &merged, &change)) return std::nullopt;
  for (const CellReport& cell : cells) {
    Cell fresh;
    fresh.key = DirtyCellKey(cell.group, cell.window);
    fresh.fresh = &cell;
    merged.push_back(fresh);
  }
  // A map keeps the last entry per key: order by key, later entries first,
  // then drop the rest of each key's run.
  std::vector<size_t> order(merged.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return merged[a].key != merged[b].key ? merged[a].key < merged[b].key
                                          : a > b;
  });

  std::string out;
  out.reserve(32 + old.size() + 24 * cells.size());
  if (!report_id.empty()) AppendLengthDelimited(&out, kMarkReportId, report_id);
  if (report_version != 0) {
    AppendTag(&out, kMarkReportVersion, kVarint);
    AppendVarint(&out, report_version);
  }
  // As proto3 does, a zero (the generation wrapping around) is not written.
  if (generation + 1 != 0) {
    AppendTag(&out, kMarkGeneration, kVarint);
    AppendVarint(&out, generation + 1);
  }
  for (size_t i = 0; i < order.size(); ++i) {
    if (i > 0 && merged[order[i]].key == merged[order[i - 1]].key) continue;
    const Cell& cell = merged[order[i]];
    if (cell.fresh != nullptr) {
      AppendFreshCell(&out, cell.key, *cell.fresh);
    } else {
      out.append(cell.kept_entry);
    }
  }
  out.append(change);  // field 5 follows the cells, as protobuf writes it
  return out;
}

// The general path: protobuf decodes, the change is applied to the message,
// and it is encoded deterministically (cells in key order).
absl::StatusOr<std::string> UpdateParsed(std::string_view old,
                                         std::string_view report_id,
                                         uint32_t report_version,
                                         const std::vector<CellReport>& cells) {
  DirtyTerm mark;
  if (!mark.ParseFromArray(old.data(), static_cast<int>(old.size()))) {
    return absl::DataLossError("unparsable stored dirty term");
  }
  mark.set_report_id(std::string(report_id));
  mark.set_report_version(report_version);
  mark.set_generation(mark.generation() + 1);
  for (const CellReport& cell : cells) {
    ReportRef& ref =
        (*mark.mutable_cell_reports())[DirtyCellKey(cell.group, cell.window)];
    ref.set_report_id(cell.report_id);
    ref.set_report_version(cell.report_version);
  }
  return EncodeMark(mark);
}

}  // namespace dirty_mark_internal

absl::StatusOr<std::string> UpdateDirtyMark(
    std::string_view old, std::string_view report_id, uint32_t report_version,
    const std::vector<CellReport>& cells) {
  std::optional<std::string> fast =
      dirty_mark_internal::UpdateEncoded(old, report_id, report_version, cells);
  if (fast.has_value()) return *std::move(fast);
  return dirty_mark_internal::UpdateParsed(old, report_id, report_version,
                                           cells);
}

absl::StatusOr<std::string> UpdateDirtyMarkForChange(
    std::string_view old, const v1::ChangeRef* change) {
  DirtyTerm mark;
  if (!mark.ParseFromArray(old.data(), static_cast<int>(old.size()))) {
    return absl::DataLossError("unparsable stored dirty term");
  }
  mark.set_generation(mark.generation() + 1);
  if (change != nullptr) *mark.mutable_change() = *change;
  return EncodeMark(mark);
}

}  // namespace aesignal::storage
