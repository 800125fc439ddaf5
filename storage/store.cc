#include "storage/store.h"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/listener.h>
#include <rocksdb/options.h>
#include <rocksdb/slice.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <span>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "storage/audit.h"
#include "storage/incidence.h"
#include "storage/info_log.h"
#include "storage/keys.h"

namespace aesignal::storage {
namespace {

constexpr std::string_view kSchemaVersionKey = "schema_version";

rocksdb::Slice ToSlice(std::string_view s) { return {s.data(), s.size()}; }
std::string_view ToView(const rocksdb::Slice& s) {
  return {s.data(), s.size()};
}

}  // namespace

const char* CfName(Cf cf) {
  switch (cf) {
    case Cf::kMeta:
      return "meta";
    case Cf::kTrials:
      return "trials";
    case Cf::kSubjects:
      return "subjects";
    case Cf::kSubjectHistory:
      return "subject_history";
    case Cf::kReports:
      return "reports";
    case Cf::kSubjectTerms:
      return "subject_terms";
    case Cf::kCounters:
      return "counters";
    case Cf::kReportHeads:
      return "report_heads";
    case Cf::kBaselines:
      return "baselines";
    case Cf::kSignals:
      return "signals";
    case Cf::kSignalLog:
      return "signal_log";
    case Cf::kDirtyTerms:
      return "dirty_terms";
    case Cf::kSignalHistory:
      return "signal_history";
    case Cf::kAudit:
      return "audit";
    case Cf::kTopics:
      return "topics";
    case Cf::kAuditBlocks:
      return "audit_blocks";
  }
  return "?";
}

// strerror(EACCES), as RocksDB's IOError messages quote it.
constexpr char kPermissionDenied[] = "Permission denied";

absl::Status FromRocks(const rocksdb::Status& s) {
  if (s.ok()) return absl::OkStatus();
  const std::string msg = absl::StrCat("rocksdb: ", s.ToString());
  switch (s.code()) {
    case rocksdb::Status::kNotFound:
      return absl::NotFoundError(msg);
    case rocksdb::Status::kCorruption:
      return absl::DataLossError(msg);
    case rocksdb::Status::kInvalidArgument:
    case rocksdb::Status::kNotSupported:
      return absl::FailedPreconditionError(msg);
    case rocksdb::Status::kIOError:
      if (s.IsNoSpace()) {
        return absl::ResourceExhaustedError(absl::StrCat("disk full: ", msg));
      }
      // RocksDB's IOError carries errno's text, not the errno: a file of
      // the data dir the server's user may not open (chown/chmod mends it).
      if (absl::StrContains(msg, kPermissionDenied)) {
        return absl::PermissionDeniedError(
            absl::StrCat(msg, " (uid ", getuid(), ")"));
      }
      return absl::UnavailableError(msg);
    case rocksdb::Status::kBusy:
    case rocksdb::Status::kTimedOut:
    case rocksdb::Status::kTryAgain:
      return absl::UnavailableError(msg);
    case rocksdb::Status::kAborted:
      return absl::AbortedError(msg);
    case rocksdb::Status::kIncomplete:
    case rocksdb::Status::kShutdownInProgress:
      return absl::UnavailableError(msg);
    default:
      return absl::InternalError(msg);
  }
}

// --- ReadView ----------------------------------------------------------------

absl::StatusOr<std::optional<std::string>> ReadView::Get(
    Cf cf, std::string_view key) const {
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot_;
  std::string value;
  rocksdb::Status s =
      db_->Get(ro, (*cfs_)[static_cast<int>(cf)], ToSlice(key), &value);
  if (s.IsNotFound()) return std::nullopt;
  if (!s.ok()) return FromRocks(s);
  return value;
}

absl::Status ReadView::Scan(
    Cf cf, std::string_view prefix, std::string_view start,
    const std::function<bool(std::string_view, std::string_view)>& fn) const {
  const std::string upper = PrefixSuccessor(prefix);
  rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot_;
  if (!upper.empty()) ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(ro, (*cfs_)[static_cast<int>(cf)]));
  const std::string_view seek =
      start.empty() || start < prefix ? prefix : start;
  for (it->Seek(ToSlice(seek)); it->Valid(); it->Next()) {
    const std::string_view key = ToView(it->key());
    if (key.substr(0, prefix.size()) != prefix) break;
    if (!fn(key, ToView(it->value()))) break;
  }
  return FromRocks(it->status());
}

absl::StatusOr<std::optional<std::string>> ReadView::LastKey(
    Cf cf, std::string_view prefix) const {
  auto last = LastEntry(cf, prefix, /*with_value=*/false);
  if (!last.ok()) return last.status();
  if (!last->has_value()) return std::nullopt;
  return std::move((*last)->first);
}

absl::StatusOr<std::optional<std::pair<std::string, std::string>>>
ReadView::LastEntry(Cf cf, std::string_view prefix, bool with_value) const {
  const std::string upper = PrefixSuccessor(prefix);
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot_;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(ro, (*cfs_)[static_cast<int>(cf)]));
  if (upper.empty()) {
    it->SeekToLast();
  } else {
    it->SeekForPrev(ToSlice(upper));
    // SeekForPrev lands on `upper` itself if present; step before it.
    if (it->Valid() && ToView(it->key()) == upper) it->Prev();
  }
  if (!it->status().ok()) return FromRocks(it->status());
  if (!it->Valid()) return std::nullopt;
  const std::string_view key = ToView(it->key());
  if (key.substr(0, prefix.size()) != prefix) return std::nullopt;
  return std::make_pair(std::string(key),
                        with_value ? it->value().ToString() : std::string());
}

