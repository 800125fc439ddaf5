#include "clients/cli/baseline_library.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "yaml-cpp/yaml.h"

namespace aesignal::cli {
namespace {

// The 27 MedDRA system organ classes (primary SOC names, English).
constexpr std::array<absl::string_view, 27> kMeddraSocs = {
    "Blood and lymphatic system disorders",
    "Cardiac disorders",
    "Congenital, familial and genetic disorders",
    "Ear and labyrinth disorders",
    "Endocrine disorders",
    "Eye disorders",
    "Gastrointestinal disorders",
    "General disorders and administration site conditions",
    "Hepatobiliary disorders",
    "Immune system disorders",
    "Infections and infestations",
    "Injury, poisoning and procedural complications",
    "Investigations",
    "Metabolism and nutrition disorders",
    "Musculoskeletal and connective tissue disorders",
    "Neoplasms benign, malignant and unspecified (incl cysts and polyps)",
    "Nervous system disorders",
    "Pregnancy, puerperium and perinatal conditions",
    "Product issues",
    "Psychiatric disorders",
    "Renal and urinary disorders",
    "Reproductive system and breast disorders",
    "Respiratory, thoracic and mediastinal disorders",
    "Skin and subcutaneous tissue disorders",
    "Social circumstances",
    "Surgical and medical procedures",
    "Vascular disorders",
};

constexpr absl::string_view kHeaderKeys[] = {
    "format",     "library",         "citation", "source_file",
    "population", "population_text", "entries"};
constexpr absl::string_view kEntryKeys[] = {"id",          "level",
                                            "pt",          "soc",
                                            "overall_key", "x0",
                                            "n0",          "reported_percent",
                                            "follow_up",   "follow_up_day",
                                            "source_text", "follow_up_text",
                                            "note"};
// Baseline ids are at most 128 characters (the server's limit).
constexpr size_t kMaxBaselineIdLength = 128;

// Problems found so far, each "PATH:LINE: FIELD: REASON".
class Problems {
 public:
  explicit Problems(std::string path) : path_(std::move(path)) {}
  void Add(int line, absl::string_view field, absl::string_view why) {
    errors_.push_back(absl::StrCat(path_, ":", line, ": ", field,
                                   field.empty() ? "" : ": ", why));
  }
  size_t size() const { return errors_.size(); }
  std::vector<std::string> Take() { return std::move(errors_); }

 private:
  std::string path_;
  std::vector<std::string> errors_;
};

// 1-based line of `node`, or `fallback` if it has no position.
int LineOf(const YAML::Node& node, int fallback) {
  if (!node.IsDefined() || node.Mark().line < 0) return fallback;
  return node.Mark().line + 1;
}

// Lower-case words joined by '-' ("abdominal-pain"): URL-safe, so baseline
// ids built from them need no escaping in resource names.
bool IsSlug(absl::string_view s) {
  if (s.empty() || s.front() == '-' || s.back() == '-') return false;
  if (absl::StrContains(s, "--")) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '-';
  });
}

// The overall rows of api.md; the category is checked against the trial
// when planning.
bool IsOverallKey(absl::string_view key) {
  if (key == "any_ae" || key == "any_sae" || key == "grade_3_plus" ||
      key == "related" || key == "death") {
    return true;
  }
  if (!absl::ConsumePrefix(&key, "aesi:")) return false;
  return !key.empty() && key.size() <= 64 &&
         std::all_of(key.begin(), key.end(), [](char c) {
           return absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '_';
         });
}

