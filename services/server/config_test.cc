#include "services/server/config.h"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <set>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

ABSL_FLAG(std::string, cfg_test_listen, "127.0.0.1:50051", "test flag");
ABSL_FLAG(int, cfg_test_port, 1, "test flag");
ABSL_FLAG(bool, cfg_test_insecure, false, "test flag");
ABSL_FLAG(std::vector<std::string>, cfg_test_list, {}, "test flag");

namespace aesignal {
namespace {

using ::testing::HasSubstr;

std::string Write(const aesignal::testing::TempDir& dir,
                  const std::string& text) {
  std::string path = dir.Sub("aesignald.yaml");
  std::ofstream(path) << text;
  return path;
}

TEST(ConfigTest, SetsFlagsExceptThoseOnTheCommandLine) {
  aesignal::testing::TempDir dir;
  std::string path = Write(dir,
                           "cfg_test_listen: 0.0.0.0:6000\n"
                           "cfg_test_port: 7\n"
                           "cfg_test_insecure: true\n"
                           "cfg_test_list: [a, b]\n");
  ASSERT_TRUE(ApplyConfigFile(path, {"cfg_test_port"}).ok());
  EXPECT_EQ(absl::GetFlag(FLAGS_cfg_test_listen), "0.0.0.0:6000");
  EXPECT_EQ(absl::GetFlag(FLAGS_cfg_test_port), 1);  // kept
  EXPECT_TRUE(absl::GetFlag(FLAGS_cfg_test_insecure));
  EXPECT_THAT(absl::GetFlag(FLAGS_cfg_test_list),
              ::testing::ElementsAre("a", "b"));
}

TEST(ConfigTest, ErrorsNameTheFileAndKey) {
  aesignal::testing::TempDir dir;
  auto unknown = ApplyConfigFile(Write(dir, "lisen: x\n"), {});
  EXPECT_EQ(unknown.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(unknown.message()), HasSubstr("unknown key 'lisen'"));
  auto bad = ApplyConfigFile(Write(dir, "cfg_test_port: many\n"), {});
  EXPECT_THAT(std::string(bad.message()), HasSubstr("key 'cfg_test_port'"));
  auto not_map = ApplyConfigFile(Write(dir, "- a\n- b\n"), {});
  EXPECT_THAT(std::string(not_map.message()), HasSubstr("mapping"));
  auto broken = ApplyConfigFile(Write(dir, "a: [b\n"), {});
  EXPECT_THAT(std::string(broken.message()), HasSubstr("not readable YAML"));
  for (const char* nothing : {"", "# only a comment\n", "~\n"}) {
    auto empty = ApplyConfigFile(Write(dir, nothing), {});
    EXPECT_EQ(empty.code(), absl::StatusCode::kInvalidArgument) << nothing;
    EXPECT_THAT(std::string(empty.message()), HasSubstr("has no keys"));
  }
  auto directory = ApplyConfigFile(dir.path(), {});
  EXPECT_THAT(std::string(directory.message()), HasSubstr("is a directory"));
  const absl::Status missing = ApplyConfigFile(dir.Sub("missing.yaml"), {});
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(missing.message()), HasSubstr("no such file"));
  auto twice =
      ApplyConfigFile(Write(dir, "cfg_test_port: 3\ncfg_test_port: 4\n"), {});
  EXPECT_EQ(twice.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(twice.message()),
              HasSubstr("key 'cfg_test_port' appears twice"));
}

TEST(ListenAddressTest, PortsInRangeAndNoAddressTwice) {
  EXPECT_TRUE(CheckListenAddresses({{"listen", "127.0.0.1:50051"},
                                    {"http_listen", "[::1]:8080"},
                                    {"metrics_listen", ""},
                                    {"health_listen", "127.0.0.1:0"},
                                    {"x", "127.0.0.1:0"}})
                  .ok());
  for (const char* bad : {"127.0.0.1:99999", "127.0.0.1", "127.0.0.1:", ":80",
                          "host:8o", "127.0.0.1:-1", "127.0.0.1:+80"}) {
    const absl::Status s = CheckListenAddresses({{"http_listen", bad}});
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(s.message(),
              absl::StrCat("--http_listen (or config key 'http_listen'): '",
                           bad, "' is not HOST:PORT with a port of 0-65535"));
  }
  EXPECT_EQ(CheckListenAddresses({{"listen", "127.0.0.1:50051"},
                                  {"health_listen", "127.0.0.1:50051"}})
                .message(),
            "--health_listen (or config key 'health_listen'): 127.0.0.1:50051 "
            "is already the address of another listener");
  // The same socket spelt another way: the kernel's "in use" would be exit 1.
  EXPECT_EQ(CheckListenAddresses({{"listen", "127.0.0.1:8080"},
                                  {"http_listen", "localhost:8080"}})
                .message(),
            "--http_listen (or config key 'http_listen'): localhost:8080 "
            "overlaps --listen's 127.0.0.1:8080 (the same port on the same "
            "addresses)");
  for (const char* overlapping :
       {"0.0.0.0:8080", "[::]:8080", "[::1]:8080", "LOCALHOST:8080",
        "[0:0:0:0:0:0:0:1]:8080", "[::0]:8080", "[::ffff:127.0.0.1]:8080"}) {
    EXPECT_FALSE(CheckListenAddresses({{"listen", "localhost:8080"},
                                       {"http_listen", overlapping}})
                     .ok())
        << overlapping;
  }
  // The same address spelt two ways, without `localhost`.
  EXPECT_FALSE(CheckListenAddresses({{"listen", "[::ffff:10.0.0.5]:8080"},
                                     {"http_listen", "10.0.0.5:8080"}})
                   .ok());
  EXPECT_TRUE(CheckListenAddresses({{"listen", "127.0.0.1:8080"},
                                    {"http_listen", "[::1]:8080"},
                                    {"health_listen", "10.0.0.5:8080"}})
                  .ok());
}

TEST(RangeTest, NamesTheFlag) {
  EXPECT_TRUE(CheckRange("max_message_mb", 16, 1, 2047).ok());
  EXPECT_EQ(CheckRange("max_message_mb", 4096, 1, 2047).message(),
            "--max_message_mb (or config key 'max_message_mb'): 4096 is not in "
            "1-2047");
  EXPECT_FALSE(CheckRange("grace_seconds", -1, 0, 86400).ok());
}

TEST(ConfigTest, ExplicitFlagsFromArgv) {
  const char* argv[] = {"aesignald",        "--cfg_test_listen=1.2.3.4:5",
                        "--cfg_test_list",  "/x",
                        "-cfg_test_port=3", "--nocfg_test_insecure",
                        "positional"};
  auto explicit_flags = CheckCommandLineFlags(7, const_cast<char**>(argv));
  ASSERT_TRUE(explicit_flags.ok()) << explicit_flags.status();
  const std::set<std::string>& names = *explicit_flags;
  EXPECT_TRUE(names.count("cfg_test_listen"));
  EXPECT_TRUE(names.count("cfg_test_list"));
  EXPECT_TRUE(names.count("cfg_test_port"));
  EXPECT_TRUE(names.count("cfg_test_insecure"));
  EXPECT_FALSE(names.count("positional"));
}

// A defined flag's separate value is not a flag, even when it starts with a
// dash; `--no` names only a bool flag's negation.
TEST(ConfigTest, ExplicitFlagsSkipSeparateValues) {
  const char* argv[] = {"aesignald",
                        "--cfg_test_port",
                        "-1",
                        "--nocfg_test_insecure",
                        "--cfg_test_listen",
                        "-x"};
  EXPECT_EQ(CheckCommandLineFlags(6, const_cast<char**>(argv)).value(),
            (std::set<std::string>{"cfg_test_port", "nocfg_test_insecure",
                                   "cfg_test_insecure", "cfg_test_listen"}));
}

TEST(ConfigTest, AnUndefinedFlagIsNamed) {
  const char* defined[] = {"aesignald",
                           "--cfg_test_listen=1.2.3.4:5",
                           "--cfg_test_port",
                           "7",
                           "-cfg_test_port=8",
                           "--nocfg_test_insecure",
                           "--",
                           "--after_the_end"};
  EXPECT_TRUE(CheckCommandLineFlags(8, const_cast<char**>(defined)).ok());
  const char* negative[] = {"aesignald", "--cfg_test_port", "-1",
                            "--cfg_test_insecure", "--cfg_test_port=2"};
  EXPECT_TRUE(CheckCommandLineFlags(5, const_cast<char**>(negative)).ok());
  for (const char* usage : {"--help", "--helpfull", "--version"}) {
    const char* argv[] = {"aesignald", usage};
    EXPECT_TRUE(CheckCommandLineFlags(2, const_cast<char**>(argv)).ok());
  }
  // A lone `-` is an argument, not a flag, as for Abseil.
  const char* dash[] = {"aesignald", "-", "--cfg_test_port=2"};
  EXPECT_TRUE(CheckCommandLineFlags(3, const_cast<char**>(dash)).ok());
  for (const char* wrong : {"--cfg_test_lisen=x", "--nocfg_test_port",
                            "--nonsense", "-x", "---cfg_test_port=1"}) {
    const char* argv[] = {"aesignald", "--cfg_test_port=2", wrong};
    const absl::Status status =
        CheckCommandLineFlags(3, const_cast<char**>(argv)).status();
    EXPECT_TRUE(absl::IsInvalidArgument(status)) << wrong;
    EXPECT_THAT(status.message(),
                HasSubstr(absl::StrCat("unknown flag '", wrong, "'")));
  }
}

// A --flagfile's flags are checked as the command line's are (Abseil's own
// parser would exit 1 on an unknown one), and count as explicit.
TEST(ConfigTest, AFlagfileIsCheckedLineByLine) {
  testing::TempDir dir;
  const std::string inner = dir.path() + "/inner.flags";
  const std::string outer = dir.path() + "/outer.flags";
  std::ofstream(inner) << "--cfg_test_port=9\n";
  std::ofstream(outer) << "# settings\n\n  --cfg_test_listen=1.2.3.4:5\n"
                       << "--flagfile=" << inner << "\n";
  const std::string flagfile = "--flagfile=" + outer;
  const char* good[] = {"aesignald", flagfile.c_str()};
  EXPECT_TRUE(CheckCommandLineFlags(2, const_cast<char**>(good)).ok());
  EXPECT_EQ(
      CheckCommandLineFlags(2, const_cast<char**>(good)).value(),
      (std::set<std::string>{"flagfile", "cfg_test_listen", "cfg_test_port"}));
  const char* separate[] = {"aesignald", "--flagfile", outer.c_str()};
  EXPECT_TRUE(CheckCommandLineFlags(3, const_cast<char**>(separate))
                  .value()
                  .contains("cfg_test_port"));

  std::ofstream(inner) << "--cfg_test_port=9\n--cfg_test_prot=9\n";
  absl::Status status =
      CheckCommandLineFlags(2, const_cast<char**>(good)).status();
  EXPECT_TRUE(absl::IsInvalidArgument(status));
  EXPECT_EQ(status.message(),
            absl::StrCat("unknown flag '--cfg_test_prot=9' at ", inner,
                         ":2 (--help lists the flags)"));

  std::ofstream(inner) << "cfg_test_port=9\n";
  status = CheckCommandLineFlags(2, const_cast<char**>(good)).status();
  EXPECT_EQ(status.message(), absl::StrCat("--flagfile ", inner,
                                           ":1: 'cfg_test_port=9' is not a "
                                           "flag"));

  const std::string missing = "--flagfile=" + dir.path() + "/none";
  const char* unreadable[] = {"aesignald", missing.c_str()};
  status = CheckCommandLineFlags(2, const_cast<char**>(unreadable)).status();
  EXPECT_TRUE(absl::IsInvalidArgument(status));
  EXPECT_THAT(status.message(), HasSubstr("cannot be read"));

  std::ofstream(inner) << "--flagfile=" << inner << "\n";
  status = CheckCommandLineFlags(2, const_cast<char**>(good)).status();
  EXPECT_THAT(status.message(), HasSubstr("nested more than"));

  // As Abseil reads a flagfile, a non-bool flag's value may be the next line.
  std::ofstream(inner) << "--cfg_test_port\n  -1\n--cfg_test_listen\n--x\n";
  EXPECT_TRUE(CheckCommandLineFlags(2, const_cast<char**>(good)).ok());
  EXPECT_FALSE(
      CheckCommandLineFlags(2, const_cast<char**>(good)).value().contains("1"));
}

// A flagfile that is not a regular file (a pipe, `<(...)`) is left to
// Abseil's parser: read here first, it would be empty when Abseil reads it.
// (Opening this FIFO with no writer would block, and the test time out.)
TEST(ConfigTest, AFlagfileThatIsAPipeIsNotRead) {
  testing::TempDir dir;
  const std::string fifo = dir.path() + "/flags.fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  const std::string flagfile = "--flagfile=" + fifo;
  const char* argv[] = {"aesignald", flagfile.c_str(), "--cfg_test_port=2"};
  EXPECT_TRUE(CheckCommandLineFlags(3, const_cast<char**>(argv)).ok());
  EXPECT_EQ(CheckCommandLineFlags(3, const_cast<char**>(argv)).value(),
            (std::set<std::string>{"flagfile", "cfg_test_port"}));
}

// Abseil ignores an undefined flag that --undefok names (and its --no form).
TEST(ConfigTest, UndefokNamesFlagsThatMayBeUndefined) {
  const char* argv[] = {"aesignald", "--undefok=cfg_gone,cfg_old",
                        "--cfg_gone=1", "--nocfg_old", "--cfg_test_port=2"};
  EXPECT_TRUE(CheckCommandLineFlags(5, const_cast<char**>(argv)).ok());
  const char* other[] = {"aesignald", "--undefok", "cfg_gone", "--cfg_else"};
  EXPECT_THAT(
      CheckCommandLineFlags(4, const_cast<char**>(other)).status().message(),
      HasSubstr("unknown flag '--cfg_else'"));
  // The last --undefok counts, as in Abseil.
  const char* twice[] = {"aesignald", "--undefok=cfg_gone", "--undefok=cfg_old",
                         "--cfg_gone=1"};
  EXPECT_THAT(
      CheckCommandLineFlags(4, const_cast<char**>(twice)).status().message(),
      HasSubstr("unknown flag '--cfg_gone=1'"));
}

// --fromenv / --tryfromenv set flags from FLAGS_<name>: checked like the
// command line's (the origin names the variable), and explicit.
TEST(ConfigTest, FlagsFromTheEnvironmentAreChecked) {
  setenv("FLAGS_cfg_test_port", "7", 1);
  setenv("FLAGS_cfg_test_nope", "1", 1);
  unsetenv("FLAGS_cfg_test_listen");
  const char* good[] = {"aesignald", "--fromenv=cfg_test_port",
                        "--tryfromenv=cfg_test_listen"};
  EXPECT_EQ(CheckCommandLineFlags(3, const_cast<char**>(good)).value(),
            (std::set<std::string>{"fromenv", "tryfromenv", "cfg_test_port"}));
  const char* unknown[] = {"aesignald", "--tryfromenv", "cfg_test_nope"};
  EXPECT_EQ(
      CheckCommandLineFlags(3, const_cast<char**>(unknown)).status().message(),
      "unknown flag '--cfg_test_nope=1' at FLAGS_cfg_test_nope (--help "
      "lists the flags)");
  const char* missing[] = {"aesignald", "--fromenv=cfg_test_listen"};
  EXPECT_EQ(
      CheckCommandLineFlags(2, const_cast<char**>(missing)).status().message(),
      "--fromenv: FLAGS_cfg_test_listen is not set");
  const char* loop[] = {"aesignald", "--fromenv=fromenv"};
  EXPECT_FALSE(CheckCommandLineFlags(2, const_cast<char**>(loop)).ok());
  unsetenv("FLAGS_cfg_test_port");
  unsetenv("FLAGS_cfg_test_nope");
}

}  // namespace
}  // namespace aesignal
