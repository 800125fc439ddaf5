#include "clients/cli/stats_command.h"

#include <fstream>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "clients/cli/csv.h"
#include "services/signal/binomial_ci.h"
#include "services/signal/signal_stats.h"

namespace aesignal::cli {
namespace {

// An ordered record printed as "key  value" lines or one JSON object.
class Result {
 public:
  void Num(const std::string& key, double v) {
    fields_.push_back({key, absl::StrFormat("%.17g", v), true});
  }
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
      std::string value = f.value;
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
  };
  std::vector<Field> fields_;
  std::vector<std::string> header_;
  std::vector<std::vector<double>> rows_;
};

template <typename T>
absl::StatusOr<std::vector<T>> ParseList(const std::string& text,
                                         const std::string& flag) {
  std::vector<T> out;
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    double v;
    if (!absl::SimpleAtod(part, &v)) {
      return absl::InvalidArgumentError(
          absl::StrCat(flag, ": '", part, "' is not a number"));
    }
    out.push_back(static_cast<T>(v));
  }
  return out;
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
  std::function<absl::Status(Result&)> run;

  int64_t x = 0, n = 0, x0 = 0, n0 = 0, x1 = 0, n1 = 0, nmax = 0, events = 0;
  int min_events = 1;
  double level = 0.95, p0 = 0, a = 1, b = 1, weight = 0.5, threshold = 0.95,
         alpha = 0.05, t = 0, z = 1, py = 0, odds_ratio = 2, h = 0, fdr = 0.1;
  std::string method = "clopper-pearson", xs, ns, scores, outcomes, file;
  bool mid_p = false;

  auto* ci = app.add_subcommand("incidence-ci",
                                "subject incidence x/n with its interval");
  ci->add_option("--x", x)->required();
  ci->add_option("--n", n)->required();
  ci->add_option("--level", level)->capture_default_str();
  ci->add_option("--method", method, "clopper-pearson (default) or wilson")
      ->check(CLI::IsMember({"clopper-pearson", "wilson"}));
  ci->callback([&] {
    run = [&](Result& r) -> absl::Status {
      auto i = method == "wilson" ? signal::Wilson(x, n, level)
                                  : signal::ClopperPearson(x, n, level);
      if (!i.ok()) return i.status();
      r.Text("method", method);
      r.Int("x", x);
      r.Int("n", n);
      r.Num("level", level);
      r.Num("proportion", i->estimate);
      r.Num("lower", i->lower);
      r.Num("upper", i->upper);
      return absl::OkStatus();
    };
  });

  auto* bt = app.add_subcommand(
      "binom-test", "one-sided exact binomial test P(X >= x | n, p0)");
  bt->add_option("--x", x)->required();
  bt->add_option("--n", n)->required();
  bt->add_option("--p0", p0)->required();
  bt->add_flag("--mid-p", mid_p, "also the mid-p value");
  bt->callback([&] {
    run = [&](Result& r) -> absl::Status {
      auto p = signal::BinomialUpperTail(x, n, p0);
      if (!p.ok()) return p.status();
      auto mid = signal::BinomialMidP(x, n, p0);
      if (!mid.ok()) return mid.status();
      r.Int("x", x);
      r.Int("n", n);
      r.Num("p0", p0);
      r.Num("p_value", *p);
      if (mid_p) r.Num("mid_p", *mid);
      return absl::OkStatus();
    };
  });

  auto* post = app.add_subcommand(
      "posterior",
      "P(p > p0 | x, n) under Beta(a, b), or a prior from the "
      "baseline's source sample (--x0/--n0/--weight)");
  post->add_option("--x", x)->required();
  post->add_option("--n", n)->required();
  post->add_option("--p0", p0)->required();
  post->add_option("--a", a)->capture_default_str();
  post->add_option("--b", b)->capture_default_str();
  post->add_option("--x0", x0, "source events (with --n0)");
  post->add_option("--n0", n0, "source subjects");
  post->add_option("--weight", weight, "weight of the source sample")
      ->capture_default_str();
  post->callback([&] {
    run = [&](Result& r) -> absl::Status {
      if (n0 > 0) {
        if (x0 < 0 || x0 > n0) {
          return absl::InvalidArgumentError("--x0 must be in [0, --n0]");
        }
        a = weight * (x0 + 0.5);
        b = weight * (n0 - x0 + 0.5);
      }
      auto p = signal::PosteriorExceeds(x, n, p0, a, b);
      if (!p.ok()) return p.status();
      r.Int("x", x);
      r.Int("n", n);
      r.Num("p0", p0);
      r.Num("prior_a", a);
      r.Num("prior_b", b);
      r.Num("posterior", *p);
      return absl::OkStatus();
    };
  });