// One YAML mapping whose keys were checked against the allowed ones (an
// unknown key is most often a typo that would otherwise drop a field
// silently).
class Mapping {
 public:
  Mapping(const YAML::Node& node, std::string prefix, int line,
          const std::vector<absl::string_view>& keys, Problems& problems)
      : prefix_(std::move(prefix)), line_(line), problems_(problems) {
    if (!node.IsMap()) {
      problems_.Add(line_, prefix_, "must be a mapping of field: value");
      return;
    }
    for (const auto& kv : node) {
      const std::string key = kv.first.Scalar();
      const int at = LineOf(kv.first, line_);
      if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
        problems_.Add(at, Path(key),
                      absl::StrCat("unknown field (known: ",
                                   absl::StrJoin(keys, ", "), ")"));
      } else if (std::any_of(
                     values_.begin(), values_.end(),
                     [&](const auto& kv2) { return kv2.first == key; })) {
        problems_.Add(at, Path(key), "repeated field");
      } else {
        values_.emplace_back(key, kv.second);
      }
    }
  }

  std::string Path(absl::string_view key) const {
    return prefix_.empty() ? std::string(key) : absl::StrCat(prefix_, ".", key);
  }
  bool Has(absl::string_view key) const { return Find(key) != nullptr; }
  // The line of `key`'s value, else of the mapping.
  int Line(absl::string_view key) const {
    const YAML::Node* value = Find(key);
    return value == nullptr ? line_ : LineOf(*value, line_);
  }
  const YAML::Node* Find(absl::string_view key) const {
    for (const auto& [k, v] : values_) {
      if (k == key && !v.IsNull()) return &v;
    }
    return nullptr;
  }

  // The text of a scalar field; "" (and a problem if `required`) when
  // absent or empty.
  std::string Text(absl::string_view key, bool required) const {
    const YAML::Node* value = Find(key);
    if (value != nullptr && !value->IsScalar()) {
      problems_.Add(Line(key), Path(key), "must be text, not a list or map");
      return "";
    }
    std::string text(
        absl::StripAsciiWhitespace(value ? value->Scalar() : std::string()));
    if (text.empty() && required) {
      problems_.Add(Line(key), Path(key), "is required");
    }
    return text;
  }

  // An integer field in [min, max]; nullopt (and a problem if `required` or
  // malformed) otherwise.
  std::optional<int> Int(absl::string_view key, bool required, int min,
                         int max) const {
    const std::string text = Text(key, required);
    if (text.empty()) return std::nullopt;
    int v = 0;
    if (!absl::SimpleAtoi(text, &v) || v < min || v > max) {
      problems_.Add(Line(key), Path(key),
                    absl::StrCat("must be an integer ", min, "..", max,
                                 ", got '", text, "'"));
      return std::nullopt;
    }
    return v;
  }

  // A problem unless `key` is absent (it does not belong to this level).
  void Forbid(absl::string_view key, absl::string_view why) const {
    if (Has(key)) problems_.Add(Line(key), Path(key), why);
  }

 private:
  std::vector<std::pair<std::string, YAML::Node>> values_;
  std::string prefix_;
  int line_;
  Problems& problems_;
};

std::optional<EntryLevel> LevelOf(absl::string_view level) {
  if (level == "pt") return EntryLevel::kPt;
  if (level == "soc") return EntryLevel::kSoc;
  if (level == "overall") return EntryLevel::kOverall;
  if (level == "reference") return EntryLevel::kReference;
  return std::nullopt;
}

// The term fields the entry's level needs, and no others.
void ReadTerm(const Mapping& m, LibraryEntry& e, Problems& problems) {
  const bool pt = e.level == EntryLevel::kPt;
  const bool soc = pt || e.level == EntryLevel::kSoc;
  const bool overall = e.level == EntryLevel::kOverall;
  if (!pt) m.Forbid("pt", "only a level pt entry has a pt");
  if (!soc) m.Forbid("soc", "only level pt and soc entries have a soc");
  if (!overall) {
    m.Forbid("overall_key", "only a level overall entry has an overall_key");
  }
  if (pt) e.pt = m.Text("pt", true);
  if (soc) {
    e.soc = m.Text("soc", true);
    if (!e.soc.empty() && !IsMeddraSoc(e.soc)) {
      problems.Add(m.Line("soc"), m.Path("soc"),
                   absl::StrCat("'", e.soc,
                                "' is not a MedDRA system organ class name"));
    }
  }
  if (overall) {
    e.overall_key = m.Text("overall_key", true);
    if (!e.overall_key.empty() && !IsOverallKey(e.overall_key)) {
      problems.Add(m.Line("overall_key"), m.Path("overall_key"),
                   absl::StrCat("'", e.overall_key,
                                "' is not an overall row (any_ae, any_sae, "
                                "grade_3_plus, related, death, "
                                "aesi:<category>)"));
    }
  }
}