SnapshotView::SnapshotView(rocksdb::DB* db,
                           const std::vector<rocksdb::ColumnFamilyHandle*>* cfs,
                           ViewPin pin)
    : ReadView(db, cfs, db->GetSnapshot(), std::move(pin)) {}

SnapshotView::~SnapshotView() { db_->ReleaseSnapshot(snapshot_); }

uint64_t SnapshotView::Sequence() const {
  return snapshot_->GetSequenceNumber();
}

// --- Txn ---------------------------------------------------------------------

Txn::Txn(Store* store, CommitCache* cache, InFlightWrites* in_flight)
    : ReadView(store->db_.get(), &store->cfs_, nullptr),
      store_(store),
      cache_(cache),
      in_flight_(in_flight) {}

absl::StatusOr<std::optional<std::string>> Txn::Get(
    Cf cf, std::string_view key) const {
  const int index = static_cast<int>(cf);
  auto it = pending_.find(std::pair<int, std::string_view>(index, key));
  if (it != pending_.end()) return it->second;
  // A cached column family's in-flight writes are in the cache (one lookup
  // for both, and none more to remember what RocksDB answers); the others'
  // in in_flight_.
  CommitCache::Entry* entry =
      cache_ != nullptr ? cache_->Lookup(index, key) : nullptr;
  const std::optional<std::string>* known =
      entry != nullptr ? cache_->Known(*entry) : in_flight_->Find(index, key);
  if (known != nullptr) return *known;
  ++db_reads_;
  auto value = ReadView::Get(cf, key);
  if (value.ok() && entry != nullptr) {
    cache_->Remember(index, key, entry, *value);
  }
  return value;
}

absl::Status Txn::Scan(
    Cf cf, std::string_view prefix, std::string_view start,
    const std::function<bool(std::string_view, std::string_view)>& fn) const {
  // Rare on the committer (upgrades, recounts): let RocksDB catch up rather
  // than merge in-flight writes into the iteration.
  if (!in_flight_->empty()) store_->AwaitApplied();
  return ReadView::Scan(cf, prefix, start, fn);
}

absl::StatusOr<std::optional<std::pair<std::string, std::string>>>
Txn::LastEntry(Cf cf, std::string_view prefix, bool with_value) const {
  InFlightWrites::LastUnder written =
      in_flight_->Last(static_cast<int>(cf), prefix);
  if (written.deletes) {
    store_->AwaitApplied();
    return ReadView::LastEntry(cf, prefix, with_value);
  }
  // RocksDB holds what was applied so far (without deletes in flight, keys
  // only appear), the in-flight writes the rest: the greater key is last.
  auto stored = ReadView::LastEntry(cf, prefix, with_value);
  if (!stored.ok() || written.key == nullptr) return stored;
  if (stored->has_value() && (*stored)->first > *written.key) return stored;
  return std::make_pair(*written.key,
                        with_value ? *written.value : std::string());
}

void Txn::Put(Cf cf, std::string_view key, std::string value) {
  pending_[{static_cast<int>(cf), std::string(key)}] = std::move(value);
}

void Txn::Delete(Cf cf, std::string_view key) {
  pending_[{static_cast<int>(cf), std::string(key)}] = std::nullopt;
}

std::optional<std::string> Txn::TakePending(Cf cf, std::string_view key) {
  auto it = pending_.find(
      std::pair<int, std::string_view>(static_cast<int>(cf), key));
  if (it == pending_.end()) return std::nullopt;
  std::optional<std::string> value = std::move(it->second);
  pending_.erase(it);
  return value;
}

// --- Store -------------------------------------------------------------------

