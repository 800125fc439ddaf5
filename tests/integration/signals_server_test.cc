// Signals through the real server and the SDK: a watcher connected before the
// reports are acknowledged receives the signal they raise within a second.
#include <map>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "aesignal/client/client.h"
#include "aesignal/client/report_streamer.h"
#include "aesignal/v1/admin_service.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "services/domain/monitor.h"
#include "services/server/server.h"
#include "tests/testing/fixtures.h"
#include "tests/testing/temp_dir.h"

namespace aesignal {
namespace {

// A real server on 127.0.0.1:0 and an SDK client of it.
class SignalsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server =
        Server::Start({.listen = "127.0.0.1:0", .data_dir = dir_.Sub("data")});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    options_.target = absl::StrCat("127.0.0.1:", server_->port());
  }

  // Only the binomial method: the signals these tests expect, and no others.
  static v1::Trial BinomialOnly(v1::Trial trial) {
    trial.mutable_signal_policy()->set_disable_bayesian(true);
    trial.mutable_signal_policy()->set_disable_trend(true);
    trial.mutable_signal_policy()->set_disable_over_time(true);
    return trial;
  }

  testing::TempDir dir_;
  std::unique_ptr<Server> server_;
  client::ConnectionOptions options_;
};

TEST_F(SignalsServerTest, WatcherReceivesTheSignalAStreamRaises) {
  client::Client c(client::MakeClientConnection(options_));

  const v1::Trial trial = BinomialOnly(testing::ThreeGroupTrial("T1"));
  ASSERT_TRUE(c.CreateTrial(trial).ok());
  std::vector<v1::Subject> subjects;
  for (int i = 1; i <= 9; ++i) subjects.push_back(testing::SubjectNumber(i));
  ASSERT_TRUE(c.EnrollSubjects("T1", subjects).ok());
  ASSERT_TRUE(c.PutBaselines("T1", {testing::SeriousAeBaseline()}).ok());

  // Reports below the baseline first: nothing raised.
  client::ReportStreamer quiet(c.shared_connection(), "T1");
  ASSERT_TRUE(quiet.Add(testing::Report("R1", 1, "S3", 10, "Pyrexia")).ok());
  ASSERT_TRUE(quiet.Finish().ok());

  absl::Notification watching;
  std::vector<v1::WatchSignalsResponse> seen;
  absl::Time received;
  std::thread watcher([&] {
    absl::Status status = c.WatchSignals(
        "T1", 0,
        [&](const v1::WatchSignalsResponse& change) {
          seen.push_back(change);
          received = absl::Now();
          return false;  // one is enough
        },
        absl::Now() + absl::Seconds(20));
    EXPECT_TRUE(status.ok()) << status;
  });
  absl::SleepFor(absl::Milliseconds(200));  // the watch is established

  // Two serious AEs in HIGH (S3, S6) by month 3: 2/3 against p0 = 0.02.
  client::ReportStreamer streamer(c.shared_connection(), "T1");
  ASSERT_TRUE(
      streamer.Add(testing::Report("R2", 1, "S3", 20, "Pneumonia", 3, true))
          .ok());
  ASSERT_TRUE(
      streamer.Add(testing::Report("R3", 1, "S6", 30, "Sepsis", 4, true)).ok());
  ASSERT_TRUE(streamer.Finish().ok());
  const absl::Time acked = absl::Now();
  watcher.join();

  ASSERT_EQ(seen.size(), 1u);
  const v1::Signal& s = seen[0].signal();
  EXPECT_EQ(seen[0].event().kind(), v1::SignalEvent::KIND_RAISED);
  EXPECT_EQ(s.signal_id(), "BINOMIAL~OVERALL~any_sae~HIGH~M3");
  EXPECT_EQ(s.evidence().subjects(), 2);
  EXPECT_EQ(s.evidence().denominator(), 3);
  // P(X >= 2 | 3, 0.02) = 3 * 0.02^2 * 0.98 + 0.02^3.
  EXPECT_NEAR(s.evidence().p_value(), 3 * 0.0004 * 0.98 + 0.000008, 1e-12);
  EXPECT_EQ(s.raised_by_report_id(), "R3");
  EXPECT_LT(received - acked, absl::Seconds(1));

  auto all = c.ListAllSignals("T1");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 1u);  // exactly the expected one
}

// Regression: a dose group whose id is "ALL" once shared its signal ids with
// the all-groups total, so one signal carried the group's evidence under the
// total's empty dose group and VerifyTrial reported DATA_LOSS.
TEST_F(SignalsServerTest, DoseGroupNamedAllDoesNotCollideWithTheTotal) {
  client::Client c(client::MakeClientConnection(options_));

  v1::Trial trial = BinomialOnly(testing::ThreeGroupTrial("T2"));
  trial.clear_dose_groups();
  for (const char* id : {"ALL", "OTHER"}) {
    auto* g = trial.add_dose_groups();
    g->set_dose_group_id(id);
    g->set_label(id);
  }
  ASSERT_TRUE(c.CreateTrial(trial).ok());
  std::vector<v1::Subject> subjects;
  for (int i = 1; i <= 10; ++i) {
    v1::Subject s = testing::SubjectNumber(i);
    s.set_dose_group_id(i <= 3 ? "ALL" : "OTHER");
    subjects.push_back(s);
  }
  ASSERT_TRUE(c.EnrollSubjects("T2", subjects).ok());
  v1::Baseline baseline = testing::SeriousAeBaseline();
  baseline.clear_dose_group_id();  // every group and the total
  ASSERT_TRUE(c.PutBaselines("T2", {baseline}).ok());

  // Group ALL at 3/3 with a serious AE, the total at 4/10.
  client::ReportStreamer streamer(c.shared_connection(), "T2");
  for (const char* subject : {"S1", "S2", "S3", "S4"}) {
    ASSERT_TRUE(streamer
                    .Add(testing::Report(absl::StrCat("R", subject), 1, subject,
                                         20, "Pneumonia", 3, true))
                    .ok());
  }
  ASSERT_TRUE(streamer.Finish().ok());
  ASSERT_TRUE(server_->monitor().signals().WaitIdle(absl::Seconds(10)).ok());

  auto all = c.ListAllSignals("T2");
  ASSERT_TRUE(all.ok()) << all.status();
  std::map<std::string, const v1::Signal*> by_id;
  for (const v1::Signal& s : *all) by_id[s.signal_id()] = &s;
  const v1::Signal* group = by_id["BINOMIAL~OVERALL~any_sae~.41LL~M3"];
  const v1::Signal* total = by_id["BINOMIAL~OVERALL~any_sae~ALL~M3"];
  ASSERT_NE(group, nullptr);
  ASSERT_NE(total, nullptr);
  EXPECT_EQ(group->dose_group_id(), "ALL");
  EXPECT_EQ(group->evidence().subjects(), 3);
  EXPECT_EQ(group->evidence().denominator(), 3);
  EXPECT_EQ(total->dose_group_id(), "");
  EXPECT_EQ(total->evidence().subjects(), 4);
  EXPECT_EQ(total->evidence().denominator(), 10);

  v1::VerifyTrialRequest verify;
  verify.set_name("trials/T2");
  v1::VerifyTrialResponse verified;
  grpc::ClientContext context;
  auto admin = v1::AdminService::NewStub(
      grpc::CreateChannel(options_.target, grpc::InsecureChannelCredentials()));
  const grpc::Status s = admin->VerifyTrial(&context, verify, &verified);
  EXPECT_TRUE(s.ok()) << s.error_message();
}

}  // namespace
}  // namespace aesignal
