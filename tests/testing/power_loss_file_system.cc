#include "tests/testing/power_loss_file_system.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <system_error>
#include <utility>

namespace aesignal::testing {
namespace {

namespace fs = std::filesystem;

std::string Normal(const std::string& path) {
  std::string normal = fs::path(path).lexically_normal().string();
  while (normal.size() > 1 && normal.back() == '/') normal.pop_back();
  return normal;
}

std::string DirectoryOf(const std::string& normal_path) {
  return fs::path(normal_path).parent_path().string();
}

rocksdb::IOStatus FromErrorCode(const std::string& what,
                                const std::error_code& ec) {
  return rocksdb::IOStatus::IOError(what, ec.message());
}

}  // namespace

// A writable file whose appends and syncs the model follows.
class PowerLossFileSystem::File final
    : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  File(std::unique_ptr<rocksdb::FSWritableFile> file, PowerLossFileSystem* fs,
       std::shared_ptr<FileState> state)
      : FSWritableFileOwnerWrapper(std::move(file)),
        fs_(*fs),
        state_(std::move(state)) {}

  rocksdb::IOStatus Append(const rocksdb::Slice& data,
                           const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* dbg) override {
    if (!fs_.powered()) return Off();
    rocksdb::IOStatus s =
        FSWritableFileOwnerWrapper::Append(data, options, dbg);
    if (s.ok()) state_->appended += data.size();
    return s;
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data,
                           const rocksdb::IOOptions& options,
                           const rocksdb::DataVerificationInfo& info,
                           rocksdb::IODebugContext* dbg) override {
    if (!fs_.powered()) return Off();
    rocksdb::IOStatus s =
        FSWritableFileOwnerWrapper::Append(data, options, info, dbg);
    if (s.ok()) state_->appended += data.size();
    return s;
  }
  // Direct I/O only; not modelled (see the header).
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice&, uint64_t,
                                     const rocksdb::IOOptions&,
                                     rocksdb::IODebugContext*) override {
    return rocksdb::IOStatus::NotSupported("PowerLossFileSystem: direct I/O");
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice&, uint64_t,
                                     const rocksdb::IOOptions&,
                                     const rocksdb::DataVerificationInfo&,
                                     rocksdb::IODebugContext*) override {
    return rocksdb::IOStatus::NotSupported("PowerLossFileSystem: direct I/O");
  }
  rocksdb::IOStatus Truncate(uint64_t size, const rocksdb::IOOptions& options,
                             rocksdb::IODebugContext* dbg) override {
    if (!fs_.powered()) return Off();
    rocksdb::IOStatus s =
        FSWritableFileOwnerWrapper::Truncate(size, options, dbg);
    if (s.ok()) {
      std::lock_guard<std::mutex> lock(fs_.mu_);
      state_->appended = size;
      state_->synced = std::min(state_->synced, size);
    }
    return s;
  }
  rocksdb::IOStatus Flush(const rocksdb::IOOptions& options,
                          rocksdb::IODebugContext* dbg) override {
    if (!fs_.powered()) return Off();
    return FSWritableFileOwnerWrapper::Flush(options, dbg);
  }
  rocksdb::IOStatus Sync(const rocksdb::IOOptions& options,
                         rocksdb::IODebugContext* dbg) override {
    fs_.MaybeCutAtSync(*state_);
    if (!fs_.powered()) return Off();
    // Only what was appended before the sync began is known to be covered.
    const uint64_t before = state_->appended.load();
    rocksdb::IOStatus s = FSWritableFileOwnerWrapper::Sync(options, dbg);
    return s.ok() ? fs_.RecordSync(*state_, before) : s;
  }
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& options,
                          rocksdb::IODebugContext* dbg) override {
    fs_.MaybeCutAtSync(*state_);
    if (!fs_.powered()) return Off();
    const uint64_t before = state_->appended.load();
    rocksdb::IOStatus s = FSWritableFileOwnerWrapper::Fsync(options, dbg);
    return s.ok() ? fs_.RecordSync(*state_, before) : s;
  }
  // sync_file_range: writes pages back but promises nothing after a power
  // cut, so it is not a sync here.
  rocksdb::IOStatus RangeSync(uint64_t offset, uint64_t nbytes,
                              const rocksdb::IOOptions& options,
                              rocksdb::IODebugContext* dbg) override {
    if (!fs_.powered()) return Off();
    return FSWritableFileOwnerWrapper::RangeSync(offset, nbytes, options, dbg);
  }
  // Close always reaches the real file, so its descriptor is released.

 private:
  PowerLossFileSystem& fs_;
  const std::shared_ptr<FileState> state_;
};