namespace {

// Turns off RocksDB's own recovery from an out-of-space error. Its
// SstFileManager retries every 5 s once statvfs shows any room beyond a small
// reserve, and on a disk that is still nearly full that retry writes the WAL
// whose append failed again: Debian's RocksDB, built with assertions, then
// aborts ("sync_without_flush_called_"; an 80 MiB tmpfs filled with dd did it
// 5-16 s after the failed batch). The store resumes RocksDB itself, and only
// after a synced 1 MiB probe write succeeds (Store::CommitLoop).
class NoAutomaticRecovery final : public rocksdb::EventListener {
 public:
  const char* Name() const override { return "aesignal.NoAutomaticRecovery"; }
  void OnErrorRecoveryBegin(rocksdb::BackgroundErrorReason /*reason*/,
                            rocksdb::Status /*error*/,
                            bool* auto_recovery) override {
    *auto_recovery = false;
  }
};

rocksdb::Options DbOptions(const StoreOptions& options) {
  rocksdb::Options db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  // Default WAL recovery (point in time): after a crash the database holds
  // every synced write and a prefix of the unsynced ones, never a torn batch.
  db_options.IncreaseParallelism(2);
  // Restart time: bound the WAL that a crash leaves to replay, and replay it
  // into memtables without flushing them during Open.
  db_options.max_total_wal_size = options.max_wal_bytes;
  db_options.avoid_flush_during_recovery = true;
  if (options.env != nullptr) db_options.env = options.env;
  // After a write error the store resumes RocksDB itself, once the disk
  // takes writes again (CommitLoop); RocksDB's own background retries could
  // run while it is still full and leave an error only a restart clears.
  db_options.max_bgerror_resume_count = 0;
  db_options.listeners.push_back(std::make_shared<NoAutomaticRecovery>());
  // RocksDB moves each LOG aside on open (InfoLog does the same): keep the
  // last few, not a thousand restarts' worth.
  db_options.keep_log_file_num = 10;
  return db_options;
}

rocksdb::BlockBasedTableOptions TableOptions(const StoreOptions& options) {
  rocksdb::BlockBasedTableOptions table;
  // Half the cache is reserved for index and filter blocks (high priority).
  table.block_cache = rocksdb::NewLRUCache(
      options.block_cache_bytes, /*num_shard_bits=*/-1,
      /*strict_capacity_limit=*/false, /*high_pri_pool_ratio=*/0.5);
  // Most ingest lookups miss (new reports, new subject-term states): bloom
  // filters answer those without reading data blocks.
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  // Index and filter blocks live in the block cache, so memory stays bounded
  // as the store grows, and they are partitioned (4 KiB pieces under a small
  // pinned top level). With whole-file filters, a large SST's filter (~1 MB)
  // evicted from the cache had to be read back for a single lookup: at 1.2
  // million reports ingest fell to a fifth of its starting rate, most of the
  // time spent copying filter blocks (docs/benchmarks.md, Scale).
  table.cache_index_and_filter_blocks = true;
  table.cache_index_and_filter_blocks_with_high_priority = true;
  table.index_type = rocksdb::BlockBasedTableOptions::kTwoLevelIndexSearch;
  table.partition_filters = true;
  table.metadata_block_size = 4096;
  table.pin_top_level_index_and_filter = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  return table;
}

// The default column family (unused, but RocksDB requires it) and then
// aesignal's, in Cf order.
std::vector<rocksdb::ColumnFamilyDescriptor> ColumnFamilies(
    const StoreOptions& options) {
  rocksdb::ColumnFamilyOptions cf_options;
  cf_options.table_factory.reset(
      rocksdb::NewBlockBasedTableFactory(TableOptions(options)));
  // The same for the memtable, where recent data lives: a whole-key bloom
  // filter lets a missing key skip the skip-list search (the ingest profile
  // was dominated by memtable lookups, most of them misses).
  cf_options.memtable_whole_key_filtering = true;
  // The filter's size is this ratio of write_buffer_size (64 MiB), whatever
  // the memtable will hold; it is allocated and zeroed with a memtable's
  // first key, and every column family written since the last WAL switch
  // (max_wal_bytes) gets a new memtable at the switch. 0.05 made 3.2 MiB
  // filters for memtables the WAL cap flushes at ~60,000 entries (~450 bits
  // an entry): ~9 ms of page faults per memtable on the reference VM, 4 %
  // of all samples in the batched ingest profile, and 45 MiB of memtables
  // for one key in each column family (docs/benchmarks.md, twenty-third
  // round). 0.01 (640 KiB) still gives ~13 bits an entry to a full 64 MiB
  // memtable of ~160-byte entries (~400,000).
  cf_options.memtable_prefix_bloom_size_ratio = 0.01;
  // Level sizes for memtables that are flushed small. The WAL cap
  // (max_wal_bytes, kept for restart time) flushes every column family
  // written since the last switch, so a level-0 file holds 0.3-1.5 MiB and
  // the four that trigger a compaction a few MiB. Under RocksDB's default
  // 256 MiB level 1 each of those compactions rewrote all of level 1 for
  // them, a write amplification that grew with the store until compaction
  // took a third of the CPU and the scale run's rate fell by half. RocksDB's
  // tuning guide sizes level 1 like level 0; at 16 MiB (8 MiB files) an L0
  // compaction stays small and the data moves down levels ten times larger
  // each (docs/benchmarks.md, twenty-seventh round). Existing stores take
  // the new sizes as compaction moves their data; nothing is converted.
  cf_options.max_bytes_for_level_base = 16 << 20;
  cf_options.target_file_size_base = 8 << 20;

  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, cf_options);
  for (int i = 0; i < kNumCfs; ++i) {
    rocksdb::ColumnFamilyOptions options_i = cf_options;
    if (static_cast<Cf>(i) == Cf::kCounters ||
        static_cast<Cf>(i) == Cf::kDirtyTerms) {
      // Few live keys (one row per term), rewritten on nearly every report:
      // a small memtable flushes often and so holds fewer superseded
      // versions for a table scan to step over (a 1,000-term page's scan
      // went from ~16 to ~11 ms with glibc malloc). Dirty marks are
      // rewritten by every batch, deleted by every evaluation round and
      // scanned by both the round and every ListTopics / ListSignals.
      options_i.write_buffer_size = 4 << 20;
    }
    descriptors.emplace_back(CfName(static_cast<Cf>(i)), options_i);
  }
  return descriptors;
}

