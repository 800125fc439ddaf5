// aesignal-bench: ingest and query speed against ceilings measured in the
// same run on the same machine (docs/benchmarks.md).
//
//   aesignal-bench ingest   raw RocksDB fsync-per-batch puts of the same bytes
//                           (ceiling), a raw gRPC loopback stream of the same
//                           messages (ceiling), durable end-to-end ingest
//                           batched, unbatched and over N concurrent streams
//   aesignal-bench query    GetIncidence latency on a large trial
//   aesignal-bench http     the same pages over HTTP/JSON vs gRPC
//   aesignal-bench scale    a long ingest: rate and RSS per tenth, restart time
//   aesignal-bench load     many concurrent streams, some of them slow
//   aesignal-bench peer     PostgreSQL 15 doing the same job, side by side
//                           (tests/load/peer_postgres.h)
//
// Reports come from tests/load/generator.h (skewed PTs, many AEs per
// subject, 1 in 10 a follow-up version).
//
// Every mode exits non-zero if an acknowledged count is short or any call
// fails, so the CI smoke runs (--smoke) check completeness, not speed.
#include <grpcpp/grpcpp.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "aesignal/v1/ingest_service.grpc.pb.h"
#include "aesignal/v1/safety_service.grpc.pb.h"
#include "aesignal/v1/signal_service.grpc.pb.h"
#include "aesignal/v1/trial_service.grpc.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"
#include "services/domain/monitor.h"
#include "services/domain/trend_cache.h"
#include "services/errors/errors.h"
#include "services/server/server.h"
#include "storage/signals.h"
#include "storage/store.h"
#include "tests/load/bench_fixture.h"
#include "tests/load/generator.h"
#include "tests/load/peer_postgres.h"
#include "tests/testing/http_client.h"
#include "tests/testing/temp_dir.h"

ABSL_FLAG(bool, smoke, false, "tiny sizes: seconds, for CI");
ABSL_FLAG(int, batch_size, 250,
          "reports per batched message (>= 100, a multiple of 10 so a "
          "follow-up and its version 1 share a message)");
ABSL_FLAG(int, batches, 400, "batched messages per run (ingest)");
ABSL_FLAG(int, unbatched, 20000, "single-report messages per run (ingest)");
ABSL_FLAG(int, streams, 16, "concurrent streams (ingest, load)");
ABSL_FLAG(int, window, 8, "unacknowledged messages per stream");
ABSL_FLAG(int, subjects, 10000, "subjects (query)");
ABSL_FLAG(int, pts, 1000, "distinct PTs (query)");
ABSL_FLAG(int, reports, 200000, "reports ingested before querying (query)");
ABSL_FLAG(int, dose_effect_pts, 0,
          "query: PTs 1..N dose-related (half their reports in the top "
          "group; generator.h), so signals raise topics for the DSMB report");
ABSL_FLAG(int, query_parts, 1,
          "query: load the trial in this many parts, signals evaluated "
          "after each (as reports arriving over months are), so the signal "
          "change log grows as a trial's does");
ABSL_FLAG(int, repeats, 50, "timed repetitions of each query");
ABSL_FLAG(int64_t, scale_reports, 20000000, "reports (scale)");
ABSL_FLAG(int, load_seconds, 120, "duration (load)");
ABSL_FLAG(int, load_rate, 0,
          "reports/s offered by all streams together, paced evenly (load; "
          "0: as fast as the windows allow, i.e. saturation)");
ABSL_FLAG(int, slow_streams, 4,
          "of --streams, how many read their acks slowly (load)");
ABSL_FLAG(std::string, query_filter, "",
          "query: time only the incidence cases whose name contains this, "
          "and skip the signal queries (for profiling one case)");
ABSL_FLAG(std::string, pg, "",
          "peer: libpq conninfo of the PostgreSQL database to compare with, "
          "e.g. \"host=127.0.0.1 port=54329 dbname=postgres user=postgres\"");
ABSL_FLAG(bool, store_tuning, true,
          "the committer's cache and pipelined WAL syncs (false: the store "
          "as before issue 20, for side-by-side runs)");
ABSL_FLAG(int, rounds, 2, "peer: rounds of every row (fresh report ids)");
ABSL_FLAG(bool, peer_in_process, false,
          "peer: run aesignald and the gRPC floor server inside the bench's "
          "process (the first seven rounds of issue 20) instead of each in a "
          "child process of its own, as PostgreSQL's server runs");
ABSL_FLAG(std::string, data_dir, "",
          "data directory (default: a temporary one, removed at exit)");

namespace aesignal {
namespace {

// --- Shared pieces -----------------------------------------------------------

// tests/load/bench_fixture.h
using bench::BatchMessage;
using bench::Complete;
using bench::Fixture;
using bench::FromStreams;
using bench::MessageMaker;
using bench::Percentiles;
using bench::PrintRows;
using bench::ReportGenerator;
using bench::Row;
using bench::RssKiB;
using bench::RunStream;
using bench::StartLoopbackServer;
using bench::StreamResult;
using bench::Summarize;

// Starts `f` in --data_dir (default: a temporary directory).
absl::Status StartFixture(Fixture& f, int groups, int timepoints,
                          int subjects) {
  return f.Start(groups, timepoints, subjects, absl::GetFlag(FLAGS_data_dir));
}

// The bench's multi-stream ingest with its --batch_size and --window.
bool IngestVolume(const Fixture& f, const ReportGenerator& generator,
                  int64_t total, int streams, const std::string& tag,
                  const std::function<void(int64_t)>& tick = nullptr,
                  int64_t tick_every = 0) {
  return bench::IngestVolume(f, generator,
                             {.total = total,
                              .streams = streams,
                              .batch_size = absl::GetFlag(FLAGS_batch_size),
                              .window = absl::GetFlag(FLAGS_window),
                              .tag = tag,
                              .tick = tick,
                              .tick_every = tick_every});
}

// --- Ceilings ----------------------------------------------------------------

// Raw RocksDB: the same serialized reports, one WriteBatch per message,
// fsynced (WriteOptions::sync), one writer.
absl::StatusOr<Row> RawRocksDb(const std::vector<std::string>& payloads,
                               int per_batch, const std::string& name) {
  testing::TempDir dir;
  rocksdb::Options options;
  options.create_if_missing = true;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, dir.Sub("raw"), &raw);
  if (!s.ok()) return absl::InternalError(s.ToString());
  std::unique_ptr<rocksdb::DB> db(raw);
  rocksdb::WriteOptions sync;
  sync.sync = true;
  std::vector<double> ms;
  const absl::Time start = absl::Now();
  int64_t messages = 0;
  for (size_t i = 0; i < payloads.size(); i += per_batch) {
    const absl::Time t0 = absl::Now();
    rocksdb::WriteBatch batch;
    for (size_t j = i; j < std::min(payloads.size(), i + per_batch); ++j) {
      batch.Put(absl::StrCat("r", j), payloads[j]);
    }
    s = db->Write(sync, &batch);
    if (!s.ok()) return absl::InternalError(s.ToString());
    ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - t0));
    ++messages;
  }
  Row row{.name = name,
          .reports = static_cast<int64_t>(payloads.size()),
          .messages = messages,
          .seconds = absl::ToDoubleSeconds(absl::Now() - start),
          .latency = Summarize(std::move(ms))};
  return row;
}

