#include "clients/cli/command_context.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "aesignal/client/status.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"

namespace aesignal::cli {

bool CommandContext::Connect() {
  connection.target = server;
  connection.principal = principal;
  connection.call_timeout = absl::Seconds(timeout_seconds);
  if (!tls_ca.empty() || !tls_cert.empty() || !tls_key.empty()) {
    auto credentials = client::TlsCredentials(tls_ca, tls_cert, tls_key);
    if (!credentials.ok()) {
      io.err << "aesignal: " << credentials.status().message() << "\n";
      return false;
    }
    connection.credentials = *std::move(credentials);
  }
  if (!token_file.empty()) {
    std::ifstream in(token_file);
    std::string token;
    if (!in || !std::getline(in, token) ||
        absl::StripAsciiWhitespace(token).empty()) {
      io.err << "aesignal: --token-file " << token_file
             << ": cannot read a token from its first line\n";
      return false;
    }
    connection.bearer_token = std::string(absl::StripAsciiWhitespace(token));
  } else if (const char* token = std::getenv("AESIGNAL_TOKEN");
             token != nullptr && *token != '\0') {
    connection.bearer_token = token;
  }
  return true;
}

client::Client CommandContext::MakeClient() const {
  return client::Client(client::MakeClientConnection(connection));
}

void SetAction(CLI::App* command, CommandContext& ctx,
               std::function<int()> run) {
  command->callback([&ctx, run = std::move(run)] { ctx.action = run; });
}

void PrintStatus(std::ostream& err, const absl::Status& status,
                 const FieldLabel& field_label) {
  err << "error: " << absl::StatusCodeToString(status.code()) << ": "
      << status.message() << "\n";
  // What a plaintext client sees from a TLS server: say what may be wrong.
  if (status.code() == absl::StatusCode::kUnavailable &&
      absl::StrContains(status.message(), "Socket closed")) {
    err << "  (the server closed the connection: if it uses TLS, pass "
           "--tls-ca; check --server)\n";
  }
  if (auto bad = client::BadRequestOf(status)) {
    for (const auto& v : bad->field_violations()) {
      err << "  " << (field_label ? field_label(v.field()) : v.field()) << ": "
          << v.description() << "\n";
    }
  }
  if (auto failure = client::PreconditionFailureOf(status)) {
    for (const auto& v : failure->violations()) {
      err << "  " << (v.subject().empty() ? "" : v.subject() + ": ")
          << v.description() << "\n";
    }
  }
}

void PrintUploadError(std::ostream& err, const absl::Status& status,
                      const client::StreamSummary& summary) {
  if (summary.refused == 0) {
    PrintStatus(err, status);
    return;
  }
  err << "error: " << absl::StatusCodeToString(status.code())
      << ": the server refused " << summary.refused
      << " rows in whole batches (above: none of them is stored); the upload "
         "stopped there\n";
}

bool SplitIndexedPath(const std::string& path, absl::string_view prefix,
                      int* index, std::string* rest) {
  if (!absl::StartsWith(path, absl::StrCat(prefix, "["))) return false;
  const size_t close = path.find(']');
  if (close == std::string::npos) return false;
  if (!absl::SimpleAtoi(absl::string_view(path).substr(
                            prefix.size() + 1, close - prefix.size() - 1),
                        index)) {
    return false;
  }
  *rest = path.substr(std::min(path.size(), close + 2));
  return true;
}

FieldLabel FileLineLabel(std::string file, absl::string_view prefix,
                         std::vector<int> lines) {
  return [file = std::move(file), prefix = std::string(prefix),
          lines = std::move(lines)](const std::string& field) {
    int index;
    std::string rest;
    if (SplitIndexedPath(field, prefix, &index, &rest) && index >= 0 &&
        index < static_cast<int>(lines.size())) {
      return absl::StrCat(file, ":", lines[index], ": ", rest);
    }
    return field;
  };
}

std::string JsonOf(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(message, &json, options)
           .ok()) {
    return "{}\n";
  }
  return json;
}

std::string EnumWord(const google::protobuf::EnumDescriptor* type, int value,
                     absl::string_view prefix) {
  const auto* v = type->FindValueByNumber(value);
  if (v == nullptr) return "?";
  return absl::AsciiStrToLower(absl::StripPrefix(v->name(), prefix));
}

