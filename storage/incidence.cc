#include "storage/incidence.h"

#include <algorithm>
#include <functional>
#include <optional>
#include <set>
#include <tuple>
#include <utility>

#include "absl/container/inlined_vector.h"
#include "absl/hash/hash.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "storage/records.pb.h"

namespace aesignal::storage {
namespace {

// A counter row's order: by dose group, then window.
bool CellBefore(const CounterCell& a, const CounterCell& b) {
  return std::tie(a.group, a.window) < std::tie(b.group, b.window);
}

// Adds the deltas of one dose group, keyed by window, to a counter row.
absl::Status AddToCounterRow(CounterRow& row, int group,
                             const std::map<int, CellCounts>& deltas) {
  for (const auto& [window, delta] : deltas) {
    const CounterCell probe{
        static_cast<uint32_t>(group), static_cast<uint32_t>(window), {}};
    auto it = std::lower_bound(row.begin(), row.end(), probe, CellBefore);
    if (it == row.end() || it->group != probe.group ||
        it->window != probe.window) {
      it = row.insert(it, probe);
    }
    CellCounts& value = it->counts;
    value.interval_subjects += delta.interval_subjects;
    value.new_subjects += delta.new_subjects;
    value.events += delta.events;
    if (value.interval_subjects < 0 || value.new_subjects < 0 ||
        value.events < 0) {
      return absl::InternalError("incidence counter would become negative");
    }
    if (value.zero()) row.erase(it);
  }
  return absl::OkStatus();
}

// One (term, subject) state change: the removed version's event leaves
// `removed_window` and the added version's event joins `added_window`.
struct StateChange {
  const TermKey* term = nullptr;  // points into a CountedVersion's rows
  std::string_view subject_id;
  int group = 0;  // the added version's, if both apply
  std::optional<int> removed_window;
  std::optional<int> added_window;
};
// Inline: a version counts in a handful of rows, and ingest builds one of
// these per report.
using StateChanges = absl::InlinedVector<StateChange, 16>;

// The (term, subject) changes of replacing `removed` by `added`; a row both
// count in (for the same subject) becomes one change.
StateChanges CollectChanges(const CountedVersion* removed,
                            const CountedVersion* added) {
  StateChanges changes;
  if (removed != nullptr) {
    for (const TermKey& term : removed->rows) {
      changes.push_back({&term, removed->subject_id, removed->group,
                         removed->window, std::nullopt});
    }
  }
  if (added == nullptr) return changes;
  const size_t num_removed = changes.size();
  for (const TermKey& term : added->rows) {
    const auto removed_end = changes.begin() + num_removed;
    auto it = std::find_if(changes.begin(), removed_end, [&](const auto& c) {
      return *c.term == term && c.subject_id == added->subject_id;
    });
    if (it != removed_end) {
      it->group = added->group;
      it->added_window = added->window;
    } else {
      changes.push_back({&term, added->subject_id, added->group, std::nullopt,
                         added->window});
    }
  }
  return changes;
}

// Moves one event into (+1) or out of (-1) `window` of a subject-term state.
absl::Status MoveEvent(WindowCounts& counts, int window, int delta) {
  if (window < 0 || window >= static_cast<int>(counts.size())) {
    return absl::InternalError(
        absl::StrCat("window ", window, " out of range"));
  }
  if (delta < 0 && counts[window] == 0) {
    return absl::InternalError(
        "removing an event that the subject-term state does not hold");
  }
  counts[window] += delta;
  return absl::OkStatus();
}

// Applies one (term, subject) change: its state, then its counter row.
absl::Status ApplyStateChange(Txn& txn, CounterRows& rows,
                              std::string_view trial_id, int num_windows,
                              const StateChange& change) {
  const std::string state_key =
      SubjectTermKey(trial_id, *change.term, change.subject_id);
  auto stored = txn.Get(Cf::kSubjectTerms, state_key);
  if (!stored.ok()) return stored.status();
  WindowCounts before(num_windows, 0);
  if (stored->has_value()) {
    auto decoded = DecodeWindowCounts(**stored, num_windows);
    if (!decoded.ok()) return decoded.status();
    before = *std::move(decoded);
  }
  WindowCounts after = before;
  if (change.removed_window.has_value()) {
    absl::Status moved = MoveEvent(after, *change.removed_window, -1);
    if (!moved.ok()) return moved;
  }
  if (change.added_window.has_value()) {
    absl::Status moved = MoveEvent(after, *change.added_window, +1);
    if (!moved.ok()) return moved;
  }
  if (std::all_of(after.begin(), after.end(),
                  [](uint32_t c) { return c == 0; })) {
    txn.Delete(Cf::kSubjectTerms, state_key);
  } else {
    txn.Put(Cf::kSubjectTerms, state_key, EncodeWindowCounts(after));
  }
  const std::map<int, CellCounts> deltas = CellDeltas(before, after);
  if (deltas.empty()) return absl::OkStatus();
  auto row = rows.Mutable(CounterRowKey(trial_id, *change.term));
  if (!row.ok()) return row.status();
  return AddToCounterRow(**row, change.group, deltas);
}

}  // namespace

std::string EncodeCellCounts(const CellCounts& c) {
  std::string out;
  AppendVarint(&out, static_cast<uint64_t>(c.interval_subjects));
  AppendVarint(&out, static_cast<uint64_t>(c.new_subjects));
  AppendVarint(&out, static_cast<uint64_t>(c.events));
  return out;
}

absl::StatusOr<CellCounts> DecodeCellCounts(std::string_view bytes) {
  uint64_t a = 0, b = 0, c = 0;
  if (!ConsumeVarint(&bytes, &a) || !ConsumeVarint(&bytes, &b) ||
      !ConsumeVarint(&bytes, &c) || !bytes.empty()) {
    return absl::DataLossError("malformed incidence counter value");
  }
  return CellCounts{static_cast<int64_t>(a), static_cast<int64_t>(b),
                    static_cast<int64_t>(c)};
}

std::string EncodeCounterRow(const CounterRow& row) {
  std::string out;
  out.reserve(row.size() * 5);
  for (const CounterCell& cell : row) {
    AppendVarint(&out, cell.group);
    AppendVarint(&out, cell.window);
    AppendVarint(&out, static_cast<uint64_t>(cell.counts.interval_subjects));
    AppendVarint(&out, static_cast<uint64_t>(cell.counts.new_subjects));
    AppendVarint(&out, static_cast<uint64_t>(cell.counts.events));
  }
  return out;
}

absl::StatusOr<CounterRow> DecodeCounterRow(std::string_view bytes) {
  CounterRow row;
  while (!bytes.empty()) {
    uint64_t v[5];
    for (uint64_t& x : v) {
      if (!ConsumeVarint(&bytes, &x)) {
        return absl::DataLossError("malformed counter row");
      }
    }
    if (v[0] > UINT32_MAX || v[1] > UINT32_MAX || v[2] > INT64_MAX ||
        v[3] > INT64_MAX || v[4] > INT64_MAX) {
      return absl::DataLossError("counter row value out of range");
    }
    CounterCell cell{static_cast<uint32_t>(v[0]),
                     static_cast<uint32_t>(v[1]),
                     {static_cast<int64_t>(v[2]), static_cast<int64_t>(v[3]),
                      static_cast<int64_t>(v[4])}};
    if (cell.counts.zero()) {
      return absl::DataLossError("counter row holds an all-zero cell");
    }
    if (!row.empty() && !CellBefore(row.back(), cell)) {
      return absl::DataLossError("counter row cells out of order");
    }
    row.push_back(cell);
  }
  return row;
}

std::string EncodeWindowCounts(const WindowCounts& w) {
  std::string out;
  for (uint32_t count : w) AppendVarint(&out, count);
  return out;
}

absl::StatusOr<WindowCounts> DecodeWindowCounts(std::string_view bytes,
                                                int num_windows) {
  WindowCounts out;
  out.reserve(num_windows);
  while (!bytes.empty()) {
    uint64_t v = 0;
    if (!ConsumeVarint(&bytes, &v) || v > UINT32_MAX) {
      return absl::DataLossError("malformed subject-term state");
    }
    out.push_back(static_cast<uint32_t>(v));
  }
  // A state written before an amendment added timepoints is shorter: the
  // windows it lacks came after the last one then, so they are empty.
  if (static_cast<int>(out.size()) > num_windows) {
    return absl::DataLossError(absl::StrCat("subject-term state has ",
                                            out.size(), " windows, trial has ",
                                            num_windows));
  }
  out.resize(num_windows, 0);
  return out;
}

std::map<int, CellCounts> CellDeltas(const WindowCounts& before,
                                     const WindowCounts& after) {
  std::map<int, CellCounts> deltas;
  auto first_window = [](const WindowCounts& w) {
    for (size_t i = 0; i < w.size(); ++i) {
      if (w[i] > 0) return static_cast<int>(i);
    }
    return -1;
  };
  const size_t n = std::max(before.size(), after.size());
  for (size_t i = 0; i < n; ++i) {
    const int64_t b = i < before.size() ? before[i] : 0;
    const int64_t a = i < after.size() ? after[i] : 0;
    if (a == b) continue;
    CellCounts& d = deltas[static_cast<int>(i)];
    d.events += a - b;
    d.interval_subjects += (a > 0 ? 1 : 0) - (b > 0 ? 1 : 0);
  }
  const int first_before = first_window(before);
  const int first_after = first_window(after);
  if (first_before != first_after) {
    if (first_before >= 0) deltas[first_before].new_subjects -= 1;
    if (first_after >= 0) deltas[first_after].new_subjects += 1;
  }
  for (auto it = deltas.begin(); it != deltas.end();) {
    it = it->second.zero() ? deltas.erase(it) : std::next(it);
  }
  return deltas;
}

absl::StatusOr<CounterRow*> CounterRows::Mutable(const std::string& row_key) {
  auto it = rows_.find(row_key);
  if (it == rows_.end()) {
    auto stored = txn_.Get(Cf::kCounters, row_key);
    if (!stored.ok()) return stored.status();
    CounterRow row;
    if (stored->has_value()) {
      auto decoded = DecodeCounterRow(**stored);
      if (!decoded.ok()) return decoded.status();
      row = *std::move(decoded);
    }
    it = rows_.emplace(row_key, std::move(row)).first;
  }
  return &it->second;
}

void CounterRows::Flush() {
  for (const auto& [key, row] : rows_) {
    if (row.empty()) {
      txn_.Delete(Cf::kCounters, key);
    } else {
      txn_.Put(Cf::kCounters, key, EncodeCounterRow(row));
    }
  }
  rows_.clear();
}

absl::Status ApplyReportChange(Txn& txn, CounterRows& rows,
                               std::string_view trial_id, int num_windows,
                               const CountedVersion* removed,
                               const CountedVersion* added) {
  for (const StateChange& change : CollectChanges(removed, added)) {
    absl::Status applied =
        ApplyStateChange(txn, rows, trial_id, num_windows, change);
    if (!applied.ok()) return applied;
  }
  return absl::OkStatus();
}

absl::Status ApplyReportChange(Txn& txn, std::string_view trial_id,
                               int num_windows, const CountedVersion* removed,
                               const CountedVersion* added) {
  CounterRows rows(txn);
  absl::Status applied =
      ApplyReportChange(txn, rows, trial_id, num_windows, removed, added);
  if (applied.ok()) rows.Flush();
  return applied;
}

absl::Status MoveSubjectGroups(Txn& txn, std::string_view trial_id,
                               int num_windows, const GroupMoves& moves) {
  // The states are collected by the scan, then their rows are read and
  // written through the transaction (CounterRows), each row once.
  struct Moved {
    TermKey term;
    WindowCounts counts;
    GroupMove move;
  };
  std::vector<Moved> states;
  absl::Status error;
  absl::Status scan = txn.Scan(
      Cf::kSubjectTerms, TrialPrefix(trial_id), "",
      [&](std::string_view key, std::string_view value) {
        std::optional<SubjectTermKeyParts> parts = DecodeSubjectTermKey(key);
        if (!parts.has_value()) {
          error = absl::DataLossError("malformed subject-term key");
          return false;
        }
        auto move = moves.find(parts->subject_id);
        if (move == moves.end()) return true;
        auto counts = DecodeWindowCounts(value, num_windows);
        if (!counts.ok()) {
          error = counts.status();
          return false;
        }
        states.push_back(
            {std::move(parts->term), *std::move(counts), move->second});
        return true;
      });
  if (!scan.ok()) return scan;
  if (!error.ok()) return error;
  const WindowCounts none(num_windows, 0);
  CounterRows rows(txn);
  for (const Moved& state : states) {
    auto row = rows.Mutable(CounterRowKey(trial_id, state.term));
    if (!row.ok()) return row.status();
    absl::Status applied =
        AddToCounterRow(**row, state.move.from, CellDeltas(state.counts, none));
    if (applied.ok()) {
      applied =
          AddToCounterRow(**row, state.move.to, CellDeltas(none, state.counts));
    }
    if (!applied.ok()) return applied;
  }
  rows.Flush();
  return absl::OkStatus();
}

namespace {

// Places a stored row into the trial's dense layout.
absl::Status FillCells(std::string_view row_bytes, int num_groups,
                       int num_windows, std::vector<CellCounts>* cells) {
  auto row = DecodeCounterRow(row_bytes);
  if (!row.ok()) return row.status();
  for (const CounterCell& cell : *row) {
    if (cell.group >= static_cast<uint32_t>(num_groups) ||
        cell.window >= static_cast<uint32_t>(num_windows)) {
      return absl::DataLossError("counter cell outside the trial layout");
    }
    (*cells)[cell.group * num_windows + cell.window] = cell.counts;
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<TermCounters>> ReadTermCounters(
    const ReadView& view, std::string_view trial_id, Level level,
    int num_groups, int num_windows, std::string_view after, int max_terms,
    bool* more) {
  *more = false;
  const std::string prefix = CounterLevelPrefix(trial_id, level);
  std::string start = prefix;
  if (!after.empty()) {
    // Rows sort by encoded term; begin right after the row of `after`.
    start = TrialPrefix(trial_id) + std::string(after);
    start.push_back('\0');
  }
  std::vector<TermCounters> out;
  absl::Status error;
  absl::Status scan = view.Scan(
      Cf::kCounters, prefix, start,
      [&](std::string_view key, std::string_view value) {
        if (static_cast<int>(out.size()) == max_terms) {
          *more = true;
          return false;
        }
        auto parts = DecodeCounterRowKey(key);
        if (!parts.has_value()) {
          error = absl::DataLossError("malformed counter row key");
          return false;
        }
        out.push_back({std::move(parts->term),
                       std::vector<CellCounts>(num_groups * num_windows)});
        error = FillCells(value, num_groups, num_windows, &out.back().cells);
        return error.ok();
      });
  if (!scan.ok()) return scan;
  if (!error.ok()) return error;
  return out;
}

absl::StatusOr<TermCounters> ReadOneTerm(const ReadView& view,
                                         std::string_view trial_id,
                                         const TermKey& term, int num_groups,
                                         int num_windows) {
  TermCounters out{term, std::vector<CellCounts>(num_groups * num_windows)};
  auto row = view.Get(Cf::kCounters, CounterRowKey(trial_id, term));
  if (!row.ok()) return row.status();
  if (row->has_value()) {
    absl::Status filled = FillCells(**row, num_groups, num_windows, &out.cells);
    if (!filled.ok()) return filled;
  }
  return out;
}

namespace {

// Calls `fn` with the newest stored version of every report of a trial, in
// key order. A report's versions are consecutive keys (the version is the
// key's last, big-endian part), so one report is held at a time: verifying
// a 20-million-report trial used to keep every report in a map (13 GiB).
using LatestReportFn = std::function<absl::Status(const ReportKeyParts& id,
                                                  const StoredReport& newest)>;
absl::Status ForEachLatestReport(const ReadView& view,
                                 std::string_view trial_id,
                                 const LatestReportFn& fn) {
  std::optional<ReportKeyParts> held_id;
  StoredReport held;
  absl::Status error;
  absl::Status scan = view.Scan(
      Cf::kReports, TrialPrefix(trial_id), "",
      [&](std::string_view key, std::string_view value) {
        std::optional<ReportKeyParts> parts = DecodeReportKey(key);
        if (!parts.has_value()) {
          error = absl::DataLossError("malformed report record");
          return false;
        }
        if (held_id.has_value() && (held_id->site_id != parts->site_id ||
                                    held_id->report_id != parts->report_id)) {
          error = fn(*held_id, held);
          if (!error.ok()) return false;
        }
        if (!held.ParseFromArray(value.data(),
                                 static_cast<int>(value.size()))) {
          error = absl::DataLossError("malformed report record");
          return false;
        }
        held_id = std::move(parts);
        return true;
      });
  if (!scan.ok()) return scan;
  if (!error.ok()) return error;
  return held_id.has_value() ? fn(*held_id, held) : absl::OkStatus();
}

// The first few differences a verification finds, for its error message.
class Differences {
 public:
  void Note(std::string difference) {
    if (notes_.size() < 5) notes_.push_back(std::move(difference));
  }
  absl::Status ToStatus() const {
    if (notes_.empty()) return absl::OkStatus();
    std::string msg =
        "stored counters or heads differ from a recount of reports:";
    for (const auto& note : notes_) absl::StrAppend(&msg, " ", note, ";");
    return absl::DataLossError(msg);
  }

 private:
  std::vector<std::string> notes_;
};

// The report's head must point at its newest version.
absl::Status CheckHead(const ReadView& view, const ReportKeyParts& id,
                       const StoredReport& newest, Differences& diffs) {
  auto head = view.Get(Cf::kReportHeads,
                       ReportHeadKey(id.trial_id, id.site_id, id.report_id));
  if (!head.ok()) return head.status();
  std::string want;
  AppendBigEndian32(&want, newest.report().version());
  if (!head->has_value() || **head != want) {
    diffs.Note(absl::StrCat("head of report '", id.report_id,
                            "' does not point at its newest version"));
  }
  return absl::OkStatus();
}

// The number of a trial's keys in `cf`.
absl::StatusOr<uint64_t> CountTrialKeys(const ReadView& view, Cf cf,
                                        std::string_view trial_id) {
  uint64_t keys = 0;
  absl::Status scan = view.Scan(cf, TrialPrefix(trial_id), "",
                                [&](std::string_view, std::string_view) {
                                  ++keys;
                                  return true;
                                });
  if (!scan.ok()) return scan;
  return keys;
}

// No head may exist without a report.
absl::Status CheckHeadCount(const ReadView& view, std::string_view trial_id,
                            size_t reports, Differences& diffs) {
  absl::StatusOr<uint64_t> heads =
      CountTrialKeys(view, Cf::kReportHeads, trial_id);
  if (!heads.ok()) return heads.status();
  if (*heads != reports) {
    diffs.Note(absl::StrCat(*heads, " report heads for ", reports, " reports"));
  }
  return absl::OkStatus();
}

// A subject-term state as recounted from reports.
// (Its term is in its key: the recount holds millions of these.)
struct RecountedState {
  int group = 0;
  WindowCounts windows;
};

// Counter rows: row key -> (group, window) -> counts.
using RecountedCounters =
    std::map<std::string, std::map<std::pair<uint32_t, uint32_t>, CellCounts>>;

// Subject-term states and counter rows computed from reports alone.
struct Recount {
  std::map<std::string, RecountedState> states;  // by subject-term key
  RecountedCounters counters;
};

// Counts one report's newest version into the recounted states.
absl::Status AddToRecount(const StoredReport& stored, std::string_view trial_id,
                          int num_windows, const CountedRowsFn& rows_of,
                          const SubjectGroups& groups, Recount& recount) {
  if (stored.window() < 0 || stored.window() >= num_windows) {
    return absl::DataLossError("stored report window out of range");
  }
  auto group = groups.find(stored.report().subject_id());
  if (group == groups.end()) {
    return absl::DataLossError(absl::StrCat("stored report of subject '",
                                            stored.report().subject_id(),
                                            "', who is not enrolled"));
  }
  for (TermKey& term : rows_of(stored.report())) {
    RecountedState& state = recount.states[SubjectTermKey(
        trial_id, term, stored.report().subject_id())];
    state.windows.resize(num_windows, 0);
    state.windows[stored.window()] += 1;
    state.group = group->second;
  }
  return absl::OkStatus();
}

// Adds the counter rows the recounted states add up to into `counters`.
absl::Status AddUpCounters(std::string_view trial_id, int num_windows,
                           const std::map<std::string, RecountedState>& states,
                           RecountedCounters& counters) {
  for (const auto& [key, state] : states) {
    std::optional<SubjectTermKeyParts> parts = DecodeSubjectTermKey(key);
    if (!parts.has_value()) {
      return absl::InternalError("recounted a malformed subject-term key");
    }
    auto& row = counters[CounterRowKey(trial_id, parts->term)];
    for (const auto& [window, delta] :
         CellDeltas(WindowCounts(num_windows, 0), state.windows)) {
      CellCounts& c = row[{static_cast<uint32_t>(state.group),
                           static_cast<uint32_t>(window)}];
      c.interval_subjects += delta.interval_subjects;
      c.new_subjects += delta.new_subjects;
      c.events += delta.events;
    }
  }
  return absl::OkStatus();
}

// Verification recounts the subjects in `count` passes (a subject's states
// all in one), so that it holds one pass's states at a time.
struct Partition {
  uint64_t index = 0;
  uint64_t count = 1;

  // Whether the subject is counted in this pass. Any spread of subjects
  // over passes will do as long as it is the same for a subject's reports
  // and its stored states within one verification, so the process's own
  // hash serves (it need not be stable across runs).
  bool Holds(std::string_view subject_id) const {
    return count == 1 || absl::HashOf(subject_id) % count == index;
  }
};

// Compares the stored subject-term states of the partition's subjects with
// their recount. A key that does not decode is a difference, noted in the
// first pass only.
absl::Status CompareStates(const ReadView& view, std::string_view trial_id,
                           int num_windows, const Partition& partition,
                           const Recount& recount, Differences& diffs) {
  size_t stored_states = 0;
  absl::Status scan = view.Scan(
      Cf::kSubjectTerms, TrialPrefix(trial_id), "",
      [&](std::string_view key, std::string_view value) {
        std::optional<SubjectTermKeyParts> parts = DecodeSubjectTermKey(key);
        if (!parts.has_value()) {
          if (partition.index == 0) diffs.Note("malformed subject-term key");
          return true;
        }
        if (!partition.Holds(parts->subject_id)) return true;
        ++stored_states;
        auto it = recount.states.find(std::string(key));
        auto decoded = DecodeWindowCounts(value, num_windows);
        if (it == recount.states.end() || !decoded.ok() ||
            *decoded != it->second.windows) {
          diffs.Note("subject-term state differs from recount");
        }
        return true;
      });
  if (!scan.ok()) return scan;
  if (stored_states != recount.states.size()) {
    diffs.Note(absl::StrCat("stored ", stored_states,
                            " subject-term states, recount ",
                            recount.states.size()));
  }
  return absl::OkStatus();
}

absl::Status CompareCounters(const ReadView& view, std::string_view trial_id,
                             const RecountedCounters& recounted_rows,
                             Differences& diffs) {
  size_t stored_rows = 0;
  absl::Status scan = view.Scan(
      Cf::kCounters, TrialPrefix(trial_id), "",
      [&](std::string_view key, std::string_view value) {
        ++stored_rows;
        auto it = recounted_rows.find(std::string(key));
        auto decoded = DecodeCounterRow(value);
        CounterRow recounted;
        if (it != recounted_rows.end()) {
          for (const auto& [cell, counts] : it->second) {
            recounted.push_back({cell.first, cell.second, counts});
          }
        }
        if (it == recounted_rows.end() || !decoded.ok() ||
            *decoded != recounted) {
          auto parts = DecodeCounterRowKey(key);
          diffs.Note(absl::StrCat(
              "counter row differs from recount for term '",
              parts ? parts->term.pt + parts->term.soc + parts->term.overall
                    : "?",
              "'"));
        }
        return true;
      });
  if (!scan.ok()) return scan;
  if (stored_rows != recounted_rows.size()) {
    diffs.Note(absl::StrCat("stored ", stored_rows, " counter rows, recount ",
                            recounted_rows.size()));
  }
  return absl::OkStatus();
}

// How many passes verification needs so that each holds at most
// `max_states_per_pass` recounted states, sized by the stored states (the
// recount's own size when the store is right; only a size, never an input
// to the recount).
absl::StatusOr<uint64_t> VerificationPasses(const ReadView& view,
                                            std::string_view trial_id,
                                            size_t max_states_per_pass) {
  absl::StatusOr<uint64_t> stored_states =
      CountTrialKeys(view, Cf::kSubjectTerms, trial_id);
  if (!stored_states.ok()) return stored_states.status();
  const uint64_t per_pass = std::max<uint64_t>(1, max_states_per_pass);
  return std::max<uint64_t>(1, (*stored_states + per_pass - 1) / per_pass);
}

// One pass: recounts the partition's subjects, compares their stored states
// and adds their counter rows to `counters`. The first pass also checks
// every report's head and the number of heads.
absl::Status VerifyPartition(const ReadView& view, std::string_view trial_id,
                             int num_windows, const CountedRowsFn& rows_of,
                             const SubjectGroups& groups,
                             const Partition& partition,
                             RecountedCounters& counters, Differences& diffs,
                             VerifySummary& summary) {
  const bool first = partition.index == 0;
  Recount recount;
  size_t reports = 0;
  absl::Status checked = ForEachLatestReport(
      view, trial_id,
      [&](const ReportKeyParts& id, const StoredReport& newest) {
        ++reports;
        if (first) {
          absl::Status head = CheckHead(view, id, newest, diffs);
          if (!head.ok()) return head;
        }
        if (!partition.Holds(newest.report().subject_id())) {
          return absl::OkStatus();
        }
        return AddToRecount(newest, trial_id, num_windows, rows_of, groups,
                            recount);
      });
  if (!checked.ok()) return checked;
  if (first) {
    summary.reports = reports;
    checked = CheckHeadCount(view, trial_id, reports, diffs);
    if (!checked.ok()) return checked;
  }
  summary.states += recount.states.size();
  checked =
      CompareStates(view, trial_id, num_windows, partition, recount, diffs);
  if (!checked.ok()) return checked;
  return AddUpCounters(trial_id, num_windows, recount.states, counters);
}

}  // namespace

absl::StatusOr<VerifySummary> VerifyCounters(const ReadView& view,
                                             std::string_view trial_id,
                                             int num_windows,
                                             const CountedRowsFn& rows_of,
                                             const SubjectGroups& groups,
                                             const VerifyLimits& limits) {
  absl::StatusOr<uint64_t> passes =
      VerificationPasses(view, trial_id, limits.max_states_per_pass);
  if (!passes.ok()) return passes.status();
  VerifySummary summary{.passes = *passes};
  Differences diffs;
  RecountedCounters counters;
  for (uint64_t i = 0; i < *passes; ++i) {
    absl::Status verified =
        VerifyPartition(view, trial_id, num_windows, rows_of, groups,
                        {i, *passes}, counters, diffs, summary);
    if (!verified.ok()) return verified;
  }
  summary.counter_rows = counters.size();
  absl::Status compared = CompareCounters(view, trial_id, counters, diffs);
  if (!compared.ok()) return compared;
  absl::Status differences = diffs.ToStatus();
  if (!differences.ok()) return differences;
  return summary;
}

absl::Status RecountTerms(Txn& txn, std::string_view trial_id, int num_windows,
                          std::span<const TermKey> terms,
                          const CountedRowsFn& rows_of,
                          const SubjectGroups& groups) {
  const std::set<TermKey> selected(terms.begin(), terms.end());
  const CountedRowsFn selected_rows = [&](const v1::AdverseEventReport& r) {
    std::vector<TermKey> rows = rows_of(r);
    std::erase_if(rows,
                  [&](const TermKey& t) { return !selected.contains(t); });
    return rows;
  };
  Recount recount;
  absl::Status counted = ForEachLatestReport(
      txn, trial_id, [&](const ReportKeyParts&, const StoredReport& newest) {
        return AddToRecount(newest, trial_id, num_windows, selected_rows,
                            groups, recount);
      });
  if (!counted.ok()) return counted;
  counted =
      AddUpCounters(trial_id, num_windows, recount.states, recount.counters);
  if (!counted.ok()) return counted;
  for (const TermKey& term : selected) {
    std::vector<std::string> stale;
    absl::Status scan =
        txn.Scan(Cf::kSubjectTerms, TrialPrefix(trial_id) + EncodeTerm(term),
                 "", [&](std::string_view key, std::string_view) {
                   stale.emplace_back(key);
                   return true;
                 });
    if (!scan.ok()) return scan;
    for (const std::string& key : stale) txn.Delete(Cf::kSubjectTerms, key);
    txn.Delete(Cf::kCounters, CounterRowKey(trial_id, term));
  }
  for (const auto& [key, state] : recount.states) {
    txn.Put(Cf::kSubjectTerms, key, EncodeWindowCounts(state.windows));
  }
  for (const auto& [key, cells] : recount.counters) {
    CounterRow row;
    for (const auto& [cell, counts] : cells) {
      if (!counts.zero()) row.push_back({cell.first, cell.second, counts});
    }
    if (!row.empty()) txn.Put(Cf::kCounters, key, EncodeCounterRow(row));
  }
  return absl::OkStatus();
}

namespace {
constexpr std::string_view kCountingRulesKey = "counting_rules_version";
}  // namespace

absl::StatusOr<int> ReadCountingRulesVersion(const ReadView& view) {
  auto stored = view.Get(Cf::kMeta, kCountingRulesKey);
  if (!stored.ok()) return stored.status();
  if (!stored->has_value()) return 0;
  int version = 0;
  if (!absl::SimpleAtoi(**stored, &version) || version < 1) {
    return absl::DataLossError(
        absl::StrCat("malformed counting rules version '", **stored, "'"));
  }
  return version;
}

void WriteCountingRulesVersion(Txn& txn, int version) {
  txn.Put(Cf::kMeta, kCountingRulesKey, absl::StrCat(version));
}

namespace {

// A schema-1 counter key: the row key of its term, then big-endian 16-bit
// dose group and window indexes.
struct LegacyCellKey {
  std::string row_key;
  uint16_t group = 0;
  uint16_t window = 0;
};

std::optional<LegacyCellKey> DecodeLegacyCellKey(std::string_view key) {
  std::string_view in = key;
  std::string trial_id;
  TermKey term;
  if (!ConsumeOrderedString(&in, &trial_id) || !ConsumeTerm(&in, &term)) {
    return std::nullopt;
  }
  LegacyCellKey out;
  out.row_key = std::string(key.substr(0, key.size() - in.size()));
  if (!ConsumeBigEndian16(&in, &out.group) ||
      !ConsumeBigEndian16(&in, &out.window) || !in.empty()) {
    return std::nullopt;
  }
  return out;
}

}  // namespace

absl::Status MigrateCellCountersToRows(Store& store) {
  // Bounds one commit; a term's cells are never split across commits.
  constexpr size_t kCellsPerCommit = 50000;
  std::string start;
  while (true) {
    std::map<std::string, CounterRow> rows;
    std::vector<std::string> cell_keys;
    std::string resume;
    absl::Status error;
    const ReadView view = store.Latest();
    absl::Status scan =
        view.Scan(Cf::kCounters, "", start,
                  [&](std::string_view key, std::string_view value) {
                    if (DecodeCounterRowKey(key).has_value())
                      return true;  // converted
                    auto cell = DecodeLegacyCellKey(key);
                    if (!cell.has_value()) {
                      error = absl::DataLossError("unrecognized counter key");
                      return false;
                    }
                    if (cell_keys.size() >= kCellsPerCommit &&
                        !rows.contains(cell->row_key)) {
                      resume = std::string(key);
                      return false;
                    }
                    auto counts = DecodeCellCounts(value);
                    if (!counts.ok()) {
                      error = counts.status();
                      return false;
                    }
                    CounterRow& row = rows[cell->row_key];
                    if (!counts->zero())
                      row.push_back({cell->group, cell->window, *counts});
                    cell_keys.emplace_back(key);
                    return true;
                  });
    if (!scan.ok()) return scan;
    if (!error.ok()) return error;
    if (cell_keys.empty()) return absl::OkStatus();
    absl::Status committed = store.Commit([&](Txn& txn) -> absl::Status {
      for (const std::string& key : cell_keys) txn.Delete(Cf::kCounters, key);
      for (const auto& [row_key, row] : rows) {
        auto existing = txn.Get(Cf::kCounters, row_key);
        if (!existing.ok()) return existing.status();
        if (existing->has_value()) {
          return absl::DataLossError(
              "a term has counters in both the schema-1 and schema-2 layout");
        }
        if (!row.empty()) {
          txn.Put(Cf::kCounters, row_key, EncodeCounterRow(row));
        }
      }
      return absl::OkStatus();
    });
    if (!committed.ok()) return committed;
    if (resume.empty()) return absl::OkStatus();
    start = std::move(resume);
  }
}

}  // namespace aesignal::storage
