// Prometheus metrics for aesignald, served as text at http://LISTEN/metrics.
//
//   aesignal_reports_total{outcome,reason}   reports by outcome: accepted,
//       duplicate, superseded, rejected (reason: the gRPC code name, or
//       batch_<code> for reports of a batch refused as a whole)
//   aesignal_batch_commit_seconds            histogram, receipt to durable
//   aesignal_open_streams{rpc}               StreamReports / WatchSignals
//   aesignal_signal_events_total{kind}       raised, evidence_updated, triaged
//   aesignal_store_commits_total, aesignal_store_wal_syncs_total
//   aesignal_rocksdb_<property>              RocksDB figures (Store)
//
// Thread-safe. The monitor reports into it through domain::MetricsSink.
#ifndef AESIGNAL_SERVICES_SERVER_METRICS_H_
#define AESIGNAL_SERVICES_SERVER_METRICS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "services/domain/metrics_sink.h"

namespace prometheus {
class Exposer;
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

class PrometheusMetrics final : public domain::MetricsSink {
 public:
  // Serves /metrics on `listen` (host:port; port 0 picks one). `store` is
  // read at each scrape and must outlive the returned object.
  static absl::StatusOr<std::unique_ptr<PrometheusMetrics>> Start(
      const std::string& listen, const storage::Store* store);
  ~PrometheusMetrics() override;

  // The bound HTTP port.
  int port() const { return port_; }

  void BatchCommitted(const v1::SubmitReportsResponse& response,
                      absl::Duration latency) override;
  void BatchRefused(absl::StatusCode code, int reports) override;
  void SignalEvents(v1::SignalEvent::Kind kind, int count) override;
  void StreamsChanged(std::string_view rpc, int delta) override;

 private:
  PrometheusMetrics();
  struct Families;

  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<Families> families_;
  std::shared_ptr<class StoreCollector> store_collector_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  int port_ = 0;
};

}  // namespace aesignal

#endif  // AESIGNAL_SERVICES_SERVER_METRICS_H_
