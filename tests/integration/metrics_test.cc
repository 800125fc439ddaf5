// Prometheus metrics: after known traffic, a scrape of /metrics shows exactly
// the reports by outcome and reason, the batch latency histogram's count,
// open streams, signal events and the store's figures.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "aesignal/client/client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/domain/monitor.h"
#include "services/server/server.h"
#include "storage/store.h"
#include "tests/testing/fixtures.h"
#include "tests/testing/temp_dir.h"

namespace aesignal {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// GET http://127.0.0.1:port/metrics with a plain socket (HTTP/1.0).
std::string Scrape(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string body;
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) ==
      0) {
    const std::string request = "GET /metrics HTTP/1.0\r\n\r\n";
    if (write(fd, request.data(), request.size()) ==
        static_cast<ssize_t>(request.size())) {
      char buffer[4096];
      ssize_t n;
      while ((n = read(fd, buffer, sizeof(buffer))) > 0) body.append(buffer, n);
    }
  }
  close(fd);
  return body;
}

TEST(MetricsTest, ScrapeReflectsTraffic) {
  testing::TempDir dir;
  ServerOptions options{.listen = "127.0.0.1:0", .data_dir = dir.Sub("data")};
  options.metrics_listen = "127.0.0.1:0";
  auto server = Server::Start(options);
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_GT((*server)->metrics_port(), 0);
  client::ConnectionOptions connection;
  connection.target = absl::StrCat("127.0.0.1:", (*server)->port());
  client::Client c(client::MakeClientConnection(connection));

  // Before any traffic, the series alerts watch are there at 0: an alert on
  // an increase of failed rounds would otherwise miss the first failure.
  const std::string fresh = Scrape((*server)->metrics_port());
  for (const char* series :
       {"aesignal_signal_rounds_total{outcome=\"failed\"} 0",
        "aesignal_reports_total{outcome=\"rejected\",reason=\"invalid_"
        "argument\"} 0",
        "aesignal_reports_total{outcome=\"accepted\",reason=\"\"} 0",
        "aesignal_signal_events_total{kind=\"raised\"} 0",
        "aesignal_authentication_failures_total 0"}) {
    EXPECT_THAT(fresh, HasSubstr(series));
  }

  ASSERT_TRUE(c.CreateTrial(testing::ThreeGroupTrial("T1")).ok());
  std::vector<v1::Subject> subjects;
  for (int i = 1; i <= 6; ++i) subjects.push_back(testing::SubjectNumber(i));
  ASSERT_TRUE(c.EnrollSubjects("T1", subjects).ok());
  v1::Baseline baseline;
  baseline.set_baseline_id("sae");
  baseline.set_level(v1::TERM_LEVEL_OVERALL);
  baseline.set_overall_key("any_sae");
  baseline.set_expected_proportion(0.01);
  baseline.set_citation("test");
  ASSERT_TRUE(c.PutBaselines("T1", {baseline}).ok());

  // Batch 1: 3 accepted, 1 rejected (grade out of range).
  v1::AdverseEventReport bad_grade = testing::Report("R4", 1, "S4", 10, "X");
  bad_grade.set_grade(9);
  auto first = c.SubmitReports(
      "T1", {testing::Report("R1", 1, "S1", 10, "Sepsis", 4, true),
             testing::Report("R2", 1, "S2", 10, "Sepsis", 4, true),
             testing::Report("R3", 1, "S3", 10, "Rash"), bad_grade});
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(first->accepted_count(), 3);
  ASSERT_EQ(first->rejected_count(), 1);
  const int bad_code = first->results(3).code();
  // Batch 2: a retry (duplicate) and an older version after a newer one.
  ASSERT_TRUE(c.SubmitReports("T1", {testing::Report("R5", 2, "S5", 20, "Rash"),
                                     testing::Report("R5", 1, "S5", 20, "Rash"),
                                     testing::Report("R1", 1, "S1", 10,
                                                     "Sepsis", 4, true)})
                  .ok());
  // Batch 3: refused whole (unknown trial): 2 reports.
  EXPECT_EQ(c.SubmitReports("NOPE", {testing::Report("R6", 1, "S1", 1, "A"),
                                     testing::Report("R7", 1, "S1", 1, "A")})
                .status()
                .code(),
            absl::StatusCode::kNotFound);
  ASSERT_TRUE((*server)->monitor().signals().WaitIdle(absl::Seconds(10)).ok());

  // An open stream is counted while it is open.
  auto stream = c.connection().OpenReportStream();
  v1::StreamReportsRequest batch;
  batch.set_parent("trials/T1");
  batch.set_batch_id(1);
  *batch.add_reports() = testing::Report("R8", 1, "S6", 30, "Rash");
  ASSERT_TRUE(stream->Write(batch));
  v1::StreamReportsResponse response;
  ASSERT_TRUE(stream->Read(&response));
  ASSERT_TRUE((*server)->monitor().signals().WaitIdle(absl::Seconds(10)).ok());

  const std::string text = Scrape((*server)->metrics_port());
  EXPECT_THAT(text, HasSubstr("aesignal_reports_total{outcome=\"accepted\","
                              "reason=\"\"} 5\n"));
  EXPECT_THAT(text, HasSubstr("aesignal_reports_total{outcome=\"duplicate\","
                              "reason=\"\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("aesignal_reports_total{outcome=\"superseded\","
                              "reason=\"\"} 1\n"));
  EXPECT_THAT(text,
              HasSubstr(absl::StrCat(
                  "aesignal_reports_total{outcome=\"rejected\",reason=\"",
                  bad_code == 3 ? "invalid_argument" : "failed_precondition",
                  "\"} 1\n")));
  EXPECT_THAT(text, HasSubstr("aesignal_reports_total{outcome=\"rejected\","
                              "reason=\"batch_not_found\"} 2\n"));
  // Batches 1, 2 and the streamed one; a refused batch is not committed.
  EXPECT_THAT(text, HasSubstr("aesignal_batch_commit_seconds_count 3\n"));
  EXPECT_THAT(text, HasSubstr("aesignal_open_streams{rpc=\"IngestService."
                              "StreamReports\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("aesignal_signal_events_total{kind=\"raised\"}"));
  // The evaluator's rounds, and signals current (nothing waiting).
  EXPECT_THAT(text, HasSubstr("aesignal_signal_rounds_total{outcome=\"ok\"} "));
  EXPECT_THAT(
      text, HasSubstr("aesignal_signal_rounds_total{outcome=\"failed\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("aesignal_signal_round_seconds_count "));
  EXPECT_THAT(text, HasSubstr("aesignal_signal_lag_seconds_count "));
  EXPECT_THAT(text, Not(HasSubstr("aesignal_signal_rows_evaluated_total 0\n")));
  EXPECT_THAT(
      text, HasSubstr("aesignal_signal_backlog_oldest_timestamp_seconds 0\n"));
  EXPECT_THAT(text, HasSubstr("aesignal_store_commits_total "));
  EXPECT_THAT(text, HasSubstr("aesignal_rocksdb_estimate_num_keys "));
  EXPECT_THAT(text, HasSubstr("aesignal_rocksdb_background_errors 0\n"));
  EXPECT_THAT(text, HasSubstr("aesignal_store_write_failures_total 0\n"));
  EXPECT_THAT(text, HasSubstr("aesignal_store_resumes_total 0\n"));
  EXPECT_THAT(text, HasSubstr("aesignal_store_writes_refused 0\n"));
  // The process's own figures, and the build.
  for (const char* figure :
       {"process_cpu_seconds_total ", "process_resident_memory_bytes ",
        "process_virtual_memory_bytes ", "process_open_fds ",
        "process_max_fds ", "process_start_time_seconds "}) {
    EXPECT_THAT(text, HasSubstr(absl::StrCat("\n", figure))) << figure;
  }
  // A running server holds megabytes: the figure is read, not a zero.
  const size_t rss = text.find("\nprocess_resident_memory_bytes ");
  ASSERT_NE(rss, std::string::npos);
  double rss_bytes = 0;
  ASSERT_TRUE(absl::SimpleAtod(
      text.substr(rss + 31, text.find('\n', rss + 1) - rss - 31), &rss_bytes));
  EXPECT_GT(rss_bytes, 1e6);
  EXPECT_THAT(
      text, HasSubstr(absl::StrCat("aesignal_build_info{version=\"",
                                   AESIGNAL_TEST_VERSION, "\",store_schema=\"",
                                   storage::kSchemaVersion, "\"} 1\n")));

  stream->WritesDone();
  while (stream->Read(&response)) {
  }
  ASSERT_TRUE(stream->Finish().ok());
  // The handler's exit (and so the gauge) may trail the client's Finish.
  std::string after;
  for (int i = 0; i < 100; ++i) {
    after = Scrape((*server)->metrics_port());
    if (after.find("StreamReports\"} 0\n") != std::string::npos) break;
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_THAT(after, HasSubstr("aesignal_open_streams{rpc=\"IngestService."
                               "StreamReports\"} 0\n"));
}

TEST(MetricsTest, UnusableMetricsAddressFailsStart) {
  testing::TempDir dir;
  ServerOptions options{.listen = "127.0.0.1:0", .data_dir = dir.Sub("data")};
  options.metrics_listen = "256.0.0.1:1";
  auto server = Server::Start(options);
  EXPECT_EQ(server.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(server.status().message(), HasSubstr("metrics"));
}

}  // namespace
}  // namespace aesignal