// A gRPC service that acknowledges every message at once, storing nothing:
// the transport's own ceiling for the same messages on loopback.
class EchoIngest final : public v1::IngestService::Service {
  grpc::Status StreamReports(
      grpc::ServerContext*,
      grpc::ServerReaderWriter<v1::StreamReportsResponse,
                               v1::StreamReportsRequest>* stream) override {
    v1::StreamReportsRequest request;
    while (stream->Read(&request)) {
      v1::StreamReportsResponse response;
      response.set_batch_id(request.batch_id());
      response.mutable_result()->set_accepted_count(request.reports_size());
      if (!stream->Write(response)) break;
    }
    return grpc::Status::OK;
  }
};

// --- Modes -------------------------------------------------------------------

// The ingest mode's sizes (--smoke: tiny) and how it makes messages.
struct IngestPlan {
  int batch_size, batches, unbatched, streams, window;
  const ReportGenerator* generator;
  MessageMaker Batched(const std::string& tag) const {
    return [this, tag](int64_t m) {
      return BatchMessage(*generator, m, batch_size, INT64_MAX, tag);
    };
  }
  MessageMaker Single(const std::string& tag, bool grouped = false) const {
    return [this, tag, grouped](int64_t m) {
      v1::StreamReportsRequest request =
          BatchMessage(*generator, m, 1, INT64_MAX, tag);
      request.set_group_acknowledgements(grouped);
      return request;
    };
  }
};

// One stream of `messages`, timed as one row.
Row TimedStream(const std::string& name,
                const std::shared_ptr<grpc::Channel>& channel, int64_t messages,
                int window, const MessageMaker& make, StreamResult* result) {
  const absl::Time t0 = absl::Now();
  *result = RunStream(channel, messages, window, make);
  return FromStreams(name, {*result}, absl::ToDoubleSeconds(absl::Now() - t0));
}

// The ceilings: raw RocksDB with the same bytes and durability, and a gRPC
// server that acknowledges the same messages without storing them.
absl::Status CeilingRows(const IngestPlan& plan, std::vector<Row>& rows) {
  std::vector<std::string> payloads;
  for (int64_t n = 0; n < int64_t{plan.batches} * plan.batch_size; ++n) {
    payloads.push_back(plan.generator->Make(n, "raw").SerializeAsString());
  }
  AESIGNAL_ASSIGN_OR_RETURN(
      Row raw, RawRocksDb(payloads, plan.batch_size,
                          absl::StrCat("ceiling: RocksDB fsync per ",
                                       plan.batch_size, " reports")));
  rows.push_back(raw);
  EchoIngest echo;
  int echo_port = 0;
  std::unique_ptr<grpc::Server> echo_server =
      StartLoopbackServer(&echo, &echo_port);
  if (echo_server == nullptr) {
    return absl::InternalError("could not start the gRPC echo server");
  }
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", echo_port),
                                     grpc::InsecureChannelCredentials());
  StreamResult unused;
  rows.push_back(TimedStream(
      absl::StrCat("ceiling: gRPC echo, ", plan.batch_size, "/msg"), channel,
      plan.batches, plan.window, plan.Batched("echo-b"), &unused));
  rows.push_back(TimedStream("ceiling: gRPC echo, 1/msg", channel,
                             plan.unbatched, 16, plan.Single("echo-1"),
                             &unused));
  echo_server->Shutdown();
  return absl::OkStatus();
}

// `plan.streams` streams sharing `plan.batches` batches, as one row; false
// in *complete if any stream missed an acknowledgement.
Row ManyStreams(const Fixture& fixture, const IngestPlan& plan,
                bool* complete) {
  const int per_stream = std::max(1, plan.batches / plan.streams);
  std::vector<StreamResult> results(plan.streams);
  std::vector<std::thread> threads;
  const absl::Time t0 = absl::Now();
  for (int s = 0; s < plan.streams; ++s) {
    threads.emplace_back([&, s] {
      results[s] = RunStream(fixture.Channel(10 + s), per_stream, plan.window,
                             plan.Batched(absl::StrCat("e2e-c", s)));
    });
  }
  for (auto& t : threads) t.join();
  Row row = FromStreams(absl::StrCat("aesignal: ", plan.streams, " streams, ",
                                     plan.batch_size, "/msg"),
                        results, absl::ToDoubleSeconds(absl::Now() - t0));
  for (const auto& r : results) {
    *complete &= Complete(row, r, int64_t{per_stream} * plan.batch_size);
  }
  return row;
}

