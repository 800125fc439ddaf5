#include "clients/cli/cli.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "aesignal/client/client.h"
#include "aesignal/client/report_streamer.h"
#include "aesignal/client/status.h"
#include "clients/cli/csv.h"
#include "clients/cli/csv_mapping.h"
#include "clients/cli/import/import_command.h"
#include "clients/cli/incidence_format.h"
#include "clients/cli/stats_command.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"

namespace aesignal::cli {
namespace {

using client::Client;

constexpr int kOk = 0;
constexpr int kFailed = 1;

// "NOT_FOUND: trial X not found" plus one indented line per field violation;
// `field_label` may turn a violation's field path into a file position.
void PrintStatus(std::ostream& err, const absl::Status& status,
                 const std::function<std::string(const std::string&)>&
                     field_label = nullptr) {
  err << "error: " << absl::StatusCodeToString(status.code()) << ": "
      << status.message() << "\n";
  if (auto bad = client::BadRequestOf(status)) {
    for (const auto& v : bad->field_violations()) {
      err << "  " << (field_label ? field_label(v.field()) : v.field()) << ": "
          << v.description() << "\n";
    }
  }
}

// Index i of a field path "prefix[i].rest", and "rest".
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

// Lowercase hex of sha256(data): the server stores tokens as
// "SALT:sha256hex(SALT + token)" (services/grpc/security.h).
std::string Sha256Hex(const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), length));
}

absl::StatusOr<std::string> RandomHex(int bytes) {
  std::string buffer(static_cast<size_t>(bytes), '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(buffer.data()), bytes) != 1) {
    return absl::UnavailableError("RAND_bytes failed");
  }
  return absl::BytesToHexString(buffer);
}

struct Ctx {
  CliStreams io;
  std::string server;
  double timeout_seconds = 30;
  std::string principal;
  // Transport security and credentials (see --tls-ca, --token-file).
  std::string tls_ca = "", tls_cert = "", tls_key = "", token_file = "";
  // Built from the fields above by Connect(), after parsing.
  client::ConnectionOptions connection = {};

