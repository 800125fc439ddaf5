// The aesignal command-line interface, as a function so tests can run it in
// process: `aesignal [--server HOST:PORT] <command> ...`.
//
// Exit codes: 0 success; 1 an error, or any row/report rejected; 2 usage.
#ifndef AESIGNAL_CLIENTS_CLI_CLI_H_
#define AESIGNAL_CLIENTS_CLI_CLI_H_

#include <ostream>
#include <string>
#include <vector>

namespace aesignal::cli {

struct CliStreams {
  std::ostream& out;
  std::ostream& err;
  // Show live progress on `err` (a terminal).
  bool progress = false;
};

// `args[0]` is the program name.
int RunCli(const std::vector<std::string>& args, CliStreams io);

}  // namespace aesignal::cli

#endif  // AESIGNAL_CLIENTS_CLI_CLI_H_