int Ingest() {
  const bool smoke = absl::GetFlag(FLAGS_smoke);
  constexpr int kSubjects = 300;
  Fixture fixture;
  if (absl::Status s = StartFixture(fixture, 3, 5, kSubjects); !s.ok()) {
    std::cerr << s << "\n";
    return 1;
  }
  const ReportGenerator generator(
      {.subjects = kSubjects, .pts = 97, .last_day = fixture.last_day});
  const IngestPlan plan{
      .batch_size = absl::GetFlag(FLAGS_batch_size),
      .batches = smoke ? 8 : absl::GetFlag(FLAGS_batches),
      .unbatched = smoke ? 200 : absl::GetFlag(FLAGS_unbatched),
      .streams = smoke ? 4 : absl::GetFlag(FLAGS_streams),
      .window = absl::GetFlag(FLAGS_window),
      .generator = &generator};
  std::vector<Row> rows;  // 0-2 the ceilings, then aesignal's
  if (absl::Status s = CeilingRows(plan, rows); !s.ok()) {
    std::cerr << s << "\n";
    return 1;
  }
  // End to end, durable, with counters (and signal bookkeeping).
  bool complete = true;
  StreamResult r;
  const storage::Store::Stats before = fixture.server->store().stats();
  rows.push_back(
      TimedStream(absl::StrCat("aesignal: 1 stream, ", plan.batch_size, "/msg"),
                  fixture.Channel(1), plan.batches, plan.window,
                  plan.Batched("e2e-b"), &r));
  complete &= Complete(rows.back(), r, int64_t{plan.batches} * plan.batch_size);
  // Storage work per report (including the signal evaluator's).
  const storage::Store::Stats after = fixture.server->store().stats();
  rows.push_back(TimedStream("aesignal: 1 stream, 1/msg", fixture.Channel(2),
                             plan.unbatched, 16, plan.Single("e2e-1"), &r));
  complete &= Complete(rows.back(), r, plan.unbatched);
  rows.push_back(ManyStreams(fixture, plan, &complete));
  rows.push_back(TimedStream("aesignal: 1 stream, 1/msg, grouped acks",
                             fixture.Channel(3), plan.unbatched, 16,
                             plan.Single("e2e-g", /*grouped=*/true), &r));
  complete &= Complete(rows.back(), r, plan.unbatched);
  PrintRows(rows);
  const double per_report = 1.0 / (int64_t{plan.batches} * plan.batch_size);
  const storage::Store::Stats now = fixture.server->store().stats();
  std::printf(
      "\nbatched, 1 stream / RocksDB ceiling      = %.2f  (target >= 0.5)\n"
      "batched, %d streams / RocksDB ceiling    = %.2f\n"
      "unbatched / gRPC echo 1/msg ceiling      = %.2f  (target >= 0.7)\n"
      "unbatched, grouped acks / gRPC echo      = %.2f\n"
      "store: %lld commits, %lld WAL fsyncs; batched run: %.1f key reads "
      "and %.1f key writes per report, %.1f after merging the writes of "
      "mutations applied together (the ceiling writes 1)\n",
      rows[3].reports_per_s() / rows[0].reports_per_s(), plan.streams,
      rows[5].reports_per_s() / rows[0].reports_per_s(),
      rows[4].reports_per_s() / rows[2].reports_per_s(),
      rows[6].reports_per_s() / rows[2].reports_per_s(),
      static_cast<long long>(now.commits),
      static_cast<long long>(now.wal_syncs),
      (after.kv_reads - before.kv_reads) * per_report,
      (after.kv_writes - before.kv_writes) * per_report,
      (after.kv_applied - before.kv_applied) * per_report);
  return complete ? 0 : 1;
}

// Puts a baseline (expected incidence 0.001 at every timepoint, in every
// dose group) on the first `baseline_pts` PTs of the query trial and waits
// for the evaluator; returns how long that took, in seconds.
absl::StatusOr<double> PutBenchBaselines(v1::SignalService::Stub& stub,
                                         const Fixture& f, int baseline_pts) {
  v1::PutBaselinesRequest put;
  put.set_parent("trials/BENCH");
  for (int pt = 0; pt < baseline_pts; ++pt) {
    v1::Baseline* b = put.add_baselines();
    b->set_baseline_id(absl::StrCat("pt-", pt));
    b->set_level(v1::TERM_LEVEL_PT);
    b->set_pt(absl::StrCat("Preferred term ", pt));
    b->set_soc(absl::StrCat("System organ class ", pt % 27));
    b->set_expected_proportion(0.001);
    b->set_citation("aesignal-bench");
  }
  const absl::Time t0 = absl::Now();
  grpc::ClientContext context;
  v1::PutBaselinesResponse response;
  grpc::Status s = stub.PutBaselines(&context, put, &response);
  if (!s.ok()) {
    return absl::InternalError(
        absl::StrCat("PutBaselines: ", s.error_message()));
  }
  AESIGNAL_RETURN_IF_ERROR(
      f.server->monitor().signals().WaitIdle(absl::Minutes(30)));
  return absl::ToDoubleSeconds(absl::Now() - t0);
}

// Times `times` RPCs, each `call(&context, &response)` with a fresh context
// and response made, and dropped after `seen(response)`, outside the
// timing; the first failure as an error named `what`. Every timed call of
// this bench goes through it.
template <class Response, class Call, class Seen>
absl::StatusOr<Percentiles> TimeCalls(int times, const char* what,
                                      const Call& call, const Seen& seen) {
  std::vector<double> ms;
  for (int i = 0; i < times; ++i) {
    grpc::ClientContext context;
    Response response;
    const absl::Time start = absl::Now();
    grpc::Status s = call(&context, &response);
    ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - start));
    if (!s.ok()) {
      return absl::InternalError(absl::StrCat(what, ": ", s.error_message()));
    }
    seen(response);
  }
  return Summarize(std::move(ms));
}

// Times `request` `times` times; the last answer's count and first signal
// name go to *count and *first (when it has one).
absl::StatusOr<Percentiles> TimeListSignals(
    v1::SignalService::Stub& stub, const v1::ListSignalsRequest& request,
    int times, int* count, std::string* first) {
  return TimeCalls<v1::ListSignalsResponse>(
      times, "ListSignals",
      [&](grpc::ClientContext* context, v1::ListSignalsResponse* response) {
        return stub.ListSignals(context, request, response);
      },
      [&](const v1::ListSignalsResponse& response) {
        *count = response.signals_size();
        if (response.signals_size() > 0) *first = response.signals(0).name();
      });
}

// Untimed: how many signals the trial has (every page of `all`), and a cell
// of `one_term.term()` that has some, set in *one_cell.
absl::StatusOr<int64_t> CountSignalsAndFindCell(
    v1::SignalService::Stub& stub, const v1::ListSignalsRequest& all,
    const v1::ListSignalsRequest& one_term, v1::ListSignalsRequest* one_cell) {
  int64_t total = 0;
  for (v1::ListSignalsRequest page = all;;) {
    page.set_page_size(1000);
    grpc::ClientContext context;
    v1::ListSignalsResponse response;
    if (grpc::Status s = stub.ListSignals(&context, page, &response); !s.ok()) {
      return absl::InternalError(
          absl::StrCat("ListSignals: ", s.error_message()));
    }
    total += response.signals_size();
    for (const v1::Signal& signal : response.signals()) {
      if (signal.pt() == one_term.term()) {
        one_cell->set_dose_group_id(signal.dose_group_id());
        one_cell->set_timepoint_id(signal.timepoint_id());
      }
    }
    if (response.next_page_token().empty()) return total;
    page.set_page_token(response.next_page_token());
  }
}

