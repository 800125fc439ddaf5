#include "storage/info_log.h"

#include <rocksdb/system_clock.h>

#include <cstdio>
#include <ctime>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"

namespace aesignal::storage {
namespace {

// Formats one line as RocksDB's logger does: local time to the microsecond,
// the thread, the message, a newline.
std::string FormatLine(uint64_t now_micros, const char* format, va_list ap) {
  const time_t seconds = static_cast<time_t>(now_micros / 1000000);
  struct tm t;
  localtime_r(&seconds, &t);
  char stamp[64];
  std::snprintf(stamp, sizeof(stamp), "%04d/%02d/%02d-%02d:%02d:%02d.%06d %zx ",
                t.tm_year + 1900, t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min,
                t.tm_sec, static_cast<int>(now_micros % 1000000),
                std::hash<std::thread::id>()(std::this_thread::get_id()));
  std::string line = stamp;
  va_list copy;
  va_copy(copy, ap);
  const int length = std::vsnprintf(nullptr, 0, format, copy);
  va_end(copy);
  if (length > 0) {
    const size_t start = line.size();
    line.resize(start + static_cast<size_t>(length) + 1);
    std::vsnprintf(line.data() + start, static_cast<size_t>(length) + 1, format,
                   ap);
    line.resize(start + static_cast<size_t>(length));
  }
  if (line.back() != '\n') line.push_back('\n');
  return line;
}

}  // namespace

std::shared_ptr<InfoLog> InfoLog::Open(rocksdb::FileSystem& fs,
                                       rocksdb::SystemClock& clock,
                                       const std::string& dir) {
  const std::string path = dir + "/LOG";
  const rocksdb::IOOptions io;
  if (fs.FileExists(path, io, nullptr).ok()) {
    fs.RenameFile(path, absl::StrCat(dir, "/LOG.old.", clock.NowMicros()), io,
                  nullptr)
        .PermitUncheckedError();  // if not, the new lines are appended
  }
  std::unique_ptr<rocksdb::FSWritableFile> file;
  rocksdb::FileOptions options;
  if (!fs.ReopenWritableFile(path, options, &file, nullptr).ok()) {
    file.reset();
  }
  return std::shared_ptr<InfoLog>(new InfoLog(clock, std::move(file)));
}

InfoLog::InfoLog(rocksdb::SystemClock& clock,
                 std::unique_ptr<rocksdb::FSWritableFile> file)
    : rocksdb::Logger(rocksdb::InfoLogLevel::INFO_LEVEL),
      clock_(clock),
      file_(std::move(file)) {}

InfoLog::~InfoLog() { Close().PermitUncheckedError(); }

void InfoLog::Logv(const char* format, va_list ap) {
  const std::string line = FormatLine(clock_.NowMicros(), format, ap);
  absl::MutexLock lock(&mu_);
  const rocksdb::IOOptions io;
  rocksdb::IOStatus s = file_ == nullptr
                            ? rocksdb::IOStatus::IOError("no LOG file")
                            : file_->Append(line, io, nullptr);
  if (s.ok()) s = file_->Flush(io, nullptr);
  if (!s.ok()) dropped_.fetch_add(1, std::memory_order_relaxed);
}

rocksdb::Status InfoLog::CloseImpl() {
  absl::MutexLock lock(&mu_);
  if (file_ == nullptr) return rocksdb::Status::OK();
  rocksdb::IOStatus s = file_->Close(rocksdb::IOOptions(), nullptr);
  file_.reset();
  return s;
}

}  // namespace aesignal::storage
