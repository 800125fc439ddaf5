// Renders an incidence table (GetIncidenceResponse) as a terminal table, CSV
// or JSON for the aesignal CLI. Pure functions.
#ifndef AESIGNAL_CLIENTS_CLI_INCIDENCE_FORMAT_H_
#define AESIGNAL_CLIENTS_CLI_INCIDENCE_FORMAT_H_

#include <ostream>

#include "aesignal/v1/safety_service.pb.h"
#include "aesignal/v1/trial.pb.h"

namespace aesignal::cli {

struct IncidenceTableOptions {
  bool interval = false;  // per-window incidence instead of cumulative
  bool ci = false;        // show the confidence interval in each cell
};

// One block per term; rows are the trial's dose groups in order and "All";
// columns the timepoints; a cell is "x/N pct%" (x subjects with >= 1 event,
// N dosed; for --interval, N at risk in the window).
void WriteIncidenceTable(const v1::Trial& trial,
                         const v1::GetIncidenceResponse& table,
                         const IncidenceTableOptions& options,
                         std::ostream& out);

// Long format, one line per term x dose group x timepoint, with every count,
// proportion and interval bound (full precision). dose_group_id is empty for
// the all-groups total.
void WriteIncidenceCsv(const v1::GetIncidenceResponse& table,
                       std::ostream& out);

// The coding check of the DSMB report (docs/report.md, t06a) on PT rows:
// one line per preferred term with subjects in more than one row (under two
// SOCs, or spelt with a different case), e.g. "note: coding check: Pneumonia
// is counted in 2 rows, each understating it: Pneumonia (Infections and
// infestations) 2 subjects; Pneumonia (Infections) 1". Nothing for other
// levels or when every term is coded one way.
void WriteCodingCheck(const v1::GetIncidenceResponse& table, std::ostream& out);

}  // namespace aesignal::cli

#endif  // AESIGNAL_CLIENTS_CLI_INCIDENCE_FORMAT_H_
