#include "services/domain/monitor.h"

#include <filesystem>
#include <limits>
#include <list>
#include <map>
#include <memory>
#include <set>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "google/protobuf/util/message_differencer.h"
#include "google/protobuf/util/time_util.h"
#include "services/domain/audit_actions.h"
#include "services/domain/common.h"
#include "services/domain/counting_upgrade.h"
#include "services/domain/evaluate.h"
#include "services/domain/incidence_query.h"
#include "services/domain/incidence_rows.h"
#include "services/domain/report_listing.h"
#include "services/domain/trial_amendment.h"
#include "services/domain/validation.h"
#include "services/errors/errors.h"
#include "services/errors/status_table.h"
#include "storage/audit.h"
#include "storage/incidence.h"
#include "storage/keys.h"
#include "storage/records.pb.h"
#include "storage/reports.h"
#include "storage/signals.h"

namespace aesignal::domain {
namespace {

using internal::DecodePageToken;
using internal::Denominators;
using internal::EncodePageToken;
using internal::NowProto;
using internal::PageSize;
using internal::Parse;
using internal::ReadSubjectGroups;

using google::protobuf::util::MessageDifferencer;
using storage::Cf;
using storage::TermKey;

// Trial content as CreateTrial compares it: output-only fields cleared, the
// policy as in force (so re-sending a trial as GetTrial returned it, with the
// defaults filled in, is still the same trial).
v1::Trial Content(v1::Trial t) {
  t.clear_create_time();
  t.clear_update_time();
  t.clear_version();
  t.clear_name();
  *t.mutable_signal_policy() = EffectivePolicy(t.signal_policy());
  return t;
}

// A stored trial as the API returns it: the effective signal policy, and
// version and update time also for trials stored before amendments existed.
v1::Trial TrialForOutput(v1::Trial t) {
  *t.mutable_signal_policy() = EffectivePolicy(t.signal_policy());
  if (t.version() == 0) t.set_version(1);
  if (!t.has_update_time()) *t.mutable_update_time() = t.create_time();
  return t;
}

v1::FollowUpStatus NormalStatus(v1::FollowUpStatus s) {
  return s == v1::FOLLOW_UP_STATUS_UNSPECIFIED ? v1::FOLLOW_UP_STATUS_ONGOING
                                               : s;
}

// --- Ingest of one batch -----------------------------------------------------

struct Batch {
  std::string trial_id;
  v1::Trial trial;
  v1::SubmitReportsRequest request;
  std::vector<std::optional<ValidReport>>
      valid;  // per report; nullopt = rejected
  v1::SubmitReportsResponse response;
  // Whether storing the batch changed counter rows (signals to evaluate).
  bool changed_rows = false;
  CallInfo call;  // for the audit trail
  // Set on the committer thread when an earlier batch's transaction applied
  // this one with it (IngestQueue): that transaction's outcome, which this
  // batch's own commit then returns, writing nothing.
  std::optional<absl::Status> group_outcome;
};

// Term rows whose counters a transaction changed, with the last report that
// changed each: they are marked for signal evaluation in the same write.
// Per row: (group, window) -> (report_id, version).
using DirtyTerms =
    std::map<TermKey,
             std::map<std::pair<int, int>, std::pair<std::string, uint32_t>>>;

std::string ReportName(const std::string& trial_id,
                       const v1::AdverseEventReport& r) {
  return ReportResourceName(trial_id, r.site_id(), r.report_id());
}

std::string ReportSummary(const v1::AdverseEventReport& r) {
  std::string summary =
      absl::StrCat("subject ", r.subject_id(), ": ", r.pt(), " (", r.soc(),
                   "), grade ", r.grade(), r.serious() ? ", serious" : "",
                   r.has_onset_study_day()
                       ? absl::StrCat(", onset day ", r.onset_study_day())
                       : absl::StrCat(", timepoint ", r.timepoint_id()));
  if (r.entered_in_error()) {
    absl::StrAppend(&summary,
                    "; entered in error: ", r.entered_in_error_reason());
  }
  return summary;
}

// Why a report can be rejected, as the ErrorInfo reason of its error.
const char* RejectionReason(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kNotFound:
      return "REFERENCE_NOT_FOUND";  // site, timepoint, AESI or subject
    case absl::StatusCode::kAlreadyExists:
      return "REPORT_VERSION_CONFLICT";
    default:
      return "FIELD_VIOLATIONS";
  }
}

// `field` and `reason` are the (first) problem; `also` other problems of the
// same report, listed after it in the error's BadRequest.
void SetRejected(v1::ReportResult* result, absl::StatusCode code,
                 std::string field, std::string reason,
                 const std::vector<errors::FieldViolation>& also = {}) {
  result->set_status(v1::REPORT_STATUS_REJECTED);
  result->set_code(static_cast<int>(code));
  std::vector<errors::FieldViolation> violations = {{field, reason}};
  violations.insert(violations.end(), also.begin(), also.end());
  *result->mutable_error() = errors::ToRpcStatus(
      errors::FieldErrors(code, violations, RejectionReason(code)));
  result->set_field(std::move(field));
  result->set_reason(std::move(reason));
}

// The stateless half: everything that needs only the trial design.
void ValidateBatch(Batch& batch) {
  std::map<std::tuple<std::string, std::string, uint32_t>, int> first_index;
  const int n = batch.request.reports_size();
  batch.valid.resize(n);
  for (int i = 0; i < n; ++i) {
    const v1::AdverseEventReport& r = batch.request.reports(i);
    v1::ReportResult* result = batch.response.add_results();
    result->set_index(i);
    result->set_report_id(r.report_id());
    result->set_version(r.version());
    const std::string path = absl::StrCat("reports[", i, "]");
    auto checked = ValidateReport(batch.trial, r, path);
    if (auto* rejection = std::get_if<Rejection>(&checked)) {
      SetRejected(result, rejection->code, rejection->field, rejection->reason,
                  rejection->also);
      continue;
    }
    auto [it, inserted] = first_index.try_emplace(
        std::make_tuple(r.site_id(), r.report_id(), r.version()), i);
    if (!inserted) {
      SetRejected(result, absl::StatusCode::kInvalidArgument,
                  path + ".report_id",
                  absl::StrCat("duplicates reports[", it->second,
                               "] (same site_id, report_id and version) in "
                               "this batch"));
      continue;
    }
    batch.valid[i] = std::get<ValidReport>(checked);
  }
}

// Whether `r` names a dose group other than its subject's, after rejecting
// it. After a dose group correction a site may still send what it sent
// before: a retry of a stored version is still the same report (checked
// first, by AlreadyStored), and a follow-up may repeat the group its
// previous version named (a copy of the stored report, as `reports
// withdraw` sends); it counts in the subject's group either way.
bool NamesAnotherGroup(const v1::AdverseEventReport& r,
                       const v1::Subject& subject,
                       const std::optional<storage::StoredReport>& previous,
                       const std::string& path, v1::ReportResult* result) {
  if (r.dose_group_id().empty() ||
      r.dose_group_id() == subject.dose_group_id() ||
      (previous.has_value() &&
       r.dose_group_id() == previous->report().dose_group_id())) {
    return false;
  }
  SetRejected(
      result, absl::StatusCode::kInvalidArgument, path + ".dose_group_id",
      absl::StrCat("subject '", r.subject_id(), "' is enrolled in dose group '",
                   subject.dose_group_id(), "'"));
  return true;
}

// The stateful half, run on the committer thread: subject and version checks,
// then each accepted report and its counter changes go into the transaction.
// One per transaction, over one or more batches of one trial version, in
// order: each counter row and dirty mark is written once, after the last
// report that changed it, and the audit records go into one block. The rows
// buffers are reused for every report, so counting a report allocates no row
// keys once they have grown.
class BatchApplier {
 public:
  // `group` is not empty; its batches share trial_id and trial version.
  BatchApplier(storage::Txn& txn,
               const std::vector<std::shared_ptr<Batch>>& group)
      : txn_(txn),
        group_(group),
        batch_(group.front().get()),
        now_(NowProto()),
        num_windows_(batch_->trial.timepoints_size()) {}

