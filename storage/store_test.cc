#include "storage/store.h"

#include <rocksdb/env.h>
#include <rocksdb/file_system.h>

#include <atomic>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "storage/in_flight.h"
#include "storage/keys.h"
#include "tests/testing/count_keys.h"
#include "tests/testing/hooked_file_system.h"
#include "tests/testing/temp_dir.h"

namespace aesignal::storage {
namespace {

using testing::CountKeys;

TEST(StoreTest, CommitIsVisibleAndSurvivesReopen) {
  testing::TempDir dir;
  {
    auto store = Store::Open({.path = dir.path()});
    ASSERT_TRUE(store.ok()) << store.status();
    ASSERT_TRUE((*store)
                    ->Commit([](Txn& txn) {
                      txn.Put(Cf::kTrials, TrialKey("T1"), "v1");
                      return absl::OkStatus();
                    })
                    .ok());
    auto got = (*store)->Latest().Get(Cf::kTrials, TrialKey("T1"));
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(got->value_or(""), "v1");
  }
  auto store = Store::Open({.path = dir.path()});
  ASSERT_TRUE(store.ok()) << store.status();
  auto got = (*store)->Latest().Get(Cf::kTrials, TrialKey("T1"));
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->value_or(""), "v1");
}

TEST(StoreTest, FailedMutationWritesNothing) {
  testing::TempDir dir;
  auto store = Store::Open({.path = dir.path()});
  ASSERT_TRUE(store.ok());
  absl::Status s = (*store)->Commit([](Txn& txn) {
    txn.Put(Cf::kTrials, "a", "1");
    return absl::InvalidArgumentError("nope");
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  auto got = (*store)->Latest().Get(Cf::kTrials, "a");
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->has_value());
}

TEST(StoreTest, TxnReadsItsOwnWrites) {
  testing::TempDir dir;
  auto store = Store::Open({.path = dir.path()});
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)
                  ->Commit([](Txn& txn) {
                    txn.Put(Cf::kCounters, "k", "1");
                    auto v = txn.Get(Cf::kCounters, "k");
                    if (!v.ok() || v->value_or("") != "1") {
                      return absl::InternalError("own write not visible");
                    }
                    txn.Delete(Cf::kCounters, "k");
                    v = txn.Get(Cf::kCounters, "k");
                    if (!v.ok() || v->has_value()) {
                      return absl::InternalError("own delete not visible");
                    }
                    return absl::OkStatus();
                  })
                  .ok());
}

// What a later mutation reads of `key` in `cf`, through its Txn. (It also
// writes a key elsewhere: the store tallies reads of mutations that write.)
std::optional<std::string> ReadInCommit(Store& store, Cf cf,
                                        std::string_view key) {
  std::optional<std::string> seen;
  EXPECT_TRUE(store
                  .Commit([&](Txn& txn) {
                    auto v = txn.Get(cf, key);
                    if (!v.ok()) return v.status();
                    seen = *v;
                    txn.Put(Cf::kTrials, "scratch", "x");
                    return absl::OkStatus();
                  })
                  .ok());
  return seen;
}

absl::Status PutInCommit(Store& store, Cf cf, std::string_view key,
                         std::optional<std::string> value) {
  return store.Commit([&](Txn& txn) {
    if (value.has_value()) {
      txn.Put(cf, key, *value);
    } else {
      txn.Delete(cf, key);
    }
    return absl::OkStatus();
  });
}

