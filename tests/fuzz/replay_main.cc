// Runs a fuzz target's LLVMFuzzerTestOneInput on files, without libFuzzer, so
// the targets also build with gcc and replay their corpus and crash
// regressions as ordinary tests (tests/CMakeLists.txt, docs/fuzzing.md).
//
//   fuzz_csv_replay [--timeout=SECONDS] DIR_OR_FILE...
//
// Directories are read (not recursively) in name order; files whose names
// start with '.' or "README" are skipped. A failing input aborts (as under
// libFuzzer); the last "replay:" line names it. An input that runs longer
// than the timeout (default 25 s, like libFuzzer's -timeout) fails too.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

int timeout_seconds = 25;
std::string current_input;  // for the timeout message

void OnTimeout(int) {
  // Only async-signal-safe calls here.
  constexpr char kPrefix[] =
      "replay: TIMEOUT: input ran longer than the limit: ";
  (void)!write(STDERR_FILENO, kPrefix, sizeof(kPrefix) - 1);
  (void)!write(STDERR_FILENO, current_input.data(), current_input.size());
  (void)!write(STDERR_FILENO, "\n", 1);
  _exit(70);
}

bool Skipped(const std::filesystem::path& path) {
  const std::string name = path.filename().string();
  return name.empty() || name[0] == '.' || name.rfind("README", 0) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::filesystem::path> inputs;
  int first = 1;
  if (argc > 1 && std::string(argv[1]).rfind("--timeout=", 0) == 0) {
    timeout_seconds = std::atoi(argv[1] + std::strlen("--timeout="));
    first = 2;
  }
  if (argc <= first) {
    std::cerr << "usage: " << argv[0]
              << " [--timeout=SECONDS] DIR_OR_FILE...\n";
    return 2;
  }
  signal(SIGALRM, OnTimeout);
  for (int i = first; i < argc; ++i) {
    const std::filesystem::path arg = argv[i];
    std::error_code ec;
    if (std::filesystem::is_directory(arg, ec)) {
      std::vector<std::filesystem::path> files;
      for (const auto& entry : std::filesystem::directory_iterator(arg)) {
        if (entry.is_regular_file() && !Skipped(entry.path())) {
          files.push_back(entry.path());
        }
      }
      std::sort(files.begin(), files.end());
      inputs.insert(inputs.end(), files.begin(), files.end());
    } else if (std::filesystem::is_regular_file(arg, ec)) {
      inputs.push_back(arg);
    } else {
      std::cerr << "replay: " << arg.string()
                << ": no such file or directory\n";
      return 2;
    }
  }
  for (const auto& path : inputs) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      std::cerr << "replay: " << path.string() << ": cannot open\n";
      return 2;
    }
    const std::string bytes((std::istreambuf_iterator<char>(in)),
                            std::istreambuf_iterator<char>());
    std::cerr << "replay: " << path.string() << " (" << bytes.size()
              << " bytes)\n";
    current_input = path.string();
    if (timeout_seconds > 0) alarm(timeout_seconds);
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()),
                           bytes.size());
    alarm(0);
  }
  std::cerr << "replay: " << inputs.size() << " inputs, all passed\n";
  return 0;
}
