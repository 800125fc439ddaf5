// Monitor: aesignal's domain layer. Validates requests against the trial
// design, records trials, subjects and AE reports in the Store, and answers
// incidence queries from the maintained counters (subset and highest-grade
// tables, and every table at a data cut-off, from the stored report versions:
// incidence_derived.h).
//
// Request and response values are the aesignal.v1 messages (plain protobuf,
// no gRPC). Errors are absl::Status: INVALID_ARGUMENT with a
// google.rpc.BadRequest payload (see errors.h), NOT_FOUND, ALREADY_EXISTS,
// UNAVAILABLE when storage is failing.
//
// Thread-safe. `store` must outlive the Monitor.
#ifndef AESIGNAL_SERVICES_DOMAIN_MONITOR_H_
#define AESIGNAL_SERVICES_DOMAIN_MONITOR_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "aesignal/v1/audit_service.pb.h"
#include "aesignal/v1/ingest_service.pb.h"
#include "aesignal/v1/safety_service.pb.h"
#include "aesignal/v1/trial.pb.h"
#include "aesignal/v1/trial_service.pb.h"
#include "services/domain/call_info.h"
#include "services/domain/common.h"
#include "services/domain/denominator_cache.h"
#include "services/domain/metrics_sink.h"
#include "services/domain/signals.h"
#include "storage/incidence.h"
#include "storage/store.h"

namespace aesignal::domain {

class Monitor {
 public:
  // `store` (and `metrics`, if not null) must outlive the monitor. Brings
  // the stored counters to the current counting rule (UpgradeCountingRules,
  // counting_upgrade.h: a no-op once done), then starts the signal
  // evaluator.
  explicit Monitor(storage::Store* store, MetricsSink* metrics = nullptr);
  ~Monitor();

  // The outcome of the counting-rule upgrade the constructor ran. If it
  // failed, the stored counters do not follow the current rule (the upgrade
  // runs again at the next start) and VerifyCounters returns this error; the
  // server should refuse to start.
  const absl::Status& counting_upgrade_status() const {
    return counting_upgrade_;
  }

  // Where operations metrics go (a no-op sink if none was given).
  MetricsSink& metrics() { return metrics_; }

  // Baselines, signals, triage and watching (see signals.h).
  SignalBook& signals() { return *signals_; }

  // --- Trials and subjects ---------------------------------------------------
  // Every write takes the caller (`call`) for the audit trail.
  absl::StatusOr<v1::Trial> CreateTrial(const v1::CreateTrialRequest& request,
                                        const CallInfo& call = {});
  absl::StatusOr<v1::Trial> GetTrial(const v1::GetTrialRequest& request);
  absl::StatusOr<v1::ListTrialsResponse> ListTrials(
      const v1::ListTrialsRequest& request);
  absl::StatusOr<v1::EnrollSubjectsResponse> EnrollSubjects(
      const v1::EnrollSubjectsRequest& request, const CallInfo& call = {});
  absl::StatusOr<v1::ListSubjectsResponse> ListSubjects(
      const v1::ListSubjectsRequest& request);
  // A protocol amendment (trial_amendment.h says what may change). Marks
  // every row for re-evaluation under the amended design and policy.
  absl::StatusOr<v1::Trial> UpdateTrial(const v1::UpdateTrialRequest& request,
                                        const CallInfo& call = {});
  // A subject with its stored versions; PERMISSION_DENIED for a caller
  // restricted to other sites.
  absl::StatusOr<v1::Subject> GetSubject(const v1::GetSubjectRequest& request,
                                         const CallInfo& call = {});

  // --- Report read-back (read_back.cc) -------------------------------------
  // All honour the caller's site restriction. ListReports scans the trial's
  // stored reports (one pass, one page in memory) for every page: for
  // listings, not for hot paths.
  absl::StatusOr<v1::Report> GetReport(const v1::GetReportRequest& request,
                                       const CallInfo& call = {});
  absl::StatusOr<v1::ListReportsResponse> ListReports(
      const v1::ListReportsRequest& request, const CallInfo& call = {});
  // What every page of ListReports would list, in the same order, as one
  // response from one pass over one snapshot (`page_size` and `page_token`
  // are ignored; no next_page_token). For server-side readers that need
  // them all, such as the DSMB report: paging through a trial of N reports
  // costs N / page_size scans, this one. Memory grows with the matches.
  absl::StatusOr<v1::ListReportsResponse> ListAllReports(
      const v1::ListReportsRequest& request, const CallInfo& call = {});

