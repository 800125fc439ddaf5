// Durability under SIGKILL: several clients stream reports (new ones and
// follow-ups) into a real aesignald process, which is killed with SIGKILL at
// a random moment, restarted on the same data dir, and killed again (20
// times by default; AESIGNAL_CRASH_CYCLES=100 for the long run). Then: every
// acknowledged report is present, none is counted twice, the counters equal
// a recount from the stored reports, and the signals equal a re-evaluation
// of the counters.
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <random>
#include <set>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "aesignal/v1/ingest_service.grpc.pb.h"
#include "aesignal/v1/safety_service.grpc.pb.h"
#include "aesignal/v1/signal_service.grpc.pb.h"
#include "aesignal/v1/trial_service.grpc.pb.h"
#include "gtest/gtest.h"
#include "services/domain/monitor.h"
#include "storage/keys.h"
#include "storage/store.h"
#include "tests/testing/api_helpers.h"
#include "tests/testing/fixtures.h"
#include "tests/testing/recount_checks.h"
#include "tests/testing/temp_dir.h"

namespace aesignal {
namespace {

using testing::Report;

constexpr char kParent[] = "trials/T";

// An aesignald child process.
class ServerProcess {
 public:
  explicit ServerProcess(const std::string& data_dir) {
    int out[2];
    if (pipe(out) != 0) return;
    const absl::Time started = absl::Now();
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], STDOUT_FILENO);
      close(out[0]);
      close(out[1]);
      const std::string dir_flag = "--data_dir=" + data_dir;
      execl(AESIGNALD_PATH, AESIGNALD_PATH, "--listen=127.0.0.1:0",
            "--http_listen=127.0.0.1:0", dir_flag.c_str(),
            static_cast<char*>(nullptr));
      _exit(127);
    }
    close(out[1]);
    // First stdout line: "aesignald listening on 127.0.0.1:PORT (...)".
    std::string line;
    pollfd pfd{out[0], POLLIN, 0};
    while (line.find('\n') == std::string::npos && poll(&pfd, 1, 10000) > 0) {
      char buf[256];
      const ssize_t n = read(out[0], buf, sizeof buf);
      if (n <= 0) break;
      line.append(buf, n);
    }
    close(out[0]);
    startup_ = absl::Now() - started;
    const size_t colon = line.find("127.0.0.1:");
    if (colon != std::string::npos) {
      const std::string rest = line.substr(colon + 10);
      (void)absl::SimpleAtoi(rest.substr(0, rest.find(' ')), &port_);
    }
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port_),
                                   grpc::InsecureChannelCredentials());
  }
  ~ServerProcess() { Kill(SIGKILL); }

  int port() const { return port_; }
  absl::Duration startup() const { return startup_; }
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }

  // Sends `sig` and reaps the process; returns its wait status.
  int Kill(int sig) {
    if (pid_ <= 0) return -1;
    kill(pid_, sig);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  absl::Duration startup_;
  std::shared_ptr<grpc::Channel> channel_;
};

struct Acked {
  std::string report_id;
  uint32_t version;
  friend auto operator<=>(const Acked&, const Acked&) = default;
};

