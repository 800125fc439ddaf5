#include "clients/cli/stats_command.h"

#include <cmath>
#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "clients/cli/csv.h"
#include "services/signal/binomial_ci.h"
#include "services/signal/boundary.h"
#include "services/signal/signal_stats.h"

namespace aesignal::cli {
namespace {

// An ordered record printed as "key  value" lines or one JSON object.
class Result {
 public:
  // Inputs are validated, so a non-finite value would be a defect: it is
  // reported as an error instead of printing inf or nan (not JSON).
  void Num(const std::string& key, double v) {
    if (!std::isfinite(v) && status_.ok()) {
      status_ = absl::InternalError(
          absl::StrCat(key, ": non-finite result for finite input"));
    }
    fields_.push_back({key, absl::StrFormat("%.17g", v), true});
  }
  // A value that does not exist as a number (an infinite ratio, an
  // unbounded limit): JSON null, `text` in the table.
  void Missing(const std::string& key, const std::string& text) {
    fields_.push_back({key, "null", true, text});
  }
  const absl::Status& status() const { return status_; }
  void Int(const std::string& key, int64_t v) {
    fields_.push_back({key, absl::StrCat(v), true});
  }
  void Text(const std::string& key, const std::string& v) {
    fields_.push_back({key, v, false});
  }
  void Bool(const std::string& key, bool v) {
    fields_.push_back({key, v ? "true" : "false", true});
  }
  // A table of rows (for boundary, cusum, dfdr).
  void Rows(std::vector<std::string> header,
            std::vector<std::vector<double>> rows) {
    for (const auto& row : rows) {
      for (double v : row) {
        if (!std::isfinite(v) && status_.ok()) {
          status_ = absl::InternalError("non-finite value in the table");
        }
      }
    }
    header_ = std::move(header);
    rows_ = std::move(rows);
  }
  void Print(bool json, std::ostream& out) const {
    if (json) {
      out << "{";
      for (size_t i = 0; i < fields_.size(); ++i) {
        out << (i ? ", " : "") << "\"" << fields_[i].key << "\": "
            << (fields_[i].raw ? fields_[i].value
                               : "\"" + fields_[i].value + "\"");
      }
      if (!header_.empty()) {
        out << (fields_.empty() ? "" : ", ") << "\"rows\": [";
        for (size_t r = 0; r < rows_.size(); ++r) {
          out << (r ? ", " : "") << "{";
          for (size_t c = 0; c < header_.size(); ++c) {
            out << (c ? ", " : "") << "\"" << header_[c]
                << "\": " << absl::StrFormat("%.17g", rows_[r][c]);
          }
          out << "}";
        }
        out << "]";
      }
      out << "}\n";
      return;
    }
    for (const auto& f : fields_) {
      std::string value = f.table_text.empty() ? f.value : f.table_text;
      double v;
      if (f.raw && absl::SimpleAtod(value, &v) &&
          value.find_first_of(".eE") != std::string::npos) {
        value = absl::StrFormat("%.6g", v);
      }
      out << absl::StrFormat("%-22s %s\n", f.key, value);
    }
    if (!header_.empty()) {
      for (const auto& h : header_) out << absl::StrFormat("%14s", h);
      out << "\n";
      for (const auto& row : rows_) {
        for (double v : row) out << absl::StrFormat("%14.6g", v);
        out << "\n";
      }
    }
  }

 private:
  struct Field {
    std::string key, value;
    bool raw;
    std::string table_text = "";  // shown instead of value in the table
  };
  std::vector<Field> fields_;
  absl::Status status_;
  std::vector<std::string> header_;
  std::vector<std::vector<double>> rows_;
};

// The largest count any method takes (subjects, events): the signal
// module's validated range.
constexpr double kMaxCount = 1e12;

// 1000, 1e+12, 1e-06 -> 1000, 1e12, 1e-6 (for messages).
std::string Bound(double v) {
  return absl::StrReplaceAll(absl::StrFormat("%g", v),
                             {{"e+0", "e"}, {"e+", "e"}, {"e-0", "e-"}});
}

// "must be ..., got '<text>'" if `text` is not a whole number in [min, max]
// (3, 3.0 and 3e0 are whole numbers); else empty, with `text` rewritten as
// digits for the integer option.
std::string CheckCount(std::string& text, double min, double max) {
  double v;
  if (!absl::SimpleAtod(text, &v) || !std::isfinite(v) || v != std::floor(v) ||
      v < min || v > max) {
    return absl::StrCat("must be a whole number in [", Bound(min), ", ",
                        Bound(max), "], got '", text, "'");
  }
  text = absl::StrCat(static_cast<int64_t>(v));
  return "";
}

// "must be ..." if `text` is not a finite number in the interval (open or
// closed at each end), else empty.
std::string CheckReal(const std::string& text, double lo, bool lo_open,
                      double hi, bool hi_open) {
  double v;
  const bool ok = absl::SimpleAtod(text, &v) && std::isfinite(v) &&
                  (lo_open ? v > lo : v >= lo) && (hi_open ? v < hi : v <= hi);
  if (ok) return "";
  return absl::StrCat("must be a finite number in ", lo_open ? "(" : "[",
                      Bound(lo), ", ", Bound(hi), hi_open ? ")" : "]",
                      ", got '", text, "'");
}

CLI::Validator Count(double min = 0, double max = kMaxCount) {
  return CLI::Validator(
      [min, max](std::string& text) { return CheckCount(text, min, max); },
      absl::StrCat("INT in [", Bound(min), ", ", Bound(max), "]"));
}

CLI::Validator Real(double lo, bool lo_open, double hi, bool hi_open) {
  return CLI::Validator(
      [=](std::string& text) {
        return CheckReal(text, lo, lo_open, hi, hi_open);
      },
      "NUMBER");
}

// A probability or a level: in (0, 1).
CLI::Validator Fraction() { return Real(0, true, 1, true); }
// A positive parameter (prior weights, odds ratios, exposure): (0, max].
CLI::Validator Positive(double max) { return Real(0, true, max, false); }

// A comma-separated list of whole numbers in [min, max].
absl::StatusOr<std::vector<int64_t>> ParseCounts(const std::string& text,
                                                 const std::string& flag,
                                                 double min = 0,
                                                 double max = kMaxCount) {
  std::vector<int64_t> out;
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    std::string item(part);
    if (std::string error = CheckCount(item, min, max); !error.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(flag, ": ", error));
    }
    out.push_back(std::stoll(item));
  }
  return out;
}