  // Reads the credential files; false (after printing why) if one is bad.
  bool Connect() {
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

  Client MakeClient() const {
    return Client(client::MakeClientConnection(connection));
  }
};

// Reads a whole CSV file as messages of type M. Prints every problem as
// "file:LINE: column: reason". `lines` receives each message's line.
template <typename M>
bool ReadCsvMessages(const std::string& path, std::ostream& err,
                     std::vector<M>* messages, std::vector<int>* lines) {
  std::ifstream in(path);
  if (!in) {
    err << path << ": cannot open file\n";
    return false;
  }
  CsvReader reader(in);
  auto header = reader.Next();
  if (!header.ok() || !header->has_value()) {
    err << path << ":1: "
        << (header.ok() ? "empty file (a header line is required)"
                        : std::string(header.status().message()))
        << "\n";
    return false;
  }
  auto mapping = CsvMapping::Create(M::descriptor(), (*header)->fields);
  if (!mapping.ok()) {
    err << path << ":1: " << mapping.status().message() << "\n";
    return false;
  }
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
      err << path << ":" << (*record)->line << ": "
          << (e.column.empty() ? "" : e.column + ": ") << e.reason << "\n";
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

int TrialCreate(Ctx& ctx, const std::string& file) {
  std::ifstream in(file);
  if (!in) {
    ctx.io.err << file << ": cannot open file\n";
    return kFailed;
  }
  std::stringstream text;
  text << in.rdbuf();
  v1::Trial trial;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto parsed =
      google::protobuf::util::JsonStringToMessage(text.str(), &trial, options);
  if (!parsed.ok()) {
    ctx.io.err << file << ": not a valid aesignal.v1.Trial in proto JSON: "
               << parsed.message() << "\n";
    return kFailed;
  }
  auto created = ctx.MakeClient().CreateTrial(trial);
  if (!created.ok()) {
    PrintStatus(ctx.io.err, created.status());
    return kFailed;
  }
  ctx.io.out << "trial " << created->trial_id() << " stored ("
             << created->dose_groups_size() << " dose groups, "
             << created->timepoints_size() << " timepoints, "
             << created->sites_size() << " sites; created "
             << google::protobuf::util::TimeUtil::ToString(
                    created->create_time())
             << ")\n";
  return kOk;
}

void PrintTrial(const v1::Trial& t, std::ostream& out) {
  out << "trial " << t.trial_id() << ": " << t.title() << "\n";
  out << "created "
      << google::protobuf::util::TimeUtil::ToString(t.create_time()) << "\n";
  out << "dose groups (in order):\n";
  for (const auto& g : t.dose_groups()) {
    out << absl::StrFormat("  %-10s %-24s %g %s%s\n", g.dose_group_id(),
                           g.label(), g.dose_value(), g.dose_unit(),
                           g.control() ? "  [control]" : "");
  }
  out << "timepoints (window = study days after the previous one, up to "
         "its day):\n";
  int previous = 0;
  for (const auto& tp : t.timepoints()) {
    out << absl::StrFormat("  %-10s %-24s day %d (window %d-%d)\n",
                           tp.timepoint_id(), tp.label(), tp.study_day(),
                           previous + 1, tp.study_day());
    previous = tp.study_day();
  }
  std::vector<std::string> sites;
  for (const auto& s : t.sites()) {
    sites.push_back(s.name().empty()
                        ? s.site_id()
                        : absl::StrCat(s.site_id(), " (", s.name(), ")"));
  }
  out << "sites: " << absl::StrJoin(sites, ", ") << "\n";
  out << "AESI categories: " << absl::StrJoin(t.aesi_categories(), ", ")
      << "\n";
}

int TrialGet(Ctx& ctx, const std::string& trial_id, const std::string& format) {
  auto trial = ctx.MakeClient().GetTrial(trial_id);
  if (!trial.ok()) {
    PrintStatus(ctx.io.err, trial.status());
    return kFailed;
  }
  if (format == "json") {
    ctx.io.out << JsonOf(*trial) << "\n";
  } else {
    PrintTrial(*trial, ctx.io.out);
  }
  return kOk;
}

int TrialList(Ctx& ctx, const std::string& format) {
  auto trials = ctx.MakeClient().ListAllTrials();
  if (!trials.ok()) {
    PrintStatus(ctx.io.err, trials.status());
    return kFailed;
  }
  if (format == "json") {
    v1::ListTrialsResponse all;
    for (auto& t : *trials) *all.add_trials() = t;
    ctx.io.out << JsonOf(all) << "\n";
    return kOk;
  }
  ctx.io.out << absl::StrFormat("%-16s %-6s %-10s %s\n", "trial_id", "groups",
                                "timepoints", "title");
  for (const auto& t : *trials) {
    ctx.io.out << absl::StrFormat("%-16s %-6d %-10d %s\n", t.trial_id(),
                                  t.dose_groups_size(), t.timepoints_size(),
                                  t.title());
  }
  return kOk;
}

int SubjectsEnroll(Ctx& ctx, const std::string& trial_id,
                   const std::string& file) {
  std::vector<v1::Subject> subjects;
  std::vector<int> lines;
  if (!ReadCsvMessages(file, ctx.io.err, &subjects, &lines)) {
    ctx.io.err << "nothing enrolled: fix the rows above (enrollment is all "
                  "or nothing)\n";
    return kFailed;
  }
  auto enrolled = ctx.MakeClient().EnrollSubjects(trial_id, subjects);
  if (!enrolled.ok()) {
    PrintStatus(ctx.io.err, enrolled.status(), [&](const std::string& field) {
      int index;
      std::string rest;
      if (SplitIndexedPath(field, "subjects", &index, &rest) && index >= 0 &&
          index < static_cast<int>(lines.size())) {
        return absl::StrCat(file, ":", lines[index], ": ", rest);
      }
      return field;
    });
    return kFailed;
  }
  ctx.io.out << "subjects: " << subjects.size() << " in file; "
             << enrolled->created_count() << " enrolled, "
             << enrolled->updated_count() << " updated (new version), "
             << enrolled->unchanged_count() << " unchanged\n";
  return kOk;
}

int SubjectsList(Ctx& ctx, const std::string& trial_id,
                 const std::string& format) {
  auto subjects = ctx.MakeClient().ListAllSubjects(trial_id);
  if (!subjects.ok()) {
    PrintStatus(ctx.io.err, subjects.status());
    return kFailed;
  }
  if (format == "json") {
    v1::ListSubjectsResponse all;
    for (auto& s : *subjects) *all.add_subjects() = s;
    ctx.io.out << JsonOf(all) << "\n";
    return kOk;
  }
  auto status_name = [](v1::FollowUpStatus s) {
    return absl::AsciiStrToLower(
        absl::StripPrefix(v1::FollowUpStatus_Name(s), "FOLLOW_UP_STATUS_"));
  };
  if (format == "csv") {
    ctx.io.out << CsvLine({"subject_id", "site_id", "dose_group_id",
                           "last_contact_day", "status", "version"})
               << "\n";
    for (const auto& s : *subjects) {
      ctx.io.out << CsvLine({s.subject_id(), s.site_id(), s.dose_group_id(),
                             absl::StrCat(s.last_contact_day()),
                             status_name(s.status()),
                             absl::StrCat(s.version())})
                 << "\n";
    }
    return kOk;
  }
  ctx.io.out << absl::StrFormat("%-14s %-6s %-12s %-16s %-12s %s\n",
                                "subject_id", "site", "dose_group",
                                "last_contact_day", "status", "version");
  for (const auto& s : *subjects) {
    ctx.io.out << absl::StrFormat("%-14s %-6s %-12s %-16d %-12s %d\n",
                                  s.subject_id(), s.site_id(),
                                  s.dose_group_id(), s.last_contact_day(),
                                  status_name(s.status()), s.version());
  }
  return kOk;
}

struct SubmitFlags {
  std::string trial;
  std::string file;
  int batch_size = 500;
  int window = 8;
};

// Rewrites "reports[k]" inside a server reason (an index within the batch)
// as the file line of that report.
std::string ReasonWithLines(std::string reason,
                            const std::vector<int>& line_of_sequence,
                            int64_t batch_start) {
  size_t at = reason.find("reports[");
  if (at == std::string::npos) return reason;
  size_t close = reason.find(']', at);
  int k;
  if (close == std::string::npos ||
      !absl::SimpleAtoi(reason.substr(at + 8, close - at - 8), &k)) {
    return reason;
  }
  const int64_t seq = batch_start + k;
  if (seq < 0 || seq >= static_cast<int64_t>(line_of_sequence.size())) {
    return reason;
  }
  return absl::StrCat(reason.substr(0, at), "line ", line_of_sequence[seq],
                      reason.substr(close + 1));
}

int ReportsSubmit(Ctx& ctx, const SubmitFlags& flags) {
  std::ifstream in(flags.file);
  if (!in) {
    ctx.io.err << flags.file << ": cannot open file\n";
    return kFailed;
  }
  CsvReader reader(in);
  auto header = reader.Next();
  if (!header.ok() || !header->has_value()) {
    ctx.io.err << flags.file << ":1: "
               << (header.ok() ? "empty file (a header line is required)"
                               : std::string(header.status().message()))
               << "\n";
    return kFailed;
  }
  auto mapping = CsvMapping::Create(v1::AdverseEventReport::descriptor(),
                                    (*header)->fields);
  if (!mapping.ok()) {
    ctx.io.err << flags.file << ":1: " << mapping.status().message() << "\n";
    return kFailed;
  }

  // Line of each streamed report (by sequence); written by this thread
  // before Add(), read by the outcome callback after the ack.
  std::vector<int> line_of_sequence;
  std::mutex mu;
  std::vector<std::pair<int, std::string>> problems;  // (line, message)
  int64_t unreadable_rows = 0;
  client::StreamerOptions options;
  options.batch_size = flags.batch_size;
  options.max_unacked_batches = flags.window;
  client::ReportStreamer streamer(
      ctx.MakeClient().shared_connection(), flags.trial, options,
      [&](const client::ReportOutcome& o) {
        if (o.result.status() != v1::REPORT_STATUS_REJECTED) return;
        std::lock_guard<std::mutex> lock(mu);
        const int line = line_of_sequence[o.sequence];
        std::string field = o.result.field();
        int index;
        std::string rest;
        if (SplitIndexedPath(field, "reports", &index, &rest)) field = rest;
        problems.emplace_back(
            line,
            absl::StrCat(flags.file, ":", line, ": ",
                         field.empty() ? "" : field + ": ",
                         ReasonWithLines(o.result.reason(), line_of_sequence,
                                         o.sequence - o.result.index())));
      });

  absl::Time last_progress = absl::Now();
  auto progress = [&](bool final) {
    if (!ctx.io.progress) return;
    if (!final && absl::Now() - last_progress < absl::Milliseconds(200)) return;
    last_progress = absl::Now();
    ctx.io.err << "\rreports: " << streamer.added() << " sent, "
               << streamer.acknowledged() << " acknowledged" << std::flush;
    if (final) ctx.io.err << "\n";
  };

  absl::Status stream_status;
  bool csv_broken = false;
  while (stream_status.ok()) {
    auto record = reader.Next();
    if (!record.ok()) {
      std::lock_guard<std::mutex> lock(mu);
      problems.emplace_back(
          std::numeric_limits<int>::max(),
          absl::StrCat(flags.file, ":", record.status().message(),
                       " (the rest of the file was not read)"));
      csv_broken = true;
      break;
    }
    if (!record->has_value()) break;
    v1::AdverseEventReport report;
    auto errors = mapping->Fill((*record)->fields, &report);
    if (!errors.empty()) {
      std::lock_guard<std::mutex> lock(mu);
      ++unreadable_rows;
      for (const auto& e : errors) {
        problems.emplace_back(
            (*record)->line,
            absl::StrCat(flags.file, ":", (*record)->line, ": ",
                         e.column.empty() ? "" : e.column + ": ", e.reason));
      }
      continue;
    }
    {
      std::lock_guard<std::mutex> lock(mu);
      line_of_sequence.push_back((*record)->line);
    }
    stream_status = streamer.Add(std::move(report));
    progress(false);
  }
  absl::StatusOr<client::StreamSummary> summary =
      stream_status.ok() ? streamer.Finish() : stream_status;
  progress(true);

  std::sort(problems.begin(), problems.end());
  for (const auto& p : problems) ctx.io.err << p.second << "\n";
  if (!summary.ok()) {
    PrintStatus(ctx.io.err, summary.status());
    ctx.io.err << "reports acknowledged before the error are stored; "
                  "resubmitting the file is safe (duplicates are not counted "
                  "twice)\n";
    return kFailed;
  }
  ctx.io.out << "reports: " << line_of_sequence.size() + unreadable_rows
             << " rows; accepted " << summary->accepted << ", duplicate "
             << summary->duplicate << ", superseded " << summary->superseded
             << ", rejected " << summary->rejected + unreadable_rows;
  if (unreadable_rows > 0) {
    ctx.io.out << " (" << unreadable_rows << " unreadable, not sent)";
  }
  ctx.io.out << "\n";
  return summary->rejected + unreadable_rows > 0 || csv_broken ? kFailed : kOk;
}

struct IncidenceFlags {
  std::string trial;
  std::string by = "overall";
  std::string format = "table";
  double confidence = 0.95;
  bool interval = false;
  bool ci = false;
};

int Incidence(Ctx& ctx, const IncidenceFlags& flags) {
  Client c = ctx.MakeClient();
  const v1::TermLevel level = flags.by == "pt"    ? v1::TERM_LEVEL_PT
                              : flags.by == "soc" ? v1::TERM_LEVEL_SOC
                                                  : v1::TERM_LEVEL_OVERALL;
  auto table = c.GetIncidence(flags.trial, level, flags.confidence);
  if (!table.ok()) {
    PrintStatus(ctx.io.err, table.status());
    return kFailed;
  }
  if (flags.format == "json") {
    ctx.io.out << JsonOf(*table) << "\n";
  } else if (flags.format == "csv") {
    WriteIncidenceCsv(*table, ctx.io.out);
  } else {
    auto trial = c.GetTrial(flags.trial);
    if (!trial.ok()) {
      PrintStatus(ctx.io.err, trial.status());
      return kFailed;
    }
    WriteIncidenceTable(*trial, *table,
                        {.interval = flags.interval, .ci = flags.ci},
                        ctx.io.out);
  }
  return kOk;
}

std::string EnumWord(const google::protobuf::EnumDescriptor* type, int value,
                     absl::string_view prefix) {
  const auto* v = type->FindValueByNumber(value);
  if (v == nullptr) return "?";
  return absl::AsciiStrToLower(absl::StripPrefix(v->name(), prefix));
}

std::string MethodWord(v1::SignalMethod m) {
  return EnumWord(v1::SignalMethod_descriptor(), m, "SIGNAL_METHOD_");
}
std::string StatusWord(v1::SignalStatus s) {
  return EnumWord(v1::SignalStatus_descriptor(), s, "SIGNAL_STATUS_");
}

std::string TermText(const v1::Signal& s) {
  switch (s.level()) {
    case v1::TERM_LEVEL_PT:
      return absl::StrCat("PT ", s.pt());
    case v1::TERM_LEVEL_SOC:
      return absl::StrCat("SOC ", s.soc());
    default:
      return s.overall_key();
  }
}

std::string Stat(const v1::Evidence& e) {
  if (e.method() == v1::SIGNAL_METHOD_BAYESIAN) {
    return absl::StrFormat("post=%.4f", e.posterior_probability());
  }
  return absl::StrFormat("p=%.4g", e.p_value());
}

int BaselinesLoad(Ctx& ctx, const std::string& trial_id,
                  const std::string& file) {
  std::vector<v1::Baseline> baselines;
  std::vector<int> lines;
  if (!ReadCsvMessages(file, ctx.io.err, &baselines, &lines)) {
    ctx.io.err << "nothing loaded: fix the rows above (baselines load all or "
                  "nothing)\n";
    return kFailed;
  }
  auto put = ctx.MakeClient().PutBaselines(trial_id, baselines);
  if (!put.ok()) {
    PrintStatus(ctx.io.err, put.status(), [&](const std::string& field) {
      int index;
      std::string rest;
      if (SplitIndexedPath(field, "baselines", &index, &rest) && index >= 0 &&
          index < static_cast<int>(lines.size())) {
        return absl::StrCat(file, ":", lines[index], ": ", rest);
      }
      return field;
    });
    return kFailed;
  }
  ctx.io.out << "baselines: " << baselines.size() << " in file; "
             << put->created_count() << " new, " << put->updated_count()
             << " revised (new version), " << put->unchanged_count()
             << " unchanged\n";
  return kOk;
}

int BaselinesList(Ctx& ctx, const std::string& trial_id,
                  const std::string& format) {
  auto baselines = ctx.MakeClient().ListBaselines(trial_id);
  if (!baselines.ok()) {
    PrintStatus(ctx.io.err, baselines.status());
    return kFailed;
  }
  if (format == "json") {
    v1::ListBaselinesResponse all;
    for (auto& b : *baselines) *all.add_baselines() = b;
    ctx.io.out << JsonOf(all) << "\n";
    return kOk;
  }
  for (const auto& b : *baselines) {
    std::string term = b.level() == v1::TERM_LEVEL_PT    ? b.pt()
                       : b.level() == v1::TERM_LEVEL_SOC ? b.soc()
                                                         : b.overall_key();
    ctx.io.out << absl::StrFormat(
        "%-28s v%-2d %-32s %-8s %-6s p0=%.4g%s\n    %s\n", b.baseline_id(),
        b.version(), term,
        b.dose_group_id().empty() ? "all" : b.dose_group_id(),
        b.timepoint_id().empty() ? "all" : b.timepoint_id(),
        b.expected_proportion(),
        b.source_subjects() > 0 ? absl::StrCat(" (", b.source_events(), "/",
                                               b.source_subjects(), ")")
                                : "",
        b.citation());
  }
  return kOk;
}

struct SignalFlags {
  std::string trial;
  std::string status;
  std::string method;
  std::string dose_group;
  std::string timepoint;
  std::string term;
  std::string format = "table";
  std::string signal;
  std::string comment;
  std::string actor;
  int64_t after = 0;
  double seconds = 0;
  int max_changes = 0;
};

template <typename Enum>
bool ParseEnumFlag(const google::protobuf::EnumDescriptor* type,
                   const std::string& prefix, const std::string& text,
                   Enum* out) {
  std::string name = absl::AsciiStrToUpper(text);
  for (char& c : name) {
    if (c == '-' || c == ' ') c = '_';
  }
  const auto* v = type->FindValueByName(prefix + name);
  if (v == nullptr) v = type->FindValueByName(name);
  if (v == nullptr || v->number() == 0) return false;
  *out = static_cast<Enum>(v->number());
  return true;
}

std::string SignalName(const std::string& trial, const std::string& signal) {
  if (absl::StartsWith(signal, "trials/")) return signal;
  return absl::StrCat("trials/", trial, "/signals/", signal);
}

int SignalsList(Ctx& ctx, const SignalFlags& f) {
  v1::ListSignalsRequest filter;
  if (!f.status.empty()) {
    v1::SignalStatus status;
    if (!ParseEnumFlag(v1::SignalStatus_descriptor(), "SIGNAL_STATUS_",
                       f.status, &status)) {
      ctx.io.err << "--status: '" << f.status << "' is not one of: "
                 << EnumChoices(v1::SignalStatus_descriptor()) << "\n";
      return 2;
    }
    filter.set_status(status);
  }
  if (!f.method.empty()) {
    v1::SignalMethod method;
    if (!ParseEnumFlag(v1::SignalMethod_descriptor(), "SIGNAL_METHOD_",
                       f.method, &method)) {
      ctx.io.err << "--method: '" << f.method << "' is not one of: "
                 << EnumChoices(v1::SignalMethod_descriptor()) << "\n";
      return 2;
    }
    filter.set_method(method);
  }
  filter.set_dose_group_id(f.dose_group);
  filter.set_timepoint_id(f.timepoint);
  filter.set_term(f.term);
  auto signals = ctx.MakeClient().ListAllSignals(f.trial, filter);
  if (!signals.ok()) {
    PrintStatus(ctx.io.err, signals.status());
    return kFailed;
  }
  if (f.format == "json") {
    v1::ListSignalsResponse all;
    for (auto& s : *signals) *all.add_signals() = s;
    ctx.io.out << JsonOf(all) << "\n";
    return kOk;
  }
  if (signals->empty()) {
    ctx.io.out << "no signals\n";
    return kOk;
  }
  ctx.io.out << absl::StrFormat(
      "%-20s %-16s %-14s %-36s %-6s %-5s %-7s %-12s %s\n", "raised", "status",
      "method", "term", "group", "time", "x/N", "statistic", "now");
  for (const auto& s : *signals) {
    const auto& e = s.evidence();
    ctx.io.out << absl::StrFormat(
        "%-20s %-16s %-14s %-36s %-6s %-5s %-7s %-12s %s\n",
        google::protobuf::util::TimeUtil::ToString(s.raise_time())
            .substr(0, 19),
        StatusWord(s.status()), MethodWord(s.method()), TermText(s),
        s.dose_group_id().empty() ? "all" : s.dose_group_id(), s.timepoint_id(),
        absl::StrCat(e.subjects(), "/", e.denominator()), Stat(e),
        e.crosses() ? "crossing" : "below threshold");
  }
  ctx.io.out << signals->size()
             << " signal(s); show one with: aesignal signals "
                "show --trial "
             << f.trial << " --signal ID\n";
  for (const auto& s : *signals) ctx.io.out << "  " << s.signal_id() << "\n";
  return kOk;
}

void PrintSignal(const v1::Signal& s, std::ostream& out) {
  const auto& e = s.evidence();
  out << "signal " << s.signal_id() << "\n";
  out << "  status:   " << StatusWord(s.status()) << "\n";
  out << "  method:   " << MethodWord(s.method()) << "\n";
  out << "  term:     " << TermText(s)
      << (s.level() == v1::TERM_LEVEL_PT ? absl::StrCat(" (", s.soc(), ")")
                                         : "")
      << "\n";
  out << "  cell:     dose group "
      << (s.dose_group_id().empty() ? "all" : s.dose_group_id())
      << ", timepoint " << s.timepoint_id() << "\n";
  out << "  raised:   "
      << google::protobuf::util::TimeUtil::ToString(s.raise_time())
      << " by report " << s.raised_by_report_id() << " v"
      << s.raised_by_report_version() << "\n";
  out << "  evidence: " << e.summary() << "\n";
  out << absl::StrFormat(
      "            %d/%d = %.1f%% (%.0f%% CI %.1f-%.1f%%), %s, threshold %g, "
      "%s\n",
      e.subjects(), e.denominator(), 100 * e.proportion(),
      100 * e.confidence_level(), 100 * e.ci_lower(), 100 * e.ci_upper(),
      Stat(e), e.threshold(), e.crosses() ? "crossing" : "below threshold");
  if (!e.baseline_id().empty()) {
    out << "  baseline: " << e.baseline_id() << " v" << e.baseline_version()
        << ", p0 = " << e.expected_proportion() << "; source: " << e.citation()
        << "\n";
  }
  out << "  history:\n";
  for (const auto& h : s.history()) {
    out << "    " << google::protobuf::util::TimeUtil::ToString(h.time())
        << "  "
        << EnumWord(v1::SignalEvent::Kind_descriptor(), h.kind(), "KIND_")
        << "  " << h.actor();
    if (h.kind() == v1::SignalEvent::KIND_TRIAGED) {
      out << "  " << StatusWord(h.from_status()) << " -> "
          << StatusWord(h.to_status()) << ": " << h.comment();
    } else {
      out << "  " << h.evidence().subjects() << "/"
          << h.evidence().denominator() << " " << Stat(h.evidence())
          << " (report " << h.evidence().report_id() << ")";
    }
    out << "\n";
  }
}

int SignalsShow(Ctx& ctx, const SignalFlags& f) {
  auto signal = ctx.MakeClient().GetSignal(SignalName(f.trial, f.signal));
  if (!signal.ok()) {
    PrintStatus(ctx.io.err, signal.status());
    return kFailed;
  }
  if (f.format == "json") {
    ctx.io.out << JsonOf(*signal) << "\n";
  } else {
    PrintSignal(*signal, ctx.io.out);
  }
  return kOk;
}

int SignalsTriage(Ctx& ctx, const SignalFlags& f) {
  v1::SignalStatus status;
  if (!ParseEnumFlag(v1::SignalStatus_descriptor(), "SIGNAL_STATUS_", f.status,
                     &status)) {
    ctx.io.err << "--status: '" << f.status << "' is not one of: "
               << EnumChoices(v1::SignalStatus_descriptor()) << "\n";
    return 2;
  }
  auto signal = ctx.MakeClient().UpdateSignal(SignalName(f.trial, f.signal),
                                              status, f.comment, f.actor);
  if (!signal.ok()) {
    PrintStatus(ctx.io.err, signal.status());
    return kFailed;
  }
  ctx.io.out << "signal " << signal->signal_id() << " is now "
             << StatusWord(signal->status()) << "\n";
  return kOk;
}

int SignalsWatch(Ctx& ctx, const SignalFlags& f) {
  int seen = 0;
  const absl::Time until = f.seconds > 0
                               ? absl::Now() + absl::Seconds(f.seconds)
                               : absl::InfiniteFuture();
  absl::Status status = ctx.MakeClient().WatchSignals(
      f.trial, f.after,
      [&](const v1::WatchSignalsResponse& change) {
        const v1::Signal& s = change.signal();
        if (f.format == "json") {
          google::protobuf::util::JsonPrintOptions options;
          options.preserve_proto_field_names = true;
          std::string json;
          if (google::protobuf::util::MessageToJsonString(change, &json,
                                                          options)
                  .ok()) {
            ctx.io.out << json << "\n";
          }
        } else {
          ctx.io.out << "#" << change.change_sequence() << " "
                     << EnumWord(v1::SignalEvent::Kind_descriptor(),
                                 change.event().kind(), "KIND_")
                     << " " << StatusWord(s.status()) << " " << s.signal_id()
                     << ": " << s.evidence().summary() << "\n";
        }
        ctx.io.out.flush();
        return f.max_changes <= 0 || ++seen < f.max_changes;
      },
      until);
  if (!status.ok()) {
    PrintStatus(ctx.io.err, status);
    return kFailed;
  }
  return kOk;
}

int AuditList(Ctx& ctx, const std::string& trial_id, const std::string& action,
              const std::string& resource, const std::string& principal,
              const std::string& format) {
  v1::GetAuditTrailRequest filter;
  filter.set_action(action);
  filter.set_resource_prefix(resource);
  filter.set_principal(principal);
  auto records = ctx.MakeClient().GetAuditTrail(trial_id, filter);
  if (!records.ok()) {
    PrintStatus(ctx.io.err, records.status());
    return kFailed;
  }
  if (format == "json") {
    v1::GetAuditTrailResponse all;
    for (auto& r : *records) *all.add_records() = r;
    ctx.io.out << JsonOf(all) << "\n";
    return kOk;
  }
  for (const auto& r : *records) {
    ctx.io.out << absl::StrFormat(
        "#%-5d %s  %-16s %-24s %s v%d\n       by %s via %s: %s%s\n",
        r.sequence(),
        google::protobuf::util::TimeUtil::ToString(r.time()).substr(0, 23),
        r.action(), "", r.resource(), r.version(), r.principal(), r.rpc(),
        r.details(), r.reason().empty() ? "" : "; why: " + r.reason());
  }
  ctx.io.out << records->size() << " record(s)\n";
  return kOk;
}

struct NewTokenFlags {
  std::string name, role;
  std::vector<std::string> sites;
};

// 32 random bytes, hex: the token; a random 8-byte hex salt; prints the token
// once (to give to the principal) and its YAML entry for the server.
int AdminNewToken(Ctx& ctx, const NewTokenFlags& f) {
  if (f.role == "site" && f.sites.empty()) {
    ctx.io.err << "aesignal: --site: a site principal needs its site_ids\n";
    return 2;
  }
  auto token = RandomHex(32);
  auto salt = RandomHex(8);
  if (!token.ok() || !salt.ok()) {
    ctx.io.err << "aesignal: no random bytes available\n";
    return kFailed;
  }
  ctx.io.out << "# token for " << f.name
             << " (shown once; give it to them, e.g. as AESIGNAL_TOKEN):\n# "
             << *token << "\n# entry for aesignald --principals:\n"
             << "- name: " << f.name << "\n  role: " << f.role << "\n";
  if (!f.sites.empty()) {
    ctx.io.out << "  sites: [" << absl::StrJoin(f.sites, ", ") << "]\n";
  }
  ctx.io.out << "  token_sha256: \"" << *salt << ":"
             << Sha256Hex(*salt + *token) << "\"\n";
  return kOk;
}

int AdminBackup(Ctx& ctx, const std::string& destination) {
  v1::CreateBackupRequest request;
  request.set_destination(destination);
  auto backup = ctx.MakeClient().connection().CreateBackup(request);
  if (!backup.ok()) {
    PrintStatus(ctx.io.err, backup.status());
    return kFailed;
  }
  ctx.io.out << "backup written to " << backup->destination() << " at "
             << google::protobuf::util::TimeUtil::ToString(
                    backup->create_time())
             << " (restore: aesignald --restore_from=" << backup->destination()
             << " --data_dir=NEW_EMPTY_DIR)\n";
  return kOk;
}

int AdminVerify(Ctx& ctx, const std::string& trial_id) {
  v1::VerifyTrialRequest request;
  request.set_name(client::TrialName(trial_id));
  auto verified = ctx.MakeClient().connection().VerifyTrial(request);
  if (!verified.ok()) {
    PrintStatus(ctx.io.err, verified.status());
    return kFailed;
  }
  ctx.io.out << "trial " << trial_id << ": " << verified->result() << "\n";
  return kOk;
}
}  // namespace

int RunCli(const std::vector<std::string>& args, CliStreams io) {
  // The offline calculator parses its own arguments (and its own --help).
  if (args.size() >= 2 && args[1] == "stats") {
    return RunStatsCommand({args.begin() + 2, args.end()}, io.out, io.err);
  }
  Ctx ctx{.io = io,
          .server = "127.0.0.1:50051",
          .timeout_seconds = 30,
          .principal = ""};
  CLI::App app{
      "aesignal: command-line client of the aesignal adverse-event safety "
      "monitor (aesignald)."};
  app.name("aesignal");
  app.require_subcommand(1);
  app.add_option("--server", ctx.server, "aesignald address HOST:PORT")
      ->capture_default_str();
  if (const char* user = std::getenv("USER"); user != nullptr) {
    ctx.principal = user;
  }
  app.add_option("--principal", ctx.principal,
                 "who you are, recorded in the audit trail (default $USER)")
      ->capture_default_str();
  app.add_option("--tls-ca", ctx.tls_ca,
                 "CA (PEM) that verifies the server; enables TLS");
  app.add_option("--tls-cert", ctx.tls_cert,
                 "client certificate (PEM) for mutual TLS; enables TLS");
  app.add_option("--tls-key", ctx.tls_key, "its private key (PEM)");
  app.add_option("--token-file", ctx.token_file,
                 "file whose first line is your bearer token (default: "
                 "$AESIGNAL_TOKEN)");
  app.add_option("--timeout", ctx.timeout_seconds,
                 "deadline of each call, seconds")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);

