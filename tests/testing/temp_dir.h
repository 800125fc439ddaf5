// A unique temporary directory removed (recursively) on destruction.
// Not thread-safe; tests create one per fixture.
#ifndef AESIGNAL_TESTS_TESTING_TEMP_DIR_H_
#define AESIGNAL_TESTS_TESTING_TEMP_DIR_H_

#include <stdlib.h>

#include <filesystem>
#include <string>
#include <system_error>

namespace aesignal::testing {

class TempDir {
 public:
  TempDir() {
    std::string templ =
        (std::filesystem::temp_directory_path() / "aesignal-test-XXXXXX")
            .string();
    char* made = mkdtemp(templ.data());
    path_ = made != nullptr ? made : "";
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace aesignal::testing

#endif  // AESIGNAL_TESTS_TESTING_TEMP_DIR_H_
