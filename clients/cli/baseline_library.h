// Baseline libraries (deploy/baselines/*.yaml, format in
// deploy/baselines/README.md): the adverse-event figures of one published
// report each, with the quoted sentence each figure comes from, written
// independently of any trial. `aesignal baselines load --library` applies one
// to a trial: each figure becomes a v1::Baseline at the trial's timepoint
// that matches the figure's follow-up.
//
// Reading checks everything that does not depend on the trial (fields, MedDRA
// SOC names, x0 <= n0, x0/n0 against the printed percentage), so a bad file
// is refused before anything is sent; planning then applies the trial
// (timepoints, AESI categories).
//
// Thread-compatible; the functions keep no state.
#ifndef AESIGNAL_CLIENTS_CLI_BASELINE_LIBRARY_H_
#define AESIGNAL_CLIENTS_CLI_BASELINE_LIBRARY_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "aesignal/v1/signal.pb.h"
#include "aesignal/v1/trial.pb.h"

namespace aesignal::cli {

// The `format` a library declares.
inline constexpr absl::string_view kBaselineLibraryFormat =
    "aesignal-baseline-library/1";

enum class EntryLevel {
  kPt,
  kSoc,
  kOverall,
  // A figure recorded for traceability that has no aesignal term row or no
  // subject count (e.g. a number of AEs); never loaded.
  kReference,
};

// One figure of the report.
struct LibraryEntry {
  int line = 0;  // 1-based line of the entry in the file
  std::string id;
  EntryLevel level = EntryLevel::kReference;
  std::string pt, soc, overall_key;
  // Subjects with the event (x0) of subjects observed (n0) in the source.
  // Always set unless level is kReference.
  std::optional<int> x0, n0;
  // The percentage as the source prints it ("66.7"), or empty.
  std::string reported_percent;
  // The follow-up in words ("5 years") and as the study day that closes it
  // (day 1 = first dose). The day is always set unless level is kReference.
  std::string follow_up;
  std::optional<int> follow_up_day;
  // Quotes from the source (source_text: the figure; follow_up_text: its
  // time frame) and the compiler's note (mapping judgements).
  std::string source_text, follow_up_text, note;
};

struct BaselineLibrary {
  std::string path;
  std::string id;  // the file name without ".yaml"; prefix of baseline ids
  std::string citation;
  std::string source_file;  // the seed file (or other source) quoted
  std::string population, population_text;
  std::vector<LibraryEntry> entries;
};

struct LibraryRead {
  std::optional<BaselineLibrary> library;  // set iff errors is empty
  // Every problem found, each "PATH:LINE: FIELD: REASON".
  std::vector<std::string> errors;
};

// Reads and checks the library at `path`.
LibraryRead ReadBaselineLibrary(const std::string& path);

// p0 from a source sample: x0/n0 when 0 < x0 < n0; otherwise (no event, or
// every subject) the Jeffreys estimate (x0 + 0.5) / (n0 + 1), because the
// server needs 0 < p0 < 1 and an observed 0/n does not mean the event cannot
// happen. Requires 0 <= x0 <= n0, n0 >= 1.
double ExpectedProportion(int x0, int n0);

// The index of the trial timepoint a figure "by study day `day`" is compared
// at: the first timepoint whose study_day is >= day (the nearest at or after
// it), else the last; -1 if the trial has no timepoints.
int TimepointFor(const v1::Trial& trial, int day);

// Whether `soc` is the name of one of the 27 MedDRA system organ classes.
bool IsMeddraSoc(absl::string_view soc);

// What loading one entry into a trial does.
struct PlannedBaseline {
  const LibraryEntry* entry = nullptr;
  std::string baseline_id;  // "<library id>-<entry id>"
  // The baseline to send; empty if the entry is skipped.
  std::optional<v1::Baseline> baseline;
  std::string skip_reason;  // why, if skipped
  int timepoint = -1;       // TimepointFor(trial, follow_up_day)
};

// One PlannedBaseline per entry of `library`, in file order. Skips reference
// entries and aesi:<category> rows whose category the trial lacks.
std::vector<PlannedBaseline> PlanLibrary(const BaselineLibrary& library,
                                         const v1::Trial& trial);

}  // namespace aesignal::cli

#endif  // AESIGNAL_CLIENTS_CLI_BASELINE_LIBRARY_H_