  absl::Status Run() {
    for (const auto& batch : group_) {
      batch_ = batch.get();
      for (int i = 0; i < batch_->request.reports_size(); ++i) {
        if (batch_->valid[i].has_value()) {
          AESIGNAL_RETURN_IF_ERROR(ApplyReport(i));
        }
      }
    }
    counter_rows_.Flush();
    return MarkDirtyRows();
  }

 private:
  absl::Status ApplyReport(int i);
  absl::StatusOr<const v1::Subject*> EnrolledSubject(
      const v1::AdverseEventReport& r, const std::string& path,
      v1::ReportResult* result);
  absl::StatusOr<bool> AlreadyStored(const v1::AdverseEventReport& r,
                                     std::optional<uint32_t> newest,
                                     const std::string& path,
                                     v1::ReportResult* result);
  absl::StatusOr<std::optional<storage::StoredReport>> NewestStored(
      const v1::AdverseEventReport& r, std::optional<uint32_t> newest);
  absl::Status Count(const v1::AdverseEventReport& r,
                     const storage::StoredReport& stored,
                     const std::optional<storage::StoredReport>& previous);
  absl::Status Audit(const v1::AdverseEventReport& r, const char* action);
  // Notes that `rows` changed in cell (group, window) because of `trigger`,
  // the report of batch_ being applied.
  void NoteDirty(const std::vector<TermKey>& rows, int group, int window,
                 const v1::AdverseEventReport& trigger);
  absl::Status MarkDirtyRows();