  std::function<int()> action;
  bool offline = false;  // the action needs no server connection
  // import adam|sdtm (clients/cli/import)
  AddImportCommands(app, {&ctx.connection, &ctx.io}, &action);
  const std::vector<std::string> table_json = {"table", "json"};

  // trial create|get|list
  auto* trial = app.add_subcommand("trial", "create, show and list trials");
  trial->require_subcommand(1);
  std::string trial_file, trial_id, format = "table";
  auto* create = trial->add_subcommand(
      "create", "create a trial from a proto-JSON file (idempotent)");
  create->add_option("--file", trial_file, "trial JSON (aesignal.v1.Trial)")
      ->required();
  create->callback(
      [&] { action = [&] { return TrialCreate(ctx, trial_file); }; });
  auto* get = trial->add_subcommand("get", "show a trial's design");
  get->add_option("--trial", trial_id, "trial id")->required();
  get->add_option("--format", format)->check(CLI::IsMember(table_json));
  get->callback(
      [&] { action = [&] { return TrialGet(ctx, trial_id, format); }; });
  auto* list = trial->add_subcommand("list", "list trials");
  list->add_option("--format", format)->check(CLI::IsMember(table_json));
  list->callback([&] { action = [&] { return TrialList(ctx, format); }; });

  // subjects enroll|list
  auto* subjects = app.add_subcommand("subjects", "enroll and list subjects");
  subjects->require_subcommand(1);
  std::string subjects_file;
  auto* enroll = subjects->add_subcommand(
      "enroll", "enroll or update subjects from CSV (all or nothing)");
  enroll->add_option("--trial", trial_id, "trial id")->required();
  enroll
      ->add_option("--file", subjects_file,
                   "CSV with columns named as aesignal.v1.Subject fields")
      ->required();
  enroll->callback([&] {
    action = [&] { return SubjectsEnroll(ctx, trial_id, subjects_file); };
  });
  auto* subjects_list = subjects->add_subcommand("list", "list subjects");
  subjects_list->add_option("--trial", trial_id, "trial id")->required();
  subjects_list->add_option("--format", format)
      ->check(CLI::IsMember({"table", "csv", "json"}));
  subjects_list->callback(
      [&] { action = [&] { return SubjectsList(ctx, trial_id, format); }; });

