// aesignal C++ client SDK: trials, enrollment, report submission and
// incidence tables.
//
// Example:
//   auto client = aesignal::client::Client(
//       aesignal::client::MakeClientConnection({.target = "127.0.0.1:50051"}));
//   absl::StatusOr<aesignal::v1::Trial> trial = client.GetTrial("NCT02013700");
//   if (!trial.ok()) { ... trial.status() ... }
//
// Every call returns absl::Status / StatusOr; errors carry the gRPC code and,
// for INVALID_ARGUMENT, a google.rpc.BadRequest, for FAILED_PRECONDITION a
// google.rpc.PreconditionFailure (see BadRequestOf and PreconditionFailureOf
// in aesignal/client/status.h). The List* / GetIncidence helpers that return
// vectors follow next_page_token to the end.
//
// Retries: only idempotent RPCs are retried after a transient failure
// (kRetryPolicies in aesignal/client/connection.h). UpdateTrial is attempted
// once; TriageSignal is retried because it always carries a request id.
//
// For streaming many reports with batching, a bounded window and reconnects,
// use ReportStreamer (aesignal/client/report_streamer.h).
//
// Thread-safety: a Client is safe to use from many threads at once (it holds
// only a shared ClientConnection).
#ifndef AESIGNAL_CLIENTS_CPP_AESIGNAL_CLIENT_CLIENT_H_
#define AESIGNAL_CLIENTS_CPP_AESIGNAL_CLIENT_CLIENT_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "aesignal/client/connection.h"

namespace aesignal::client {

// "trials/{trial_id}", the resource name the API uses as parent.
std::string TrialName(std::string_view trial_id);
// "trials/{trial_id}/subjects/{subject_id}".
std::string SubjectName(std::string_view trial_id, std::string_view subject_id);
// "trials/{trial_id}/sites/{site_id}/reports/{report_id}".
std::string ReportName(std::string_view trial_id, std::string_view site_id,
                       std::string_view report_id);
// "trials/{trial_id}/baselines/{baseline_id}".
std::string BaselineName(std::string_view trial_id,
                         std::string_view baseline_id);

// A new random request id (a version 4 UUID in its 36-character text form)
// for TriageSignal: reusing it on a retry makes the retry safe.
std::string NewRequestId();

class Client {
 public:
  explicit Client(std::shared_ptr<ClientConnection> connection);

  // Creates `trial`; identical content already stored is not an error (the
  // stored trial is returned), different content is ALREADY_EXISTS.
  absl::StatusOr<v1::Trial> CreateTrial(const v1::Trial& trial);
  absl::StatusOr<v1::Trial> GetTrial(std::string_view trial_id);
  // One page; page_size 0 lets the server choose.
  absl::StatusOr<v1::ListTrialsResponse> ListTrials(
      int page_size = 0, const std::string& page_token = "");
  // Every trial, following pages.
  absl::StatusOr<std::vector<v1::Trial>> ListAllTrials();
  // A protocol amendment: changes the fields `update_mask` names (title,
  // dose_groups, timepoints, sites, aesi_categories, signal_policy, or "*")
  // to their values in `trial`, which names the trial by `name` or
  // `trial_id`. Returns the trial with its new version. FAILED_PRECONDITION
  // with a PreconditionFailure if the change would invalidate stored data.
  // Not retried (see the class comment): after UNAVAILABLE, GetTrial tells
  // whether the amendment was applied.
  absl::StatusOr<v1::Trial> UpdateTrial(
      const v1::Trial& trial, const std::vector<std::string>& update_mask);

  // Enrolls or updates subjects, all or nothing.
  absl::StatusOr<v1::EnrollSubjectsResponse> EnrollSubjects(
      std::string_view trial_id, const std::vector<v1::Subject>& subjects);
  absl::StatusOr<std::vector<v1::Subject>> ListAllSubjects(
      std::string_view trial_id);
  // Every page of `request` (its parent and as_of; page_token is managed).
  absl::StatusOr<std::vector<v1::Subject>> ListAllSubjects(
      v1::ListSubjectsRequest request);
  // One subject with every stored version (`history`, newest first).
  absl::StatusOr<v1::Subject> GetSubject(std::string_view trial_id,
                                         std::string_view subject_id);

  // One durable batch. Per-report outcomes are in the response; a rejected
  // report does not fail the call.
  absl::StatusOr<v1::SubmitReportsResponse> SubmitReports(
      std::string_view trial_id,
      const std::vector<v1::AdverseEventReport>& reports);

  // The whole incidence table at `level` (all pages), with Clopper-Pearson
  // intervals at `confidence_level` (0 lets the server use 0.95).
  absl::StatusOr<v1::GetIncidenceResponse> GetIncidence(
      std::string_view trial_id, v1::TermLevel level,
      double confidence_level = 0);
  // Any GetIncidence request (subset, max grades, comparisons, filters),
  // every page from request.page_token on, in pages of request.page_size
  // (0: the largest, 1000 terms).
  absl::StatusOr<v1::GetIncidenceResponse> GetIncidence(
      v1::GetIncidenceRequest request);