  storage::Txn& txn_;
  const std::vector<std::shared_ptr<Batch>>& group_;
  Batch* batch_;  // the one being applied
  const google::protobuf::Timestamp now_;
  const int num_windows_;
  // Subjects read so far (nullopt: not enrolled), by subject_id.
  std::map<std::string, std::optional<v1::Subject>> subjects_;
  std::optional<storage::AuditWriter> audit_;  // begun by the first record
  std::vector<TermKey> added_rows_;
  std::vector<TermKey> removed_rows_;
  DirtyTerms dirty_;
  // The batch's counter rows, each written once, after its last report.
  storage::CounterRows counter_rows_{txn_};
};

absl::Status BatchApplier::ApplyReport(int i) {
  const v1::AdverseEventReport& r = batch_->request.reports(i);
  v1::ReportResult* result = batch_->response.mutable_results(i);
  const std::string path = absl::StrCat("reports[", i, "]");
  AESIGNAL_ASSIGN_OR_RETURN(const v1::Subject* subject,
                            EnrolledSubject(r, path, result));
  if (subject == nullptr) return absl::OkStatus();  // rejected
  // The head first: a report without one has no stored version at all, so a
  // new report (most are) costs one lookup, not a miss per key.
  AESIGNAL_ASSIGN_OR_RETURN(
      std::optional<uint32_t> newest,
      storage::ReadNewestVersion(txn_, batch_->trial_id, r.site_id(),
                                 r.report_id()));
  AESIGNAL_ASSIGN_OR_RETURN(bool stored_already,
                            AlreadyStored(r, newest, path, result));
  if (stored_already) return absl::OkStatus();
  AESIGNAL_ASSIGN_OR_RETURN(std::optional<storage::StoredReport> previous,
                            NewestStored(r, newest));
  if (NamesAnotherGroup(r, *subject, previous, path, result)) {
    return absl::OkStatus();
  }
  if (previous.has_value() &&
      previous->report().subject_id() != r.subject_id()) {
    SetRejected(
        result, absl::StatusCode::kInvalidArgument, path + ".subject_id",
        absl::StrCat("report '", r.report_id(), "' belongs to subject '",
                     previous->report().subject_id(),
                     "'; a follow-up cannot change the subject"));
    return absl::OkStatus();
  }

  const int group = DoseGroupIndex(batch_->trial, subject->dose_group_id());
  if (group < 0) {
    // The subject was corrected into a group an amendment added after this
    // batch was validated against the trial: the client sends it again.
    return absl::UnavailableError(
        "the trial was amended while this batch waited; send it again");
  }
  storage::StoredReport stored;
  *stored.mutable_report() = r;
  stored.set_window(batch_->valid[i]->window);
  stored.set_dose_group(group);
  *stored.mutable_receive_time() = now_;
  stored.set_submitted_by(batch_->call.principal);
  if (previous.has_value() && previous->report().version() > r.version()) {
    // History only: the newer stored version stays counted.
    stored.set_superseded_on_arrival(true);
    storage::WriteReportVersion(txn_, batch_->trial_id, stored,
                                /*newest=*/false);
    result->set_status(v1::REPORT_STATUS_SUPERSEDED);
    return Audit(r, audit_action::kReportHistory);
  }
  AESIGNAL_RETURN_IF_ERROR(Count(r, stored, previous));
  storage::WriteReportVersion(txn_, batch_->trial_id, stored, /*newest=*/true);
  result->set_status(v1::REPORT_STATUS_ACCEPTED);
  return Audit(r, r.entered_in_error() ? audit_action::kReportWithdraw
                                       : audit_action::kReportStore);
}

// The subject of `r` as enrolled, or null after rejecting `r` because it is
// not enrolled or enrolled at another site.
absl::StatusOr<const v1::Subject*> BatchApplier::EnrolledSubject(
    const v1::AdverseEventReport& r, const std::string& path,
    v1::ReportResult* result) {
  auto it = subjects_.find(r.subject_id());
  if (it == subjects_.end()) {
    AESIGNAL_ASSIGN_OR_RETURN(
        std::optional<v1::Subject> subject,
        internal::ReadSubject(txn_, batch_->trial_id, r.subject_id()));
    it = subjects_.emplace(r.subject_id(), std::move(subject)).first;
  }
  if (!it->second.has_value()) {
    SetRejected(result, absl::StatusCode::kNotFound, path + ".subject_id",
                absl::StrCat("subject '", r.subject_id(),
                             "' is not enrolled in trial ", batch_->trial_id));
    return nullptr;
  }
  const v1::Subject& subject = *it->second;
  if (subject.site_id() != r.site_id()) {
    // A site's principal is not told which other site (GetSubject would
    // refuse it that subject).
    const bool may_see_site = MayUseSite(batch_->call, subject.site_id());
    SetRejected(
        result, absl::StatusCode::kInvalidArgument, path + ".site_id",
        may_see_site
            ? absl::StrCat("subject '", r.subject_id(),
                           "' is enrolled at site '", subject.site_id(), "'")
            : absl::StrCat("subject '", r.subject_id(),
                           "' is not enrolled at site '", r.site_id(), "'"));
    return nullptr;
  }
  return &subject;
}

// Whether `retry` is `stored` sent again. The server derives the dose group
// from the subject, and the timepoint from the onset day when there is one,
// so a retry that fills in either (validation has checked it agrees) or
// leaves it out is the same report. The AESI categories are a set
// (validation refuses one twice): a client that builds them from a hash set
// may send them in another order on retry.
bool SameReport(const v1::AdverseEventReport& stored,
                const v1::AdverseEventReport& retry) {
  if (MessageDifferencer::Equals(stored, retry)) return true;
  v1::AdverseEventReport a = stored, b = retry;
  for (v1::AdverseEventReport* r : {&a, &b}) {
    r->clear_dose_group_id();
    if (a.has_onset_study_day() && b.has_onset_study_day()) {
      r->clear_timepoint_id();
    }
    std::sort(r->mutable_aesi()->begin(), r->mutable_aesi()->end());
  }
  return MessageDifferencer::Equals(a, b);
}

// Whether this version of `r` is stored already: the same content is a
// DUPLICATE, different content is rejected (a follow-up needs a new version).
// `newest` is the report's head: no version above it is stored.
absl::StatusOr<bool> BatchApplier::AlreadyStored(
    const v1::AdverseEventReport& r, std::optional<uint32_t> newest,
    const std::string& path, v1::ReportResult* result) {
  if (!newest.has_value() || r.version() > *newest) return false;
  AESIGNAL_ASSIGN_OR_RETURN(
      std::optional<storage::StoredReport> same_version,
      storage::ReadReportVersion(txn_, batch_->trial_id, r.site_id(),
                                 r.report_id(), r.version()));
  if (!same_version.has_value()) return false;
  if (SameReport(same_version->report(), r)) {
    result->set_status(v1::REPORT_STATUS_DUPLICATE);
  } else {
    SetRejected(
        result, absl::StatusCode::kAlreadyExists, path + ".version",
        absl::StrCat("version ", r.version(), " of report '", r.report_id(),
                     "' is already stored with different content; "
                     "send a follow-up with a higher version"));
  }
  return true;
}

// The stored version the head `newest` names (the counted one), if any.
absl::StatusOr<std::optional<storage::StoredReport>> BatchApplier::NewestStored(
    const v1::AdverseEventReport& r, std::optional<uint32_t> newest) {
  if (!newest.has_value()) return std::nullopt;
  AESIGNAL_ASSIGN_OR_RETURN(
      std::optional<storage::StoredReport> stored,
      storage::ReadReportVersion(txn_, batch_->trial_id, r.site_id(),
                                 r.report_id(), *newest));
  if (!stored.has_value()) {
    return absl::DataLossError("report head points at a missing version");
  }
  return stored;
}

// Moves the counters from the previously counted version (if any) to `r`,
// in the rows the clinical rule puts each in, and notes those rows dirty.
absl::Status BatchApplier::Count(
    const v1::AdverseEventReport& r, const storage::StoredReport& stored,
    const std::optional<storage::StoredReport>& previous) {
  CountedRows(r, &added_rows_);
  NoteDirty(added_rows_, stored.dose_group(), stored.window(), r);
  const storage::CountedVersion added{r.subject_id(), stored.dose_group(),
                                      stored.window(), added_rows_};
  if (!previous.has_value()) {
    return storage::ApplyReportChange(txn_, counter_rows_, batch_->trial_id,
                                      num_windows_, nullptr, &added);
  }
  // The previous version counts in the subject's group as it is now, which
  // a dose group correction may have changed since that version arrived.
  CountedRows(previous->report(), &removed_rows_);
  NoteDirty(removed_rows_, stored.dose_group(), previous->window(), r);
  const storage::CountedVersion removed{previous->report().subject_id(),
                                        stored.dose_group(), previous->window(),
                                        removed_rows_};
  return storage::ApplyReportChange(txn_, counter_rows_, batch_->trial_id,
                                    num_windows_, &removed, &added);
}

void BatchApplier::NoteDirty(const std::vector<TermKey>& rows, int group,
                             int window,
                             const v1::AdverseEventReport& trigger) {
  if (!rows.empty()) batch_->changed_rows = true;
  for (const TermKey& term : rows) {
    dirty_[term][{group, window}] = {trigger.report_id(), trigger.version()};
  }
}

absl::Status BatchApplier::Audit(const v1::AdverseEventReport& r,
                                 const char* action) {
  if (!audit_.has_value()) {
    AESIGNAL_ASSIGN_OR_RETURN(
        audit_, storage::AuditWriter::Begin(txn_, batch_->trial_id));
  }
  audit_->Append(AuditOf(batch_->call, now_, action,
                         ReportName(batch_->trial_id, r), r.version(),
                         ReportSummary(r)));
  return absl::OkStatus();
}

// Marks every row the batch changed for signal evaluation, naming the last
// report that changed each of its cells.
absl::Status BatchApplier::MarkDirtyRows() {
  for (const auto& [term, by_cell] : dirty_) {
    std::vector<storage::CellReport> cells;
    cells.reserve(by_cell.size());
    for (const auto& [cell, trigger] : by_cell) {
      cells.push_back({cell.first, cell.second, trigger.first, trigger.second});
    }
    const auto& last = by_cell.rbegin()->second;
    AESIGNAL_RETURN_IF_ERROR(storage::MarkTermDirty(
        txn_, group_.front()->trial_id, term, last.first, last.second, cells));
  }
  return absl::OkStatus();
}

absl::Status ApplyGroup(storage::Txn& txn,
                        const std::vector<std::shared_ptr<Batch>>& group) {
  return BatchApplier(txn, group).Run();
}

// PERMISSION_DENIED if a restricted caller (a site) names a site that is not
// its own: the whole request is refused and nothing is stored.
absl::Status CheckSite(const CallInfo& call, const std::string& site_id,
                       const std::string& field) {
  if (MayUseSite(call, site_id)) return absl::OkStatus();
  return errors::FieldError(
      absl::StatusCode::kPermissionDenied, field,
      absl::StrCat("principal '", call.principal,
                   "' may not write data of site '", site_id, "'"),
      "SITE_NOT_ALLOWED");
}

void Tally(v1::SubmitReportsResponse& response) {
  int counts[5] = {0, 0, 0, 0, 0};
  for (const auto& r : response.results()) ++counts[r.status()];
  response.set_accepted_count(counts[v1::REPORT_STATUS_ACCEPTED]);
  response.set_duplicate_count(counts[v1::REPORT_STATUS_DUPLICATE]);
  response.set_superseded_count(counts[v1::REPORT_STATUS_SUPERSEDED]);
  response.set_rejected_count(counts[v1::REPORT_STATUS_REJECTED]);
}

}  // namespace

