// Store: the one owner of aesignal's RocksDB database.
//
// Reads go straight to RocksDB (lock-free, thread-safe). Every write goes
// through Commit(): mutations run one at a time, in arrival order, on a single
// committer thread, each building exactly one atomic WriteBatch. Two threads
// form a pipeline: the committer runs mutations and hands each one's writes
// to a writer thread, which applies everything handed to it since its last
// write to RocksDB as one write, syncs the WAL once for all of it (group
// commit) and only then completes the callers, in order. So a completed
// Commit is durable against process crash and power loss, concurrent writers
// share fsyncs, and the committer runs the next mutations while the last
// ones are applied and synced. (The sync once had a thread of its own; see
// WriteLoop for why it no longer does.) A
// mutation reads the writes of those before it whether or not RocksDB holds
// them yet (storage/in_flight.h); if applying or syncing one fails, every
// later one fails too, since it may have read what failed.
//
// Example:
//   auto store = Store::Open({.path = "/var/lib/aesignal"});
//   absl::Status s = (*store)->Commit([&](Txn& txn) {
//     txn.Put(Cf::kTrials, TrialKey("T1"), bytes);
//     return absl::OkStatus();
//   });
#ifndef AESIGNAL_STORAGE_STORE_H_
#define AESIGNAL_STORAGE_STORE_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "storage/commit_cache.h"
#include "storage/in_flight.h"
#include "storage/view_gate.h"

namespace rocksdb {
class ColumnFamilyHandle;
class DB;
class Env;
class Logger;
class Snapshot;
class Status;
class WriteBatch;
}  // namespace rocksdb

namespace aesignal::storage {

class Store;

// Column families. Values are indexes into the handle table.
enum class Cf : int {
  kMeta = 0,            // schema version and other metadata
  kTrials = 1,          // trial_id -> aesignal.v1.Trial
  kSubjects = 2,        // (trial, subject) -> current aesignal.v1.Subject
  kSubjectHistory = 3,  // (trial, subject, version) -> aesignal.v1.Subject
  kReports = 4,         // (trial, site, report, version) -> StoredReport
  kSubjectTerms = 5,    // (trial, term, subject) -> per-window event counts
  kCounters = 6,        // (trial, term) -> counter row (incidence.h)
  kReportHeads = 7,     // (trial, site, report) -> newest stored version
  kBaselines = 8,       // (trial, baseline, version) -> aesignal.v1.Baseline
  kSignals = 9,         // (trial, signal) -> current aesignal.v1.Signal
  kSignalLog = 10,      // (trial, sequence) -> SignalChange
  kDirtyTerms = 11,     // (trial, term) -> DirtyTerm: awaiting evaluation
  kSignalHistory = 12,  // (trial, signal, sequence) -> aesignal.v1.SignalEvent
  kAudit = 13,   // (trial, sequence) -> AuditRecord: schema <= 2, emptied by 3
  kTopics = 14,  // (trial, topic) -> aesignal.v1.SignalTopic (triage)
  kAuditBlocks = 15,  // (trial, last sequence) -> AuditBlock (storage/audit.h)
};
inline constexpr int kNumCfs = 16;
const char* CfName(Cf cf);

// The schema version this build reads and writes. Older stores are upgraded
// on open: version 1 kept one counter key per incidence cell (see
// MigrateCellCountersToRows), versions 1 and 2 one audit key per record (see
// MigrateAuditToBlocks). Version 4 changes no layout: its counters may follow
// the domain's counting rule 3 (a report without relatedness is related),
// and a build before it, which counts by rule 2 and would mix the two in one
// row, must refuse the store (it refuses a newer schema); from 3 to 4
// nothing is converted (the domain recounts, counting_upgrade.h).
inline constexpr int kSchemaVersion = 4;

// Translates a RocksDB status into an absl::Status (the only place that does).
absl::Status FromRocks(const rocksdb::Status& s);

struct StoreOptions {
  // Directory of the database; created if missing.
  std::string path;
  // RocksDB block cache size.
  size_t block_cache_bytes = 64 << 20;
  // Upper bound of the write-ahead log kept before memtables are flushed; it
  // bounds the replay work, and so the restart time, after a crash (replay
  // took up to 3.6 s at 64 MiB on the 2-core reference machine).
  uint64_t max_wal_bytes = 32ull << 20;
  // Flush memtables when the store is destroyed, so that a clean restart
  // replays almost nothing. (Tests turn it off to time crash recovery.)
  bool flush_on_close = true;
  // Memory for the committer's cache of values it read or wrote
  // (storage/commit_cache.h); 0 turns the cache off.
  size_t commit_cache_bytes = 128 << 20;
  // Whether the committer runs the next mutations while the last ones are
  // applied and synced (false: after each group of queued mutations it waits
  // until they are durable, as a plain group commit).
  bool pipelined_sync = true;
  // RocksDB environment (null: the default). Tests inject faults with it.
  rocksdb::Env* env = nullptr;
  // While a write has failed (disk full, I/O error), how often the store
  // tries to resume RocksDB; writes are refused until it succeeds.
  absl::Duration resume_interval = absl::Seconds(1);
  // Where the store's operational lines go (a write failed, why writes are
  // not taken yet, writing again): one line each, no newline; called from
  // the store's threads. Null: standard error, with a UTC timestamp.
  std::function<void(std::string_view line)> log = nullptr;
};

// Consistent reads. A view with a snapshot sees one point in time across all
// column families; one without sees the latest data.
// Not thread-safe; cheap to create. The Store must outlive it.
class ReadView {
 public:
  virtual ~ReadView() = default;

