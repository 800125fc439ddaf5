// The pre-specified rows of a trial (docs/statistics.md, "Trial-wide error
// control": the overall rows and every row a baseline names) evaluated at a
// data cut-off, every test of each row whether or not it crosses.
//
// Signals and topics record only what crossed, so a DSMB reading "no
// topic" cannot tell from them how far each hypothesis the protocol named
// was from its threshold, and trial-wide control makes that distance large
// (a nominal p of 0.001 can be an adjusted 0.19). The DSMB report prints
// this evaluation beside its topics.
//
// The rows are counted from each report's version as of the cut-off and the
// subjects then (CountAtCutOff), with the baselines in force then and the
// trial's design and signal policy as they are now (as every table at a
// cut-off reads the design). Each row is evaluated by the evaluator's own
// code (EvaluateRow) with the number of pre-specified rows at the cut-off.
//
// Internal to services/domain. Reads through the given view only.
#ifndef AESIGNAL_SERVICES_DOMAIN_PRESPECIFIED_H_
#define AESIGNAL_SERVICES_DOMAIN_PRESPECIFIED_H_

#include <vector>

#include "absl/status/statusor.h"
#include "aesignal/v1/signal.pb.h"
#include "aesignal/v1/trial.pb.h"
#include "google/protobuf/timestamp.pb.h"
#include "storage/store.h"

namespace aesignal::domain {

// Each baseline of the trial in its newest version stored at or before
// `as_of` (none stored after it), by baseline_id.
absl::StatusOr<std::vector<v1::Baseline>> ReadBaselinesAsOf(
    const storage::ReadView& view, const std::string& trial_id,
    const google::protobuf::Timestamp& as_of);

// One topic per pre-specified row, in the order the report lists them (the
// overall rows in display order, then the baseline rows by level and term),
// each with its evidence (every evaluated test, strongest first) and the
// topic fields assembled as for a raised topic (crossing, counts, lead,
// strength, summary). A row none of whose tests applies (no subject dosed,
// no method on) has no evidence and evidence_count 0. Topic records
// (status, history) are not read: these topics are evaluations, not the
// review state.
absl::StatusOr<std::vector<v1::SignalTopic>> EvaluatePrespecifiedAtCutOff(
    const storage::ReadView& view, const v1::Trial& trial,
    const google::protobuf::Timestamp& as_of);

}  // namespace aesignal::domain

#endif  // AESIGNAL_SERVICES_DOMAIN_PRESPECIFIED_H_