// A comma-separated list of finite numbers of magnitude up to 1e15.
absl::StatusOr<std::vector<double>> ParseReals(const std::string& text,
                                               const std::string& flag) {
  std::vector<double> out;
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    if (std::string error =
            CheckReal(std::string(part), -1e15, false, 1e15, false);
        !error.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(flag, ": ", error));
    }
    double v;
    (void)absl::SimpleAtod(part, &v);
    out.push_back(v);
  }
  return out;
}

// Every input of every method, as parsed (one method runs per invocation).
struct StatsInputs {
  int64_t x = 0, n = 0, x0 = 0, n0 = 0, x1 = 0, n1 = 0, nmax = 0, events = 0;
  int min_events = 1;
  double level = 0.95, p0 = 0, a = 1, b = 1, weight = 0.5, threshold = 0.95,
         alpha = 0.05, t = 0, z = 1, py = 0, odds_ratio = 2, h = 0, fdr = 0.1;
  std::string method = "clopper-pearson", xs, ns, scores, outcomes, file,
              alternative = "greater";
  bool mid_p = false;
  // boundary --type: the calibrated stopping rules (boundary.h).
  std::string boundary_type;
  int64_t cohort = 1;
  double p1 = 0, delta = 0.25, parameter = 0;
  // Which of boundary's options were given (their defaults are not enough
  // to tell the uncalibrated table from a calibrated rule).
  bool threshold_set = false, alpha_set = false, cohort_set = false,
       p1_set = false, delta_set = false, parameter_set = false,
       prior_set = false;
};

// A method's computation, chosen by parsing, run after it.
using Method = std::function<absl::Status(Result&)>;

// Makes `compute(inputs, result)` the method to run when `command` is parsed.
void OnParsed(CLI::App* command, StatsInputs& in, Method* run,
              absl::Status (*compute)(StatsInputs&, Result&)) {
  command->callback([&in, run, compute] {
    *run = [&in, compute](Result& r) { return compute(in, r); };
  });
}

absl::Status IncidenceCi(StatsInputs& in, Result& r) {
  auto i = in.method == "wilson" ? signal::Wilson(in.x, in.n, in.level)
                                 : signal::ClopperPearson(in.x, in.n, in.level);
  if (!i.ok()) return i.status();
  r.Text("method", in.method);
  r.Int("x", in.x);
  r.Int("n", in.n);
  r.Num("level", in.level);
  r.Num("proportion", i->estimate);
  r.Num("lower", i->lower);
  r.Num("upper", i->upper);
  return absl::OkStatus();
}

void AddIncidenceCi(CLI::App& app, StatsInputs& in, Method* run) {
  auto* ci = app.add_subcommand("incidence-ci",
                                "subject incidence x/n with its interval");
  ci->add_option("--x", in.x)->required()->check(Count());
  ci->add_option("--n", in.n)->required()->check(Count());
  ci->add_option("--level", in.level)->capture_default_str()->check(Fraction());
  ci->add_option("--method", in.method, "clopper-pearson (default) or wilson")
      ->check(CLI::IsMember({"clopper-pearson", "wilson"}));
  OnParsed(ci, in, run, IncidenceCi);
}

absl::Status BinomTest(StatsInputs& in, Result& r) {
  auto p = signal::BinomialUpperTail(in.x, in.n, in.p0);
  if (!p.ok()) return p.status();
  auto mid = signal::BinomialMidP(in.x, in.n, in.p0);
  if (!mid.ok()) return mid.status();
  r.Int("x", in.x);
  r.Int("n", in.n);
  r.Num("p0", in.p0);
  r.Num("p_value", *p);
  if (in.mid_p) r.Num("mid_p", *mid);
  return absl::OkStatus();
}