// Client `client` streams batches until the server dies; returns what was
// acknowledged as stored (ACCEPTED, SUPERSEDED or DUPLICATE). Odd clients
// ask for grouped acknowledgements, so both ways of acknowledging are
// killed mid-stream.
std::vector<Acked> StreamUntilKilled(const ServerProcess& server, int cycle,
                                     int client,
                                     const std::vector<Acked>& earlier) {
  auto stub = v1::IngestService::NewStub(server.channel());
  grpc::ClientContext ctx;
  auto stream = stub->StreamReports(&ctx);
  std::atomic<bool> stop{false};

  std::thread writer([&] {
    for (int b = 0; !stop.load(); ++b) {
      v1::StreamReportsRequest request;
      request.set_batch_id(b);
      request.set_parent(kParent);
      request.set_group_acknowledgements(client % 2 == 1);
      for (int i = 0; i < 50; ++i) {
        const int subject = 1 + (b * 50 + i) % 30;
        if (i % 10 == 0 && !earlier.empty()) {
          // A follow-up of a report acknowledged in an earlier cycle.
          const Acked& old =
              earlier[(b * 7 + i + client * 13) % earlier.size()];
          auto r = Report(old.report_id,
                          old.version + 1000 * (cycle + 1) + 10 * b + client,
                          "S0", 1, "Followup", 2);
          // Keep the original subject: report ids encode it.
          r.set_subject_id(old.report_id.substr(old.report_id.rfind('~') + 1));
          *request.add_reports() = r;
          continue;
        }
        const std::string id = absl::StrCat("C", cycle, "-K", client, "-B", b,
                                            "-", i, "~S", subject);
        *request.add_reports() =
            Report(id, 1, absl::StrCat("S", subject), 1 + (b + i) % 365,
                   i % 3 ? "Headache" : "Nausea", 1 + i % 5, i % 7 == 0);
      }
      if (!stream->Write(request)) break;
    }
  });

  std::vector<Acked> acked;
  v1::StreamReportsResponse response;
  while (stream->Read(&response)) {
    EXPECT_EQ(response.acknowledgements_size() > 0, client % 2 == 1);
    testing::ForEachAcknowledgement(
        response, [&](int64_t, const v1::BatchError* error,
                      const v1::SubmitReportsResponse& result) {
          EXPECT_EQ(error, nullptr) << error->message();
          for (const auto& r : result.results()) {
            if (r.status() == v1::REPORT_STATUS_REJECTED) {
              ADD_FAILURE() << r.field() << ": " << r.reason();
              continue;
            }
            acked.push_back({r.report_id(), r.version()});
          }
        });
  }
  stop = true;
  ctx.TryCancel();
  writer.join();
  stream->Finish().IgnoreError();
  return acked;
}

// The trial the crash cycles write to: 30 subjects and PT baselines, so
// signals are raised and updated while the server dies.
void CreateCrashTrial(const std::string& data_dir) {
  ServerProcess server(data_dir);
  ASSERT_GT(server.port(), 0);
  auto trials = v1::TrialService::NewStub(server.channel());
  v1::CreateTrialRequest create;
  *create.mutable_trial() = testing::ThreeGroupTrial("T");
  v1::Trial trial;
  grpc::ClientContext c1;
  ASSERT_TRUE(trials->CreateTrial(&c1, create, &trial).ok());
  v1::EnrollSubjectsRequest enroll;
  enroll.set_parent(kParent);
  for (int i = 1; i <= 30; ++i)
    *enroll.add_subjects() = testing::SubjectNumber(i);
  v1::EnrollSubjectsResponse enrolled;
  grpc::ClientContext c2;
  ASSERT_TRUE(trials->EnrollSubjects(&c2, enroll, &enrolled).ok());
  // Baselines, so signals are raised and updated while the server dies.
  auto signals = v1::SignalService::NewStub(server.channel());
  const v1::PutBaselinesRequest put =
      testing::HeadacheNauseaBaselines(kParent, "crash test");
  v1::PutBaselinesResponse put_response;
  grpc::ClientContext c3;
  const grpc::Status baselines = signals->PutBaselines(&c3, put, &put_response);
  ASSERT_TRUE(baselines.ok()) << baselines.error_message();
}

