#include "services/domain/report_listing.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "google/protobuf/util/time_util.h"
#include "services/domain/incidence_rows.h"
#include "services/domain/validation.h"
#include "services/errors/errors.h"

namespace aesignal::domain {
namespace {

using google::protobuf::util::TimeUtil;

// Separates the parts of an order key: below every character a site id
// ([A-Za-z0-9._-]) or a report id (printable) may hold, so the key orders
// as the tuple (primary, site, report id).
constexpr char kKeySeparator = '\x01';

// Splits `rest` = "{a}/{b...}" at its first '/', both parts non-empty.
bool SplitOnce(absl::string_view rest, std::string* a, std::string* b) {
  const size_t slash = rest.find('/');
  if (slash == absl::string_view::npos || slash == 0 ||
      slash + 1 == rest.size()) {
    return false;
  }
  *a = std::string(rest.substr(0, slash));
  *b = std::string(rest.substr(slash + 1));
  return true;
}

bool OrderByOnset(const v1::ListReportsRequest& request) {
  return request.order_by() == "onset_study_day" ||
         request.order_by() == "onset_study_day asc";
}

// The onset day a report sorts at: its own, else the first day of its
// timepoint's window.
int SortOnsetDay(const v1::Trial& trial, const storage::StoredReport& stored) {
  if (stored.report().has_onset_study_day()) {
    return stored.report().onset_study_day();
  }
  const int window = stored.window();
  if (window <= 0 || window > trial.timepoints_size()) return 1;
  return trial.timepoints(window - 1).study_day() + 1;
}

void CheckNamedIn(const v1::Trial& trial, const v1::ListReportsRequest& r,
                  std::vector<errors::FieldViolation>* violations) {
  if (!r.site_id().empty() && !HasSite(trial, r.site_id())) {
    violations->push_back({"site_id", "is not a site of the trial"});
  }
  if (auto unknown = UnknownDoseGroupFilter(trial, r.dose_group_id())) {
    violations->push_back(*unknown);
  }
  if (!r.aesi().empty() &&
      std::find(trial.aesi_categories().begin(), trial.aesi_categories().end(),
                r.aesi()) == trial.aesi_categories().end()) {
    violations->push_back({"aesi", "is not an AESI category of the trial"});
  }
}

void CheckSubset(const v1::ListReportsRequest& r,
                 std::vector<errors::FieldViolation>* violations) {
  if (!v1::IncidenceSubset_IsValid(r.subset())) {
    violations->push_back(
        {"subset", errors::NotAnEnumValue(r.subset(),
                                          *v1::IncidenceSubset_descriptor())});
  } else if (r.subset() == v1::INCIDENCE_SUBSET_AESI && r.aesi().empty()) {
    violations->push_back({"aesi", "is required with INCIDENCE_SUBSET_AESI"});
  }
}

}  // namespace

std::string ReportResourceName(absl::string_view trial_id,
                               absl::string_view site_id,
                               absl::string_view report_id) {
  return absl::StrCat(TrialName(trial_id), "/sites/", site_id, "/reports/",
                      report_id);
}

absl::StatusOr<ReportNameParts> ParseReportName(absl::string_view name,
                                                absl::string_view field) {
  const std::string expected =
      "must be trials/{trial_id}/sites/{site_id}/reports/{report_id}";
  absl::string_view rest = name;
  ReportNameParts parts;
  std::string tail;
  if (!absl::ConsumePrefix(&rest, "trials/") ||
      !SplitOnce(rest, &parts.trial_id, &tail)) {
    return errors::InvalidArgument(std::string(field), expected);
  }
  rest = tail;
  std::string site_and_more;
  if (absl::ConsumePrefix(&rest, "sites/") &&
      SplitOnce(rest, &parts.site_id, &site_and_more) &&
      absl::StartsWith(site_and_more, "reports/") &&
      site_and_more.size() > std::string("reports/").size()) {
    parts.report_id = site_and_more.substr(std::string("reports/").size());
    return parts;
  }
  rest = tail;
  if (absl::ConsumePrefix(&rest, "reports/") &&
      SplitOnce(rest, &parts.site_id, &parts.report_id)) {
    return parts;  // the legacy form of audit records
  }
  return errors::InvalidArgument(std::string(field), expected);
}

v1::ReportVersion ReportVersionOf(const v1::Trial& trial,
                                  const storage::StoredReport& stored,
                                  int group) {
  v1::ReportVersion version;
  *version.mutable_report() = stored.report();
  *version.mutable_receive_time() = stored.receive_time();
  version.set_submitted_by(stored.submitted_by());
  if (stored.window() >= 0 && stored.window() < trial.timepoints_size()) {
    version.set_timepoint_id(trial.timepoints(stored.window()).timepoint_id());
  }
  if (group >= 0 && group < trial.dose_groups_size()) {
    version.set_dose_group_id(trial.dose_groups(group).dose_group_id());
  }
  version.set_superseded_on_arrival(stored.superseded_on_arrival());
  return version;
}

absl::Status CheckListReportsRequest(const v1::Trial& trial,
                                     const v1::ListReportsRequest& request) {
  std::vector<errors::FieldViolation> violations;
  CheckNamedIn(trial, request, &violations);
  CheckSubset(request, &violations);
  if (request.min_grade() < 0 || request.min_grade() > 5) {
    violations.push_back({"min_grade", "must be 1-5 (CTCAE), or 0 for any"});
  }
  if (request.has_onset_day_min() && request.onset_day_min() < 1) {
    violations.push_back({"onset_day_min", "must be >= 1"});
  }
  if (request.has_onset_day_max() && request.has_onset_day_min() &&
      request.onset_day_max() < request.onset_day_min()) {
    violations.push_back({"onset_day_max", "must be >= onset_day_min"});
  }
  if (request.has_received_after() &&
      (request.received_after().nanos() < 0 ||
       request.received_after().nanos() > 999999999 ||
       request.received_after().seconds() < TimeUtil::kTimestampMinSeconds ||
       request.received_after().seconds() > TimeUtil::kTimestampMaxSeconds)) {
    violations.push_back({"received_after", "is not a valid timestamp"});
  }
  if (!request.order_by().empty() &&
      request.order_by() != "receive_time desc" && !OrderByOnset(request)) {
    violations.push_back(
        {"order_by", "must be 'receive_time desc' or 'onset_study_day'"});
  }
  if (!violations.empty()) return errors::InvalidArgument(violations);
  return absl::OkStatus();
}

bool MatchesReportFilters(const v1::Trial& trial,
                          const v1::ListReportsRequest& request,
                          const storage::StoredReport& stored, int group) {
  const v1::AdverseEventReport& r = stored.report();
  if (r.entered_in_error() && !request.include_entered_in_error()) {
    return false;  // counts nowhere, so listed only when asked for
  }
  auto matches = [](const std::string& wanted, const std::string& value) {
    return wanted.empty() || wanted == value;
  };
  const std::string group_id = group >= 0 && group < trial.dose_groups_size()
                                   ? trial.dose_groups(group).dose_group_id()
                                   : "";
  if (!matches(request.subject_id(), r.subject_id()) ||
      !matches(request.site_id(), r.site_id()) ||
      !matches(request.dose_group_id(), group_id) ||
      !matches(request.pt(), r.pt()) || !matches(request.soc(), r.soc())) {
    return false;
  }
  if (request.has_serious() && request.serious() != r.serious()) return false;
  if (r.grade() < request.min_grade()) return false;
  if (!request.aesi().empty() && std::find(r.aesi().begin(), r.aesi().end(),
                                           request.aesi()) == r.aesi().end()) {
    return false;
  }
  if (!MeetsSubsetRule(
          r, {.subset = request.subset(), .aesi_category = request.aesi()})) {
    return false;
  }
  if (request.has_onset_day_min() || request.has_onset_day_max()) {
    if (!r.has_onset_study_day()) return false;
    if (request.has_onset_day_min() &&
        r.onset_study_day() < request.onset_day_min()) {
      return false;
    }
    if (request.has_onset_day_max() &&
        r.onset_study_day() > request.onset_day_max()) {
      return false;
    }
  }
  return !request.has_received_after() ||
         stored.receive_time() > request.received_after();
}

std::string ReportOrderKey(const v1::Trial& trial,
                           const v1::ListReportsRequest& request,
                           const storage::StoredReport& stored) {
  std::string primary;
  if (OrderByOnset(request)) {
    primary = absl::StrFormat("%010d", SortOnsetDay(trial, stored));
  } else {
    // Newest first: the complement of the receive time, fixed width.
    const int64_t nanos =
        TimeUtil::TimestampToNanoseconds(stored.receive_time());
    primary =
        absl::StrFormat("%016x", UINT64_MAX - static_cast<uint64_t>(nanos));
  }
  return absl::StrCat(primary, std::string(1, kKeySeparator),
                      stored.report().site_id(), std::string(1, kKeySeparator),
                      stored.report().report_id());
}

}  // namespace aesignal::domain
