// Shared by the DSMB report's section writers. Internal to services/report.
#ifndef AESIGNAL_SERVICES_REPORT_DSMB_INTERNAL_H_
#define AESIGNAL_SERVICES_REPORT_DSMB_INTERNAL_H_

#include <map>
#include <string>
#include <vector>

#include "services/report/document.h"
#include "services/report/dsmb_report.h"

namespace aesignal::report::internal {

// One column of the by-group tables: a dose group, or the total (empty id).
struct Column {
  std::string dose_group_id = "";
  std::string label = "";  // "Placebo", "Group A" (coded) or "Total"
  int n = 0;               // subjects dosed
};

// What every section needs: the inputs and the session's presentation.
struct Context {
  const DsmbInputs& in;
  bool closed = false;
  bool coded = false;
  std::vector<Column> columns = {};  // closed: groups then Total; open: Total
  // Each dose group's code ("Group A"), with `coded` or a coding key; the
  // columns follow the codes' order when coded.
  std::map<std::string, std::string> codes = {};
  std::vector<std::string> ids_by_code = {};  // dose_group_ids, Group A first
  // With a coding key: its fingerprint (8 hex digits), else "".
  std::string key_fingerprint = "";
  std::string last_timepoint_id = "";  // "any time": cumulative at the last
  // With request.since: each report's version then, by "site_id/report_id".
  std::map<std::string, uint32_t> versions_since = {};
};

Context MakeContext(const DsmbInputs& inputs);

// The dose group's printed name: its label, or "Group A" ... when coded.
std::string GroupName(const Context& context, absl::string_view dose_group_id);
// Column headers: first, then "Label (N=n)" per column.
std::vector<std::string> Header(const Context& context,
                                absl::string_view first);

// The cell of `term` for a column at a timepoint, or nullptr.
const v1::IncidenceCell* CellOf(const v1::TermIncidence& term,
                                absl::string_view dose_group_id,
                                absl::string_view timepoint_id);
// "n (p.p)" of subjects over the estimate's denominator, with " [events]".
std::string NPercent(const v1::Estimate& estimate, bool with_events);
std::string NPercent(int n, int denominator);
// One printed row of `term`'s cumulative cells at the last timepoint.
std::vector<std::string> IncidenceRow(const Context& context,
                                      const v1::TermIncidence& term,
                                      absl::string_view label,
                                      bool with_events);
// A timepoint's printed name: its label, else its id; by id, an id the
// trial does not list is printed as it is.
const std::string& TimepointName(const v1::Timepoint& timepoint);
std::string TimepointName(const Context& context, const std::string& id);
// The topic's printed name: an overall row by its table label ("Any
// serious AE"), a PT or SOC by its term.
std::string TopicName(const Context& context, const v1::SignalTopic& topic);
// "%.3g" style, deterministic.
std::string Number(double value, int digits);
// The policy's thresholds in force: an unset (0) one is its documented
// default (SignalPolicy in signal.proto).
struct Thresholds {
  double alpha = 0.05;
  double posterior = 0.95;
  double fdr = 0.05;
};
Thresholds ThresholdsOf(const v1::SignalPolicy& policy);
// The trial's control group, or null.
const v1::DoseGroup* ControlGroup(const v1::Trial& trial);
// Whether the trial has the three dose groups a dose-trend test needs (as the
// evaluator decides, services/domain/evaluate.cc).
bool HasTrendGroups(const v1::Trial& trial);

// A signal test the policy enables, and why this trial cannot use it
// ("no control arm"; empty when it is applied). As the evaluator decides
// (services/domain/evaluate.cc): a control comparison needs a control
// group, the dose trend three dose groups, baseline tests a baseline, the
// comparison over time two timepoints.
struct SignalMethod {
  std::string name;
  std::string not_applied = "";
};
std::vector<SignalMethod> SignalMethodsOf(const DsmbInputs& in);
// The names of the methods applied to the trial, in the policy's order.
std::vector<std::string> AppliedMethodNames(const DsmbInputs& in);

void AddStudyStatus(const Context& context, Document& document);
void AddAdverseEvents(const Context& context, Document& document);
void AddListings(const Context& context, Document& document);
void AddSignals(const Context& context, Document& document);
void AddFigures(const Context& context, Document& document);
void AddMethods(const Context& context, Document& document);

}  // namespace aesignal::report::internal

#endif  // AESIGNAL_SERVICES_REPORT_DSMB_INTERNAL_H_