void AddBinomTest(CLI::App& app, StatsInputs& in, Method* run) {
  auto* bt = app.add_subcommand(
      "binom-test", "one-sided exact binomial test P(X >= x | n, p0)");
  bt->add_option("--x", in.x)->required()->check(Count());
  bt->add_option("--n", in.n)->required()->check(Count());
  bt->add_option("--p0", in.p0)->required()->check(Fraction());
  bt->add_flag("--mid-p", in.mid_p, "also the mid-p value");
  OnParsed(bt, in, run, BinomTest);
}

absl::Status Posterior(StatsInputs& in, Result& r) {
  if (in.n0 > 0) {
    if (in.x0 < 0 || in.x0 > in.n0) {
      return absl::InvalidArgumentError("--x0 must be in [0, --n0]");
    }
    // The prior from the baseline's source sample, down-weighted.
    in.a = in.weight * (in.x0 + 0.5);
    in.b = in.weight * (in.n0 - in.x0 + 0.5);
  }
  auto p = signal::PosteriorExceeds(in.x, in.n, in.p0, in.a, in.b);
  if (!p.ok()) return p.status();
  r.Int("x", in.x);
  r.Int("n", in.n);
  r.Num("p0", in.p0);
  r.Num("prior_a", in.a);
  r.Num("prior_b", in.b);
  r.Num("posterior", *p);
  return absl::OkStatus();
}

void AddPosterior(CLI::App& app, StatsInputs& in, Method* run) {
  auto* post = app.add_subcommand(
      "posterior",
      "P(p > p0 | x, n) under Beta(a, b), or a prior from the "
      "baseline's source sample (--x0/--n0/--weight)");
  post->add_option("--x", in.x)->required()->check(Count());
  post->add_option("--n", in.n)->required()->check(Count());
  post->add_option("--p0", in.p0)->required()->check(Fraction());
  post->add_option("--a", in.a)->capture_default_str()->check(Positive(1e6));
  post->add_option("--b", in.b)->capture_default_str()->check(Positive(1e6));
  // The source sample is --n0 subjects: --x0 and --weight without it would
  // be ignored without a word.
  auto* n0 = post->add_option("--n0", in.n0, "source subjects")->check(Count());
  post->add_option("--x0", in.x0, "source events (with --n0)")
      ->check(Count())
      ->needs(n0);
  post->add_option("--weight", in.weight, "weight of the source sample")
      ->capture_default_str()
      ->check(Positive(1e6))
      ->needs(n0);
  OnParsed(post, in, run, Posterior);
}

// The uncalibrated Bayesian table: for each n the smallest x with
// P(p > p0 | x, n) > --threshold (min_x -1 when none).
absl::Status PosteriorTable(StatsInputs& in, Result& r) {
  auto rows =
      signal::PosteriorBoundary(in.p0, in.nmax, in.threshold, in.a, in.b);
  if (!rows.ok()) return rows.status();
  r.Num("p0", in.p0);
  r.Num("threshold", in.threshold);
  r.Num("prior_a", in.a);
  r.Num("prior_b", in.b);
  std::vector<std::vector<double>> table;
  for (const auto& row : *rows) {
    table.push_back({static_cast<double>(row.n), static_cast<double>(row.min_x),
                     row.posterior});
  }
  r.Rows({"n", "min_x", "posterior"}, std::move(table));
  return absl::OkStatus();
}

// The flags of a calibrated rule that conflict or do not apply, or OK.
absl::Status CheckRuleFlags(const StatsInputs& in,
                            signal::StoppingRuleType type) {
  if (in.threshold_set) {
    return absl::InvalidArgumentError(
        "--threshold gives the uncalibrated Bayesian table (without --type); "
        "with --type, --alpha calibrates the rule and --parameter evaluates "
        "a given one");
  }
  if (in.alpha_set && in.parameter_set) {
    return absl::InvalidArgumentError(
        "--alpha (calibrate) and --parameter (evaluate a given rule) "
        "exclude each other");
  }
  if (in.delta_set && type != signal::StoppingRuleType::kWangTsiatis) {
    return absl::InvalidArgumentError("--delta applies to --type wt only");
  }
  if (in.prior_set && type != signal::StoppingRuleType::kBayesian) {
    return absl::InvalidArgumentError("--a and --b apply to --type bayes only");
  }
  if (in.nmax > signal::kMaxStoppingRuleSubjects) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--nmax: must be at most ", signal::kMaxStoppingRuleSubjects,
        " with --type, got ", in.nmax));
  }
  if (in.cohort > in.nmax) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--cohort: must be at most --nmax (", in.nmax, "), got ", in.cohort));
  }
  return absl::OkStatus();
}

// What the parameter of each family means, and the range of it that gives
// the same boundary (StoppingCalibration).
std::string ParameterMeaning(signal::StoppingRuleType type, bool calibrated) {
  switch (type) {
    case signal::StoppingRuleType::kPocock:
      return calibrated ? "nominal level c: stop at look n when P(X_n >= x | "
                          "p0) <= c; the same boundary for c in [parameter, "
                          "parameter_limit)"
                        : "nominal level c: stop at look n when P(X_n >= x | "
                          "p0) <= c";
    case signal::StoppingRuleType::kBayesian:
      return calibrated ? "posterior threshold tau: stop when P(p > p0 | x, "
                          "n) > tau; the same boundary for tau in "
                          "[parameter, parameter_limit)"
                        : "posterior threshold tau: stop when P(p > p0 | x, "
                          "n) > tau";
    default:
      return calibrated ? "critical value C: stop when z >= C; the same "
                          "boundary for C in (parameter_limit, parameter]"
                        : "critical value C: stop when z >= C";
  }
}