// The column families the committer caches: read by key on every ingested
// report and rewritten by most batches (CommitCache explains the choice).
std::array<bool, CommitCache::kMaxCfs> CachedColumnFamilies() {
  std::array<bool, CommitCache::kMaxCfs> cached = {};
  for (Cf cf :
       {Cf::kSubjects, Cf::kSubjectTerms, Cf::kCounters, Cf::kDirtyTerms}) {
    cached[static_cast<int>(cf)] = true;
  }
  return cached;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Store>> Store::Open(
    const StoreOptions& options) {
  if (options.path.empty()) {
    return absl::InvalidArgumentError("store path must not be empty");
  }
  std::error_code ec;
  std::filesystem::create_directories(options.path, ec);
  if (ec == std::errc::permission_denied ||
      ec == std::errc::read_only_file_system) {
    // Not something a restart mends: the service's user or the mount.
    return absl::PermissionDeniedError(
        absl::StrCat("cannot create data dir ", options.path, ": ",
                     ec.message(), " (uid ", getuid(), ")"));
  }
  if (ec) {
    return absl::UnavailableError(absl::StrCat(
        "cannot create data dir ", options.path, ": ", ec.message()));
  }
  auto store = std::unique_ptr<Store>(new Store());
  store->path_ = options.path;
  store->options_ = options;
  store->resume_interval_ = options.resume_interval;
  rocksdb::Env* env =
      options.env != nullptr ? options.env : rocksdb::Env::Default();
  store->info_log_ = InfoLog::Open(*env->GetFileSystem(),
                                   *env->GetSystemClock(), options.path);
  rocksdb::Status s = store->OpenRocks(/*read_only=*/false);
  if (s.IsNoSpace()) {
    // RocksDB writes a new MANIFEST (and WAL) on every open, so on a full
    // disk it cannot open for writing. Serve what is stored instead of
    // exiting (under systemd, a restart loop until space is freed): reads
    // work, writes are refused (RESOURCE_EXHAUSTED) until space returns.
    if (!store->OpenRocks(/*read_only=*/true).ok()) return FromRocks(s);
    store->OpenedReadOnly(s);
  } else if (s.IsIOError() && absl::StrContains(s.ToString(), "/LOCK") &&
             !absl::StrContains(s.ToString(), kPermissionDenied)) {
    // Another process has it open (RocksDB's LOCK); it may yet exit.
    return absl::UnavailableError(absl::StrCat(
        "data dir ", options.path,
        " is in use by another process (one server per data dir): ",
        s.ToString()));
  } else if (!s.ok()) {
    return FromRocks(s);
  }
  if (options.commit_cache_bytes > 0) {
    store->cache_ = std::make_unique<CommitCache>(options.commit_cache_bytes,
                                                  CachedColumnFamilies());
  }
  store->in_flight_ = InFlightWrites(store->cache_.get());

  auto stored = store->ReadSchemaVersion();
  if (!stored.ok()) return stored.status();
  store->pipelined_sync_ = options.pipelined_sync;
  store->writer_ = std::thread([raw = store.get()] { raw->WriteLoop(); });
  store->committer_ = std::thread([raw = store.get()] { raw->CommitLoop(); });
  if (absl::Status upgraded = store->UpgradeSchema(*stored); !upgraded.ok()) {
    return upgraded;
  }
  return store;
}

absl::StatusOr<std::optional<int>> Store::ReadSchemaVersion() const {
  auto version = Latest().Get(Cf::kMeta, kSchemaVersionKey);
  if (!version.ok()) return version.status();
  if (!version->has_value()) return std::nullopt;
  int stored = 0;
  if (!absl::SimpleAtoi(**version, &stored) || stored < 1 ||
      stored > kSchemaVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat("data dir ", path_, " has schema version '", **version,
                     "'; this build reads versions 1 to ", kSchemaVersion));
  }
  return stored;
}

rocksdb::Status Store::OpenRocks(bool read_only) {
  rocksdb::Options db_options = DbOptions(options_);
  db_options.info_log = info_log_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw_db = nullptr;
  rocksdb::Status s =
      read_only
          ? rocksdb::DB::OpenForReadOnly(
                db_options, path_, ColumnFamilies(options_), &handles, &raw_db)
          : rocksdb::DB::Open(db_options, path_, ColumnFamilies(options_),
                              &handles, &raw_db);
  if (!s.ok()) return s;
  db_.reset(raw_db);
  // handles[0] is the default column family, which aesignal does not use.
  db_->DestroyColumnFamilyHandle(handles[0]);
  cfs_.assign(handles.begin() + 1, handles.end());
  read_only_ = read_only;
  flush_on_close_ = options_.flush_on_close && !read_only;
  return s;
}

void Store::CloseRocks() {
  if (db_ == nullptr) return;
  if (flush_on_close_) {
    rocksdb::FlushOptions flush;
    db_->Flush(flush, cfs_).PermitUncheckedError();
  }
  for (auto* handle : cfs_) db_->DestroyColumnFamilyHandle(handle);
  cfs_.clear();
  db_->Close().PermitUncheckedError();
  db_.reset();
}