// "66.7": digits with at most one decimal point.
bool IsDecimal(absl::string_view s) {
  const size_t dot = s.find('.');
  const auto digits = [](absl::string_view d) {
    return !d.empty() && std::all_of(d.begin(), d.end(), [](char c) {
      return absl::ascii_isdigit(c);
    });
  };
  if (dot == absl::string_view::npos) return digits(s);
  return digits(s.substr(0, dot)) && digits(s.substr(dot + 1));
}

// The printed percentage must be 100 x0/n0 rounded to its decimals: this
// catches an x0 or n0 mistyped while reading a percentage off a report.
void CheckPercent(const Mapping& m, const LibraryEntry& e, Problems& problems) {
  const std::string& text = e.reported_percent;
  if (text.empty()) return;
  double percent = 0;
  if (!IsDecimal(text) || !absl::SimpleAtod(text, &percent) || percent > 100) {
    problems.Add(
        m.Line("reported_percent"), m.Path("reported_percent"),
        absl::StrCat("must be a percentage such as 44.4, got '", text, "'"));
    return;
  }
  if (!e.x0 || !e.n0) return;
  const size_t dot = text.find('.');
  const int decimals =
      dot == std::string::npos ? 0 : static_cast<int>(text.size() - dot - 1);
  const double actual = 100.0 * *e.x0 / *e.n0;
  if (std::fabs(actual - percent) > 0.5 * std::pow(10.0, -decimals) + 1e-9) {
    problems.Add(m.Line("reported_percent"), m.Path("reported_percent"),
                 absl::StrFormat("%s%% is not x0/n0 = %d/%d = %.*f%% rounded",
                                 text, *e.x0, *e.n0, decimals + 2, actual));
  }
}

// x0, n0, the printed percentage and the follow-up.
void ReadCounts(const Mapping& m, LibraryEntry& e, Problems& problems) {
  const bool loadable = e.level != EntryLevel::kReference;
  e.n0 = m.Int("n0", loadable, 1, 1000000);
  e.x0 = m.Int("x0", loadable, 0, 1000000);
  if (e.x0 && e.n0 && *e.x0 > *e.n0) {
    problems.Add(m.Line("x0"), m.Path("x0"),
                 absl::StrCat("x0 = ", *e.x0, " is more than n0 = ", *e.n0));
    e.x0.reset();
  }
  e.reported_percent = m.Text("reported_percent", false);
  if (!e.reported_percent.empty() && !e.x0) {
    problems.Add(m.Line("reported_percent"), m.Path("reported_percent"),
                 "needs x0 and n0 to check it against");
  }
  CheckPercent(m, e, problems);
  e.follow_up = m.Text("follow_up", true);
  e.follow_up_day = m.Int("follow_up_day", loadable, 1, 100000);
}

std::optional<LibraryEntry> ReadEntry(const YAML::Node& node, int index,
                                      int fallback_line, Problems& problems) {
  const size_t before = problems.size();
  LibraryEntry e;
  e.line = LineOf(node, fallback_line);
  const Mapping m(node, absl::StrCat("entries[", index, "]"), e.line,
                  {std::begin(kEntryKeys), std::end(kEntryKeys)}, problems);
  if (!node.IsMap()) return std::nullopt;
  e.id = m.Text("id", true);
  if (!e.id.empty() && !IsSlug(e.id)) {
    problems.Add(m.Line("id"), m.Path("id"),
                 absl::StrCat("'", e.id,
                              "' must be lower-case letters and digits "
                              "joined by single '-'"));
  }
  const std::string level = m.Text("level", true);
  if (const auto parsed = LevelOf(level)) {
    e.level = *parsed;
    ReadTerm(m, e, problems);
  } else if (!level.empty()) {
    problems.Add(m.Line("level"), m.Path("level"),
                 absl::StrCat("'", level,
                              "' is not one of pt, soc, overall, reference"));
  }
  ReadCounts(m, e, problems);
  e.source_text = m.Text("source_text", true);
  e.follow_up_text = m.Text("follow_up_text", false);
  e.note = m.Text("note", e.level == EntryLevel::kReference);
  if (problems.size() != before) return std::nullopt;
  return e;
}

