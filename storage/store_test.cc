#include "storage/store.h"

#include <atomic>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "storage/keys.h"
#include "tests/testing/temp_dir.h"

namespace aesignal::storage {
namespace {

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