// A calibrated (--alpha) or given (--parameter) stopping rule: its summary,
// then one row per look.
absl::Status StoppingRuleTable(StatsInputs& in, Result& r) {
  auto type = signal::ParseStoppingRuleType(in.boundary_type);
  if (!type.ok()) return type.status();
  if (absl::Status s = CheckRuleFlags(in, *type); !s.ok()) return s;
  const signal::StoppingRuleSpec spec = {
      .type = *type,
      .p0 = in.p0,
      .max_subjects = static_cast<int>(in.nmax),
      .cohort = static_cast<int>(in.cohort),
      .alpha = in.alpha,
      .delta = in.delta,
      .prior_a = in.a,
      .prior_b = in.b};
  auto rule = in.parameter_set
                  ? signal::EvaluateStoppingRule(spec, in.parameter)
                  : signal::CalibrateStoppingRule(spec);
  if (!rule.ok()) return rule.status();
  std::optional<signal::StoppingCharacteristics> alt;
  if (in.p1_set) {
    auto oc = rule->Characteristics(in.p1);
    if (!oc.ok()) return oc.status();
    alt = *oc;
  }
  const auto& cal = rule->calibration();
  r.Text("type", signal::StoppingRuleTypeName(*type));
  r.Num("p0", in.p0);
  r.Int("nmax", in.nmax);
  r.Int("cohort", in.cohort);
  r.Int("looks", static_cast<int64_t>(rule->looks().size()));
  if (*type == signal::StoppingRuleType::kWangTsiatis) r.Num("delta", in.delta);
  if (*type == signal::StoppingRuleType::kBayesian) {
    r.Num("prior_a", in.a);
    r.Num("prior_b", in.b);
  }
  if (cal) r.Num("alpha", cal->alpha);
  r.Num("parameter", rule->parameter());
  if (cal) r.Num("parameter_limit", cal->parameter_limit);
  r.Text("parameter_is", ParameterMeaning(*type, cal.has_value()));
  r.Num("type_i_error", rule->type_i_error());
  if (cal) r.Num("next_type_i_error", cal->next_type_i_error);
  r.Num("expected_subjects_p0", rule->under_null().expected_subjects);
  r.Num("expected_events_p0", rule->under_null().expected_events);
  if (alt) {
    r.Num("p1", in.p1);
    r.Num("power_p1", alt->stop_probability);
    r.Num("expected_subjects_p1", alt->expected_subjects);
    r.Num("expected_events_p1", alt->expected_events);
  }
  // The family's statistic at the boundary, beside the nominal level (for
  // Pocock they are the same).
  const bool bayes = *type == signal::StoppingRuleType::kBayesian;
  const bool with_statistic = *type != signal::StoppingRuleType::kPocock;
  std::vector<std::string> header = {"n", "boundary"};
  if (with_statistic) header.push_back(bayes ? "posterior" : "z");
  header.push_back("nominal");
  header.push_back("cum_p0");
  if (alt) header.push_back("cum_p1");
  std::vector<std::vector<double>> table;
  for (size_t k = 0; k < rule->looks().size(); ++k) {
    const signal::StoppingLook& look = rule->looks()[k];
    std::vector<double> row = {static_cast<double>(look.n),
                               static_cast<double>(look.min_events)};
    if (with_statistic) row.push_back(look.statistic);
    row.push_back(look.nominal);
    row.push_back(look.cumulative);
    if (alt) row.push_back(alt->cumulative[k]);
    table.push_back(std::move(row));
  }
  r.Rows(std::move(header), std::move(table));
  return absl::OkStatus();
}

absl::Status Boundary(StatsInputs& in, Result& r) {
  if (!in.boundary_type.empty()) return StoppingRuleTable(in, r);
  if (in.alpha_set || in.cohort_set || in.p1_set || in.delta_set ||
      in.parameter_set) {
    return absl::InvalidArgumentError(
        "--alpha, --cohort, --p1, --delta and --parameter need --type "
        "(pocock, obf, wt or bayes)");
  }
  return PosteriorTable(in, r);
}

