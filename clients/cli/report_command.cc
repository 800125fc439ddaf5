// `aesignal report`: the DSMB safety report at a data cut-off, as HTML, PDF
// (printed from the HTML by headless Chromium) or one CSV file per table;
// `aesignal report verify FILE` recomputes a report's content hash.
#include <fcntl.h>
#include <openssl/sha.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "clients/cli/commands.h"

extern char** environ;

namespace aesignal::cli {
namespace {

namespace fs = std::filesystem;

struct ReportFlags {
  std::string trial;
  std::string cutoff;
  std::string session;
  std::string since;
  bool coded = false;
  std::string coding_key_file;
  std::string format = "html";
  std::string out;
  std::string chromium;  // empty: $AESIGNAL_CHROMIUM, then PATH
  std::string verify_file;
};

// Where a file is written before it replaces `path`: beside it, so that the
// rename stays on one filesystem.
fs::path PartialOf(const fs::path& path) {
  return fs::path(path.string() + ".partial");
}

// Replaces `path` with `partial`; false (and `partial` removed) if it cannot.
bool Replace(CommandContext& ctx, const fs::path& partial,
             const fs::path& path) {
  std::error_code error;
  fs::rename(partial, path, error);
  if (!error) return true;
  ctx.io.err << "error: cannot write " << path.string() << ": "
             << error.message() << "\n";
  fs::remove(partial, error);
  return false;
}

// Writes `text` to `path + ".partial"`; false after saying why (and removing
// what was written) if it cannot. The caller renames it into place.
bool WritePartial(CommandContext& ctx, const fs::path& path,
                  const std::string& text) {
  const fs::path partial = PartialOf(path);
  std::ofstream file(partial, std::ios::binary | std::ios::trunc);
  file << text;
  file.close();
  if (!file) {
    ctx.io.err << "error: cannot write " << path.string() << "\n";
    std::error_code ignored;
    fs::remove(partial, ignored);
    return false;
  }
  return true;
}

// Writes `path` whole or not at all: a failed write (a full disk) leaves an
// earlier report of the same name as it was.
bool WriteFile(CommandContext& ctx, const fs::path& path,
               const std::string& text) {
  return WritePartial(ctx, path, text) && Replace(ctx, PartialOf(path), path);
}

// The Chromium to print with: --chromium, $AESIGNAL_CHROMIUM, or the first
// of chromium / chromium-browser / google-chrome on PATH; empty if none.
std::string FindChromium(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (const char* env = std::getenv("AESIGNAL_CHROMIUM"); env && *env) {
    return env;
  }
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    for (const char* name : {"chromium", "chromium-browser", "google-chrome"}) {
      const fs::path candidate = fs::path(dir) / name;
      if (access(candidate.c_str(), X_OK) == 0) return candidate.string();
    }
  }
  return "";
}

// Runs `argv` without a shell, its output discarded; true if it exits 0.
bool Run(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const std::string& arg : argv)
    args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  const int spawned =
      posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) return false;
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return false;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// Prints `html` to `pdf` with headless Chromium: its @page rules give the
// running banner, source line and "Page x of y" (Chromium's own header and
// footer are turned off).
int PrintPdf(CommandContext& ctx, const ReportFlags& f,
             const std::string& html) {
  const fs::path out = fs::absolute(f.out);
  const std::string chromium = FindChromium(f.chromium);
  if (chromium.empty()) {
    fs::path html_path = out;
    html_path.replace_extension(".html");
    if (!WriteFile(ctx, html_path, html)) return kExitFailed;
    ctx.io.err << "error: no Chromium to print the PDF with; wrote "
               << html_path.string()
               << "\n  install it (apt-get install chromium) or pass "
                  "--chromium PATH, or print that file to PDF from a "
                  "browser\n";
    return kExitFailed;
  }
  char scratch[] = "/tmp/aesignal-report-XXXXXX";
  if (mkdtemp(scratch) == nullptr) {
    ctx.io.err << "error: cannot create a temporary folder\n";
    return kExitFailed;
  }
  const fs::path dir(scratch);
  const fs::path page = dir / "report.html";
  // Printed beside `out` and renamed over it only once Chromium succeeded:
  // an earlier PDF of the same name is neither destroyed by a failed print
  // nor taken for this one's output.
  const fs::path partial = PartialOf(out);
  std::error_code ignored;
  fs::remove(partial, ignored);
  const bool printed =
      WriteFile(ctx, page, html) &&
      Run({chromium, "--headless", "--no-sandbox", "--disable-gpu",
           "--no-first-run", "--no-pdf-header-footer",
           absl::StrCat("--user-data-dir=", (dir / "profile").string()),
           absl::StrCat("--print-to-pdf=", partial.string()),
           absl::StrCat("file://", page.string())}) &&
      fs::exists(partial);
  fs::remove_all(dir, ignored);
  if (!printed) {
    fs::remove(partial, ignored);
    ctx.io.err << "error: " << chromium << " could not print " << out.string()
               << "\n";
    return kExitFailed;
  }
  if (!Replace(ctx, partial, out)) return kExitFailed;
  ctx.io.out << "wrote " << out.string() << "\n";
  return kExitOk;
}

