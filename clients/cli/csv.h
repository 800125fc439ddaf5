// RFC 4180 CSV reading and writing for the aesignal CLI.
//
// Reading: fields separated by commas; a field may be quoted with '"', inside
// which commas, line breaks and doubled quotes ("") are literal. Lines end in
// LF or CRLF. A UTF-8 byte-order mark at the start of the input is skipped
// (spreadsheet exports). Blank lines are skipped.
//
// Thread-compatible: one CsvReader per thread.
#ifndef AESIGNAL_CLIENTS_CLI_CSV_H_
#define AESIGNAL_CLIENTS_CLI_CSV_H_

#include <istream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace aesignal::cli {

struct CsvRecord {
  int line = 0;  // 1-based line on which the record starts
  std::vector<std::string> fields;
};

class CsvReader {
 public:
  // Reads from `in`, which must outlive the reader.
  explicit CsvReader(std::istream& in);

  // The next record; nullopt at end of input. Errors (INVALID_ARGUMENT):
  // an unterminated quoted field, a quote inside an unquoted field or
  // after a closing quote, or a field that is not UTF-8 (named by the
  // first record's cell, the header, or as "field N"); the message starts with
  // the line number ("2: quoted field is never closed"), so FILE + ":" +
  // message reads FILE:LINE: reason.
  absl::StatusOr<std::optional<CsvRecord>> Next();

 private:
  bool GetChar(char* c);

  std::istream& in_;
  std::vector<std::string> header_;  // the first record, to name fields
  int line_ = 1;
  bool at_start_ = true;
};

// One CSV line (without the line break) with fields quoted where needed.
std::string CsvLine(const std::vector<std::string>& fields);

// Whether `text` is UTF-8, as every string of the API must be.
bool IsUtf8(std::string_view text);
// "FIELD is not UTF-8 text ('Na\xEFusea'); save the file as UTF-8 ...": the
// reason a cell in another encoding (Latin-1, Windows-1252) is refused, with
// its bytes above 0x7F shown as \xNN.
std::string NotUtf8Reason(std::string_view field, std::string_view text);

}  // namespace aesignal::cli

#endif  // AESIGNAL_CLIENTS_CLI_CSV_H_
