#include "services/server/metrics.h"

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "prometheus/collectable.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "prometheus/text_serializer.h"
#include "services/access/authenticator.h"
#include "services/server/grpc_log.h"
#include "storage/store.h"

namespace aesignal {
namespace {

using prometheus::MetricType;

// One figure of the store or the authenticator, read at scrape time.
struct Figure {
  const char* name;
  const char* help;
  MetricType type;
  double value;
};

std::vector<Figure> Figures(const storage::Store::Stats& stats,
                            const access::Authenticator* authenticator) {
  return {
      {"aesignal_store_commits_total", "mutations committed to RocksDB",
       MetricType::Counter, static_cast<double>(stats.commits)},
      {"aesignal_store_wal_syncs_total",
       "WAL fsyncs (fewer than commits: group commit)", MetricType::Counter,
       static_cast<double>(stats.wal_syncs)},
      {"aesignal_store_key_reads_total",
       "point reads by committed mutations that went to RocksDB",
       MetricType::Counter, static_cast<double>(stats.kv_reads)},
      {"aesignal_store_cache_hits_total",
       "point reads the committer answered from its cache", MetricType::Counter,
       static_cast<double>(stats.cache_hits)},
      {"aesignal_store_cache_bytes",
       "estimated memory of the committer's cache", MetricType::Gauge,
       static_cast<double>(stats.cache_bytes)},
      {"aesignal_store_key_writes_total",
       "keys written or deleted by committed mutations", MetricType::Counter,
       static_cast<double>(stats.kv_writes)},
      // A failed write or WAL sync (a full disk, say) makes the store
      // refuse every write until it resumes: RocksDB counts that
      // foreground failure in none of its properties, so these are what
      // to alert on.
      {"aesignal_store_write_failures_total",
       "times a RocksDB write or WAL sync failed and the store began "
       "refusing writes",
       MetricType::Counter, static_cast<double>(stats.write_failures)},
      {"aesignal_store_resumes_total",
       "times the store resumed writing after a failure", MetricType::Counter,
       static_cast<double>(stats.resumes)},
      {"aesignal_store_writes_refused",
       "1 while the store refuses writes after a failure, else 0",
       MetricType::Gauge, stats.write_failures > stats.resumes ? 1.0 : 0.0},
      {"aesignal_authentication_failures_total",
       "calls refused for missing or unknown credentials", MetricType::Counter,
       authenticator != nullptr ? static_cast<double>(authenticator->failures())
                                : 0.0},
      {"aesignal_tls_handshake_failures_total",
       "TLS handshakes that failed (a client certificate not accepted or "
       "missing, or a client not speaking TLS)",
       MetricType::Counter, static_cast<double>(TlsHandshakeFailures())},
  };
}

// The process's own figures under the names Prometheus client libraries
// give them (process_*), which dashboards and alerts expect: from /proc at
// scrape time. A figure /proc does not give is left out.
std::vector<Figure> ProcessFigures(absl::Time started) {
  std::vector<Figure> figures;
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  std::ifstream stat("/proc/self/stat");
  std::string line;
  if (ticks > 0 && std::getline(stat, line)) {
    // Fields after the command name (which may hold spaces), from field 3.
    const size_t close = line.rfind(')');
    std::vector<std::string> fields =
        absl::StrSplit(line.substr(close + 2), ' ', absl::SkipEmpty());
    double utime = 0, stime = 0, vsize = 0, rss_pages = 0;
    if (fields.size() > 21 && absl::SimpleAtod(fields[11], &utime) &&
        absl::SimpleAtod(fields[12], &stime) &&
        absl::SimpleAtod(fields[20], &vsize) &&
        absl::SimpleAtod(fields[21], &rss_pages)) {
      figures.push_back({"process_cpu_seconds_total",
                         "user and system CPU time spent, seconds",
                         MetricType::Counter, (utime + stime) / ticks});
      figures.push_back({"process_virtual_memory_bytes",
                         "virtual memory size, bytes", MetricType::Gauge,
                         vsize});
      figures.push_back({"process_resident_memory_bytes",
                         "resident memory size, bytes", MetricType::Gauge,
                         rss_pages * static_cast<double>(::getpagesize())});
    }
  }
  std::error_code ec;
  double fds = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++fds;
  }
  if (!ec) {
    figures.push_back(
        {"process_open_fds", "open file descriptors", MetricType::Gauge, fds});
  }
  if (struct rlimit limit; ::getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    figures.push_back({"process_max_fds", "file descriptors allowed",
                       MetricType::Gauge, static_cast<double>(limit.rlim_cur)});
  }
  figures.push_back({"process_start_time_seconds",
                     "start time of the process since the Unix epoch, seconds",
                     MetricType::Gauge, absl::ToUnixMillis(started) / 1000.0});
  return figures;
}

}  // namespace