rocksdb::Status Store::Reopen() {
  // Reads are short; one that holds a view while making another would wait
  // for this reopen, which waits for it: give up and try again later.
  if (!gate_.Close(absl::Seconds(2))) {
    return rocksdb::Status::Busy("reads in progress kept the store open");
  }
  // Nothing the failed write left may be flushed now: the WAL recovery on
  // open keeps what RocksDB holds (acknowledged or not), as after a crash.
  flush_on_close_ = false;
  CloseRocks();
  rocksdb::Status s = OpenRocks(/*read_only=*/false);
  if (!s.ok()) {
    // Full again, say: serve reads as before, and try again later.
    rocksdb::Status read_only = OpenRocks(/*read_only=*/true);
    if (!read_only.ok()) {
      // The files were open a moment ago; without them the store can do
      // nothing, not even refuse reads safely.
      Log(absl::StrCat("FATAL: cannot open ", path_,
                       " again after a write failure: ", s.ToString(),
                       "; then read-only: ", read_only.ToString()));
      std::abort();
    }
  }
  gate_.Open();
  return s;
}

void Store::Log(std::string_view line) const {
  if (options_.log) {
    options_.log(line);
    return;
  }
  const std::string stamp = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ",
                                             absl::Now(), absl::UTCTimeZone());
  std::fprintf(stderr, "%s aesignal store: %.*s\n", stamp.c_str(),
               static_cast<int>(line.size()), line.data());
}

ViewPin Store::Pin() const {
  gate_.Enter();
  return ViewPin(&gate_);
}

void Store::OpenedReadOnly(const rocksdb::Status& why) {
  absl::MutexLock lock(&mu_);
  failed_ = absl::ResourceExhaustedError(absl::StrCat(
      "the disk holding ", path_,
      " was full when the store opened, so it is open read-only: reads "
      "work, writes are refused until space is freed (tried every ",
      absl::FormatDuration(resume_interval_), "; ", why.ToString(), ")"));
  ++stats_.write_failures;
}

absl::Status Store::UpgradeSchema(std::optional<int> stored) {
  if (stored == kSchemaVersion) return absl::OkStatus();
  if (read_only_) {
    absl::MutexLock lock(&mu_);
    return absl::Status(
        failed_.code(),
        absl::StrCat("cannot upgrade the schema: ", failed_.message()));
  }
  // A fresh store (no version yet) has nothing to upgrade.
  if (stored.has_value()) {
    absl::Status migrated;
    if (*stored == 1) migrated = MigrateCellCountersToRows(*this);
    if (migrated.ok() && *stored <= 2) migrated = MigrateAuditToBlocks(*this);
    if (!migrated.ok()) {
      return absl::Status(
          migrated.code(),
          absl::StrCat("upgrading ", path_, " from schema version ", *stored,
                       ": ", migrated.message()));
    }
  }
  // Not through Commit: it is the store's own bookkeeping, not a mutation.
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return FromRocks(db_->Put(wo, cfs_[static_cast<int>(Cf::kMeta)],
                            ToSlice(kSchemaVersionKey),
                            std::to_string(kSchemaVersion)));
}

Store::~Store() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (committer_.joinable()) committer_.join();
  {
    absl::MutexLock lock(&mu_);
    committer_done_ = true;
  }
  if (writer_.joinable()) writer_.join();
  CloseRocks();
}

ReadView Store::Latest() const {
  ViewPin pin = Pin();
  return ReadView(db_.get(), &cfs_, nullptr, std::move(pin));
}

std::unique_ptr<SnapshotView> Store::Snapshot() const {
  ViewPin pin = Pin();
  return std::unique_ptr<SnapshotView>(
      new SnapshotView(db_.get(), &cfs_, std::move(pin)));
}

Store::Stats Store::stats() const {
  absl::MutexLock lock(&mu_);
  Stats stats = stats_;
  stats.write_queue = static_cast<int64_t>(to_write_.size());
  return stats;
}

std::vector<std::pair<std::string, uint64_t>> Store::EngineProperties() const {
  static constexpr const char* kProperties[] = {
      "rocksdb.estimate-num-keys",
      "rocksdb.total-sst-files-size",
      "rocksdb.live-sst-files-size",
      "rocksdb.cur-size-all-mem-tables",
      "rocksdb.num-running-compactions",
      "rocksdb.num-running-flushes",
      "rocksdb.estimate-pending-compaction-bytes",
      "rocksdb.block-cache-usage",
      "rocksdb.background-errors",
  };
  std::vector<std::pair<std::string, uint64_t>> out;
  const ViewPin pin = Pin();
  for (const char* property : kProperties) {
    uint64_t value = 0;
    if (db_->GetAggregatedIntProperty(property, &value)) {
      out.emplace_back(property, value);
    }
  }
  return out;
}

absl::Status Store::Commit(Mutation mutation) {
  absl::Notification done;
  absl::Status result;
  CommitAsync(std::move(mutation), [&](absl::Status s) {
    result = std::move(s);
    done.Notify();
  });
  done.WaitForNotification();
  return result;
}

void Store::CommitAsync(Mutation mutation, CommitCallback done) {
  absl::Status refused;
  {
    absl::MutexLock lock(&mu_);
    if (failed_.ok() && !stopping_) {
      queue_.push_back({std::move(mutation), std::move(done)});
      return;
    }
    refused = failed_.ok() ? absl::UnavailableError("store is shutting down")
                           : failed_;
  }
  done(refused);
}