// A directory whose fsyncs make the entries created and renamed in it before
// them durable.
class PowerLossFileSystem::Directory final
    : public rocksdb::FSDirectoryWrapper {
 public:
  Directory(std::unique_ptr<rocksdb::FSDirectory> directory,
            PowerLossFileSystem* fs, std::string name)
      : FSDirectoryWrapper(std::move(directory)),
        fs_(*fs),
        name_(std::move(name)) {}

  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& options,
                          rocksdb::IODebugContext* dbg) override {
    if (!fs_.powered()) return Off();
    const uint64_t began = fs_.event();
    rocksdb::IOStatus s = FSDirectoryWrapper::Fsync(options, dbg);
    return s.ok() ? fs_.RecordDirectorySync(name_, began) : s;
  }
  rocksdb::IOStatus FsyncWithDirOptions(
      const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg,
      const rocksdb::DirFsyncOptions& dir_options) override {
    if (!fs_.powered()) return Off();
    const uint64_t began = fs_.event();
    rocksdb::IOStatus s =
        FSDirectoryWrapper::FsyncWithDirOptions(options, dbg, dir_options);
    return s.ok() ? fs_.RecordDirectorySync(name_, began) : s;
  }

 private:
  PowerLossFileSystem& fs_;
  const std::string name_;
};

PowerLossFileSystem::PowerLossFileSystem(uint32_t seed, double keep_unsynced)
    : FileSystemWrapper(rocksdb::FileSystem::Default()),
      random_(seed),
      keep_unsynced_(keep_unsynced) {}

rocksdb::IOStatus PowerLossFileSystem::Off() {
  return rocksdb::IOStatus::IOError("PowerLossFileSystem: the power is off");
}

void PowerLossFileSystem::CutPower() {
  std::lock_guard<std::mutex> lock(mu_);
  powered_ = false;
}

void PowerLossFileSystem::MaybeCutAtSync(const FileState& state) {
  if (state.wal && cut_at_wal_sync_.exchange(false)) CutPower();
}

uint64_t PowerLossFileSystem::event() const {
  std::lock_guard<std::mutex> lock(mu_);
  return events_;
}

rocksdb::IOStatus PowerLossFileSystem::RecordSync(FileState& state,
                                                  uint64_t before) {
  std::lock_guard<std::mutex> lock(mu_);
  // The power went off while the sync ran: it never returned.
  if (!powered_) return Off();
  state.synced = std::max(state.synced, before);
  return rocksdb::IOStatus::OK();
}

rocksdb::IOStatus PowerLossFileSystem::RecordDirectorySync(
    const std::string& directory, uint64_t began) {
  const std::string dir = Normal(directory);
  std::lock_guard<std::mutex> lock(mu_);
  if (!powered_) return Off();
  for (auto& [name, state] : files_) {
    if (state->created <= began && DirectoryOf(name) == dir) {
      state->entry_durable = true;
    }
  }
  std::erase_if(renamed_, [&](const auto& target_renamed) {
    return target_renamed.second.event <= began &&
           DirectoryOf(target_renamed.first) == dir;
  });
  return rocksdb::IOStatus::OK();
}

