// Signals through the real server and the SDK: a watcher connected before the
// reports are acknowledged receives the signal they raise within a second.
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "aesignal/client/client.h"
#include "aesignal/client/report_streamer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/server/server.h"
#include "tests/testing/fixtures.h"
#include "tests/testing/temp_dir.h"

namespace aesignal {
namespace {

TEST(SignalsServerTest, WatcherReceivesTheSignalAStreamRaises) {
  testing::TempDir dir;
  auto server =
      Server::Start({.listen = "127.0.0.1:0", .data_dir = dir.Sub("data")});
  ASSERT_TRUE(server.ok()) << server.status();
  client::ConnectionOptions options;
  options.target = absl::StrCat("127.0.0.1:", (*server)->port());
  client::Client c(client::MakeClientConnection(options));

  v1::Trial trial = testing::ThreeGroupTrial("T1");
  trial.mutable_signal_policy()->set_disable_bayesian(true);
  trial.mutable_signal_policy()->set_disable_trend(true);
  trial.mutable_signal_policy()->set_disable_over_time(true);
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

}  // namespace
}  // namespace aesignal
