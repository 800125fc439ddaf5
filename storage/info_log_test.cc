#include "storage/info_log.h"

#include <rocksdb/file_system.h>
#include <rocksdb/system_clock.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/hooked_file_system.h"
#include "tests/testing/temp_dir.h"

namespace aesignal::storage {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void Log(rocksdb::Logger& log, const char* message) {
  rocksdb::Log(rocksdb::InfoLogLevel::INFO_LEVEL, &log, "%s", message);
}

// The regression: RocksDB's own logger asserts on the line after one the
// disk refused (Debian's RocksDB has assertions on), which ended the server
// on a full disk. Here lines are refused, counted, and later ones written.
TEST(InfoLogTest, LinesTheDiskRefusesAreDroppedAndLaterOnesWritten) {
  testing::TempDir dir;
  std::atomic<bool> full{false};
  testing::HookedFileSystem fs([&](const std::string&, auto) {
    return full ? rocksdb::IOStatus::NoSpace("test disk is full")
                : rocksdb::IOStatus::OK();
  });
  auto log = InfoLog::Open(fs, *rocksdb::SystemClock::Default(), dir.path());
  Log(*log, "before the disk filled");
  full = true;
  for (int i = 0; i < 3; ++i) Log(*log, "while full");
  EXPECT_EQ(log->dropped_lines(), 3);
  full = false;
  Log(*log, "after space returned");
  EXPECT_EQ(log->dropped_lines(), 3);
  ASSERT_TRUE(log->Close().ok());

  const std::string text = ReadFile(dir.path() + "/LOG");
  EXPECT_THAT(text, HasSubstr("before the disk filled\n"));
  EXPECT_THAT(text, HasSubstr("after space returned\n"));
  EXPECT_THAT(text, Not(HasSubstr("while full")));
  // RocksDB's line shape: "YYYY/MM/DD-HH:MM:SS.uuuuuu <thread> message".
  EXPECT_THAT(text, ::testing::MatchesRegex(
                        "[0-9]{4}/[0-9]{2}/[0-9]{2}-[0-9:.]+ [0-9a-f]+ "
                        "[^\n]*before the disk filled\n.*"));
}

TEST(InfoLogTest, AnEarlierLogIsMovedAsideAsRocksDbDoes) {
  testing::TempDir dir;
  std::ofstream(dir.path() + "/LOG") << "the previous run\n";
  auto log = InfoLog::Open(*rocksdb::FileSystem::Default(),
                           *rocksdb::SystemClock::Default(), dir.path());
  Log(*log, "this run");
  ASSERT_TRUE(log->Close().ok());
  EXPECT_THAT(ReadFile(dir.path() + "/LOG"), Not(HasSubstr("previous")));
  int old_logs = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("LOG.old.", 0) == 0) {
      ++old_logs;
      EXPECT_EQ(ReadFile(entry.path().string()), "the previous run\n");
    }
  }
  EXPECT_EQ(old_logs, 1);
}

TEST(InfoLogTest, WithoutAFileEveryLineIsDropped) {
  testing::TempDir dir;
  auto log =
      InfoLog::Open(*rocksdb::FileSystem::Default(),
                    *rocksdb::SystemClock::Default(), dir.path() + "/missing");
  Log(*log, "nowhere to go");
  EXPECT_EQ(log->dropped_lines(), 1);
}

}  // namespace
}  // namespace aesignal::storage