// The committer answers reads of what it wrote from its cache, and what it
// answers is what RocksDB holds: puts, overwrites and deletes.
TEST(StoreTest, CommitterCacheAnswersWithWhatWasWritten) {
  testing::TempDir dir;
  auto opened = Store::Open({.path = dir.path()});
  ASSERT_TRUE(opened.ok());
  Store& store = **opened;
  ASSERT_TRUE(PutInCommit(store, Cf::kCounters, "k", "v1").ok());
  const Store::Stats before = store.stats();
  EXPECT_EQ(ReadInCommit(store, Cf::kCounters, "k"), "v1");
  EXPECT_EQ(store.stats().kv_reads, before.kv_reads);  // no RocksDB read
  EXPECT_EQ(store.stats().cache_hits, before.cache_hits + 1);

  ASSERT_TRUE(PutInCommit(store, Cf::kCounters, "k", "v2").ok());
  EXPECT_EQ(ReadInCommit(store, Cf::kCounters, "k"), "v2");
  ASSERT_TRUE(PutInCommit(store, Cf::kCounters, "k", std::nullopt).ok());
  EXPECT_EQ(ReadInCommit(store, Cf::kCounters, "k"), std::nullopt);
  EXPECT_EQ(store.stats().kv_reads, before.kv_reads);
  auto latest = store.Latest().Get(Cf::kCounters, "k");
  ASSERT_TRUE(latest.ok());
  EXPECT_FALSE(latest->has_value());
}

// A mutation that fails writes nothing, so its writes never reach the cache.
TEST(StoreTest, FailedMutationLeavesTheCacheAlone) {
  testing::TempDir dir;
  auto opened = Store::Open({.path = dir.path()});
  ASSERT_TRUE(opened.ok());
  Store& store = **opened;
  ASSERT_TRUE(PutInCommit(store, Cf::kSubjectTerms, "s", "old").ok());
  absl::Status failed = store.Commit([](Txn& txn) {
    txn.Put(Cf::kSubjectTerms, "s", "new");
    txn.Put(Cf::kSubjectTerms, "t", "new");
    return absl::InvalidArgumentError("refused");
  });
  EXPECT_EQ(failed.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadInCommit(store, Cf::kSubjectTerms, "s"), "old");
  EXPECT_EQ(ReadInCommit(store, Cf::kSubjectTerms, "t"), std::nullopt);
}

// Values read from RocksDB are remembered (for cached column families only),
// and the cache stays within its budget however many keys pass through it,
// answering the same values as RocksDB.
TEST(StoreTest, CommitterCacheIsBoundedAndOnlyForCachedFamilies) {
  testing::TempDir dir;
  constexpr size_t kBudget = 4096;
  auto opened =
      Store::Open({.path = dir.path(), .commit_cache_bytes = kBudget});
  ASSERT_TRUE(opened.ok());
  Store& store = **opened;
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(PutInCommit(store, Cf::kCounters, absl::StrCat("c", i),
                            std::string(40, 'a' + i % 26))
                    .ok());
    ASSERT_TRUE(
        PutInCommit(store, Cf::kReports, absl::StrCat("r", i), "rep").ok());
  }
  EXPECT_LE(store.stats().cache_bytes, static_cast<int64_t>(kBudget));
  EXPECT_GT(store.stats().cache_evictions, 0);
  for (int i = 0; i < 200; ++i) {
    EXPECT_EQ(ReadInCommit(store, Cf::kCounters, absl::StrCat("c", i)),
              std::string(40, 'a' + i % 26));
  }
  // Reports are never cached: every read goes to RocksDB.
  const int64_t reads = store.stats().kv_reads;
  EXPECT_EQ(ReadInCommit(store, Cf::kReports, "r7"), "rep");
  EXPECT_EQ(ReadInCommit(store, Cf::kReports, "r7"), "rep");
  EXPECT_EQ(store.stats().kv_reads, reads + 2);
}

// With the cache off every read goes to RocksDB, with the same answers.
TEST(StoreTest, CommitterCacheCanBeTurnedOff) {
  testing::TempDir dir;
  auto opened = Store::Open({.path = dir.path(), .commit_cache_bytes = 0});
  ASSERT_TRUE(opened.ok());
  Store& store = **opened;
  ASSERT_TRUE(PutInCommit(store, Cf::kCounters, "k", "v").ok());
  EXPECT_EQ(ReadInCommit(store, Cf::kCounters, "k"), "v");
  EXPECT_EQ(store.stats().kv_reads, 1);
  EXPECT_EQ(store.stats().cache_hits, 0);
}

// A data dir another store has open is named as in use, not as RocksDB's
// raw lock-file error.
TEST(StoreTest, ADataDirInUseIsNamed) {
  testing::TempDir dir;
  auto first = Store::Open({.path = dir.path()});
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = Store::Open({.path = dir.path()});
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(absl::StrContains(
      second.status().message(),
      " is in use by another process (one server per data dir)"))
      << second.status();
}