absl::StatusOr<Percentiles> TimeGetSignal(v1::SignalService::Stub& stub,
                                          const std::string& name, int times) {
  v1::GetSignalRequest get;
  get.set_name(name);
  return TimeCalls<v1::Signal>(
      times, "GetSignal",
      [&](grpc::ClientContext* context, v1::Signal* signal) {
        return stub.GetSignal(context, get, signal);
      },
      [](const v1::Signal&) {});
}

// Baselines on the first `baseline_pts` PTs of the query trial, then the
// signal queries a safety officer makes, timed.
absl::Status QuerySignals(const Fixture& f, int repeats, int baseline_pts) {
  auto stub = v1::SignalService::NewStub(f.Channel(8));
  AESIGNAL_ASSIGN_OR_RETURN(const double evaluate_s,
                            PutBenchBaselines(*stub, f, baseline_pts));
  v1::ListSignalsRequest all;
  all.set_parent("trials/BENCH");
  v1::ListSignalsRequest one_term = all;
  one_term.set_term("Preferred term 7");
  // The first listing since the server started builds the trial's signal
  // index (a scan of every stored signal); later ones reuse it.
  int count = 0;
  std::string first;
  AESIGNAL_ASSIGN_OR_RETURN(const Percentiles first_listing,
                            TimeListSignals(*stub, all, 1, &count, &first));
  const int first_listing_count = count;
  v1::ListSignalsRequest one_cell = one_term;
  AESIGNAL_ASSIGN_OR_RETURN(
      const int64_t total_signals,
      CountSignalsAndFindCell(*stub, all, one_term, &one_cell));
  std::printf("%lld signals stored (all methods, groups, timepoints)\n",
              static_cast<long long>(total_signals));
  std::printf("%-40s %8s %8s %10s %10s\n", "signal query", "signals", "calls",
              "p50 ms", "p99 ms");
  std::printf("%-40s %8d %8d %10.2f %10s\n",
              "ListSignals, first call (builds index)", first_listing_count, 1,
              first_listing.p50_ms, "-");
  first.clear();
  for (const auto& [name, request] :
       {std::pair{"ListSignals, page of 50 (default)", &all},
        std::pair{"ListSignals, one PT", &one_term},
        std::pair{"ListSignals, one PT x group x timepoint", &one_cell}}) {
    AESIGNAL_ASSIGN_OR_RETURN(
        const Percentiles p,
        TimeListSignals(*stub, *request, repeats, &count, &first));
    std::printf("%-40s %8d %8d %10.2f %10.2f\n", name, count, repeats, p.p50_ms,
                p.p99_ms);
  }
  if (first.empty()) {
    return absl::InternalError(
        "no signals raised: the benchmark's baselines should flag");
  }
  AESIGNAL_ASSIGN_OR_RETURN(const Percentiles get,
                            TimeGetSignal(*stub, first, repeats * 10));
  std::printf("%-40s %8d %8d %10.2f %10.2f\n", "GetSignal", 1, repeats * 10,
              get.p50_ms, get.p99_ms);
  std::printf("baselines on %d PTs evaluated in %.1f s\n", baseline_pts,
              evaluate_s);
  return absl::OkStatus();
}

// The sizes of the query trial (--smoke: tiny).
struct QuerySizes {
  int subjects, pts, reports, repeats;
};
QuerySizes QueryTrialSizes() {
  const bool smoke = absl::GetFlag(FLAGS_smoke);
  return {.subjects = smoke ? 500 : absl::GetFlag(FLAGS_subjects),
          .pts = smoke ? 100 : absl::GetFlag(FLAGS_pts),
          .reports = smoke ? 5000 : absl::GetFlag(FLAGS_reports),
          .repeats = smoke ? 3 : absl::GetFlag(FLAGS_repeats)};
}

// Starts the server with the query trial (5 groups x 10 timepoints) and
// ingests its reports; false (after saying why) on failure.
bool StartQueryTrial(const QuerySizes& sizes, const std::string& tag,
                     Fixture* f) {
  if (absl::Status s = StartFixture(*f, 5, 10, sizes.subjects); !s.ok()) {
    std::cerr << s << "\n";
    return false;
  }
  const ReportGenerator generator(
      {.subjects = sizes.subjects,
       .pts = sizes.pts,
       .last_day = f->last_day,
       .dose_effect_pts = absl::GetFlag(FLAGS_dose_effect_pts),
       .groups = 5});
  const int batch = absl::GetFlag(FLAGS_batch_size);
  const int parts = std::max(1, absl::GetFlag(FLAGS_query_parts));
  // Whole messages per part, so a follow-up stays with its first version.
  const int64_t per_part =
      (sizes.reports / parts + batch - 1) / batch * int64_t{batch};
  for (int64_t first = 0; first < sizes.reports; first += per_part) {
    const bool ok = bench::IngestVolume(
        *f, generator,
        {.total = std::min<int64_t>(per_part, sizes.reports - first),
         .first = first,
         .streams = 4,
         .batch_size = batch,
         .window = absl::GetFlag(FLAGS_window),
         .tag = tag,
         .tick = nullptr,
         .tick_every = 0});
    if (!ok) return false;
    if (parts == 1) break;
    if (absl::Status idle = f->Settle(absl::Minutes(10)); !idle.ok()) {
      std::cerr << "signal evaluation: " << idle << "\n";
      return false;
    }
  }
  return true;
}

// Times `times` calls of ListTopics' first page, which counts the trial's
// rows awaiting evaluation, and the count alone (read in this process when
// the server runs in it; -1 otherwise); prints one line saying `when`.
// False (after saying why) if a call fails.
bool ReportListTopics(const Fixture& f, int times, const char* when) {
  auto stub = v1::SignalService::NewStub(f.Channel(7));
  v1::ListTopicsRequest request;
  request.set_parent("trials/BENCH");
  int pending = 0;
  const absl::StatusOr<Percentiles> listed = TimeCalls<v1::ListTopicsResponse>(
      times, "ListTopics",
      [&](grpc::ClientContext* context, v1::ListTopicsResponse* response) {
        return stub->ListTopics(context, request, response);
      },
      [&](const v1::ListTopicsResponse& response) {
        pending = response.rows_pending_evaluation();
      });
  if (!listed.ok()) {
    std::cerr << listed.status() << "\n";
    return false;
  }
  double count_ms = -1;
  if (f.server != nullptr) {
    const absl::Time start = absl::Now();
    const absl::StatusOr<int> count =
        storage::CountDirtyTerms(f.server->store().Latest(), "BENCH");
    if (count.ok()) count_ms = absl::ToDoubleMilliseconds(absl::Now() - start);
  }
  std::printf(
      "ListTopics %s: p50 %.2f ms, p99 %.2f ms, %d rows pending (the count "
      "alone %.2f ms)\n",
      when, listed->p50_ms, listed->p99_ms, pending, count_ms);
  return true;
}