// Ingest batches whose commits are queued and have not run. The first of them
// the committer runs applies those queued after it with it, in one
// transaction (BatchApplier); their own commits then write nothing and
// complete, in commit order, after that transaction is durable. A group of
// one-report messages so shares one audit block, one write per counter row
// and dirty mark, and one hand-off through the store, which are most of such
// a message's storage work. Every batch of a group was submitted before any
// of it was acknowledged, so applying one ahead of other mutations queued
// between them is an order its callers could have seen; batches submitted
// one after another (a stream's) stay in that order. A storage error while
// applying a group fails every batch of it (none is stored); retrying is
// safe. Thread-safe.
class Monitor::IngestQueue {
 public:
  // Reports per transaction beyond which later batches wait for their own:
  // bounds a group's latency and its audit block.
  static constexpr int kMaxGroupReports = 1000;

  // Called before the batch's commit is queued.
  void Add(std::shared_ptr<Batch> batch) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    waiting_.push_back(std::move(batch));
  }

  // After the batch's commit failed: a commit refused before its mutation ran
  // leaves the batch waiting, and no later transaction may store it.
  void Forget(const std::shared_ptr<Batch>& batch) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    waiting_.remove(batch);
  }

  // The batch's mutation, on the committer thread.
  absl::Status Apply(storage::Txn& txn, const std::shared_ptr<Batch>& batch)
      ABSL_LOCKS_EXCLUDED(mu_) {
    if (batch->group_outcome.has_value()) return *batch->group_outcome;
    const std::vector<std::shared_ptr<Batch>> group = TakeGroup(batch);
    absl::Status status = ApplyGroup(txn, group);
    for (size_t i = 1; i < group.size(); ++i) group[i]->group_outcome = status;
    return status;
  }

 private:
  // `leader`, then the waiting batches in the order they were added, up to
  // the first that is of another trial or trial version or would take the
  // group past kMaxGroupReports (stopping there, not skipping it, keeps
  // batches submitted one after another in order). All leave the queue.
  std::vector<std::shared_ptr<Batch>> TakeGroup(
      const std::shared_ptr<Batch>& leader) ABSL_LOCKS_EXCLUDED(mu_) {
    std::vector<std::shared_ptr<Batch>> group = {leader};
    int reports = leader->request.reports_size();
    absl::MutexLock lock(&mu_);
    waiting_.remove(leader);
    while (!waiting_.empty()) {
      Batch& next = *waiting_.front();
      if (next.trial_id != leader->trial_id ||
          next.trial.version() != leader->trial.version() ||
          reports + next.request.reports_size() > kMaxGroupReports) {
        break;
      }
      reports += next.request.reports_size();
      group.push_back(std::move(waiting_.front()));
      waiting_.pop_front();
    }
    return group;
  }

  absl::Mutex mu_;
  std::list<std::shared_ptr<Batch>> waiting_ ABSL_GUARDED_BY(mu_);
};

// --- Trials
// --------------------------------------------------------------------

Monitor::~Monitor() = default;

Monitor::Monitor(storage::Store* store, MetricsSink* metrics)
    : store_(*store),
      metrics_(metrics != nullptr ? *metrics : NullMetrics()),
      ingest_queue_(std::make_unique<IngestQueue>()),
      counting_upgrade_(UpgradeCountingRules(*store).status()),
      // Counters the upgrade left unfinished, or counted by a newer rule,
      // are not evaluated: the server refuses to start on this status.
      signals_(std::make_unique<SignalBook>(store, &metrics_, &denominators_,
                                            counting_upgrade_.ok())) {}

absl::StatusOr<v1::Trial> Monitor::LoadTrial(const storage::ReadView& view,
                                             const std::string& trial_id) {
  return internal::LoadTrial(view, trial_id);
}

absl::StatusOr<v1::Trial> Monitor::CreateTrial(
    const v1::CreateTrialRequest& request, const CallInfo& call) {
  if (!request.has_trial())
    return errors::InvalidArgument("trial", "is required");
  AESIGNAL_ASSIGN_OR_RETURN(v1::Trial trial,
                            ValidateAndNormalizeTrial(request.trial()));
  *trial.mutable_create_time() = NowProto();
  *trial.mutable_update_time() = trial.create_time();
  trial.set_version(1);
  v1::Trial result;
  AESIGNAL_RETURN_IF_ERROR(
      store_.Commit([&](storage::Txn& txn) -> absl::Status {
        const std::string key = storage::TrialKey(trial.trial_id());
        auto existing = txn.Get(Cf::kTrials, key);
        if (!existing.ok()) return existing.status();
        if (existing->has_value()) {
          AESIGNAL_ASSIGN_OR_RETURN(v1::Trial stored,
                                    Parse<v1::Trial>(**existing, "trial"));
          if (!MessageDifferencer::Equals(Content(stored), Content(trial))) {
            return errors::AlreadyExists(
                "trial", absl::StrCat("trials/", trial.trial_id()),
                absl::StrCat("trial '", trial.trial_id(),
                             "' already exists (version ", stored.version(),
                             ") with different content; change it with "
                             "UpdateTrial"));
          }
          result = std::move(stored);  // identical: idempotent
          return absl::OkStatus();
        }
        txn.Put(Cf::kTrials, key, trial.SerializeAsString());
        AESIGNAL_ASSIGN_OR_RETURN(
            storage::AuditWriter audit,
            storage::AuditWriter::Begin(txn, trial.trial_id()));
        audit.Append(AuditOf(
            call, trial.create_time(), audit_action::kTrialCreate, trial.name(),
            1,
            absl::StrCat(trial.dose_groups_size(), " dose groups, ",
                         trial.timepoints_size(), " timepoints, ",
                         trial.sites_size(), " sites: ", trial.title())));
        result = trial;
        return absl::OkStatus();
      }));
  return TrialForOutput(std::move(result));
}

absl::StatusOr<v1::Trial> Monitor::GetTrial(
    const v1::GetTrialRequest& request) {
  AESIGNAL_ASSIGN_OR_RETURN(std::string trial_id,
                            ParseTrialName(request.name(), "name"));
  AESIGNAL_ASSIGN_OR_RETURN(v1::Trial trial,
                            LoadTrial(store_.Latest(), trial_id));
  return TrialForOutput(std::move(trial));
}

absl::StatusOr<v1::Trial> Monitor::UpdateTrial(
    const v1::UpdateTrialRequest& request, const CallInfo& call) {
  AESIGNAL_ASSIGN_OR_RETURN(std::string trial_id, AmendedTrialId(request));
  const google::protobuf::Timestamp now = NowProto();
  v1::Trial result;
  // The denominators' shape follows the dose groups and timepoints.
  denominators_.BeginWrite(trial_id);
  const absl::Cleanup end_write = [&] { denominators_.EndWrite(trial_id); };
  AESIGNAL_RETURN_IF_ERROR(store_.Commit([&](storage::Txn& txn) {
    AESIGNAL_ASSIGN_OR_RETURN(v1::Trial stored, LoadTrial(txn, trial_id));
    AESIGNAL_ASSIGN_OR_RETURN(Amendment amendment, AmendTrial(stored, request));
    if (!amendment.changed) {
      result = std::move(amendment.trial);  // identical: nothing to write
      return absl::OkStatus();
    }
    *amendment.trial.mutable_update_time() = now;
    txn.Put(Cf::kTrials, storage::TrialKey(trial_id),
            amendment.trial.SerializeAsString());
    AESIGNAL_ASSIGN_OR_RETURN(storage::AuditWriter audit,
                              storage::AuditWriter::Begin(txn, trial_id));
    audit.Append(AuditOf(call, now, audit_action::kTrialAmend,
                         amendment.trial.name(), amendment.trial.version(),
                         amendment.changes));
    // Every row is evaluated again under the amended design and policy.
    const v1::ChangeRef change =
        internal::ChangeRefOf(audit_action::kTrialAmend, amendment.trial.name(),
                              amendment.trial.version());
    AESIGNAL_RETURN_IF_ERROR(
        internal::MarkAllTermsDirty(txn, trial_id, &change));
    result = std::move(amendment.trial);
    return absl::OkStatus();
  }));
  signals_->OnBatchCommitted();
  return TrialForOutput(std::move(result));
}

