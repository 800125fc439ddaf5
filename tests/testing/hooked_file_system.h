// A RocksDB file system for fault tests: every writable file it opens asks a
// hook before each append, flush and sync, and the hook's answer (anything
// but OK) is returned instead of doing it. The hook may also block, holding
// the RocksDB thread that writes. Used by the disk-full test (every file,
// ENOSPC on demand) and the store's merged-write test (WAL appends held at a
// gate).
// The hook is called from RocksDB's threads: it must be thread-safe.
#ifndef AESIGNAL_TESTS_TESTING_HOOKED_FILE_SYSTEM_H_
#define AESIGNAL_TESTS_TESTING_HOOKED_FILE_SYSTEM_H_

#include <rocksdb/file_system.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>

namespace aesignal::testing {

class HookedFileSystem : public rocksdb::FileSystemWrapper {
 public:
  enum class Op { kAppend, kFlush, kSync };
  // `file` is the name the file was opened with.
  using Hook = std::function<rocksdb::IOStatus(const std::string& file, Op)>;

  explicit HookedFileSystem(Hook hook)
      : FileSystemWrapper(rocksdb::FileSystem::Default()),
        hook_(std::move(hook)) {}
  const char* Name() const override { return "HookedFileSystem"; }

  rocksdb::IOStatus NewWritableFile(
      const std::string& name, const rocksdb::FileOptions& options,
      std::unique_ptr<rocksdb::FSWritableFile>* result,
      rocksdb::IODebugContext* dbg) override {
    // Creating a file is never refused (a full disk still has inodes);
    // writing to it may be.
    std::unique_ptr<rocksdb::FSWritableFile> file;
    rocksdb::IOStatus s = target()->NewWritableFile(name, options, &file, dbg);
    if (s.ok()) *result = std::make_unique<File>(std::move(file), name, &hook_);
    return s;
  }
  // The same for a file opened to append to (the store's LOG).
  rocksdb::IOStatus ReopenWritableFile(
      const std::string& name, const rocksdb::FileOptions& options,
      std::unique_ptr<rocksdb::FSWritableFile>* result,
      rocksdb::IODebugContext* dbg) override {
    std::unique_ptr<rocksdb::FSWritableFile> file;
    rocksdb::IOStatus s =
        target()->ReopenWritableFile(name, options, &file, dbg);
    if (s.ok()) *result = std::make_unique<File>(std::move(file), name, &hook_);
    return s;
  }

 private:
  class File final : public rocksdb::FSWritableFileOwnerWrapper {
   public:
    File(std::unique_ptr<rocksdb::FSWritableFile> file, std::string name,
         const Hook* hook)
        : FSWritableFileOwnerWrapper(std::move(file)),
          name_(std::move(name)),
          hook_(*hook) {}

    rocksdb::IOStatus Append(const rocksdb::Slice& data,
                             const rocksdb::IOOptions& options,
                             rocksdb::IODebugContext* dbg) override {
      rocksdb::IOStatus s = hook_(name_, Op::kAppend);
      return s.ok() ? FSWritableFileOwnerWrapper::Append(data, options, dbg)
                    : s;
    }
    rocksdb::IOStatus Append(const rocksdb::Slice& data,
                             const rocksdb::IOOptions& options,
                             const rocksdb::DataVerificationInfo& info,
                             rocksdb::IODebugContext* dbg) override {
      rocksdb::IOStatus s = hook_(name_, Op::kAppend);
      return s.ok()
                 ? FSWritableFileOwnerWrapper::Append(data, options, info, dbg)
                 : s;
    }
    rocksdb::IOStatus Flush(const rocksdb::IOOptions& options,
                            rocksdb::IODebugContext* dbg) override {
      rocksdb::IOStatus s = hook_(name_, Op::kFlush);
      return s.ok() ? FSWritableFileOwnerWrapper::Flush(options, dbg) : s;
    }
    rocksdb::IOStatus Sync(const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* dbg) override {
      rocksdb::IOStatus s = hook_(name_, Op::kSync);
      return s.ok() ? FSWritableFileOwnerWrapper::Sync(options, dbg) : s;
    }
    rocksdb::IOStatus Fsync(const rocksdb::IOOptions& options,
                            rocksdb::IODebugContext* dbg) override {
      rocksdb::IOStatus s = hook_(name_, Op::kSync);
      return s.ok() ? FSWritableFileOwnerWrapper::Fsync(options, dbg) : s;
    }

   private:
    const std::string name_;
    const Hook& hook_;
  };

  const Hook hook_;
};

}  // namespace aesignal::testing

#endif  // AESIGNAL_TESTS_TESTING_HOOKED_FILE_SYSTEM_H_
