// Which incidence rows an AE report version counts in: the clinical rule.
//
// A version counts in its PT row, its SOC row and the overall rows it
// qualifies for: any AE; any serious AE; any grade >= 3 AE; any related AE
// (possible, probable, definite, or not given); any fatal AE (death, or outcome
// fatal); and one row per AESI category it names. A version that withdraws its
// report as entered in error counts in none.
// The rule is decided here, once: ingest passes the rows to storage, which
// counts what it is given (storage/incidence.h), and the counter recount
// (Monitor::VerifyCounters) gives storage this same rule.
//
// Pure functions; thread-safe. Internal to services/domain.
#ifndef AESIGNAL_SERVICES_DOMAIN_INCIDENCE_ROWS_H_
#define AESIGNAL_SERVICES_DOMAIN_INCIDENCE_ROWS_H_

#include <string>
#include <string_view>
#include <vector>

#include "aesignal/v1/report.pb.h"
#include "aesignal/v1/safety_service.pb.h"
#include "aesignal/v1/trial.pb.h"
#include "storage/keys.h"

namespace aesignal::domain {

// Overall row keys. They are stored in counter keys and named by the API
// (overall_key): never change one.
inline constexpr char kAnyAe[] = "any_ae";
inline constexpr char kAnySae[] = "any_sae";
inline constexpr char kGrade3Plus[] = "grade_3_plus";
inline constexpr char kRelated[] = "related";
inline constexpr char kDeath[] = "death";
inline constexpr char kAesiPrefix[] = "aesi:";  // + the category

// Whether a version counts at all: false for one entered in error. Every
// count and every event-based figure (incidence rows, subsets, the last
// event window of at-risk denominators) leaves out what it rejects.
bool Counts(const v1::AdverseEventReport& report);

// The rules of the overall rows, one predicate each (CountedRows applies
// them; incidence subsets, GetIncidenceRequest.subset, apply the same ones
// to PT and SOC rows). A relatedness not given (UNSPECIFIED) counts as
// related: a missing causality assessment is taken as the worst case, as
// safety tables do, so an unassessed event cannot hide from the related rows.
// Counting rule version 3 (counting_upgrade.h); before it, not related.
bool IsRelated(v1::Relatedness relatedness);
bool IsFatal(const v1::AdverseEventReport& report);

// A subset of AE versions (GetIncidenceRequest.subset): every version
// (UNSPECIFIED), or the versions one overall row counts.
struct SubsetRule {
  v1::IncidenceSubset subset = v1::INCIDENCE_SUBSET_UNSPECIFIED;
  std::string aesi_category;  // for INCIDENCE_SUBSET_AESI
  bool operator==(const SubsetRule&) const = default;
};
// Whether `report` is in `subset`: the same rule as the overall row the
// subset names (UNSPECIFIED: every report). A report entered in error is in
// none, as it counts nowhere.
bool InSubset(const v1::AdverseEventReport& report, const SubsetRule& subset);
// The subset's rule alone, whether or not the report counts: listings that
// show reports entered in error on request mark them but filter them alike.
bool MeetsSubsetRule(const v1::AdverseEventReport& report,
                     const SubsetRule& subset);

// Sets *rows to the term rows `report` counts in, PT first, then SOC, then
// the overall rows in display order (AESI rows by category, each once).
// Reuses the vector's elements and their strings, so ingest, which calls it
// for every report, allocates nothing once the vector has grown.
void CountedRows(const v1::AdverseEventReport& report,
                 std::vector<storage::TermKey>* rows);
std::vector<storage::TermKey> CountedRows(const v1::AdverseEventReport& report);

// The overall row with key `key`.
storage::TermKey OverallTerm(std::string_view key);

// One overall row of a trial as incidence tables show it.
struct OverallRow {
  std::string key;
  std::string label;
};
// An AESI category as people read it: its id with underscores as spaces
// ("dermatologic_events" -> "dermatologic events"). Ids are [a-z0-9_], so
// two ids never share a label.
std::string AesiCategoryLabel(std::string_view category);

// The trial's overall rows in display order: the five fixed ones (any AE,
// SAE, grade >= 3, related, death), then one per AESI category of the trial.
std::vector<OverallRow> OverallRows(const v1::Trial& trial);
// Whether `key` names one of the trial's overall rows.
bool IsOverallRow(const v1::Trial& trial, std::string_view key);

}  // namespace aesignal::domain

#endif  // AESIGNAL_SERVICES_DOMAIN_INCIDENCE_ROWS_H_