google::protobuf::Timestamp NowTimestamp() {
  return google::protobuf::util::TimeUtil::NanosecondsToTimestamp(
      absl::ToUnixNanos(absl::Now()));
}

absl::Status ReportTopicReplay(const Fixture& f,
                               const google::protobuf::Timestamp& cutoff);

// Times `times` closed-session DSMB reports of the trial at a cut-off now,
// as `aesignal report` asks for them (every table, listing and topic as it
// stood then, rendered), against the CLI's default deadline of 30 s, which
// a report must beat to arrive.
absl::Status TimeDsmbReport(const Fixture& f, int times) {
  auto stub = v1::SafetyService::NewStub(f.Channel(7));
  v1::GenerateDsmbReportRequest request;
  request.set_parent("trials/BENCH");
  request.set_session(v1::DSMB_SESSION_CLOSED);
  *request.mutable_cutoff() = NowTimestamp();
  size_t bytes = 0;
  AESIGNAL_ASSIGN_OR_RETURN(
      const Percentiles p,
      TimeCalls<v1::DsmbReport>(
          times, "GenerateDsmbReport",
          [&](grpc::ClientContext* context, v1::DsmbReport* response) {
            return stub->GenerateDsmbReport(context, request, response);
          },
          [&](const v1::DsmbReport& report) { bytes = report.html().size(); }));
  constexpr double kCliDeadlineMs = 30000;
  std::printf(
      "DSMB report at a cut-off (closed session, %zu bytes of HTML): %d "
      "runs, p50 %.0f ms, max %.0f ms; p50 / the CLI's 30 s deadline = %.2f\n",
      bytes, times, p.p50_ms, p.p99_ms, p.p50_ms / kCliDeadlineMs);
  return ReportTopicReplay(f, request.cutoff());
}

// What the DSMB report's topic pages read: the topics, the signal change
// log (its length read in this process when the server runs in it), and
// GetTopic at the cut-off timed on the first topic (one call per topic
// replays the log).
absl::Status ReportTopicReplay(const Fixture& f,
                               const google::protobuf::Timestamp& cutoff) {
  auto stub = v1::SignalService::NewStub(f.Channel(7));
  v1::ListTopicsRequest list;
  list.set_parent("trials/BENCH");
  v1::ListTopicsResponse topics;
  grpc::ClientContext context;
  if (grpc::Status s = stub->ListTopics(&context, list, &topics); !s.ok()) {
    return absl::InternalError(absl::StrCat("ListTopics: ", s.error_message()));
  }
  int64_t changes = -1;
  if (f.server != nullptr) {
    AESIGNAL_ASSIGN_OR_RETURN(
        changes,
        storage::NextSignalSequence(f.server->store().Latest(), "BENCH"));
    --changes;
  }
  std::printf("  %d topics, %lld signal changes logged", topics.total_size(),
              static_cast<long long>(changes));
  if (topics.topics_size() > 0) {
    v1::GetTopicRequest get;
    get.set_name(topics.topics(0).name());
    *get.mutable_as_of() = cutoff;
    AESIGNAL_ASSIGN_OR_RETURN(
        const Percentiles p,
        TimeCalls<v1::SignalTopic>(
            5, "GetTopic",
            [&](grpc::ClientContext* c, v1::SignalTopic* response) {
              return stub->GetTopic(c, get, response);
            },
            [](const v1::SignalTopic&) {}));
    std::printf("; GetTopic at the cut-off p50 %.2f ms", p.p50_ms);
  }
  std::printf("\n");
  return absl::OkStatus();
}

int Query() {
  const auto [subjects, pts, reports, repeats] = QueryTrialSizes();
  Fixture f;
  const absl::Time t0 = absl::Now();
  if (!StartQueryTrial(QueryTrialSizes(), "q", &f)) return 1;
  std::printf(
      "trial: %d subjects x 5 dose groups x 10 timepoints, %d PTs; "
      "%d reports ingested in %.1f s\n",
      subjects, pts, reports, absl::ToDoubleSeconds(absl::Now() - t0));
  const absl::Time loaded = absl::Now();
  if (!ReportListTopics(f, 1, "just after the load")) return 1;
  if (absl::Status idle = f.Settle(absl::Minutes(10)); !idle.ok()) {
    std::cerr << "signal evaluation: " << idle << "\n";
    return 1;
  }
  const domain::TrendCacheStats trends = domain::GetTrendCacheStats();
  std::printf(
      "signals current %.1f s after the last acknowledgement; exact trend "
      "tests: %lld computed, %lld answered from the memo\n",
      absl::ToDoubleSeconds(absl::Now() - loaded),
      static_cast<long long>(trends.misses),
      static_cast<long long>(trends.hits));
  if (!ReportListTopics(f, repeats, "once current")) return 1;

  auto stub = v1::SafetyService::NewStub(f.Channel(7));
  auto timed = [&](const v1::GetIncidenceRequest& request, int times,
                   int* terms) {
    return TimeCalls<v1::GetIncidenceResponse>(
        times, "GetIncidence",
        [&](grpc::ClientContext* context, v1::GetIncidenceResponse* response) {
          return stub->GetIncidence(context, request, response);
        },
        [&](const v1::GetIncidenceResponse& response) {
          *terms = response.terms_size();
        });
  };
  struct Case {
    std::string name;
    v1::GetIncidenceRequest request;
    int times;
  };
  std::vector<Case> cases;
  auto base = [](v1::TermLevel level) {
    v1::GetIncidenceRequest r;
    r.set_parent("trials/BENCH");
    r.set_level(level);
    return r;
  };
  cases.push_back({"PT table, page of 100 terms (default)",
                   base(v1::TERM_LEVEL_PT), repeats});
  v1::GetIncidenceRequest big = base(v1::TERM_LEVEL_PT);
  big.set_page_size(1000);
  cases.push_back({"PT table, page of 1000 terms (max)", big, repeats});
  cases.push_back({"SOC table", base(v1::TERM_LEVEL_SOC), repeats});
  cases.push_back({"overall rows", base(v1::TERM_LEVEL_OVERALL), repeats});
  v1::GetIncidenceRequest cell = base(v1::TERM_LEVEL_PT);
  cell.set_soc("System organ class 7");
  cell.set_pt("Preferred term 7");
  cell.set_dose_group_id("G3");
  cell.set_timepoint_id("D182");
  cases.push_back({"one cell (PT x group x timepoint)", cell, repeats * 10});
  // As the DSMB report reads it: counted at query time from every version.
  v1::GetIncidenceRequest cut_off = big;
  *cut_off.mutable_as_of() = NowTimestamp();
  cases.push_back({"PT table at a cut-off, page of 1000", cut_off,
                   std::max(1, repeats / 10)});
  std::printf("%-40s %8s %8s %10s %10s\n", "query", "terms", "calls", "p50 ms",
              "p99 ms");
  const std::string filter = absl::GetFlag(FLAGS_query_filter);
  for (const Case& c : cases) {
    if (!absl::StrContains(c.name, filter)) continue;
    int terms = 0;
    auto p = timed(c.request, c.times, &terms);
    if (!p.ok()) {
      std::cerr << p.status() << "\n";
      return 1;
    }
    std::printf("%-40s %8d %8d %10.2f %10.2f\n", c.name.c_str(), terms, c.times,
                p->p50_ms, p->p99_ms);
  }
  std::printf("targets: p99 <= 50 ms for a PT page, <= 5 ms for one cell\n");
  if (absl::StrContains("DSMB report", filter)) {
    if (absl::Status s = TimeDsmbReport(f, absl::GetFlag(FLAGS_smoke) ? 1 : 3);
        !s.ok()) {
      std::cerr << s << "\n";
      return 1;
    }
  }
  if (!filter.empty()) return 0;
  if (absl::Status s = QuerySignals(f, repeats, std::min(pts, 100)); !s.ok()) {
    std::cerr << s << "\n";
    return 1;
  }
  return 0;
}

