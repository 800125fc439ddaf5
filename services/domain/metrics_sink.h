// What the domain reports for operations monitoring. The server implements
// it with Prometheus (services/server/metrics.h); the domain knows only this
// interface. Implementations must be thread-safe and cheap: methods run on
// the commit and evaluator threads.
#ifndef AESIGNAL_SERVICES_DOMAIN_METRICS_SINK_H_
#define AESIGNAL_SERVICES_DOMAIN_METRICS_SINK_H_

#include <string_view>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "aesignal/v1/ingest_service.pb.h"
#include "aesignal/v1/signal.pb.h"

namespace aesignal::domain {

class MetricsSink {
 public:
  virtual ~MetricsSink() = default;
  // A batch became durable `latency` after it was queued for commit (the
  // ack latency, less the network); `response` holds per-report outcomes.
  virtual void BatchCommitted(const v1::SubmitReportsResponse& response,
                              absl::Duration latency) = 0;
  // A batch of `reports` reports was refused as a whole (nothing stored).
  virtual void BatchRefused(absl::StatusCode code, int reports) = 0;
  // `count` signal events of `kind` became durable.
  virtual void SignalEvents(v1::SignalEvent::Kind kind, int count) = 0;
  // A streaming call of `rpc` ("IngestService.StreamReports") opened (+1) or
  // ended (-1).
  virtual void StreamsChanged(std::string_view rpc, int delta) = 0;
  // A signal evaluator round ended (one that evaluated rows, covered a
  // batch or failed; not the periodic rounds that found nothing to do).
  struct SignalRound {
    bool ok = true;
    absl::Duration took;
    int rows = 0;  // term rows evaluated (0 if the round failed)
    // From the commit of the oldest batch the round covered to its end (how
    // stale that batch's signals were); zero if it covered none.
    absl::Duration lag;
  };
  virtual void SignalRoundEnded(const SignalRound& round) = 0;
  // The commit time of the oldest batch whose rows no finished round has
  // evaluated yet — signals reflect every batch committed before it — or
  // absl::InfinitePast() when none is waiting. Reported when it changes.
  virtual void SignalBacklog(absl::Time oldest_waiting) = 0;
};

// A sink that discards everything (for tests and tools).
inline MetricsSink& NullMetrics() {
  class Null final : public MetricsSink {
    void BatchCommitted(const v1::SubmitReportsResponse&,
                        absl::Duration) override {}
    void BatchRefused(absl::StatusCode, int) override {}
    void SignalEvents(v1::SignalEvent::Kind, int) override {}
    void StreamsChanged(std::string_view, int) override {}
    void SignalRoundEnded(const SignalRound&) override {}
    void SignalBacklog(absl::Time) override {}
  };
  static Null* const null = new Null;
  return *null;
}

}  // namespace aesignal::domain

#endif  // AESIGNAL_SERVICES_DOMAIN_METRICS_SINK_H_