void AddBoundary(CLI::App& app, StatsInputs& in, Method* run) {
  auto* boundary = app.add_subcommand(
      "boundary",
      "stopping boundary: the smallest x that flags for each n. Without "
      "--type, the uncalibrated Bayesian table at --threshold; with --type "
      "pocock|obf|wt|bayes, the repeated-look rule calibrated exactly to "
      "--alpha (or evaluated at --parameter), with its exact type I error, "
      "expected stopping size and, with --p1, power");
  boundary->add_option("--p0", in.p0)->required()->check(Fraction());
  boundary->add_option("--nmax", in.nmax, "maximum subjects N")
      ->required()
      ->check(Count(1, 1e5));
  auto* threshold = boundary->add_option("--threshold", in.threshold)
                        ->capture_default_str()
                        ->check(Fraction());
  auto* a = boundary->add_option("--a", in.a, "Beta prior a")
                ->capture_default_str()
                ->check(Positive(1e6));
  auto* b = boundary->add_option("--b", in.b, "Beta prior b")
                ->capture_default_str()
                ->check(Positive(1e6));
  boundary
      ->add_option("--type", in.boundary_type,
                   "pocock, obf (O'Brien-Fleming), wt (Wang-Tsiatis) or "
                   "bayes (beta-binomial)")
      ->check(CLI::IsMember({"pocock", "obf", "wt", "bayes"}));
  auto* alpha =
      boundary->add_option("--alpha", in.alpha, "overall type I error")
          ->capture_default_str()
          ->check(Fraction());
  auto* cohort = boundary
                     ->add_option("--cohort", in.cohort,
                                  "look after every cohort of this size (and "
                                  "at --nmax)")
                     ->capture_default_str()
                     ->check(Count(1, 1e5));
  auto* p1 = boundary
                 ->add_option("--p1", in.p1,
                              "a rate to report power and expected size at")
                 ->check(Fraction());
  auto* delta = boundary
                    ->add_option("--delta", in.delta,
                                 "Wang-Tsiatis shape (0 = O'Brien-Fleming)")
                    ->capture_default_str()
                    ->check(Real(0, false, 0.5, false));
  auto* parameter =
      boundary
          ->add_option("--parameter", in.parameter,
                       "evaluate the rule at this parameter instead of "
                       "calibrating (c, C or tau)")
          ->check(Real(-1e3, false, 1e3, false));
  boundary->callback(
      [&in, run, threshold, a, b, alpha, cohort, p1, delta, parameter] {
        in.threshold_set = threshold->count() > 0;
        in.prior_set = a->count() > 0 || b->count() > 0;
        in.alpha_set = alpha->count() > 0;
        in.cohort_set = cohort->count() > 0;
        in.p1_set = p1->count() > 0;
        in.delta_set = delta->count() > 0;
        in.parameter_set = parameter->count() > 0;
        *run = [&in](Result& r) { return Boundary(in, r); };
      });
}

absl::Status MaxSprtCv(StatsInputs& in, Result& r) {
  auto c = signal::MaxSprtCriticalValue(in.alpha, in.t, in.min_events);
  if (!c.ok()) return c.status();
  auto achieved = signal::MaxSprtAlpha(*c, in.t, in.min_events);
  r.Num("alpha", in.alpha);
  r.Num("T", in.t);
  r.Int("M", in.min_events);
  r.Num("critical_value", *c);
  r.Num("type_i_error", achieved.value_or(0));
  return absl::OkStatus();
}

void AddMaxSprtCv(CLI::App& app, StatsInputs& in, Method* run) {
  auto* cv = app.add_subcommand(
      "maxsprt-cv", "exact Poisson MaxSPRT critical value (Kulldorff 2011)");
  cv->add_option("--alpha", in.alpha)->capture_default_str()->check(Fraction());
  // T = 10^4 takes seconds (docs/statistics.md); M beyond T + 1000 cannot
  // occur in practice.
  cv->add_option("--T", in.t, "end of surveillance, expected events")
      ->required()
      ->check(Positive(1e4));
  cv->add_option("--M", in.min_events, "minimum events to signal")
      ->capture_default_str()
      ->check(Count(1, 1e4));
  OnParsed(cv, in, run, MaxSprtCv);
}

absl::Status MaxSprtBinomialCv(StatsInputs& in, Result& r) {
  auto c = signal::BinomialMaxSprtCriticalValue(in.alpha, in.nmax,
                                                in.min_events, in.z);
  if (!c.ok()) return c.status();
  auto achieved =
      signal::BinomialMaxSprtAlpha(*c, in.nmax, in.min_events, in.z);
  r.Num("alpha", in.alpha);
  r.Int("N", in.nmax);
  r.Int("M", in.min_events);
  r.Num("z", in.z);
  r.Num("critical_value", *c);
  r.Num("type_i_error", achieved.value_or(0));
  return absl::OkStatus();
}

void AddMaxSprtBinomialCv(CLI::App& app, StatsInputs& in, Method* run) {
  auto* bcv = app.add_subcommand("maxsprt-binomial-cv",
                                 "exact binomial MaxSPRT critical value");
  bcv->add_option("--alpha", in.alpha)
      ->capture_default_str()
      ->check(Fraction());
  bcv->add_option("--N", in.nmax, "end of surveillance, total events")
      ->required()
      ->check(Count(1, 5000));
  bcv->add_option("--M", in.min_events)
      ->capture_default_str()
      ->check(Count(1, 5000));
  bcv->add_option("--z", in.z, "controls per case")
      ->capture_default_str()
      ->check(Positive(1e5));
  OnParsed(bcv, in, run, MaxSprtBinomialCv);
}

