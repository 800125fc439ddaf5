// Whole-trial simulation of the signal policy: how often does a trial in
// which nothing is wrong raise a signal topic, and how often does a trial
// with a doubled rate raise the right one?
//
// A synthetic trial has a design (dose groups, timepoints, AESI categories),
// a set of PTs with a true incidence per dose group by the end of follow-up,
// and the baselines a safety officer would load. Each subject develops each
// PT independently with its group's probability, with onset uniform over the
// days of follow-up (so over the windows by their length); each event is
// serious, grade >= 3 and related with its PT's probabilities and counts in
// its AESI category. Reports arrive in onset order, `--look_every` at a time
// (a site's batch), and after each batch the server's own evaluation code
// runs over every row of the trial (domain::SetScreening, EvaluateRow: the
// trial-wide screening and adjustment included), as the server does after
// each committed batch. A topic is raised in a trial if any evidence of its
// row crosses at any look (topics are never withdrawn).
//
// Designs (--design):
//   ra     the RA example (deploy/examples/ra-3x3-5y/trial.json: 3 dose
//          groups, no control, months 3-12 and yearly to 5 years), every
//          figure of the RA 5-year baseline library (deploy/baselines/
//          ra5y.yaml) loaded as a baseline and true at exactly its p0, plus
//          simulated PTs for the library's overall rows (an SAE, the AESIs)
//          and --background_pts screening PTs at 10 % by year 5;
//          --per_group subjects per group (3 and 10 in docs/statistics.md).
//   cdisc  the CDISC pilot's shape: placebo (control) 86, low 84, high 84
//          subjects, weeks 2-30 and day 212, every PT of the pilot
//          (tests/sim/cdisc_pilot_rates.csv, 230 PTs) at its placebo arm's
//          observed incidence in every arm, with its observed shares of
//          serious, severe and related records, and the pilot's
//          dermatologic-events query as an AESI. No baselines.
// Alternatives (--alternative): none (the null); common: the most common PT
// (ra: the most common baseline PT with p0 <= 1/2; cdisc: the placebo arm's
// most common PT) at twice its rate in every treated group; aesi: every PT of
// one AESI (ra: thromboembolism; cdisc: dermatologic events) at twice its
// rate in every treated group.
//
//   build/tests/signal_null_sim --design=ra --per_group=3 --trials=2000
//   build/tests/signal_null_sim --design=cdisc --trials=500 --look_every=25
#include <algorithm>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "clients/cli/baseline_library.h"
#include "google/protobuf/util/json_util.h"
#include "services/domain/evaluate.h"
#include "services/domain/incidence_rows.h"
#include "services/domain/row_evaluation.h"
#include "services/signal/binomial_ci.h"
#include "storage/keys.h"

ABSL_FLAG(std::string, design, "ra", "ra or cdisc");
ABSL_FLAG(int, trials, 1000, "synthetic trials");
ABSL_FLAG(int, per_group, 3, "ra: subjects per dose group");
ABSL_FLAG(int, background_pts, 40, "ra: screening PTs without a baseline");
ABSL_FLAG(std::string, alternative, "none", "none, common or aesi");
ABSL_FLAG(int, look_every, 1, "reports per evaluated batch");
ABSL_FLAG(std::string, policy, "default",
          "default (trial-wide error control) or per_test");
ABSL_FLAG(std::string, source_dir, AESIGNAL_SOURCE_DIR,
          "the repository (for the example trial, library and rates)");
ABSL_FLAG(int, seed, 20261129, "random seed");
ABSL_FLAG(double, max_share, 1,
          "exit 1 if the share of trials with a topic exceeds this (a check "
          "for ctest: deterministic for a given seed)");