int WriteCsv(CommandContext& ctx, const ReportFlags& f,
             const v1::DsmbReport& report) {
  std::error_code error;
  fs::create_directories(f.out, error);
  if (error) {
    ctx.io.err << "error: cannot create " << f.out << ": " << error.message()
               << "\n";
    return kExitFailed;
  }
  // Every table is written before any replaces its earlier version, so a
  // failed write leaves the folder's tables all from one report.
  std::vector<fs::path> written;
  for (const v1::DsmbTable& table : report.tables()) {
    const fs::path path = fs::path(f.out) / (table.id() + ".csv");
    if (!WritePartial(ctx, path, table.csv())) {
      for (const fs::path& done : written) fs::remove(PartialOf(done), error);
      return kExitFailed;
    }
    written.push_back(path);
  }
  for (const fs::path& path : written) {
    if (!Replace(ctx, PartialOf(path), path)) return kExitFailed;
  }
  ctx.io.out << "wrote " << report.tables_size() << " tables to " << f.out
             << "/\n";
  return kExitOk;
}

int Generate(CommandContext& ctx, const ReportFlags& f) {
  if (f.trial.empty() || f.cutoff.empty() || f.session.empty() ||
      f.out.empty()) {
    ctx.io.err << "error: --trial, --cutoff, --session and --out are "
                  "required\n";
    return kExitUsage;
  }
  v1::GenerateDsmbReportRequest request;
  if (!ParseTimeFlag(ctx, "--cutoff", f.cutoff, request.mutable_cutoff())) {
    return kExitUsage;
  }
  if (!f.since.empty() &&
      !ParseTimeFlag(ctx, "--since", f.since, request.mutable_since())) {
    return kExitUsage;
  }
  request.set_session(f.session == "open" ? v1::DSMB_SESSION_OPEN
                                          : v1::DSMB_SESSION_CLOSED);
  request.set_coded(f.coded);
  if (!f.coding_key_file.empty()) {
    // From a file, not a flag: a flag's value stays in shell history and
    // in the process list.
    std::ifstream in(f.coding_key_file);
    std::string key;
    if (!in || !std::getline(in, key) || key.empty()) {
      ctx.io.err << "error: --coding-key-file " << f.coding_key_file
                 << ": cannot read a key from its first line\n";
      return kExitUsage;
    }
    // The line as it is (but a CRLF ending), as the API and the dashboard
    // take it: the same key must give the same letters everywhere.
    if (key.back() == '\r') key.pop_back();
    request.set_coding_key(key);
  }
  auto report = ctx.MakeClient().GenerateDsmbReport(f.trial, request);
  if (!report.ok()) {
    PrintStatus(ctx.io.err, report.status());
    return kExitFailed;
  }
  ctx.io.out << "content hash " << report->content_hash() << "\n";
  if (f.format == "csv") return WriteCsv(ctx, f, *report);
  if (f.format == "pdf") return PrintPdf(ctx, f, report->html());
  if (!WriteFile(ctx, f.out, report->html())) return kExitFailed;
  ctx.io.out << "wrote " << f.out << "\n";
  return kExitOk;
}

