#include "aesignal/client/client.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "aesignal/client/status.h"

namespace aesignal::client {

std::string TrialName(std::string_view trial_id) {
  return absl::StrCat("trials/",
                      absl::string_view(trial_id.data(), trial_id.size()));
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

absl::StatusOr<v1::EnrollSubjectsResponse> Client::EnrollSubjects(
    std::string_view trial_id, const std::vector<v1::Subject>& subjects) {
  v1::EnrollSubjectsRequest request;
  request.set_parent(TrialName(trial_id));
  for (const auto& subject : subjects) *request.add_subjects() = subject;
  return connection_->EnrollSubjects(request);
}

absl::StatusOr<std::vector<v1::Subject>> Client::ListAllSubjects(
    std::string_view trial_id) {
  std::vector<v1::Subject> subjects;
  v1::ListSubjectsRequest request;
  request.set_parent(TrialName(trial_id));
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
  v1::GetIncidenceResponse all;
  do {
    absl::StatusOr<v1::GetIncidenceResponse> page =
        connection_->GetIncidence(request);
    if (!page.ok()) return page.status();
    all.set_confidence_level(page->confidence_level());
    for (auto& term : *page->mutable_terms()) {
      *all.add_terms() = std::move(term);
    }
    request.set_page_token(page->next_page_token());
  } while (!request.page_token().empty());
  return all;
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
  auto response = connection_->ListBaselines(request);
  if (!response.ok()) return response.status();
  return std::vector<v1::Baseline>(response->baselines().begin(),
                                   response->baselines().end());
}

absl::StatusOr<std::vector<v1::Signal>> Client::ListAllSignals(
    std::string_view trial_id, v1::ListSignalsRequest filter) {
  filter.set_parent(TrialName(trial_id));
  filter.clear_page_token();
  std::vector<v1::Signal> signals;
  do {
    auto page = connection_->ListSignals(filter);
    if (!page.ok()) return page.status();
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
                                  absl::Time until) {
  v1::WatchSignalsRequest request;
  request.set_parent(TrialName(trial_id));
  absl::Duration backoff = absl::Milliseconds(100);
  while (true) {
    request.set_after_sequence(after_sequence);
    std::unique_ptr<SignalWatch> watch =
        connection_->WatchSignals(request, until);
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
    if (!IsRetryable(status) && !status.ok()) return status;
    if (delivered) backoff = absl::Milliseconds(100);
    absl::SleepFor(std::min(backoff, until - absl::Now()));
    backoff = std::min(backoff * 2, absl::Seconds(5));
  }
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