absl::Status Cusum(StatsInputs& in, Result& r) {
  auto parsed = ParseCounts(in.outcomes, "--outcomes", 0, 1);
  if (!parsed.ok()) return parsed.status();
  const std::vector<int> ys(parsed->begin(), parsed->end());
  auto c = signal::BernoulliCusum(ys, in.p0, in.odds_ratio, in.h);
  if (!c.ok()) return c.status();
  r.Num("p0", in.p0);
  r.Num("odds_ratio", in.odds_ratio);
  r.Num("h", in.h);
  r.Int("signal_at", c->signal_at);
  std::vector<std::vector<double>> table;
  for (size_t i = 0; i < c->path.size(); ++i) {
    table.push_back(
        {static_cast<double>(i + 1), static_cast<double>(ys[i]), c->path[i]});
  }
  r.Rows({"i", "y", "S"}, std::move(table));
  return absl::OkStatus();
}

void AddCusum(CLI::App& app, StatsInputs& in, Method* run) {
  auto* cusum = app.add_subcommand("cusum", "Bernoulli CUSUM path");
  cusum->add_option("--outcomes", in.outcomes, "0/1 list, e.g. 0,1,0,1")
      ->required();
  cusum->add_option("--p0", in.p0)->required()->check(Fraction());
  cusum->add_option("--or", in.odds_ratio, "odds ratio to detect")
      ->capture_default_str()
      ->check(Real(1, true, 1e6, false));
  cusum->add_option("--h", in.h, "decision value")
      ->required()
      ->check(Positive(1e6));
  OnParsed(cusum, in, run, Cusum);
}

absl::Status Trend(StatsInputs& in, Result& r) {
  auto xv = ParseCounts(in.xs, "--x");
  if (!xv.ok()) return xv.status();
  auto nv = ParseCounts(in.ns, "--n");
  if (!nv.ok()) return nv.status();
  std::vector<double> sv;
  if (in.scores.empty()) {
    for (size_t i = 0; i < xv->size(); ++i) sv.push_back(i);
  } else {
    auto parsed = ParseReals(in.scores, "--scores");
    if (!parsed.ok()) return parsed.status();
    sv = *parsed;
  }
  auto res = signal::CochranArmitage(*xv, *nv, sv, {.two_sided = true});
  if (!res.ok()) return res.status();
  r.Num("z", res->z);
  r.Num("p_value_one_sided", res->p);
  r.Num("p_value_two_sided", res->p_two_sided);
  r.Text("method", res->exact ? "exact conditional" : "asymptotic");
  r.Num("p_asymptotic", res->p_asymptotic);
  r.Num("p_asymptotic_two_sided", res->p_asymptotic_two_sided);
  if (!res->note.empty()) r.Text("note", res->note);
  return absl::OkStatus();
}

void AddTrend(CLI::App& app, StatsInputs& in, Method* run) {
  auto* trend = app.add_subcommand(
      "trend",
      "Cochran-Armitage trend across ordered groups: exact conditional "
      "p-values, one-sided (increasing) and two-sided");
  trend->add_option("--x", in.xs, "subjects with the event per group")
      ->required();
  trend->add_option("--n", in.ns, "subjects per group")->required();
  trend->add_option("--scores", in.scores,
                    "dose scores (default 0, 1, 2, ...)");
  OnParsed(trend, in, run, Trend);
}

absl::StatusOr<signal::Alternative> ParseAlternative(const std::string& text) {
  if (text == "greater") return signal::Alternative::kGreater;
  if (text == "less") return signal::Alternative::kLess;
  if (text == "two.sided") return signal::Alternative::kTwoSided;
  return absl::InvalidArgumentError("--alternative: greater, two.sided, less");
}

absl::Status Fisher(StatsInputs& in, Result& r) {
  auto alternative = ParseAlternative(in.alternative);
  if (!alternative.ok()) return alternative.status();
  auto p = signal::FisherExact(in.x1, in.n1, in.x0, in.n0, *alternative);
  if (!p.ok()) return p.status();
  auto greater = signal::FisherGreater(in.x1, in.n1, in.x0, in.n0);
  if (!greater.ok()) return greater.status();
  auto rd = signal::NewcombeDifference(in.x1, in.n1, in.x0, in.n0, in.level);
  if (!rd.ok()) return rd.status();
  r.Text("alternative", in.alternative);
  r.Num("p_value", *p);
  r.Num("p_value_one_sided", *greater);  // "greater", as before --alternative
  r.Num("risk_difference", rd->difference);
  r.Num("rd_lower", rd->lower);
  r.Num("rd_upper", rd->upper);
  r.Num("level", in.level);
  return absl::OkStatus();
}

// The two groups' counts: fisher's and compare's (--x2/--n2 alias the
// control group's --x0/--n0).
void AddTwoGroups(CLI::App* command, StatsInputs& in) {
  command->add_option("--x1", in.x1, "events in group 1")
      ->required()
      ->check(Count());
  command->add_option("--n1", in.n1, "subjects in group 1")
      ->required()
      ->check(Count());
  command->add_option("--x0,--x2", in.x0, "events in group 0 (control)")
      ->required()
      ->check(Count());
  command->add_option("--n0,--n2", in.n0, "subjects in group 0 (control)")
      ->required()
      ->check(Count());
  command->add_option("--level", in.level)
      ->capture_default_str()
      ->check(Fraction());
}