// Every acknowledged report comes back DUPLICATE from a restarted server:
// it is stored, and resubmitting it changes nothing.
void ExpectEveryAckedStored(const std::string& data_dir,
                            const std::vector<Acked>& acked) {
  ServerProcess server(data_dir);
  ASSERT_GT(server.port(), 0);
  auto ingest = v1::IngestService::NewStub(server.channel());
  std::set<Acked> unique(acked.begin(), acked.end());
  std::vector<Acked> list(unique.begin(), unique.end());
  // Resubmitting needs the full content; rebuild it from the store after
  // shutdown instead. Here: probe presence through the API by submitting a
  // conflicting version-content, which must be REJECTED as already stored.
  for (size_t start = 0; start < list.size(); start += 1000) {
    v1::SubmitReportsRequest request;
    request.set_parent(kParent);
    for (size_t i = start; i < std::min(list.size(), start + 1000); ++i) {
      const std::string& id = list[i].report_id;
      auto probe =
          Report(id, list[i].version, id.substr(id.rfind('~') + 1), 1, "Probe");
      *request.add_reports() = probe;
    }
    v1::SubmitReportsResponse response;
    grpc::ClientContext ctx;
    ASSERT_TRUE(ingest->SubmitReports(&ctx, request, &response).ok());
    for (const auto& r : response.results()) {
      EXPECT_EQ(r.status(), v1::REPORT_STATUS_REJECTED)
          << r.report_id() << " v" << r.version() << " not stored";
      EXPECT_EQ(r.field(), absl::StrCat("reports[", r.index(), "].version"));
    }
  }
  EXPECT_EQ(WEXITSTATUS(server.Kill(SIGTERM)), 0);
}

// AESIGNAL_CRASH_CYCLES (default 20; more while under 1,000 acks) kills,
// AESIGNAL_CRASH_CLIENTS (3) concurrent streaming clients, AESIGNAL_CRASH_SEED
// (time) for the moments.
TEST(CrashTest, AckedReportsSurviveSigkill) {
  const auto [cycles, clients, seed] =
      testing::CycleSettingsFromEnv("AESIGNAL_CRASH");
  std::mt19937 random(seed);
  testing::TempDir dir;
  const std::string data_dir = dir.Sub("data");
  std::vector<Acked> acked;
  CreateCrashTrial(data_dir);
  if (::testing::Test::HasFatalFailure()) return;
  // At least `cycles` kills; on a slow machine (sanitizers, a noisy
  // neighbour) more, up to 4x, until over 1,000 reports were acknowledged,
  // so the checks below always have enough to check.
  constexpr size_t kEnoughAcked = 1000;
  for (int cycle = 0;
       cycle < cycles || (acked.size() <= kEnoughAcked && cycle < 4 * cycles);
       ++cycle) {
    ServerProcess server(data_dir);
    ASSERT_GT(server.port(), 0) << "restart " << cycle << " failed";
    const int kill_after_ms =
        std::uniform_int_distribution<int>(50, 700)(random);
    std::cout << "cycle " << cycle << ": listening after "
              << absl::FormatDuration(server.startup()) << ", SIGKILL after "
              << kill_after_ms << " ms\n";
    std::vector<std::vector<Acked>> got(clients);
    std::vector<std::thread> threads;
    for (int k = 0; k < clients; ++k) {
      threads.emplace_back(
          [&, k] { got[k] = StreamUntilKilled(server, cycle, k, acked); });
    }
    absl::SleepFor(absl::Milliseconds(kill_after_ms));
    server.Kill(SIGKILL);
    for (auto& t : threads) t.join();
    for (const auto& g : got) acked.insert(acked.end(), g.begin(), g.end());
  }
  ASSERT_GT(acked.size(), kEnoughAcked);

  ExpectEveryAckedStored(data_dir, acked);
  if (::testing::Test::HasFatalFailure()) return;

  // Offline: counters equal a recount, signals a re-evaluation (rows left
  // dirty by the last kill are evaluated on open), no report counted twice.
  auto store = storage::Store::Open({.path = data_dir});
  ASSERT_TRUE(store.ok()) << store.status();
  int64_t stored = 0;
  testing::ExpectStoreEqualsARecount(**store, "T", &stored);
  std::cout << "acknowledged " << acked.size() << " report versions; stored "
            << stored << " reports\n";
}

}  // namespace
}  // namespace aesignal
