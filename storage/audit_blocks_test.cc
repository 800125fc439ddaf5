#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "storage/audit.h"
#include "storage/records.pb.h"
#include "storage/store.h"
#include "tests/testing/count_keys.h"
#include "tests/testing/temp_dir.h"

namespace aesignal::storage {
namespace {

using testing::CountKeys;

v1::AuditRecord Record(std::string_view resource) {
  v1::AuditRecord record;
  record.set_principal("site-1");
  record.set_rpc("IngestService.StreamReports");
  record.set_action("report.store");
  record.set_resource(std::string(resource));
  record.set_version(1);
  record.mutable_time()->set_seconds(1700000000);
  return record;
}

// Appends `n` records named `{tag}-{i}` to `trial` in one commit.
absl::Status AppendRecords(Store& store, std::string_view trial, int n,
                           std::string_view tag) {
  return store.Commit([&](Txn& txn) -> absl::Status {
    auto writer = AuditWriter::Begin(txn, trial);
    if (!writer.ok()) return writer.status();
    for (int i = 0; i < n; ++i)
      writer->Append(Record(absl::StrCat(std::string(tag), "-", i)));
    return absl::OkStatus();
  });
}

// (sequence, resource) of every record of `trial` after `after`.
std::vector<std::pair<int64_t, std::string>> Read(const Store& store,
                                                  std::string_view trial,
                                                  int64_t after) {
  std::vector<std::pair<int64_t, std::string>> out;
  absl::Status read =
      ReadAudit(store.Latest(), trial, after, [&](v1::AuditRecord r) {
        out.emplace_back(r.sequence(), r.resource());
        return true;
      });
  EXPECT_TRUE(read.ok()) << read;
  return out;
}

TEST(AuditBlocksTest,
     OneTransactionsRecordsAreOneBlockReadableFromAnySequence) {
  testing::TempDir dir;
  auto store = Store::Open({.path = dir.path()});
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE(AppendRecords(**store, "T1", 5, "a").ok());
  ASSERT_TRUE(AppendRecords(**store, "T2", 2, "x").ok());
  ASSERT_TRUE(AppendRecords(**store, "T1", 3, "b").ok());
  EXPECT_EQ(CountKeys(**store, Cf::kAuditBlocks), 3);  // one per commit

  const std::vector<std::pair<int64_t, std::string>> all = {
      {1, "a-0"}, {2, "a-1"}, {3, "a-2"}, {4, "a-3"},
      {5, "a-4"}, {6, "b-0"}, {7, "b-1"}, {8, "b-2"}};
  EXPECT_EQ(Read(**store, "T1", 0), all);
  // From inside a block, from a block's end, past the end.
  EXPECT_EQ(Read(**store, "T1", 3), decltype(all)(all.begin() + 3, all.end()));
  EXPECT_EQ(Read(**store, "T1", 5), decltype(all)(all.begin() + 5, all.end()));
  EXPECT_TRUE(Read(**store, "T1", 8).empty());
  EXPECT_EQ(Read(**store, "T2", 0), (decltype(all){{1, "x-0"}, {2, "x-1"}}));

  // The sequence continues after a reopen.
  store->reset();
  store = Store::Open({.path = dir.path()});
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE(AppendRecords(**store, "T1", 1, "c").ok());
  EXPECT_EQ(Read(**store, "T1", 7), (decltype(all){{8, "b-2"}, {9, "c-0"}}));
}

TEST(AuditBlocksTest, ABlockWhoseSequencesDoNotMatchItsKeyIsDataLoss) {
  testing::TempDir dir;
  auto store = Store::Open({.path = dir.path()});
  ASSERT_TRUE(store.ok());
  AuditBlock block;
  *block.add_records() = Record("r");
  block.mutable_records(0)->set_sequence(4);  // the key says 5
  ASSERT_TRUE((*store)
                  ->Commit([&](Txn& txn) {
                    txn.Put(Cf::kAuditBlocks, AuditKey("T1", 5),
                            block.SerializeAsString());
                    return absl::OkStatus();
                  })
                  .ok());
  const absl::Status read = ReadAudit((*store)->Latest(), "T1", 0,
                                      [](v1::AuditRecord) { return true; });
  EXPECT_EQ(read.code(), absl::StatusCode::kDataLoss) << read;
}

// Writes records as schema 2 did, one key per record in `audit`, and marks
// the store as schema 2.
absl::Status WriteSchema2Records(Store& store, std::string_view trial,
                                 int64_t first, int64_t last) {
  return store.Commit([&](Txn& txn) {
    for (int64_t seq = first; seq <= last; ++seq) {
      v1::AuditRecord record = Record(absl::StrCat("old-", seq));
      record.set_sequence(seq);
      txn.Put(Cf::kAudit, AuditKey(trial, seq), record.SerializeAsString());
    }
    txn.Put(Cf::kMeta, "schema_version", "2");
    return absl::OkStatus();
  });
}

TEST(AuditBlocksTest, OpeningASchema2StoreMovesItsRecordsIntoBlocks) {
  testing::TempDir dir;
  {
    auto store = Store::Open({.path = dir.path()});
    ASSERT_TRUE(store.ok());
    // More than one commit's and one block's worth for T1.
    ASSERT_TRUE(WriteSchema2Records(**store, "T1", 1, 25003).ok());
    ASSERT_TRUE(WriteSchema2Records(**store, "T2", 1, 3).ok());
  }
  auto store = Store::Open({.path = dir.path()});
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ(CountKeys(**store, Cf::kAudit), 0);
  EXPECT_EQ(CountKeys(**store, Cf::kAuditBlocks), 26 + 1);
  const auto t1 = Read(**store, "T1", 0);
  ASSERT_EQ(t1.size(), 25003u);
  for (size_t i = 0; i < t1.size(); ++i) {
    ASSERT_EQ(t1[i], std::make_pair(static_cast<int64_t>(i + 1),
                                    absl::StrCat("old-", i + 1)));
  }
  EXPECT_EQ(Read(**store, "T1", 24999).size(), 4u);
  EXPECT_EQ(Read(**store, "T2", 0).size(), 3u);
  auto version = (*store)->Latest().Get(Cf::kMeta, "schema_version");
  ASSERT_TRUE(version.ok() && version->has_value());
  EXPECT_EQ(**version, std::to_string(kSchemaVersion));
  // New records follow the migrated ones.
  ASSERT_TRUE(AppendRecords(**store, "T2", 1, "new").ok());
  EXPECT_EQ(Read(**store, "T2", 3),
            (std::vector<std::pair<int64_t, std::string>>{{4, "new-0"}}));
}

TEST(AuditBlocksTest, AnInterruptedUpgradeIsFinishedOnTheNextOpen) {
  testing::TempDir dir;
  {
    auto store = Store::Open({.path = dir.path()});
    ASSERT_TRUE(store.ok());
    // As an upgrade interrupted after its first commits left it: records
    // 1-1,500 already in blocks, 1,501-3,000 still one key each, schema 2.
    ASSERT_TRUE(AppendRecords(**store, "T1", 1000, "done").ok());
    ASSERT_TRUE(AppendRecords(**store, "T1", 500, "done").ok());
    ASSERT_TRUE(WriteSchema2Records(**store, "T1", 1501, 3000).ok());
  }
  auto store = Store::Open({.path = dir.path()});
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ(CountKeys(**store, Cf::kAudit), 0);
  const auto t1 = Read(**store, "T1", 0);
  ASSERT_EQ(t1.size(), 3000u);
  for (size_t i = 0; i < t1.size(); ++i) {
    ASSERT_EQ(t1[i].first, static_cast<int64_t>(i + 1));
  }
  EXPECT_EQ(t1[1499].second, "done-499");
  EXPECT_EQ(t1[1500].second, "old-1501");
}

}  // namespace
}  // namespace aesignal::storage
