#include "services/domain/incidence_query.h"

#include <algorithm>
#include <memory>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "services/domain/evaluate.h"
#include "services/domain/incidence_comparisons.h"
#include "services/domain/incidence_derived.h"
#include "services/domain/validation.h"
#include "services/errors/errors.h"
#include "services/signal/binomial_ci.h"
#include "storage/incidence.h"

namespace aesignal::domain::internal {
namespace {

using storage::Level;
using storage::TermKey;

// --- The request -------------------------------------------------------------

absl::StatusOr<Level> LevelOf(v1::TermLevel level) {
  switch (level) {
    case v1::TERM_LEVEL_PT:
      return Level::kPt;
    case v1::TERM_LEVEL_SOC:
      return Level::kSoc;
    case v1::TERM_LEVEL_OVERALL:
      return Level::kOverall;
    default:
      return errors::InvalidArgument("level", "must be PT, SOC or OVERALL");
  }
}

// The subset of a request; whether the AESI category is the trial's is
// checked with the trial (CheckIncidenceOptions).
absl::Status ParseSubset(const v1::GetIncidenceRequest& request,
                         SubsetRule* subset) {
  if (!v1::IncidenceSubset_IsValid(request.subset())) {
    return errors::InvalidArgument(
        "subset", errors::NotAnEnumValue(request.subset(),
                                         *v1::IncidenceSubset_descriptor()));
  }
  const bool aesi = request.subset() == v1::INCIDENCE_SUBSET_AESI;
  if (aesi && request.aesi_category().empty()) {
    return errors::InvalidArgument("aesi_category",
                                   "is required with INCIDENCE_SUBSET_AESI");
  }
  if (!aesi && !request.aesi_category().empty()) {
    return errors::InvalidArgument(
        "aesi_category", "is only allowed with INCIDENCE_SUBSET_AESI");
  }
  subset->subset = request.subset();
  subset->aesi_category = request.aesi_category();
  return absl::OkStatus();
}

// Sets the query's view: counts only (INCIDENCE_VIEW_COUNTS or _COLUMNS),
// and in columns. INVALID_ARGUMENT for an unknown view, or counts with an
// option that is a statistic.
absl::Status ParseView(const v1::GetIncidenceRequest& request,
                       IncidenceQuery* query) {
  switch (request.view()) {
    case v1::INCIDENCE_VIEW_UNSPECIFIED:
    case v1::INCIDENCE_VIEW_FULL:
      return absl::OkStatus();
    case v1::INCIDENCE_VIEW_COUNTS:
    case v1::INCIDENCE_VIEW_COLUMNS:
      for (const auto& [asked, field] :
           {std::pair{request.compare_to_control(), "compare_to_control"},
            std::pair{request.dose_trend(), "dose_trend"}}) {
        if (asked) {
          return errors::InvalidArgument(
              field,
              "is a statistic: ask for it with view INCIDENCE_VIEW_FULL");
        }
      }
      query->counts_only = true;
      query->columns = request.view() == v1::INCIDENCE_VIEW_COLUMNS;
      return absl::OkStatus();
    default:
      return errors::InvalidArgument(
          "view", absl::StrCat("unknown view ", request.view()));
  }
}

}  // namespace

absl::StatusOr<IncidenceQuery> ParseIncidenceQuery(
    const v1::GetIncidenceRequest& request) {
  IncidenceQuery query;
  AESIGNAL_ASSIGN_OR_RETURN(query.trial_id,
                            ParseTrialName(request.parent(), "parent"));
  AESIGNAL_ASSIGN_OR_RETURN(query.level, LevelOf(request.level()));
  query.confidence =
      request.confidence_level() == 0 ? 0.95 : request.confidence_level();
  if (!(query.confidence > 0 && query.confidence < 1)) {
    return errors::InvalidArgument("confidence_level", "must be in (0, 1)");
  }
  AESIGNAL_ASSIGN_OR_RETURN(
      query.page_size, PageSize(request.page_size(), 100, 1000, "page_size"));
  if (!request.page_token().empty()) {
    AESIGNAL_ASSIGN_OR_RETURN(std::string bytes, DecodePageToken(request));
    std::string_view in = bytes;
    TermKey term;
    if (!storage::ConsumeTerm(&in, &term) || !in.empty() ||
        term.level != query.level) {
      return errors::InvalidArgument("page_token",
                                     "is not a token of this query's level");
    }
    query.after = std::move(term);
  }
  AESIGNAL_RETURN_IF_ERROR(ParseSubset(request, &query.subset));
  AESIGNAL_RETURN_IF_ERROR(ParseView(request, &query));
  if (request.has_as_of()) {
    AESIGNAL_RETURN_IF_ERROR(CheckAsOf(request.as_of()));
    query.as_of = request.as_of();
  }
  query.derived = request.subset() != v1::INCIDENCE_SUBSET_UNSPECIFIED ||
                  request.max_grade() || query.as_of.has_value();
  return query;
}

namespace {

// The one term a GetIncidence request names (soc/pt/overall_key by level).
absl::StatusOr<TermKey> RequestedTerm(const v1::GetIncidenceRequest& request,
                                      Level level, const v1::Trial& trial) {
  TermKey term;
  term.level = level;
  // A name of another level's row is named as the mistake.
  if (level != Level::kOverall && !request.overall_key().empty()) {
    return errors::InvalidArgument(
        "overall_key", "names an overall row: ask with level OVERALL");
  }
  if (level == Level::kOverall &&
      (!request.soc().empty() || !request.pt().empty())) {
    return errors::InvalidArgument(
        request.pt().empty() ? "soc" : "pt",
        "an overall row is named by overall_key alone");
  }
  switch (level) {
    case Level::kPt:
      if (request.soc().empty() || request.pt().empty()) {
        return errors::InvalidArgument("pt",
                                       "a PT row is named by its soc and pt");
      }
      term.soc = request.soc();
      term.pt = request.pt();
      break;
    case Level::kSoc:
      if (request.soc().empty() || !request.pt().empty()) {
        return errors::InvalidArgument("soc",
                                       "a SOC row is named by soc alone");
      }
      term.soc = request.soc();
      break;
    case Level::kOverall:
      if (!IsOverallRow(trial, request.overall_key())) {
        return errors::InvalidArgument("overall_key",
                                       "is not an overall row key");
      }
      term.overall = request.overall_key();
      break;
  }
  return term;
}

// The request's options that need the trial: the AESI category, and the
// comparisons its design must allow.
absl::Status CheckIncidenceOptions(const v1::GetIncidenceRequest& request,
                                   const v1::Trial& trial) {
  const auto& categories = trial.aesi_categories();
  if (request.subset() == v1::INCIDENCE_SUBSET_AESI &&
      std::find(categories.begin(), categories.end(),
                request.aesi_category()) == categories.end()) {
    return errors::InvalidArgument("aesi_category",
                                   "is not an AESI category of the trial");
  }
  if (request.compare_to_control() && ControlGroup(trial) < 0) {
    return errors::InvalidArgument("compare_to_control",
                                   "the trial has no control dose group");
  }
  if (request.dose_trend() && trial.dose_groups_size() < 3) {
    return errors::InvalidArgument(
        "dose_trend", "a dose trend needs a trial with >= 3 dose groups");
  }
  return absl::OkStatus();
}

// Checks the request's filters against the trial; returns the one term row
// it asks for, if it names one.
absl::StatusOr<std::optional<TermKey>> CheckIncidenceFilters(
    const v1::GetIncidenceRequest& request, Level level,
    const v1::Trial& trial) {
  // Both filters are named if both are wrong, as ListSignals does.
  std::vector<errors::FieldViolation> violations;
  for (const auto& unknown :
       {UnknownDoseGroupFilter(trial, request.dose_group_id()),
        UnknownTimepointFilter(trial, request.timepoint_id())}) {
    if (unknown.has_value()) violations.push_back(*unknown);
  }
  if (!violations.empty()) return errors::InvalidArgument(violations);
  AESIGNAL_RETURN_IF_ERROR(CheckIncidenceOptions(request, trial));
  if (request.soc().empty() && request.pt().empty() &&
      request.overall_key().empty()) {
    return std::nullopt;
  }
  return RequestedTerm(request, level, trial);
}

// --- The rows ----------------------------------------------------------------

// Where a table's rows come from: the maintained counters, or rows counted
// from the reports (incidence_derived.h).
class RowSource {
 public:
  virtual ~RowSource() = default;
  // One row; zero cells if it has none.
  virtual absl::StatusOr<storage::TermCounters> One(const TermKey& term) = 0;
  // Up to `max` rows of `level` with >= 1 subject after `after`, in key
  // order; *more if rows remain.
  virtual absl::StatusOr<std::vector<storage::TermCounters>> Page(
      Level level, const std::optional<TermKey>& after, int max,
      bool* more) = 0;
  // The max-grade counts of `term` (zeros if it has none); empty if this
  // source has none.
  virtual std::vector<GradeCounts> MaxGrade(const TermKey& term) const = 0;
};

class CounterSource : public RowSource {
 public:
  CounterSource(const storage::ReadView& view, const v1::Trial& trial)
      : view_(view), trial_(trial) {}