  // NOT_FOUND is not an error: returns std::nullopt.
  virtual absl::StatusOr<std::optional<std::string>> Get(
      Cf cf, std::string_view key) const;

  // Calls fn(key, value) for keys k with prefix <= ... in key order, starting
  // at the first key >= start (start defaults to prefix), while fn returns
  // true. Keys pending in a Txn are not visible to Scan.
  virtual absl::Status Scan(
      Cf cf, std::string_view prefix, std::string_view start,
      const std::function<bool(std::string_view key, std::string_view value)>&
          fn) const;

  // The last key (in key order) starting with `prefix`, with its value.
  absl::StatusOr<std::optional<std::pair<std::string, std::string>>> Last(
      Cf cf, std::string_view prefix) const {
    return LastEntry(cf, prefix, /*with_value=*/true);
  }
  // The same key without copying its value (an audit block is large).
  absl::StatusOr<std::optional<std::string>> LastKey(
      Cf cf, std::string_view prefix) const;

 protected:
  // Last's answer; the value is left empty unless `with_value`.
  virtual absl::StatusOr<std::optional<std::pair<std::string, std::string>>>
  LastEntry(Cf cf, std::string_view prefix, bool with_value) const;

  friend class Store;
  ReadView(rocksdb::DB* db,
           const std::vector<rocksdb::ColumnFamilyHandle*>* cfs,
           const rocksdb::Snapshot* snapshot, ViewPin pin = {})
      : db_(db), cfs_(cfs), snapshot_(snapshot), pin_(std::move(pin)) {}

  rocksdb::DB* db_;
  const std::vector<rocksdb::ColumnFamilyHandle*>* cfs_;
  const rocksdb::Snapshot* snapshot_;  // may be null
  // Keeps db_ open (the store reopens RocksDB only while no view holds it).
  ViewPin pin_;
};

// A view pinned to one snapshot; releases it on destruction.
class SnapshotView : public ReadView {
 public:
  ~SnapshotView() override;
  SnapshotView(const SnapshotView&) = delete;
  SnapshotView& operator=(const SnapshotView&) = delete;

  // The store's sequence number at the snapshot. Every write advances it, so
  // two views with the same sequence read the same data (memo keys).
  uint64_t Sequence() const;