  // reports submit
  auto* reports = app.add_subcommand("reports", "submit AE reports");
  reports->require_subcommand(1);
  SubmitFlags submit_flags;
  auto* submit = reports->add_subcommand(
      "submit",
      "stream reports from CSV; prints per-row rejections and the counts");
  submit->add_option("--trial", submit_flags.trial, "trial id")->required();
  submit
      ->add_option("--file", submit_flags.file,
                   "CSV with columns named as aesignal.v1.AdverseEventReport "
                   "fields")
      ->required();
  submit
      ->add_option("--batch-size", submit_flags.batch_size,
                   "reports per streamed batch")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  submit
      ->add_option("--window", submit_flags.window,
                   "unacknowledged batches in flight")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  submit->callback(
      [&] { action = [&] { return ReportsSubmit(ctx, submit_flags); }; });

  // incidence
  IncidenceFlags incidence_flags;
  auto* incidence = app.add_subcommand(
      "incidence", "subject incidence by term x dose group x timepoint");
  incidence->add_option("--trial", incidence_flags.trial, "trial id")
      ->required();
  incidence->add_option("--by", incidence_flags.by, "pt, soc or overall")
      ->capture_default_str()
      ->check(CLI::IsMember({"pt", "soc", "overall"}));
  incidence
      ->add_option("--format", incidence_flags.format, "table, csv or json")
      ->capture_default_str()
      ->check(CLI::IsMember({"table", "csv", "json"}));
  incidence
      ->add_option("--confidence", incidence_flags.confidence,
                   "confidence level of the Clopper-Pearson intervals")
      ->capture_default_str()
      ->check(CLI::Range(0.5, 0.9999));
  incidence->add_flag("--interval", incidence_flags.interval,
                      "table: incidence within each window (of subjects at "
                      "risk) instead of cumulative");
  incidence->add_flag("--ci", incidence_flags.ci,
                      "table: show the interval in each cell");
  incidence->callback(
      [&] { action = [&] { return Incidence(ctx, incidence_flags); }; });