  absl::StatusOr<storage::TermCounters> One(const TermKey& term) override {
    return storage::ReadOneTerm(view_, trial_.trial_id(), term,
                                trial_.dose_groups_size(),
                                trial_.timepoints_size());
  }
  absl::StatusOr<std::vector<storage::TermCounters>> Page(
      Level level, const std::optional<TermKey>& after, int max,
      bool* more) override {
    return storage::ReadTermCounters(
        view_, trial_.trial_id(), level, trial_.dose_groups_size(),
        trial_.timepoints_size(),
        after.has_value() ? storage::EncodeTerm(*after) : "", max, more);
  }
  std::vector<GradeCounts> MaxGrade(const TermKey&) const override {
    return {};
  }

 private:
  const storage::ReadView& view_;
  const v1::Trial& trial_;
};

class DerivedSource : public RowSource {
 public:
  // `rows` must outlive the source.
  DerivedSource(const DerivedRows& rows, const v1::Trial& trial)
      : rows_(rows),
        cells_(trial.dose_groups_size() * trial.timepoints_size()) {}
  DerivedSource(DerivedRows&&, const v1::Trial&) = delete;

  absl::StatusOr<storage::TermCounters> One(const TermKey& term) override {
    auto it = rows_.find(storage::EncodeTerm(term));
    if (it != rows_.end()) return it->second.counters;
    return storage::TermCounters{term,
                                 std::vector<storage::CellCounts>(cells_)};
  }
  absl::StatusOr<std::vector<storage::TermCounters>> Page(
      Level, const std::optional<TermKey>& after, int max,
      bool* more) override {
    *more = false;
    auto it = after.has_value() ? rows_.upper_bound(storage::EncodeTerm(*after))
                                : rows_.begin();
    std::vector<storage::TermCounters> out;
    for (; it != rows_.end(); ++it) {
      if (static_cast<int>(out.size()) == max) {
        *more = true;
        break;
      }
      out.push_back(it->second.counters);
    }
    return out;
  }
  std::vector<GradeCounts> MaxGrade(const TermKey& term) const override {
    auto it = rows_.find(storage::EncodeTerm(term));
    if (it != rows_.end()) return it->second.max_grade;
    return std::vector<GradeCounts>(cells_, GradeCounts{});
  }

