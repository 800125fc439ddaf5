// The C++ SDK against a real server: a ReportStreamer survives a server
// restart mid-stream and every report ends up stored exactly once.
#include <memory>
#include <thread>

#include "absl/strings/str_cat.h"
#include "aesignal/client/client.h"
#include "aesignal/client/report_streamer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/domain/monitor.h"
#include "services/server/server.h"
#include "tests/testing/fixtures.h"
#include "tests/testing/temp_dir.h"

namespace aesignal {
namespace {

int FreePort() {
  auto probe = Server::Start(
      {.listen = "127.0.0.1:0", .data_dir = "/tmp/aesignal-port-probe"});
  int port = probe.ok() ? (*probe)->port() : 0;
  probe->reset();
  std::error_code ec;
  std::filesystem::remove_all("/tmp/aesignal-port-probe", ec);
  return port;
}

TEST(SdkTest, StreamerResendsAcrossAServerRestart) {
  testing::TempDir dir;
  const int port = FreePort();
  ASSERT_NE(port, 0);
  ServerOptions options{.listen = absl::StrCat("127.0.0.1:", port),
                        .data_dir = dir.Sub("data")};
  auto server = Server::Start(options);
  ASSERT_TRUE(server.ok()) << server.status();

  client::ConnectionOptions connection_options;
  connection_options.target = absl::StrCat("127.0.0.1:", port);
  client::Client c(client::MakeClientConnection(connection_options));
  ASSERT_TRUE(c.CreateTrial(testing::ThreeGroupTrial("T1")).ok());
  std::vector<v1::Subject> subjects;
  for (int i = 1; i <= 30; ++i) subjects.push_back(testing::SubjectNumber(i));
  ASSERT_TRUE(c.EnrollSubjects("T1", subjects).ok());

  constexpr int kReports = 20000;
  client::StreamerOptions streamer_options;
  streamer_options.batch_size = 100;
  streamer_options.max_unacked_batches = 4;
  streamer_options.initial_backoff = absl::Milliseconds(50);
  streamer_options.max_reconnects = 20;
  std::vector<int> outcomes(kReports, 0);
  client::ReportStreamer streamer(
      c.shared_connection(), "T1", streamer_options,
      [&](const client::ReportOutcome& o) { ++outcomes[o.sequence]; });

  for (int n = 0; n < kReports; ++n) {
    if (n == kReports / 2) {
      // Restart the server under the stream: acknowledged batches are
      // durable; unacknowledged ones are resent by the streamer.
      (*server)->Shutdown(absl::ZeroDuration());
      server->reset();
      server = Server::Start(options);
      ASSERT_TRUE(server.ok()) << server.status();
    }
    ASSERT_TRUE(streamer
                    .Add(testing::Report(
                        absl::StrCat("R", n), 1, absl::StrCat("S", 1 + n % 30),
                        1 + n % 300, absl::StrCat("PT", n % 7)))
                    .ok());
  }
  auto summary = streamer.Finish();
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_GE(summary->reconnects, 1);
  EXPECT_EQ(summary->accepted + summary->duplicate, kReports);
  EXPECT_EQ(summary->rejected, 0);
  for (int n = 0; n < kReports; ++n) ASSERT_EQ(outcomes[n], 1) << n;

  // Stored once each: a fresh resubmission of everything is all duplicates,
  // and the counters equal a recount.
  std::vector<v1::AdverseEventReport> all;
  int64_t duplicates = 0;
  for (int n = 0; n < kReports; ++n) {
    all.push_back(testing::Report(absl::StrCat("R", n), 1,
                                  absl::StrCat("S", 1 + n % 30), 1 + n % 300,
                                  absl::StrCat("PT", n % 7)));
    if (all.size() == 1000 || n == kReports - 1) {
      auto response = c.SubmitReports("T1", all);
      ASSERT_TRUE(response.ok()) << response.status();
      duplicates += response->duplicate_count();
      all.clear();
    }
  }
  EXPECT_EQ(duplicates, kReports);
  EXPECT_TRUE((*server)->monitor().VerifyCounters("T1").ok());
}

// A batch size above the API's limit is taken as the limit: the streamer
// never sends a message the server must refuse.
TEST(SdkTest, StreamerCapsBatchesAtTheApisLimit) {
  testing::TempDir dir;
  auto server =
      Server::Start({.listen = "127.0.0.1:0", .data_dir = dir.Sub("data")});
  ASSERT_TRUE(server.ok()) << server.status();
  client::ConnectionOptions connection_options;
  connection_options.target = absl::StrCat("127.0.0.1:", (*server)->port());
  client::Client c(client::MakeClientConnection(connection_options));
  ASSERT_TRUE(c.CreateTrial(testing::ThreeGroupTrial("T1")).ok());
  ASSERT_TRUE(c.EnrollSubjects("T1", {testing::SubjectNumber(1)}).ok());

  client::StreamerOptions options;
  options.batch_size = client::kMaxReportsPerBatch + 1000;
  client::ReportStreamer streamer(c.shared_connection(), "T1", options);
  const int reports = client::kMaxReportsPerBatch + 1;
  for (int n = 0; n < reports; ++n) {
    ASSERT_TRUE(
        streamer
            .Add(testing::Report(absl::StrCat("R", n), 1, "S1", 1 + n % 300,
                                 absl::StrCat("PT", n % 7)))
            .ok());
  }
  auto summary = streamer.Finish();
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->accepted, reports);
  EXPECT_EQ(summary->batches, 2);
}

}  // namespace
}  // namespace aesignal