void Store::CommitLoop() {
  for (;;) {
    std::vector<Pending> group;
    {
      absl::MutexLock lock(&mu_);
      const absl::Condition work(
          +[](Store* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu_) {
            return s->stopping_ || !s->queue_.empty();
          },
          this);
      // After a failed write, nothing is queued (writes are refused): try to
      // resume RocksDB every resume_interval until it works (space freed).
      while (!failed_.ok() && !stopping_) {
        if (mu_.AwaitWithTimeout(work, resume_interval_)) break;
        // Mutations run before the failure are completed (failed) first.
        mu_.Await(absl::Condition(
            +[](Store* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu_) {
              return s->PipelineIdle();
            },
            this));
        mu_.Unlock();
        const rocksdb::Status resumed = TryResume();
        mu_.Lock();
        NoteResumeAttempt(resumed);
      }
      // A write or sync can fail on the writer thread while the committer
      // waits here with nothing queued: it then goes back to resuming.
      mu_.Await(absl::Condition(
          +[](Store* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu_) {
            return s->stopping_ || !s->queue_.empty() || !s->failed_.ok();
          },
          this));
      if (queue_.empty() && !stopping_) continue;  // failed: resume first
      if (queue_.empty()) return;                  // stopping and drained
      while (!queue_.empty()) {
        group.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    RunGroup(group);
  }
}

rocksdb::Status Store::TryResume() {
  // What RocksDB holds of the failed batch is kept by the reopen: drop the
  // cache and the writes that will never be applied, and read it back.
  in_flight_.Clear();  // and the cache
  // Only once the disk takes a write again (a synced 1 MiB probe), so that
  // the reopen does not find it still full.
  rocksdb::Status resumed = ProbeWritable();
  if (resumed.ok()) resumed = Reopen();
  return resumed;
}

namespace {
// What a failed resume says with its numbers left out: each attempt's flush
// names a new table file (000087.sst, 000088.sst, ...), and the log should
// get one line per kind of failure, not one a second.
std::string FailureKind(const std::string& message) {
  std::string kind;
  for (char c : message) {
    if (absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      if (kind.empty() || kind.back() != '#') kind.push_back('#');
    } else {
      kind.push_back(c);
    }
  }
  return kind;
}
}  // namespace

void Store::NoteResumeAttempt(const rocksdb::Status& resumed) {
  if (resumed.ok()) {
    Log(absl::StrCat("writing again after: ", failed_.message()));
    failed_ = absl::OkStatus();
    last_resume_error_.clear();
    ++stats_.resumes;
    return;
  }
  const std::string kind = FailureKind(resumed.ToString());
  if (kind == last_resume_error_) return;
  last_resume_error_ = kind;
  Log(absl::StrCat(
      "cannot resume writing yet (retrying every ",
      absl::FormatDuration(resume_interval_),
      "; logged again only if the reason changes): ", resumed.ToString()));
}

rocksdb::Status Store::ProbeWritable() {
  rocksdb::Env* env = db_->GetEnv();
  const std::string probe = path_ + "/.aesignal-space-probe";
  std::unique_ptr<rocksdb::WritableFile> file;
  rocksdb::Status s = env->NewWritableFile(probe, &file, rocksdb::EnvOptions());
  if (s.ok()) s = file->Append(rocksdb::Slice(std::string(1 << 20, '\0')));
  if (s.ok()) s = file->Sync();
  if (file != nullptr) file->Close().PermitUncheckedError();
  env->DeleteFile(probe).PermitUncheckedError();
  return s;
}

namespace {
// How many run mutations may wait for the writer: enough to keep it busy,
// few enough that the committer cannot run far ahead (their writes are held
// in memory until applied).
constexpr size_t kMaxUnwritten = 64;
}  // namespace

Store::Handoff Store::RunMutation(Pending& pending) {
  Txn txn(this, cache_.get(), &in_flight_);
  Handoff item;
  item.result = pending.mutation(txn);
  // Numbered once it has run: while it runs, last_seq_ is the last
  // mutation handed to the writer (which AwaitApplied waits for).
  item.seq = ++last_seq_;
  item.done = std::move(pending.done);
  item.kv_reads = txn.db_reads_;
  if (item.result.ok() && !txn.empty()) {
    item.writes = std::make_shared<Writes>(std::move(txn.pending_));
    in_flight_.Add(item.seq, item.writes);
  }
  return item;
}

void Store::RunGroup(std::vector<Pending>& group) {
  for (Pending& pending : group) {
    absl::Status failed;
    uint64_t applied = 0;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](Store* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu_) {
            return s->to_write_.size() < kMaxUnwritten || !s->failed_.ok();
          },
          this));
      failed = failed_;
      applied = applied_seq_;
    }
    in_flight_.Retire(applied);
    TrimCache();
    // After a failure the rest is not run: it would read what failed.
    Handoff item;
    if (failed.ok()) {
      item = RunMutation(pending);
      TrimCache();
    } else {
      item.seq = ++last_seq_;
      item.result = failed;
      item.done = std::move(pending.done);
    }
    absl::MutexLock lock(&mu_);
    // Before the hand-off: the mutation's caller may be answered (and read
    // stats()) before this thread would get the lock again.
    PublishCacheStats();
    to_write_.push_back(std::move(item));
  }
  absl::MutexLock lock(&mu_);
  if (!pipelined_sync_) {
    mu_.Await(absl::Condition(
        +[](Store* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu_) {
          return s->PipelineIdle();
        },
        this));
  }
}

void Store::TrimCache() {
  // Here, between mutations, no Txn holds a cache entry it looked up, and the
  // trim keeps the entries of in-flight writes.
  if (cache_ != nullptr) cache_->TrimToBudget();
}