// Every column family written since the last WAL switch gets a new memtable
// at the switch, and a memtable's bloom filter takes its full size with the
// memtable's first key (zeroed, so page faults). Sized at 5 % of the 64 MiB
// write buffer, one key in each of the 16 column families took 45 MiB of
// memtables; at 1 % a memtable holding one key takes under 1 MiB.
TEST(StoreTest, AMemtableHoldingOneKeyTakesUnderOneMebibyte) {
  testing::TempDir dir;
  auto store = Store::Open({.path = dir.path()});
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE((*store)
                  ->Commit([](Txn& txn) {
                    for (int cf = 0; cf < kNumCfs; ++cf) {
                      txn.Put(static_cast<Cf>(cf), "one key", "one value");
                    }
                    return absl::OkStatus();
                  })
                  .ok());
  uint64_t memtable_bytes = 0;
  bool found = false;
  for (const auto& [property, value] : (*store)->EngineProperties()) {
    if (property == "rocksdb.cur-size-all-mem-tables") {
      memtable_bytes = value;
      found = true;
    }
  }
  ASSERT_TRUE(found);
  EXPECT_GT(memtable_bytes, 0u);
  EXPECT_LT(memtable_bytes, uint64_t{kNumCfs} << 20)
      << memtable_bytes << " bytes in " << kNumCfs << " memtables";
}

// Callers are completed in commit order, each after its own write is
// durable, also while the committer runs ahead of the WAL sync; a later
// mutation reads what an earlier, not yet synced one wrote.
TEST(StoreTest, PipelinedSyncCompletesInCommitOrder) {
  for (bool pipelined : {true, false}) {
    testing::TempDir dir;
    auto opened =
        Store::Open({.path = dir.path(), .pipelined_sync = pipelined});
    ASSERT_TRUE(opened.ok());
    Store& store = **opened;
    constexpr int kCommits = 300;
    absl::Mutex mu;
    std::vector<int> order;
    absl::Notification all_done;
    for (int i = 0; i < kCommits; ++i) {
      store.CommitAsync(
          [i](Txn& txn) -> absl::Status {
            auto previous = txn.Get(Cf::kCounters, "n");
            if (!previous.ok()) return previous.status();
            if (previous->value_or("-1") != std::to_string(i - 1)) {
              return absl::InternalError("earlier write not visible");
            }
            txn.Put(Cf::kCounters, "n", std::to_string(i));
            return absl::OkStatus();
          },
          [&, i](absl::Status s) {
            EXPECT_TRUE(s.ok()) << s;
            absl::MutexLock lock(&mu);
            order.push_back(i);
            if (order.size() == kCommits) all_done.Notify();
          });
    }
    all_done.WaitForNotification();
    std::vector<int> expected(kCommits);
    for (int i = 0; i < kCommits; ++i) expected[i] = i;
    EXPECT_EQ(order, expected) << "pipelined=" << pipelined;
    EXPECT_LT(store.stats().wal_syncs, kCommits);
  }
}

// Key "p/" + i, zero-padded so that key order is numeric order.
std::string Numbered(std::string_view prefix, int i) {
  return absl::StrCat(absl::string_view(prefix.data(), prefix.size()),
                      absl::Dec(i, absl::kZeroPad6));
}

// Mutation i of a chain: checks that it reads i - 1 in "n" (written by its
// predecessor, perhaps not applied yet), writes i there, adds audit key i
// and replaces topic key i - 1 by i. It never waits for the writer (no
// scans, no Last).
absl::Status ReplacingMutation(Txn& txn, int i) {
  auto previous = txn.Get(Cf::kReports, "n");
  if (!previous.ok()) return previous.status();
  if (previous->value_or("-1") != std::to_string(i - 1)) {
    return absl::InternalError(absl::StrCat(i, ": earlier Put not visible"));
  }
  if (i > 0) txn.Delete(Cf::kTopics, Numbered("t/", i - 1));
  txn.Put(Cf::kTopics, Numbered("t/", i), "");
  txn.Put(Cf::kReports, "n", std::to_string(i));
  txn.Put(Cf::kAudit, Numbered("a/", i), std::to_string(i));
  return absl::OkStatus();
}

