// `aesignal import adam|sdtm`: reads CDISC datasets (CSV or SAS transport),
// maps them (adam_mapping.h) and loads them through the SDK: CreateTrial,
// EnrollSubjects, then the reports over a ReportStreamer. See docs/import.md.
//
// Thread-compatible: the commands run on the CLI's thread.
#ifndef AESIGNAL_CLIENTS_CLI_IMPORT_IMPORT_COMMAND_H_
#define AESIGNAL_CLIENTS_CLI_IMPORT_IMPORT_COMMAND_H_

#include <functional>
#include <string>

#include "CLI/CLI.hpp"
#include "aesignal/client/connection.h"
#include "clients/cli/cli.h"

namespace aesignal::cli {

// What the import commands need from the CLI; the pointees must outlive the
// App (they are read when the command runs, after parsing).
struct ImportContext {
  // Target, deadline and credentials (filled in after parsing).
  const client::ConnectionOptions* connection = nullptr;
  const CliStreams* io = nullptr;
};

// Adds `import adam` and `import sdtm` to `app`; when one of them is parsed it
// sets *action to run it (returning the CLI exit code). `action` must outlive
// `app`.
void AddImportCommands(CLI::App& app, ImportContext ctx,
                       std::function<int()>* action);

}  // namespace aesignal::cli

#endif  // AESIGNAL_CLIENTS_CLI_IMPORT_IMPORT_COMMAND_H_