rocksdb::IOStatus PowerLossFileSystem::Track(
    const std::string& name, bool reopen,
    const std::function<
        rocksdb::IOStatus(std::unique_ptr<rocksdb::FSWritableFile>*)>& open,
    std::unique_ptr<rocksdb::FSWritableFile>* result) {
  const std::string normal = Normal(name);
  std::lock_guard<std::mutex> lock(mu_);
  if (!powered_) return Off();
  std::error_code ec;
  const bool existed = fs::exists(normal, ec);
  std::unique_ptr<rocksdb::FSWritableFile> file;
  rocksdb::IOStatus s = open(&file);
  if (!s.ok()) return s;
  std::shared_ptr<FileState>& state = files_[normal];
  if (reopen && state != nullptr) {
    // Appending again to a file written since the power came on: as it was.
  } else if (reopen) {
    // A file from before: all of it is durable.
    state = std::make_shared<FileState>();
    const uint64_t size = fs::file_size(normal, ec);
    state->appended = ec ? 0 : size;
    state->synced = state->appended;
    state->entry_durable = true;
  } else {
    // Created, or truncated if it existed: its entry survives only if it
    // was durable already.
    const bool entry_durable =
        existed && (state == nullptr || state->entry_durable);
    state = std::make_shared<FileState>();
    state->entry_durable = entry_durable;
    state->created = ++events_;
    state->wal = normal.ends_with(".log");
  }
  *result = std::make_unique<File>(std::move(file), this, state);
  return rocksdb::IOStatus::OK();
}

rocksdb::IOStatus PowerLossFileSystem::NewWritableFile(
    const std::string& name, const rocksdb::FileOptions& options,
    std::unique_ptr<rocksdb::FSWritableFile>* result,
    rocksdb::IODebugContext* dbg) {
  return Track(
      name, /*reopen=*/false,
      [&](std::unique_ptr<rocksdb::FSWritableFile>* file) {
        return target()->NewWritableFile(name, options, file, dbg);
      },
      result);
}

rocksdb::IOStatus PowerLossFileSystem::ReopenWritableFile(
    const std::string& name, const rocksdb::FileOptions& options,
    std::unique_ptr<rocksdb::FSWritableFile>* result,
    rocksdb::IODebugContext* dbg) {
  return Track(
      name, /*reopen=*/true,
      [&](std::unique_ptr<rocksdb::FSWritableFile>* file) {
        return target()->ReopenWritableFile(name, options, file, dbg);
      },
      result);
}

rocksdb::IOStatus PowerLossFileSystem::ReuseWritableFile(
    const std::string&, const std::string&, const rocksdb::FileOptions&,
    std::unique_ptr<rocksdb::FSWritableFile>*, rocksdb::IODebugContext*) {
  return rocksdb::IOStatus::NotSupported(
      "PowerLossFileSystem: reused files (WAL recycling)");
}

rocksdb::IOStatus PowerLossFileSystem::NewRandomRWFile(
    const std::string&, const rocksdb::FileOptions&,
    std::unique_ptr<rocksdb::FSRandomRWFile>*, rocksdb::IODebugContext*) {
  return rocksdb::IOStatus::NotSupported(
      "PowerLossFileSystem: random read-write files");
}

rocksdb::IOStatus PowerLossFileSystem::NewDirectory(
    const std::string& name, const rocksdb::IOOptions& options,
    std::unique_ptr<rocksdb::FSDirectory>* result,
    rocksdb::IODebugContext* dbg) {
  std::unique_ptr<rocksdb::FSDirectory> directory;
  rocksdb::IOStatus s = target()->NewDirectory(name, options, &directory, dbg);
  if (s.ok()) {
    *result = std::make_unique<Directory>(std::move(directory), this, name);
  }
  return s;
}

rocksdb::IOStatus PowerLossFileSystem::RenameFile(
    const std::string& source, const std::string& target_name,
    const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) {
  const std::string from = Normal(source), to = Normal(target_name);
  std::lock_guard<std::mutex> lock(mu_);
  if (!powered_) return Off();
  Renamed undo;
  if (auto earlier = renamed_.find(to); earlier != renamed_.end()) {
    undo.previous = earlier->second.previous;  // what was durable before both
  } else if (auto tracked = files_.find(to);
             tracked == files_.end() || tracked->second->entry_durable) {
    std::ifstream in(to, std::ios::binary);
    if (in) {
      std::string content((std::istreambuf_iterator<char>(in)),
                          std::istreambuf_iterator<char>());
      if (tracked != files_.end()) {
        content.resize(
            std::min<size_t>(content.size(), tracked->second->synced));
      }
      undo.previous = std::move(content);
    }
  }
  rocksdb::IOStatus s = target()->RenameFile(source, target_name, options, dbg);
  if (!s.ok()) return s;
  if (auto moved = files_.find(from); moved != files_.end()) {
    files_[to] = std::move(moved->second);
    files_.erase(moved);
  } else {
    files_.erase(to);
  }
  undo.event = ++events_;
  renamed_[to] = std::move(undo);
  return s;
}