// The same GetIncidence page over gRPC and over HTTP/JSON (a keep-alive
// connection, timed to the last byte of the reply), alternating call by call
// so both see the same machine.
int Http() {
  const int repeats = QueryTrialSizes().repeats;
  Fixture f;
  if (!StartQueryTrial(QueryTrialSizes(), "h", &f)) return 1;
  (void)f.server->monitor().signals().WaitIdle(absl::Minutes(10));
  auto stub = v1::SafetyService::NewStub(f.Channel(7));
  testing::HttpConnection http(f.server->http_port());
  struct Case {
    std::string name, query;
    v1::GetIncidenceRequest request;
  };
  std::vector<Case> cases(3);
  cases[0] = {"PT page of 100 terms", "level=TERM_LEVEL_PT", {}};
  cases[1] = {
      "PT page of 1000 terms", "level=TERM_LEVEL_PT&page_size=1000", {}};
  cases[2] = {"one cell",
              "level=TERM_LEVEL_PT&soc=System+organ+class+7&pt=Preferred+"
              "term+7&dose_group_id=G3&timepoint_id=D182",
              {}};
  for (Case& c : cases) {
    c.request.set_parent("trials/BENCH");
    c.request.set_level(v1::TERM_LEVEL_PT);
  }
  cases[1].request.set_page_size(1000);
  cases[2].request.set_soc("System organ class 7");
  cases[2].request.set_pt("Preferred term 7");
  cases[2].request.set_dose_group_id("G3");
  cases[2].request.set_timepoint_id("D182");
  std::printf("%-24s %9s %9s %9s %9s %12s\n", "GetIncidence", "gRPC p50",
              "gRPC p99", "HTTP p50", "HTTP p99", "HTTP/gRPC p99");
  for (const Case& c : cases) {
    std::vector<double> grpc_ms, http_ms;
    for (int i = 0; i < repeats * (c.name == "one cell" ? 10 : 1); ++i) {
      grpc::ClientContext context;
      v1::GetIncidenceResponse by_grpc, by_http;
      absl::Time start = absl::Now();
      if (!stub->GetIncidence(&context, c.request, &by_grpc).ok()) return 1;
      grpc_ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - start));
      start = absl::Now();
      if (!http.Send(testing::RequestBytes(
              "GET", "/v1/trials/BENCH/incidence?" + c.query))) {
        return 1;
      }
      auto reply = http.Read(absl::Seconds(60));
      // Timed to the whole body, as a browser's fetch(): protobuf's C++ JSON
      // parser (~5 MB/s) would time this client, not the server.
      http_ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - start));
      if (!reply.ok() || reply->status != 200 ||
          !google::protobuf::util::JsonStringToMessage(reply->body, &by_http)
               .ok()) {
        std::cerr << "HTTP GetIncidence failed: "
                  << (reply.ok() ? reply->body.substr(0, 300)
                                 : reply.status().ToString())
                  << "\n";
        return 1;
      }
      if (by_http.terms_size() != by_grpc.terms_size()) return 1;
    }
    const Percentiles g = Summarize(std::move(grpc_ms));
    const Percentiles h = Summarize(std::move(http_ms));
    std::printf("%-24s %9.2f %9.2f %9.2f %9.2f %12.2f\n", c.name.c_str(),
                g.p50_ms, g.p99_ms, h.p50_ms, h.p99_ms, h.p99_ms / g.p99_ms);
  }
  std::printf("target: HTTP p99 <= 1.5 x gRPC p99 for the same page\n");
  return 0;
}

// --- Scale -------------------------------------------------------------------

constexpr int kScaleSubjects = 10000;

ReportGenerator ScaleGenerator(int last_day) {
  return ReportGenerator(
      {.subjects = kScaleSubjects, .pts = 1000, .last_day = last_day});
}

// The scale run's crash phase, in a child process that Scale starts (not for
// use by hand): `aesignal-bench scale-crash-child --data_dir=D` opens the
// scale run's store in D, streams new reports into it and prints "acked N"
// at every multiple of 1,000 acknowledged, until it is killed.
int ScaleCrashChild() {
  Fixture f;
  if (absl::Status s = f.Open(absl::GetFlag(FLAGS_data_dir)); !s.ok()) {
    std::cerr << s << "\n";
    return 1;
  }
  const v1::Trial trial = bench::BenchTrial(5, 10);
  const ReportGenerator generator =
      ScaleGenerator(trial.timepoints(9).study_day());
  std::printf("acked 0\n");
  std::fflush(stdout);
  IngestVolume(
      f, generator, int64_t{1} << 40, 4, "k",
      [](int64_t acked) {
        std::printf("acked %lld\n", static_cast<long long>(acked));
        std::fflush(stdout);
      },
      1000);
  return 1;  // not reached: killed long before
}

