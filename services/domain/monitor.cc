#include "services/monitor/monitor.h"

#include <map>
#include <memory>
#include <set>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "google/protobuf/util/message_differencer.h"
#include "google/protobuf/util/time_util.h"
#include "services/monitor/common.h"
#include "services/monitor/errors.h"
#include "services/monitor/validation.h"
#include "services/signal/binomial_ci.h"
#include "storage/audit.h"
#include "storage/incidence.h"
#include "storage/keys.h"
#include "storage/records.pb.h"
#include "storage/reports.h"
#include "storage/signals.h"

namespace aesignal::monitor {
namespace {

using internal::DecodePageToken;
using internal::Denominators;
using internal::EncodePageToken;
using internal::NowProto;
using internal::PageSize;
using internal::Parse;
using internal::ReadDenominators;

using google::protobuf::util::MessageDifferencer;
using storage::Cf;
using storage::Level;
using storage::TermKey;

// Trial content as CreateTrial compares it (output-only fields cleared).
v1::Trial Content(v1::Trial t) {
  t.clear_create_time();
  t.clear_name();
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
  // Term rows whose counters this batch changed, with the last report that
  // changed each: they are marked for signal evaluation in the same write.
  // Per row: (group, window) -> (report_id, version).
  std::map<TermKey,
           std::map<std::pair<int, int>, std::pair<std::string, uint32_t>>>
      dirty_terms;
  CallInfo call;  // for the audit trail
};

std::string ReportName(const std::string& trial_id,
                       const v1::AdverseEventReport& r) {
  return absl::StrCat("trials/", trial_id, "/reports/", r.site_id(), "/",
                      r.report_id());
}

std::string ReportSummary(const v1::AdverseEventReport& r) {
  return absl::StrCat("subject ", r.subject_id(), ": ", r.pt(), " (", r.soc(),
                      "), grade ", r.grade(), r.serious() ? ", serious" : "",
                      r.has_onset_study_day()
                          ? absl::StrCat(", onset day ", r.onset_study_day())
                          : absl::StrCat(", timepoint ", r.timepoint_id()));
}

void NoteDirty(Batch& batch, const v1::AdverseEventReport& report, int group,
               int window, const v1::AdverseEventReport& trigger) {
  for (TermKey& term : storage::TermsOf(report)) {
    batch.dirty_terms[std::move(term)][{group, window}] = {trigger.report_id(),
                                                           trigger.version()};
  }
}

void SetRejected(v1::ReportResult* result, absl::StatusCode code,
                 std::string field, std::string reason) {
  result->set_status(v1::REPORT_STATUS_REJECTED);
  result->set_code(static_cast<int>(code));
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
      SetRejected(result, rejection->code, rejection->field, rejection->reason);
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

// The stateful half, run on the committer thread: subject and version checks,
// then the report and its counter changes go into the transaction.
absl::Status ApplyBatch(storage::Txn& txn, Batch& batch) {
  const int num_windows = batch.trial.timepoints_size();
  const google::protobuf::Timestamp now = NowProto();
  std::map<std::string, std::optional<v1::Subject>> subjects;
  std::optional<storage::AuditWriter> audit;
  auto audit_report = [&](const v1::AdverseEventReport& r,
                          const char* action) -> absl::Status {
    if (!audit.has_value()) {
      auto writer = storage::AuditWriter::Begin(txn, batch.trial_id);
      if (!writer.ok()) return writer.status();
      audit = *std::move(writer);
    }
    audit->Append(AuditOf(batch.call, now, action,
                          ReportName(batch.trial_id, r), r.version(),
                          ReportSummary(r)));
    return absl::OkStatus();
  };

  for (int i = 0; i < batch.request.reports_size(); ++i) {
    if (!batch.valid[i].has_value()) continue;
    const v1::AdverseEventReport& r = batch.request.reports(i);
    v1::ReportResult* result = batch.response.mutable_results(i);
    const std::string path = absl::StrCat("reports[", i, "]");

    // The subject, as enrolled.
    auto sit = subjects.find(r.subject_id());
    if (sit == subjects.end()) {
      auto bytes = txn.Get(Cf::kSubjects,
                           storage::SubjectKey(batch.trial_id, r.subject_id()));
      if (!bytes.ok()) return bytes.status();
      std::optional<v1::Subject> subject;
      if (bytes->has_value()) {
        AESIGNAL_ASSIGN_OR_RETURN(subject,
                                  Parse<v1::Subject>(**bytes, "subject"));
      }
      sit = subjects.emplace(r.subject_id(), std::move(subject)).first;
    }
    if (!sit->second.has_value()) {
      SetRejected(result, absl::StatusCode::kNotFound, path + ".subject_id",
                  absl::StrCat("subject '", r.subject_id(),
                               "' is not enrolled in trial ", batch.trial_id));
      continue;
    }
    const v1::Subject& subject = *sit->second;
    if (subject.site_id() != r.site_id()) {
      SetRejected(
          result, absl::StatusCode::kInvalidArgument, path + ".site_id",
          absl::StrCat("subject '", r.subject_id(), "' is enrolled at site '",
                       subject.site_id(), "'"));
      continue;
    }
    if (!r.dose_group_id().empty() &&
        r.dose_group_id() != subject.dose_group_id()) {
      SetRejected(result, absl::StatusCode::kInvalidArgument,
                  path + ".dose_group_id",
                  absl::StrCat("subject '", r.subject_id(),
                               "' is enrolled in dose group '",
                               subject.dose_group_id(), "'"));
      continue;
    }

    // Version checks.
    auto same_version = storage::ReadReportVersion(
        txn, batch.trial_id, r.site_id(), r.report_id(), r.version());
    if (!same_version.ok()) return same_version.status();
    if (same_version->has_value()) {
      if (MessageDifferencer::Equals((*same_version)->report(), r)) {
        result->set_status(v1::REPORT_STATUS_DUPLICATE);
      } else {
        SetRejected(
            result, absl::StatusCode::kAlreadyExists, path + ".version",
            absl::StrCat("version ", r.version(), " of report '", r.report_id(),
                         "' is already stored with different content; "
                         "send a follow-up with a higher version"));
      }
      continue;
    }
    auto newest = storage::ReadNewestReport(txn, batch.trial_id, r.site_id(),
                                            r.report_id());
    if (!newest.ok()) return newest.status();
    const std::optional<storage::StoredReport>& previous = *newest;
    if (previous.has_value() &&
        previous->report().subject_id() != r.subject_id()) {
      SetRejected(
          result, absl::StatusCode::kInvalidArgument, path + ".subject_id",
          absl::StrCat("report '", r.report_id(), "' belongs to subject '",
                       previous->report().subject_id(),
                       "'; a follow-up cannot change the subject"));
      continue;
    }

    storage::StoredReport stored;
    *stored.mutable_report() = r;
    stored.set_window(batch.valid[i]->window);
    stored.set_dose_group(DoseGroupIndex(batch.trial, subject.dose_group_id()));
    *stored.mutable_receive_time() = now;

    if (previous.has_value() && previous->report().version() > r.version()) {
      // History only: the newer stored version stays counted.
      stored.set_superseded_on_arrival(true);
      storage::WriteReportVersion(txn, batch.trial_id, stored,
                                  /*newest=*/false);
      AESIGNAL_RETURN_IF_ERROR(audit_report(r, "report.history"));
      result->set_status(v1::REPORT_STATUS_SUPERSEDED);
      continue;
    }

    storage::Placement added_at{r.subject_id(), stored.dose_group(),
                                stored.window()};
    if (previous.has_value()) {
      NoteDirty(batch, previous->report(), previous->dose_group(),
                previous->window(), r);
    }
    NoteDirty(batch, r, stored.dose_group(), stored.window(), r);
    if (previous.has_value()) {
      storage::Placement removed_at{previous->report().subject_id(),
                                    previous->dose_group(), previous->window()};
      AESIGNAL_RETURN_IF_ERROR(storage::ApplyReportChange(
          txn, batch.trial_id, num_windows, &previous->report(), &removed_at,
          &r, &added_at));
    } else {
      AESIGNAL_RETURN_IF_ERROR(storage::ApplyReportChange(
          txn, batch.trial_id, num_windows, nullptr, nullptr, &r, &added_at));
    }
    storage::WriteReportVersion(txn, batch.trial_id, stored, /*newest=*/true);
    AESIGNAL_RETURN_IF_ERROR(audit_report(r, "report.store"));
    result->set_status(v1::REPORT_STATUS_ACCEPTED);
  }
  for (const auto& [term, by_cell] : batch.dirty_terms) {
    std::vector<storage::CellReport> cells;
    cells.reserve(by_cell.size());
    for (const auto& [cell, trigger] : by_cell) {
      cells.push_back({cell.first, cell.second, trigger.first, trigger.second});
    }
    const auto& last = by_cell.rbegin()->second;
    AESIGNAL_RETURN_IF_ERROR(storage::MarkTermDirty(
        txn, batch.trial_id, term, last.first, last.second, cells));
  }
  return absl::OkStatus();
}

// Marks every term row of the trial that has counters for re-evaluation.
absl::Status MarkAllTermsDirty(storage::Txn& txn, const std::string& trial_id) {
  const std::string prefix = storage::TrialPrefix(trial_id);
  std::vector<TermKey> terms;
  absl::Status error;
  AESIGNAL_RETURN_IF_ERROR(txn.Scan(
      Cf::kCounters, prefix, "", [&](std::string_view key, std::string_view) {
        auto parts = storage::DecodeCounterRowKey(key);
        if (!parts.has_value()) {
          error = absl::DataLossError("malformed counter row key");
          return false;
        }
        terms.push_back(std::move(parts->term));
        return true;
      }));
  AESIGNAL_RETURN_IF_ERROR(error);
  for (const TermKey& term : terms) {
    AESIGNAL_RETURN_IF_ERROR(
        storage::MarkTermDirty(txn, trial_id, term, "", 0));
  }
  return absl::OkStatus();
}

// PERMISSION_DENIED if a restricted caller (a site) names a site that is not
// its own: the whole request is refused and nothing is stored.
absl::Status CheckSite(const CallInfo& call, const std::string& site_id,
                       const std::string& field) {
  if (call.sites.empty() || std::find(call.sites.begin(), call.sites.end(),
                                      site_id) != call.sites.end()) {
    return absl::OkStatus();
  }
  return absl::PermissionDeniedError(
      absl::StrCat(field, ": principal '", call.principal,
                   "' may not write data of site '", site_id, "'"));
}

void Tally(v1::SubmitReportsResponse& response) {
  int counts[5] = {0, 0, 0, 0, 0};
  for (const auto& r : response.results()) ++counts[r.status()];
  response.set_accepted_count(counts[v1::REPORT_STATUS_ACCEPTED]);
  response.set_duplicate_count(counts[v1::REPORT_STATUS_DUPLICATE]);
  response.set_superseded_count(counts[v1::REPORT_STATUS_SUPERSEDED]);
  response.set_rejected_count(counts[v1::REPORT_STATUS_REJECTED]);
}

// --- Incidence ---------------------------------------------------------------

struct OverallRow {
  std::string key;
  std::string label;
};

std::vector<OverallRow> OverallRows(const v1::Trial& trial) {
  std::vector<OverallRow> rows = {
      {storage::kAnyAe, "Any AE"},
      {storage::kAnySae, "Any serious AE"},
      {storage::kGrade3Plus, "Any grade >= 3 AE"},
      {storage::kRelated, "Any related AE (possible, probable, definite)"},
  };
  for (const auto& c : trial.aesi_categories()) {
    rows.push_back(
        {absl::StrCat(storage::kAesiPrefix, c), absl::StrCat("AESI: ", c)});
  }
  return rows;
}

// Clopper-Pearson intervals, memoized: an incidence table asks for the same
// few (x, n) pairs thousands of times (denominators are per dose group and
// timepoint, counts small), and each costs two inverse-beta evaluations.
// Thread-safe; bounded by clearing when full.
absl::StatusOr<signal::ProportionInterval> CachedClopperPearson(int64_t x,
                                                                int64_t n,
                                                                double level) {
  static absl::Mutex mu(absl::kConstInit);
  static auto* cache ABSL_GUARDED_BY(mu) =
      new absl::flat_hash_map<std::tuple<int64_t, int64_t, double>,
                              signal::ProportionInterval>();
  const auto key = std::make_tuple(x, n, level);
  {
    absl::MutexLock lock(&mu);
    if (auto it = cache->find(key); it != cache->end()) return it->second;
  }
  auto ci = signal::ClopperPearson(x, n, level);
  if (!ci.ok()) return ci;
  absl::MutexLock lock(&mu);
  if (cache->size() >= 1 << 20) cache->clear();
  cache->emplace(key, *ci);
  return ci;
}

// The intervals of one query: a table of 1,000 terms asks for 120,000
// estimates over a few dozen distinct (x, n) pairs, so a local map in front of
// the process-wide cache saves its lock on all but the first sight of a pair.
// Not thread-safe; one per query.
class IntervalMemo {
 public:
  explicit IntervalMemo(double level) : level_(level) {}

  absl::StatusOr<signal::ProportionInterval> Get(int64_t x, int64_t n) {
    if (auto it = memo_.find({x, n}); it != memo_.end()) return it->second;
    auto ci = CachedClopperPearson(x, n, level_);
    if (ci.ok()) memo_.emplace(std::make_pair(x, n), *ci);
    return ci;
  }

 private:
  const double level_;
  absl::flat_hash_map<std::pair<int64_t, int64_t>, signal::ProportionInterval>
      memo_;
};

absl::Status FillEstimate(int64_t subjects, int64_t events, int64_t n,
                          IntervalMemo& intervals, v1::Estimate* out) {
  auto ci = intervals.Get(subjects, n);
  if (!ci.ok()) {
    return absl::InternalError(absl::StrCat("inconsistent counters: ", subjects,
                                            " subjects of ", n, ": ",
                                            ci.status().message()));
  }
  out->set_subjects(subjects);
  out->set_events(events);
  out->set_denominator(n);
  out->set_proportion(ci->estimate);
  out->set_ci_lower(ci->lower);
  out->set_ci_upper(ci->upper);
  return absl::OkStatus();
}

absl::Status BuildTermIncidence(const v1::Trial& trial,
                                const storage::TermCounters& counters,
                                const Denominators& d, IntervalMemo& intervals,
                                v1::TermIncidence* out) {
  const int num_groups = trial.dose_groups_size();
  const int num_windows = trial.timepoints_size();
  out->mutable_cells()->Reserve((num_groups + 1) * num_windows);
  // Group rows, then the all-groups total (index num_groups).
  for (int g = 0; g <= num_groups; ++g) {
    const bool total = g == num_groups;
    int64_t cum_subjects = 0, cum_events = 0;
    for (int w = 0; w < num_windows; ++w) {
      int64_t interval_subjects = 0, interval_events = 0, new_subjects = 0;
      int64_t dosed = 0, at_risk = 0;
      for (int gg = total ? 0 : g; gg < (total ? num_groups : g + 1); ++gg) {
        const storage::CellCounts& c = counters.cells[gg * num_windows + w];
        interval_subjects += c.interval_subjects;
        interval_events += c.events;
        new_subjects += c.new_subjects;
        dosed += d.dosed[gg];
        at_risk += d.at_risk[gg * num_windows + w];
      }
      cum_subjects += new_subjects;
      cum_events += interval_events;
      v1::IncidenceCell* cell = out->add_cells();
      // The total's dose_group_id is "", proto3's default: left unset, it
      // costs no string.
      if (!total) cell->set_dose_group_id(trial.dose_groups(g).dose_group_id());
      cell->set_timepoint_id(trial.timepoints(w).timepoint_id());
      cell->set_n_dosed(dosed);
      cell->set_n_at_risk(at_risk);
      AESIGNAL_RETURN_IF_ERROR(FillEstimate(cum_subjects, cum_events, dosed,
                                            intervals,
                                            cell->mutable_cumulative()));
      AESIGNAL_RETURN_IF_ERROR(FillEstimate(interval_subjects, interval_events,
                                            at_risk, intervals,
                                            cell->mutable_interval()));
    }
  }
  return absl::OkStatus();
}

}  // namespace

// --- Trials
// --------------------------------------------------------------------

absl::StatusOr<v1::Trial> Monitor::LoadTrial(const storage::ReadView& view,
                                             const std::string& trial_id) {
  return internal::LoadTrial(view, trial_id);
}

void Monitor::BeginDenominatorWrite(const std::string& trial_id) {
  absl::MutexLock lock(&denominators_mu_);
  DenominatorState& state = denominators_[trial_id];
  ++state.generation;
  ++state.in_flight;
}

void Monitor::EndDenominatorWrite(const std::string& trial_id) {
  absl::MutexLock lock(&denominators_mu_);
  DenominatorState& state = denominators_[trial_id];
  ++state.generation;
  --state.in_flight;
}

absl::StatusOr<v1::Trial> Monitor::CreateTrial(
    const v1::CreateTrialRequest& request, const CallInfo& call) {
  if (!request.has_trial()) return InvalidArgument("trial", "is required");
  AESIGNAL_ASSIGN_OR_RETURN(v1::Trial trial,
                            ValidateAndNormalizeTrial(request.trial()));
  *trial.mutable_create_time() = NowProto();
  v1::Trial result;
  AESIGNAL_RETURN_IF_ERROR(store_.Commit([&](storage::Txn& txn)
                                             -> absl::Status {
    const std::string key = storage::TrialKey(trial.trial_id());
    auto existing = txn.Get(Cf::kTrials, key);
    if (!existing.ok()) return existing.status();
    if (existing->has_value()) {
      AESIGNAL_ASSIGN_OR_RETURN(v1::Trial stored,
                                Parse<v1::Trial>(**existing, "trial"));
      if (!MessageDifferencer::Equals(Content(stored), Content(trial))) {
        return absl::AlreadyExistsError(absl::StrCat(
            "trial '", trial.trial_id(),
            "' already exists with different content; trials are immutable"));
      }
      result = std::move(stored);  // identical: idempotent
      return absl::OkStatus();
    }
    txn.Put(Cf::kTrials, key, trial.SerializeAsString());
    AESIGNAL_ASSIGN_OR_RETURN(
        storage::AuditWriter audit,
        storage::AuditWriter::Begin(txn, trial.trial_id()));
    audit.Append(
        AuditOf(call, trial.create_time(), "trial.create", trial.name(), 1,
                absl::StrCat(trial.dose_groups_size(), " dose groups, ",
                             trial.timepoints_size(), " timepoints, ",
                             trial.sites_size(), " sites: ", trial.title())));
    result = trial;
    return absl::OkStatus();
  }));
  return result;
}

absl::StatusOr<v1::Trial> Monitor::GetTrial(
    const v1::GetTrialRequest& request) {
  AESIGNAL_ASSIGN_OR_RETURN(std::string trial_id,
                            ParseTrialName(request.name(), "name"));
  return LoadTrial(store_.Latest(), trial_id);
}

absl::StatusOr<v1::ListTrialsResponse> Monitor::ListTrials(
    const v1::ListTrialsRequest& request) {
  AESIGNAL_ASSIGN_OR_RETURN(
      int page_size, PageSize(request.page_size(), 50, 1000, "page_size"));
  std::string start;
  if (!request.page_token().empty()) {
    AESIGNAL_ASSIGN_OR_RETURN(std::string last,
                              DecodePageToken(request.page_token()));
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
        *response.add_trials() = *std::move(trial);
        return true;
      }));
  AESIGNAL_RETURN_IF_ERROR(error);
  if (more) {
    response.set_next_page_token(EncodePageToken(
        response.trials(response.trials_size() - 1).trial_id()));
  }
  return response;
}

