#include "clients/cli/csv.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "google/protobuf/stubs/common.h"

namespace aesignal::cli {

namespace {

// Skips a UTF-8 byte-order mark at the start of `in` (spreadsheet exports);
// an error if the first byte starts one but the next two do not finish it.
absl::Status SkipByteOrderMark(std::istream& in) {
  static constexpr char kBom[] = "\xEF\xBB\xBF";
  if (in.peek() != static_cast<unsigned char>(kBom[0])) return absl::OkStatus();
  char bom[3];
  in.read(bom, 3);
  if (in.gcount() != 3 || std::string_view(bom, 3) != kBom) {
    return absl::InvalidArgumentError(
        "1: invalid byte at the start of the file (not UTF-8?)");
  }
  return absl::OkStatus();
}

// One record as it is being read.
struct PartialRecord {
  CsvRecord record;
  std::string field;
  bool quoted = false;      // inside a quoted field
  bool was_quoted = false;  // current field was quoted (and closed)
  bool any_char = false;    // the record has any content
};

// `c`, read inside a quoted field: literal, but for the closing quote or a
// doubled quote. Line breaks inside count towards `*line`.
void QuotedChar(std::istream& in, char c, int* line, PartialRecord* r) {
  if (c != '"') {
    if (c == '\n') ++*line;
    r->field += c;
  } else if (in.peek() == '"') {
    in.get(c);
    r->field += '"';
  } else {
    r->quoted = false;
    r->was_quoted = true;
  }
}

// `c`, read outside quotes. True at the end of the record (its line break,
// counted in `*line`).
absl::StatusOr<bool> UnquotedChar(std::istream& in, char c, int* line,
                                  PartialRecord* r) {
  if (c == ',') {
    r->record.fields.push_back(std::move(r->field));
    r->field.clear();
    r->was_quoted = false;
    r->any_char = true;
    return false;
  }
  if (c == '\r' && in.peek() == '\n') return false;  // CRLF
  if (c == '\n') {
    ++*line;
    return true;
  }
  if (c == '"') {
    if (!r->field.empty() || r->was_quoted) {
      return absl::InvalidArgumentError(
          absl::StrCat(*line,
                       ": unexpected '\"' inside a field (quote the "
                       "whole field and double the inner quotes)"));
    }
    r->quoted = true;
    r->any_char = true;
    return false;
  }
  if (r->was_quoted) {
    return absl::InvalidArgumentError(
        absl::StrCat(*line, ": unexpected character after a closing quote"));
  }
  r->field += c;
  r->any_char = true;
  return false;
}

}  // namespace

CsvReader::CsvReader(std::istream& in) : in_(in) {}

bool CsvReader::GetChar(char* c) { return static_cast<bool>(in_.get(*c)); }

absl::StatusOr<std::optional<CsvRecord>> CsvReader::Next() {
  if (at_start_) {
    at_start_ = false;
    if (absl::Status s = SkipByteOrderMark(in_); !s.ok()) return s;
  }
  while (true) {
    PartialRecord r;
    r.record.line = line_;
    char c;
    bool eof = true;
    while (GetChar(&c)) {
      eof = false;
      if (r.quoted) {
        QuotedChar(in_, c, &line_, &r);
        continue;
      }
      absl::StatusOr<bool> end = UnquotedChar(in_, c, &line_, &r);
      if (!end.ok()) return end.status();
      if (*end) break;
    }
    if (r.quoted) {
      return absl::InvalidArgumentError(
          absl::StrCat(r.record.line, ": quoted field is never closed"));
    }
    if (eof && !r.any_char && r.field.empty()) return std::nullopt;
    if (!r.any_char && r.field.empty()) continue;  // blank line
    r.record.fields.push_back(std::move(r.field));
    // Refused here, at its line, rather than by the server as a message
    // it cannot parse.
    for (size_t i = 0; i < r.record.fields.size(); ++i) {
      if (!IsUtf8(r.record.fields[i])) {
        // Named by the header's cell when there is one.
        const std::string field =
            i < header_.size() ? header_[i] : absl::StrCat("field ", i + 1);
        return absl::InvalidArgumentError(absl::StrCat(
            r.record.line, ": ", NotUtf8Reason(field, r.record.fields[i])));
      }
    }
    if (header_.empty()) header_ = r.record.fields;
    return std::move(r.record);
  }
}

bool IsUtf8(std::string_view text) {
  return google::protobuf::internal::IsStructurallyValidUTF8(
      text.data(), static_cast<int>(text.size()));
}

std::string NotUtf8Reason(std::string_view field, std::string_view text) {
  std::string shown;
  for (char c : text.substr(0, 40)) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x80) {
      shown.push_back(c);
    } else {
      absl::StrAppendFormat(&shown, "\\x%02X", byte);
    }
  }
  if (text.size() > 40) shown += "...";
  return absl::StrCat(absl::string_view(field.data(), field.size()),
                      " is not UTF-8 text ('", shown,
                      "'); save the file as UTF-8 (e.g. iconv -f LATIN1 -t "
                      "UTF-8 FILE)");
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