  // --- Ingest ----------------------------------------------------------------
  // Validates and stores one batch atomically (reports and the counters they
  // change in one WriteBatch) and returns once it is durable. Per-report
  // outcomes are in the response; a rejected report never blocks the others.
  // Whole-request errors: INVALID_ARGUMENT (bad parent, empty or oversized
  // batch), NOT_FOUND (unknown trial), UNAVAILABLE or DATA_LOSS (storage).
  // Batches queued together may share one WriteBatch (monitor.cc,
  // IngestQueue): then a storage error fails all of them, and none is
  // stored.
  absl::StatusOr<v1::SubmitReportsResponse> SubmitReports(
      const v1::SubmitReportsRequest& request, const CallInfo& call = {});
  // As SubmitReports, but returns at once; `done` runs (on the store's writer
  // thread, or inline for requests refused before queueing) when
  // the batch is durable or failed. Batches complete in submission order.
  // Takes the request (a streamed batch is moved in, not copied).
  using SubmitDone =
      std::function<void(absl::StatusOr<v1::SubmitReportsResponse>)>;
  void SubmitReportsAsync(v1::SubmitReportsRequest request, SubmitDone done,
                          const CallInfo& call = {});

  // --- Queries ---------------------------------------------------------------
  // With `as_of`, from the subjects and report versions stored by then
  // (incidence_derived.h CountAtCutOff); INVALID_ARGUMENT
  // on `as_of` if it is in the future. ListSubjects and ListReports take a
  // cut-off the same way.
  absl::StatusOr<v1::GetIncidenceResponse> GetIncidence(
      const v1::GetIncidenceRequest& request);
  // Whole tables (every page as one answer; page_size and page_token are
  // ignored) at one data cut-off, for server-side readers such as the DSMB
  // report: counted together in one pass over the subject history and the
  // report versions, where GetIncidence makes that pass for each page of
  // each table. Every request needs `as_of`, and all the same trial
  // (INVALID_ARGUMENT on `parent` otherwise) and `as_of` (on `as_of`).
  // answers[i] answers requests[i]. Not an RPC.
  absl::StatusOr<std::vector<v1::GetIncidenceResponse>>
  GetIncidenceTablesAtCutOff(
      const std::vector<v1::GetIncidenceRequest>& requests);

  // The trial's audit trail, oldest first, filtered and paginated.
  absl::StatusOr<v1::GetAuditTrailResponse> GetAuditTrail(
      const v1::GetAuditTrailRequest& request);
  // Appends to the trial's audit trail that `call` was given a DSMB report
  // (action dsmb_report.generate, resource trials/{t}/dsmbReport; no data
  // changes): `details` says which (session, cut-off, content hash).
  // Durable when it returns OK. Not an RPC.
  absl::Status RecordDsmbReport(const std::string& trial_id,
                                const CallInfo& call, std::string details);

  // --- Administration --------------------------------------------------------
  // A consistent copy of the whole store in `destination` (a new directory
  // on this machine), from which aesignald --restore-from starts.
  // INVALID_ARGUMENT if `destination` is empty.
  absl::Status CreateBackup(const std::string& destination);

  // Recounts the trial's counters from its stored reports and compares
  // (DATA_LOSS on a mismatch); says what it recounted. Scans every report,
  // once per pass of storage::VerifyLimits (a trial with more than ~2
  // million subject-term states takes several): for audits and tests.
  absl::StatusOr<storage::VerifySummary> VerifyCounters(
      const std::string& trial_id);

 private:
  // One page of ListReports, or with `whole_listing` every match and no
  // paging fields read (ListAllReports).
  absl::StatusOr<v1::ListReportsResponse> ListReportsPaged(
      const v1::ListReportsRequest& request, const CallInfo& call,
      bool whole_listing);
  absl::StatusOr<v1::Trial> LoadTrial(const storage::ReadView& view,
                                      const std::string& trial_id);

  class IngestQueue;  // monitor.cc

  storage::Store& store_;
  MetricsSink& metrics_;
  std::unique_ptr<IngestQueue> ingest_queue_;
  const absl::Status counting_upgrade_;  // before signals_: read at its start
  // Shared with the evaluator, whose rounds read them too (before signals_).
  DenominatorCache denominators_;
  std::unique_ptr<SignalBook> signals_;
};

}  // namespace aesignal::domain

#endif  // AESIGNAL_SERVICES_DOMAIN_MONITOR_H_
