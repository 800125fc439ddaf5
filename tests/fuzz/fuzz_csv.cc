// Fuzz target: the CLI's CSV input (clients/cli/csv.h, csv_mapping.h) on
// arbitrary bytes, as `aesignal subjects enroll`, `reports submit` and
// `baselines load` read a user's file: the first record is the header, mapped
// onto aesignal.v1.Subject, AdverseEventReport and Baseline; every later
// record is filled into a message of each type whose header was accepted.
//
// Checks: no crash; reading ends; errors are INVALID_ARGUMENT naming a line;
// record lines never decrease; every record survives CsvLine and a re-read
// unchanged; cell errors name a header column; a filled message holds the
// cells' values (strings verbatim after trimming, enums never UNSPECIFIED).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/string_view.h"
#include "aesignal/v1/report.pb.h"
#include "aesignal/v1/signal.pb.h"
#include "aesignal/v1/trial.pb.h"
#include "clients/cli/csv.h"
#include "clients/cli/csv_mapping.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "tests/fuzz/fuzz_check.h"

namespace aesignal::cli {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

// Every record of `text`; nullopt if reading fails (the error is checked).
std::optional<std::vector<CsvRecord>> ReadAll(const std::string& text) {
  std::istringstream in(text);
  CsvReader reader(in);
  std::vector<CsvRecord> records;
  int last_line = 1;
  while (true) {
    auto next = reader.Next();
    if (!next.ok()) {
      FUZZ_CHECK(next.status().code() == absl::StatusCode::kInvalidArgument)
          << next.status();
      // "N: reason", N a line at or after the last record's.
      const absl::string_view message = next.status().message();
      const size_t colon = message.find(": ");
      int line = 0;
      FUZZ_CHECK(colon != absl::string_view::npos &&
                 absl::SimpleAtoi(message.substr(0, colon), &line) &&
                 line >= last_line)
          << next.status();
      return std::nullopt;
    }
    if (!next->has_value()) return records;
    const CsvRecord& record = **next;
    FUZZ_CHECK(record.line >= last_line)
        << "line " << record.line << " after " << last_line;
    FUZZ_CHECK(!record.fields.empty());
    // Each record consumes at least one byte, so reading ends.
    FUZZ_CHECK(records.size() <= text.size()) << "more records than bytes";
    last_line = record.line;
    records.push_back(**std::move(next));
  }
}

// A record written with CsvLine reads back as the same fields. (Written after
// a header line, so a leading byte-order mark stays data.)
void CheckCsvLine(const CsvRecord& record) {
  const std::string text = "h\n" + CsvLine(record.fields) + "\n";
  auto again = ReadAll(text);
  FUZZ_CHECK(again.has_value()) << "CsvLine output does not read back";
  FUZZ_CHECK(again->size() == 2 && (*again)[1].fields == record.fields)
      << "CsvLine round trip changed the record of line " << record.line << " ("
      << record.fields.size() << " fields; read back "
      << (again->size() == 2 ? (*again)[1].fields.size() : 0) << " fields in "
      << again->size() << " records)";
}

void CheckFilled(const std::vector<std::string>& header,
                 const std::vector<std::string>& cells, const Descriptor* type,
                 const Message& message) {
  const auto* reflection = message.GetReflection();
  for (size_t i = 0; i < header.size(); ++i) {
    const FieldDescriptor* field = type->FindFieldByName(
        absl::AsciiStrToLower(absl::StripAsciiWhitespace(header[i])));
    FUZZ_CHECK(field != nullptr) << "accepted unknown column " << header[i];
    const absl::string_view cell = absl::StripAsciiWhitespace(cells[i]);
    if (cell.empty() || field->is_repeated()) continue;
    switch (field->cpp_type()) {
      case FieldDescriptor::CPPTYPE_STRING:
        FUZZ_CHECK(reflection->GetString(message, field) == cell)
            << "column " << header[i];
        break;
      case FieldDescriptor::CPPTYPE_ENUM:
        FUZZ_CHECK(reflection->GetEnumValue(message, field) != 0)
            << "column " << header[i] << " set to UNSPECIFIED from '" << cell
            << "'";
        break;
      default:
        break;
    }
  }
}

void CheckMapping(const Descriptor* type, const std::vector<CsvRecord>& rows) {
  const std::vector<std::string>& header = rows[0].fields;
  auto mapping = CsvMapping::Create(type, header);
  if (!mapping.ok()) {
    FUZZ_CHECK(mapping.status().code() == absl::StatusCode::kInvalidArgument)
        << mapping.status();
    return;
  }
  FUZZ_CHECK(mapping->num_columns() == header.size());
  for (size_t r = 1; r < rows.size(); ++r) {
    std::unique_ptr<Message> message(
        google::protobuf::MessageFactory::generated_factory()
            ->GetPrototype(type)
            ->New());
    const auto errors = mapping->Fill(rows[r].fields, message.get());
    for (const CellError& e : errors) {
      FUZZ_CHECK(!e.reason.empty());
      if (e.column.empty()) continue;  // the record's field count
      bool named = false;
      for (const std::string& h : header) {
        named = named || absl::StripAsciiWhitespace(h) == e.column;
      }
      FUZZ_CHECK(named) << "error names no column of the header: " << e.column;
    }
    if (errors.empty()) {
      FUZZ_CHECK(rows[r].fields.size() == header.size());
      CheckFilled(header, rows[r].fields, type, *message);
    }
  }
}

}  // namespace
}  // namespace aesignal::cli

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace cli = aesignal::cli;
  namespace v1 = aesignal::v1;
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto records = cli::ReadAll(text);
  if (!records.has_value() || records->empty()) return 0;
  for (const cli::CsvRecord& record : *records) cli::CheckCsvLine(record);
  cli::CheckMapping(v1::Subject::descriptor(), *records);
  cli::CheckMapping(v1::AdverseEventReport::descriptor(), *records);
  cli::CheckMapping(v1::Baseline::descriptor(), *records);
  return 0;
}