// --- Subjects
// ------------------------------------------------------------------

absl::StatusOr<v1::EnrollSubjectsResponse> Monitor::EnrollSubjects(
    const v1::EnrollSubjectsRequest& request, const CallInfo& call) {
  AESIGNAL_ASSIGN_OR_RETURN(std::string trial_id,
                            ParseTrialName(request.parent(), "parent"));
  if (request.subjects().empty()) {
    return InvalidArgument("subjects", "at least one subject is required");
  }
  if (request.subjects_size() > kMaxSubjectsPerRequest) {
    return InvalidArgument(
        "subjects",
        absl::StrCat("at most ", kMaxSubjectsPerRequest,
                     " subjects per request, got ", request.subjects_size()));
  }
  for (int i = 0; i < request.subjects_size(); ++i) {
    AESIGNAL_RETURN_IF_ERROR(
        CheckSite(call, request.subjects(i).site_id(),
                  absl::StrCat("subjects[", i, "].site_id")));
  }
  AESIGNAL_ASSIGN_OR_RETURN(v1::Trial trial,
                            LoadTrial(store_.Latest(), trial_id));
  std::vector<FieldViolation> violations;
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
  if (!violations.empty()) return InvalidArgument(violations);

  v1::EnrollSubjectsResponse response;
  const google::protobuf::Timestamp now = NowProto();
  BeginDenominatorWrite(trial_id);
  const absl::Cleanup end_write = [&] { EndDenominatorWrite(trial_id); };
  AESIGNAL_RETURN_IF_ERROR(store_.Commit([&](storage::Txn& txn)
                                             -> absl::Status {
    response.Clear();
    std::optional<storage::AuditWriter> audit;
    std::vector<FieldViolation> stateful;
    for (int i = 0; i < request.subjects_size(); ++i) {
      const std::string path = absl::StrCat("subjects[", i, "]");
      v1::Subject s = request.subjects(i);
      s.set_status(NormalStatus(s.status()));
      s.set_name(
          absl::StrCat(TrialName(trial_id), "/subjects/", s.subject_id()));
      const std::string key = storage::SubjectKey(trial_id, s.subject_id());
      auto existing = txn.Get(Cf::kSubjects, key);
      if (!existing.ok()) return existing.status();
      if (existing->has_value()) {
        AESIGNAL_ASSIGN_OR_RETURN(v1::Subject stored,
                                  Parse<v1::Subject>(**existing, "subject"));
        if (stored.site_id() != s.site_id()) {
          stateful.push_back(
              {path + ".site_id",
               absl::StrCat("subject is enrolled at site '", stored.site_id(),
                            "'; the site cannot change")});
        }
        if (stored.dose_group_id() != s.dose_group_id()) {
          stateful.push_back(
              {path + ".dose_group_id",
               absl::StrCat("subject is enrolled in dose group '",
                            stored.dose_group_id(),
                            "'; the dose group cannot change")});
        }
        if (s.last_contact_day() < stored.last_contact_day()) {
          stateful.push_back(
              {path + ".last_contact_day",
               absl::StrCat("follow-up can only grow: stored last contact day "
                            "is ",
                            stored.last_contact_day())});
        }
        if (s.last_contact_day() == stored.last_contact_day() &&
            s.status() == stored.status()) {
          *response.add_subjects() = stored;
          response.set_unchanged_count(response.unchanged_count() + 1);
          continue;
        }
        s.set_version(stored.version() + 1);
        response.set_updated_count(response.updated_count() + 1);
      } else {
        s.set_version(1);
        response.set_created_count(response.created_count() + 1);
      }
      *s.mutable_update_time() = now;
      if (!audit.has_value()) {
        AESIGNAL_ASSIGN_OR_RETURN(audit,
                                  storage::AuditWriter::Begin(txn, trial_id));
      }
      audit->Append(AuditOf(
          call, now, s.version() == 1 ? "subject.enroll" : "subject.update",
          absl::StrCat("trials/", trial_id, "/subjects/", s.subject_id()),
          s.version(),
          absl::StrCat("site ", s.site_id(), ", group ", s.dose_group_id(),
                       ", last contact day ", s.last_contact_day(), ", ",
                       v1::FollowUpStatus_Name(s.status()))));
      txn.Put(Cf::kSubjects, key, s.SerializeAsString());
      txn.Put(Cf::kSubjectHistory,
              storage::SubjectHistoryKey(trial_id, s.subject_id(), s.version()),
              s.SerializeAsString());
      *response.add_subjects() = std::move(s);
    }
    if (!stateful.empty()) return InvalidArgument(stateful);
    if (response.created_count() + response.updated_count() > 0) {
      // Denominators changed: every row with events is re-evaluated.
      AESIGNAL_RETURN_IF_ERROR(MarkAllTermsDirty(txn, trial_id));
    }
    return absl::OkStatus();
  }));
  if (response.created_count() + response.updated_count() > 0) {
    signals_->OnBatchCommitted();
  }
  return response;
}