void Store::PublishCacheStats() {
  if (cache_ == nullptr) return;
  const CommitCache::Stats cache = cache_->stats();
  stats_.cache_hits = cache.hits;
  stats_.cache_entries = cache.entries;
  stats_.cache_bytes = cache.bytes;
  stats_.cache_evictions = cache.evictions;
}

void Store::AwaitApplied() {
  // The condition may be evaluated on another thread: it must not read
  // last_seq_, which only the committer may touch.
  const uint64_t target = last_seq_;
  auto caught_up = [this, target]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return applied_seq_ >= target || !failed_.ok();
  };
  uint64_t applied = 0;
  {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(&caught_up));
    applied = applied_seq_;
  }
  in_flight_.Retire(applied);
}

bool Store::TakeToWrite(std::deque<Handoff>& taken, absl::Status& failure) {
  absl::MutexLock lock(&mu_);
  auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return committer_done_ || !to_write_.empty();
  };
  mu_.Await(absl::Condition(&ready));
  if (to_write_.empty()) return false;
  taken.swap(to_write_);
  writing_ = true;
  failure = failed_;
  return true;
}

void Store::WriteLoop() {
  // Reused from group to group: a fresh batch grew by doubling, copying its
  // contents each time (the writer's largest memmove in the load's DWARF
  // profile, docs/benchmarks.md, twenty-sixth round).
  rocksdb::WriteBatch batch;
  for (;;) {
    std::deque<Handoff> items;
    // Nothing is applied after a failure until RocksDB resumes.
    absl::Status failure;
    if (!TakeToWrite(items, failure)) {
      return;  // the committer is done and drained
    }
    Written written;
    const uint64_t applied = ApplyHandoffs(items, failure, batch, written);
    {
      absl::MutexLock lock(&mu_);
      if (!written.tally.storage_failure.ok()) {
        // Refuse new work now, not only once the callers are completed.
        // (The cache is dropped before writes resume, in CommitLoop.)
        RecordFailure(written.tally.storage_failure);
      }
      // The committer may retire these writes while the WAL syncs.
      if (applied > applied_seq_) applied_seq_ = applied;
    }
    SyncAndComplete(written, failure);
    absl::MutexLock lock(&mu_);
    writing_ = false;
  }
}

void Store::SyncAndComplete(Written& written, const absl::Status& failure) {
  // Nothing is synced, nor acknowledged, once a write or sync has failed
  // (`failure`): these mutations may have read what failed, and after a
  // failed fsync the WAL's state is unknown (what they wrote may still be
  // kept; a client's retry is then a DUPLICATE). Syncing on the thread that
  // wrote also means a WAL is never synced after an append to it failed,
  // which RocksDB 7.8 asserts against (aborting the process).
  absl::Status synced = failure;
  if (written.tally.wrote && synced.ok()) {
    synced = FromRocks(db_->SyncWAL());
    ++written.tally.syncs;
  }
  if (!synced.ok()) {
    // Every mutation of the write fails: each may have read another's.
    if (written.tally.storage_failure.ok()) {
      written.tally.storage_failure = synced;
    }
    for (absl::Status& result : written.results) {
      if (result.ok()) result = synced;
    }
  }
  CompleteGroup(written);
}

namespace {

// Adds one key's write to `batch`: its new value, or its deletion.
rocksdb::Status AddWrite(rocksdb::WriteBatch& batch,
                         rocksdb::ColumnFamilyHandle* cf, std::string_view key,
                         const std::optional<std::string>& value) {
  return value.has_value() ? batch.Put(cf, ToSlice(key), *value)
                           : batch.Delete(cf, ToSlice(key));
}

// Adds the writes of several mutations to `batch`, in key order; where
// several write the same key, the last one's. Each mutation's writes are
// already in key order, so they are merged through a heap of one cursor per
// mutation (log k comparisons a key for k mutations, nothing allocated per
// key); a map of every key cost ~14 % of the writer thread in the 16-stream
// profile (docs/benchmarks.md, twenty-fourth round).
rocksdb::Status FillBatch(std::span<const Writes* const> writes,
                          const std::vector<rocksdb::ColumnFamilyHandle*>& cfs,
                          rocksdb::WriteBatch& batch) {
  rocksdb::Status s;
  if (writes.size() == 1) {
    for (const auto& [cf_key, value] : *writes.front()) {
      s = AddWrite(batch, cfs[cf_key.first], cf_key.second, value);
      if (!s.ok()) break;
    }
    return s;
  }
  struct Cursor {
    Writes::const_iterator at, end;
    size_t mutation;  // index in `writes`: a later one wins a tie
  };
  const WriteKeyLess less;
  // std::*_heap keep the greatest element first: "greater" is the smaller
  // key, and for one key the earlier mutation, so that the mutations writing
  // a key are popped oldest first and the last popped is the newest.
  const auto comes_after = [&less](const Cursor& a, const Cursor& b) {
    if (less(b.at->first, a.at->first)) return true;
    if (less(a.at->first, b.at->first)) return false;
    return a.mutation > b.mutation;
  };
  std::vector<Cursor> heap;
  heap.reserve(writes.size());
  for (size_t i = 0; i < writes.size(); ++i) {
    if (!writes[i]->empty()) {
      heap.push_back({writes[i]->begin(), writes[i]->end(), i});
    }
  }
  std::make_heap(heap.begin(), heap.end(), comes_after);
  while (!heap.empty() && s.ok()) {
    const Writes::value_type* newest = nullptr;
    // Pops every cursor at the smallest key, advancing each past it.
    do {
      std::pop_heap(heap.begin(), heap.end(), comes_after);
      Cursor& cursor = heap.back();
      newest = &*cursor.at;
      if (++cursor.at == cursor.end) {
        heap.pop_back();
      } else {
        std::push_heap(heap.begin(), heap.end(), comes_after);
      }
    } while (!heap.empty() && !less(newest->first, heap.front().at->first));
    s = AddWrite(batch, cfs[newest->first.first], newest->first.second,
                 newest->second);
  }
  return s;
}

}  // namespace

