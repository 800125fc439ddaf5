#include "storage/store.h"

#include <atomic>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
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