absl::StatusOr<v1::ListTrialsResponse> Monitor::ListTrials(
    const v1::ListTrialsRequest& request) {
  AESIGNAL_ASSIGN_OR_RETURN(
      int page_size, PageSize(request.page_size(), 50, 1000, "page_size"));
  std::string start;
  if (!request.page_token().empty()) {
    AESIGNAL_ASSIGN_OR_RETURN(std::string last, DecodePageToken(request));
    start = storage::TrialKey(last) + '\0';
  }
  v1::ListTrialsResponse response;
  absl::Status error;
  bool more = false;
  AESIGNAL_RETURN_IF_ERROR(store_.Latest().Scan(
      Cf::kTrials, "", start, [&](std::string_view, std::string_view value) {
        if (response.trials_size() == page_size) {
          more = true;
          return false;
        }
        auto trial = Parse<v1::Trial>(value, "trial");
        if (!trial.ok()) {
          error = trial.status();
          return false;
        }
        *response.add_trials() = TrialForOutput(*std::move(trial));
        return true;
      }));
  AESIGNAL_RETURN_IF_ERROR(error);
  if (more) {
    response.set_next_page_token(EncodePageToken(
        request, response.trials(response.trials_size() - 1).trial_id()));
  }
  return response;
}

// --- Subjects
// ------------------------------------------------------------------

namespace {

// The checks of an EnrollSubjects request that need no stored state: its
// size, the caller's sites, and each subject against the trial design.
absl::Status CheckEnrollRequest(const v1::EnrollSubjectsRequest& request,
                                const CallInfo& call) {
  if (request.subjects().empty()) {
    return errors::InvalidArgument("subjects",
                                   "at least one subject is required");
  }
  if (request.subjects_size() > kMaxSubjectsPerRequest) {
    return errors::InvalidArgument(
        "subjects",
        absl::StrCat("at most ", kMaxSubjectsPerRequest,
                     " subjects per request, got ", request.subjects_size()));
  }
  for (int i = 0; i < request.subjects_size(); ++i) {
    AESIGNAL_RETURN_IF_ERROR(
        CheckSite(call, request.subjects(i).site_id(),
                  absl::StrCat("subjects[", i, "].site_id")));
  }
  return absl::OkStatus();
}

absl::Status ValidateSubjects(const v1::Trial& trial,
                              const v1::EnrollSubjectsRequest& request) {
  std::vector<errors::FieldViolation> violations;
  std::map<std::string, int> first_index;
  for (int i = 0; i < request.subjects_size(); ++i) {
    const std::string path = absl::StrCat("subjects[", i, "]");
    ValidateSubject(trial, request.subjects(i), path, &violations);
    auto [it, inserted] =
        first_index.try_emplace(request.subjects(i).subject_id(), i);
    if (!inserted) {
      violations.push_back({path + ".subject_id",
                            absl::StrCat("duplicates subjects[", it->second,
                                         "] in this request")});
    }
  }
  if (!violations.empty()) return errors::InvalidArgument(violations);
  return absl::OkStatus();
}

// What a new version of a stored subject changes. A new dose group, or a
// lower last contact day, is a correction of what was recorded (a
// randomization or data entry error), which must say why; follow-up that
// grows, or a new status, is an update.
struct SubjectChange {
  bool any = false;      // anything stored changes: a new version
  bool group = false;    // the dose group is corrected
  bool lowered = false;  // the last contact day is lowered
  bool correction() const { return group || lowered; }
};

SubjectChange ChangeOf(const v1::Subject& stored, const v1::Subject& s) {
  SubjectChange change;
  change.group = s.dose_group_id() != stored.dose_group_id();
  change.lowered = s.last_contact_day() < stored.last_contact_day();
  // A retry of a correction repeats its reason: the same version again.
  const bool same_reason = s.correction_reason().empty() ||
                           s.correction_reason() == stored.correction_reason();
  change.any =
      change.group || s.last_contact_day() != stored.last_contact_day() ||
      s.status() != stored.status() ||
      s.withdrawal_reason() != stored.withdrawal_reason() || !same_reason;
  return change;
}

// The rules of a new version of a stored subject: its site never changes
// (its reports are filed under it); a correction says why, and only a
// correction carries a reason, so the trail never shows one for a change
// that corrected nothing.
void CheckReenrollment(const v1::Subject& stored, const v1::Subject& s,
                       const SubjectChange& change, const std::string& path,
                       std::vector<errors::FieldViolation>* violations) {
  if (stored.site_id() != s.site_id()) {
    violations->push_back(
        {path + ".site_id",
         absl::StrCat("subject is enrolled at site '", stored.site_id(),
                      "'; the site cannot change")});
  }
  if (!change.any) return;
  const bool has_reason = !s.correction_reason().empty();
  if (change.group && !has_reason) {
    violations->push_back(
        {path + ".dose_group_id",
         absl::StrCat("subject is enrolled in dose group '",
                      stored.dose_group_id(),
                      "'; a new dose group is a correction and needs "
                      "correction_reason")});
  }
  if (change.lowered && !has_reason) {
    violations->push_back(
        {path + ".last_contact_day",
         absl::StrCat("stored last contact day is ", stored.last_contact_day(),
                      "; lowering it is a correction and needs "
                      "correction_reason")});
  }
  if (change.correction() && has_reason && s.version() != stored.version()) {
    // A correction names the version it corrects, so that a late retry of
    // an old correction cannot undo a later change.
    violations->push_back(
        {path + ".version",
         s.version() == 0
             ? absl::StrCat("is required with correction_reason: the version "
                            "being corrected (now ",
                            stored.version(), ")")
             : absl::StrCat("corrects version ", s.version(),
                            ", but the subject is at version ",
                            stored.version(), " now: read it again")});
  }
  if (!change.correction() && has_reason) {
    violations->push_back(
        {path + ".correction_reason",
         "is only for a version that changes dose_group_id or lowers "
         "last_contact_day"});
  }
}

// Enrolls or updates every subject of a validated request in one
// transaction, all or nothing: a stateful violation fails the whole request.
class Enrollment {
 public:
  Enrollment(storage::Txn& txn, const std::string& trial_id,
             const CallInfo& call, google::protobuf::Timestamp now,
             v1::EnrollSubjectsResponse* response)
      : txn_(txn),
        trial_id_(trial_id),
        call_(call),
        now_(std::move(now)),
        response_(*response) {}