  // --- Stored reports
  // --------------------------------------------------------- One report with
  // every stored version (`versions`, newest first).
  absl::StatusOr<v1::Report> GetReport(std::string_view trial_id,
                                       std::string_view site_id,
                                       std::string_view report_id);
  // One page of the trial's reports matching `filter` (its parent is set
  // here; its page_size and page_token are used as given).
  absl::StatusOr<v1::ListReportsResponse> ListReports(
      std::string_view trial_id, v1::ListReportsRequest filter = {});
  // Every report matching `filter` (parent and page_token are set here;
  // page_size is the size of each page read, 0: the largest, 1000),
  // following pages. The server scans the trial's reports for each page.
  absl::StatusOr<std::vector<v1::Report>> ListAllReports(
      std::string_view trial_id, v1::ListReportsRequest filter = {});
  // The DSMB report at `request.cutoff()` (its parent is set here).
  absl::StatusOr<v1::DsmbReport> GenerateDsmbReport(
      std::string_view trial_id, v1::GenerateDsmbReportRequest request);

  // --- Baselines and signals -------------------------------------------------
  absl::StatusOr<v1::PutBaselinesResponse> PutBaselines(
      std::string_view trial_id, const std::vector<v1::Baseline>& baselines);
  // The current version of every baseline, following pages.
  absl::StatusOr<std::vector<v1::Baseline>> ListBaselines(
      std::string_view trial_id);
  // One baseline with every stored version (`history`, newest first).
  absl::StatusOr<v1::Baseline> GetBaseline(std::string_view trial_id,
                                           std::string_view baseline_id);
  // Every signal matching `filter` (its parent and page fields are set
  // here), newest first, following pages. `rows_pending_evaluation` (if not
  // null): as in ListAllTopics.
  absl::StatusOr<std::vector<v1::Signal>> ListAllSignals(
      std::string_view trial_id, v1::ListSignalsRequest filter = {},
      int* rows_pending_evaluation = nullptr);
  // `signal` is a name (trials/{t}/signals/{id}).
  absl::StatusOr<v1::Signal> GetSignal(const std::string& signal_name);
  // Moves a signal to `status` with a required `comment`; `display_name`
  // (optional) is shown beside the authenticated principal. An empty
  // `request_id` is replaced by NewRequestId(), so the call is retried
  // safely after a transient failure; pass your own to retry across
  // processes (the same id with another status or comment is
  // ALREADY_EXISTS).
  // Signal topics (one per term row), ranked; every page. If
  // `rows_pending_evaluation` is not null it receives the largest
  // ListTopicsResponse.rows_pending_evaluation of the pages: 0 when the
  // topics reflected every acknowledged report.
  absl::StatusOr<std::vector<v1::SignalTopic>> ListAllTopics(
      v1::ListTopicsRequest request, int* rows_pending_evaluation = nullptr);
  absl::StatusOr<v1::SignalTopic> GetTopic(const std::string& topic_name);
  // Triage of a topic, with a request id as TriageSignal.
  absl::StatusOr<v1::SignalTopic> TriageTopic(const std::string& topic_name,
                                              v1::SignalStatus status,
                                              const std::string& comment,
                                              const std::string& display_name,
                                              std::string request_id = "");

  absl::StatusOr<v1::Signal> TriageSignal(const std::string& signal_name,
                                          v1::SignalStatus status,
                                          const std::string& comment,
                                          const std::string& display_name = "",
                                          std::string request_id = "");
  // Deprecated: use TriageSignal. The deprecated RPC, whose `actor` the
  // server keeps as the display name; it carries no request id and so is
  // never retried.
  absl::StatusOr<v1::Signal> UpdateSignal(const std::string& signal_name,
                                          v1::SignalStatus status,
                                          const std::string& comment,
                                          const std::string& actor);

  // Streams the trial's signal changes with sequence > after_sequence to
  // `on_change` until it returns false, `until` passes (then OK), or a
  // non-retryable error. A broken connection (the server restarting or
  // shutting down: UNAVAILABLE, or CANCELLED by the server) is
  // re-established and resumed after the last change delivered, so nothing
  // is missed or repeated. `on_retry`, if set, is told of each reconnect
  // before its wait: why the stream ended, the wait, and `attempt`, 1 for
  // the first since the stream last delivered a change or stayed open 1 s.
  using ChangeCallback = std::function<bool(const v1::WatchSignalsResponse&)>;
  using RetryCallback = std::function<void(const absl::Status& ended,
                                           absl::Duration wait, int attempt)>;
  absl::Status WatchSignals(std::string_view trial_id, int64_t after_sequence,
                            const ChangeCallback& on_change,
                            absl::Time until = absl::InfiniteFuture(),
                            const RetryCallback& on_retry = nullptr);

  // The trial's audit records matching `filter` (parent and page_token are
  // set here), oldest first, following pages.
  absl::StatusOr<std::vector<v1::AuditRecord>> ListAuditRecords(
      std::string_view trial_id, v1::ListAuditRecordsRequest filter = {});
  // Deprecated: the same read through the deprecated RPC; use
  // ListAuditRecords.
  absl::StatusOr<std::vector<v1::AuditRecord>> GetAuditTrail(
      std::string_view trial_id, v1::GetAuditTrailRequest filter = {});

  ClientConnection& connection() { return *connection_; }
  std::shared_ptr<ClientConnection> shared_connection() { return connection_; }

 private:
  std::shared_ptr<ClientConnection> connection_;
};

}  // namespace aesignal::client

#endif  // AESIGNAL_CLIENTS_CPP_AESIGNAL_CLIENT_CLIENT_H_
