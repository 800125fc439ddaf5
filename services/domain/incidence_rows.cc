#include "services/domain/incidence_rows.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace aesignal::domain {
namespace {

using storage::Level;
using storage::TermKey;

// Appends rows to a vector whose existing elements are overwritten in place
// (keeping their strings' capacity) before new ones are added.
class RowWriter {
 public:
  explicit RowWriter(std::vector<TermKey>* rows) : rows_(*rows) {}
  ~RowWriter() { rows_.resize(used_); }

  void Pt(const std::string& soc, const std::string& pt) {
    TermKey& t = Next(Level::kPt);
    t.soc.assign(soc);
    t.pt.assign(pt);
  }
  void Soc(const std::string& soc) { Next(Level::kSoc).soc.assign(soc); }
  void Overall(std::string_view key) {
    Next(Level::kOverall).overall.assign(key.data(), key.size());
  }
  void Aesi(const std::string& category) {
    TermKey& t = Next(Level::kOverall);
    t.overall.assign(kAesiPrefix);
    t.overall.append(category);
  }
  size_t size() const { return used_; }

 private:
  TermKey& Next(Level level) {
    if (used_ == rows_.size()) rows_.emplace_back();
    TermKey& t = rows_[used_++];
    t.level = level;
    t.soc.clear();
    t.pt.clear();
    t.overall.clear();
    return t;
  }

  std::vector<TermKey>& rows_;
  size_t used_ = 0;
};

}  // namespace

bool IsRelated(v1::Relatedness r) {
  return r == v1::RELATEDNESS_UNSPECIFIED || r == v1::RELATEDNESS_POSSIBLE ||
         r == v1::RELATEDNESS_PROBABLE || r == v1::RELATEDNESS_DEFINITE;
}

bool IsFatal(const v1::AdverseEventReport& report) {
  return report.death() || report.outcome() == v1::OUTCOME_FATAL;
}

bool Counts(const v1::AdverseEventReport& report) {
  return !report.entered_in_error();
}

bool InSubset(const v1::AdverseEventReport& report, const SubsetRule& subset) {
  return Counts(report) && MeetsSubsetRule(report, subset);
}

bool MeetsSubsetRule(const v1::AdverseEventReport& report,
                     const SubsetRule& subset) {
  switch (subset.subset) {
    case v1::INCIDENCE_SUBSET_SERIOUS:
      return report.serious();
    case v1::INCIDENCE_SUBSET_GRADE_3_PLUS:
      return report.grade() >= 3;
    case v1::INCIDENCE_SUBSET_RELATED:
      return IsRelated(report.relatedness());
    case v1::INCIDENCE_SUBSET_DEATH:
      return IsFatal(report);
    case v1::INCIDENCE_SUBSET_AESI:
      return std::find(report.aesi().begin(), report.aesi().end(),
                       subset.aesi_category) != report.aesi().end();
    default:
      return true;
  }
}

void CountedRows(const v1::AdverseEventReport& report,
                 std::vector<TermKey>* rows) {
  if (!Counts(report)) {
    rows->clear();
    return;
  }
  size_t first_aesi = 0;
  {
    RowWriter out(rows);
    out.Pt(report.soc(), report.pt());
    out.Soc(report.soc());
    out.Overall(kAnyAe);
    if (report.serious()) out.Overall(kAnySae);
    if (report.grade() >= 3) out.Overall(kGrade3Plus);
    if (IsRelated(report.relatedness())) out.Overall(kRelated);
    if (IsFatal(report)) out.Overall(kDeath);
    first_aesi = out.size();
    for (const std::string& category : report.aesi()) out.Aesi(category);
  }
  // Each category once, in category order (validation rejects repeats in
  // new reports; the rule does not depend on it).
  const auto aesi = rows->begin() + static_cast<std::ptrdiff_t>(first_aesi);
  std::sort(aesi, rows->end());
  rows->erase(std::unique(aesi, rows->end()), rows->end());
}

std::vector<TermKey> CountedRows(const v1::AdverseEventReport& report) {
  std::vector<TermKey> rows;
  CountedRows(report, &rows);
  return rows;
}

TermKey OverallTerm(std::string_view key) {
  TermKey t;
  t.level = Level::kOverall;
  t.overall = std::string(key);
  return t;
}

std::string AesiCategoryLabel(std::string_view category) {
  std::string label(category);
  std::replace(label.begin(), label.end(), '_', ' ');
  return label;
}

std::vector<OverallRow> OverallRows(const v1::Trial& trial) {
  std::vector<OverallRow> rows = {
      {kAnyAe, "Any AE"},
      {kAnySae, "Any serious AE"},
      {kGrade3Plus, "Any grade >= 3 AE"},
      {kRelated, "Any related AE (possible, probable, definite or not given)"},
      {kDeath, "Any fatal AE (death or outcome fatal)"},
  };
  for (const auto& c : trial.aesi_categories()) {
    rows.push_back({absl::StrCat(kAesiPrefix, c),
                    absl::StrCat("AESI: ", AesiCategoryLabel(c))});
  }
  return rows;
}

bool IsOverallRow(const v1::Trial& trial, std::string_view key) {
  const std::vector<OverallRow> rows = OverallRows(trial);
  return std::any_of(rows.begin(), rows.end(),
                     [&](const OverallRow& row) { return row.key == key; });
}

}  // namespace aesignal::domain