// The checks one chained mutation makes of its predecessors' writes, which
// the writer thread may not have applied yet: a point read in a column
// family the committer does not cache, the last key under a prefix (as the
// audit trail finds its next sequence), a scan, and Last where earlier
// mutations deleted keys.
absl::Status ChainedMutation(Txn& txn, int i) {
  auto last = txn.Last(Cf::kAudit, "a/");
  if (!last.ok()) return last.status();
  const std::string want_last = i == 0 ? "" : Numbered("a/", i - 1);
  if ((last->has_value() ? (*last)->first : "") != want_last) {
    return absl::InternalError(absl::StrCat(i, ": Last missed a write"));
  }
  if (i > 0 && (*last)->second != std::to_string(i - 1)) {
    return absl::InternalError(absl::StrCat(i, ": Last's value is not the ",
                                            "key's: ", (*last)->second));
  }
  auto last_key = txn.LastKey(Cf::kAudit, "a/");
  if (!last_key.ok()) return last_key.status();
  if (last_key->value_or("") != want_last) {
    return absl::InternalError(absl::StrCat(i, ": LastKey missed a write"));
  }
  if (i % 10 == 0) {
    int scanned = 0;
    absl::Status scan =
        txn.Scan(Cf::kAudit, "a/", "", [&](std::string_view, std::string_view) {
          ++scanned;
          return true;
        });
    if (!scan.ok()) return scan;
    if (scanned != i) {
      return absl::InternalError(absl::StrCat(i, ": scan saw ", scanned));
    }
  }
  // kTopics holds one key, replaced by every mutation (a delete and a put).
  auto topic = txn.Last(Cf::kTopics, "t/");
  if (!topic.ok()) return topic.status();
  if ((topic->has_value() ? (*topic)->first : "") !=
      (i == 0 ? "" : Numbered("t/", i - 1))) {
    return absl::InternalError(absl::StrCat(i, ": Last ignored a delete"));
  }
  // The point read of "n", then the writes.
  return ReplacingMutation(txn, i);
}

TEST(StoreTest, MutationsSeeEarlierWritesBeforeTheWriterAppliesThem) {
  for (size_t cache_bytes : {size_t{1} << 20, size_t{0}}) {
    testing::TempDir dir;
    auto opened =
        Store::Open({.path = dir.path(), .commit_cache_bytes = cache_bytes});
    ASSERT_TRUE(opened.ok());
    Store& store = **opened;
    constexpr int kCommits = 400;
    absl::Mutex mu;
    int completed = 0;
    absl::Notification all_done;
    for (int i = 0; i < kCommits; ++i) {
      store.CommitAsync([i](Txn& txn) { return ChainedMutation(txn, i); },
                        [&](absl::Status s) {
                          EXPECT_TRUE(s.ok()) << s;
                          absl::MutexLock lock(&mu);
                          if (++completed == kCommits) all_done.Notify();
                        });
    }
    all_done.WaitForNotification();
    const int audit = CountKeys(store, Cf::kAudit, "a/");
    const int topics = CountKeys(store, Cf::kTopics, "t/");
    EXPECT_EQ(audit, kCommits);
    EXPECT_EQ(topics, 1);
  }
}

