// Monitor's read-back of what was stored: a subject with its versions, a
// report with its versions, and the report listing. (monitor.h declares
// them; the rest of Monitor is in monitor.cc.)
#include <algorithm>
#include <limits>
#include <queue>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "services/domain/common.h"
#include "services/domain/monitor.h"
#include "services/domain/report_listing.h"
#include "services/domain/validation.h"
#include "services/errors/errors.h"
#include "storage/keys.h"
#include "storage/reports.h"

namespace aesignal::domain {
namespace {

using internal::DecodePageToken;
using internal::EncodePageToken;
using internal::PageSize;
using internal::Parse;
using storage::Cf;

// PERMISSION_DENIED if a caller restricted to sites asks for another site's
// data.
absl::Status CheckReadableSite(const CallInfo& call,
                               const std::string& site_id) {
  if (MayUseSite(call, site_id)) return absl::OkStatus();
  return absl::PermissionDeniedError(
      absl::StrCat("principal '", call.principal,
                   "' may not read data of site '", site_id, "'"));
}

bool SiteVisible(const CallInfo& call, const std::string& site_id) {
  return MayUseSite(call, site_id);
}

absl::StatusOr<std::pair<std::string, std::string>> ParseSubjectName(
    const std::string& name) {
  std::vector<std::string> parts = absl::StrSplit(name, '/');
  if (parts.size() != 4 || parts[0] != "trials" || parts[2] != "subjects" ||
      parts[1].empty() || parts[3].empty()) {
    return errors::InvalidArgument(
        "name", "must be trials/{trial_id}/subjects/{subject_id}");
  }
  return std::make_pair(parts[1], parts[3]);
}

// One page of the listing: the first `page_size` matching reports in order
// after the cursor, found in one pass with a heap bounded by the page (one
// page of memory, whatever the trial's size; ListAllReports's page is every
// match), and the total number of matches.
class ReportPage {
 public:
  ReportPage(const v1::Trial& trial, const v1::ListReportsRequest& request,
             const storage::SubjectGroups& groups, const CallInfo& call,
             std::string cursor, int page_size)
      : trial_(trial),
        request_(request),
        groups_(groups),
        call_(call),
        cursor_(std::move(cursor)),
        page_size_(page_size) {}

  bool Offer(const storage::StoredReport& stored) {
    if (!SiteVisible(call_, stored.report().site_id()) ||
        !MatchesReportFilters(trial_, request_, stored, GroupOf(stored))) {
      return true;
    }
    ++total_;
    std::string key = ReportOrderKey(trial_, request_, stored);
    if (!cursor_.empty() && key <= cursor_) return true;
    // Keep page_size + 1 to know whether another page follows.
    if (static_cast<int>(heap_.size()) <= page_size_) {
      heap_.emplace(std::move(key), stored);
    } else if (key < heap_.top().first) {
      heap_.pop();
      heap_.emplace(std::move(key), stored);
    }
    return true;
  }

  v1::ListReportsResponse Finish() {
    std::vector<Entry> entries;
    while (!heap_.empty()) {
      entries.push_back(heap_.top());
      heap_.pop();
    }
    std::reverse(entries.begin(), entries.end());
    v1::ListReportsResponse response;
    response.set_total_size(total_);
    const bool more = static_cast<int>(entries.size()) > page_size_;
    if (more) entries.resize(page_size_);
    for (const auto& [key, stored] : entries) {
      v1::Report* report = response.add_reports();
      report->set_name(ReportResourceName(trial_.trial_id(),
                                          stored.report().site_id(),
                                          stored.report().report_id()));
      report->set_site_id(stored.report().site_id());
      report->set_report_id(stored.report().report_id());
      *report->mutable_current() =
          ReportVersionOf(trial_, stored, GroupOf(stored));
    }
    if (more) {
      response.set_next_page_token(
          EncodePageToken(request_, entries.back().first));
    }
    return response;
  }

 private:
  using Entry = std::pair<std::string, storage::StoredReport>;
  struct KeyLess {
    bool operator()(const Entry& a, const Entry& b) const {
      return a.first < b.first;
    }
  };

  // The group a report counts in: its subject's, or where it was received
  // if the subject has no version by the cut-off (as CountAtCutOff does).
  int GroupOf(const storage::StoredReport& stored) const {
    auto it = groups_.find(stored.report().subject_id());
    return it == groups_.end() ? stored.dose_group() : it->second;
  }