// Reads the store's and the authenticator's figures at scrape time (no
// background polling).
class ScrapeCollector final : public prometheus::Collectable {
 public:
  ScrapeCollector(const storage::Store* store,
                  const access::Authenticator* authenticator)
      : store_(*store), authenticator_(authenticator) {}

  std::vector<prometheus::MetricFamily> Collect() const override {
    std::vector<prometheus::MetricFamily> families;
    for (const Figure& f : Figures(store_.stats(), authenticator_)) {
      families.push_back(Single(f.name, f.help, f.type, f.value));
    }
    for (const Figure& f : ProcessFigures(started_)) {
      families.push_back(Single(f.name, f.help, f.type, f.value));
    }
    // Which build and store schema answer: 1, with them as labels.
    prometheus::MetricFamily build =
        Single("aesignal_build_info",
               "the build serving: its version and the store "
               "schema it writes, as labels; always 1",
               MetricType::Gauge, 1);
    build.metric[0].label = {
        {"version", AESIGNAL_VERSION},
        {"store_schema", absl::StrCat(storage::kSchemaVersion)}};
    families.push_back(std::move(build));
    for (const auto& [property, value] : store_.EngineProperties()) {
      // rocksdb.total-sst-files-size -> aesignal_rocksdb_total_sst_files_size
      std::string name = absl::StrReplaceAll(
          property, {{"rocksdb.", "aesignal_rocksdb_"}, {"-", "_"}});
      families.push_back(Single(name, "RocksDB property " + property,
                                prometheus::MetricType::Gauge,
                                static_cast<double>(value)));
    }
    return families;
  }

 private:
  static prometheus::MetricFamily Single(std::string name, std::string help,
                                         prometheus::MetricType type,
                                         double value) {
    prometheus::MetricFamily family;
    family.name = std::move(name);
    family.help = std::move(help);
    family.type = type;
    prometheus::ClientMetric metric;
    if (type == prometheus::MetricType::Counter) {
      metric.counter.value = value;
    } else {
      metric.gauge.value = value;
    }
    family.metric.push_back(std::move(metric));
    return family;
  }

  const storage::Store& store_;
  const access::Authenticator* authenticator_;
  // Close enough to the process's start: the metrics exist from the
  // server's start on.
  const absl::Time started_ = absl::Now();
};

struct PrometheusMetrics::Families {
  explicit Families(prometheus::Registry& registry)
      : reports(prometheus::BuildCounter()
                    .Name("aesignal_reports_total")
                    .Help("AE reports received, by outcome and reason")
                    .Register(registry)),
        commit_seconds(
            prometheus::BuildHistogram()
                .Name("aesignal_batch_commit_seconds")
                .Help("time from receiving a batch to its being durable")
                .Register(registry)
                .Add({},
                     prometheus::Histogram::BucketBoundaries{
                         0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1,
                         0.25, 0.5, 1, 2.5, 5})),
        streams(prometheus::BuildGauge()
                    .Name("aesignal_open_streams")
                    .Help("open streaming calls, by RPC")
                    .Register(registry)),
        signal_events(prometheus::BuildCounter()
                          .Name("aesignal_signal_events_total")
                          .Help("signal events made durable, by kind")
                          .Register(registry)),
        signal_rounds(prometheus::BuildCounter()
                          .Name("aesignal_signal_rounds_total")
                          .Help("signal evaluator rounds, by outcome")
                          .Register(registry)),
        signal_round_seconds(prometheus::BuildHistogram()
                                 .Name("aesignal_signal_round_seconds")
                                 .Help("time one signal evaluator round took")
                                 .Register(registry)
                                 .Add({}, kEvaluatorBuckets)),
        signal_lag_seconds(
            prometheus::BuildHistogram()
                .Name("aesignal_signal_lag_seconds")
                .Help("per evaluator round, from the commit of the oldest "
                      "batch it covered to the round's end")
                .Register(registry)
                .Add({}, kEvaluatorBuckets)),
        signal_rows(prometheus::BuildCounter()
                        .Name("aesignal_signal_rows_evaluated_total")
                        .Help("term rows the signal evaluator evaluated")
                        .Register(registry)
                        .Add({})),
        signal_backlog(
            prometheus::BuildGauge()
                .Name("aesignal_signal_backlog_oldest_timestamp_seconds")
                .Help("commit time (Unix seconds) of the oldest batch not yet "
                      "reflected in signals; 0 when signals are current")
                .Register(registry)
                .Add({})) {
    // The series alerts watch exist from the start, at 0: an alert on an
    // increase of rounds_total{outcome="failed"} would otherwise miss the
    // first failure, which creates the series.
    for (const char* outcome : {"accepted", "duplicate", "superseded"}) {
      Reports(outcome, "");
    }
    Reports("rejected", "invalid_argument");
    for (const char* outcome : {"ok", "failed"}) {
      signal_rounds.Add({{"outcome", outcome}});
    }
    for (const char* kind : {"raised", "evidence_updated", "triaged"}) {
      signal_events.Add({{"kind", kind}});
    }
  }