// The recipe of DsmbReport.content_hash (docs/report.md): SHA-256 of the
// HTML with the contents of every <code class="hash"> and
// <span class="generated"> element left out.
std::string ContentHash(std::string html) {
  for (const auto& [open, close] :
       {std::pair<std::string, std::string>{"<code class=\"hash\">", "</code>"},
        {"<span class=\"generated\">", "</span>"}}) {
    for (size_t at = html.find(open); at != std::string::npos;
         at = html.find(open, at)) {
      const size_t begin = at + open.size();
      const size_t end = html.find(close, begin);
      if (end == std::string::npos) break;
      html.erase(begin, end - begin);
      at = begin;
    }
  }
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(html.data()), html.size(),
         digest);
  std::string hex = "sha256:";
  static constexpr char kHex[] = "0123456789abcdef";
  for (const unsigned char byte : digest) {
    hex += kHex[byte >> 4];
    hex += kHex[byte & 15];
  }
  return hex;
}

int Verify(CommandContext& ctx, const ReportFlags& f) {
  std::ifstream file(f.verify_file, std::ios::binary);
  if (!file) {
    ctx.io.err << "error: cannot read " << f.verify_file << "\n";
    return kExitFailed;
  }
  std::stringstream text;
  text << file.rdbuf();
  const std::string html = text.str();
  const std::string open = "<code class=\"hash\">";
  const size_t at = html.find(open);
  if (at == std::string::npos) {
    // A PDF prints the hash but its bytes are Chromium's rendering, not the
    // content the hash covers.
    if (html.rfind("%PDF-", 0) == 0) {
      ctx.io.err << "error: " << f.verify_file
                 << " is a PDF: only the HTML report can be verified (the hash "
                    "covers its content); verify the HTML made with it, or "
                    "generate the report again with the same trial, cut-off "
                    "and options and compare the hash its title page prints\n";
      return kExitFailed;
    }
    ctx.io.err << "error: " << f.verify_file
               << " is not a DSMB report (no content hash)\n";
    return kExitFailed;
  }
  const std::string printed = html.substr(
      at + open.size(), html.find("</code>", at) - at - open.size());
  const std::string computed = ContentHash(html);
  if (printed != computed) {
    ctx.io.err << "error: content hash mismatch: the report prints " << printed
               << ", its content hashes to " << computed << "\n";
    return kExitFailed;
  }
  ctx.io.out << "ok " << computed << "\n";
  return kExitOk;
}

}  // namespace

void AddReportCommand(CLI::App& app, CommandContext& ctx) {
  auto f = std::make_shared<ReportFlags>();
  auto* report = app.add_subcommand(
      "report", "the DSMB safety report at a data cut-off (HTML, PDF, CSV)");
  report->require_subcommand(0, 1);
  report->add_option("--trial", f->trial, "trial id");
  report->add_option("--cutoff", f->cutoff,
                     "data cut-off, RFC 3339, e.g. 2026-11-01T00:00:00Z");
  report->add_option("--session", f->session, "open or closed")
      ->check(CLI::IsMember({"open", "closed"}));
  report->add_option("--since", f->since,
                     "the previous report's cut-off: what is new since");
  report->add_flag("--coded", f->coded,
                   "closed session: dose groups as Group A, B, ...");
  report->add_option(
      "--coding-key-file", f->coding_key_file,
      "closed session: a file whose first line is the secret key that "
      "orders the codes (with --coded), or whose codes the uncoded report "
      "lists; make one with: openssl rand -hex 16 > key");
  report->add_option("--format", f->format, "html (default), pdf or csv")
      ->check(CLI::IsMember({"html", "pdf", "csv"}));
  report->add_option("--out", f->out, "output file (csv: a folder)");
  report->add_option("--chromium", f->chromium,
                     "Chromium to print the PDF with (default: "
                     "$AESIGNAL_CHROMIUM, else chromium on PATH)");
  auto* verify = report->add_subcommand(
      "verify", "recompute a report's content hash and compare it");
  verify->add_option("file", f->verify_file, "the report's HTML")->required();
  verify->callback([&ctx, f] {
    ctx.offline = true;  // reads a file, not the server
    ctx.action = [&ctx, f] { return Verify(ctx, *f); };
  });
  report->callback([report, &ctx, f] {
    if (report->get_subcommands().empty()) {
      ctx.action = [&ctx, f] { return Generate(ctx, *f); };
    }
  });
}

}  // namespace aesignal::cli
