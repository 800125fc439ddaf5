// Reading CSV files into protobuf messages for the CLI commands (subjects,
// baselines, reports): the header is mapped to the message's fields
// (csv_mapping.h), and every problem is printed as "FILE:LINE: COLUMN: REASON"
// so the user can find it in the file.
#ifndef AESIGNAL_CLIENTS_CLI_CSV_MESSAGES_H_
#define AESIGNAL_CLIENTS_CLI_CSV_MESSAGES_H_

#include <fstream>
#include <istream>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "clients/cli/csv.h"
#include "clients/cli/csv_mapping.h"
#include "google/protobuf/descriptor.h"

namespace aesignal::cli {

// Reads the header of `path` (opened as `in`, read by `reader`) and maps it to
// the fields of `descriptor`. On failure prints "PATH: cannot open file" or
// "PATH:1: why" to `err` and returns nullopt.
std::optional<CsvMapping> ReadCsvHeader(
    const std::string& path, const std::istream& in, CsvReader& reader,
    const google::protobuf::Descriptor* descriptor, std::ostream& err);

// "PATH:LINE: COLUMN: REASON" (no "COLUMN: " if the error names none).
std::string CellErrorText(const std::string& path, int line,
                          const CellError& error);

// Reads a whole CSV file as messages of type M. Prints every problem as
// "PATH:LINE: COLUMN: REASON" and returns false if there was any. `lines`
// receives each message's line.
template <typename M>
bool ReadCsvMessages(const std::string& path, std::ostream& err,
                     std::vector<M>* messages, std::vector<int>* lines) {
  std::ifstream in(path);
  CsvReader reader(in);
  std::optional<CsvMapping> mapping =
      ReadCsvHeader(path, in, reader, M::descriptor(), err);
  if (!mapping) return false;
  bool ok = true;
  while (true) {
    auto record = reader.Next();
    if (!record.ok()) {
      err << path << ":" << record.status().message() << "\n";
      return false;
    }
    if (!record->has_value()) break;
    M message;
    auto errors = mapping->Fill((*record)->fields, &message);
    for (const auto& e : errors) {
      err << CellErrorText(path, (*record)->line, e) << "\n";
    }
    if (!errors.empty()) {
      ok = false;
      continue;
    }
    messages->push_back(std::move(message));
    lines->push_back((*record)->line);
  }
  return ok;
}

}  // namespace aesignal::cli

#endif  // AESIGNAL_CLIENTS_CLI_CSV_MESSAGES_H_