  absl::Status Run(const v1::EnrollSubjectsRequest& request) {
    response_.Clear();
    for (int i = 0; i < request.subjects_size(); ++i) {
      AESIGNAL_RETURN_IF_ERROR(
          Enroll(request.subjects(i), absl::StrCat("subjects[", i, "]")));
    }
    if (!violations_.empty()) return errors::InvalidArgument(violations_);
    AESIGNAL_RETURN_IF_ERROR(MoveGroups());
    if (last_change_.has_value()) {
      // Denominators changed: every row with events is re-evaluated.
      AESIGNAL_RETURN_IF_ERROR(
          internal::MarkAllTermsDirty(txn_, trial_id_, &*last_change_));
    }
    return absl::OkStatus();
  }

 private:
  struct GroupMove {
    std::string subject_id;
    std::string from, to;  // dose group ids
  };

  // The corrected subjects' reports now count in their new groups. The
  // trial is read again on the committer: an amendment committed since the
  // request was validated may have appended timepoints (states then have
  // more windows) or groups (appended, so the ids stay where they were).
  absl::Status MoveGroups() {
    if (moves_.empty()) return absl::OkStatus();
    AESIGNAL_ASSIGN_OR_RETURN(const v1::Trial trial,
                              internal::LoadTrial(txn_, trial_id_));
    storage::GroupMoves moves;
    for (const GroupMove& move : moves_) {
      const int from = DoseGroupIndex(trial, move.from);
      const int to = DoseGroupIndex(trial, move.to);
      if (from < 0 || to < 0) {
        return absl::DataLossError(
            "a corrected subject's group left the trial");
      }
      moves[move.subject_id] = {.from = from, .to = to};
    }
    return storage::MoveSubjectGroups(txn_, trial_id_, trial.timepoints_size(),
                                      moves);
  }

  absl::Status Enroll(v1::Subject s, const std::string& path) {
    s.set_status(NormalStatus(s.status()));
    s.set_name(
        absl::StrCat(TrialName(trial_id_), "/subjects/", s.subject_id()));
    const std::string key = storage::SubjectKey(trial_id_, s.subject_id());
    AESIGNAL_ASSIGN_OR_RETURN(std::optional<std::string> existing,
                              txn_.Get(Cf::kSubjects, key));
    std::optional<v1::Subject> stored;
    if (existing.has_value()) {
      AESIGNAL_ASSIGN_OR_RETURN(stored,
                                Parse<v1::Subject>(*existing, "subject"));
    }
    if (!stored.has_value()) {
      if (!s.correction_reason().empty()) {
        violations_.push_back(
            {path + ".correction_reason",
             "is only for a version that corrects an enrolled subject"});
      }
      s.set_version(1);
      response_.set_created_count(response_.created_count() + 1);
      return Store(std::move(s), audit_action::kSubjectEnroll, "");
    }
    const SubjectChange change = ChangeOf(*stored, s);
    CheckReenrollment(*stored, s, change, path, &violations_);
    if (!change.any) {
      *response_.add_subjects() = *std::move(stored);
      response_.set_unchanged_count(response_.unchanged_count() + 1);
      return absl::OkStatus();
    }
    if (change.group) {
      moves_.push_back(
          {s.subject_id(), stored->dose_group_id(), s.dose_group_id()});
    }
    s.set_version(stored->version() + 1);
    response_.set_updated_count(response_.updated_count() + 1);
    if (!change.correction())
      return Store(std::move(s), audit_action::kSubjectUpdate, "");
    return Store(std::move(s), audit_action::kSubjectCorrect,
                 Corrected(*stored, s, change));
  }

  // "; corrected dose group A -> B, last contact day 200 -> 20"
  static std::string Corrected(const v1::Subject& stored, const v1::Subject& s,
                               const SubjectChange& change) {
    std::vector<std::string> what;
    if (change.group) {
      what.push_back(absl::StrCat("dose group ", stored.dose_group_id(), " -> ",
                                  s.dose_group_id()));
    }
    if (change.lowered) {
      what.push_back(absl::StrCat("last contact day ",
                                  stored.last_contact_day(), " -> ",
                                  s.last_contact_day()));
    }
    return absl::StrCat("; corrected ", absl::StrJoin(what, ", "));
  }

  absl::Status Store(v1::Subject s, const char* action,
                     const std::string& correction) {
    *s.mutable_update_time() = now_;
    AESIGNAL_RETURN_IF_ERROR(Audit(s, action, correction));
    NoteChange(action, s);
    const std::string key = storage::SubjectKey(trial_id_, s.subject_id());
    txn_.Put(Cf::kSubjects, key, s.SerializeAsString());
    txn_.Put(Cf::kSubjectHistory,
             storage::SubjectHistoryKey(trial_id_, s.subject_id(), s.version()),
             s.SerializeAsString());
    *response_.add_subjects() = std::move(s);
    return absl::OkStatus();
  }

  void NoteChange(const std::string& action, const v1::Subject& s) {
    constexpr std::string_view kCorrect = audit_action::kSubjectCorrect;
    if (action == kCorrect || !last_change_.has_value() ||
        last_change_->action() != kCorrect) {
      last_change_ = internal::ChangeRefOf(action, s.name(), s.version());
    }
  }

  absl::Status Audit(const v1::Subject& s, const char* action,
                     const std::string& correction) {
    if (!audit_.has_value()) {
      AESIGNAL_ASSIGN_OR_RETURN(audit_,
                                storage::AuditWriter::Begin(txn_, trial_id_));
    }
    audit_->Append(AuditOf(
        call_, now_, action,
        absl::StrCat("trials/", trial_id_, "/subjects/", s.subject_id()),
        s.version(),
        absl::StrCat("site ", s.site_id(), ", group ", s.dose_group_id(),
                     ", last contact day ", s.last_contact_day(), ", ",
                     v1::FollowUpStatus_Name(s.status()), correction),
        s.correction_reason()));
    return absl::OkStatus();
  }

  storage::Txn& txn_;
  const std::string& trial_id_;
  const CallInfo& call_;
  const google::protobuf::Timestamp now_;
  v1::EnrollSubjectsResponse& response_;
  std::optional<storage::AuditWriter> audit_;  // begun by the first record
  std::vector<errors::FieldViolation> violations_;
  std::vector<GroupMove> moves_;  // applied once every subject passed
  // The change the dirty marks name: the request's last correction, else its
  // last change (one request may enrol a whole cohort).
  std::optional<v1::ChangeRef> last_change_;
};

}  // namespace