rocksdb::IOStatus PowerLossFileSystem::LinkFile(const std::string&,
                                                const std::string&,
                                                const rocksdb::IOOptions&,
                                                rocksdb::IODebugContext*) {
  return rocksdb::IOStatus::NotSupported("PowerLossFileSystem: links");
}

rocksdb::IOStatus PowerLossFileSystem::DeleteFile(
    const std::string& name, const rocksdb::IOOptions& options,
    rocksdb::IODebugContext* dbg) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!powered_) return Off();
  rocksdb::IOStatus s = target()->DeleteFile(name, options, dbg);
  if (s.ok()) {
    files_.erase(Normal(name));
    renamed_.erase(Normal(name));
  }
  return s;
}

rocksdb::IOStatus PowerLossFileSystem::Truncate(
    const std::string& name, size_t size, const rocksdb::IOOptions& options,
    rocksdb::IODebugContext* dbg) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!powered_) return Off();
  rocksdb::IOStatus s = target()->Truncate(name, size, options, dbg);
  if (auto tracked = files_.find(Normal(name));
      s.ok() && tracked != files_.end()) {
    tracked->second->appended = size;
    tracked->second->synced = std::min<uint64_t>(tracked->second->synced, size);
  }
  return s;
}

rocksdb::IOStatus PowerLossFileSystem::CreateDir(
    const std::string& name, const rocksdb::IOOptions& options,
    rocksdb::IODebugContext* dbg) {
  if (!powered()) return Off();
  return target()->CreateDir(name, options, dbg);
}

rocksdb::IOStatus PowerLossFileSystem::CreateDirIfMissing(
    const std::string& name, const rocksdb::IOOptions& options,
    rocksdb::IODebugContext* dbg) {
  if (!powered()) return Off();
  return target()->CreateDirIfMissing(name, options, dbg);
}

rocksdb::IOStatus PowerLossFileSystem::DeleteDir(
    const std::string& name, const rocksdb::IOOptions& options,
    rocksdb::IODebugContext* dbg) {
  if (!powered()) return Off();
  return target()->DeleteDir(name, options, dbg);
}

rocksdb::IOStatus PowerLossFileSystem::RestoreAfterPowerLoss(Loss* loss) {
  std::lock_guard<std::mutex> lock(mu_);
  std::error_code ec;
  for (const auto& [to, undo] : renamed_) {
    ++loss->renames_undone;
    loss->names.push_back(fs::path(to).filename().string() + " (renamed)");
    files_.erase(to);  // what it holds now is replaced below
    if (!undo.previous.has_value()) {
      fs::remove(to, ec);
      if (ec) return FromErrorCode("undoing a rename to " + to, ec);
      continue;
    }
    std::ofstream out(to, std::ios::binary | std::ios::trunc);
    out << *undo.previous;
    if (!out.flush()) return rocksdb::IOStatus::IOError("rewriting " + to);
  }
  std::bernoulli_distribution keep_some_unsynced(keep_unsynced_);
  for (const auto& [name, state] : files_) {
    if (!fs::exists(name, ec)) continue;
    if (!state->entry_durable) {
      fs::remove(name, ec);
      if (ec) return FromErrorCode("removing " + name, ec);
      ++loss->files_removed;
      loss->names.push_back(fs::path(name).filename().string() + " (new)");
      continue;
    }
    const uint64_t size = fs::file_size(name, ec);
    if (ec) return FromErrorCode("sizing " + name, ec);
    if (size <= state->synced) continue;
    uint64_t keep = state->synced;
    if (keep_some_unsynced(random_)) {
      keep += std::uniform_int_distribution<uint64_t>(0, size - keep)(random_);
    }
    if (keep == size) continue;
    fs::resize_file(name, keep, ec);
    if (ec) return FromErrorCode("truncating " + name, ec);
    ++loss->files_truncated;
    loss->names.push_back(fs::path(name).filename().string());
    loss->bytes_dropped += static_cast<int64_t>(size - keep);
  }
  files_.clear();
  renamed_.clear();
  return rocksdb::IOStatus::OK();
}

}  // namespace aesignal::testing
