// Store::RestoreCheckpoint: seeding a new data dir from a backup.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "storage/store.h"

namespace aesignal::storage {
namespace {

namespace fs = std::filesystem;

// Written into a restored data dir: the checkpoint it came from, so that a
// second start with the same --restore_from opens it instead of refusing
// a data dir that is "not empty". RocksDB leaves files it does not name
// alone.
constexpr char kRestoredFrom[] = "AESIGNAL_RESTORED_FROM";

// Whether another process holds `dir`'s RocksDB LOCK (a running store):
// RocksDB takes a POSIX record lock on the whole file, which a probe for
// the same lock finds. A stopped store's LOCK file is left, unlocked.
bool LockHeld(const fs::path& dir) {
  const fs::path lock = dir / "LOCK";
  const int fd = ::open(lock.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return false;  // no LOCK: a checkpoint has none
  struct flock probe = {};
  probe.l_type = F_WRLCK;
  probe.l_whence = SEEK_SET;
  const bool held =
      ::fcntl(fd, F_GETLK, &probe) == 0 && probe.l_type != F_UNLCK;
  ::close(fd);
  return held;
}

// The checkpoint recorded in `data_dir` by an earlier restore, or "".
std::string RestoredFrom(const fs::path& data_dir) {
  std::ifstream in(data_dir / kRestoredFrom);
  std::stringstream text;
  text << in.rdbuf();
  return std::string(absl::StripTrailingAsciiWhitespace(text.str()));
}

// Empties `data_dir` after a failed restore, so that a second try reports
// the same cause, not "it is not empty".
absl::Status Undo(const std::string& checkpoint, const std::string& data_dir,
                  const std::string& why) {
  std::error_code ignored;
  for (const auto& entry : fs::directory_iterator(data_dir, ignored)) {
    fs::remove_all(entry.path(), ignored);
  }
  return absl::FailedPreconditionError(
      absl::StrCat("restoring ", checkpoint, " to ", data_dir, ": ", why,
                   "; nothing was restored (", data_dir, " is left empty)"));
}

// RocksDB's error on opening the copy, said of the backup: the copy is
// removed, so its paths would name files that no longer exist, and a table
// file missing is reported under its legacy name (NNN.ldb, tried after
// NNN.sst).
std::string OfTheBackup(const absl::Status& opened,
                        const std::string& checkpoint,
                        const std::string& data_dir) {
  std::string message = absl::StrReplaceAll(
      opened.ToString(), {{(fs::path(data_dir) / "").string(),
                           (fs::path(checkpoint) / "").string()}});
  if (absl::StrContains(message, ".ldb")) {
    absl::StrAppend(&message,
                    " (a table file NNN.ldb in RocksDB's words is NNN.sst "
                    "missing or unreadable in the backup)");
  }
  return message;
}

void CountFiles(const fs::path& dir, Store::Restore& restore) {
  std::error_code ec;
  for (const auto& entry : fs::recursive_directory_iterator(dir, ec)) {
    if (!entry.is_regular_file(ec)) continue;
    ++restore.files;
    restore.bytes += static_cast<int64_t>(entry.file_size(ec));
  }
}

}  // namespace

absl::StatusOr<Store::Restore> Store::RestoreCheckpoint(
    const std::string& checkpoint, const std::string& data_dir) {
  std::error_code ec;
  if (!fs::is_directory(checkpoint, ec) ||
      !fs::exists(fs::path(checkpoint) / "CURRENT", ec)) {
    return absl::NotFoundError(
        absl::StrCat(checkpoint, " is not an aesignal backup (no CURRENT)"));
  }
  const std::string source = fs::weakly_canonical(checkpoint, ec).string();
  if (LockHeld(checkpoint)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "refusing to restore from ", checkpoint,
        ": it is the data dir of a running store (its LOCK is held), and a "
        "copy of it would be torn; take a backup with `aesignal admin backup "
        "--dest DIR` and restore that"));
  }
  if (fs::exists(data_dir, ec) && !fs::is_empty(data_dir, ec)) {
    if (RestoredFrom(data_dir) == source)
      return Restore{.already_restored = true};
    return absl::FailedPreconditionError(
        absl::StrCat("refusing to restore into ", data_dir,
                     ": it is not empty (restore into a new data dir)"));
  }
  fs::create_directories(data_dir, ec);
  fs::copy(checkpoint, data_dir, fs::copy_options::recursive, ec);
  if (ec) return Undo(checkpoint, data_dir, ec.message());
  // A backup with a file missing or damaged copies without complaint; only
  // opening it finds out. Checked here, once, before any server uses it.
  {
    auto opened = Open({.path = data_dir, .commit_cache_bytes = 0});
    if (!opened.ok()) {
      return Undo(
          checkpoint, data_dir,
          absl::StrCat("the backup cannot be opened: ",
                       OfTheBackup(opened.status(), checkpoint, data_dir)));
    }
  }
  Restore restore;
  CountFiles(data_dir, restore);
  std::ofstream marker(fs::path(data_dir) / kRestoredFrom);
  marker << source << "\n";
  marker.close();
  if (!marker) {
    return Undo(checkpoint, data_dir,
                absl::StrCat("cannot write ", kRestoredFrom, ": ",
                             std::strerror(errno)));
  }
  return restore;
}

}  // namespace aesignal::storage