absl::StatusOr<v1::EnrollSubjectsResponse> Monitor::EnrollSubjects(
    const v1::EnrollSubjectsRequest& request, const CallInfo& call) {
  AESIGNAL_ASSIGN_OR_RETURN(std::string trial_id,
                            ParseTrialName(request.parent(), "parent"));
  AESIGNAL_RETURN_IF_ERROR(CheckEnrollRequest(request, call));
  AESIGNAL_ASSIGN_OR_RETURN(v1::Trial trial,
                            LoadTrial(store_.Latest(), trial_id));
  AESIGNAL_RETURN_IF_ERROR(ValidateSubjects(trial, request));

  v1::EnrollSubjectsResponse response;
  denominators_.BeginWrite(trial_id);
  const absl::Cleanup end_write = [&] { denominators_.EndWrite(trial_id); };
  AESIGNAL_RETURN_IF_ERROR(store_.Commit([&](storage::Txn& txn) {
    // Stamped on the committer, as reports are: the versions' times follow
    // commit order, which cut-offs (as_of) rely on.
    return Enrollment(txn, trial_id, call, NowProto(), &response).Run(request);
  }));
  if (response.created_count() + response.updated_count() > 0) {
    signals_->OnBatchCommitted();
  }
  return response;
}

namespace {

// ListSubjects at a data cut-off: every subject as of it is read (the
// history holds every version, so there is no current-version key to page
// through), then paged by subject_id.
absl::StatusOr<v1::ListSubjectsResponse> ListSubjectsAsOf(
    const storage::ReadView& view, const std::string& trial_id,
    const v1::ListSubjectsRequest& request, int page_size) {
  std::string after;
  if (!request.page_token().empty()) {
    AESIGNAL_ASSIGN_OR_RETURN(after, DecodePageToken(request));
  }
  AESIGNAL_ASSIGN_OR_RETURN(
      std::vector<v1::Subject> subjects,
      internal::ReadSubjectsAsOf(view, trial_id, request.as_of()));
  v1::ListSubjectsResponse response;
  response.set_total_size(static_cast<int>(subjects.size()));
  auto it = std::upper_bound(subjects.begin(), subjects.end(), after,
                             [](const std::string& id, const v1::Subject& s) {
                               return id < s.subject_id();
                             });
  for (; it != subjects.end() && response.subjects_size() < page_size; ++it) {
    *response.add_subjects() = std::move(*it);
  }
  if (it != subjects.end()) {
    response.set_next_page_token(EncodePageToken(
        request, response.subjects(response.subjects_size() - 1).subject_id()));
  }
  return response;
}

}  // namespace

absl::StatusOr<v1::ListSubjectsResponse> Monitor::ListSubjects(
    const v1::ListSubjectsRequest& request) {
  AESIGNAL_ASSIGN_OR_RETURN(std::string trial_id,
                            ParseTrialName(request.parent(), "parent"));
  AESIGNAL_ASSIGN_OR_RETURN(
      int page_size, PageSize(request.page_size(), 100, 10000, "page_size"));
  if (request.has_as_of()) {
    AESIGNAL_RETURN_IF_ERROR(internal::CheckAsOf(request.as_of()));
    auto snapshot = store_.Snapshot();
    AESIGNAL_RETURN_IF_ERROR(LoadTrial(*snapshot, trial_id).status());
    return ListSubjectsAsOf(*snapshot, trial_id, request, page_size);
  }
  storage::ReadView view = store_.Latest();
  AESIGNAL_RETURN_IF_ERROR(LoadTrial(view, trial_id).status());
  std::string start;
  if (!request.page_token().empty()) {
    AESIGNAL_ASSIGN_OR_RETURN(std::string last, DecodePageToken(request));
    start = storage::SubjectKey(trial_id, last) + '\0';
  }
  v1::ListSubjectsResponse response;
  absl::Status error;
  bool more = false;
  AESIGNAL_RETURN_IF_ERROR(
      view.Scan(Cf::kSubjects, storage::TrialPrefix(trial_id), start,
                [&](std::string_view, std::string_view value) {
                  if (response.subjects_size() == page_size) {
                    more = true;
                    return false;
                  }
                  auto subject = Parse<v1::Subject>(value, "subject");
                  if (!subject.ok()) {
                    error = subject.status();
                    return false;
                  }
                  *response.add_subjects() = *std::move(subject);
                  return true;
                }));
  AESIGNAL_RETURN_IF_ERROR(error);
  if (more) {
    response.set_next_page_token(EncodePageToken(
        request, response.subjects(response.subjects_size() - 1).subject_id()));
  }
  // Every subject of the trial, counted by key (nothing is parsed).
  int total = 0;
  AESIGNAL_RETURN_IF_ERROR(view.Scan(Cf::kSubjects,
                                     storage::TrialPrefix(trial_id), "",
                                     [&](std::string_view, std::string_view) {
                                       ++total;
                                       return true;
                                     }));
  response.set_total_size(total);
  return response;
}

// --- Ingest
// --------------------------------------------------------------------

void Monitor::SubmitReportsAsync(v1::SubmitReportsRequest request,
                                 SubmitDone reply, const CallInfo& call) {
  // Every outcome passes through the metrics on its way to the caller.
  SubmitDone done = [metrics = &metrics_, reports = request.reports_size(),
                     received = absl::Now(), reply = std::move(reply)](
                        absl::StatusOr<v1::SubmitReportsResponse> result) {
    if (result.ok()) {
      metrics->BatchCommitted(*result, absl::Now() - received);
    } else {
      metrics->BatchRefused(result.status().code(), reports);
    }
    reply(std::move(result));
  };
  auto trial_id = ParseTrialName(request.parent(), "parent");
  if (!trial_id.ok()) return done(trial_id.status());
  if (request.reports().empty()) {
    return done(
        errors::InvalidArgument("reports", "at least one report is required"));
  }
  if (request.reports_size() > kMaxReportsPerBatch) {
    return done(errors::InvalidArgument(
        "reports",
        absl::StrCat("at most ", kMaxReportsPerBatch,
                     " reports per batch, got ", request.reports_size())));
  }
  for (int i = 0; i < request.reports_size(); ++i) {
    absl::Status site = CheckSite(call, request.reports(i).site_id(),
                                  absl::StrCat("reports[", i, "].site_id"));
    if (!site.ok()) return done(site);
  }
  auto trial = LoadTrial(store_.Latest(), *trial_id);
  if (!trial.ok()) return done(trial.status());

  auto batch = std::make_shared<Batch>();
  batch->trial_id = *std::move(trial_id);
  batch->trial = *std::move(trial);
  batch->request = std::move(request);
  batch->call = call;
  ValidateBatch(*batch);
  denominators_.BeginWrite(batch->trial_id);
  ingest_queue_->Add(batch);
  store_.CommitAsync(
      [queue = ingest_queue_.get(), batch](storage::Txn& txn) {
        return queue->Apply(txn, batch);
      },
      [this, batch, signals = signals_.get(), queue = ingest_queue_.get(),
       done = std::move(done)](absl::Status status) {
        denominators_.EndWrite(batch->trial_id);
        if (!status.ok()) {
          queue->Forget(batch);
          return done(status);
        }
        if (batch->changed_rows) signals->OnBatchCommitted();
        Tally(batch->response);
        done(std::move(batch->response));
      });
}

absl::StatusOr<v1::SubmitReportsResponse> Monitor::SubmitReports(
    const v1::SubmitReportsRequest& request, const CallInfo& call) {
  absl::StatusOr<v1::SubmitReportsResponse> result;
  absl::Notification finished;
  SubmitReportsAsync(
      request,
      [&](absl::StatusOr<v1::SubmitReportsResponse> r) {
        result = std::move(r);
        finished.Notify();
      },
      call);
  finished.WaitForNotification();
  return result;
}

