#include "clients/cli/cli.h"

#include <cstdlib>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "clients/cli/command_context.h"
#include "clients/cli/commands.h"
#include "clients/cli/import/import_command.h"
#include "clients/cli/stats_command.h"

namespace aesignal::cli {
namespace {

// --server, --principal, transport security and --timeout, into `ctx`.
void AddGlobalFlags(CLI::App& app, CommandContext& ctx) {
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
}

// Every command group, in the order `aesignal --help` lists them.
void AddCommands(CLI::App& app, CommandContext& ctx) {
  AddImportCommands(app, ctx);
  AddTrialCommands(app, ctx);
  AddSubjectsCommands(app, ctx);
  AddReportsCommands(app, ctx);
  AddIncidenceCommand(app, ctx);
  AddBaselinesCommands(app, ctx);
  AddSignalsCommands(app, ctx);
  AddTopicsCommands(app, ctx);
  AddAuditCommands(app, ctx);
  AddReportCommand(app, ctx);
  AddHealthCommand(app, ctx);
  AddAdminCommands(app, ctx);
  AddStatsCommand(app);
}

}  // namespace

int RunCli(const std::vector<std::string>& args, CliStreams io) {
  // The offline calculator parses its own arguments (and its own --help).
  if (args.size() >= 2 && args[1] == "stats") {
    return RunStatsCommand({args.begin() + 2, args.end()}, io.out, io.err);
  }
  CommandContext ctx{.io = io};
  CLI::App app{
      "aesignal: command-line client of the aesignal adverse-event safety "
      "monitor (aesignald)."};
  app.name("aesignal");
  app.require_subcommand(1);
  AddGlobalFlags(app, ctx);
  AddCommands(app, ctx);

  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e, io.out, io.err);
    return code == 0 ? kExitOk : kExitUsage;
  }
  if (!ctx.action) return kExitUsage;
  if (!ctx.offline && !ctx.Connect()) return kExitUsage;
  return ctx.action();
}

}  // namespace aesignal::cli