 private:
  friend class Store;
  SnapshotView(rocksdb::DB* db,
               const std::vector<rocksdb::ColumnFamilyHandle*>* cfs,
               ViewPin pin);
};

// The write side of one Commit. Get() sees this transaction's own pending
// writes over the latest committed data (read-your-writes): the writes of
// earlier mutations that RocksDB may not hold yet, then the committer's cache,
// then RocksDB. Scan and Last see the earlier mutations' writes too (they
// wait for them to be applied when they must), but not this transaction's
// own. The writes become one atomic WriteBatch when the mutation returns OK,
// and are dropped when it returns an error. Only valid inside the mutation.
class Txn : public ReadView {
 public:
  absl::StatusOr<std::optional<std::string>> Get(
      Cf cf, std::string_view key) const override;
  absl::Status Scan(
      Cf cf, std::string_view prefix, std::string_view start,
      const std::function<bool(std::string_view key, std::string_view value)>&
          fn) const override;
  void Put(Cf cf, std::string_view key, std::string value);
  void Delete(Cf cf, std::string_view key);
  // Withdraws this transaction's own pending Put of `key` and returns its
  // value (nullopt if it has none). For a record the transaction builds
  // under a key that moves as it grows (an audit block).
  std::optional<std::string> TakePending(Cf cf, std::string_view key);
  bool empty() const { return pending_.empty(); }
  size_t pending_writes() const { return pending_.size(); }

 private:
  friend class Store;
  Txn(Store* store, CommitCache* cache, InFlightWrites* in_flight);
  absl::StatusOr<std::optional<std::pair<std::string, std::string>>> LastEntry(
      Cf cf, std::string_view prefix, bool with_value) const override;

  Store* store_;
  CommitCache* cache_;  // may be null (cache off)
  InFlightWrites* in_flight_;

  Writes pending_;
  // Point reads that went to RocksDB (not answered from memory).
  mutable int64_t db_reads_ = 0;
};

// A unit of work run by the committer: read through and write into the Txn.
using Mutation = std::function<absl::Status(Txn&)>;
// Called on the store's writer thread (or the caller's, for a commit refused
// at once) once the mutation is durable (OK) or has failed, in commit order;
// must be quick and must not call Commit.
using CommitCallback = std::function<void(absl::Status)>;

// Thread-safe. Owns the RocksDB instance and its column-family handles.
class Store {
 public:
  // Opens (creating if needed) the database at options.path, checks its schema
  // version and starts the committer. Reopening is fast: nothing is rebuilt.
  static absl::StatusOr<std::unique_ptr<Store>> Open(
      const StoreOptions& options);

  // Stops the committer after finishing queued work, then closes the DB.
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Runs `mutation` on the committer thread and waits until its writes are
  // durable. Returns the mutation's own error, or a storage error.
  absl::Status Commit(Mutation mutation);
  // As Commit, but returns at once; `done` runs when the work is durable.
  void CommitAsync(Mutation mutation, CommitCallback done);

  // A view of the latest committed data.
  ReadView Latest() const;
  // A consistent point-in-time view.
  std::unique_ptr<SnapshotView> Snapshot() const;

  struct Stats {
    int64_t commits = 0;    // mutations committed
    int64_t wal_syncs = 0;  // fsyncs issued (<= commits thanks to grouping)
    int64_t kv_reads = 0;   // point reads by committed mutations (RocksDB)
    int64_t kv_writes = 0;  // keys put or deleted by committed mutations
    // Keys written to RocksDB: kv_writes less the earlier writes of a key
    // that a later mutation of the same write group wrote again.
    int64_t kv_applied = 0;
    // Mutations run by the committer and waiting for the writer thread.
    int64_t write_queue = 0;
    int64_t write_failures = 0;  // storage failures (each refuses writes...)
    int64_t resumes = 0;         // ...until a resume succeeds
    // The committer's cache: point reads it answered, its entries and
    // estimated memory, and column families dropped to stay within budget.
    int64_t cache_hits = 0;
    int64_t cache_entries = 0;
    int64_t cache_bytes = 0;
    int64_t cache_evictions = 0;
  };
  Stats stats() const;

  // True when the disk was full at Open: the store serves reads and refuses
  // every write (RESOURCE_EXHAUSTED, counted in stats().write_failures)
  // until the process is restarted.
  bool read_only() const { return read_only_.load(); }

  // RocksDB engine figures for monitoring, summed over column families:
  // (property, value) for rocksdb.estimate-num-keys, total-sst-files-size,
  // live-sst-files-size, cur-size-all-mem-tables, num-running-compactions,
  // num-running-flushes, estimate-pending-compaction-bytes,
  // block-cache-usage, background-errors.
  std::vector<std::pair<std::string, uint64_t>> EngineProperties() const;