// The header fields; the library id must be the file's name so that ids
// (and so baseline ids) are unique across a directory of libraries.
void ReadHeader(const Mapping& m, const std::string& path,
                BaselineLibrary& library, Problems& problems) {
  const std::string format = m.Text("format", true);
  if (!format.empty() && format != kBaselineLibraryFormat) {
    problems.Add(m.Line("format"), "format",
                 absl::StrCat("must be ", kBaselineLibraryFormat, ", got '",
                              format, "'"));
  }
  library.id = m.Text("library", true);
  const std::string stem = std::filesystem::path(path).stem().string();
  if (!library.id.empty() && (!IsSlug(library.id) || library.id != stem)) {
    problems.Add(m.Line("library"), "library",
                 absl::StrCat("'", library.id,
                              "' must be the file's name without its "
                              "extension ('",
                              stem, "'), lower-case letters, digits and '-'"));
  }
  library.citation = m.Text("citation", true);
  library.source_file = m.Text("source_file", true);
  library.population = m.Text("population", true);
  library.population_text = m.Text("population_text", false);
}

void ReadEntries(const YAML::Node& entries, int line, BaselineLibrary& library,
                 Problems& problems) {
  if (!entries.IsSequence() || entries.size() == 0) {
    problems.Add(line, "entries", "must be a non-empty list of entries");
    return;
  }
  std::set<std::string> ids;
  for (size_t i = 0; i < entries.size(); ++i) {
    const YAML::Node entry = entries[i];
    auto read = ReadEntry(entry, static_cast<int>(i), line, problems);
    if (!read) continue;
    if (!ids.insert(read->id).second) {
      problems.Add(read->line, absl::StrCat("entries[", i, "].id"),
                   absl::StrCat("repeats the id '", read->id, "'"));
    } else if (library.id.size() + 1 + read->id.size() > kMaxBaselineIdLength) {
      problems.Add(read->line, absl::StrCat("entries[", i, "].id"),
                   "library id + '-' + id is over 128 characters");
    }
    library.entries.push_back(*std::move(read));
  }
}

LibraryRead Failed(std::vector<std::string> errors) {
  LibraryRead read;
  read.errors = std::move(errors);
  return read;
}

}  // namespace

bool IsMeddraSoc(absl::string_view soc) {
  return std::find(kMeddraSocs.begin(), kMeddraSocs.end(), soc) !=
         kMeddraSocs.end();
}

LibraryRead ReadBaselineLibrary(const std::string& path) {
  Problems problems(path);
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    return Failed({absl::StrCat(path, ": cannot open file")});
  } catch (const YAML::Exception& e) {
    problems.Add(std::max(1, e.mark.line + 1), "",
                 absl::StrCat("not valid YAML: ", e.msg));
    return Failed(problems.Take());
  }
  BaselineLibrary library;
  library.path = path;
  const Mapping header(
      root, "", 1, {std::begin(kHeaderKeys), std::end(kHeaderKeys)}, problems);
  if (!root.IsMap()) return Failed(problems.Take());
  ReadHeader(header, path, library, problems);
  const YAML::Node* entries = header.Find("entries");
  ReadEntries(entries ? *entries : YAML::Node(), header.Line("entries"),
              library, problems);
  if (problems.size() > 0) return Failed(problems.Take());
  LibraryRead read;
  read.library = std::move(library);
  return read;
}

double ExpectedProportion(int x0, int n0) {
  if (x0 > 0 && x0 < n0) return static_cast<double>(x0) / n0;
  return (x0 + 0.5) / (n0 + 1);
}

int TimepointFor(const v1::Trial& trial, int day) {
  for (int i = 0; i < trial.timepoints_size(); ++i) {
    if (trial.timepoints(i).study_day() >= day) return i;
  }
  return trial.timepoints_size() - 1;
}

