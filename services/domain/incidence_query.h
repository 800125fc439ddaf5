// GetIncidence: a request parsed and checked, and its answer read at one
// snapshot (Monitor::GetIncidence takes the snapshot and the denominators).
//
// A table's rows come from the maintained counters (storage/incidence.h),
// or, for a subset or max-grade table, from the stored reports counted at
// query time (incidence_derived.h); the cells, intervals, comparisons and
// trends are built the same way from either. Internal to services/domain.
#ifndef AESIGNAL_SERVICES_DOMAIN_INCIDENCE_QUERY_H_
#define AESIGNAL_SERVICES_DOMAIN_INCIDENCE_QUERY_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "aesignal/v1/safety_service.pb.h"
#include "aesignal/v1/trial.pb.h"
#include "google/protobuf/timestamp.pb.h"
#include "services/domain/common.h"
#include "services/domain/incidence_rows.h"
#include "storage/keys.h"
#include "storage/store.h"

namespace aesignal::domain::internal {

// A GetIncidence request's paging and presentation, checked without the
// trial.
struct IncidenceQuery {
  std::string trial_id;
  storage::Level level = storage::Level::kPt;
  double confidence = 0.95;
  int page_size = 0;
  std::optional<storage::TermKey> after;  // the last row of the previous page
  SubsetRule subset;
  // The data cut-off, if the request gives one (checked: not in the future).
  std::optional<google::protobuf::Timestamp> as_of;
  // Counted from reports (a subset, max grades or a cut-off), not read from
  // counters.
  bool derived = false;
  // INCIDENCE_VIEW_COUNTS or _COLUMNS: no proportions or intervals.
  bool counts_only = false;
  // INCIDENCE_VIEW_COLUMNS: the counts in GetIncidenceResponse.columns.
  bool columns = false;
};
absl::StatusOr<IncidenceQuery> ParseIncidenceQuery(
    const v1::GetIncidenceRequest& request);

// Checks the request's filters and options against `trial` and answers it
// from `view` (a snapshot) with `denominators` read at the same snapshot.
// For a query without a data cut-off.
absl::StatusOr<v1::GetIncidenceResponse> AnswerIncidence(
    const storage::ReadView& view, const v1::GetIncidenceRequest& request,
    const IncidenceQuery& query, const v1::Trial& trial,
    const Denominators& denominators);
// The same for queries with query.as_of set, every one the same cut-off of
// `trial` (queries[i] parsed from requests[i]): rows and denominators as
// they stood then, counted for all of them in one pass (incidence_derived.h
// CountAtCutOff). Each answer is the page its query asks for; a query whose
// page_size is INT_MAX gets the whole table.
absl::StatusOr<std::vector<v1::GetIncidenceResponse>> AnswerIncidenceAtCutOff(
    const storage::ReadView& view,
    const std::vector<v1::GetIncidenceRequest>& requests,
    const std::vector<IncidenceQuery>& queries, const v1::Trial& trial);

}  // namespace aesignal::domain::internal

#endif  // AESIGNAL_SERVICES_DOMAIN_INCIDENCE_QUERY_H_