// Sums the sizes of the RocksDB write-ahead log files in `dir`: what an open
// after a crash replays.
int64_t WalBytes(const std::string& dir) {
  int64_t bytes = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".log") bytes += entry.file_size();
  }
  return bytes;
}

// Runs ScaleCrashChild on `data_dir` and SIGKILLs it once it has acknowledged
// at least `kill_after` reports; returns how many it had.
absl::StatusOr<int64_t> IngestUntilKilled(const std::string& data_dir,
                                          int64_t kill_after) {
  absl::StatusOr<std::unique_ptr<bench::ChildProcess>> child =
      bench::ChildProcess::Spawn(
          {"scale-crash-child", absl::StrCat("--data_dir=", data_dir)});
  if (!child.ok()) return child.status();
  int64_t acked = -1;  // -1: it never started ingesting
  while (acked < kill_after) {
    absl::StatusOr<std::string> line = (*child)->ReadLine();
    int64_t n = 0;
    if (!line.ok() || line->rfind("acked ", 0) != 0 ||
        !absl::SimpleAtoi(line->substr(6), &n)) {
      break;
    }
    acked = n;
  }
  const int status = (*child)->Kill();
  if (acked < kill_after) {
    return absl::InternalError(absl::StrCat(
        "the crash child ended before it was killed (wait status ", status,
        ") with ", acked, " reports acknowledged (-1: none started)"));
  }
  return acked;
}

// After the scale run: a server on its store is killed with SIGKILL while
// ingesting (its write-ahead log as a crash leaves it), then restarted and
// checked: counters equal a recount of the stored reports, and the signals a
// re-evaluation of every row.
int CrashRestart(const std::string& data_dir, int64_t kill_after) {
  absl::StatusOr<int64_t> acked = IngestUntilKilled(data_dir, kill_after);
  if (!acked.ok()) {
    std::cerr << acked.status() << "\n";
    return 1;
  }
  const int64_t wal = WalBytes(data_dir);
  const absl::Time reopen = absl::Now();
  Fixture f;
  if (absl::Status s = f.Open(data_dir); !s.ok()) {
    std::cerr << s << "\n";
    return 1;
  }
  std::printf(
      "restart after SIGKILL (%lld more reports acknowledged by the killed "
      "server, write-ahead log %.1f MiB): %s (store open %s)\n",
      static_cast<long long>(*acked), wal / 1048576.0,
      absl::FormatDuration(absl::Now() - reopen).c_str(),
      absl::FormatDuration(f.server->open_time()).c_str());
  const absl::Time verify = absl::Now();
  absl::StatusOr<storage::VerifySummary> counters =
      f.server->monitor().VerifyCounters("BENCH");
  std::printf(
      "after SIGKILL, counters = recount of every stored report: %s (%s)\n",
      counters.ok() ? absl::StrCat("yes: ", counters->reports, " reports, ",
                                   counters->states, " subject-term states, ",
                                   counters->passes, " passes")
                          .c_str()
                    : counters.status().ToString().c_str(),
      absl::FormatDuration(absl::Now() - verify).c_str());
  absl::Status idle = f.server->monitor().signals().WaitIdle(absl::Minutes(30));
  absl::StatusOr<int> signals =
      idle.ok() ? f.server->monitor().signals().VerifySignals("BENCH")
                : absl::StatusOr<int>(idle);
  std::printf("after SIGKILL, signals = re-evaluation of every row: %s\n",
              signals.ok()
                  ? absl::StrCat("yes (", *signals, " signals)").c_str()
                  : signals.status().ToString().c_str());
  return counters.ok() && signals.ok() ? 0 : 1;
}

int Scale() {
  const bool smoke = absl::GetFlag(FLAGS_smoke);
  const int64_t total = smoke ? 20000 : absl::GetFlag(FLAGS_scale_reports);
  Fixture f;
  if (absl::Status s = StartFixture(f, 5, 10, kScaleSubjects); !s.ok()) {
    std::cerr << s << "\n";
    return 1;
  }
  const int64_t tenth = std::max<int64_t>(1, total / 10);
  absl::Time last = absl::Now();
  int64_t last_done = 0;
  const absl::Time start = last;
  std::printf("%8s %12s %12s %10s\n", "tenth", "reports", "reports/s",
              "RSS MiB");
  const ReportGenerator generator = ScaleGenerator(f.last_day);
  if (!IngestVolume(
          f, generator, total, 4, "s",
          [&](int64_t done) {
            const absl::Time now = absl::Now();
            std::printf("%8lld %12lld %12.0f %10.1f\n",
                        static_cast<long long>(done / tenth),
                        static_cast<long long>(done),
                        (done - last_done) / absl::ToDoubleSeconds(now - last),
                        RssKiB() / 1024.0);
            std::fflush(stdout);
            last = now;
            last_done = done;
          },
          tenth)) {
    return 1;
  }
  std::printf("total: %lld reports in %.1f s; RSS %.1f MiB\n",
              static_cast<long long>(total),
              absl::ToDoubleSeconds(absl::Now() - start), RssKiB() / 1024.0);
  (void)f.server->monitor().signals().WaitIdle(absl::Minutes(30));
  f.server.reset();
  const absl::Time reopen = absl::Now();
  auto again = Server::Start({.listen = "127.0.0.1:0", .data_dir = f.data_dir});
  if (!again.ok()) {
    std::cerr << again.status() << "\n";
    return 1;
  }
  std::printf("restart (open data dir, serve): %s (store open %s)\n",
              absl::FormatDuration(absl::Now() - reopen).c_str(),
              absl::FormatDuration((*again)->open_time()).c_str());
  again->reset();
  // Enough to fill the write-ahead log to its bound several times over
  // (StoreOptions::max_wal_bytes, 32 MiB; ~1 KiB of log per report).
  return CrashRestart(f.data_dir, smoke ? 3000 : 300000);
}

