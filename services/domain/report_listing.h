// Read-back of stored reports: resource names, the ReportVersion view of a
// stored version, and ListReports' filters and order. Pure functions over
// storage records and the trial design; Monitor::GetReport and
// Monitor::ListReports do the reading. Internal to services/domain.
#ifndef AESIGNAL_SERVICES_DOMAIN_REPORT_LISTING_H_
#define AESIGNAL_SERVICES_DOMAIN_REPORT_LISTING_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "aesignal/v1/safety_service.pb.h"
#include "aesignal/v1/trial.pb.h"
#include "storage/records.pb.h"

namespace aesignal::domain {

// `trials/{trial_id}/sites/{site_id}/reports/{report_id}`.
std::string ReportResourceName(absl::string_view trial_id,
                               absl::string_view site_id,
                               absl::string_view report_id);

struct ReportNameParts {
  std::string trial_id;
  std::string site_id;
  std::string report_id;
};
// Parses a report's resource name; also accepts the form audit records
// written before reports had their own resource,
// `trials/{trial_id}/reports/{site_id}/{report_id}`. INVALID_ARGUMENT on
// `field` otherwise.
absl::StatusOr<ReportNameParts> ParseReportName(absl::string_view name,
                                                absl::string_view field);

// A stored version as the API shows it: its window named, and dose group
// index `group` (its subject's, which the report counts in; a dose group
// correction after the version arrived moves it) named.
v1::ReportVersion ReportVersionOf(const v1::Trial& trial,
                                  const storage::StoredReport& stored,
                                  int group);

// INVALID_ARGUMENT with a violation per bad filter, order or bound (names
// that are not the trial's, grades outside 1-5, an empty day range, a
// subset that is not one, INCIDENCE_SUBSET_AESI without `aesi`).
absl::Status CheckListReportsRequest(const v1::Trial& trial,
                                     const v1::ListReportsRequest& request);

// Whether the stored (current) version, of a subject in dose group index
// `group`, passes every filter of `request` (one entered in error only with
// include_entered_in_error).
bool MatchesReportFilters(const v1::Trial& trial,
                          const v1::ListReportsRequest& request,
                          const storage::StoredReport& stored, int group);

// A string whose byte order is the listing order `request.order_by` asks
// for (ties broken by site, then report id); also the page cursor.
std::string ReportOrderKey(const v1::Trial& trial,
                           const v1::ListReportsRequest& request,
                           const storage::StoredReport& stored);

}  // namespace aesignal::domain

#endif  // AESIGNAL_SERVICES_DOMAIN_REPORT_LISTING_H_