  const std::string& path() const { return path_; }

  // Writes a consistent point-in-time copy of every column family to
  // `destination` (which must not exist) while the store keeps serving:
  // RocksDB checkpoint (hard links for table files on the same filesystem,
  // copies otherwise; the WAL up to this point included).
  absl::Status Checkpoint(const std::string& destination);

  // Seeds an empty (or missing) data directory `data_dir` from a checkpoint
  // made by Checkpoint() (or a stopped store's data dir), opens the copy
  // once to check it is whole, and records in `data_dir` which checkpoint
  // it came from (restore.cc). Idempotent: a `data_dir` already restored
  // from the same checkpoint (a start that failed later, say on its
  // listener, or a later start with the same flag) is left as it is, and
  // `already_restored` says so. FAILED_PRECONDITION if `checkpoint` is the
  // data dir of a running store (its LOCK is held: a copy would be torn),
  // if `data_dir` holds anything else, or if the copy or its check fails
  // (then `data_dir` is left empty). Not thread-safe with other users of
  // `data_dir`.
  struct Restore {
    bool already_restored = false;
    int64_t files = 0;  // copied (0 if already restored)
    int64_t bytes = 0;
  };
  static absl::StatusOr<Restore> RestoreCheckpoint(
      const std::string& checkpoint, const std::string& data_dir);

 private:
  friend class Txn;
  struct Pending {
    Mutation mutation;
    CommitCallback done;
  };

  Store() = default;
  // The schema version recorded in the data dir (none in a new one);
  // FAILED_PRECONDITION for one this build cannot read.
  absl::StatusOr<std::optional<int>> ReadSchemaVersion() const;
  // Brings the data dir from schema version `stored` (none: new) to
  // kSchemaVersion and records it. Needs the committer running.
  absl::Status UpgradeSchema(std::optional<int> stored);
  void CommitLoop();
  // Whether the data dir takes a 1 MiB synced write (then deletes it).
  rocksdb::Status ProbeWritable();
  // What applying some mutations did.
  struct GroupTally {
    bool wrote = false;
    int64_t committed = 0, syncs = 0, kv_reads = 0, kv_writes = 0,
            kv_applied = 0;
    absl::Status storage_failure;  // the first failed write or WAL sync
  };
  // One mutation run by the committer, on its way to the writer thread.
  struct Handoff {
    uint64_t seq = 0;
    absl::Status result;             // the mutation's own
    std::shared_ptr<Writes> writes;  // null: nothing to write
    int64_t kv_reads = 0;
    CommitCallback done;
  };
  // Mutations applied by the writer, and how: what the WAL sync completes.
  struct Written {
    std::vector<CommitCallback> done;
    std::vector<absl::Status> results;
    GroupTally tally;
  };
  // Runs one group of queued mutations, handing each to the writer thread.
  void RunGroup(std::vector<Pending>& group);
  // Runs one mutation (on the committer thread).
  Handoff RunMutation(Pending& pending);
  // Waits until the writer has applied everything handed to it (or a write
  // has failed), then retires the in-flight writes. Committer thread only.
  void AwaitApplied();
  // Keeps the committer cache within its budget. Committer thread, between
  // mutations only (CommitCache::TrimToBudget).
  void TrimCache();
  // Copies the committer cache's counters into stats_. Committer thread.
  void PublishCacheStats() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The writer thread: applies the handed-over mutations to RocksDB in one
  // write, syncs the WAL, completes them in order; again. The sync is its
  // own, not a sync thread's overlapping the next write: RocksDB 7.8 asserts
  // (and aborts the process) when a WAL is synced after an append to it has
  // failed on another thread before the WAL was ever synced — which the
  // power-loss test hit (docs/benchmarks.md, twenty-fifth round).
  void WriteLoop();
  // Applies the handed-over mutations `items`, in order, as one RocksDB
  // write (built in `batch`, cleared first), unless `failure` is set (then
  // fails them); sets `failure` if the write fails. Returns the last applied
  // mutation's sequence (0: none).
  uint64_t ApplyHandoffs(std::deque<Handoff>& items, absl::Status& failure,
                         rocksdb::WriteBatch& batch, Written& written);
  // Syncs the WAL for `written` (unless `failure`, the write's or an
  // earlier one's), then completes its mutations in order. Writer thread.
  void SyncAndComplete(Written& written, const absl::Status& failure);
  // The writer's wait: until to_write_ holds work or the committer is done;
  // then takes all of it into `taken`, marks the writer busy (writing_) and
  // reads the store's failure into `failure`. False once the committer is
  // done and the queue drained.
  bool TakeToWrite(std::deque<Handoff>& taken, absl::Status& failure)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Completes one synced (or failed) group.
  void CompleteGroup(Written& written);
  // Whether the writer has nothing in hand.
  bool PipelineIdle() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return to_write_.empty() && !writing_;
  }
  // Adds the group to the stats; a storage failure stops writes.
  void RecordGroup(const GroupTally& tally);
  // Opens RocksDB at path_ with options_ into db_ and cfs_ (read-only: the
  // files as they are, nothing written). Sets read_only_.
  rocksdb::Status OpenRocks(bool read_only);
  // Closes db_ (flushing first if flush_on_close_); nothing if none.
  void CloseRocks();
  // Writes one operational line (StoreOptions::log).
  void Log(std::string_view line) const;
  // Pins the gate for a use of db_ from outside the committer.
  ViewPin Pin() const;
  // Closes RocksDB and opens it again (read-only if the disk is still
  // full): how the store takes writes again after a failed write, since
  // RocksDB 7.8 may keep using a WAL whose append failed after an in-place
  // DB::Resume (and then asserts). The committer's, with the pipeline idle.
  rocksdb::Status Reopen() ABSL_LOCKS_EXCLUDED(mu_);
  // One attempt to take writes again after a failure (CommitLoop, without
  // mu_): a probe write, RocksDB's Resume, a flush of every memtable.
  rocksdb::Status TryResume() ABSL_LOCKS_EXCLUDED(mu_);
  // Logs the attempt's outcome (once per kind of failure); on success,
  // takes writes again.
  void NoteResumeAttempt(const rocksdb::Status& resumed)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Opened with DB::OpenForReadOnly after `why` (no space): refuses writes.
  void OpenedReadOnly(const rocksdb::Status& why) ABSL_LOCKS_EXCLUDED(mu_);
  // Refuses writes until RocksDB resumes (see CommitLoop).
  void RecordFailure(const absl::Status& storage_failure)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  std::string path_;
  bool flush_on_close_ = true;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> cfs_;

