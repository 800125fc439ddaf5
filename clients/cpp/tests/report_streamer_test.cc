#include "aesignal/client/report_streamer.h"

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "aesignal/client/mocks/mock_connection.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace aesignal::client {
namespace {

// An in-memory IngestService: idempotent by report_id + version like the
// real one, holding acks until `ack_when_pending` batches are unacknowledged
// (or the client half-closes) and then releasing them together, in one
// response if the stream's first request asked for grouped
// acknowledgements, with injectable stream failures.
class FakeServer {
 public:
  explicit FakeServer(int ack_when_pending) : ack_when_(ack_when_pending) {}

  // The next stream opened breaks (UNAVAILABLE) right after committing the
  // batch with this ordinal on that stream, before acknowledging it.
  void BreakAfterCommit(int batch_ordinal) {
    absl::MutexLock lock(&mu_);
    break_after_.push_back(batch_ordinal);
  }
  // Every stream from now on fails at once with `status`.
  void FailAllStreams(absl::Status status) {
    absl::MutexLock lock(&mu_);
    fail_all_ = status;
  }
  // The batch written after `skip` more batches is answered with a
  // batch-level error (none of it stored).
  void RejectNextBatch(absl::StatusCode code, int skip = 0) {
    absl::MutexLock lock(&mu_);
    reject_code_ = code;
    reject_skip_ = skip;
  }

  // Answers one response per batch whatever the client asks, as servers did
  // before grouped acknowledgements.
  void IgnoreGrouping() {
    absl::MutexLock lock(&mu_);
    honor_grouping_ = false;
  }
  // Streams whose first request asked for grouped acknowledgements.
  int streams_asking_grouped() const {
    absl::MutexLock lock(&mu_);
    return streams_asking_grouped_;
  }
  // Responses that acknowledged more than one batch.
  int grouped_responses() const {
    absl::MutexLock lock(&mu_);
    return grouped_responses_;
  }

  int max_pending() const {
    absl::MutexLock lock(&mu_);
    return max_pending_;
  }
  int streams_opened() const {
    absl::MutexLock lock(&mu_);
    return streams_;
  }
  std::multiset<std::string> stored() const {
    absl::MutexLock lock(&mu_);
    return stored_;
  }

  class Stream : public ReportStream {
   public:
    explicit Stream(FakeServer* server, int break_after, absl::Status fail)
        : server_(server), break_after_(break_after), status_(fail) {
      if (!fail.ok()) ended_ = true;
    }
    bool Write(const v1::StreamReportsRequest& request) override {
      absl::MutexLock lock(&server_->mu_);
      EXPECT_FALSE(finished_) << "Write after Finish";
      if (ended_) return false;
      if (++written_ == 1 && request.group_acknowledgements()) {
        ++server_->streams_asking_grouped_;
        grouped_ = server_->honor_grouping_;
      }
      v1::StreamReportsResponse response;
      response.set_batch_id(request.batch_id());
      if (server_->reject_code_ != absl::StatusCode::kOk &&
          server_->reject_skip_-- == 0) {
        response.mutable_error()->set_code(
            static_cast<int>(server_->reject_code_));
        response.mutable_error()->set_message("trial not found");
        server_->reject_code_ = absl::StatusCode::kOk;
      } else {
        auto* result = response.mutable_result();
        for (int i = 0; i < request.reports_size(); ++i) {
          const auto& report = request.reports(i);
          const std::string key =
              absl::StrCat(report.report_id(), "#", report.version());
          auto* r = result->add_results();
          r->set_index(i);
          r->set_report_id(report.report_id());
          r->set_version(report.version());
          if (report.pt().empty()) {
            r->set_status(v1::REPORT_STATUS_REJECTED);
            r->set_field("pt");
            result->set_rejected_count(result->rejected_count() + 1);
          } else if (server_->keys_.insert(key).second) {
            server_->stored_.insert(key);
            r->set_status(v1::REPORT_STATUS_ACCEPTED);
            result->set_accepted_count(result->accepted_count() + 1);
          } else {
            r->set_status(v1::REPORT_STATUS_DUPLICATE);
            result->set_duplicate_count(result->duplicate_count() + 1);
          }
        }
      }
      if (written_ == break_after_) {  // committed, never acknowledged
        ended_ = true;
        status_ = absl::UnavailableError("connection reset");
        return true;
      }
      pending_.push_back(response);
      server_->max_pending_ =
          std::max(server_->max_pending_, static_cast<int>(pending_.size()));
      if (static_cast<int>(pending_.size()) >= server_->ack_when_) Release();
      return true;
    }
    bool Read(v1::StreamReportsResponse* response) override {
      absl::MutexLock lock(&server_->mu_);
      server_->mu_.Await(absl::Condition(
          +[](Stream* s) { return !s->ready_.empty() || s->ended_; }, this));
      if (ready_.empty()) return false;
      *response = ready_.front();
      ready_.erase(ready_.begin());
      return true;
    }
    void WritesDone() override {
      absl::MutexLock lock(&server_->mu_);
      EXPECT_FALSE(finished_) << "WritesDone after Finish";
      Release();
      half_closed_ = true;
      if (!ended_) ended_ = true;  // after the acks already released
    }
    absl::Status Finish() override {
      absl::MutexLock lock(&server_->mu_);
      // A real gRPC stream aborts the process here (API misuse).
      EXPECT_FALSE(finished_) << "Finish called twice on one stream";
      finished_ = true;
      return status_;
    }
    void Cancel() override {
      absl::MutexLock lock(&server_->mu_);
      ready_.clear();
      ended_ = true;
      if (status_.ok()) status_ = absl::CancelledError("cancelled");
    }