absl::StatusOr<v1::ListSubjectsResponse> Monitor::ListSubjects(
    const v1::ListSubjectsRequest& request) {
  AESIGNAL_ASSIGN_OR_RETURN(std::string trial_id,
                            ParseTrialName(request.parent(), "parent"));
  AESIGNAL_ASSIGN_OR_RETURN(
      int page_size, PageSize(request.page_size(), 100, 10000, "page_size"));
  storage::ReadView view = store_.Latest();
  AESIGNAL_RETURN_IF_ERROR(LoadTrial(view, trial_id).status());
  std::string start;
  if (!request.page_token().empty()) {
    AESIGNAL_ASSIGN_OR_RETURN(std::string last,
                              DecodePageToken(request.page_token()));
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
        response.subjects(response.subjects_size() - 1).subject_id()));
  }
  return response;
}

// --- Ingest
// --------------------------------------------------------------------

void Monitor::SubmitReportsAsync(const v1::SubmitReportsRequest& request,
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
    return done(InvalidArgument("reports", "at least one report is required"));
  }
  if (request.reports_size() > kMaxReportsPerBatch) {
    return done(InvalidArgument(
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
  batch->request = request;
  batch->call = call;
  ValidateBatch(*batch);
  BeginDenominatorWrite(batch->trial_id);
  store_.CommitAsync(
      [batch](storage::Txn& txn) { return ApplyBatch(txn, *batch); },
      [this, batch, signals = signals_.get(),
       done = std::move(done)](absl::Status status) {
        EndDenominatorWrite(batch->trial_id);
        if (!status.ok()) return done(status);
        if (!batch->dirty_terms.empty()) signals->OnBatchCommitted();
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

namespace {

// The one term a GetIncidence request names (soc/pt/overall_key by level).
absl::StatusOr<TermKey> RequestedTerm(const v1::GetIncidenceRequest& request,
                                      Level level, const v1::Trial& trial) {
  TermKey term;
  term.level = level;
  switch (level) {
    case Level::kPt:
      if (request.soc().empty() || request.pt().empty()) {
        return InvalidArgument("pt", "a PT row is named by its soc and pt");
      }
      term.soc = request.soc();
      term.pt = request.pt();
      break;
    case Level::kSoc:
      if (request.soc().empty() || !request.pt().empty()) {
        return InvalidArgument("soc", "a SOC row is named by soc alone");
      }
      term.soc = request.soc();
      break;
    case Level::kOverall: {
      bool known = false;
      for (const OverallRow& row : OverallRows(trial)) {
        known = known || row.key == request.overall_key();
      }
      if (!known) {
        return InvalidArgument("overall_key", "is not an overall row key");
      }
      term.overall = request.overall_key();
      break;
    }
  }
  return term;
}

std::string OverallLabel(const v1::Trial& trial, const std::string& key) {
  for (const OverallRow& row : OverallRows(trial)) {
    if (row.key == key) return row.label;
  }
  return key;
}

}  // namespace

absl::StatusOr<v1::GetIncidenceResponse> Monitor::GetIncidence(
    const v1::GetIncidenceRequest& request) {
  AESIGNAL_ASSIGN_OR_RETURN(std::string trial_id,
                            ParseTrialName(request.parent(), "parent"));
  Level level;
  switch (request.level()) {
    case v1::TERM_LEVEL_PT:
      level = Level::kPt;
      break;
    case v1::TERM_LEVEL_SOC:
      level = Level::kSoc;
      break;
    case v1::TERM_LEVEL_OVERALL:
      level = Level::kOverall;
      break;
    default:
      return InvalidArgument("level", "must be PT, SOC or OVERALL");
  }
  const double confidence =
      request.confidence_level() == 0 ? 0.95 : request.confidence_level();
  if (!(confidence > 0 && confidence < 1)) {
    return InvalidArgument("confidence_level", "must be in (0, 1)");
  }
  AESIGNAL_ASSIGN_OR_RETURN(
      int page_size, PageSize(request.page_size(), 100, 1000, "page_size"));
  std::optional<TermKey> after;
  if (!request.page_token().empty()) {
    AESIGNAL_ASSIGN_OR_RETURN(std::string bytes,
                              DecodePageToken(request.page_token()));
    std::string_view in = bytes;
    TermKey term;
    if (!storage::ConsumeTerm(&in, &term) || !in.empty() ||
        term.level != level) {
      return InvalidArgument("page_token",
                             "is not a token of this query's level");
    }
    after = std::move(term);
  }

  // One snapshot for counters and denominators, so they agree; the
  // denominators come from the cache if no write that changes them was in
  // flight from before the snapshot to after it (see BeginDenominatorWrite).
  uint64_t generation = 0;
  bool stable_before = false;
  std::optional<Denominators> cached;
  {
    absl::MutexLock lock(&denominators_mu_);
    const DenominatorState& state = denominators_[trial_id];
    generation = state.generation;
    stable_before = state.in_flight == 0;
    if (stable_before && state.cached_generation == generation) {
      cached = state.cached;
    }
  }
  std::unique_ptr<storage::SnapshotView> view = store_.Snapshot();
  bool stable_across = false;
  {
    absl::MutexLock lock(&denominators_mu_);
    const DenominatorState& state = denominators_[trial_id];
    stable_across =
        stable_before && state.in_flight == 0 && state.generation == generation;
  }
  AESIGNAL_ASSIGN_OR_RETURN(v1::Trial trial, LoadTrial(*view, trial_id));
  Denominators denominators;
  if (cached.has_value() && stable_across) {
    denominators = *std::move(cached);
  } else {
    AESIGNAL_ASSIGN_OR_RETURN(denominators, ReadDenominators(*view, trial));
    if (stable_across) {
      // The snapshot holds exactly the state of `generation`.
      absl::MutexLock lock(&denominators_mu_);
      DenominatorState& state = denominators_[trial_id];
      if (state.generation == generation && state.in_flight == 0) {
        state.cached = denominators;
        state.cached_generation = generation;
      }
    }
  }
  const int num_groups = trial.dose_groups_size();
  const int num_windows = trial.timepoints_size();

  if (!request.dose_group_id().empty() &&
      DoseGroupIndex(trial, request.dose_group_id()) < 0) {
    return InvalidArgument("dose_group_id", "is not a dose group of the trial");
  }
  if (!request.timepoint_id().empty() &&
      TimepointIndex(trial, request.timepoint_id()) < 0) {
    return InvalidArgument("timepoint_id", "is not a timepoint of the trial");
  }
  std::optional<TermKey> only;
  if (!request.soc().empty() || !request.pt().empty() ||
      !request.overall_key().empty()) {
    AESIGNAL_ASSIGN_OR_RETURN(only, RequestedTerm(request, level, trial));
  }

  std::vector<storage::TermCounters> rows;
  std::vector<std::string> labels;
  bool more = false;
  if (only.has_value()) {
    AESIGNAL_ASSIGN_OR_RETURN(
        storage::TermCounters counters,
        storage::ReadOneTerm(*view, trial_id, *only, num_groups, num_windows));
    rows.push_back(std::move(counters));
    labels.push_back(level == Level::kPt ? only->pt
                     : level == Level::kSoc
                         ? only->soc
                         : OverallLabel(trial, only->overall));
  } else if (level == Level::kOverall) {
    // Every overall row is shown, zero or not, in a fixed clinical order.
    const std::vector<OverallRow> all = OverallRows(trial);
    size_t begin = 0;
    if (after.has_value()) {
      while (begin < all.size() && all[begin].key != after->overall) ++begin;
      if (begin == all.size()) {
        return InvalidArgument("page_token", "unknown overall row");
      }
      ++begin;
    }
    for (size_t i = begin; i < all.size(); ++i) {
      if (static_cast<int>(rows.size()) == page_size) {
        more = true;
        break;
      }
      TermKey term;
      term.level = Level::kOverall;
      term.overall = all[i].key;
      AESIGNAL_ASSIGN_OR_RETURN(
          storage::TermCounters counters,
          storage::ReadOneTerm(*view, trial_id, term, num_groups, num_windows));
      rows.push_back(std::move(counters));
      labels.push_back(all[i].label);
    }
  } else {
    AESIGNAL_ASSIGN_OR_RETURN(
        rows, storage::ReadTermCounters(
                  *view, trial_id, level, num_groups, num_windows,
                  after.has_value() ? storage::EncodeTerm(*after) : "",
                  page_size, &more));
    for (const auto& row : rows) {
      labels.push_back(level == Level::kPt ? row.term.pt : row.term.soc);
    }
  }

  v1::GetIncidenceResponse response;
  response.set_confidence_level(confidence);
  IntervalMemo intervals(confidence);
  for (size_t i = 0; i < rows.size(); ++i) {
    v1::TermIncidence* term = response.add_terms();
    term->set_level(request.level());
    term->set_soc(rows[i].term.soc);
    term->set_pt(rows[i].term.pt);
    term->set_overall_key(rows[i].term.overall);
    term->set_label(labels[i]);
    AESIGNAL_RETURN_IF_ERROR(
        BuildTermIncidence(trial, rows[i], denominators, intervals, term));
    if (!request.dose_group_id().empty() || !request.timepoint_id().empty()) {
      auto* cells = term->mutable_cells();
      cells->erase(std::remove_if(cells->begin(), cells->end(),
                                  [&](const v1::IncidenceCell& cell) {
                                    return (!request.dose_group_id().empty() &&
                                            cell.dose_group_id() !=
                                                request.dose_group_id()) ||
                                           (!request.timepoint_id().empty() &&
                                            cell.timepoint_id() !=
                                                request.timepoint_id());
                                  }),
                   cells->end());
    }
  }
  if (more && !rows.empty()) {
    response.set_next_page_token(
        EncodePageToken(storage::EncodeTerm(rows.back().term)));
  }
  return response;
}

absl::Status Monitor::VerifyCounters(const std::string& trial_id) {
  std::unique_ptr<storage::SnapshotView> view = store_.Snapshot();
  AESIGNAL_ASSIGN_OR_RETURN(v1::Trial trial, LoadTrial(*view, trial_id));
  return storage::VerifyCounters(*view, trial_id, trial.timepoints_size());
}

absl::StatusOr<v1::GetAuditTrailResponse> Monitor::GetAuditTrail(
    const v1::GetAuditTrailRequest& request) {
  AESIGNAL_ASSIGN_OR_RETURN(std::string trial_id,
                            ParseTrialName(request.parent(), "parent"));
  AESIGNAL_ASSIGN_OR_RETURN(
      int page_size, PageSize(request.page_size(), 100, 1000, "page_size"));
  int64_t after = 0;
  if (!request.page_token().empty()) {
    AESIGNAL_ASSIGN_OR_RETURN(std::string bytes,
                              DecodePageToken(request.page_token()));
    if (!absl::SimpleAtoi(bytes, &after)) {
      return InvalidArgument("page_token", "is not a token this server issued");
    }
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
  if (more) response.set_next_page_token(EncodePageToken(absl::StrCat(last)));
  return response;
}

}  // namespace aesignal::monitor