  const v1::Trial& trial_;
  const v1::ListReportsRequest& request_;
  const storage::SubjectGroups& groups_;
  const CallInfo& call_;
  const std::string cursor_;
  const int page_size_;
  int total_ = 0;
  // A max-heap by key: the largest kept key is dropped first.
  std::priority_queue<Entry, std::vector<Entry>, KeyLess> heap_;
};

}  // namespace

absl::StatusOr<v1::Subject> Monitor::GetSubject(
    const v1::GetSubjectRequest& request, const CallInfo& call) {
  AESIGNAL_ASSIGN_OR_RETURN(auto ids, ParseSubjectName(request.name()));
  auto view = store_.Snapshot();
  AESIGNAL_RETURN_IF_ERROR(LoadTrial(*view, ids.first).status());
  AESIGNAL_ASSIGN_OR_RETURN(
      std::optional<v1::Subject> stored,
      internal::ReadSubject(*view, ids.first, ids.second));
  if (!stored.has_value()) return errors::NotFound("subject", request.name());
  v1::Subject subject = *std::move(stored);
  AESIGNAL_RETURN_IF_ERROR(CheckReadableSite(call, subject.site_id()));
  std::vector<v1::Subject> versions;
  absl::Status error;
  AESIGNAL_RETURN_IF_ERROR(view->Scan(
      Cf::kSubjectHistory, storage::SubjectKey(ids.first, ids.second), "",
      [&](std::string_view, std::string_view value) {
        auto version = Parse<v1::Subject>(value, "subject version");
        if (!version.ok()) {
          error = version.status();
          return false;
        }
        versions.push_back(*std::move(version));
        return true;
      }));
  AESIGNAL_RETURN_IF_ERROR(error);
  for (auto it = versions.rbegin(); it != versions.rend(); ++it) {
    *subject.add_history() = std::move(*it);
  }
  return subject;
}

absl::StatusOr<v1::Report> Monitor::GetReport(
    const v1::GetReportRequest& request, const CallInfo& call) {
  AESIGNAL_ASSIGN_OR_RETURN(ReportNameParts ids,
                            ParseReportName(request.name(), "name"));
  AESIGNAL_RETURN_IF_ERROR(CheckReadableSite(call, ids.site_id));
  auto view = store_.Snapshot();
  AESIGNAL_ASSIGN_OR_RETURN(v1::Trial trial, LoadTrial(*view, ids.trial_id));
  AESIGNAL_ASSIGN_OR_RETURN(
      std::vector<storage::StoredReport> versions,
      storage::ReadReportVersions(*view, ids.trial_id, ids.site_id,
                                  ids.report_id));
  const std::string name =
      ReportResourceName(ids.trial_id, ids.site_id, ids.report_id);
  if (versions.empty()) return errors::NotFound("report", name);
  // Every version is shown in the group the report counts in now (its
  // subject's); the subject's history keeps any earlier group.
  AESIGNAL_ASSIGN_OR_RETURN(
      std::optional<v1::Subject> subject,
      internal::ReadSubject(*view, ids.trial_id,
                            versions.back().report().subject_id()));
  if (!subject.has_value()) {
    return absl::DataLossError("stored report of a subject not enrolled");
  }
  const int group = DoseGroupIndex(trial, subject->dose_group_id());
  v1::Report report;
  report.set_name(name);
  report.set_site_id(ids.site_id);
  report.set_report_id(ids.report_id);
  *report.mutable_current() = ReportVersionOf(trial, versions.back(), group);
  for (auto it = versions.rbegin(); it != versions.rend(); ++it) {
    *report.add_versions() = ReportVersionOf(trial, *it, group);
  }
  return report;
}

absl::StatusOr<v1::ListReportsResponse> Monitor::ListReports(
    const v1::ListReportsRequest& request, const CallInfo& call) {
  return ListReportsPaged(request, call, /*whole_listing=*/false);
}

absl::StatusOr<v1::ListReportsResponse> Monitor::ListAllReports(
    const v1::ListReportsRequest& request, const CallInfo& call) {
  return ListReportsPaged(request, call, /*whole_listing=*/true);
}

absl::StatusOr<v1::ListReportsResponse> Monitor::ListReportsPaged(
    const v1::ListReportsRequest& request, const CallInfo& call,
    bool whole_listing) {
  AESIGNAL_ASSIGN_OR_RETURN(std::string trial_id,
                            ParseTrialName(request.parent(), "parent"));
  int page_size = std::numeric_limits<int>::max();
  if (!whole_listing) {
    AESIGNAL_ASSIGN_OR_RETURN(
        page_size, PageSize(request.page_size(), 100, 1000, "page_size"));
  }
  if (!request.site_id().empty()) {
    AESIGNAL_RETURN_IF_ERROR(CheckReadableSite(call, request.site_id()));
  }
  if (request.has_as_of()) {
    AESIGNAL_RETURN_IF_ERROR(internal::CheckAsOf(request.as_of()));
  }
  auto view = store_.Snapshot();
  AESIGNAL_ASSIGN_OR_RETURN(v1::Trial trial, LoadTrial(*view, trial_id));
  AESIGNAL_RETURN_IF_ERROR(CheckListReportsRequest(trial, request));
  std::string cursor;
  if (!whole_listing && !request.page_token().empty()) {
    AESIGNAL_ASSIGN_OR_RETURN(cursor, DecodePageToken(request));
  }
  // Listed in the group each subject was in at the cut-off, or is in now.
  AESIGNAL_ASSIGN_OR_RETURN(
      const storage::SubjectGroups groups,
      internal::ReadSubjectGroups(
          *view, trial,
          request.has_as_of()
              ? std::optional<google::protobuf::Timestamp>(request.as_of())
              : std::nullopt));
  ReportPage page(trial, request, groups, call, std::move(cursor), page_size);
  const auto offer = [&](const storage::StoredReport& stored) {
    return page.Offer(stored);
  };
  AESIGNAL_RETURN_IF_ERROR(
      request.has_as_of()
          ? storage::ScanReportsAsOf(*view, trial_id, request.as_of(), offer)
          : storage::ScanNewestReports(*view, trial_id, offer));
  return page.Finish();
}

}  // namespace aesignal::domain