  mutable absl::Mutex mu_;
  std::deque<Pending> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Set when a write or WAL sync failed: later commits fail fast, since what
  // is in memory may no longer match what is durable. Cleared once RocksDB
  // resumes and every memtable is flushed (memory and disk agree again).
  absl::Status failed_ ABSL_GUARDED_BY(mu_);
  // Set by Open, and by Reopen on the committer thread.
  std::atomic<bool> read_only_{false};
  // What Open was given, for Reopen; its information log, kept across them.
  StoreOptions options_;
  std::shared_ptr<rocksdb::Logger> info_log_;
  // Pinned by every view of db_ (not by the committer's own Txn): Reopen
  // swaps db_ and cfs_ only while none is pinned.
  mutable ViewGate gate_;
  absl::Duration resume_interval_;
  std::string last_resume_error_ ABSL_GUARDED_BY(mu_);
  Stats stats_ ABSL_GUARDED_BY(mu_);
  // Mutations run by the committer, oldest first, not yet applied; bounded
  // so that the committer cannot run far ahead of the writer.
  std::deque<Handoff> to_write_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;  // the writer is busy
  // Every mutation up to this sequence is applied (RocksDB holds it).
  uint64_t applied_seq_ ABSL_GUARDED_BY(mu_) = 0;
  bool committer_done_ ABSL_GUARDED_BY(mu_) = false;
  bool pipelined_sync_ = true;
  // Used by the committer thread only (so not guarded by mu_).
  std::unique_ptr<CommitCache> cache_;
  InFlightWrites in_flight_;
  uint64_t last_seq_ = 0;  // of the last mutation run
  std::thread committer_;
  std::thread writer_;
};

}  // namespace aesignal::storage

#endif  // AESIGNAL_STORAGE_STORE_H_
