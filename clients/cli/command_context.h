// What every `aesignal` command group shares: the parsed global flags, the
// streams, the action chosen by parsing, and the small helpers that print
// errors and results the same way in every command.
//
// Each command group (trial_commands.cc, ..., import/import_command.cc) adds
// its subcommands to the CLI11 app with an Add*Commands(app, ctx) function;
// a subcommand's parse callback stores its work in ctx.action, which RunCli
// (cli.cc) runs after parsing and connecting.
//
// Thread-compatible: used on the CLI's thread.
#ifndef AESIGNAL_CLIENTS_CLI_COMMAND_CONTEXT_H_
#define AESIGNAL_CLIENTS_CLI_COMMAND_CONTEXT_H_

#include <cstddef>
#include <functional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "aesignal/client/client.h"
#include "aesignal/client/connection.h"
#include "aesignal/client/report_streamer.h"
#include "aesignal/v1/safety_service.pb.h"
#include "clients/cli/cli.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "google/protobuf/timestamp.pb.h"

namespace aesignal::cli {

// Exit codes (see cli.h).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;

struct CommandContext {
  CliStreams io;
  // Global flags, as parsed.
  std::string server = "127.0.0.1:50051";
  double timeout_seconds = 30;
  std::string principal = "";
  std::string tls_ca = "", tls_cert = "", tls_key = "", token_file = "";
  // Built from the flags above by Connect(), after parsing.
  client::ConnectionOptions connection = {};

  // What the parsed subcommand does (returns the exit code); set by its
  // parse callback, see SetAction().
  std::function<int()> action = nullptr;
  // The action needs no server (so no credentials are read).
  bool offline = false;

  // Reads the credential files; false (after printing why) if one is bad.
  bool Connect();
  // A client over a new connection with the options Connect() built.
  client::Client MakeClient() const;
};

// When `command` is parsed, makes `run` the action of `ctx` (which must
// outlive the app). `run` must own (or share) the flags it reads: they are
// read after parsing, when the registering function has returned.
void SetAction(CLI::App* command, CommandContext& ctx,
               std::function<int()> run);

// "error: NOT_FOUND: trial X not found" plus one indented line per field
// violation (google.rpc.BadRequest) and per precondition violation
// (google.rpc.PreconditionFailure: "  SUBJECT: DESCRIPTION"); `field_label`
// may turn a violation's field path into a file position.
using FieldLabel = std::function<std::string(const std::string& field)>;
void PrintStatus(std::ostream& err, const absl::Status& status,
                 const FieldLabel& field_label = nullptr);

// Why a report upload (`reports submit`, `import`) stopped: PrintStatus,
// except after batches the server refused, which the upload's problems
// named by file line (their batch-relative "reports[k]" would only confuse).
void PrintUploadError(std::ostream& err, const absl::Status& status,
                      const client::StreamSummary& summary);

// Index i of a field path "prefix[i].rest", and "rest".
bool SplitIndexedPath(const std::string& path, absl::string_view prefix,
                      int* index, std::string* rest);

// A FieldLabel for a request whose `prefix` items were read from `file`:
// "prefix[i].rest" becomes "FILE:LINE: rest", LINE being lines[i]; other
// paths are kept.
FieldLabel FileLineLabel(std::string file, absl::string_view prefix,
                         std::vector<int> lines);

// Proto JSON as the CLI prints it: indented, proto field names, every field.
std::string JsonOf(const google::protobuf::Message& message);

// An enum value as the CLI prints it: its name without `prefix`, in lower
// case ("validated" for SIGNAL_STATUS_VALIDATED); "?" if unknown.
std::string EnumWord(const google::protobuf::EnumDescriptor* type, int value,
                     absl::string_view prefix);

// A timestamp as the CLI prints it in tables: "2026-11-29T07:41:26Z" (UTC,
// whole seconds); "-" if unset.
std::string ShortTime(const google::protobuf::Timestamp& time);

// Parses the RFC 3339 time `text` of option `flag` (e.g. "--as-of") into
// *out; false after printing a usage error naming the flag.
bool ParseTimeFlag(CommandContext& ctx, absl::string_view flag,
                   const std::string& text, google::protobuf::Timestamp* out);

// The `--subset` option of `incidence` and `reports list`: serious, grade3,
// related, death or aesi:CATEGORY. The check names the words it accepts;
// the words set the request's IncidenceSubset (and, for aesi:, the
// category). An empty word is every AE.
std::string CheckSubsetWord(const std::string& word);
v1::IncidenceSubset SubsetOfWord(const std::string& word);
// The category of an aesi:CATEGORY word; empty for the other words.
std::string AesiCategoryOfWord(const std::string& word);
inline constexpr char kSubsetWordsHelp[] =
    "serious, grade3 (>= 3), related (possible, probable, definite or not "
    "given), death (fatal) or aesi:CATEGORY";

// Terminal columns `utf8` takes: its code points, less combining marks
// (U+0300-U+036F), and two for each East Asian wide or fullwidth one. A dose
// group "20 × 10⁶ cells" or a PT "Sjögren's syndrome" is as wide as it
// reads, not as its bytes. Invalid UTF-8 counts a column per byte.
size_t DisplayWidth(std::string_view utf8);
// `text` followed by blanks up to `width` display columns.
std::string PadToWidth(std::string_view text, size_t width);

// Rows printed as columns aligned on the widest cell, two spaces apart (the
// last column is not padded). The first row is the header. Widths are
// display widths (DisplayWidth).
void PrintColumns(std::ostream& out,
                  const std::vector<std::vector<std::string>>& rows);

}  // namespace aesignal::cli

#endif  // AESIGNAL_CLIENTS_CLI_COMMAND_CONTEXT_H_