  // baselines load|list
  auto* baselines = app.add_subcommand(
      "baselines", "expected incidences signals are measured against");
  baselines->require_subcommand(1);
  std::string baselines_file;
  auto* load = baselines->add_subcommand(
      "load", "add or revise baselines from CSV (versioned; all or nothing)");
  load->add_option("--trial", trial_id, "trial id")->required();
  load->add_option("--file", baselines_file,
                   "CSV with columns named as aesignal.v1.Baseline fields")
      ->required();
  load->callback([&] {
    action = [&] { return BaselinesLoad(ctx, trial_id, baselines_file); };
  });
  auto* baselines_list =
      baselines->add_subcommand("list", "current version of every baseline");
  baselines_list->add_option("--trial", trial_id, "trial id")->required();
  baselines_list->add_option("--format", format)
      ->check(CLI::IsMember(table_json));
  baselines_list->callback(
      [&] { action = [&] { return BaselinesList(ctx, trial_id, format); }; });

  // signals list|show|watch|triage
  SignalFlags signal_flags;
  auto* signals = app.add_subcommand("signals", "safety signals");
  signals->require_subcommand(1);
  auto* signals_list = signals->add_subcommand("list", "signals, newest first");
  signals_list->add_option("--trial", signal_flags.trial, "trial id")
      ->required();
  signals_list->add_option("--status", signal_flags.status,
                           "new, validated, refuted, under_assessment, closed");
  signals_list->add_option("--method", signal_flags.method,
                           "binomial_exact, bayesian, maxsprt, "
                           "control_fisher, dose_trend, over_time");
  signals_list->add_option("--dose-group", signal_flags.dose_group);
  signals_list->add_option("--timepoint", signal_flags.timepoint);
  signals_list->add_option("--term", signal_flags.term,
                           "PT, SOC or overall key");
  signals_list->add_option("--format", signal_flags.format)
      ->check(CLI::IsMember(table_json));
  signals_list->callback(
      [&] { action = [&] { return SignalsList(ctx, signal_flags); }; });
  auto* show =
      signals->add_subcommand("show", "a signal's evidence and history");
  show->add_option("--trial", signal_flags.trial, "trial id")->required();
  show->add_option("--signal", signal_flags.signal, "signal id or name")
      ->required();
  show->add_option("--format", signal_flags.format)
      ->check(CLI::IsMember(table_json));
  show->callback(
      [&] { action = [&] { return SignalsShow(ctx, signal_flags); }; });
  auto* watch = signals->add_subcommand(
      "watch", "print signal changes as they happen (resumable with --after)");
  watch->add_option("--trial", signal_flags.trial, "trial id")->required();
  watch->add_option("--after", signal_flags.after,
                    "only changes after this sequence number");
  watch->add_option("--seconds", signal_flags.seconds,
                    "stop after this long (default: until interrupted)");
  watch->add_option("--max-changes", signal_flags.max_changes,
                    "stop after this many changes");
  watch->add_option("--format", signal_flags.format)
      ->check(CLI::IsMember(table_json));
  watch->callback(
      [&] { action = [&] { return SignalsWatch(ctx, signal_flags); }; });
  auto* triage = signals->add_subcommand(
      "triage", "move a signal through its lifecycle (EMA GVP Module IX)");
  triage->add_option("--trial", signal_flags.trial, "trial id")->required();
  triage->add_option("--signal", signal_flags.signal, "signal id or name")
      ->required();
  triage
      ->add_option("--status", signal_flags.status,
                   "validated, refuted, under_assessment, closed")
      ->required();
  triage->add_option("--comment", signal_flags.comment, "why (required)")
      ->required();
  triage->add_option("--actor", signal_flags.actor, "who (required)")
      ->required();
  triage->callback(
      [&] { action = [&] { return SignalsTriage(ctx, signal_flags); }; });

