// A test client streaming report batches through the domain's asynchronous
// ingest (Monitor::SubmitReportsAsync, what the gRPC stream calls), a few
// batches in flight, until told to stop or a batch fails. Used by the
// power-loss and disk-full tests. Thread-compatible: one call per thread.
#ifndef AESIGNAL_TESTS_TESTING_ASYNC_INGEST_H_
#define AESIGNAL_TESTS_TESTING_ASYNC_INGEST_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "services/domain/monitor.h"

namespace aesignal::testing {

// A report version the store acknowledged as stored (ACCEPTED, SUPERSEDED or
// DUPLICATE), and the test's `round` it was acknowledged in.
struct AckedVersion {
  std::string report_id;
  uint32_t version = 0;
  int round = 0;
};

struct StreamOutcome {
  std::vector<AckedVersion> acked;
  absl::Status failure;  // the first failed batch's (OK if none failed)
};

// Submits make_batch(0), make_batch(1), ... with `window` in flight until
// `stop` or the first failed batch, then waits for those in flight. A
// rejected report is a test failure (the batches are meant to be valid).
inline StreamOutcome StreamUntilFailure(
    domain::Monitor& monitor, int window, int round,
    const std::function<v1::SubmitReportsRequest(int batch)>& make_batch,
    const std::atomic<bool>& stop) {
  std::mutex mu;
  std::condition_variable changed;
  int in_flight = 0;
  StreamOutcome outcome;
  for (int b = 0; !stop.load(); ++b) {
    {
      std::unique_lock<std::mutex> lock(mu);
      changed.wait(lock,
                   [&] { return in_flight < window || !outcome.failure.ok(); });
      if (!outcome.failure.ok()) break;
      ++in_flight;
    }
    monitor.SubmitReportsAsync(make_batch(b), [&](absl::StatusOr<
                                                  v1::SubmitReportsResponse>
                                                      response) {
      std::lock_guard<std::mutex> lock(mu);
      --in_flight;
      changed.notify_all();
      if (!response.ok()) {
        if (outcome.failure.ok()) outcome.failure = response.status();
        return;
      }
      for (const v1::ReportResult& result : response->results()) {
        if (result.status() == v1::REPORT_STATUS_REJECTED) {
          ADD_FAILURE() << result.report_id() << ": " << result.field() << ": "
                        << result.reason();
          continue;
        }
        outcome.acked.push_back({result.report_id(), result.version(), round});
      }
    });
  }
  std::unique_lock<std::mutex> lock(mu);
  changed.wait(lock, [&] { return in_flight == 0; });
  return outcome;
}

}  // namespace aesignal::testing

#endif  // AESIGNAL_TESTS_TESTING_ASYNC_INGEST_H_