uint64_t Store::ApplyHandoffs(std::deque<Handoff>& items, absl::Status& failure,
                              rocksdb::WriteBatch& batch, Written& written) {
  GroupTally& tally = written.tally;
  // The mutations to write: run without error, and nothing failed before.
  std::vector<const Handoff*> to_apply;
  for (const Handoff& item : items) {
    if (item.result.ok() && failure.ok() && item.writes != nullptr) {
      to_apply.push_back(&item);
    }
  }
  if (!to_apply.empty()) {
    // One write for all of them. Where several write the same key only the
    // last value is written: none of them is acknowledged before the WAL
    // sync, so no reader may rely on seeing the earlier one, and a crash
    // keeps all or none of them either way. Counter rows and dirty marks
    // touched by every message collapse to one memtable insert per group,
    // and the keys reach the memtables in order.
    std::vector<const Writes*> writes;
    for (const Handoff* item : to_apply) writes.push_back(item->writes.get());
    batch.Clear();
    rocksdb::Status s = FillBatch(writes, cfs_, batch);
    // Not synced here: the WAL is synced once for many mutations, and no
    // caller is completed before that.
    rocksdb::WriteOptions wo;
    wo.sync = false;
    if (s.ok()) s = db_->Write(wo, &batch);
    const uint32_t applied_keys = batch.Count();
    // Clear keeps the capacity: a batch past 8 MiB (an upgrade's, say) is
    // not kept for the groups after it.
    constexpr size_t kKeptBatchBytes = 8 << 20;
    if (batch.GetDataSize() > kKeptBatchBytes) batch = rocksdb::WriteBatch();
    if (s.ok()) {
      tally.wrote = true;
      tally.kv_applied += applied_keys;
      for (const Handoff* item : to_apply) {
        ++tally.committed;
        tally.kv_reads += item->kv_reads;
        tally.kv_writes += static_cast<int64_t>(item->writes->size());
      }
    } else {
      failure = FromRocks(s);
      if (tally.storage_failure.ok()) tally.storage_failure = failure;
    }
  }
  for (Handoff& item : items) {
    // A mutation after a failed one fails too: it may have read what failed.
    if (item.result.ok() && !failure.ok()) item.result = failure;
    written.done.push_back(std::move(item.done));
    written.results.push_back(std::move(item.result));
  }
  return failure.ok() && !items.empty() ? items.back().seq : 0;
}

void Store::CompleteGroup(Written& written) {
  RecordGroup(written.tally);
  for (size_t i = 0; i < written.done.size(); ++i) {
    written.done[i](written.results[i]);
  }
}

void Store::RecordGroup(const GroupTally& tally) {
  absl::MutexLock lock(&mu_);
  stats_.commits += tally.committed;
  stats_.wal_syncs += tally.syncs;
  stats_.kv_reads += tally.kv_reads;
  stats_.kv_writes += tally.kv_writes;
  stats_.kv_applied += tally.kv_applied;
  if (!tally.storage_failure.ok()) RecordFailure(tally.storage_failure);
}

void Store::RecordFailure(const absl::Status& storage_failure) {
  if (failed_.ok()) {
    // Keep the code (RESOURCE_EXHAUSTED for a full disk, else UNAVAILABLE)
    // and refuse writes until RocksDB resumes (see CommitLoop).
    failed_ = absl::Status(
        storage_failure.code() == absl::StatusCode::kResourceExhausted
            ? absl::StatusCode::kResourceExhausted
            : absl::StatusCode::kUnavailable,
        absl::StrCat("storage write failed; writes are refused until the "
                     "store recovers (tried every ",
                     absl::FormatDuration(resume_interval_),
                     "): ", storage_failure.message()));
    ++stats_.write_failures;
    Log(std::string(failed_.message()));
  }
}

absl::Status Store::Checkpoint(const std::string& destination) {
  if (std::filesystem::exists(destination)) {
    return absl::AlreadyExistsError(
        absl::StrCat("backup destination ", destination, " already exists"));
  }
  // RocksDB makes the directory itself but not its parents (a fresh
  // .../backups/ of the deploy files' example would fail).
  const std::filesystem::path parent =
      std::filesystem::path(destination).parent_path();
  std::error_code ec;
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create the backup's parent directory ",
                     parent.string(), ": ", ec.message()));
  }
  const ViewPin pin = Pin();
  rocksdb::Checkpoint* raw = nullptr;
  absl::Status created =
      FromRocks(rocksdb::Checkpoint::Create(db_.get(), &raw));
  if (!created.ok()) return created;
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  return FromRocks(checkpoint->CreateCheckpoint(destination));
}

}  // namespace aesignal::storage