   private:
    void Release() ABSL_EXCLUSIVE_LOCKS_REQUIRED(server_->mu_) {
      if (grouped_ && !pending_.empty()) {
        v1::StreamReportsResponse grouped;
        for (auto& r : pending_) {
          v1::BatchAcknowledgement* ack = grouped.add_acknowledgements();
          ack->set_batch_id(r.batch_id());
          if (r.has_error()) *ack->mutable_error() = r.error();
          if (r.has_result()) *ack->mutable_result() = r.result();
        }
        if (pending_.size() > 1) ++server_->grouped_responses_;
        ready_.push_back(std::move(grouped));
      } else {
        for (auto& r : pending_) ready_.push_back(r);
      }
      pending_.clear();
    }
    FakeServer* server_;
    int break_after_;
    int written_ = 0;
    bool grouped_ = false;
    bool ended_ = false;
    bool half_closed_ = false;
    bool finished_ = false;
    absl::Status status_;
    std::vector<v1::StreamReportsResponse> pending_;
    std::vector<v1::StreamReportsResponse> ready_;
  };

  std::unique_ptr<ReportStream> Open() {
    absl::MutexLock lock(&mu_);
    ++streams_;
    int break_after = -1;
    if (!break_after_.empty()) {
      break_after = break_after_.front();
      break_after_.erase(break_after_.begin());
    }
    return std::make_unique<Stream>(this, break_after, fail_all_);
  }

 private:
  mutable absl::Mutex mu_;
  const int ack_when_;
  std::vector<int> break_after_;
  absl::Status fail_all_;
  absl::StatusCode reject_code_ = absl::StatusCode::kOk;
  int reject_skip_ = 0;
  std::set<std::string> keys_;
  std::multiset<std::string> stored_;
  int max_pending_ = 0;
  int streams_ = 0;
  bool honor_grouping_ = true;
  int streams_asking_grouped_ = 0;
  int grouped_responses_ = 0;
};

std::shared_ptr<MockClientConnection> ConnectionTo(FakeServer& server) {
  auto connection = std::make_shared<MockClientConnection>();
  ON_CALL(*connection, OpenReportStream).WillByDefault([&server] {
    return server.Open();
  });
  EXPECT_CALL(*connection, OpenReportStream).Times(::testing::AnyNumber());
  return connection;
}

v1::AdverseEventReport Report(int n) {
  v1::AdverseEventReport report;
  report.set_report_id(absl::StrCat("R", n));
  report.set_version(1);
  report.set_pt("Headache");
  return report;
}

StreamerOptions FastOptions(int batch_size, int window) {
  StreamerOptions options;
  options.batch_size = batch_size;
  options.max_unacked_batches = window;
  options.initial_backoff = absl::Milliseconds(1);
  options.max_reconnects = 3;
  return options;
}

struct Outcomes {
  absl::Mutex mu;
  std::vector<ReportOutcome> all;
  ReportStreamer::OutcomeCallback Callback() {
    return [this](const ReportOutcome& o) {
      absl::MutexLock lock(&mu);
      all.push_back(o);
    };
  }
};

TEST(ReportStreamerTest, EveryReportGetsOneOutcomeInOrder) {
  FakeServer server(/*ack_when_pending=*/1);
  Outcomes outcomes;
  ReportStreamer streamer(ConnectionTo(server), "T", FastOptions(7, 4),
                          outcomes.Callback());
  for (int i = 0; i < 100; ++i) {
    v1::AdverseEventReport report = Report(i);
    if (i == 42) report.clear_pt();  // rejected by the fake server
    ASSERT_TRUE(streamer.Add(report).ok());
  }
  auto summary = streamer.Finish();
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->accepted, 99);
  EXPECT_EQ(summary->rejected, 1);
  EXPECT_EQ(summary->batches, 15);  // ceil(100 / 7)
  EXPECT_EQ(summary->reconnects, 0);
  ASSERT_EQ(outcomes.all.size(), 100u);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(outcomes.all[i].sequence, i);
    EXPECT_EQ(outcomes.all[i].result.report_id(), absl::StrCat("R", i));
  }
  EXPECT_EQ(outcomes.all[42].result.status(), v1::REPORT_STATUS_REJECTED);
  EXPECT_EQ(outcomes.all[42].result.field(), "pt");
  EXPECT_EQ(streamer.acknowledged(), 100);
  EXPECT_EQ(streamer.added(), 100);
}

