// The pieces every aesignal-bench mode shares: an in-process aesignald with
// the bench trial, a windowed StreamReports client that times every ack, and
// a multi-stream ingest of generated reports (tests/load/generator.h).
#ifndef AESIGNAL_TESTS_LOAD_BENCH_FIXTURE_H_
#define AESIGNAL_TESTS_LOAD_BENCH_FIXTURE_H_

#include <grpcpp/grpcpp.h>
#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "aesignal/v1/ingest_service.grpc.pb.h"
#include "aesignal/v1/trial.pb.h"
#include "services/server/server.h"
#include "tests/load/generator.h"
#include "tests/testing/temp_dir.h"

namespace aesignal::bench {

struct Percentiles {
  double p50_ms = 0, p99_ms = 0;
};
Percentiles Summarize(std::vector<double> ms);

// Resident set size of this process (the bench and its in-process server).
int64_t RssKiB();

// CPU seconds (user + system, all threads) process `pid` has used, with its
// reaped children's when `with_children`; -1 if it cannot be read.
double CpuSecondsOf(pid_t pid, bool with_children = false);
// The parent of process `pid`, or -1.
pid_t ParentPidOf(pid_t pid);

// This binary run again in a child process (`/proc/self/exe` with `args`,
// whose first is the mode), talking in lines over the child's stdin and
// stdout; its stderr is this process's. The child is killed if the thread
// that spawned it ends (PR_SET_PDEATHSIG), so spawn from a long-lived
// thread. The destructor closes the child's stdin, its cue to stop, and
// waits for it. Thread-compatible.
class ChildProcess {
 public:
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Spawn(
      const std::vector<std::string>& args);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Writes `bytes` to its stdin and flushes.
  absl::Status Send(std::string_view bytes);
  // The next line it printed, without the newline; an error if it ended.
  absl::StatusOr<std::string> ReadLine();
  // The port of the first line, which a serving child prints as "port N".
  absl::StatusOr<int> ReadPort();
  // Its resident set size (-1 if unknown).
  int64_t RssKiB() const;
  // Its CPU seconds so far (-1 if unknown).
  double CpuSeconds() const { return CpuSecondsOf(pid_); }
  // Kills it with SIGKILL and waits for it; returns its wait status. The
  // destructor then has nothing left to wait for.
  int Kill();

 private:
  ChildProcess(pid_t pid, FILE* to_child, FILE* from_child)
      : pid_(pid), to_child_(to_child), from_child_(from_child) {}

  pid_t pid_;
  FILE* to_child_;
  FILE* from_child_;
  bool reaped_ = false;
};

// Trial "BENCH": `groups` dose groups G1.., `timepoints` timepoints on days
// 1, 7, 30, 91, 182, 365, 730, 1095, 1460, 1825 (the first `timepoints`),
// one site "01".
v1::Trial BenchTrial(int groups, int timepoints);

// In a child that ChildProcess started, serving on `port`: prints "port N",
// then answers each line read from stdin with the one line `answer` returns
// (which may read more of stdin), until stdin ends. The replies go to the
// stdout the child started with; stdout itself goes to stderr from then
// on, so nothing else the process prints can be read as a reply.
void AnswerLines(int port,
                 const std::function<std::string(const std::string&)>& answer);

// An aesignald with BenchTrial(groups, timepoints) and `subjects` subjects
// S1.. (subject i in group G(1 + (i - 1) % groups)), all followed to the
// last timepoint; in this process, or in a child process of its own.
struct Fixture {
  std::unique_ptr<testing::TempDir> temp;
  std::string data_dir;
  // In-process: the server. Own process: null, and `child` runs the same
  // server (`aesignal-bench server-child`, RunServerChild).
  std::unique_ptr<Server> server;
  std::unique_ptr<ChildProcess> child;
  std::string target;
  int last_day = 0;
  // The ingest tuning of issue 20 (the committer's cache and pipelined WAL
  // syncs); off reproduces the store as it was before, for a side-by-side
  // run (`aesignal-bench --store_tuning=false`).
  static inline bool store_tuning = true;
  // The server in a child process of its own instead of this one, as
  // PostgreSQL's server runs beside its clients (`aesignal-bench peer`
  // unless --peer_in_process). Set before Start or Open.
  static inline bool own_process = false;