 private:
  const DerivedRows& rows_;  // of the query's level only
  const size_t cells_;
};

std::string OverallLabel(const v1::Trial& trial, const std::string& key) {
  for (const OverallRow& row : OverallRows(trial)) {
    if (row.key == key) return row.label;
  }
  return key;
}

// The term rows of one page of an incidence table, with their labels.
struct IncidencePage {
  std::vector<storage::TermCounters> rows;
  std::vector<std::string> labels;
  bool more = false;  // rows remain after this page
};

std::string LabelOf(const v1::Trial& trial, const TermKey& term) {
  return term.level == Level::kPt    ? term.pt
         : term.level == Level::kSoc ? term.soc
                                     : OverallLabel(trial, term.overall);
}

absl::StatusOr<IncidencePage> ReadOneRow(RowSource& source,
                                         const v1::Trial& trial,
                                         const TermKey& term) {
  IncidencePage page;
  AESIGNAL_ASSIGN_OR_RETURN(storage::TermCounters counters, source.One(term));
  page.rows.push_back(std::move(counters));
  page.labels.push_back(LabelOf(trial, term));
  return page;
}

// Every overall row is shown, zero or not, in a fixed clinical order.
absl::StatusOr<IncidencePage> ReadOverallPage(RowSource& source,
                                              const v1::Trial& trial,
                                              const IncidenceQuery& query) {
  const std::vector<OverallRow> all = OverallRows(trial);
  size_t begin = 0;
  if (query.after.has_value()) {
    while (begin < all.size() && all[begin].key != query.after->overall) {
      ++begin;
    }
    if (begin == all.size()) {
      return errors::InvalidArgument("page_token", "unknown overall row");
    }
    ++begin;
  }
  IncidencePage page;
  for (size_t i = begin; i < all.size(); ++i) {
    if (static_cast<int>(page.rows.size()) == query.page_size) {
      page.more = true;
      break;
    }
    AESIGNAL_ASSIGN_OR_RETURN(storage::TermCounters counters,
                              source.One(OverallTerm(all[i].key)));
    page.rows.push_back(std::move(counters));
    page.labels.push_back(all[i].label);
  }
  return page;
}

// PT and SOC rows: only those with >= 1 subject, in key order.
absl::StatusOr<IncidencePage> ReadTermPage(RowSource& source,
                                           const IncidenceQuery& query) {
  IncidencePage page;
  AESIGNAL_ASSIGN_OR_RETURN(
      page.rows,
      source.Page(query.level, query.after, query.page_size, &page.more));
  for (const auto& row : page.rows) {
    page.labels.push_back(query.level == Level::kPt ? row.term.pt
                                                    : row.term.soc);
  }
  return page;
}

absl::StatusOr<IncidencePage> ReadPage(RowSource& source,
                                       const v1::Trial& trial,
                                       const IncidenceQuery& query,
                                       const std::optional<TermKey>& only) {
  if (only.has_value()) return ReadOneRow(source, trial, *only);
  if (query.level == Level::kOverall) {
    return ReadOverallPage(source, trial, query);
  }
  return ReadTermPage(source, query);
}

// --- The cells ---------------------------------------------------------------

// Clopper-Pearson intervals, memoized: an incidence table asks for the same
// few (x, n) pairs thousands of times (denominators are per dose group and
// timepoint, counts small), and each costs two inverse-beta evaluations.
// Thread-safe; bounded by clearing when full.
absl::StatusOr<signal::ProportionInterval> CachedClopperPearson(int64_t x,
                                                                int64_t n,
                                                                double level) {
  static absl::Mutex mu(absl::kConstInit);
  static auto* cache ABSL_GUARDED_BY(mu) =
      new absl::flat_hash_map<std::tuple<int64_t, int64_t, double>,
                              signal::ProportionInterval>();
  const auto key = std::make_tuple(x, n, level);
  {
    absl::MutexLock lock(&mu);
    if (auto it = cache->find(key); it != cache->end()) return it->second;
  }
  auto ci = signal::ClopperPearson(x, n, level);
  if (!ci.ok()) return ci;
  absl::MutexLock lock(&mu);
  if (cache->size() >= 1 << 20) cache->clear();
  cache->emplace(key, *ci);
  return ci;
}

// The intervals of one query: a table of 1,000 terms asks for 120,000
// estimates over a few dozen distinct (x, n) pairs, so a local map in front of
// the process-wide cache saves its lock on all but the first sight of a pair.
// Not thread-safe; one per query.
class IntervalMemo {
 public:
  explicit IntervalMemo(double level) : level_(level) {}