TEST(ReportStreamerTest, WindowBoundsUnacknowledgedBatches) {
  // The fake acknowledges only when 3 batches are pending: a streamer that
  // respected no window would push the maximum above 3; one that stopped
  // short of 3 would deadlock.
  FakeServer server(/*ack_when_pending=*/3);
  ReportStreamer streamer(ConnectionTo(server), "T", FastOptions(10, 3));
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(streamer.Add(Report(i)).ok());
  auto summary = streamer.Finish();
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->accepted, 1000);
  EXPECT_EQ(server.max_pending(), 3);
  EXPECT_GT(server.grouped_responses(), 0);  // three batches per response
}

// A server from before grouped acknowledgements answers one response per
// batch: every report still gets its one outcome, in order.
TEST(ReportStreamerTest, ServerThatDoesNotGroupIsUnderstood) {
  FakeServer server(/*ack_when_pending=*/3);
  server.IgnoreGrouping();
  Outcomes outcomes;
  ReportStreamer streamer(ConnectionTo(server), "T", FastOptions(7, 3),
                          outcomes.Callback());
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(streamer.Add(Report(i)).ok());
  auto summary = streamer.Finish();
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->accepted, 100);
  EXPECT_EQ(summary->batches, 15);
  EXPECT_EQ(server.grouped_responses(), 0);
  ASSERT_EQ(outcomes.all.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(outcomes.all[i].sequence, i);
}

TEST(ReportStreamerTest, BrokenStreamResendsAndCountsEachReportOnce) {
  FakeServer server(/*ack_when_pending=*/2);
  server.BreakAfterCommit(5);  // first stream: batch 5 stored, never acked
  server.BreakAfterCommit(2);  // second stream breaks too
  Outcomes outcomes;
  ReportStreamer streamer(ConnectionTo(server), "T", FastOptions(10, 4),
                          outcomes.Callback());
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(streamer.Add(Report(i)).ok());
  auto summary = streamer.Finish();
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->reconnects, 2);
  EXPECT_EQ(summary->accepted + summary->duplicate, 200);
  EXPECT_GT(summary->duplicate, 0);  // committed-but-unacked batches resent
  // Stored exactly once each, and one outcome per report, in order.
  std::multiset<std::string> stored = server.stored();
  EXPECT_EQ(stored.size(), 200u);
  for (int i = 0; i < 200; ++i) {
    EXPECT_EQ(stored.count(absl::StrCat("R", i, "#1")), 1u) << i;
  }
  ASSERT_EQ(outcomes.all.size(), 200u);
  for (int i = 0; i < 200; ++i) EXPECT_EQ(outcomes.all[i].sequence, i);
  // Each new stream asks for grouped acknowledgements again.
  EXPECT_EQ(server.streams_asking_grouped(), 3);
  EXPECT_EQ(server.streams_opened(), 3);
  EXPECT_GT(server.grouped_responses(), 0);
}

TEST(ReportStreamerTest, GivesUpAfterMaxReconnects) {
  FakeServer server(/*ack_when_pending=*/1);
  server.FailAllStreams(absl::UnavailableError("server down"));
  ReportStreamer streamer(ConnectionTo(server), "T", FastOptions(5, 2));
  absl::Status status;
  for (int i = 0; i < 50 && status.ok(); ++i) status = streamer.Add(Report(i));
  if (status.ok()) status = streamer.Finish().status();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(status.message()),
              ::testing::HasSubstr("server down"));
  EXPECT_EQ(server.streams_opened(), 4);  // first + 3 reconnects
}

// Giving up leaves the last stream finished: neither Finish() after a failed
// Add() nor the destructor may finish it again.
TEST(ReportStreamerTest, GivingUpFinishesEachStreamOnce) {
  for (bool call_finish : {true, false}) {
    FakeServer server(/*ack_when_pending=*/1);
    server.FailAllStreams(absl::UnavailableError("server down"));
    ReportStreamer streamer(ConnectionTo(server), "T", FastOptions(1, 1));
    absl::Status status;
    for (int i = 0; i < 50 && status.ok(); ++i) {
      status = streamer.Add(Report(i));
    }
    EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
    if (call_finish) {
      EXPECT_EQ(streamer.Finish().status().code(),
                absl::StatusCode::kUnavailable);
    }
  }
}