  auto* boundary = app.add_subcommand(
      "boundary", "the stopping table: smallest x that flags for each n");
  boundary->add_option("--p0", p0)->required();
  boundary->add_option("--nmax", nmax)->required();
  boundary->add_option("--threshold", threshold)->capture_default_str();
  boundary->add_option("--a", a)->capture_default_str();
  boundary->add_option("--b", b)->capture_default_str();
  boundary->callback([&] {
    run = [&](Result& r) -> absl::Status {
      auto rows = signal::PosteriorBoundary(p0, nmax, threshold, a, b);
      if (!rows.ok()) return rows.status();
      r.Num("p0", p0);
      r.Num("threshold", threshold);
      r.Num("prior_a", a);
      r.Num("prior_b", b);
      std::vector<std::vector<double>> table;
      for (const auto& row : *rows) {
        table.push_back({static_cast<double>(row.n),
                         static_cast<double>(row.min_x), row.posterior});
      }
      r.Rows({"n", "min_x", "posterior"}, std::move(table));
      return absl::OkStatus();
    };
  });

  auto* cv = app.add_subcommand(
      "maxsprt-cv", "exact Poisson MaxSPRT critical value (Kulldorff 2011)");
  cv->add_option("--alpha", alpha)->capture_default_str();
  cv->add_option("--T", t, "end of surveillance, expected events")->required();
  cv->add_option("--M", min_events, "minimum events to signal")
      ->capture_default_str();
  cv->callback([&] {
    run = [&](Result& r) -> absl::Status {
      auto c = signal::MaxSprtCriticalValue(alpha, t, min_events);
      if (!c.ok()) return c.status();
      auto achieved = signal::MaxSprtAlpha(*c, t, min_events);
      r.Num("alpha", alpha);
      r.Num("T", t);
      r.Int("M", min_events);
      r.Num("critical_value", *c);
      r.Num("type_i_error", achieved.value_or(0));
      return absl::OkStatus();
    };
  });

  auto* bcv = app.add_subcommand("maxsprt-binomial-cv",
                                 "exact binomial MaxSPRT critical value");
  bcv->add_option("--alpha", alpha)->capture_default_str();
  bcv->add_option("--N", nmax, "end of surveillance, total events")->required();
  bcv->add_option("--M", min_events)->capture_default_str();
  bcv->add_option("--z", z, "controls per case")->capture_default_str();
  bcv->callback([&] {
    run = [&](Result& r) -> absl::Status {
      auto c = signal::BinomialMaxSprtCriticalValue(alpha, nmax, min_events, z);
      if (!c.ok()) return c.status();
      auto achieved = signal::BinomialMaxSprtAlpha(*c, nmax, min_events, z);
      r.Num("alpha", alpha);
      r.Int("N", nmax);
      r.Int("M", min_events);
      r.Num("z", z);
      r.Num("critical_value", *c);
      r.Num("type_i_error", achieved.value_or(0));
      return absl::OkStatus();
    };
  });

  auto* cusum = app.add_subcommand("cusum", "Bernoulli CUSUM path");
  cusum->add_option("--outcomes", outcomes, "0/1 list, e.g. 0,1,0,1")
      ->required();
  cusum->add_option("--p0", p0)->required();
  cusum->add_option("--or", odds_ratio, "odds ratio to detect")
      ->capture_default_str();
  cusum->add_option("--h", h, "decision value")->required();
  cusum->callback([&] {
    run = [&](Result& r) -> absl::Status {
      auto ys = ParseList<int>(outcomes, "--outcomes");
      if (!ys.ok()) return ys.status();
      auto c = signal::BernoulliCusum(*ys, p0, odds_ratio, h);
      if (!c.ok()) return c.status();
      r.Num("p0", p0);
      r.Num("odds_ratio", odds_ratio);
      r.Num("h", h);
      r.Int("signal_at", c->signal_at);
      std::vector<std::vector<double>> table;
      for (size_t i = 0; i < c->path.size(); ++i) {
        table.push_back({static_cast<double>(i + 1),
                         static_cast<double>((*ys)[i]), c->path[i]});
      }
      r.Rows({"i", "y", "S"}, std::move(table));
      return absl::OkStatus();
    };
  });

  auto* trend = app.add_subcommand(
      "trend", "Cochran-Armitage trend across ordered groups");
  trend->add_option("--x", xs, "subjects with the event per group")->required();
  trend->add_option("--n", ns, "subjects per group")->required();
  trend->add_option("--scores", scores, "dose scores (default 0, 1, 2, ...)");
  trend->callback([&] {
    run = [&](Result& r) -> absl::Status {
      auto xv = ParseList<int64_t>(xs, "--x");
      if (!xv.ok()) return xv.status();
      auto nv = ParseList<int64_t>(ns, "--n");
      if (!nv.ok()) return nv.status();
      std::vector<double> sv;
      if (scores.empty()) {
        for (size_t i = 0; i < xv->size(); ++i) sv.push_back(i);
      } else {
        auto parsed = ParseList<double>(scores, "--scores");
        if (!parsed.ok()) return parsed.status();
        sv = *parsed;
      }
      auto res = signal::CochranArmitageIncreasing(*xv, *nv, sv);
      if (!res.ok()) return res.status();
      r.Num("z", res->z);
      r.Num("p_value_one_sided", res->p);
      r.Text("method", res->exact ? "exact conditional" : "asymptotic");
      r.Num("p_asymptotic", res->p_asymptotic);
      return absl::OkStatus();
    };
  });

