// The DSMB safety report: what it contains and how it reads, rendered from
// v1 API messages the caller has already read at the data cut-off
// (services/app/dsmb_report.h gathers them). Pure: no I/O, no clock (the
// generation time is an argument), so equal inputs give equal content and
// an equal content hash.
//
// Sessions: OPEN pools the dose groups (one Total column, no by-group
// comparison, no by-group figure); CLOSED shows each dose group, under
// codes (Group A, B, ...) with `coded`, and holds no key. The codes follow
// the trial's order, or with a `coding_key` the order of an HMAC of each
// group's id under the key; the closed, uncoded report with a key prints
// the key (which code is which group).
//
// Thread-safe (no shared state).
#ifndef AESIGNAL_SERVICES_REPORT_DSMB_REPORT_H_
#define AESIGNAL_SERVICES_REPORT_DSMB_REPORT_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "aesignal/v1/report.pb.h"
#include "aesignal/v1/safety_service.pb.h"
#include "aesignal/v1/signal.pb.h"
#include "aesignal/v1/trial.pb.h"

namespace aesignal::report {

// One filtered SOC/PT table pair (serious, related, grade >= 3, an AESI).
struct SubsetTables {
  std::string id = "";     // CSV stem, e.g. "t07_sae_soc_pt"
  std::string title = "";  // e.g. "Serious adverse events by SOC and PT"
  v1::GetIncidenceResponse soc = {};
  v1::GetIncidenceResponse pt = {};
};

struct DsmbInputs {
  v1::GenerateDsmbReportRequest request = {};
  v1::Trial trial = {};
  // Everything below as of request.cutoff.
  std::vector<v1::Subject> subjects = {};
  // OVERALL level; in a closed session of a trial with a control group,
  // with compare_to_control.
  v1::GetIncidenceResponse overall = {};
  v1::GetIncidenceResponse soc = {};
  v1::GetIncidenceResponse pt = {};  // with compare_to_control when closed
  v1::GetIncidenceResponse pt_max_grade = {};
  // Serious, related, grade >= 3 (in that order).
  std::vector<SubsetTables> subsets = {};
  // One per AESI category of the trial.
  std::vector<SubsetTables> aesi = {};
  // Each AESI category of the trial as listings print it (the API's row
  // label); a category missing here is printed as its id.
  std::map<std::string, std::string> aesi_labels = {};
  // Current versions of every counted report (listings, discontinuations).
  std::vector<v1::Report> reports = {};
  // Per overall row key (as in `overall`), per subject id: the study day of
  // the subject's first AE among `reports` that the row counts (a report
  // without an onset day: the first day of its timepoint's window). A
  // subject absent had none. The rates per patient-year sum these.
  std::map<std::string, std::map<std::string, int>> first_onset_day = {};
  // Reports whose current version withdraws them as entered in error: they
  // count nowhere, and the DSMB sees which they were and why.
  std::vector<v1::Report> withdrawn = {};
  std::vector<v1::SignalTopic> topics = {};
  // Every baseline in the version in force at the cut-off (the topics'
  // figures draw those of their term).
  std::vector<v1::Baseline> baselines = {};
  // Closed session: every pre-specified row (the overall rows and each row
  // a baseline names) evaluated at the cut-off, crossing or not, in the
  // order the report lists them (SignalBook::PrespecifiedAtCutOff).
  std::vector<v1::SignalTopic> prespecified = {};
  // With request.since: every report's version counted or withdrawing it
  // at that earlier cut-off (empty without it), so listings mark what is new
  // or followed up since.
  std::vector<v1::Report> reports_since = {};
  // The topics at request.since (empty without it).
  std::vector<v1::SignalTopic> topics_since = {};
  // Per topic_id: its term's incidence over time (with the dose trend at
  // the last timepoint when the trial has >= 3 dose groups and the session
  // is closed).
  std::map<std::string, v1::GetIncidenceResponse> topic_incidence = {};
  // "aesignald" and its address, for the source line.
  std::string source = "";
};

// The report; content_hash covers everything but generate_time.
absl::StatusOr<v1::DsmbReport> RenderDsmbReport(const DsmbInputs& inputs,
                                                absl::Time generate_time);

// A time as the report prints it (its cut-off, its generation time): UTC to
// the second, "2026-11-01T00:00:00Z". For records that must match a printed
// copy, e.g. the audit record of a report given.
std::string PrintedTime(const google::protobuf::Timestamp& time);

// The content hash of a rendered report's HTML ("sha256:HEX"): the SHA-256
// of the HTML with the contents of its generation-time and hash elements
// left out. INVALID_ARGUMENT if `html` is not a report (no such elements).
absl::StatusOr<std::string> ContentHashOfHtml(absl::string_view html);

}  // namespace aesignal::report

#endif  // AESIGNAL_SERVICES_REPORT_DSMB_REPORT_H_