int Load() {
  const bool smoke = absl::GetFlag(FLAGS_smoke);
  const int streams = smoke ? 8 : absl::GetFlag(FLAGS_streams);
  const int slow = std::min(streams - 1, absl::GetFlag(FLAGS_slow_streams));
  const absl::Duration duration =
      absl::Seconds(smoke ? 3 : absl::GetFlag(FLAGS_load_seconds));
  constexpr int kSubjects = 1000;
  constexpr int kBatch = 100;
  const int rate = smoke ? 2000 : absl::GetFlag(FLAGS_load_rate);
  Fixture f;
  if (absl::Status s = StartFixture(f, 3, 5, kSubjects); !s.ok()) {
    std::cerr << s << "\n";
    return 1;
  }
  const ReportGenerator generator(
      {.subjects = kSubjects, .pts = 200, .last_day = f.last_day});
  const absl::Time start = absl::Now();
  const absl::Time end = start + duration;
  std::vector<StreamResult> results(streams);
  std::vector<std::thread> threads;
  absl::Notification done;
  std::vector<std::pair<double, int64_t>> rss;  // (seconds, KiB)
  std::thread sampler([&] {
    do {
      rss.emplace_back(absl::ToDoubleSeconds(absl::Now() - start), RssKiB());
    } while (
        !done.WaitForNotificationWithTimeout(absl::Seconds(smoke ? 1 : 10)));
  });
  for (int s = 0; s < streams; ++s) {
    threads.emplace_back([&, s] {
      // Slow clients read each ack 50 ms late, so their window fills and
      // they wait; the others must not be held up.
      const absl::Duration delay =
          s < slow ? absl::Milliseconds(50) : absl::ZeroDuration();
      // Each stream offers rate / streams reports/s, as kBatch-report
      // messages; streams start spread over one interval.
      const absl::Duration pace =
          rate > 0 ? absl::Seconds(1.0 * kBatch * streams / rate)
                   : absl::ZeroDuration();
      absl::SleepFor(pace * s / streams);
      results[s] = RunStream(
          f.Channel(200 + s), int64_t{1} << 40, absl::GetFlag(FLAGS_window),
          [&, s](int64_t m) {
            return BatchMessage(generator, m, kBatch, INT64_MAX,
                                absl::StrCat("l", s));
          },
          delay, end, nullptr, pace);
    });
  }
  for (auto& t : threads) t.join();
  done.Notify();
  sampler.join();
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  std::vector<StreamResult> fast(results.begin() + slow, results.end());
  std::vector<StreamResult> slowed(results.begin(), results.begin() + slow);
  std::vector<Row> rows = {
      FromStreams(absl::StrCat(streams - slow, " streams reading promptly"),
                  fast, seconds),
      FromStreams(absl::StrCat(slow, " streams reading 50 ms late"), slowed,
                  seconds)};
  // Latency stability: the first and last thirds of the prompt streams'
  // acks, in order.
  std::vector<double> first, last;
  for (const auto& r : fast) {
    const size_t third = r.ack_ms.size() / 3;
    first.insert(first.end(), r.ack_ms.begin(), r.ack_ms.begin() + third);
    last.insert(last.end(), r.ack_ms.end() - third, r.ack_ms.end());
  }
  if (rate > 0) {
    std::printf("offered: %d reports/s (%d per stream, %d-report messages)\n",
                rate, rate / streams, kBatch);
  } else {
    std::printf("offered: as fast as %d-message windows allow (saturation)\n",
                absl::GetFlag(FLAGS_window));
  }
  PrintRows(rows);
  const Percentiles early = Summarize(first), late = Summarize(last);
  std::printf(
      "prompt streams' ack latency, first third p50/p99 %.2f/%.2f ms,"
      " last third %.2f/%.2f ms\n",
      early.p50_ms, early.p99_ms, late.p50_ms, late.p99_ms);
  std::printf("RSS over time (s:MiB):");
  for (const auto& [t, kib] : rss) std::printf(" %.0f:%.0f", t, kib / 1024.0);
  std::printf("\n");
  int64_t errors = 0, unacked = 0;
  for (const auto& r : results) {
    errors += r.error_messages + (r.ok ? 0 : 1);
    unacked += r.sent_messages - r.acked_messages;
  }
  std::printf("errors: %lld, sent but unacknowledged messages: %lld\n",
              static_cast<long long>(errors), static_cast<long long>(unacked));
  return errors == 0 && unacked == 0 ? 0 : 1;
}

}  // namespace
}  // namespace aesignal

namespace aesignal {
namespace {

int Peer() {
#ifdef AESIGNAL_HAVE_LIBPQ
  if (absl::GetFlag(FLAGS_pg).empty()) {
    std::cerr << "peer: --pg=<libpq conninfo> is required (see "
                 "tests/load/peer_postgres/run.sh)\n";
    return 2;
  }
  return bench::RunPeer({.conninfo = absl::GetFlag(FLAGS_pg),
                         .rounds = absl::GetFlag(FLAGS_rounds),
                         .smoke = absl::GetFlag(FLAGS_smoke),
                         .repeats = absl::GetFlag(FLAGS_repeats),
                         .in_process = absl::GetFlag(FLAGS_peer_in_process)});
#else
  std::cerr << "peer: this aesignal-bench was built without libpq "
               "(install libpq-dev and reconfigure)\n";
  return 2;
#endif
}

}  // namespace
}  // namespace aesignal

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "aesignal-bench ingest|query|http|scale|load|peer [--smoke] [flags]; "
      "see docs/benchmarks.md");
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  const std::string mode = args.size() > 1 ? args[1] : "";
  const int batch_size = absl::GetFlag(FLAGS_batch_size);
  if (batch_size < 100 || batch_size % 10 != 0) {
    std::cerr << "--batch_size must be >= 100 and a multiple of 10\n";
    return 2;
  }
  aesignal::Fixture::store_tuning = absl::GetFlag(FLAGS_store_tuning);
  if (mode == "ingest") return aesignal::Ingest();
  if (mode == "query") return aesignal::Query();
  if (mode == "scale") return aesignal::Scale();
  if (mode == "scale-crash-child") return aesignal::ScaleCrashChild();
  if (mode == "load") return aesignal::Load();
  if (mode == "http") return aesignal::Http();
  if (mode == "peer") return aesignal::Peer();
  // Children the bench starts itself (Fixture::own_process, peer).
  if (mode == "server-child") {
    return aesignal::bench::RunServerChild(absl::GetFlag(FLAGS_data_dir));
  }
#ifdef AESIGNAL_HAVE_LIBPQ
  if (mode == "floor-child") return aesignal::bench::RunFloorChild();
#endif
  std::cerr
      << "usage: aesignal-bench ingest|query|http|scale|load|peer [--smoke]\n";
  return 2;
}
