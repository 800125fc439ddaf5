#include "tests/load/bench_fixture.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "aesignal/v1/trial_service.grpc.pb.h"
#include "services/errors/errors.h"
#include "tests/testing/api_helpers.h"

namespace aesignal::bench {

Percentiles Summarize(std::vector<double> ms) {
  if (ms.empty()) return {};
  std::sort(ms.begin(), ms.end());
  auto at = [&](double q) {
    return ms[std::min(ms.size() - 1, static_cast<size_t>(q * ms.size()))];
  };
  return {at(0.50), at(0.99)};
}

namespace {

int64_t RssKiBOf(const std::string& status_path) {
  std::ifstream status(status_path);
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atoll(line.c_str() + 6);
  }
  return -1;
}

}  // namespace

int64_t RssKiB() { return RssKiBOf("/proc/self/status"); }

namespace {

// /proc/PID/stat's fields from the third (state) on, so field N (1-based, as
// proc(5) numbers them) is [N - 3]; empty if unreadable. The command before
// them is in parentheses and may hold spaces.
std::vector<std::string> StatFields(pid_t pid) {
  std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
  std::string text((std::istreambuf_iterator<char>(stat)),
                   std::istreambuf_iterator<char>());
  const size_t close = text.rfind(')');
  if (close == std::string::npos || close + 2 > text.size()) return {};
  return absl::StrSplit(text.substr(close + 2), ' ', absl::SkipEmpty());
}

}  // namespace

double CpuSecondsOf(pid_t pid, bool with_children) {
  const std::vector<std::string> fields = StatFields(pid);
  if (fields.size() < 15) return -1;
  // utime (14), stime (15), cutime (16), cstime (17), in clock ticks.
  int64_t ticks = 0;
  for (int field = 14; field <= (with_children ? 17 : 15); ++field) {
    ticks += std::atoll(fields[field - 3].c_str());
  }
  return static_cast<double>(ticks) / sysconf(_SC_CLK_TCK);
}

pid_t ParentPidOf(pid_t pid) {
  const std::vector<std::string> fields = StatFields(pid);
  return fields.size() < 2 ? -1 : std::atoi(fields[1].c_str());
}

absl::StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::Spawn(
    const std::vector<std::string>& args) {
  // Built before fork: the child may only make async-signal-safe calls
  // until exec (this process has gRPC's threads).
  std::vector<char*> argv;
  std::string name = "aesignal-bench";
  argv.push_back(name.data());
  std::vector<std::string> copies = args;
  for (std::string& arg : copies) argv.push_back(arg.data());
  argv.push_back(nullptr);
  int to_child[2], from_child[2];
  if (pipe2(to_child, O_CLOEXEC) != 0) return absl::InternalError("pipe");
  if (pipe2(from_child, O_CLOEXEC) != 0) {
    close(to_child[0]);
    close(to_child[1]);
    return absl::InternalError("pipe");
  }
  const pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    dup2(to_child[0], STDIN_FILENO);  // dup2 clears O_CLOEXEC on the copy
    dup2(from_child[1], STDOUT_FILENO);
    execv("/proc/self/exe", argv.data());
    _exit(127);
  }
  close(to_child[0]);
  close(from_child[1]);
  if (pid < 0) {
    close(to_child[1]);
    close(from_child[0]);
    return absl::InternalError("fork failed");
  }
  return std::unique_ptr<ChildProcess>(new ChildProcess(
      pid, fdopen(to_child[1], "w"), fdopen(from_child[0], "r")));
}

ChildProcess::~ChildProcess() {
  std::fclose(to_child_);
  int status = 0;
  if (!reaped_) waitpid(pid_, &status, 0);
  std::fclose(from_child_);
}

int ChildProcess::Kill() {
  int status = 0;
  if (reaped_) return status;
  kill(pid_, SIGKILL);
  waitpid(pid_, &status, 0);
  reaped_ = true;
  return status;
}

