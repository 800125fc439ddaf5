// Stored report versions: the newest version and the version as of a data
// cut-off (receive_time), including a lower version stored after a higher
// one (superseded on arrival), which is never the one counted.
#include "storage/reports.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "storage/store.h"
#include "tests/testing/temp_dir.h"

namespace aesignal::storage {
namespace {

constexpr char kTrial[] = "T1";

StoredReport Version(const std::string& report_id, uint32_t version,
                     int64_t received) {
  StoredReport stored;
  stored.mutable_report()->set_report_id(report_id);
  stored.mutable_report()->set_site_id("01");
  stored.mutable_report()->set_version(version);
  stored.mutable_receive_time()->set_seconds(received);
  return stored;
}

google::protobuf::Timestamp At(int64_t seconds) {
  google::protobuf::Timestamp t;
  t.set_seconds(seconds);
  return t;
}

class ReportsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = Store::Open({.path = dir_.path()});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    // R1: v1 at 10, v3 at 20, then v2 at 30 (superseded on arrival);
    // R2: v1 at 40 only.
    ASSERT_TRUE(
        store_
            ->Commit([](Txn& txn) {
              WriteReportVersion(txn, kTrial, Version("R1", 1, 10), true);
              WriteReportVersion(txn, kTrial, Version("R1", 3, 20), true);
              StoredReport late = Version("R1", 2, 30);
              late.set_superseded_on_arrival(true);
              WriteReportVersion(txn, kTrial, late, false);
              WriteReportVersion(txn, kTrial, Version("R2", 1, 40), true);
              return absl::OkStatus();
            })
            .ok());
  }

  // "report@version" of each report as of `seconds`.
  std::vector<std::string> AsOf(int64_t seconds) {
    std::vector<std::string> out;
    absl::Status status = ScanReportsAsOf(
        store_->Latest(), kTrial, At(seconds), [&](const StoredReport& s) {
          out.push_back(s.report().report_id() + "@" +
                        std::to_string(s.report().version()));
          return true;
        });
    EXPECT_TRUE(status.ok()) << status;
    return out;
  }

  testing::TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(ReportsTest, AsOfGivesTheHighestVersionReceivedByTheCutOff) {
  EXPECT_EQ(AsOf(5), std::vector<std::string>{});
  EXPECT_EQ(AsOf(10), std::vector<std::string>{"R1@1"});  // inclusive
  EXPECT_EQ(AsOf(15), std::vector<std::string>{"R1@1"});
  EXPECT_EQ(AsOf(25), std::vector<std::string>{"R1@3"});
  EXPECT_EQ(AsOf(35), std::vector<std::string>{"R1@3"});
  EXPECT_EQ(AsOf(45), (std::vector<std::string>{"R1@3", "R2@1"}));
}

TEST_F(ReportsTest, AsOfAfterEverythingIsTheNewestVersion) {
  std::vector<std::string> newest;
  ASSERT_TRUE(
      ScanNewestReports(store_->Latest(), kTrial, [&](const StoredReport& s) {
        newest.push_back(s.report().report_id() + "@" +
                         std::to_string(s.report().version()));
        return true;
      }).ok());
  EXPECT_EQ(AsOf(1000), newest);
}

TEST_F(ReportsTest, AsOfStopsWhenTheCallbackSaysSo) {
  int calls = 0;
  ASSERT_TRUE(ScanReportsAsOf(store_->Latest(), kTrial, At(1000),
                              [&](const StoredReport&) {
                                ++calls;
                                return false;
                              })
                  .ok());
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace aesignal::storage