  auto* fisher = app.add_subcommand(
      "fisher",
      "one-sided Fisher exact test of x1/n1 above x0/n0, with the "
      "risk difference and its Newcombe interval");
  fisher->add_option("--x1", x1)->required();
  fisher->add_option("--n1", n1)->required();
  fisher->add_option("--x0", x0)->required();
  fisher->add_option("--n0", n0)->required();
  fisher->add_option("--level", level)->capture_default_str();
  fisher->callback([&] {
    run = [&](Result& r) -> absl::Status {
      auto p = signal::FisherGreater(x1, n1, x0, n0);
      if (!p.ok()) return p.status();
      auto rd = signal::NewcombeDifference(x1, n1, x0, n0, level);
      if (!rd.ok()) return rd.status();
      r.Num("p_value_one_sided", *p);
      r.Num("risk_difference", rd->difference);
      r.Num("rd_lower", rd->lower);
      r.Num("rd_upper", rd->upper);
      r.Num("level", level);
      return absl::OkStatus();
    };
  });

  auto* eair = app.add_subcommand(
      "eair", "incidence rate per 100 patient-years, exact Poisson interval");
  eair->add_option("--events", events)->required();
  eair->add_option("--py", py, "patient-years at risk")->required();
  eair->add_option("--level", level)->capture_default_str();
  eair->callback([&] {
    run = [&](Result& r) -> absl::Status {
      auto rate = signal::PoissonRate(events, py, level);
      if (!rate.ok()) return rate.status();
      r.Int("events", events);
      r.Num("patient_years", py);
      r.Num("level", level);
      r.Num("rate_per_100py", rate->rate);
      r.Num("lower", rate->lower);
      r.Num("upper", rate->upper);
      return absl::OkStatus();
    };
  });

  auto* dfdr = app.add_subcommand(
      "dfdr", "Benjamini-Hochberg and double FDR over PT p-values");
  dfdr->add_option("--file", file, "CSV with columns soc,pt,p")->required();
  dfdr->add_option("--fdr", fdr)->capture_default_str();
  std::vector<std::string> pts;
  dfdr->callback([&] {
    run = [&](Result& r) -> absl::Status {
      std::ifstream in(file);
      if (!in) return absl::NotFoundError(absl::StrCat(file, ": cannot open"));
      CsvReader reader(in);
      std::vector<std::string> socs;
      std::vector<double> ps;
      int soc_col = -1, pt_col = -1, p_col = -1;
      while (true) {
        auto rec = reader.Next();
        if (!rec.ok()) {
          return absl::InvalidArgumentError(
              absl::StrCat(file, ":", rec.status().message()));
        }
        if (!rec->has_value()) break;
        const auto& f = (*rec)->fields;
        if (soc_col < 0) {
          for (size_t i = 0; i < f.size(); ++i) {
            if (f[i] == "soc") soc_col = i;
            if (f[i] == "pt") pt_col = i;
            if (f[i] == "p") p_col = i;
          }
          if (soc_col < 0 || pt_col < 0 || p_col < 0) {
            return absl::InvalidArgumentError(
                absl::StrCat(file, ":1: need columns soc, pt, p"));
          }
          continue;
        }
        double p;
        if (static_cast<int>(f.size()) <= std::max({soc_col, pt_col, p_col}) ||
            !absl::SimpleAtod(f[p_col], &p)) {
          return absl::InvalidArgumentError(
              absl::StrCat(file, ":", (*rec)->line, ": p: not a number"));
        }
        socs.push_back(f[soc_col]);
        pts.push_back(f[pt_col]);
        ps.push_back(p);
      }
      auto adjusted = signal::DoubleFdr(socs, ps);
      if (!adjusted.ok()) return adjusted.status();
      std::vector<double> bh = signal::BenjaminiHochberg(ps);
      r.Num("fdr", fdr);
      std::vector<std::vector<double>> table;
      int flagged = 0;
      for (size_t i = 0; i < ps.size(); ++i) {
        const bool flag = (*adjusted)[i] <= fdr;
        flagged += flag;
        table.push_back({static_cast<double>(i + 1), ps[i], bh[i],
                         (*adjusted)[i], flag ? 1.0 : 0.0});
      }
      r.Int("terms", static_cast<int64_t>(ps.size()));
      r.Int("flagged", flagged);
      r.Rows({"row", "p", "bh", "double_fdr", "flagged"}, std::move(table));
      return absl::OkStatus();
    };
  });

  // --format may also follow the method.
  for (CLI::App* sub : app.get_subcommands({})) {
    sub->add_option("--format", format, "table or json (json: full precision)")
        ->check(CLI::IsMember({"table", "json"}));
  }
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e, out, err);
    return code == 0 ? 0 : 2;
  }
  if (!run) return 2;
  Result result;
  absl::Status status = run(result);
  if (!status.ok()) {
    err << "error: " << status.message() << "\n";
    return 1;
  }
  result.Print(format == "json", out);
  return 0;
}

}  // namespace aesignal::cli
