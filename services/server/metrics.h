// Prometheus metrics for aesignald in the text exposition format (prometheus-
// cpp's core serializer; the HTTP server serves Scrape() at /metrics, so no
// CivetWeb is linked).
//
//   aesignal_reports_total{outcome,reason}   reports by outcome: accepted,
//       duplicate, superseded, rejected (reason: the gRPC code name, or
//       batch_<code> for reports of a batch refused as a whole)
//   aesignal_batch_commit_seconds            histogram, receipt to durable
//   aesignal_open_streams{rpc}               StreamReports / WatchSignals
//   aesignal_signal_events_total{kind}       raised, evidence_updated, triaged
//   aesignal_signal_rounds_total{outcome}    evaluator rounds: ok, failed
//   aesignal_signal_round_seconds            histogram, one round's time
//   aesignal_signal_lag_seconds              histogram, oldest covered batch's
//       commit to the round's end
//   aesignal_signal_rows_evaluated_total     term rows evaluated
//   aesignal_signal_backlog_oldest_timestamp_seconds  commit time of the
//       oldest batch not yet in signals, 0 when current
//   aesignal_store_commits_total, aesignal_store_wal_syncs_total
//   aesignal_authentication_failures_total  calls refused for missing or
//       unknown credentials (Authenticator)
//   aesignal_rocksdb_<property>              RocksDB figures (Store)
//
// Thread-safe. The monitor reports into it through domain::MetricsSink.
#ifndef AESIGNAL_SERVICES_SERVER_METRICS_H_
#define AESIGNAL_SERVICES_SERVER_METRICS_H_

#include <memory>
#include <string>

#include "services/domain/metrics_sink.h"

namespace prometheus {
class Registry;
class Histogram;
class Counter;
template <typename T>
class Family;
}  // namespace prometheus

namespace aesignal {
namespace storage {
class Store;
}
namespace access {
class Authenticator;
}

class PrometheusMetrics final : public domain::MetricsSink {
 public:
  // `store` and `authenticator` (null when the server has no principals:
  // nothing is refused) are read at each scrape and must outlive the
  // returned object.
  static std::unique_ptr<PrometheusMetrics> Create(
      const storage::Store* store, const access::Authenticator* authenticator);
  ~PrometheusMetrics() override;

  // Every metric, as Prometheus text (version 0.0.4).
  std::string Scrape() const;

  void BatchCommitted(const v1::SubmitReportsResponse& response,
                      absl::Duration latency) override;
  void BatchRefused(absl::StatusCode code, int reports) override;
  void SignalEvents(v1::SignalEvent::Kind kind, int count) override;
  void StreamsChanged(std::string_view rpc, int delta) override;
  void SignalRoundEnded(const SignalRound& round) override;
  void SignalBacklog(absl::Time oldest_waiting) override;

 private:
  PrometheusMetrics();
  struct Families;

  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<Families> families_;
  std::unique_ptr<class ScrapeCollector> scrape_collector_;
};

}  // namespace aesignal

#endif  // AESIGNAL_SERVICES_SERVER_METRICS_H_