TEST(ReportStreamerTest, NonRetryableStreamErrorIsReturned) {
  FakeServer server(/*ack_when_pending=*/1);
  server.FailAllStreams(absl::PermissionDeniedError("not your site"));
  ReportStreamer streamer(ConnectionTo(server), "T", FastOptions(5, 2));
  // The error surfaces from Add() or Finish(), whichever first sees the
  // stream's end.
  absl::Status status;
  for (int i = 0; i < 20 && status.ok(); ++i) status = streamer.Add(Report(i));
  if (status.ok()) status = streamer.Finish().status();
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(server.streams_opened(), 1);
}

TEST(ReportStreamerTest, BatchErrorStopsTheStream) {
  FakeServer server(/*ack_when_pending=*/1);
  server.RejectNextBatch(absl::StatusCode::kNotFound);
  ReportStreamer streamer(ConnectionTo(server), "T", FastOptions(5, 2));
  absl::Status status;
  for (int i = 0; i < 50 && status.ok(); ++i) status = streamer.Add(Report(i));
  if (status.ok()) status = streamer.Finish().status();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(status.message()),
              ::testing::HasSubstr("trial not found"));
}

// The server keeps the stream open after refusing a batch: the batches in
// flight behind it are stored and must reach the caller as outcomes, the
// refused one's reports as refused, and nothing is sent after the refusal.
TEST(ReportStreamerTest, RefusedBatchStoresNoneAndBatchesInFlightAreReported) {
  FakeServer server(/*ack_when_pending=*/3);
  server.RejectNextBatch(absl::StatusCode::kPermissionDenied, /*skip=*/1);
  Outcomes outcomes;
  ReportStreamer streamer(ConnectionTo(server), "T", FastOptions(5, 4),
                          outcomes.Callback());
  absl::Status status;
  for (int i = 0; i < 200 && status.ok(); ++i) status = streamer.Add(Report(i));
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied) << status;
  auto finished = streamer.Finish();
  EXPECT_EQ(finished.status().code(), absl::StatusCode::kPermissionDenied);
  const StreamSummary summary = streamer.summary();
  EXPECT_EQ(summary.refused, 5);
  EXPECT_GE(summary.accepted, 10);   // batch 1 and 3 at least
  EXPECT_LT(streamer.added(), 200);  // stopped adding at the refusal
  const std::multiset<std::string> stored = server.stored();
  EXPECT_EQ(static_cast<int64_t>(stored.size()), summary.accepted);
  // Every report sent has exactly one outcome; sent reports are a prefix.
  absl::MutexLock lock(&outcomes.mu);
  ASSERT_EQ(static_cast<int64_t>(outcomes.all.size()),
            summary.accepted + summary.refused);
  std::sort(outcomes.all.begin(), outcomes.all.end(),
            [](const ReportOutcome& a, const ReportOutcome& b) {
              return a.sequence < b.sequence;
            });
  for (size_t i = 0; i < outcomes.all.size(); ++i) {
    const ReportOutcome& o = outcomes.all[i];
    ASSERT_EQ(o.sequence, static_cast<int64_t>(i));
    const bool in_refused_batch = i >= 5 && i < 10;
    EXPECT_EQ(o.batch_error.code(), in_refused_batch
                                        ? absl::StatusCode::kPermissionDenied
                                        : absl::StatusCode::kOk)
        << i;
    EXPECT_EQ(stored.count(absl::StrCat("R", i, "#1")),
              in_refused_batch ? 0u : 1u)
        << i;
    if (in_refused_batch) {
      EXPECT_EQ(o.result.index(), static_cast<int>(i - 5));
    }
  }
}

TEST(ReportStreamerTest, NothingAddedOpensNoStream) {
  FakeServer server(/*ack_when_pending=*/1);
  ReportStreamer streamer(ConnectionTo(server), "T");
  auto summary = streamer.Finish();
  ASSERT_TRUE(summary.ok());
  EXPECT_EQ(summary->batches, 0);
  EXPECT_EQ(server.streams_opened(), 0);
  EXPECT_EQ(streamer.Add(Report(1)).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(ReportStreamerTest, DestroyWithoutFinishCancelsCleanly) {
  FakeServer server(/*ack_when_pending=*/100);  // never acks on its own
  {
    ReportStreamer streamer(ConnectionTo(server), "T", FastOptions(1, 8));
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(streamer.Add(Report(i)).ok());
  }
  EXPECT_EQ(server.stored().size(), 3u);
}

}  // namespace
}  // namespace aesignal::client
