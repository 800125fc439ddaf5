// A quick ingest load run: starts an in-process aesignald on 127.0.0.1:0 with
// a temporary data dir, then K concurrent StreamReports clients each send M
// batches of B new reports (keeping up to W batches unacknowledged) and wait
// for every durable ack. Prints acknowledged reports per second and how many
// fsyncs the group commit needed.
//
//   ingest_load [--streams=4] [--batches=200] [--batch_size=250] [--window=8]
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <iostream>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "aesignal/v1/ingest_service.grpc.pb.h"
#include "aesignal/v1/trial_service.grpc.pb.h"
#include "services/server/server.h"
#include "storage/store.h"
#include "tests/testing/fixtures.h"
#include "tests/testing/temp_dir.h"

ABSL_FLAG(int, streams, 4, "concurrent streaming clients");
ABSL_FLAG(int, batches, 200, "batches per stream");
ABSL_FLAG(int, batch_size, 250, "reports per batch");
ABSL_FLAG(int, window, 8, "unacknowledged batches per stream");
ABSL_FLAG(int, subjects, 300, "enrolled subjects");

namespace {

using namespace aesignal;  // NOLINT: a tool's main file

int64_t RunStream(std::shared_ptr<grpc::Channel> channel, int stream_index) {
  const int batches = absl::GetFlag(FLAGS_batches);
  const int batch_size = absl::GetFlag(FLAGS_batch_size);
  const int window = absl::GetFlag(FLAGS_window);
  const int subjects = absl::GetFlag(FLAGS_subjects);
  auto stub = v1::IngestService::NewStub(channel);
  grpc::ClientContext ctx;
  auto stream = stub->StreamReports(&ctx);
  absl::Mutex mu;
  int acked_batches = 0;     // guarded by mu
  bool reader_done = false;  // guarded by mu
  int64_t accepted = 0;
  std::thread reader([&] {
    v1::StreamReportsResponse response;
    while (stream->Read(&response)) {
      absl::MutexLock lock(&mu);
      accepted += response.result().accepted_count();
      ++acked_batches;
    }
    absl::MutexLock lock(&mu);
    reader_done = true;
  });
  for (int b = 0; b < batches; ++b) {
    {
      // Keep at most `window` batches unacknowledged.
      absl::MutexLock lock(&mu);
      auto room = [&] { return b - acked_batches < window || reader_done; };
      mu.Await(absl::Condition(&room));
    }
    v1::StreamReportsRequest request;
    request.set_batch_id(b);
    request.set_parent("trials/LOAD");
    for (int i = 0; i < batch_size; ++i) {
      const int n = b * batch_size + i;
      *request.add_reports() =
          testing::Report(absl::StrCat("L", stream_index, "-", n), 1,
                          absl::StrCat("S", 1 + n % subjects), 1 + n % 365,
                          absl::StrCat("PT", n % 97), 1 + n % 5, n % 11 == 0);
    }
    if (!stream->Write(request)) break;
  }
  stream->WritesDone();
  reader.join();
  grpc::Status status = stream->Finish();
  if (!status.ok()) std::cerr << "stream: " << status.error_message() << "\n";
  return accepted;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  testing::TempDir dir;
  auto server =
      Server::Start({.listen = "127.0.0.1:0", .data_dir = dir.Sub("data")});
  if (!server.ok()) {
    std::cerr << server.status() << "\n";
    return 1;
  }
  auto channel =
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", (*server)->port()),
                          grpc::InsecureChannelCredentials());
  auto trials = v1::TrialService::NewStub(channel);
  {
    v1::CreateTrialRequest create;
    *create.mutable_trial() = testing::ThreeGroupTrial("LOAD");
    v1::Trial trial;
    grpc::ClientContext ctx;
    if (!trials->CreateTrial(&ctx, create, &trial).ok()) return 1;
    v1::EnrollSubjectsRequest enroll;
    enroll.set_parent("trials/LOAD");
    for (int i = 1; i <= absl::GetFlag(FLAGS_subjects); ++i) {
      *enroll.add_subjects() = testing::SubjectNumber(i);
    }
    v1::EnrollSubjectsResponse enrolled;
    grpc::ClientContext ctx2;
    if (!trials->EnrollSubjects(&ctx2, enroll, &enrolled).ok()) return 1;
  }

  const int streams = absl::GetFlag(FLAGS_streams);
  std::vector<std::thread> threads;
  std::vector<int64_t> accepted(streams, 0);
  const absl::Time start = absl::Now();
  for (int s = 0; s < streams; ++s) {
    threads.emplace_back([&, s] {
      // One channel per stream, as separate clients would have.
      auto own = grpc::CreateCustomChannel(
          absl::StrCat("127.0.0.1:", (*server)->port()),
          grpc::InsecureChannelCredentials(), [s] {
            grpc::ChannelArguments args;
            args.SetInt("aesignal.load.stream", s);
            return args;
          }());
      accepted[s] = RunStream(own, s);
    });
  }
  for (auto& t : threads) t.join();
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  int64_t total = 0;
  for (int64_t a : accepted) total += a;
  std::cout << "streams=" << streams
            << " batch_size=" << absl::GetFlag(FLAGS_batch_size)
            << " window=" << absl::GetFlag(FLAGS_window) << "\n"
            << "acknowledged (durable) reports: " << total << " in " << seconds
            << " s = " << static_cast<int64_t>(total / seconds)
            << " reports/s\n";
  const auto stats = (*server)->store().stats();
  std::cout << "batches committed: " << stats.commits
            << ", WAL fsyncs: " << stats.wal_syncs << " ("
            << static_cast<double>(stats.commits) /
                   std::max<int64_t>(1, stats.wal_syncs)
            << " batches per fsync)\n";
  const bool complete = total == int64_t{streams} *
                                     absl::GetFlag(FLAGS_batches) *
                                     absl::GetFlag(FLAGS_batch_size);
  // Restart cost: nothing is rebuilt on open, whatever the data size.
  server->reset();
  const absl::Time reopen_start = absl::Now();
  auto reopened = storage::Store::Open({.path = dir.Sub("data")});
  if (!reopened.ok()) {
    std::cerr << reopened.status() << "\n";
    return 1;
  }
  std::cout << "reopen of the data dir: "
            << absl::FormatDuration(absl::Now() - reopen_start) << "\n";
  return complete ? 0 : 1;
}
