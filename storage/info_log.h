#ifndef AESIGNAL_STORAGE_INFO_LOG_H_
#define AESIGNAL_STORAGE_INFO_LOG_H_

#include <rocksdb/env.h>
#include <rocksdb/file_system.h>

#include <atomic>
#include <cstdarg>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace aesignal::storage {

// RocksDB's information log (<data dir>/LOG) written so that a full disk
// cannot stop the server. RocksDB's own logger buffers lines in a writer
// that, once an append has failed, asserts on the next one — and Debian's
// RocksDB is built with assertions: on a full disk the server aborted a few
// seconds after its first refused batch, and again at once on every restart
// until space was freed. This one appends and flushes each line straight to
// the file; a line the disk refuses is dropped and counted, and the next is
// tried again.
//
// As RocksDB does, it moves an earlier LOG aside to LOG.old.<microseconds>
// when it opens (RocksDB deletes the oldest beyond keep_log_file_num).
//
// Thread-safe: RocksDB logs from any of its threads.
class InfoLog final : public rocksdb::Logger {
 public:
  // Never fails: if LOG cannot be created (the disk is full, say) every line
  // is dropped.
  static std::shared_ptr<InfoLog> Open(rocksdb::FileSystem& fs,
                                       rocksdb::SystemClock& clock,
                                       const std::string& dir);
  ~InfoLog() override;

  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override;

  // Lines the disk refused (or all of them, with no file).
  uint64_t dropped_lines() const {
    return dropped_.load(std::memory_order_relaxed);
  }

 private:
  InfoLog(rocksdb::SystemClock& clock,
          std::unique_ptr<rocksdb::FSWritableFile> file);
  rocksdb::Status CloseImpl() override;

  rocksdb::SystemClock& clock_;
  std::atomic<uint64_t> dropped_{0};
  absl::Mutex mu_;
  std::unique_ptr<rocksdb::FSWritableFile> file_ ABSL_GUARDED_BY(mu_);
};

}  // namespace aesignal::storage

#endif  // AESIGNAL_STORAGE_INFO_LOG_H_