std::string ShortTime(const google::protobuf::Timestamp& time) {
  if (time.seconds() == 0 && time.nanos() == 0) return "-";
  return absl::StrCat(
      google::protobuf::util::TimeUtil::ToString(time).substr(0, 19), "Z");
}

bool ParseTimeFlag(CommandContext& ctx, absl::string_view flag,
                   const std::string& text, google::protobuf::Timestamp* out) {
  if (google::protobuf::util::TimeUtil::FromString(text, out)) return true;
  ctx.io.err << flag << ": '" << text
             << "' is not an RFC 3339 time such as 2026-11-29T08:00:00Z\n";
  return false;
}

namespace {

// The code point starting at text[*i] (advancing *i past it), or -1 for a
// byte that does not start a well-formed sequence (*i advances by one).
int32_t NextCodePoint(std::string_view text, size_t* i) {
  const auto byte = [&](size_t k) { return static_cast<uint8_t>(text[k]); };
  const uint8_t lead = byte(*i);
  const int length = lead < 0x80           ? 1
                     : (lead >> 5) == 0x6  ? 2
                     : (lead >> 4) == 0xE  ? 3
                     : (lead >> 3) == 0x1E ? 4
                                           : 0;
  if (length == 0 || *i + length > text.size()) {
    ++*i;
    return -1;
  }
  int32_t code = length == 1 ? lead : lead & (0x7F >> length);
  for (int k = 1; k < length; ++k) {
    if ((byte(*i + k) & 0xC0) != 0x80) {
      ++*i;
      return -1;
    }
    code = (code << 6) | (byte(*i + k) & 0x3F);
  }
  *i += length;
  return code;
}

bool IsCombining(int32_t c) { return c >= 0x300 && c <= 0x36F; }

// The main East Asian wide and fullwidth blocks (Unicode's EastAsianWidth
// W and F): Hangul Jamo, CJK and Kana, Hangul syllables, compatibility
// ideographs, fullwidth forms, the supplementary ideographic planes.
bool IsWide(int32_t c) {
  return (c >= 0x1100 && c <= 0x115F) || (c >= 0x2E80 && c <= 0xA4CF) ||
         (c >= 0xAC00 && c <= 0xD7A3) || (c >= 0xF900 && c <= 0xFAFF) ||
         (c >= 0xFF00 && c <= 0xFF60) || (c >= 0xFFE0 && c <= 0xFFE6) ||
         (c >= 0x20000 && c <= 0x3FFFD);
}

}  // namespace

size_t DisplayWidth(std::string_view utf8) {
  size_t width = 0;
  for (size_t i = 0; i < utf8.size();) {
    const int32_t c = NextCodePoint(utf8, &i);
    width += c < 0 ? 1 : IsCombining(c) ? 0 : IsWide(c) ? 2 : 1;
  }
  return width;
}

std::string PadToWidth(std::string_view text, size_t width) {
  std::string out(text);
  const size_t used = DisplayWidth(text);
  if (used < width) out.append(width - used, ' ');
  return out;
}

void PrintColumns(std::ostream& out,
                  const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()), 0);
    for (size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], DisplayWidth(row[i]));
    }
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      absl::StrAppend(&line, i + 1 < row.size()
                                 ? PadToWidth(row[i], widths[i] + 2)
                                 : row[i]);
    }
    // No trailing blanks when the last columns are empty.
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << "\n";
  }
}

std::string CheckSubsetWord(const std::string& word) {
  return SubsetOfWord(word) != v1::INCIDENCE_SUBSET_UNSPECIFIED
             ? std::string()
             : "must be serious, grade3, related, death or aesi:CATEGORY";
}

v1::IncidenceSubset SubsetOfWord(const std::string& word) {
  if (word == "serious") return v1::INCIDENCE_SUBSET_SERIOUS;
  if (word == "grade3") return v1::INCIDENCE_SUBSET_GRADE_3_PLUS;
  if (word == "related") return v1::INCIDENCE_SUBSET_RELATED;
  if (word == "death") return v1::INCIDENCE_SUBSET_DEATH;
  if (!AesiCategoryOfWord(word).empty()) return v1::INCIDENCE_SUBSET_AESI;
  return v1::INCIDENCE_SUBSET_UNSPECIFIED;
}

std::string AesiCategoryOfWord(const std::string& word) {
  return absl::StartsWith(word, "aesi:") ? word.substr(5) : std::string();
}

}  // namespace aesignal::cli