absl::Status ChildProcess::Send(std::string_view bytes) {
  if (std::fwrite(bytes.data(), 1, bytes.size(), to_child_) != bytes.size() ||
      std::fflush(to_child_) != 0) {
    return absl::InternalError("writing to the child process failed");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ChildProcess::ReadLine() {
  std::string line;
  for (int c = std::fgetc(from_child_); c != '\n';
       c = std::fgetc(from_child_)) {
    if (c == EOF) {
      return absl::InternalError(absl::StrCat(
          "the child process ended (it said '", line, "'; see stderr)"));
    }
    line.push_back(static_cast<char>(c));
  }
  return line;
}

absl::StatusOr<int> ChildProcess::ReadPort() {
  AESIGNAL_ASSIGN_OR_RETURN(std::string line, ReadLine());
  int port = 0;
  if (line.rfind("port ", 0) != 0 || !absl::SimpleAtoi(line.substr(5), &port) ||
      port <= 0) {
    return absl::InternalError(
        absl::StrCat("the child process said '", line, "', not its port"));
  }
  return port;
}

void AnswerLines(int port,
                 const std::function<std::string(const std::string&)>& answer) {
  std::fflush(stdout);
  FILE* replies = fdopen(dup(STDOUT_FILENO), "w");
  dup2(STDERR_FILENO, STDOUT_FILENO);
  std::fprintf(replies, "port %d\n", port);
  std::fflush(replies);
  std::string line;
  while (std::getline(std::cin, line)) {
    std::fprintf(replies, "%s\n", answer(line).c_str());
    std::fflush(replies);
  }
  std::fclose(replies);
}

int64_t ChildProcess::RssKiB() const {
  return RssKiBOf(absl::StrCat("/proc/", pid_, "/status"));
}

v1::Trial BenchTrial(int groups, int timepoints) {
  v1::Trial t;
  t.set_trial_id("BENCH");
  t.set_title("aesignal-bench");
  for (int g = 0; g < groups; ++g) {
    auto* group = t.add_dose_groups();
    group->set_dose_group_id(absl::StrCat("G", g + 1));
    group->set_label(absl::StrCat("dose ", g + 1));
    group->set_dose_value(2.5e7 * (1 << g));
    group->set_dose_unit("cells");
  }
  static const int kDays[] = {1, 7, 30, 91, 182, 365, 730, 1095, 1460, 1825};
  for (int w = 0; w < timepoints; ++w) {
    auto* tp = t.add_timepoints();
    tp->set_timepoint_id(absl::StrCat("D", kDays[w]));
    tp->set_study_day(kDays[w]);
  }
  t.add_sites()->set_site_id("01");
  return t;
}

namespace {

absl::Status EnrollSubjects(v1::TrialService::Stub& stub, int groups,
                            int subjects, int last_day) {
  for (int begin = 0; begin < subjects; begin += 10000) {
    v1::EnrollSubjectsRequest enroll;
    enroll.set_parent("trials/BENCH");
    for (int i = begin; i < std::min(subjects, begin + 10000); ++i) {
      v1::Subject* subject = enroll.add_subjects();
      subject->set_subject_id(absl::StrCat("S", i + 1));
      subject->set_site_id("01");
      subject->set_dose_group_id(absl::StrCat("G", 1 + i % groups));
      subject->set_last_contact_day(last_day);
    }
    grpc::ClientContext context;
    v1::EnrollSubjectsResponse enrolled;
    grpc::Status s = stub.EnrollSubjects(&context, enroll, &enrolled);
    if (!s.ok()) return absl::InternalError(s.error_message());
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status Fixture::Start(int groups, int timepoints, int subjects,
                            const std::string& dir) {
  if (dir.empty()) temp = std::make_unique<testing::TempDir>();
  AESIGNAL_RETURN_IF_ERROR(Open(dir.empty() ? temp->Sub("data") : dir));
  const v1::Trial trial = BenchTrial(groups, timepoints);
  last_day = trial.timepoints(timepoints - 1).study_day();
  auto stub = v1::TrialService::NewStub(Channel());
  v1::CreateTrialRequest create;
  *create.mutable_trial() = trial;
  grpc::ClientContext context;
  v1::Trial created;
  grpc::Status s = stub->CreateTrial(&context, create, &created);
  if (!s.ok()) return absl::InternalError(s.error_message());
  return EnrollSubjects(*stub, groups, subjects, last_day);
}

absl::Status Fixture::Open(const std::string& dir) {
  data_dir = dir;
  if (own_process) {
    AESIGNAL_ASSIGN_OR_RETURN(
        child, ChildProcess::Spawn(
                   {"server-child", absl::StrCat("--data_dir=", data_dir),
                    absl::StrCat("--store_tuning=",
                                 store_tuning ? "true" : "false")}));
    AESIGNAL_ASSIGN_OR_RETURN(int port, child->ReadPort());
    target = absl::StrCat("127.0.0.1:", port);
    return absl::OkStatus();
  }
  auto started = Server::Start(
      {.listen = "127.0.0.1:0",
       .data_dir = data_dir,
       .max_receive_message_bytes = 64 << 20,
       .http_listen = "127.0.0.1:0",
       // Latency, not the per-connection limit.
       .http_limits = {.requests_per_second = 1e9, .request_burst = 1e9},
       .commit_cache_bytes = store_tuning ? size_t{128} << 20 : 0,
       .pipelined_sync = store_tuning});
  if (!started.ok()) return started.status();
  server = *std::move(started);
  target = absl::StrCat("127.0.0.1:", server->port());
  return absl::OkStatus();
}

std::shared_ptr<grpc::Channel> Fixture::Channel(int index) const {
  return BenchChannel(target, index);
}

absl::Status Fixture::Settle(absl::Duration timeout) const {
  if (child == nullptr) return server->monitor().signals().WaitIdle(timeout);
  AESIGNAL_RETURN_IF_ERROR(child->Send(
      absl::StrCat("settle ", absl::ToInt64Milliseconds(timeout), "\n")));
  AESIGNAL_ASSIGN_OR_RETURN(std::string line, child->ReadLine());
  if (line == "settled OK") return absl::OkStatus();
  return absl::InternalError(absl::StrCat("the server process: ", line));
}

double Fixture::ServerCpuSeconds() const {
  return child == nullptr ? -1 : child->CpuSeconds();
}

int64_t Fixture::ServerRssKiB() const {
  return child == nullptr ? RssKiB() : child->RssKiB();
}

int RunServerChild(const std::string& data_dir) {
  Fixture f;
  if (absl::Status opened = f.Open(data_dir); !opened.ok()) {
    std::cerr << "server-child: " << opened << "\n";
    return 1;
  }
  AnswerLines(f.server->port(), [&](const std::string& line) {
    int64_t timeout_ms = 0;
    if (line.rfind("settle ", 0) != 0 ||
        !absl::SimpleAtoi(line.substr(7), &timeout_ms)) {
      return absl::StrCat("unknown command '", line, "'");
    }
    const absl::Status settled = f.Settle(absl::Milliseconds(timeout_ms));
    // One line back, whatever the message holds.
    return absl::StrCat(
        "settled ",
        settled.ok() ? "OK"
                     : absl::StrReplaceAll(settled.ToString(), {{"\n", " "}}));
  });
  return 0;
}

std::unique_ptr<grpc::Server> StartLoopbackServer(grpc::Service* service,
                                                  int* port) {
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                           port);
  builder.SetMaxReceiveMessageSize(64 << 20);
  builder.SetMaxSendMessageSize(64 << 20);
  builder.RegisterService(service);
  return builder.BuildAndStart();
}

std::shared_ptr<grpc::Channel> BenchChannel(const std::string& target,
                                            int index) {
  grpc::ChannelArguments args;
  args.SetInt("aesignal.bench.client", index);
  args.SetMaxSendMessageSize(64 << 20);
  args.SetMaxReceiveMessageSize(64 << 20);
  return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(),
                                   args);
}

StreamResult RunStream(const std::shared_ptr<grpc::Channel>& channel,
                       int64_t messages, int window, const MessageMaker& make,
                       absl::Duration read_delay, absl::Time until,
                       std::atomic<int64_t>* progress, absl::Duration pace) {
  auto stub = v1::IngestService::NewStub(channel);
  grpc::ClientContext context;
  auto stream = stub->StreamReports(&context);
  StreamResult result;
  absl::Mutex mu;
  std::map<int64_t, absl::Time> sent;  // guarded by mu
  bool reader_done = false;            // guarded by mu
  std::thread reader([&] {
    v1::StreamReportsResponse response;
    while (stream->Read(&response)) {
      if (read_delay > absl::ZeroDuration()) absl::SleepFor(read_delay);
      absl::MutexLock lock(&mu);
      const absl::Time now = absl::Now();
      // Grouped acknowledgements (if `make` asked for them), or one batch.
      testing::ForEachAcknowledgement(
          response, [&](int64_t batch_id, const v1::BatchError* error,
                        const v1::SubmitReportsResponse& outcome) {
            auto it = sent.find(batch_id);
            if (it != sent.end()) {
              result.ack_ms.push_back(
                  absl::ToDoubleMilliseconds(now - it->second));
              sent.erase(it);
            }
            if (error != nullptr) {
              result.ok = false;
              ++result.error_messages;
            }
            const int32_t accepted = outcome.accepted_count();
            result.acked_reports += accepted;
            ++result.acked_messages;
            if (progress != nullptr) *progress += accepted;
          });
    }
    absl::MutexLock lock(&mu);
    reader_done = true;
  });
  const absl::Time first_send = absl::Now();
  for (int64_t m = 0; m < messages && absl::Now() < until; ++m) {
    // Paced: message m is due at first_send + m * pace (open loop; a full
    // window still holds it back, and the latency then includes that wait).
    if (pace > absl::ZeroDuration()) {
      absl::SleepFor(first_send + m * pace - absl::Now());
    }
    v1::StreamReportsRequest request = make(m);
    request.set_batch_id(m);
    {
      absl::MutexLock lock(&mu);
      auto room = [&] {
        return static_cast<int>(sent.size()) < window || reader_done;
      };
      mu.Await(absl::Condition(&room));
      if (reader_done) break;
      sent[m] = absl::Now();
    }
    if (!stream->Write(request)) break;
    ++result.sent_messages;
  }
  stream->WritesDone();
  reader.join();
  grpc::Status status = stream->Finish();
  if (!status.ok()) {
    std::cerr << "stream: " << status.error_message() << "\n";
    result.ok = false;
  }
  return result;
}

double Row::reports_per_s() const { return reports / std::max(seconds, 1e-9); }
double Row::messages_per_s() const {
  return messages / std::max(seconds, 1e-9);
}

double Row::cpu_us_per_report() const {
  return cpu_seconds < 0 || reports == 0 ? -1 : cpu_seconds * 1e6 / reports;
}

void PrintRows(const std::vector<Row>& rows) {
  const bool cpu = std::any_of(rows.begin(), rows.end(),
                               [](const Row& r) { return r.cpu_seconds >= 0; });
  std::printf("%-44s %10s %10s %12s %10s %9s %9s%s\n", "run", "reports",
              "seconds", "reports/s", "msgs/s", "p50 ms", "p99 ms",
              cpu ? "  server CPU us/report" : "");
  for (const Row& r : rows) {
    std::printf("%-44s %10lld %10.2f %12.0f %10.0f %9.2f %9.2f", r.name.c_str(),
                static_cast<long long>(r.reports), r.seconds, r.reports_per_s(),
                r.messages_per_s(), r.latency.p50_ms, r.latency.p99_ms);
    if (cpu && r.cpu_seconds >= 0)
      std::printf(" %22.1f", r.cpu_us_per_report());
    std::printf("\n");
  }
}

bool Complete(const Row& row, const StreamResult& result, int64_t expected) {
  if (result.ok && result.acked_reports == expected) return true;
  std::cerr << row.name << ": acknowledged " << result.acked_reports << " of "
            << expected << " reports" << (result.ok ? "" : " (errors)") << "\n";
  return false;
}

Row FromStreams(const std::string& name, const std::vector<StreamResult>& rs,
                double seconds) {
  Row row{.name = name, .seconds = seconds, .latency = {}};
  std::vector<double> all;
  for (const auto& r : rs) {
    row.reports += r.acked_reports;
    row.messages += r.acked_messages;
    all.insert(all.end(), r.ack_ms.begin(), r.ack_ms.end());
  }
  row.latency = Summarize(std::move(all));
  return row;
}

v1::StreamReportsRequest BatchMessage(const ReportGenerator& generator,
                                      int64_t m, int batch, int64_t total,
                                      const std::string& tag) {
  v1::StreamReportsRequest request;
  request.set_parent("trials/BENCH");
  for (int64_t n = m * batch; n < std::min(total, (m + 1) * batch); ++n) {
    *request.add_reports() = generator.Make(n, tag);
  }
  return request;
}

namespace {

// Calls options.tick as the acknowledged count passes its multiples of
// options.tick_every, until `finished`.
void Tick(const VolumeOptions& options, const std::atomic<int64_t>& acked,
          absl::Notification& finished) {
  int64_t next_tick = options.tick_every;
  while (options.tick && options.tick_every > 0) {
    const bool last =
        finished.WaitForNotificationWithTimeout(absl::Milliseconds(50));
    if (const int64_t now = acked.load(); now >= next_tick) {
      options.tick(now);
      next_tick = (now / options.tick_every + 1) * options.tick_every;
    }
    if (last) break;
  }
}

}  // namespace

bool IngestVolume(const Fixture& f, const ReportGenerator& generator,
                  const VolumeOptions& options,
                  std::vector<StreamResult>* results) {
  const int batch = options.batch_size;
  const int streams = options.streams;
  const int64_t messages = (options.total + batch - 1) / batch;
  const int64_t first_message = options.first / batch;
  std::atomic<int64_t> acked{0};
  std::vector<StreamResult> rs(streams);
  absl::Notification finished;
  std::thread ticker([&] { Tick(options, acked, finished); });
  std::vector<std::thread> threads;
  for (int s = 0; s < streams; ++s) {
    // Stream s sends messages s, s + streams, s + 2 * streams, ...
    const int64_t share = (messages - s + streams - 1) / streams;
    threads.emplace_back([&, s, share] {
      rs[s] = RunStream(
          f.Channel(100 + s), share, options.window,
          [&, s](int64_t k) {
            return BatchMessage(generator, first_message + s + k * streams,
                                batch, options.first + options.total,
                                options.tag);
          },
          absl::ZeroDuration(), absl::InfiniteFuture(), &acked);
    });
  }
  for (auto& t : threads) t.join();
  finished.Notify();
  ticker.join();
  bool ok = acked.load() == options.total;
  if (!ok) {
    std::cerr << "acknowledged " << acked.load() << " of " << options.total
              << "\n";
  }
  for (const StreamResult& r : rs) ok &= r.ok;
  if (results != nullptr) *results = std::move(rs);
  return ok;
}

}  // namespace aesignal::bench