void AddFisher(CLI::App& app, StatsInputs& in, Method* run) {
  auto* fisher = app.add_subcommand(
      "fisher",
      "Fisher exact test of x1/n1 against x0/n0 (one-sided greater unless "
      "--alternative), with the risk difference and its Newcombe interval");
  AddTwoGroups(fisher, in);
  fisher
      ->add_option("--alternative", in.alternative,
                   "greater (default), two.sided (R's fisher.test rule) or "
                   "less")
      ->capture_default_str()
      ->check(CLI::IsMember({"greater", "two.sided", "less"}));
  OnParsed(fisher, in, run, Fisher);
}

// The relative risk and its MN limits, with the zero-cell cases spelled out.
void PrintRatio(const signal::RatioInterval& rr, Result& r) {
  if (rr.ratio_undefined) {
    r.Missing("relative_risk", "undefined");
    r.Text("relative_risk_note", "no events in either group: 0/0");
  } else if (!rr.ratio_finite) {
    r.Missing("relative_risk", "infinite");
    r.Text("relative_risk_note", "no events in group 0: p1/p0 is infinite");
  } else {
    r.Num("relative_risk", rr.ratio);
  }
  r.Num("rr_lower", rr.lower);
  if (rr.upper_infinite) {
    r.Missing("rr_upper", "unbounded");
  } else {
    r.Num("rr_upper", rr.upper);
  }
}

absl::Status Compare(StatsInputs& in, Result& r) {
  auto mn =
      signal::MiettinenNurminenDifference(in.x1, in.n1, in.x0, in.n0, in.level);
  if (!mn.ok()) return mn.status();
  auto nc = signal::NewcombeDifference(in.x1, in.n1, in.x0, in.n0, in.level);
  if (!nc.ok()) return nc.status();
  auto rr =
      signal::MiettinenNurminenRatio(in.x1, in.n1, in.x0, in.n0, in.level);
  if (!rr.ok()) return rr.status();
  r.Num("p1", static_cast<double>(in.x1) / static_cast<double>(in.n1));
  r.Num("p0", static_cast<double>(in.x0) / static_cast<double>(in.n0));
  r.Num("level", in.level);
  r.Num("risk_difference", mn->difference);
  r.Num("rd_lower", mn->lower);
  r.Num("rd_upper", mn->upper);
  r.Num("rd_newcombe_lower", nc->lower);
  r.Num("rd_newcombe_upper", nc->upper);
  PrintRatio(*rr, r);
  for (auto alt : {signal::Alternative::kGreater, signal::Alternative::kLess,
                   signal::Alternative::kTwoSided}) {
    auto p = signal::FisherExact(in.x1, in.n1, in.x0, in.n0, alt);
    if (!p.ok()) return p.status();
    r.Num(alt == signal::Alternative::kTwoSided
              ? "fisher_two_sided"
              : absl::StrCat("fisher_", signal::AlternativeName(alt)),
          *p);
  }
  return absl::OkStatus();
}

void AddCompare(CLI::App& app, StatsInputs& in, Method* run) {
  auto* compare = app.add_subcommand(
      "compare",
      "group 1 against group 0: risk difference (Miettinen-Nurminen and "
      "Newcombe intervals), relative risk (Miettinen-Nurminen interval) and "
      "Fisher's exact p in all three directions");
  AddTwoGroups(compare, in);
  OnParsed(compare, in, run, Compare);
}

absl::Status Eair(StatsInputs& in, Result& r) {
  auto rate = signal::PoissonRate(in.events, in.py, in.level);
  if (!rate.ok()) return rate.status();
  r.Int("events", in.events);
  r.Num("patient_years", in.py);
  r.Num("level", in.level);
  r.Num("rate_per_100py", rate->rate);
  r.Num("lower", rate->lower);
  r.Num("upper", rate->upper);
  return absl::OkStatus();
}

void AddEair(CLI::App& app, StatsInputs& in, Method* run) {
  auto* eair = app.add_subcommand(
      "eair", "incidence rate per 100 patient-years, exact Poisson interval");
  eair->add_option("--events", in.events)->required()->check(Count(0, 1e9));
  eair->add_option("--py", in.py, "patient-years at risk")
      ->required()
      ->check(Real(1e-6, false, 1e12, false));
  eair->add_option("--level", in.level)
      ->capture_default_str()
      ->check(Fraction());
  OnParsed(eair, in, run, Eair);
}

// The rows of a dfdr input file (CSV with columns soc, pt, p; others are
// ignored).
struct PtPValues {
  std::vector<std::string> socs, pts;
  std::vector<double> ps;
};