  absl::StatusOr<signal::ProportionInterval> Get(int64_t x, int64_t n) {
    if (auto it = memo_.find({x, n}); it != memo_.end()) return it->second;
    auto ci = CachedClopperPearson(x, n, level_);
    if (ci.ok()) memo_.emplace(std::make_pair(x, n), *ci);
    return ci;
  }

 private:
  const double level_;
  absl::flat_hash_map<std::pair<int64_t, int64_t>, signal::ProportionInterval>
      memo_;
};

// Fills `out` with the counts and, unless `intervals` is null (the counts
// view), the proportion and its interval.
absl::Status FillEstimate(int64_t subjects, int64_t events, int64_t n,
                          IntervalMemo* intervals, v1::Estimate* out) {
  if (subjects < 0 || subjects > n) {
    return absl::InternalError(
        absl::StrCat("inconsistent counters: ", subjects, " subjects of ", n));
  }
  out->set_subjects(subjects);
  out->set_events(events);
  out->set_denominator(n);
  if (intervals == nullptr) return absl::OkStatus();
  auto ci = intervals->Get(subjects, n);
  if (!ci.ok()) {
    return absl::InternalError(absl::StrCat("inconsistent counters: ", subjects,
                                            " subjects of ", n, ": ",
                                            ci.status().message()));
  }
  out->set_proportion(ci->estimate);
  out->set_ci_lower(ci->lower);
  out->set_ci_upper(ci->upper);
  return absl::OkStatus();
}

absl::Status BuildTermIncidence(const v1::Trial& trial,
                                const storage::TermCounters& counters,
                                const Denominators& d, IntervalMemo* intervals,
                                v1::TermIncidence* out) {
  const int num_groups = trial.dose_groups_size();
  const int num_windows = trial.timepoints_size();
  out->mutable_cells()->Reserve((num_groups + 1) * num_windows);
  // Group rows, then the all-groups total (index num_groups).
  for (int g = 0; g <= num_groups; ++g) {
    const bool total = g == num_groups;
    int64_t cum_subjects = 0, cum_events = 0;
    for (int w = 0; w < num_windows; ++w) {
      int64_t interval_subjects = 0, interval_events = 0, new_subjects = 0;
      int64_t dosed = 0, at_risk = 0;
      for (int gg = total ? 0 : g; gg < (total ? num_groups : g + 1); ++gg) {
        const storage::CellCounts& c = counters.cells[gg * num_windows + w];
        interval_subjects += c.interval_subjects;
        interval_events += c.events;
        new_subjects += c.new_subjects;
        dosed += d.dosed[gg];
        at_risk += d.at_risk[gg * num_windows + w];
      }
      cum_subjects += new_subjects;
      cum_events += interval_events;
      v1::IncidenceCell* cell = out->add_cells();
      // The total's dose_group_id is "", proto3's default: left unset, it
      // costs no string; its scope says what it is.
      if (!total) cell->set_dose_group_id(trial.dose_groups(g).dose_group_id());
      cell->set_scope(total ? v1::DOSE_GROUP_SCOPE_ALL_GROUPS
                            : v1::DOSE_GROUP_SCOPE_GROUP);
      cell->set_timepoint_id(trial.timepoints(w).timepoint_id());
      cell->set_n_dosed(dosed);
      cell->set_n_at_risk(at_risk);
      AESIGNAL_RETURN_IF_ERROR(FillEstimate(cum_subjects, cum_events, dosed,
                                            intervals,
                                            cell->mutable_cumulative()));
      AESIGNAL_RETURN_IF_ERROR(FillEstimate(interval_subjects, interval_events,
                                            at_risk, intervals,
                                            cell->mutable_interval()));
    }
  }
  return absl::OkStatus();
}

// Sets every cell's max_grade_subjects from a row's counts per (group,
// window); the total's is the sum over the groups.
void FillMaxGrades(const v1::Trial& trial,
                   const std::vector<GradeCounts>& grades,
                   v1::TermIncidence* term) {
  const int num_groups = trial.dose_groups_size();
  const int num_windows = trial.timepoints_size();
  for (int w = 0; w < num_windows; ++w) {
    GradeCounts total{};
    for (int g = 0; g < num_groups; ++g) {
      const GradeCounts& counts = grades[g * num_windows + w];
      auto* out = term->mutable_cells(g * num_windows + w)
                      ->mutable_max_grade_subjects();
      for (int i = 0; i < 5; ++i) {
        out->Add(static_cast<int32_t>(counts[i]));
        total[i] += counts[i];
      }
    }
    auto* out = term->mutable_cells(num_groups * num_windows + w)
                    ->mutable_max_grade_subjects();
    for (int64_t count : total) out->Add(static_cast<int32_t>(count));
  }
}

// Drops the cells outside the request's dose group and timepoint filters.
void KeepRequestedCells(const v1::GetIncidenceRequest& request,
                        v1::TermIncidence* term) {
  if (request.dose_group_id().empty() && request.timepoint_id().empty()) {
    return;
  }
  auto* cells = term->mutable_cells();
  cells->erase(std::remove_if(
                   cells->begin(), cells->end(),
                   [&](const v1::IncidenceCell& cell) {
                     return (!request.dose_group_id().empty() &&
                             cell.dose_group_id() != request.dose_group_id()) ||
                            (!request.timepoint_id().empty() &&
                             cell.timepoint_id() != request.timepoint_id());
                   }),
               cells->end());
}

// One query's builders, shared by its rows.
struct TermBuilder {
  const v1::GetIncidenceRequest& request;
  const v1::Trial& trial;
  const Denominators& denominators;
  RowSource& source;
  IntervalMemo intervals;
  IncidenceComparisons comparisons;
  bool counts_only = false;

