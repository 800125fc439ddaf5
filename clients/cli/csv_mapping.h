// Maps CSV columns to the fields of a protobuf message by name, so the CLI
// reads subjects.csv and reports.csv straight into aesignal.v1 messages.
//
// Column names are the proto field names (snake_case; matched without regard
// to case). Cell conventions:
//   - empty cell: field left unset (so an empty onset_study_day stays absent);
//   - integers and numbers: decimal, range-checked for the field's type;
//   - booleans: Y/N, yes/no, true/false, 1/0 (any case);
//   - enums: the value name with or without its type prefix, any case, with
//     spaces or hyphens for underscores: "possible", "POSSIBLE" and
//     "RELATEDNESS_POSSIBLE" are the same;
//   - repeated strings: items separated by ';' or '|' (e.g. "infection;
//     thromboembolism").
// Unknown columns, duplicated columns and message-typed fields (timestamps)
// are errors at the header.
//
// Thread-safe after construction (Fill is const).
#ifndef AESIGNAL_CLIENTS_CLI_CSV_MAPPING_H_
#define AESIGNAL_CLIENTS_CLI_CSV_MAPPING_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"

namespace aesignal::cli {

struct CellError {
  std::string column;
  std::string reason;
};

class CsvMapping {
 public:
  // Errors name the offending column.
  static absl::StatusOr<CsvMapping> Create(
      const google::protobuf::Descriptor* descriptor,
      const std::vector<std::string>& header);

  // Sets `message` (of the descriptor's type) from one record. Returns the
  // errors of every bad cell; `message` is then incomplete and must not be
  // used.
  std::vector<CellError> Fill(const std::vector<std::string>& cells,
                              google::protobuf::Message* message) const;

  size_t num_columns() const { return fields_.size(); }

 private:
  explicit CsvMapping(std::vector<std::string> header,
                      std::vector<const google::protobuf::FieldDescriptor*> f)
      : header_(std::move(header)), fields_(std::move(f)) {}

  std::vector<std::string> header_;
  std::vector<const google::protobuf::FieldDescriptor*> fields_;
};

// The accepted spellings of an enum cell, lower case without type prefix
// (e.g. "not_related, unlikely, possible, probable, definite").
std::string EnumChoices(const google::protobuf::EnumDescriptor* type);

}  // namespace aesignal::cli

#endif  // AESIGNAL_CLIENTS_CLI_CSV_MAPPING_H_