absl::StatusOr<PtPValues> ReadPtPValues(const std::string& file) {
  std::ifstream in(file);
  if (!in) return absl::NotFoundError(absl::StrCat(file, ": cannot open"));
  CsvReader reader(in);
  PtPValues out;
  int soc_col = -1, pt_col = -1, p_col = -1;
  size_t columns = 0;
  while (true) {
    auto rec = reader.Next();
    if (!rec.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(file, ":", rec.status().message()));
    }
    if (!rec->has_value()) break;
    const auto& f = (*rec)->fields;
    if (soc_col < 0) {  // the header
      for (size_t i = 0; i < f.size(); ++i) {
        int* col = f[i] == "soc"  ? &soc_col
                   : f[i] == "pt" ? &pt_col
                   : f[i] == "p"  ? &p_col
                                  : nullptr;
        if (col == nullptr) continue;
        if (*col >= 0) {  // which of the two would be meant?
          return absl::InvalidArgumentError(absl::StrCat(
              file, ":1: column ", f[i], " appears more than once"));
        }
        *col = static_cast<int>(i);
      }
      if (soc_col < 0 || pt_col < 0 || p_col < 0) {
        return absl::InvalidArgumentError(
            absl::StrCat(file, ":1: need columns soc, pt, p"));
      }
      columns = f.size();
      continue;
    }
    // A row with more or fewer cells than the header is misaligned: its p
    // may be another column's value.
    if (f.size() != columns) {
      return absl::InvalidArgumentError(
          absl::StrCat(file, ":", (*rec)->line, ": ", f.size(),
                       " fields, but the header has ", columns));
    }
    double p;
    if (!absl::SimpleAtod(f[p_col], &p) || !(p >= 0 && p <= 1)) {
      return absl::InvalidArgumentError(
          absl::StrCat(file, ":", (*rec)->line, ": p: '", f[p_col],
                       "' is not a p-value (a number in [0, 1])"));
    }
    out.socs.push_back(f[soc_col]);
    out.pts.push_back(f[pt_col]);
    out.ps.push_back(p);
  }
  return out;
}

absl::Status Dfdr(StatsInputs& in, Result& r) {
  auto terms = ReadPtPValues(in.file);
  if (!terms.ok()) return terms.status();
  const std::vector<double>& ps = terms->ps;
  auto adjusted = signal::DoubleFdr(terms->socs, ps, in.fdr);
  if (!adjusted.ok()) return adjusted.status();
  std::vector<double> bh = signal::BenjaminiHochberg(ps);
  r.Num("fdr", in.fdr);
  std::vector<std::vector<double>> table;
  int flagged = 0;
  for (size_t i = 0; i < ps.size(); ++i) {
    const bool flag = adjusted->flagged[i];
    flagged += flag;
    table.push_back({static_cast<double>(i + 1), ps[i], bh[i],
                     adjusted->adjusted[i], flag ? 1.0 : 0.0});
  }
  r.Int("terms", static_cast<int64_t>(ps.size()));
  r.Int("flagged", flagged);
  r.Rows({"row", "p", "bh", "double_fdr", "flagged"}, std::move(table));
  return absl::OkStatus();
}

void AddDfdr(CLI::App& app, StatsInputs& in, Method* run) {
  auto* dfdr = app.add_subcommand(
      "dfdr",
      "Benjamini-Hochberg and the double FDR (Mehrotra & Adewale 2012, as "
      "c212.DFDR) over PT p-values at --fdr");
  dfdr->add_option("--file", in.file, "CSV with columns soc,pt,p")->required();
  dfdr->add_option("--fdr", in.fdr)
      ->capture_default_str()
      ->check(Fraction());  // in (0, 1), as the double FDR needs
  OnParsed(dfdr, in, run, Dfdr);
}

void AddMethods(CLI::App& app, StatsInputs& in, Method* run) {
  AddIncidenceCi(app, in, run);
  AddBinomTest(app, in, run);
  AddPosterior(app, in, run);
  AddBoundary(app, in, run);
  AddMaxSprtCv(app, in, run);
  AddMaxSprtBinomialCv(app, in, run);
  AddCusum(app, in, run);
  AddTrend(app, in, run);
  AddFisher(app, in, run);
  AddCompare(app, in, run);
  AddEair(app, in, run);
  AddDfdr(app, in, run);
}

}  // namespace

int RunStatsCommand(const std::vector<std::string>& args, std::ostream& out,
                    std::ostream& err) {
  CLI::App app{
      "Offline calculator: the signal module's methods without a server. "
      "See docs/statistics.md."};
  app.name("aesignal stats");
  app.require_subcommand(1);
  std::string format = "table";
  app.add_option("--format", format, "table or json (json: full precision)")
      ->check(CLI::IsMember({"table", "json"}));
  StatsInputs inputs;
  Method run;
  AddMethods(app, inputs, &run);
  // --format may also follow the method.
  for (CLI::App* sub : app.get_subcommands({})) {
    sub->add_option("--format", format, "table or json (json: full precision)")
        ->check(CLI::IsMember({"table", "json"}));
  }
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::ValidationError& e) {
    // A value out of its range is invalid input, not a usage error.
    err << "error: " << e.what() << "\n";
    return 1;
  } catch (const CLI::ConversionError& e) {
    err << "error: " << e.what() << "\n";
    return 1;
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e, out, err);
    return code == 0 ? 0 : 2;
  }
  if (!run) return 2;
  Result result;
  absl::Status status = run(result);
  if (status.ok()) status = result.status();
  if (!status.ok()) {
    err << "error: " << status.message() << "\n";
    return 1;
  }
  result.Print(format == "json", out);
  return 0;
}

void AddStatsCommand(CLI::App& app) {
  auto* stats = app.add_subcommand(
      "stats",
      "offline calculator of the signal statistics (no server): aesignal "
      "stats --help");
  // Listed for `aesignal --help` only: RunCli hands `aesignal stats ...` to
  // RunStatsCommand before parsing, as it parses its own arguments.
  stats->prefix_command();
}

}  // namespace aesignal::cli
