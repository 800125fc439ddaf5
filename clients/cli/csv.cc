#include "clients/cli/csv.h"

#include "absl/strings/str_cat.h"

namespace aesignal::cli {

CsvReader::CsvReader(std::istream& in) : in_(in) {}

bool CsvReader::GetChar(char* c) { return static_cast<bool>(in_.get(*c)); }

absl::StatusOr<std::optional<CsvRecord>> CsvReader::Next() {
  if (at_start_) {
    at_start_ = false;
    static constexpr char kBom[] = "\xEF\xBB\xBF";
    if (in_.peek() == static_cast<unsigned char>(kBom[0])) {
      char bom[3];
      in_.read(bom, 3);
      if (in_.gcount() != 3 || std::string_view(bom, 3) != kBom) {
        return absl::InvalidArgumentError(
            "line 1: invalid byte at the start of the file (not UTF-8?)");
      }
    }
  }
  while (true) {
    CsvRecord record;
    record.line = line_;
    std::string field;
    bool quoted = false;      // inside a quoted field
    bool was_quoted = false;  // current field was quoted (and closed)
    bool any_char = false;    // the record has any content
    char c;
    bool eof = true;
    while (GetChar(&c)) {
      eof = false;
      if (quoted) {
        if (c == '"') {
          if (in_.peek() == '"') {
            in_.get(c);
            field += '"';
          } else {
            quoted = false;
            was_quoted = true;
          }
        } else {
          if (c == '\n') ++line_;
          field += c;
        }
        continue;
      }
      if (c == ',') {
        record.fields.push_back(std::move(field));
        field.clear();
        was_quoted = false;
        any_char = true;
        continue;
      }
      if (c == '\r' && in_.peek() == '\n') continue;  // CRLF
      if (c == '\n') {
        ++line_;
        break;
      }
      if (c == '"') {
        if (!field.empty() || was_quoted) {
          return absl::InvalidArgumentError(
              absl::StrCat("line ", line_,
                           ": unexpected '\"' inside a field (quote the "
                           "whole field and double the inner quotes)"));
        }
        quoted = true;
        any_char = true;
        continue;
      }
      if (was_quoted) {
        return absl::InvalidArgumentError(absl::StrCat(
            "line ", line_, ": unexpected character after a closing quote"));
      }
      field += c;
      any_char = true;
    }
    if (quoted) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", record.line, ": quoted field is never closed"));
    }
    if (eof && !any_char && field.empty()) return std::nullopt;
    if (!any_char && field.empty()) continue;  // blank line
    record.fields.push_back(std::move(field));
    return record;
  }
}

std::string CsvLine(const std::vector<std::string>& fields) {
  // A record of one empty field is written quoted: bare, it would be a blank
  // line, which readers (CsvReader included) skip. (Found by fuzz_csv:
  // tests/fuzz/regressions/fuzz_csv/csvline_lone_empty_field.csv.)
  if (fields.size() == 1 && fields[0].empty()) return "\"\"";
  std::string line;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) line += ',';
    const std::string& f = fields[i];
    if (f.find_first_of(",\"\r\n") == std::string::npos) {
      line += f;
      continue;
    }
    line += '"';
    for (char c : f) {
      if (c == '"') line += '"';
      line += c;
    }
    line += '"';
  }
  return line;
}

}  // namespace aesignal::cli