namespace {

using namespace aesignal;  // NOLINT: a tool's main file
using storage::Level;
using storage::TermKey;

// One simulated PT.
struct PtSpec {
  std::string soc, pt;
  std::vector<double> rate;  // per dose group, by `last_window`
  int last_window = 0;       // onsets fall in windows 0..last_window
  double serious = 0, severe = 0, related = 0;
  std::string aesi;  // category, or ""
};

struct Design {
  v1::Trial trial;
  std::vector<int> enrolled;  // per group
  std::vector<PtSpec> pts;
  std::vector<v1::Baseline> baselines;
  std::string target;  // the topic id of the alternative's row, or ""
};

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TermKey PtTerm(const PtSpec& pt) {
  TermKey t;
  t.level = Level::kPt;
  t.soc = pt.soc;
  t.pt = pt.pt;
  return t;
}

TermKey OverallTerm(const std::string& key) {
  TermKey t;
  t.level = Level::kOverall;
  t.overall = key;
  return t;
}

// The RA example trial with the ra5y library's figures as baselines and as
// the truth (see the file comment).
absl::StatusOr<Design> RaDesign(const std::string& dir, int per_group,
                                int background_pts) {
  Design d;
  auto json = ReadFile(dir + "/deploy/examples/ra-3x3-5y/trial.json");
  if (!json.ok()) return json.status();
  auto parsed = google::protobuf::util::JsonStringToMessage(*json, &d.trial);
  if (!parsed.ok()) return absl::InvalidArgumentError(parsed.ToString());
  d.enrolled.assign(d.trial.dose_groups_size(), per_group);
  cli::LibraryRead read =
      cli::ReadBaselineLibrary(dir + "/deploy/baselines/ra5y.yaml");
  if (!read.library.has_value()) {
    return absl::InvalidArgumentError(absl::StrJoin(read.errors, "; "));
  }
  const int groups = d.trial.dose_groups_size();
  std::map<std::string, PtSpec> overall_pts;  // one simulated PT per row
  for (const cli::PlannedBaseline& plan :
       cli::PlanLibrary(*read.library, d.trial)) {
    if (!plan.baseline.has_value()) continue;
    const v1::Baseline& b = *plan.baseline;
    d.baselines.push_back(b);
    PtSpec pt;
    pt.rate.assign(groups, b.expected_proportion());
    pt.last_window = plan.timepoint;
    if (b.level() == v1::TERM_LEVEL_PT) {
      pt.soc = b.soc();
      pt.pt = b.pt();
    } else if (b.overall_key() == domain::kAnySae) {
      pt.soc = "Surgical and medical procedures";
      pt.pt = "Hospitalisation (simulated SAE)";
      pt.serious = 1;
    } else if (absl::StartsWith(b.overall_key(), domain::kAesiPrefix)) {
      pt.aesi = b.overall_key().substr(strlen(domain::kAesiPrefix));
      // The library's benign-tumour figure is the union of its two benign
      // tumour PTs, which carry the category instead of a PT of their own.
      if (pt.aesi == "benign_tumour") continue;
      pt.soc =
          "Neoplasms benign, malignant and unspecified (incl cysts and "
          "polyps)";
      pt.pt = absl::StrCat("Simulated ", pt.aesi);
      if (pt.aesi == "thromboembolism") {
        pt.soc = "Vascular disorders";
        pt.pt = "Deep vein thrombosis";
      }
    } else {
      continue;  // a SOC or other overall row: none in this library
    }
    d.pts.push_back(pt);
  }
  for (PtSpec& pt : d.pts) {
    if (absl::StartsWith(pt.pt, "Benign")) pt.aesi = "benign_tumour";
    if (pt.soc == "Infections and infestations") pt.aesi = "infection";
  }
  const char* kSocs[] = {"Gastrointestinal disorders",
                         "Skin and subcutaneous tissue disorders",
                         "Nervous system disorders",
                         "Respiratory, thoracic and mediastinal disorders",
                         "Investigations",
                         "Musculoskeletal and connective tissue disorders",
                         "General disorders and administration site "
                         "conditions",
                         "Metabolism and nutrition disorders"};
  for (int i = 0; i < background_pts; ++i) {
    PtSpec pt;
    pt.soc = kSocs[i % 8];
    pt.pt = absl::StrCat("Background PT ", i + 1);
    pt.rate.assign(groups, 0.10);
    pt.last_window = d.trial.timepoints_size() - 1;
    pt.severe = 0.1;
    pt.related = 0.2;
    d.pts.push_back(pt);
  }
  return d;
}

// The fields of one CSV line (Python's csv quoting: a field with a comma is
// quoted; the file has no quotes inside fields).
std::vector<std::string> SplitCsvLine(absl::string_view line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (char c : line) {
    if (c == '"') {
      quoted = !quoted;
    } else if (c == ',' && !quoted) {
      fields.emplace_back();
    } else {
      fields.back() += c;
    }
  }
  return fields;
}

// The CDISC pilot's shape (see the file comment).
absl::StatusOr<Design> CdiscDesign(const std::string& dir) {
  Design d;
  const char* kArms[][2] = {{"Placebo", "0"},
                            {"Xanomeline-Low-Dose", "54"},
                            {"Xanomeline-High-Dose", "81"}};
  for (auto [id, dose] : kArms) {
    auto* g = d.trial.add_dose_groups();
    g->set_dose_group_id(id);
    g->set_dose_value(std::stod(dose));
    g->set_control(std::string(id) == "Placebo");
  }
  d.enrolled = {86, 84, 84};
  // The timepoints `aesignal import adam` gives the pilot (docs/import.md).
  for (int week : {2, 4, 8, 12, 16, 20, 24, 26, 30}) {
    auto* tp = d.trial.add_timepoints();
    tp->set_timepoint_id(absl::StrCat("W", week));
    tp->set_study_day(7 * week);
  }
  auto* end = d.trial.add_timepoints();
  end->set_timepoint_id("D212");
  end->set_study_day(212);
  d.trial.add_aesi_categories("dermatologic_events");
  auto csv = ReadFile(dir + "/tests/sim/cdisc_pilot_rates.csv");
  if (!csv.ok()) return csv.status();
  bool header = true;
  for (absl::string_view line : absl::StrSplit(*csv, '\n')) {
    if (line.empty()) continue;
    if (header) {
      header = false;
      continue;
    }
    // soc,pt,placebo_subjects,placebo_n,subjects,n,serious,severe,related,aesi
    const std::vector<std::string> f = SplitCsvLine(line);
    if (f.size() != 10) {
      return absl::InvalidArgumentError(absl::StrCat("rates: bad line ", line));
    }
    PtSpec pt;
    pt.soc = f[0];
    pt.pt = f[1];
    const double rate = std::stod(f[2]) / std::stod(f[3]);
    pt.rate.assign(3, rate);
    pt.last_window = d.trial.timepoints_size() - 1;
    pt.serious = std::stod(f[6]);
    pt.severe = std::stod(f[7]);
    pt.related = std::stod(f[8]);
    if (f[9] == "1") pt.aesi = "dermatologic_events";
    d.pts.push_back(pt);
  }
  return d;
}

// Doubles the alternative's rates in every treated group and names its row.
absl::Status ApplyAlternative(const std::string& alternative,
                              const std::string& design, Design& d) {
  if (alternative == "none") return absl::OkStatus();
  const int control = domain::ControlGroup(d.trial);
  auto treated = [&](PtSpec& pt) {
    for (size_t g = 0; g < pt.rate.size(); ++g) {
      if (static_cast<int>(g) != control) pt.rate[g] *= 2;
    }
  };
  if (alternative == "common") {
    PtSpec* best = nullptr;
    for (PtSpec& pt : d.pts) {
      const double r = pt.rate[std::max(control, 0)];
      const bool candidate =
          design == "cdisc" ||
          (r <= 0.5 && !absl::StartsWith(pt.pt, "Background") &&
           pt.serious == 0);
      if (candidate &&
          (best == nullptr || r > best->rate[std::max(control, 0)])) {
        best = &pt;
      }
    }
    if (best == nullptr) return absl::InternalError("no common PT");
    treated(*best);
    d.target = domain::TopicId(PtTerm(*best));
    std::cout << "alternative: " << best->pt << " doubled to "
              << best->rate.back() << " in every treated group\n";
    return absl::OkStatus();
  }
  if (alternative == "aesi") {
    const std::string category =
        design == "cdisc" ? "dermatologic_events" : "thromboembolism";
    for (PtSpec& pt : d.pts) {
      if (pt.aesi == category) treated(pt);
    }
    d.target = domain::TopicId(
        OverallTerm(absl::StrCat(domain::kAesiPrefix, category)));
    std::cout << "alternative: every PT of AESI " << category
              << " doubled in every treated group\n";
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError("--alternative: none, common or aesi");
}

// One report: a subject's first onset of a PT.
struct Report {
  int window = 0, day = 0, group = 0, subject = 0, pt = 0;
  bool serious = false, severe = false, related = false;
};

// The counters of every row, updated report by report as the store does.
class Counters {
 public:
  Counters(const Design& d) : d_(d) {
    groups_ = d.trial.dose_groups_size();
    windows_ = d.trial.timepoints_size();
  }
  void Add(const Report& r) {
    const PtSpec& pt = d_.pts[r.pt];
    Count(PtTerm(pt), r);
    TermKey soc;
    soc.level = Level::kSoc;
    soc.soc = pt.soc;
    Count(soc, r);
    Count(OverallTerm(domain::kAnyAe), r);
    if (r.serious) Count(OverallTerm(domain::kAnySae), r);
    if (r.severe) Count(OverallTerm(domain::kGrade3Plus), r);
    if (r.related) Count(OverallTerm(domain::kRelated), r);
    if (!pt.aesi.empty()) {
      Count(OverallTerm(absl::StrCat(domain::kAesiPrefix, pt.aesi)), r);
    }
  }
  std::map<std::string, storage::TermCounters>& rows() { return rows_; }
  // The rows counted in since the last call.
  std::set<std::string> TakeDirty() { return std::exchange(dirty_, {}); }

 private:
  // A subject counts once per row (its first onset) and once per window.
  void Count(const TermKey& term, const Report& r) {
    const std::string key = storage::EncodeTerm(term);
    auto [it, inserted] = rows_.try_emplace(key);
    if (inserted) {
      it->second.term = term;
      it->second.cells.assign(groups_ * windows_, {});
    }
    dirty_.insert(key);
    auto& windows_seen = seen_[{key, r.subject}];
    auto& cell = it->second.cells[r.group * windows_ + r.window];
    if (windows_seen.empty()) ++cell.new_subjects;
    if (windows_seen.insert(r.window).second) ++cell.interval_subjects;
    ++cell.events;
  }

  const Design& d_;
  int groups_ = 0, windows_ = 0;
  std::map<std::string, storage::TermCounters> rows_;
  std::map<std::pair<std::string, int>, std::set<int>> seen_;
  std::set<std::string> dirty_;
};

std::vector<Report> DrawReports(const Design& d, std::mt19937_64& rng) {
  std::vector<Report> reports;
  std::uniform_real_distribution<double> u(0, 1);
  int subject = 0;
  for (int g = 0; g < static_cast<int>(d.enrolled.size()); ++g) {
    for (int s = 0; s < d.enrolled[g]; ++s, ++subject) {
      for (int i = 0; i < static_cast<int>(d.pts.size()); ++i) {
        const PtSpec& pt = d.pts[i];
        if (u(rng) >= pt.rate[g]) continue;
        const int last_day = d.trial.timepoints(pt.last_window).study_day();
        Report r;
        r.day = 1 + static_cast<int>(u(rng) * last_day);
        r.window = 0;
        while (d.trial.timepoints(r.window).study_day() < r.day) ++r.window;
        r.group = g;
        r.subject = subject;
        r.pt = i;
        r.serious = u(rng) < pt.serious;
        r.severe = u(rng) < pt.severe;
        r.related = u(rng) < pt.related;
        reports.push_back(r);
      }
    }
  }
  std::shuffle(reports.begin(), reports.end(), rng);
  std::stable_sort(
      reports.begin(), reports.end(),
      [](const Report& a, const Report& b) { return a.day < b.day; });
  return reports;
}

// What one trial raised.
struct Outcome {
  std::set<std::string> topics;  // encoded terms
  std::map<v1::SignalMethod, bool> methods;
  bool prespecified = false, screening = false;
};

// Evaluates the rows a round after a committed batch would: the trial-wide
// screening over every PT row, then every row whose decisions can have
// changed — the rows counted in since the last look and, under screening,
// every PT row the screening passes (no other PT row can cross).
absl::Status Look(const domain::TrialEvaluation& base, Counters& counters,
                  Outcome& out) {
  const std::set<std::string> dirty = counters.TakeDirty();
  domain::TrialEvaluation e = base;
  std::vector<storage::TermCounters> pts;
  for (auto& [key, row] : counters.rows()) {
    if (row.term.level == Level::kPt) pts.push_back(row);
  }
  if (domain::ScreensPts(e)) {
    absl::Status s = domain::SetScreening(pts, &e);
    if (!s.ok()) return s;
  }
  for (auto& [key, row] : counters.rows()) {
    auto screened = e.screened_rows.find(key);
    const bool passes =
        screened != e.screened_rows.end() && screened->second <= e.policy.fdr();
    if (!dirty.count(key) && !passes && e.screening.empty()) continue;
    auto findings = domain::EvaluateRow(e, row);
    if (!findings.ok()) return findings.status();
    for (const domain::Finding& f : *findings) {
      if (!f.evidence.crosses()) continue;
      out.topics.insert(domain::TopicId(row.term));
      out.methods[f.method] = true;
      bool has_baseline = false;
      for (const auto& b : e.baselines) {
        has_baseline |= domain::TermOf(b) == row.term;
      }
      (has_baseline || row.term.level == Level::kOverall ? out.prespecified
                                                         : out.screening) =
          true;
    }
  }
  return absl::OkStatus();
}

void Line(const std::string& name, int count, int trials) {
  auto ci = signal::ClopperPearson(count, trials, 0.95);
  std::cout << absl::StrFormat("  %-34s %6d / %d = %6.2f%%  [%.2f%%, %.2f%%]\n",
                               name, count, trials, 100.0 * count / trials,
                               100 * ci->lower, 100 * ci->upper);
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const std::string design_name = absl::GetFlag(FLAGS_design);
  const std::string dir = absl::GetFlag(FLAGS_source_dir);
  absl::StatusOr<Design> design =
      design_name == "cdisc" ? CdiscDesign(dir)
      : design_name == "ra"
          ? RaDesign(dir, absl::GetFlag(FLAGS_per_group),
                     absl::GetFlag(FLAGS_background_pts))
          : absl::InvalidArgumentError("--design: ra or cdisc");
  if (!design.ok()) {
    std::cerr << design.status() << "\n";
    return 1;
  }
  if (absl::Status s = ApplyAlternative(absl::GetFlag(FLAGS_alternative),
                                        design_name, *design);
      !s.ok()) {
    std::cerr << s << "\n";
    return 1;
  }
  v1::SignalPolicy policy;
  if (absl::GetFlag(FLAGS_policy) == "per_test") {
    policy.set_error_control(v1::ERROR_CONTROL_PER_TEST);
  }
  domain::TrialEvaluation base;
  base.trial = design->trial;
  base.policy = domain::EffectivePolicy(policy);
  base.baselines = design->baselines;
  base.prespecified_rows = domain::PrespecifiedRows(base.trial, base.baselines);
  const int windows = base.trial.timepoints_size();
  for (int n : design->enrolled) {
    base.denominators.dosed.push_back(n);
    for (int w = 0; w < windows; ++w) base.denominators.at_risk.push_back(n);
  }

  const int trials = absl::GetFlag(FLAGS_trials);
  const int look_every = std::max(1, absl::GetFlag(FLAGS_look_every));
  std::mt19937_64 rng(absl::GetFlag(FLAGS_seed));
  int any = 0, prespecified = 0, screening = 0, target = 0, other = 0;
  int64_t topics = 0, reports_total = 0;
  std::map<v1::SignalMethod, int> by_method;
  std::map<std::string, int> by_topic;
  for (int t = 0; t < trials; ++t) {
    const std::vector<Report> reports = DrawReports(*design, rng);
    reports_total += reports.size();
    Counters counters(*design);
    Outcome outcome;
    for (size_t i = 0; i < reports.size(); ++i) {
      counters.Add(reports[i]);
      if ((i + 1) % look_every != 0 && i + 1 != reports.size()) continue;
      if (absl::Status s = Look(base, counters, outcome); !s.ok()) {
        std::cerr << s << "\n";
        return 1;
      }
    }
    any += !outcome.topics.empty();
    prespecified += outcome.prespecified;
    screening += outcome.screening;
    topics += outcome.topics.size();
    const bool hit = outcome.topics.count(design->target) > 0;
    target += hit;
    other += outcome.topics.size() > (hit ? 1u : 0u);
    for (const auto& [m, yes] : outcome.methods) by_method[m] += yes;
    for (const std::string& key : outcome.topics) ++by_topic[key];
  }

  std::cout << absl::StrFormat(
      "%s design, %d trials, groups %s, %d PTs, %d baselines, %d "
      "pre-specified rows, %s policy (alpha %g, FDR %g, min cases %d), "
      "looks every %d reports; %.1f reports per trial\n",
      design_name, trials, absl::StrJoin(design->enrolled, "/"),
      design->pts.size(), design->baselines.size(), base.prespecified_rows,
      absl::GetFlag(FLAGS_policy), base.policy.alpha(), base.policy.fdr(),
      base.policy.min_cases(), look_every,
      static_cast<double>(reports_total) / trials);
  Line("trials with >= 1 topic", any, trials);
  Line("  ... on a pre-specified row", prespecified, trials);
  Line("  ... on a screening PT", screening, trials);
  if (!design->target.empty()) {
    Line("power: the doubled row raised", target, trials);
    Line("  trials with another topic too", other, trials);
  }
  for (const auto& [m, count] : by_method) {
    Line(absl::StrCat("  crossing by ", v1::SignalMethod_Name(m).substr(14)),
         count, trials);
  }
  std::cout << absl::StrFormat("  topics per trial: %.3f\n",
                               static_cast<double>(topics) / trials);
  std::vector<std::pair<int, std::string>> frequent;
  for (const auto& [key, count] : by_topic) frequent.push_back({count, key});
  std::sort(frequent.rbegin(), frequent.rend());
  for (size_t i = 0; i < std::min<size_t>(5, frequent.size()); ++i) {
    std::cout << "  most frequent topic: " << frequent[i].second << " in "
              << frequent[i].first << " trials\n";
  }
  if (static_cast<double>(any) / trials > absl::GetFlag(FLAGS_max_share)) {
    std::cerr << "the share of trials with a topic exceeds --max_share\n";
    return 1;
  }
  return 0;
}
