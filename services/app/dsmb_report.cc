#include "services/app/dsmb_report.h"

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "services/domain/incidence_rows.h"
#include "services/domain/validation.h"
#include "services/errors/errors.h"
#include "services/report/dsmb_report.h"

namespace aesignal::app {
namespace {

absl::Time TimeOf(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

// What the audit trail says of a report given: "closed session, coded with
// a key; cut-off 2026-11-01T00:00:00Z; since ...; generated ...;
// sha256:..." (never the key itself).
std::string AuditDetails(const v1::GenerateDsmbReportRequest& request,
                         const v1::DsmbReport& report) {
  using google::protobuf::util::TimeUtil;
  std::string details = request.session() == v1::DSMB_SESSION_CLOSED
                            ? "closed session"
                            : "open session";
  if (request.coded()) {
    absl::StrAppend(&details, request.coding_key().empty()
                                  ? ", coded"
                                  : ", coded with a key");
  } else if (!request.coding_key().empty()) {
    // The report then prints which letter is which group: the decoding the
    // statistician holds, worth knowing who was given.
    absl::StrAppend(&details, ", with the decoding of a coding key");
  }
  absl::StrAppend(&details, "; cut-off ", TimeUtil::ToString(request.cutoff()));
  if (request.has_since()) {
    absl::StrAppend(&details, "; since ", TimeUtil::ToString(request.since()));
  }
  // The generation time as the printed copy shows it (to the second): with
  // it and the hash a reader finds the copy's record. (The record's own time
  // is when it was appended, after the render, in the trail's order.)
  absl::StrAppend(&details, "; generated ",
                  aesignal::report::PrintedTime(report.generate_time()), "; ",
                  report.content_hash());
  return details;
}

constexpr size_t kMinCodingKeyLength = 16;
constexpr size_t kMaxCodingKeyLength = 256;

absl::Status CheckRequest(const v1::GenerateDsmbReportRequest& request,
                          absl::Time now) {
  std::vector<errors::FieldViolation> violations;
  if (!absl::StartsWith(request.parent(), "trials/")) {
    violations.push_back({"parent", "must be trials/{trial_id}"});
  }
  if (!request.has_cutoff()) {
    violations.push_back({"cutoff", "required: the data cut-off"});
  } else if (TimeOf(request.cutoff()) > now) {
    violations.push_back({"cutoff", "is in the future"});
  }
  if (request.session() != v1::DSMB_SESSION_OPEN &&
      request.session() != v1::DSMB_SESSION_CLOSED) {
    violations.push_back(
        {"session", "required: DSMB_SESSION_OPEN or DSMB_SESSION_CLOSED"});
  }
  if (request.has_since() && request.has_cutoff() &&
      TimeOf(request.since()) >= TimeOf(request.cutoff())) {
    violations.push_back({"since", "must be before the cutoff"});
  }
  if (request.coded() && request.session() != v1::DSMB_SESSION_CLOSED) {
    violations.push_back({"coded", "only for a closed session"});
  }
  // The key is a secret: its violations never quote it.
  const std::string& key = request.coding_key();
  if (!key.empty() && request.session() != v1::DSMB_SESSION_CLOSED) {
    violations.push_back({"coding_key", "only for a closed session"});
  } else if (!key.empty() && (absl::ascii_isspace(key.front()) ||
                              absl::ascii_isspace(key.back()))) {
    // A copied key with a stray space would give other letters.
    violations.push_back(
        {"coding_key", "must not start or end with white space"});
  } else if (!key.empty() && (key.size() < kMinCodingKeyLength ||
                              key.size() > kMaxCodingKeyLength)) {
    violations.push_back(
        {"coding_key",
         absl::StrCat("must be ", kMinCodingKeyLength, "-", kMaxCodingKeyLength,
                      " bytes, got ", key.size(),
                      " (a random one, e.g. `openssl rand -hex 16`: a short "
                      "or guessable key lets a reader decode the letters)")});
  }
  if (violations.empty()) return absl::OkStatus();
  return errors::InvalidArgument(violations);
}

// Calls `call(request)` page after page, following next_page_token, and
// `take(page)` with each answer (which it may move from).
template <typename Request, typename Call, typename Take>
absl::Status ForEachPage(Request request, const Call& call, const Take& take) {
  do {
    auto page = call(request);
    if (!page.ok()) return page.status();
    request.set_page_token(page->next_page_token());
    take(*page);
  } while (!request.page_token().empty());
  return absl::OkStatus();
}

// Whole incidence tables at the report's cut-off, read together: one pass
// over the trial's report versions for all of them, where a GetIncidence
// per table (and per page) makes one each (docs/benchmarks.md, "DSMB
// report").
class TableBatch {
 public:
  // `into` receives the answer and must stay where it is until Read.
  void Add(v1::GetIncidenceRequest request, v1::GetIncidenceResponse* into) {
    requests_.push_back(std::move(request));
    into_.push_back(into);
  }
  absl::Status Read(IncidenceApp& incidence, const CallContext& context) {
    if (requests_.empty()) return absl::OkStatus();  // e.g. no topics
    AESIGNAL_ASSIGN_OR_RETURN(
        std::vector<v1::GetIncidenceResponse> answers,
        incidence.GetIncidenceTablesAtCutOff(context, requests_));
    for (size_t i = 0; i < answers.size(); ++i) {
      *into_[i] = std::move(answers[i]);
    }
    return absl::OkStatus();
  }

 private:
  std::vector<v1::GetIncidenceRequest> requests_;
  std::vector<v1::GetIncidenceResponse*> into_;
};

class Gatherer {
 public:
  Gatherer(TrialsApp& trials, IncidenceApp& incidence, SignalsApp& signals,
           const CallContext& context,
           const v1::GenerateDsmbReportRequest& request)
      : trials_(trials),
        incidence_(incidence),
        signals_(signals),
        context_(context),
        request_(request) {}

  absl::StatusOr<report::DsmbInputs> Gather();

 private:
  v1::GetIncidenceRequest Incidence(v1::TermLevel level) const {
    v1::GetIncidenceRequest r;
    r.set_parent(request_.parent());
    r.set_level(level);
    *r.mutable_as_of() = request_.cutoff();
    return r;
  }
  absl::Status Subjects(report::DsmbInputs& in);
  absl::Status Tables(report::DsmbInputs& in);
  void AddSubset(v1::IncidenceSubset subset, const std::string& category,
                 report::SubsetTables& tables, TableBatch& batch);
  absl::StatusOr<v1::ListReportsResponse> AllReports(
      const google::protobuf::Timestamp& as_of);
  absl::Status Reports(report::DsmbInputs& in);
  absl::StatusOr<std::vector<v1::SignalTopic>> Topics(
      const google::protobuf::Timestamp& as_of);
  absl::Status TopicsAtCutOff(report::DsmbInputs& in);
  absl::Status Prespecified(report::DsmbInputs& in);
  absl::Status Baselines(report::DsmbInputs& in);
  absl::Status TopicIncidence(report::DsmbInputs& in);

  TrialsApp& trials_;
  IncidenceApp& incidence_;
  SignalsApp& signals_;
  const CallContext& context_;
  const v1::GenerateDsmbReportRequest& request_;
  bool closed_ = false;
  bool has_control_ = false;
};

absl::Status Gatherer::Subjects(report::DsmbInputs& in) {
  v1::ListSubjectsRequest list;
  list.set_parent(request_.parent());
  list.set_page_size(10000);
  *list.mutable_as_of() = request_.cutoff();
  return ForEachPage(
      list,
      [&](const v1::ListSubjectsRequest& r) {
        return trials_.ListSubjects(context_, r);
      },
      [&](v1::ListSubjectsResponse& page) {
        for (auto& subject : *page.mutable_subjects()) {
          in.subjects.push_back(std::move(subject));
        }
      });
}

// Adds the SOC and PT tables of `subset` (of AESI `category`) to `batch`.
void Gatherer::AddSubset(v1::IncidenceSubset subset,
                         const std::string& category,
                         report::SubsetTables& tables, TableBatch& batch) {
  for (auto [level, target] : {std::pair{v1::TERM_LEVEL_SOC, &tables.soc},
                               std::pair{v1::TERM_LEVEL_PT, &tables.pt}}) {
    v1::GetIncidenceRequest r = Incidence(level);
    r.set_subset(subset);
    r.set_aesi_category(category);
    batch.Add(std::move(r), target);
  }
}

absl::Status Gatherer::Tables(report::DsmbInputs& in) {
  // Grades are CTCAE grades unless the trial says how else they were
  // assigned (the methods section then prints how).
  in.subsets = {
      {.id = "t07_sae_soc_pt",
       .title = "Serious adverse events by system organ class and preferred "
                "term"},
      {.id = "t08_related_soc_pt",
       .title = "Related adverse events by system organ class and preferred "
                "term"},
      {.id = "t09_grade3_soc_pt",
       .title = absl::StrCat(
           "Adverse events of ",
           in.trial.grading().empty() ? "CTCAE grade" : "grade",
           " 3 or higher by system organ class and preferred term")}};
  for (int i = 0; i < in.trial.aesi_categories_size(); ++i) {
    const std::string& category = in.trial.aesi_categories(i);
    in.aesi_labels[category] = domain::AesiCategoryLabel(category);
    in.aesi.push_back(
        {.id = absl::StrCat("t11_aesi_", i + 1),
         .title = absl::StrCat("Adverse events of special interest: ",
                               in.aesi_labels[category])});
  }
  // Every table in one pass over the versions (in.subsets and in.aesi no
  // longer grow, so the answers' addresses hold).
  TableBatch batch;
  v1::GetIncidenceRequest overall = Incidence(v1::TERM_LEVEL_OVERALL);
  overall.set_compare_to_control(closed_ && has_control_);
  batch.Add(std::move(overall), &in.overall);
  batch.Add(Incidence(v1::TERM_LEVEL_SOC), &in.soc);
  v1::GetIncidenceRequest pt = Incidence(v1::TERM_LEVEL_PT);
  pt.set_compare_to_control(closed_ && has_control_);
  batch.Add(std::move(pt), &in.pt);
  v1::GetIncidenceRequest max_grade = Incidence(v1::TERM_LEVEL_PT);
  max_grade.set_max_grade(true);
  batch.Add(std::move(max_grade), &in.pt_max_grade);
  const v1::IncidenceSubset kSubsets[] = {v1::INCIDENCE_SUBSET_SERIOUS,
                                          v1::INCIDENCE_SUBSET_RELATED,
                                          v1::INCIDENCE_SUBSET_GRADE_3_PLUS};
  for (size_t i = 0; i < std::size(kSubsets); ++i) {
    AddSubset(kSubsets[i], "", in.subsets[i], batch);
  }
  for (int i = 0; i < in.trial.aesi_categories_size(); ++i) {
    AddSubset(v1::INCIDENCE_SUBSET_AESI, in.trial.aesi_categories(i),
              in.aesi[i], batch);
  }
  return batch.Read(incidence_, context_);
}

// Every report in one pass: paging would scan the trial once per page.
absl::StatusOr<v1::ListReportsResponse> Gatherer::AllReports(
    const google::protobuf::Timestamp& as_of) {
  v1::ListReportsRequest list;
  list.set_parent(request_.parent());
  list.set_order_by("onset_study_day");
  *list.mutable_as_of() = as_of;
  list.set_include_entered_in_error(true);  // for their own listing
  return incidence_.ListAllReports(context_, list);
}

// Per overall row: each subject's first study day with an AE the row counts
// (the report's onset day, else the first day of its timepoint's window),
// by the rule that counts reports in rows (domain::CountedRows).
std::map<std::string, std::map<std::string, int>> FirstOnsetDays(
    const v1::Trial& trial, const std::vector<v1::Report>& reports) {
  std::map<std::string, int> window_start;  // timepoint id -> its first day
  int previous = 0;
  for (const v1::Timepoint& timepoint : trial.timepoints()) {
    window_start[timepoint.timepoint_id()] = previous + 1;
    previous = timepoint.study_day();
  }
  std::map<std::string, std::map<std::string, int>> first;
  std::vector<storage::TermKey> rows;
  for (const v1::Report& report : reports) {
    const v1::AdverseEventReport& ae = report.current().report();
    const auto window = window_start.find(ae.timepoint_id());
    if (!ae.has_onset_study_day() && window == window_start.end()) continue;
    const int day =
        ae.has_onset_study_day() ? ae.onset_study_day() : window->second;
    domain::CountedRows(ae, &rows);
    for (const storage::TermKey& row : rows) {
      if (row.level != storage::Level::kOverall) continue;
      auto [it, inserted] =
          first[row.overall].try_emplace(ae.subject_id(), day);
      if (!inserted) it->second = std::min(it->second, day);
    }
  }
  return first;
}

absl::Status Gatherer::Reports(report::DsmbInputs& in) {
  AESIGNAL_ASSIGN_OR_RETURN(v1::ListReportsResponse all,
                            AllReports(request_.cutoff()));
  for (auto& report : *all.mutable_reports()) {
    (report.current().report().entered_in_error() ? in.withdrawn : in.reports)
        .push_back(std::move(report));
  }
  in.first_onset_day = FirstOnsetDays(in.trial, in.reports);
  if (!request_.has_since()) return absl::OkStatus();
  // The versions at the previous cut-off, for the listings' "since" marks.
  AESIGNAL_ASSIGN_OR_RETURN(all, AllReports(request_.since()));
  for (auto& report : *all.mutable_reports()) {
    in.reports_since.push_back(std::move(report));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<v1::SignalTopic>> Gatherer::Topics(
    const google::protobuf::Timestamp& as_of) {
  std::vector<v1::SignalTopic> topics;
  v1::ListTopicsRequest list;
  list.set_parent(request_.parent());
  list.set_page_size(1000);
  *list.mutable_as_of() = as_of;
  AESIGNAL_RETURN_IF_ERROR(ForEachPage(
      list,
      [&](const v1::ListTopicsRequest& r) {
        return signals_.ListTopics(context_, r);
      },
      [&](v1::ListTopicsResponse& page) {
        for (auto& topic : *page.mutable_topics()) {
          topics.push_back(std::move(topic));
        }
      }));
  return topics;
}

// Each topic at the cut-off with its evidence (baselines, methods) and
// history (triage), which lists leave out: all from one replay of the
// signal change log, where a GetTopic per topic replays it each time.
absl::Status Gatherer::TopicsAtCutOff(report::DsmbInputs& in) {
  v1::ListTopicsRequest list;
  list.set_parent(request_.parent());
  *list.mutable_as_of() = request_.cutoff();
  AESIGNAL_ASSIGN_OR_RETURN(in.topics,
                            signals_.GetTopicsAtCutOff(context_, list));
  return absl::OkStatus();
}

// The closed session's table of pre-specified tests: how far each
// hypothesis the protocol named is from its threshold, crossing or not.
absl::Status Gatherer::Prespecified(report::DsmbInputs& in) {
  if (!closed_) return absl::OkStatus();
  v1::ListTopicsRequest request;
  request.set_parent(request_.parent());
  *request.mutable_as_of() = request_.cutoff();
  AESIGNAL_ASSIGN_OR_RETURN(in.prespecified,
                            signals_.PrespecifiedAtCutOff(context_, request));
  return absl::OkStatus();
}

// The baselines in force at the cut-off: each in its newest version stored
// by then, none stored after (in no particular order: the report draws
// them by id).
absl::Status Gatherer::Baselines(report::DsmbInputs& in) {
  AESIGNAL_ASSIGN_OR_RETURN(
      in.baselines, signals_.BaselinesAtCutOff(context_, request_.parent(),
                                               request_.cutoff()));
  return absl::OkStatus();
}

// Each topic's term over time, for its figures, in one pass. The figures
// show the dose trend at the last timepoint only, and an exact trend test
// can take milliseconds (thousands of subjects a group), so it is asked for
// there alone, in a second request of the same pass, and joined to the
// term (docs/benchmarks.md, "With raised topics").
absl::Status Gatherer::TopicIncidence(report::DsmbInputs& in) {
  const bool trend = closed_ && in.trial.dose_groups_size() >= 3;
  const int topics = in.topics.size();
  std::vector<v1::GetIncidenceResponse> trends(trend ? topics : 0);
  TableBatch batch;
  for (int i = 0; i < topics; ++i) {
    const v1::SignalTopic& topic = in.topics[i];
    v1::GetIncidenceRequest r = Incidence(topic.level());
    r.set_soc(topic.soc());
    r.set_pt(topic.pt());
    r.set_overall_key(topic.overall_key());
    if (trend && in.trial.timepoints_size() > 0) {
      v1::GetIncidenceRequest at_last = r;
      at_last.set_dose_trend(true);
      at_last.set_timepoint_id(in.trial.timepoints().rbegin()->timepoint_id());
      batch.Add(std::move(at_last), &trends[i]);
    }
    batch.Add(std::move(r), &in.topic_incidence[topic.topic_id()]);  // a map
  }
  AESIGNAL_RETURN_IF_ERROR(batch.Read(incidence_, context_));
  for (int i = 0; i < static_cast<int>(trends.size()); ++i) {
    v1::GetIncidenceResponse& table =
        in.topic_incidence[in.topics[i].topic_id()];
    if (table.terms_size() == 1 && trends[i].terms_size() == 1) {
      *table.mutable_terms(0)->mutable_dose_trends() =
          std::move(*trends[i].mutable_terms(0)->mutable_dose_trends());
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<report::DsmbInputs> Gatherer::Gather() {
  report::DsmbInputs in;
  in.request = request_;
  in.source = "aesignald";
  v1::GetTrialRequest get;
  get.set_name(request_.parent());
  AESIGNAL_ASSIGN_OR_RETURN(in.trial, trials_.GetTrial(context_, get));
  // Nothing can have been recorded by then: a report of zeros would look
  // like an official "no events" (a mistyped year).
  if (in.trial.has_create_time() &&
      TimeOf(request_.cutoff()) < TimeOf(in.trial.create_time())) {
    return errors::InvalidArgument(
        "cutoff", absl::StrCat("is before the trial was created (",
                               google::protobuf::util::TimeUtil::ToString(
                                   in.trial.create_time()),
                               "): nothing was recorded by then"));
  }
  closed_ = request_.session() == v1::DSMB_SESSION_CLOSED;
  for (const auto& group : in.trial.dose_groups()) {
    has_control_ = has_control_ || group.control();
  }
  AESIGNAL_RETURN_IF_ERROR(Subjects(in));
  AESIGNAL_RETURN_IF_ERROR(Tables(in));
  AESIGNAL_RETURN_IF_ERROR(Reports(in));
  AESIGNAL_RETURN_IF_ERROR(TopicsAtCutOff(in));
  AESIGNAL_RETURN_IF_ERROR(Prespecified(in));
  if (request_.has_since()) {
    AESIGNAL_ASSIGN_OR_RETURN(in.topics_since, Topics(request_.since()));
  }
  AESIGNAL_RETURN_IF_ERROR(TopicIncidence(in));
  AESIGNAL_RETURN_IF_ERROR(Baselines(in));
  return in;
}

}  // namespace

absl::StatusOr<v1::DsmbReport> DsmbReportApp::GenerateDsmbReport(
    const CallContext& context, const v1::GenerateDsmbReportRequest& request) {
  AESIGNAL_RETURN_IF_ERROR(
      BeginCall(context, access::methods::kGenerateDsmbReport));
  AESIGNAL_RETURN_IF_ERROR(domain::CheckEnumValues(request));
  const absl::Time now = now_();
  AESIGNAL_RETURN_IF_ERROR(CheckRequest(request, now));
  Gatherer gatherer(trials_, incidence_, signals_, context, request);
  AESIGNAL_ASSIGN_OR_RETURN(report::DsmbInputs inputs, gatherer.Gather());
  AESIGNAL_ASSIGN_OR_RETURN(v1::DsmbReport report,
                            report::RenderDsmbReport(inputs, now));
  // Unblinded data are given only with a record of who was given them.
  AESIGNAL_RETURN_IF_ERROR(audit_.RecordDsmbReport(
      inputs.trial.trial_id(),
      access::CallOf(context.caller, access::methods::kGenerateDsmbReport),
      AuditDetails(request, report)));
  return report;
}

}  // namespace aesignal::app