// A file system whose WAL appends wait while its gate is closed, and fail
// the append numbered `fail_append` (counted from the gate's closing; 0:
// none). It holds the writer thread inside one RocksDB write while the
// committer queues more mutations behind it.
class GatedWal {
 public:
  void Close() {
    absl::MutexLock lock(&mu_);
    open_ = false;
    appends_ = 0;
  }
  void Open() {
    absl::MutexLock lock(&mu_);
    open_ = true;
  }
  // Lets the held append through and holds the next one.
  void PassOne() {
    absl::MutexLock lock(&mu_);
    pass_one_ = true;
  }
  void FailAppend(int n) {
    absl::MutexLock lock(&mu_);
    fail_append_ = n;
  }
  // Waits until a WAL append is held at the gate.
  bool AwaitHeld(absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    return mu_.AwaitWithTimeout(absl::Condition(&held_), timeout);
  }
  rocksdb::IOStatus Pass() {
    absl::MutexLock lock(&mu_);
    const int n = ++appends_;
    held_ = !open_;
    auto may_pass = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return open_ || pass_one_;
    };
    mu_.Await(absl::Condition(&may_pass));
    pass_one_ = false;
    held_ = false;
    if (n == fail_append_) return rocksdb::IOStatus::IOError("test WAL fault");
    return rocksdb::IOStatus::OK();
  }

 private:
  absl::Mutex mu_;
  bool open_ ABSL_GUARDED_BY(mu_) = true;
  bool pass_one_ ABSL_GUARDED_BY(mu_) = false;
  bool held_ ABSL_GUARDED_BY(mu_) = false;
  int appends_ ABSL_GUARDED_BY(mu_) = 0;
  int fail_append_ ABSL_GUARDED_BY(mu_) = 0;
};

// Passes WAL appends through `gate` (other files and operations freely).
std::shared_ptr<testing::HookedFileSystem> GatedFileSystem(GatedWal* gate) {
  return std::make_shared<testing::HookedFileSystem>(
      [gate](const std::string& file, testing::HookedFileSystem::Op op) {
        if (op == testing::HookedFileSystem::Op::kAppend &&
            absl::EndsWith(file, ".log")) {
          return gate->Pass();
        }
        return rocksdb::IOStatus::OK();
      });
}

// The results of committed mutations, in the order they completed.
struct Completions {
  absl::Mutex mu;
  std::vector<std::pair<int, absl::Status>> results ABSL_GUARDED_BY(mu);
};

// Commits ReplacingMutation(i) for i in [from, to), noting each completion.
void CommitChained(Store& store, int from, int to, Completions& out) {
  for (int i = from; i < to; ++i) {
    store.CommitAsync([i](Txn& txn) { return ReplacingMutation(txn, i); },
                      [&out, i](absl::Status s) {
                        absl::MutexLock lock(&out.mu);
                        out.results.emplace_back(i, std::move(s));
                      });
  }
}

