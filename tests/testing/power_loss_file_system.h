// A RocksDB file system that can lose power: after CutPower, every write,
// sync, create, rename and delete fails (the machine is off), and
// RestoreAfterPowerLoss then leaves on disk only what a real power cut is
// allowed to leave:
//   - of each file written through it, the bytes appended before its last
//     completed Sync/Fsync, and — at random, per file — some prefix of the
//     bytes appended since (pages the kernel wrote back on its own);
//   - a file created through it only if an fsync of its directory completed
//     after it was created (otherwise the directory entry may be lost);
//   - a rename only if an fsync of the destination's directory completed
//     after it; otherwise the destination gets back what it held before (or
//     disappears if it did not exist).
// A killed process (SIGKILL) loses nothing the kernel has, so a kill -9 test
// cannot see an acknowledgement given before its fsync; this model drops
// such data as a power cut would.
//
// Lenient where real file systems differ and RocksDB does not rely on it:
// deletions take effect at once (a deleted file never reappears), an
// unsynced rename's source name does not come back, and RangeSync never
// makes data durable (it is not counted as a sync). Files opened before this
// file system (earlier runs) count as durable as they are. Refused with
// NOT_SUPPORTED, so that a store configured to need them fails its test
// rather than being checked loosely: reusing a file (WAL recycling), links
// (checkpoints, backups) and random read-write files.
//
// Thread-safe: RocksDB calls it from all its threads.
#ifndef AESIGNAL_TESTS_TESTING_POWER_LOSS_FILE_SYSTEM_H_
#define AESIGNAL_TESTS_TESTING_POWER_LOSS_FILE_SYSTEM_H_

#include <rocksdb/file_system.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace aesignal::testing {

class PowerLossFileSystem : public rocksdb::FileSystemWrapper {
 public:
  // `seed` picks which unsynced tails RestoreAfterPowerLoss keeps in part;
  // each file keeps some of its unsynced bytes with probability
  // `keep_unsynced` (0: none ever survives).
  explicit PowerLossFileSystem(uint32_t seed, double keep_unsynced = 0.5);
  const char* Name() const override { return "PowerLossFileSystem"; }

  // From now on every mutating call fails with an I/O error, and a sync
  // still running counts as never completed.
  void CutPower();
  // Arms a cut in the middle of the next write-ahead log sync (a *.log
  // file's): the power goes as it starts, so the sync never completes and
  // the bytes it was to cover are at the mercy of the cut. The moment every
  // acknowledgement depends on, which a cut at a random time often misses.
  void CutPowerDuringNextWalSync() { cut_at_wal_sync_ = true; }
  bool powered() const { return powered_.load(); }

  struct Loss {
    int files_truncated = 0;  // files that lost unsynced bytes
    int64_t bytes_dropped = 0;
    int files_removed = 0;   // created, never covered by a directory fsync
    int renames_undone = 0;  // renamed, never covered by a directory fsync
    std::vector<std::string> names;  // of the files above (no directory)
  };
  // Puts the disk in the state a power cut at CutPower's moment may leave
  // (see above). Call after CutPower, once nothing uses the files (the
  // store is closed). Errors only if the real file system fails.
  rocksdb::IOStatus RestoreAfterPowerLoss(Loss* loss);

  rocksdb::IOStatus NewWritableFile(
      const std::string& name, const rocksdb::FileOptions& options,
      std::unique_ptr<rocksdb::FSWritableFile>* result,
      rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReopenWritableFile(
      const std::string& name, const rocksdb::FileOptions& options,
      std::unique_ptr<rocksdb::FSWritableFile>* result,
      rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReuseWritableFile(
      const std::string& name, const std::string& old_name,
      const rocksdb::FileOptions& options,
      std::unique_ptr<rocksdb::FSWritableFile>* result,
      rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus NewRandomRWFile(
      const std::string& name, const rocksdb::FileOptions& options,
      std::unique_ptr<rocksdb::FSRandomRWFile>* result,
      rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus NewDirectory(const std::string& name,
                                 const rocksdb::IOOptions& options,
                                 std::unique_ptr<rocksdb::FSDirectory>* result,
                                 rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus RenameFile(const std::string& source,
                               const std::string& target,
                               const rocksdb::IOOptions& options,
                               rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus LinkFile(const std::string& source,
                             const std::string& target,
                             const rocksdb::IOOptions& options,
                             rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus DeleteFile(const std::string& name,
                               const rocksdb::IOOptions& options,
                               rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus Truncate(const std::string& name, size_t size,
                             const rocksdb::IOOptions& options,
                             rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus CreateDir(const std::string& name,
                              const rocksdb::IOOptions& options,
                              rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus CreateDirIfMissing(const std::string& name,
                                       const rocksdb::IOOptions& options,
                                       rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus DeleteDir(const std::string& name,
                              const rocksdb::IOOptions& options,
                              rocksdb::IODebugContext* dbg) override;

  // What the model knows of one file written through it. `appended` is
  // updated by the open file's appends without the lock; the rest is
  // guarded by mu_.
  struct FileState {
    std::atomic<uint64_t> appended{0};  // bytes of completed appends
    uint64_t synced = 0;                // bytes a completed sync covered
    bool entry_durable = false;         // its directory entry survives
    uint64_t created = 0;               // event number of its creation
    bool wal = false;                   // a write-ahead log (*.log)
  };

 private:
  class File;
  class Directory;
  friend class File;
  friend class Directory;

  static rocksdb::IOStatus Off();
  // After a file's sync completed: `before` bytes (appended when it began)
  // are durable, unless the power went off meanwhile.
  rocksdb::IOStatus RecordSync(FileState& state, uint64_t before);
  // After `directory`'s fsync completed: entries created or renamed up to
  // event `began` are durable, unless the power went off meanwhile.
  rocksdb::IOStatus RecordDirectorySync(const std::string& directory,
                                        uint64_t began);
  uint64_t event() const;
  // Opens `name` (through `open`) as a tracked file.
  rocksdb::IOStatus Track(const std::string& name, bool reopen,
                          const std::function<rocksdb::IOStatus(
                              std::unique_ptr<rocksdb::FSWritableFile>*)>& open,
                          std::unique_ptr<rocksdb::FSWritableFile>* result);

  // Called as a sync of `state`'s file starts: cuts the power if armed to.
  void MaybeCutAtSync(const FileState& state);

  std::atomic<bool> powered_{true};
  std::atomic<bool> cut_at_wal_sync_{false};
  mutable std::mutex mu_;
  uint64_t events_ = 0;  // guarded by mu_
  // By full path, guarded by mu_.
  std::map<std::string, std::shared_ptr<FileState>> files_;
  struct Renamed {
    std::optional<std::string> previous;  // what the target held (durably)
    uint64_t event = 0;
  };
  std::map<std::string, Renamed> renamed_;  // by target
  std::mt19937 random_;                     // guarded by mu_
  const double keep_unsynced_;
};

}  // namespace aesignal::testing

#endif  // AESIGNAL_TESTS_TESTING_POWER_LOSS_FILE_SYSTEM_H_