  // A term's identity and label: the whole term in the columns view.
  void Identify(const storage::TermKey& key, const std::string& label,
                v1::TermIncidence* term) {
    term->set_level(request.level());
    term->set_soc(key.soc);
    term->set_pt(key.pt);
    term->set_overall_key(key.overall);
    term->set_label(label);
  }

  absl::Status Build(const storage::TermCounters& row, const std::string& label,
                     v1::TermIncidence* term) {
    Identify(row.term, label, term);
    AESIGNAL_RETURN_IF_ERROR(BuildTermIncidence(
        trial, row, denominators, counts_only ? nullptr : &intervals, term));
    if (request.max_grade()) {
      FillMaxGrades(trial, source.MaxGrade(row.term), term);
    }
    if (request.compare_to_control()) {
      AESIGNAL_RETURN_IF_ERROR(comparisons.CompareToControl(
          term, request.dose_group_id(), request.timepoint_id()));
    }
    if (request.dose_trend()) {
      AESIGNAL_RETURN_IF_ERROR(
          comparisons.AddDoseTrends(term, request.timepoint_id()));
    }
    KeepRequestedCells(request, term);
    return absl::OkStatus();
  }

  // The columns view's cells: every term's cells (as Build filters them)
  // without their estimates.
  absl::Status DescribeCells(v1::IncidenceColumns* columns) {
    storage::TermCounters zero;
    zero.cells.resize(trial.dose_groups_size() * trial.timepoints_size());
    v1::TermIncidence term;
    AESIGNAL_RETURN_IF_ERROR(
        BuildTermIncidence(trial, zero, denominators, nullptr, &term));
    KeepRequestedCells(request, &term);
    for (v1::IncidenceCell& cell : *term.mutable_cells()) {
      cell.clear_cumulative();
      cell.clear_interval();
    }
    *columns->mutable_cells() = std::move(*term.mutable_cells());
    return absl::OkStatus();
  }