// --- Queries
// -------------------------------------------------------------------

absl::StatusOr<v1::GetIncidenceResponse> Monitor::GetIncidence(
    const v1::GetIncidenceRequest& request) {
  AESIGNAL_ASSIGN_OR_RETURN(internal::IncidenceQuery query,
                            internal::ParseIncidenceQuery(request));
  if (query.as_of.has_value()) {
    // Subjects and reports as they stood at the cut-off; the cache holds
    // only the current denominators.
    std::unique_ptr<storage::SnapshotView> view = store_.Snapshot();
    AESIGNAL_ASSIGN_OR_RETURN(v1::Trial trial,
                              LoadTrial(*view, query.trial_id));
    AESIGNAL_ASSIGN_OR_RETURN(
        std::vector<v1::GetIncidenceResponse> answers,
        internal::AnswerIncidenceAtCutOff(*view, {request}, {query}, trial));
    return std::move(answers.front());
  }
  // One snapshot for counters (or reports) and denominators, so they agree.
  const DenominatorCache::Probe probe = denominators_.Take(query.trial_id);
  std::unique_ptr<storage::SnapshotView> view = store_.Snapshot();
  AESIGNAL_ASSIGN_OR_RETURN(v1::Trial trial, LoadTrial(*view, query.trial_id));
  AESIGNAL_ASSIGN_OR_RETURN(Denominators denominators,
                            denominators_.At(*view, trial, probe));
  return internal::AnswerIncidence(*view, request, query, trial, denominators);
}

absl::StatusOr<std::vector<v1::GetIncidenceResponse>>
Monitor::GetIncidenceTablesAtCutOff(
    const std::vector<v1::GetIncidenceRequest>& requests) {
  std::vector<internal::IncidenceQuery> queries;
  for (v1::GetIncidenceRequest request : requests) {
    // Whole tables: the paging fields are ignored, so not parsed either.
    request.clear_page_size();
    request.clear_page_token();
    AESIGNAL_ASSIGN_OR_RETURN(internal::IncidenceQuery query,
                              internal::ParseIncidenceQuery(request));
    if (!query.as_of.has_value()) {
      return errors::InvalidArgument(
          "as_of", "tables read together are counted at a data cut-off");
    }
    if (!queries.empty() && query.trial_id != queries.front().trial_id) {
      return errors::InvalidArgument(
          "parent", "every table read together must be of the same trial");
    }
    if (!queries.empty() && *query.as_of != *queries.front().as_of) {
      return errors::InvalidArgument(
          "as_of", "every table read together needs the same data cut-off");
    }
    query.page_size = std::numeric_limits<int>::max();  // the whole table
    queries.push_back(std::move(query));
  }
  if (requests.empty()) return std::vector<v1::GetIncidenceResponse>();
  std::unique_ptr<storage::SnapshotView> view = store_.Snapshot();
  AESIGNAL_ASSIGN_OR_RETURN(v1::Trial trial,
                            LoadTrial(*view, queries.front().trial_id));
  return internal::AnswerIncidenceAtCutOff(*view, requests, queries, trial);
}

absl::StatusOr<storage::VerifySummary> Monitor::VerifyCounters(
    const std::string& trial_id) {
  AESIGNAL_RETURN_IF_ERROR(counting_upgrade_);
  std::unique_ptr<storage::SnapshotView> view = store_.Snapshot();
  AESIGNAL_ASSIGN_OR_RETURN(v1::Trial trial, LoadTrial(*view, trial_id));
  // The recount puts each report in the rows of the same rule ingest uses,
  // and in its subject's group at the same snapshot.
  AESIGNAL_ASSIGN_OR_RETURN(const storage::SubjectGroups groups,
                            ReadSubjectGroups(*view, trial));
  return storage::VerifyCounters(
      *view, trial_id, trial.timepoints_size(),
      [](const v1::AdverseEventReport& report) { return CountedRows(report); },
      groups);
}

absl::Status Monitor::RecordDsmbReport(const std::string& trial_id,
                                       const CallInfo& call,
                                       std::string details) {
  const google::protobuf::Timestamp now = NowProto();
  return store_.Commit([&](storage::Txn& txn) -> absl::Status {
    AESIGNAL_RETURN_IF_ERROR(LoadTrial(txn, trial_id).status());
    AESIGNAL_ASSIGN_OR_RETURN(storage::AuditWriter audit,
                              storage::AuditWriter::Begin(txn, trial_id));
    audit.Append(AuditOf(call, now, audit_action::kDsmbReportGenerate,
                         absl::StrCat("trials/", trial_id, "/dsmbReport"), 0,
                         details));
    return absl::OkStatus();
  });
}

absl::StatusOr<v1::GetAuditTrailResponse> Monitor::GetAuditTrail(
    const v1::GetAuditTrailRequest& request) {
  AESIGNAL_ASSIGN_OR_RETURN(std::string trial_id,
                            ParseTrialName(request.parent(), "parent"));
  AESIGNAL_ASSIGN_OR_RETURN(
      int page_size, PageSize(request.page_size(), 100, 1000, "page_size"));
  int64_t after = 0;
  if (!request.page_token().empty()) {
    AESIGNAL_ASSIGN_OR_RETURN(std::string bytes, DecodePageToken(request));
    if (!absl::SimpleAtoi(bytes, &after)) {
      return errors::InvalidArgument("page_token",
                                     "is not a token this server issued");
    }
  }
  // An action no writer uses would match nothing, which reads as "never
  // happened"; a misspelt filter is refused instead.
  if (!request.action().empty() && !audit_action::IsKnown(request.action())) {
    return errors::InvalidArgument(
        "action",
        absl::StrCat("'", request.action(), "' is not an audit action (one of ",
                     absl::StrJoin(audit_action::kAll, ", "), ")"));
  }
  auto view = store_.Snapshot();
  AESIGNAL_RETURN_IF_ERROR(LoadTrial(*view, trial_id).status());
  v1::GetAuditTrailResponse response;
  int64_t last = after;
  bool more = false;
  AESIGNAL_RETURN_IF_ERROR(
      storage::ReadAudit(*view, trial_id, after, [&](v1::AuditRecord record) {
        if (response.records_size() == page_size) {
          more = true;
          return false;
        }
        last = record.sequence();
        if (!request.action().empty() && record.action() != request.action()) {
          return true;
        }
        if (!request.principal().empty() &&
            record.principal() != request.principal()) {
          return true;
        }
        if (!absl::StartsWith(record.resource(), request.resource_prefix())) {
          return true;
        }
        *response.add_records() = std::move(record);
        return true;
      }));
  if (more) {
    response.set_next_page_token(EncodePageToken(request, absl::StrCat(last)));
  }
  return response;
}

absl::Status Monitor::CreateBackup(const std::string& destination) {
  if (destination.empty()) {
    return errors::InvalidArgument("destination", "is required");
  }
  // A relative path would be resolved against the server's working
  // directory, which the caller neither sees nor chose.
  if (!std::filesystem::path(destination).is_absolute()) {
    return errors::InvalidArgument(
        "destination", "must be an absolute path on the server's filesystem");
  }
  return store_.Checkpoint(destination);
}

}  // namespace aesignal::domain
