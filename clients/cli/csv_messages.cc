#include "clients/cli/csv_messages.h"

#include "absl/strings/str_cat.h"

namespace aesignal::cli {

std::optional<CsvMapping> ReadCsvHeader(
    const std::string& path, const std::istream& in, CsvReader& reader,
    const google::protobuf::Descriptor* descriptor, std::ostream& err) {
  if (!in) {
    err << path << ": cannot open file\n";
    return std::nullopt;
  }
  auto header = reader.Next();
  if (!header.ok() || !header->has_value()) {
    // A reader's error starts with its line number.
    err << path << ":"
        << (header.ok() ? "1: empty file (a header line is required)"
                        : std::string(header.status().message()))
        << "\n";
    return std::nullopt;
  }
  auto mapping = CsvMapping::Create(descriptor, (*header)->fields);
  if (!mapping.ok()) {
    err << path << ":1: " << mapping.status().message() << "\n";
    return std::nullopt;
  }
  return *std::move(mapping);
}

std::string CellErrorText(const std::string& path, int line,
                          const CellError& error) {
  return absl::StrCat(path, ":", line, ": ",
                      error.column.empty() ? "" : error.column + ": ",
                      error.reason);
}

}  // namespace aesignal::cli