  prometheus::Counter& Reports(const std::string& outcome,
                               const std::string& reason) {
    return reports.Add({{"outcome", outcome}, {"reason", reason}});
  }

  prometheus::Family<prometheus::Counter>& reports;
  prometheus::Histogram& commit_seconds;
  prometheus::Family<prometheus::Gauge>& streams;
  prometheus::Family<prometheus::Counter>& signal_events;
  prometheus::Family<prometheus::Counter>& signal_rounds;
  prometheus::Histogram& signal_round_seconds;
  prometheus::Histogram& signal_lag_seconds;
  prometheus::Counter& signal_rows;
  prometheus::Gauge& signal_backlog;

 private:
  // A round takes milliseconds on a small trial and seconds on a large one;
  // the lag adds the spacing between rounds while ingest lasts.
  inline static const prometheus::Histogram::BucketBoundaries kEvaluatorBuckets{
      0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300};
};

namespace {

// "INVALID_ARGUMENT" -> "invalid_argument".
std::string CodeName(absl::StatusCode code) {
  return absl::AsciiStrToLower(absl::StatusCodeToString(code));
}

}  // namespace

PrometheusMetrics::PrometheusMetrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      families_(std::make_unique<Families>(*registry_)) {}

PrometheusMetrics::~PrometheusMetrics() = default;

std::unique_ptr<PrometheusMetrics> PrometheusMetrics::Create(
    const storage::Store* store, const access::Authenticator* authenticator) {
  std::unique_ptr<PrometheusMetrics> metrics(new PrometheusMetrics());
  metrics->scrape_collector_ =
      std::make_unique<ScrapeCollector>(store, authenticator);
  return metrics;
}

std::string PrometheusMetrics::Scrape() const {
  std::vector<prometheus::MetricFamily> families = registry_->Collect();
  for (auto& family : scrape_collector_->Collect()) {
    families.push_back(std::move(family));
  }
  return prometheus::TextSerializer().Serialize(families);
}

void PrometheusMetrics::BatchCommitted(
    const v1::SubmitReportsResponse& response, absl::Duration latency) {
  families_->commit_seconds.Observe(absl::ToDoubleSeconds(latency));
  if (response.accepted_count() > 0) {
    families_->Reports("accepted", "").Increment(response.accepted_count());
  }
  if (response.duplicate_count() > 0) {
    families_->Reports("duplicate", "").Increment(response.duplicate_count());
  }
  if (response.superseded_count() > 0) {
    families_->Reports("superseded", "").Increment(response.superseded_count());
  }
  if (response.rejected_count() == 0) return;
  std::map<int, int> rejected_by_code;
  for (const auto& result : response.results()) {
    if (result.status() == v1::REPORT_STATUS_REJECTED) {
      ++rejected_by_code[result.code()];
    }
  }
  for (const auto& [code, count] : rejected_by_code) {
    families_
        ->Reports("rejected", CodeName(static_cast<absl::StatusCode>(code)))
        .Increment(count);
  }
}

void PrometheusMetrics::BatchRefused(absl::StatusCode code, int reports) {
  families_->Reports("rejected", "batch_" + CodeName(code)).Increment(reports);
}

void PrometheusMetrics::SignalEvents(v1::SignalEvent::Kind kind, int count) {
  if (count <= 0) return;
  std::string name = absl::AsciiStrToLower(v1::SignalEvent::Kind_Name(kind));
  if (name.rfind("kind_", 0) == 0) name = name.substr(5);
  families_->signal_events.Add({{"kind", name}}).Increment(count);
}

void PrometheusMetrics::StreamsChanged(std::string_view rpc, int delta) {
  families_->streams.Add({{"rpc", std::string(rpc)}}).Increment(delta);
}

void PrometheusMetrics::SignalRoundEnded(const SignalRound& round) {
  families_->signal_rounds.Add({{"outcome", round.ok ? "ok" : "failed"}})
      .Increment();
  families_->signal_round_seconds.Observe(absl::ToDoubleSeconds(round.took));
  if (!round.ok) return;
  families_->signal_rows.Increment(round.rows);
  if (round.lag > absl::ZeroDuration()) {
    families_->signal_lag_seconds.Observe(absl::ToDoubleSeconds(round.lag));
  }
}

void PrometheusMetrics::SignalBacklog(absl::Time oldest_waiting) {
  families_->signal_backlog.Set(
      oldest_waiting == absl::InfinitePast()
          ? 0
          : absl::ToDoubleSeconds(oldest_waiting - absl::UnixEpoch()));
}

}  // namespace aesignal