  // audit list
  auto* audit = app.add_subcommand("audit", "the audit trail");
  audit->require_subcommand(1);
  std::string audit_action, audit_resource, audit_principal;
  auto* audit_list =
      audit->add_subcommand("list", "every state change, oldest first");
  audit_list->add_option("--trial", trial_id, "trial id")->required();
  audit_list->add_option("--action", audit_action,
                         "e.g. report.store, signal.triage");
  audit_list->add_option("--resource", audit_resource, "resource name prefix");
  audit_list->add_option("--by", audit_principal, "principal");
  audit_list->add_option("--format", format)->check(CLI::IsMember(table_json));
  audit_list->callback([&] {
    action = [&] {
      return AuditList(ctx, trial_id, audit_action, audit_resource,
                       audit_principal, format);
    };
  });

  // health
  auto* health = app.add_subcommand(
      "health",
      "is the server serving? exit 0 if SERVING, 1 if not or unreachable "
      "(grpc.health.v1; needs no token)");
  health->callback([&] {
    action = [&] {
      auto serving = ctx.MakeClient().connection().CheckHealth();
      if (!serving.ok()) {
        ctx.io.err << "aesignal: " << serving.status() << "\n";
        return kFailed;
      }
      ctx.io.out << (*serving ? "SERVING" : "NOT_SERVING") << "\n";
      return *serving ? kOk : kFailed;
    };
  });