  // Builds a row's term into `scratch` (its cells' storage reused row after
  // row) and appends its counts to `columns`; `term` gets its identity.
  absl::Status BuildColumns(const storage::TermCounters& row,
                            const std::string& label,
                            v1::TermIncidence* scratch,
                            v1::IncidenceColumns* columns,
                            v1::TermIncidence* term) {
    scratch->Clear();
    AESIGNAL_RETURN_IF_ERROR(Build(row, label, scratch));
    if (scratch->cells_size() != columns->cells_size()) {
      return absl::InternalError(
          absl::StrCat("a term has ", scratch->cells_size(),
                       " cells, the columns ", columns->cells_size()));
    }
    for (const v1::IncidenceCell& cell : scratch->cells()) {
      columns->add_cumulative_subjects(cell.cumulative().subjects());
      columns->add_cumulative_events(cell.cumulative().events());
      columns->add_interval_subjects(cell.interval().subjects());
      columns->add_interval_events(cell.interval().events());
      for (int32_t count : cell.max_grade_subjects()) {
        columns->add_max_grade_subjects(count);
      }
    }
    Identify(row.term, label, term);
    return absl::OkStatus();
  }
};

// The columns view's page: each term's identity in `terms`, the counts in
// `columns`.
absl::Status BuildColumnsPage(TermBuilder& builder, const IncidencePage& page,
                              v1::GetIncidenceResponse* response) {
  v1::IncidenceColumns* columns = response->mutable_columns();
  AESIGNAL_RETURN_IF_ERROR(builder.DescribeCells(columns));
  const int values = static_cast<int>(page.rows.size()) * columns->cells_size();
  for (auto* counts : {columns->mutable_cumulative_subjects(),
                       columns->mutable_cumulative_events(),
                       columns->mutable_interval_subjects(),
                       columns->mutable_interval_events()}) {
    counts->Reserve(values);
  }
  if (builder.request.max_grade()) {
    columns->mutable_max_grade_subjects()->Reserve(values * 5);
  }
  v1::TermIncidence scratch;
  for (size_t i = 0; i < page.rows.size(); ++i) {
    AESIGNAL_RETURN_IF_ERROR(builder.BuildColumns(page.rows[i], page.labels[i],
                                                  &scratch, columns,
                                                  response->add_terms()));
  }
  return absl::OkStatus();
}

}  // namespace

namespace {

// The page of `source`'s rows the request asks for, with `denominators`.
// `only`: the one row asked for, if any (CheckIncidenceFilters).
absl::StatusOr<v1::GetIncidenceResponse> AnswerFrom(
    RowSource& source, const v1::GetIncidenceRequest& request,
    const IncidenceQuery& query, const v1::Trial& trial,
    const Denominators& denominators, const std::optional<TermKey>& only) {
  AESIGNAL_ASSIGN_OR_RETURN(IncidencePage page,
                            ReadPage(source, trial, query, only));
  v1::GetIncidenceResponse response;
  response.set_confidence_level(query.confidence);
  if (query.as_of.has_value()) *response.mutable_as_of() = *query.as_of;
  TermBuilder builder{request,
                      trial,
                      denominators,
                      source,
                      IntervalMemo(query.confidence),
                      IncidenceComparisons(trial, query.confidence),
                      query.counts_only};
  if (query.columns) {
    AESIGNAL_RETURN_IF_ERROR(BuildColumnsPage(builder, page, &response));
  } else {
    for (size_t i = 0; i < page.rows.size(); ++i) {
      AESIGNAL_RETURN_IF_ERROR(
          builder.Build(page.rows[i], page.labels[i], response.add_terms()));
    }
  }
  if (page.more && !page.rows.empty()) {
    response.set_next_page_token(
        EncodePageToken(request, storage::EncodeTerm(page.rows.back().term)));
  }
  return response;
}

}  // namespace

absl::StatusOr<v1::GetIncidenceResponse> AnswerIncidence(
    const storage::ReadView& view, const v1::GetIncidenceRequest& request,
    const IncidenceQuery& query, const v1::Trial& trial,
    const Denominators& denominators) {
  AESIGNAL_ASSIGN_OR_RETURN(std::optional<TermKey> only,
                            CheckIncidenceFilters(request, query.level, trial));
  if (query.derived) {
    AESIGNAL_ASSIGN_OR_RETURN(
        const DerivedRows rows,
        DeriveRows(view, trial, query.level, query.subset));
    DerivedSource source(rows, trial);
    return AnswerFrom(source, request, query, trial, denominators, only);
  }
  CounterSource source(view, trial);
  return AnswerFrom(source, request, query, trial, denominators, only);
}

absl::StatusOr<std::vector<v1::GetIncidenceResponse>> AnswerIncidenceAtCutOff(
    const storage::ReadView& view,
    const std::vector<v1::GetIncidenceRequest>& requests,
    const std::vector<IncidenceQuery>& queries, const v1::Trial& trial) {
  // One tally per distinct (level, subset); max grades come with every one.
  std::vector<TallySpec> specs;
  std::vector<size_t> spec_of;
  std::vector<std::optional<TermKey>> only;
  for (size_t i = 0; i < requests.size(); ++i) {
    AESIGNAL_ASSIGN_OR_RETURN(
        std::optional<TermKey> row,
        CheckIncidenceFilters(requests[i], queries[i].level, trial));
    only.push_back(std::move(row));
    const TallySpec spec{queries[i].level, queries[i].subset};
    auto same = std::find(specs.begin(), specs.end(), spec);
    spec_of.push_back(same - specs.begin());
    if (same == specs.end()) specs.push_back(spec);
  }
  if (requests.empty()) return std::vector<v1::GetIncidenceResponse>();
  AESIGNAL_ASSIGN_OR_RETURN(
      const CutOffCount count,
      CountAtCutOff(view, trial, specs, *queries.front().as_of));
  std::vector<v1::GetIncidenceResponse> out;
  for (size_t i = 0; i < requests.size(); ++i) {
    DerivedSource source(count.rows[spec_of[i]], trial);
    AESIGNAL_ASSIGN_OR_RETURN(v1::GetIncidenceResponse answer,
                              AnswerFrom(source, requests[i], queries[i], trial,
                                         count.denominators, only[i]));
    out.push_back(std::move(answer));
  }
  return out;
}

}  // namespace aesignal::domain::internal
