#include "aesignal/client/client.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "aesignal/client/status.h"

namespace aesignal::client {
namespace {

absl::string_view View(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

// Sends `request` and then each next_page_token until the last page,
// collecting the items `items(response)` points to.
template <typename Item, typename Request, typename Page, typename Items>
absl::StatusOr<std::vector<Item>> AllPages(Request request, Page page,
                                           Items items) {
  request.clear_page_token();
  std::vector<Item> all;
  do {
    auto response = page(request);
    if (!response.ok()) return response.status();
    for (auto& item : *items(*response)) all.push_back(std::move(item));
    request.set_page_token(response->next_page_token());
  } while (!request.page_token().empty());
  return all;
}

}  // namespace

std::string TrialName(std::string_view trial_id) {
  return absl::StrCat("trials/", View(trial_id));
}

std::string SubjectName(std::string_view trial_id,
                        std::string_view subject_id) {
  return absl::StrCat(TrialName(trial_id), "/subjects/", View(subject_id));
}

std::string ReportName(std::string_view trial_id, std::string_view site_id,
                       std::string_view report_id) {
  return absl::StrCat(TrialName(trial_id), "/sites/", View(site_id),
                      "/reports/", View(report_id));
}

std::string BaselineName(std::string_view trial_id,
                         std::string_view baseline_id) {
  return absl::StrCat(TrialName(trial_id), "/baselines/", View(baseline_id));
}

std::string NewRequestId() {
  std::random_device random;  // the OS's generator; one per call
  std::array<uint32_t, 4> w;
  for (auto& word : w) word = random();
  w[1] = (w[1] & 0xffff0fffu) | 0x00004000u;  // version 4
  w[2] = (w[2] & 0x3fffffffu) | 0x80000000u;  // RFC 4122 variant
  using absl::Hex;
  return absl::StrCat(
      Hex(w[0], absl::kZeroPad8), "-", Hex(w[1] >> 16, absl::kZeroPad4), "-",
      Hex(w[1] & 0xffffu, absl::kZeroPad4), "-",
      Hex(w[2] >> 16, absl::kZeroPad4), "-",
      Hex(w[2] & 0xffffu, absl::kZeroPad4), Hex(w[3], absl::kZeroPad8));
}

Client::Client(std::shared_ptr<ClientConnection> connection)
    : connection_(std::move(connection)) {}

absl::StatusOr<v1::Trial> Client::CreateTrial(const v1::Trial& trial) {
  v1::CreateTrialRequest request;
  *request.mutable_trial() = trial;
  return connection_->CreateTrial(request);
}

absl::StatusOr<v1::Trial> Client::GetTrial(std::string_view trial_id) {
  v1::GetTrialRequest request;
  request.set_name(TrialName(trial_id));
  return connection_->GetTrial(request);
}

absl::StatusOr<v1::ListTrialsResponse> Client::ListTrials(
    int page_size, const std::string& page_token) {
  v1::ListTrialsRequest request;
  request.set_page_size(page_size);
  request.set_page_token(page_token);
  return connection_->ListTrials(request);
}

absl::StatusOr<std::vector<v1::Trial>> Client::ListAllTrials() {
  std::vector<v1::Trial> trials;
  std::string token;
  do {
    absl::StatusOr<v1::ListTrialsResponse> page = ListTrials(0, token);
    if (!page.ok()) return page.status();
    for (auto& trial : *page->mutable_trials()) {
      trials.push_back(std::move(trial));
    }
    token = page->next_page_token();
  } while (!token.empty());
  return trials;
}

absl::StatusOr<v1::Trial> Client::UpdateTrial(
    const v1::Trial& trial, const std::vector<std::string>& update_mask) {
  v1::UpdateTrialRequest request;
  *request.mutable_trial() = trial;
  for (const auto& path : update_mask)
    request.mutable_update_mask()->add_paths(path);
  return connection_->UpdateTrial(request);
}

absl::StatusOr<v1::EnrollSubjectsResponse> Client::EnrollSubjects(
    std::string_view trial_id, const std::vector<v1::Subject>& subjects) {
  v1::EnrollSubjectsRequest request;
  request.set_parent(TrialName(trial_id));
  for (const auto& subject : subjects) *request.add_subjects() = subject;
  return connection_->EnrollSubjects(request);
}

absl::StatusOr<std::vector<v1::Subject>> Client::ListAllSubjects(
    std::string_view trial_id) {
  v1::ListSubjectsRequest request;
  request.set_parent(TrialName(trial_id));
  return ListAllSubjects(std::move(request));
}

absl::StatusOr<std::vector<v1::Subject>> Client::ListAllSubjects(
    v1::ListSubjectsRequest request) {
  std::vector<v1::Subject> subjects;
  request.clear_page_token();
  do {
    absl::StatusOr<v1::ListSubjectsResponse> page =
        connection_->ListSubjects(request);
    if (!page.ok()) return page.status();
    for (auto& subject : *page->mutable_subjects()) {
      subjects.push_back(std::move(subject));
    }
    request.set_page_token(page->next_page_token());
  } while (!request.page_token().empty());
  return subjects;
}

absl::StatusOr<v1::Subject> Client::GetSubject(std::string_view trial_id,
                                               std::string_view subject_id) {
  v1::GetSubjectRequest request;
  request.set_name(SubjectName(trial_id, subject_id));
  return connection_->GetSubject(request);
}

absl::StatusOr<v1::SubmitReportsResponse> Client::SubmitReports(
    std::string_view trial_id,
    const std::vector<v1::AdverseEventReport>& reports) {
  v1::SubmitReportsRequest request;
  request.set_parent(TrialName(trial_id));
  for (const auto& report : reports) *request.add_reports() = report;
  return connection_->SubmitReports(request);
}

absl::StatusOr<v1::GetIncidenceResponse> Client::GetIncidence(
    std::string_view trial_id, v1::TermLevel level, double confidence_level) {
  v1::GetIncidenceRequest request;
  request.set_parent(TrialName(trial_id));
  request.set_level(level);
  request.set_confidence_level(confidence_level);
  return GetIncidence(std::move(request));
}

absl::StatusOr<v1::GetIncidenceResponse> Client::GetIncidence(
    v1::GetIncidenceRequest request) {
  // Every page is read, so the largest page (GetIncidenceRequest.page_size)
  // takes the fewest calls; a table counted at query time (a subset, highest
  // grades, a data cut-off) is counted anew for each page.
  if (request.page_size() == 0) request.set_page_size(1000);
  v1::GetIncidenceResponse all;
  do {
    absl::StatusOr<v1::GetIncidenceResponse> page =
        connection_->GetIncidence(request);
    if (!page.ok()) return page.status();
    all.set_confidence_level(page->confidence_level());
    if (page->has_as_of()) *all.mutable_as_of() = page->as_of();
    for (auto& term : *page->mutable_terms()) {
      *all.add_terms() = std::move(term);
    }
    request.set_page_token(page->next_page_token());
  } while (!request.page_token().empty());
  return all;
}

absl::StatusOr<v1::Report> Client::GetReport(std::string_view trial_id,
                                             std::string_view site_id,
                                             std::string_view report_id) {
  v1::GetReportRequest request;
  request.set_name(ReportName(trial_id, site_id, report_id));
  return connection_->GetReport(request);
}

absl::StatusOr<v1::DsmbReport> Client::GenerateDsmbReport(
    std::string_view trial_id, v1::GenerateDsmbReportRequest request) {
  request.set_parent(TrialName(trial_id));
  return connection_->GenerateDsmbReport(request);
}

absl::StatusOr<v1::ListReportsResponse> Client::ListReports(
    std::string_view trial_id, v1::ListReportsRequest filter) {
  filter.set_parent(TrialName(trial_id));
  return connection_->ListReports(filter);
}

absl::StatusOr<std::vector<v1::Report>> Client::ListAllReports(
    std::string_view trial_id, v1::ListReportsRequest filter) {
  filter.set_parent(TrialName(trial_id));
  // The server scans the trial's reports for every page: the fewest pages.
  if (filter.page_size() == 0) filter.set_page_size(1000);
  return AllPages<v1::Report>(
      std::move(filter),
      [&](const v1::ListReportsRequest& r) {
        return connection_->ListReports(r);
      },
      [](v1::ListReportsResponse& page) { return page.mutable_reports(); });
}

absl::StatusOr<v1::PutBaselinesResponse> Client::PutBaselines(
    std::string_view trial_id, const std::vector<v1::Baseline>& baselines) {
  v1::PutBaselinesRequest request;
  request.set_parent(TrialName(trial_id));
  for (const auto& b : baselines) *request.add_baselines() = b;
  return connection_->PutBaselines(request);
}

absl::StatusOr<std::vector<v1::Baseline>> Client::ListBaselines(
    std::string_view trial_id) {
  v1::ListBaselinesRequest request;
  request.set_parent(TrialName(trial_id));
  return AllPages<v1::Baseline>(
      std::move(request),
      [&](const v1::ListBaselinesRequest& r) {
        return connection_->ListBaselines(r);
      },
      [](v1::ListBaselinesResponse& page) { return page.mutable_baselines(); });
}

absl::StatusOr<v1::Baseline> Client::GetBaseline(std::string_view trial_id,
                                                 std::string_view baseline_id) {
  v1::GetBaselineRequest request;
  request.set_name(BaselineName(trial_id, baseline_id));
  return connection_->GetBaseline(request);
}

absl::StatusOr<std::vector<v1::Signal>> Client::ListAllSignals(
    std::string_view trial_id, v1::ListSignalsRequest filter,
    int* rows_pending_evaluation) {
  filter.set_parent(TrialName(trial_id));
  filter.clear_page_token();
  std::vector<v1::Signal> signals;
  if (rows_pending_evaluation != nullptr) *rows_pending_evaluation = 0;
  do {
    auto page = connection_->ListSignals(filter);
    if (!page.ok()) return page.status();
    if (rows_pending_evaluation != nullptr) {
      *rows_pending_evaluation =
          std::max(*rows_pending_evaluation, page->rows_pending_evaluation());
    }
    for (auto& s : *page->mutable_signals()) signals.push_back(std::move(s));
    filter.set_page_token(page->next_page_token());
  } while (!filter.page_token().empty());
  return signals;
}

absl::StatusOr<v1::Signal> Client::GetSignal(const std::string& signal_name) {
  v1::GetSignalRequest request;
  request.set_name(signal_name);
  return connection_->GetSignal(request);
}

absl::StatusOr<v1::Signal> Client::TriageSignal(const std::string& signal_name,
                                                v1::SignalStatus status,
                                                const std::string& comment,
                                                const std::string& display_name,
                                                std::string request_id) {
  v1::TriageSignalRequest request;
  request.set_name(signal_name);
  request.set_status(status);
  request.set_comment(comment);
  request.set_display_name(display_name);
  request.set_request_id(request_id.empty() ? NewRequestId()
                                            : std::move(request_id));
  return connection_->TriageSignal(request);
}

absl::StatusOr<std::vector<v1::SignalTopic>> Client::ListAllTopics(
    v1::ListTopicsRequest request, int* rows_pending_evaluation) {
  std::vector<v1::SignalTopic> out;
  request.clear_page_token();
  if (rows_pending_evaluation != nullptr) *rows_pending_evaluation = 0;
  while (true) {
    auto page = connection_->ListTopics(request);
    if (!page.ok()) return page.status();
    if (rows_pending_evaluation != nullptr) {
      *rows_pending_evaluation =
          std::max(*rows_pending_evaluation, page->rows_pending_evaluation());
    }
    for (auto& t : *page->mutable_topics()) out.push_back(std::move(t));
    if (page->next_page_token().empty()) return out;
    request.set_page_token(page->next_page_token());
  }
}

absl::StatusOr<v1::SignalTopic> Client::GetTopic(
    const std::string& topic_name) {
  v1::GetTopicRequest request;
  request.set_name(topic_name);
  return connection_->GetTopic(request);
}

absl::StatusOr<v1::SignalTopic> Client::TriageTopic(
    const std::string& topic_name, v1::SignalStatus status,
    const std::string& comment, const std::string& display_name,
    std::string request_id) {
  v1::TriageTopicRequest request;
  request.set_name(topic_name);
  request.set_status(status);
  request.set_comment(comment);
  request.set_display_name(display_name);
  request.set_request_id(request_id.empty() ? NewRequestId()
                                            : std::move(request_id));
  return connection_->TriageTopic(request);
}

absl::StatusOr<v1::Signal> Client::UpdateSignal(const std::string& signal_name,
                                                v1::SignalStatus status,
                                                const std::string& comment,
                                                const std::string& actor) {
  v1::UpdateSignalRequest request;
  request.set_name(signal_name);
  request.set_status(status);
  request.set_comment(comment);
  request.set_actor(actor);
  return connection_->UpdateSignal(request);
}

absl::Status Client::WatchSignals(std::string_view trial_id,
                                  int64_t after_sequence,
                                  const ChangeCallback& on_change,
                                  absl::Time until,
                                  const RetryCallback& on_retry) {
  v1::WatchSignalsRequest request;
  request.set_parent(TrialName(trial_id));
  absl::Duration backoff = absl::Milliseconds(100);
  int attempt = 0;
  while (true) {
    request.set_after_sequence(after_sequence);
    std::unique_ptr<SignalWatch> watch =
        connection_->WatchSignals(request, until);
    const absl::Time opened = absl::Now();
    v1::WatchSignalsResponse change;
    bool delivered = false;
    while (watch->Read(&change)) {
      delivered = true;
      after_sequence = change.change_sequence();
      if (!on_change(change)) {
        watch->Cancel();
        while (watch->Read(&change)) {
        }
        watch->Finish().IgnoreError();
        return absl::OkStatus();
      }
    }
    absl::Status status = watch->Finish();
    if (absl::Now() >= until) return absl::OkStatus();
    // This loop cancels its own stream only to return (above): a CANCELLED
    // here is the server's, e.g. at its shutdown, and a reconnect resumes.
    if (!IsRetryable(status) && !status.ok() &&
        status.code() != absl::StatusCode::kCancelled) {
      return status;
    }
    // A stream that delivered, or stayed open a while, was a connection:
    // what ends it starts a new outage.
    if (delivered || absl::Now() - opened >= absl::Seconds(1)) {
      backoff = absl::Milliseconds(100);
      attempt = 0;
    }
    const absl::Duration wait = std::min(backoff, until - absl::Now());
    if (on_retry) on_retry(status, wait, ++attempt);
    absl::SleepFor(wait);
    backoff = std::min(backoff * 2, absl::Seconds(5));
  }
}

absl::StatusOr<std::vector<v1::AuditRecord>> Client::ListAuditRecords(
    std::string_view trial_id, v1::ListAuditRecordsRequest filter) {
  filter.set_parent(TrialName(trial_id));
  return AllPages<v1::AuditRecord>(
      std::move(filter),
      [&](const v1::ListAuditRecordsRequest& r) {
        return connection_->ListAuditRecords(r);
      },
      [](v1::ListAuditRecordsResponse& page) {
        return page.mutable_audit_records();
      });
}

absl::StatusOr<std::vector<v1::AuditRecord>> Client::GetAuditTrail(
    std::string_view trial_id, v1::GetAuditTrailRequest filter) {
  filter.set_parent(TrialName(trial_id));
  filter.clear_page_token();
  std::vector<v1::AuditRecord> records;
  do {
    auto page = connection_->GetAuditTrail(filter);
    if (!page.ok()) return page.status();
    for (auto& r : *page->mutable_records()) records.push_back(std::move(r));
    filter.set_page_token(page->next_page_token());
  } while (!filter.page_token().empty());
  return records;
}

}  // namespace aesignal::client