  // `data_dir` empty: a temporary directory, removed with the fixture.
  absl::Status Start(int groups, int timepoints, int subjects,
                     const std::string& data_dir = "");
  // Starts the server on an existing data dir (the trial already in it),
  // configured as Start configures it; sets no `last_day`.
  absl::Status Open(const std::string& data_dir);
  // A new channel (a separate client connection).
  std::shared_ptr<grpc::Channel> Channel(int index = 0) const;
  // Waits until the signal evaluator has caught up with everything
  // ingested; its last error if it failed, DEADLINE_EXCEEDED after
  // `timeout`.
  absl::Status Settle(absl::Duration timeout) const;
  // The resident set size of the server's process: this process (bench
  // and server) in-process, else the child's.
  int64_t ServerRssKiB() const;
  // The server's CPU seconds so far when it has a process of its own, else
  // -1 (in-process, the bench's clients would be counted with it).
  double ServerCpuSeconds() const;
};

// `aesignal-bench server-child`: serves `data_dir` as Fixture::Open does in
// process and prints "port N"; then answers "settle" lines with "settled OK"
// or "settled <error>" once the evaluator is idle, until its stdin ends.
// Returns the process's exit code.
int RunServerChild(const std::string& data_dir);

// A new channel to `target` with the bench's arguments (64 MiB messages);
// channels of different `index` are separate connections.
std::shared_ptr<grpc::Channel> BenchChannel(const std::string& target,
                                            int index);

// A gRPC server for `service` (which must outlive it) on a free loopback
// port, set in *port, taking and sending messages up to 64 MiB as the
// bench's channels do; null if it cannot start.
std::unique_ptr<grpc::Server> StartLoopbackServer(grpc::Service* service,
                                                  int* port);

// What one stream client saw.
struct StreamResult {
  int64_t sent_messages = 0;
  int64_t acked_reports = 0;
  int64_t acked_messages = 0;
  int64_t error_messages = 0;
  std::vector<double> ack_ms;
  bool ok = true;
};

using MessageMaker = std::function<v1::StreamReportsRequest(int64_t index)>;

// Sends `messages` (built on the fly by `make`) on one StreamReports stream,
// keeping at most `window` unacknowledged, and times every ack. Slow readers
// (`read_delay`), a deadline (`until`), a progress counter and open-loop
// pacing (`pace` between message starts) are for the load mode.
StreamResult RunStream(const std::shared_ptr<grpc::Channel>& channel,
                       int64_t messages, int window, const MessageMaker& make,
                       absl::Duration read_delay = absl::ZeroDuration(),
                       absl::Time until = absl::InfiniteFuture(),
                       std::atomic<int64_t>* progress = nullptr,
                       absl::Duration pace = absl::ZeroDuration());

// One line of a results table.
struct Row {
  std::string name;
  int64_t reports = 0;
  int64_t messages = 0;
  double seconds = 0;
  Percentiles latency;
  // The server's CPU seconds for the row (every process of it, background
  // work the row caused included where the row waits for it), or -1.
  double cpu_seconds = -1;
  double reports_per_s() const;
  // Server CPU microseconds per report, or -1.
  double cpu_us_per_report() const;
  double messages_per_s() const;
};
void PrintRows(const std::vector<Row>& rows);
// Sums the streams' acks and pools their latencies.
Row FromStreams(const std::string& name, const std::vector<StreamResult>& rs,
                double seconds);
// True if `result` acknowledged exactly `expected` reports without errors;
// else says what is missing on stderr.
bool Complete(const Row& row, const StreamResult& result, int64_t expected);

// Message `m` of trial BENCH: reports [m * batch, (m + 1) * batch) of
// `generator` (fewer at `total`), tagged `tag`. A follow-up never straddles
// two messages when batch is a multiple of 10 (generator.h).
v1::StreamReportsRequest BatchMessage(const ReportGenerator& generator,
                                      int64_t m, int batch, int64_t total,
                                      const std::string& tag);

struct VolumeOptions {
  int64_t total = 0;  // reports
  // The first report index (a multiple of batch_size): reports first ..
  // first + total - 1 are sent, so a trial can be loaded in parts.
  int64_t first = 0;
  int streams = 4;
  int batch_size = 250;
  int window = 8;
  std::string tag;
  // Called with the acknowledged count each time it passes a multiple of
  // tick_every (0: never).
  std::function<void(int64_t)> tick;
  int64_t tick_every = 0;
};

// Ingests reports first..first+total-1 of `generator` over `streams` streams
// (stream s sends their messages s, s + streams, ...); false (after saying why)
// unless every report was acknowledged. The streams' results go to *results if
// given.
bool IngestVolume(const Fixture& f, const ReportGenerator& generator,
                  const VolumeOptions& options,
                  std::vector<StreamResult>* results = nullptr);

}  // namespace aesignal::bench

#endif  // AESIGNAL_TESTS_LOAD_BENCH_FIXTURE_H_
