// aesignal: command-line client of aesignald (see docs/api.md, README.md).
#include <unistd.h>

#include <iostream>
#include <string>
#include <vector>

#include "clients/cli/cli.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  return aesignal::cli::RunCli(
      args, {.out = std::cout, .err = std::cerr, .progress = isatty(2) == 1});
}