namespace {

std::string ProportionText(int x0, int n0) {
  const double p0 = ExpectedProportion(x0, n0);
  if (x0 > 0 && x0 < n0) {
    return absl::StrFormat("p0 = %d/%d = %.4g", x0, n0, p0);
  }
  return absl::StrFormat(
      "p0 = (%d + 0.5)/(%d + 1) = %.4g, the Jeffreys estimate (an observed "
      "%d/%d cannot serve as p0)",
      x0, n0, p0, x0, n0);
}

// The Baseline's citation: where the figure comes from and how it was
// applied, so a signal's evidence carries its whole provenance.
std::string CitationOf(const BaselineLibrary& library, const LibraryEntry& e,
                       const v1::Timepoint& timepoint, bool after_last) {
  return absl::StrCat(
      library.citation, " Population: ", library.population, " Figure: ", *e.x0,
      "/", *e.n0, " by ", e.follow_up, " (study day ", *e.follow_up_day,
      "), compared at timepoint ", timepoint.timepoint_id(), " (day ",
      timepoint.study_day(), ")",
      after_last ? ", the trial's last, before the figure's follow-up ends"
                 : "",
      "; ", ProportionText(*e.x0, *e.n0), ". Source ", library.source_file,
      ": \"", e.source_text, "\"",
      e.note.empty() ? "" : absl::StrCat(" Note: ", e.note),
      " [baseline library ", library.id, ", entry ", e.id, "]");
}

v1::Baseline BaselineOf(const BaselineLibrary& library, const LibraryEntry& e,
                        const v1::Trial& trial, int timepoint) {
  const v1::Timepoint& tp = trial.timepoints(timepoint);
  v1::Baseline b;
  b.set_baseline_id(absl::StrCat(library.id, "-", e.id));
  switch (e.level) {
    case EntryLevel::kPt:
      b.set_level(v1::TERM_LEVEL_PT);
      b.set_pt(e.pt);
      b.set_soc(e.soc);
      break;
    case EntryLevel::kSoc:
      b.set_level(v1::TERM_LEVEL_SOC);
      b.set_soc(e.soc);
      break;
    default:
      b.set_level(v1::TERM_LEVEL_OVERALL);
      b.set_overall_key(e.overall_key);
  }
  b.set_timepoint_id(tp.timepoint_id());
  b.set_expected_proportion(ExpectedProportion(*e.x0, *e.n0));
  b.set_source_events(*e.x0);
  b.set_source_subjects(*e.n0);
  b.set_citation(CitationOf(library, e, tp, tp.study_day() < *e.follow_up_day));
  return b;
}

// Why `e` cannot be loaded into `trial`, or "".
std::string SkipReason(const LibraryEntry& e, const v1::Trial& trial) {
  if (e.level == EntryLevel::kReference) {
    return "reference only (no aesignal term row or no count)";
  }
  absl::string_view category = e.overall_key;
  if (absl::ConsumePrefix(&category, "aesi:") &&
      std::find(trial.aesi_categories().begin(), trial.aesi_categories().end(),
                category) == trial.aesi_categories().end()) {
    return absl::StrCat("trial ", trial.trial_id(), " has no AESI category '",
                        category, "'");
  }
  if (trial.timepoints_size() == 0) {
    return absl::StrCat("trial ", trial.trial_id(), " has no timepoints");
  }
  return "";
}

}  // namespace

std::vector<PlannedBaseline> PlanLibrary(const BaselineLibrary& library,
                                         const v1::Trial& trial) {
  std::vector<PlannedBaseline> plan;
  for (const LibraryEntry& e : library.entries) {
    PlannedBaseline p;
    p.entry = &e;
    p.baseline_id = absl::StrCat(library.id, "-", e.id);
    p.skip_reason = SkipReason(e, trial);
    if (p.skip_reason.empty()) {
      p.timepoint = TimepointFor(trial, *e.follow_up_day);
      p.baseline = BaselineOf(library, e, trial, p.timepoint);
    }
    plan.push_back(std::move(p));
  }
  return plan;
}

}  // namespace aesignal::cli