  // admin backup|verify
  auto* admin = app.add_subcommand("admin", "backups, verification and tokens");
  admin->require_subcommand(1);
  std::string backup_dest;
  auto* backup = admin->add_subcommand(
      "backup", "consistent backup of the whole store, while serving");
  backup
      ->add_option("--dest", backup_dest,
                   "new directory on the server's filesystem")
      ->required();
  backup->callback(
      [&] { action = [&] { return AdminBackup(ctx, backup_dest); }; });
  auto* verify = admin->add_subcommand(
      "verify", "recount a trial's counters from its reports and compare");
  verify->add_option("--trial", trial_id, "trial id")->required();
  verify->callback(
      [&] { action = [&] { return AdminVerify(ctx, trial_id); }; });

  NewTokenFlags new_token;
  auto* token_cmd = admin->add_subcommand(
      "new-token",
      "make a random bearer token and the principal entry (salted hash) "
      "for aesignald --principals; offline");
  token_cmd->add_option("--name", new_token.name, "principal name")->required();
  token_cmd->add_option("--role", new_token.role)
      ->required()
      ->check(CLI::IsMember({"site", "safety_officer", "admin"}));
  token_cmd->add_option("--site", new_token.sites,
                        "site_id the principal may write (role site; "
                        "repeatable)");
  token_cmd->callback([&] {
    offline = true;
    action = [&] { return AdminNewToken(ctx, new_token); };
  });

  // stats: the offline calculator parses its own arguments.
  auto* stats = app.add_subcommand(
      "stats",
      "offline calculator of the signal statistics (no server): aesignal "
      "stats --help");
  stats->prefix_command();  // handled before parsing (see the top)

  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e, io.out, io.err);
    return code == 0 ? kOk : 2;
  }
  if (!action) return 2;
  if (!offline && !ctx.Connect()) return 2;
  return action();
}

}  // namespace aesignal::cli