void AwaitCompletions(Completions& c, size_t n) {
  absl::MutexLock lock(&c.mu);
  auto all_completed = [&c, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(c.mu) {
    return c.results.size() == n;
  };
  c.mu.Await(absl::Condition(&all_completed));
}

// Mutations queued behind a write in progress are applied together, as one
// RocksDB write holding each key's last value: "n" (rewritten by each), the
// audit keys (one each) and the topic key each deletes and replaces.
TEST(StoreTest, MutationsQueuedBehindAWriteAreAppliedAsOneMergedWrite) {
  for (bool fail_merged_write : {false, true}) {
    SCOPED_TRACE(fail_merged_write ? "merged write fails" : "merged write ok");
    testing::TempDir dir;
    GatedWal gate;
    std::unique_ptr<rocksdb::Env> env =
        rocksdb::NewCompositeEnv(GatedFileSystem(&gate));
    auto opened = Store::Open({.path = dir.path(),
                               .env = env.get(),
                               .resume_interval = absl::Milliseconds(10)});
    ASSERT_TRUE(opened.ok()) << opened.status();
    Store& store = **opened;
    gate.Close();
    if (fail_merged_write) gate.FailAppend(2);  // the write after the first
    Completions completions;
    CommitChained(store, 0, 1, completions);
    ASSERT_TRUE(gate.AwaitHeld(absl::Seconds(30)));
    constexpr int kQueued = 10;
    CommitChained(store, 1, 1 + kQueued, completions);
    for (int i = 0; i < 30000 && store.stats().write_queue < kQueued; ++i) {
      absl::SleepFor(absl::Milliseconds(1));
    }
    ASSERT_EQ(store.stats().write_queue, kQueued);
    if (fail_merged_write) {
      // Mutation 0 is synced before the merged write fails. (RocksDB as
      // Debian builds it asserts if the WAL is synced after a failed append:
      // docs/operations.md, "Disk full and I/O errors".)
      gate.PassOne();
      AwaitCompletions(completions, 1);
    }
    gate.Open();
    AwaitCompletions(completions, 1 + kQueued);

    absl::MutexLock lock(&completions.mu);
    for (int i = 0; i <= kQueued; ++i) {
      EXPECT_EQ(completions.results[i].first, i) << "completed out of order";
      EXPECT_EQ(completions.results[i].second.ok(),
                i == 0 || !fail_merged_write)
          << i << ": " << completions.results[i].second;
    }
    const Store::Stats stats = store.stats();
    auto n = store.Latest().Get(Cf::kReports, "n");
    ASSERT_TRUE(n.ok());
    const int audit = CountKeys(store, Cf::kAudit, "a/");
    const int topics = CountKeys(store, Cf::kTopics, "t/");
    EXPECT_EQ(topics, 1);
    if (fail_merged_write) {
      // None of the merged mutations' writes is applied.
      EXPECT_EQ(n->value_or(""), "0");
      EXPECT_EQ(audit, 1);
      continue;
    }
    EXPECT_EQ(n->value_or(""), std::to_string(kQueued));
    EXPECT_EQ(audit, 1 + kQueued);
    // Mutation 0 writes 3 keys, each later one 4 (its topic key, the one it
    // deletes, "n", its audit key): 43. Applied: 3, then "n" once, 10 audit
    // keys and the topic keys t/0 ... t/10 once each: 25.
    EXPECT_EQ(stats.kv_writes, 3 + 4 * kQueued);
    EXPECT_EQ(stats.kv_applied, 3 + 1 + kQueued + (kQueued + 1));
  }
}

TEST(InFlightWritesTest, NewestWriteWinsAndOnlyItReachesTheCache) {
  std::array<bool, CommitCache::kMaxCfs> cached = {};
  cached[1] = true;
  CommitCache cache(1 << 20, cached);
  InFlightWrites in_flight(&cache);
  auto first = std::make_shared<Writes>();
  (*first)[{1, "k"}] = "v1";
  (*first)[{1, "old"}] = "x";
  (*first)[{2, "k"}] = "uncached v1";
  auto second = std::make_shared<Writes>();
  (*second)[{1, "k"}] = "v2";
  (*second)[{1, "gone"}] = std::nullopt;
  (*second)[{2, "k"}] = "uncached v2";
  in_flight.Add(1, first);
  in_flight.Add(2, second);
  for (int cf : {1, 2}) {
    ASSERT_NE(in_flight.Find(cf, "k"), nullptr);
    EXPECT_EQ(*in_flight.Find(cf, "k"), cf == 1 ? "v2" : "uncached v2");
  }
  EXPECT_EQ(in_flight.Find(3, "k"), nullptr);  // another column family
  EXPECT_TRUE(in_flight.Last(1, "").deletes);
  EXPECT_FALSE(in_flight.Last(2, "").deletes);
  // The cache answers a cached family's reads with the newest write, in
  // flight or not; it holds none yet (RocksDB may not have them).
  EXPECT_EQ(*cache.Find(1, "k"), "v2");
  EXPECT_EQ(cache.Find(2, "k"), nullptr);
  EXPECT_EQ(cache.stats().bytes, 0);

  in_flight.Retire(1);
  EXPECT_EQ(*in_flight.Find(1, "k"), "v2");      // still in flight
  EXPECT_EQ(in_flight.Find(1, "old"), nullptr);  // applied: now held
  EXPECT_EQ(*in_flight.Find(2, "k"), "uncached v2");
  ASSERT_NE(cache.Find(1, "old"), nullptr);
  EXPECT_EQ(*cache.Find(1, "old"), "x");
  EXPECT_EQ(*cache.Find(1, "k"), "v2");
  // Only "old" is held: v1 was never the newest write of "k".
  EXPECT_EQ(cache.stats().bytes, 96 + 3 + 1);

  in_flight.Retire(2);
  EXPECT_TRUE(in_flight.empty());
  EXPECT_EQ(in_flight.Find(1, "k"), nullptr);
  EXPECT_EQ(in_flight.Find(2, "k"), nullptr);
  EXPECT_EQ(*cache.Find(1, "k"), "v2");
  ASSERT_NE(cache.Find(1, "gone"), nullptr);
  EXPECT_FALSE(cache.Find(1, "gone")->has_value());
  EXPECT_FALSE(in_flight.Last(1, "").deletes);
}

// Eviction drops held values only: a write RocksDB may not hold yet keeps
// answering, and becomes a held value when it retires.
TEST(InFlightWritesTest, EvictionKeepsInFlightWrites) {
  std::array<bool, CommitCache::kMaxCfs> cached = {};
  cached[1] = true;
  CommitCache cache(/*max_bytes=*/400, cached);
  InFlightWrites in_flight(&cache);
  auto writes = std::make_shared<Writes>();
  (*writes)[{1, "in flight"}] = "value";
  in_flight.Add(1, writes);
  for (int i = 0; i < 10; ++i) {
    cache.Remember(1, absl::StrCat("read ", i), std::string(50, 'r'));
  }
  // Over budget until trimmed: entries stay put while a mutation runs.
  EXPECT_GT(cache.stats().bytes, 400);
  EXPECT_EQ(cache.stats().evictions, 0);
  ASSERT_NE(cache.Find(1, "read 0"), nullptr);
  cache.TrimToBudget();
  EXPECT_GT(cache.stats().evictions, 0);
  EXPECT_EQ(cache.Find(1, "read 0"), nullptr);
  EXPECT_LE(cache.stats().bytes, 400);
  ASSERT_NE(cache.Find(1, "in flight"), nullptr);
  EXPECT_EQ(*cache.Find(1, "in flight"), "value");
  in_flight.Retire(1);
  EXPECT_EQ(in_flight.Find(1, "in flight"), nullptr);
  ASSERT_NE(cache.Find(1, "in flight"), nullptr);
  EXPECT_EQ(*cache.Find(1, "in flight"), "value");
}

// The in-flight writes keep their cache entries from BeginWrite to EndWrite,
// and a read keeps one from Lookup to Remember: entries must stay put while
// the cache grows around them (thousands of other keys added meanwhile).
TEST(InFlightWritesTest, EntriesStayPutWhileTheCacheGrows) {
  std::array<bool, CommitCache::kMaxCfs> cached = {};
  cached[1] = true;
  CommitCache cache(1 << 30, cached);
  InFlightWrites in_flight(&cache);
  auto writes = std::make_shared<Writes>();
  (*writes)[{1, "written"}] = "w";
  in_flight.Add(1, writes);
  CommitCache::Entry* read = cache.Lookup(1, "read");
  ASSERT_NE(read, nullptr);
  EXPECT_EQ(cache.Known(*read), nullptr);  // not known yet: read RocksDB
  for (int i = 0; i < 20000; ++i) {
    cache.Remember(1, absl::StrCat("other key number ", i), "x");
  }
  cache.Remember(1, "read", read, "r");
  in_flight.Retire(1);
  ASSERT_NE(cache.Find(1, "read"), nullptr);
  EXPECT_EQ(*cache.Find(1, "read"), "r");
  ASSERT_NE(cache.Find(1, "written"), nullptr);
  EXPECT_EQ(*cache.Find(1, "written"), "w");
  EXPECT_EQ(cache.stats().entries, 20002);
  EXPECT_EQ(cache.Lookup(2, "read"), nullptr);  // not a cached family
}

// After a failed write nothing in flight or cached answers any more.
TEST(InFlightWritesTest, ClearForgetsTheCacheToo) {
  std::array<bool, CommitCache::kMaxCfs> cached = {};
  cached[1] = true;
  CommitCache cache(1 << 20, cached);
  InFlightWrites in_flight(&cache);
  cache.Remember(1, "held", "h");
  auto writes = std::make_shared<Writes>();
  (*writes)[{1, "k"}] = "v";
  in_flight.Add(1, writes);
  in_flight.Clear();
  EXPECT_EQ(cache.Find(1, "held"), nullptr);
  EXPECT_EQ(cache.Find(1, "k"), nullptr);
  EXPECT_EQ(in_flight.Find(1, "k"), nullptr);
  EXPECT_EQ(cache.stats().bytes, 0);
}

TEST(InFlightWritesTest, LastFindsTheGreatestKeyUnderThePrefix) {
  InFlightWrites in_flight;
  auto first = std::make_shared<Writes>();
  (*first)[{3, "a/2"}] = "two";
  (*first)[{3, "b/9"}] = "other prefix";
  auto second = std::make_shared<Writes>();
  (*second)[{3, "a/1"}] = "one";
  (*second)[{4, "a/7"}] = "other family";
  in_flight.Add(1, first);
  in_flight.Add(2, second);
  InFlightWrites::LastUnder last = in_flight.Last(3, "a/");
  ASSERT_NE(last.key, nullptr);
  EXPECT_EQ(*last.key, "a/2");
  EXPECT_EQ(*last.value, "two");
  EXPECT_EQ(in_flight.Last(3, "c/").key, nullptr);
}

TEST(StoreTest, RefusesAnotherSchemaVersion) {
  testing::TempDir dir;
  {
    auto store = Store::Open({.path = dir.path()});
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)
                    ->Commit([](Txn& txn) {
                      txn.Put(Cf::kMeta, "schema_version", "999");
                      return absl::OkStatus();
                    })
                    .ok());
  }
  auto store = Store::Open({.path = dir.path()});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(StoreTest, ScanAndLastRespectPrefix) {
  testing::TempDir dir;
  auto store = Store::Open({.path = dir.path()});
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)
                  ->Commit([](Txn& txn) {
                    for (uint32_t v : {1u, 2u, 10u}) {
                      txn.Put(Cf::kReports, ReportKey("T", "S", "R", v),
                              absl::StrCat(v));
                    }
                    txn.Put(Cf::kReports, ReportKey("T", "S", "R2", 1), "x");
                    return absl::OkStatus();
                  })
                  .ok());
  ReadView view = (*store)->Latest();
  auto last = view.Last(Cf::kReports, ReportVersionsPrefix("T", "S", "R"));
  ASSERT_TRUE(last.ok());
  ASSERT_TRUE(last->has_value());
  EXPECT_EQ((*last)->second, "10");
  std::vector<std::string> values;
  ASSERT_TRUE(view.Scan(Cf::kReports, ReportVersionsPrefix("T", "S", "R"), "",
                        [&](std::string_view, std::string_view v) {
                          values.emplace_back(v);
                          return true;
                        })
                  .ok());
  EXPECT_EQ(values, (std::vector<std::string>{"1", "2", "10"}));
  auto none = view.Last(Cf::kReports, ReportVersionsPrefix("T", "S", "R3"));
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST(StoreTest, ConcurrentCommitsAreSerializedAndShareSyncs) {
  testing::TempDir dir;
  auto opened = Store::Open({.path = dir.path()});
  ASSERT_TRUE(opened.ok());
  Store& store = **opened;
  constexpr int kThreads = 8;
  constexpr int kCommitsPerThread = 50;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kCommitsPerThread; ++i) {
        // Read-modify-write of one shared counter: lost updates would show
        // if mutations ever ran concurrently.
        absl::Status s = store.Commit([](Txn& txn) {
          auto v = txn.Get(Cf::kMeta, "n");
          if (!v.ok()) return v.status();
          int n = v->has_value() ? std::stoi(**v) : 0;
          txn.Put(Cf::kMeta, "n", std::to_string(n + 1));
          return absl::OkStatus();
        });
        ASSERT_TRUE(s.ok()) << s;
      }
    });
  }
  for (auto& t : threads) t.join();
  auto v = store.Latest().Get(Cf::kMeta, "n");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->value_or(""), std::to_string(kThreads * kCommitsPerThread));
  Store::Stats stats = store.stats();
  EXPECT_EQ(stats.commits, kThreads * kCommitsPerThread);
  // With 8 concurrent writers some groups hold more than one commit.
  EXPECT_LT(stats.wal_syncs, stats.commits);
}

}  // namespace
}  // namespace aesignal::storage
