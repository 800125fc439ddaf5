// Sections 4-6 of the DSMB report: signal topics, figures, methods.
#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "services/report/charts.h"
#include "services/report/dsmb_internal.h"

namespace aesignal::report::internal {
namespace {

std::string StatusWord(v1::SignalStatus status) {
  std::string word = absl::AsciiStrToLower(
      absl::StripPrefix(v1::SignalStatus_Name(status), "SIGNAL_STATUS_"));
  std::replace(word.begin(), word.end(), '_', ' ');
  return word;
}

std::string LevelWord(v1::TermLevel level) {
  switch (level) {
    case v1::TERM_LEVEL_PT:
      return "PT";
    case v1::TERM_LEVEL_SOC:
      return "SOC";
    case v1::TERM_LEVEL_OVERALL:
      return "overall";
    default:
      return "-";
  }
}

// The last triage: when, who, the status it set and, in the closed uncoded
// report only, its comment. Members write what they saw ("3/3 in the high
// dose"), so a comment may name groups and their results, which the open
// session and a coded report must not.
std::string LastTriage(const Context& context, const v1::SignalTopic& topic) {
  for (auto it = topic.history().rbegin(); it != topic.history().rend(); ++it) {
    if (it->kind() != v1::SignalEvent::KIND_TRIAGED) continue;
    // The name the triaging member gave, beside the principal that proves it.
    const std::string who =
        it->display_name().empty()
            ? it->actor()
            : absl::StrCat(it->display_name(), " (", it->actor(), ")");
    std::string text = absl::StrCat(PrintedTime(it->time()).substr(0, 10), " ",
                                    who, ": ", StatusWord(it->to_status()));
    if (it->comment().empty()) return text;
    if (context.closed && !context.coded) {
      absl::StrAppend(&text, " \xE2\x80\x94 ", it->comment());
    } else {
      absl::StrAppend(&text, " (comment in the closed, uncoded report)");
    }
    return text;
  }
  return "-";
}

// Whether `report_id` version `version` is a report's withdrawal as
// entered in error (its current version at the cut-off, listed in l04).
bool IsWithdrawal(const Context& context, const std::string& report_id,
                  uint32_t version) {
  for (const v1::Report& report : context.in.withdrawn) {
    const v1::AdverseEventReport& ae = report.current().report();
    if (ae.report_id() == report_id && ae.version() == version) return true;
  }
  return false;
}

// After a baseline (`id`, parsed by CauseWords) other than the evaluated test's
// own (another row's, or this row's at another timepoint or group): why it
// could move this test (under trial-wide control, the pre-specified tests share
// alpha). Empty for the test's own baseline or another change. Nothing is
// claimed about whether the number of tests changed: a revision may leave it as
// it was.
std::string OtherRowsBaselineWords(const v1::Evidence& evidence,
                                   const std::string& id) {
  if (evidence.change().action() != "baseline.put") return "";
  if (id == evidence.baseline_id()) return "";
  if (evidence.multiplicity() > 0) {
    return absl::StrCat(
        " (a baseline other than this test's; under trial-wide control a "
        "baseline change re-evaluates the pre-specified rows, whose ",
        evidence.multiplicity(), " tests share alpha)");
  }
  return " (a baseline other than this test's)";
}

// What an evaluation followed, in words: "report AE-0005 v3" (or
// "withdrawal of report AE-0005 (v3)"), "correction of subject S3 v2",
// both joined by "and", or "a re-evaluation".
std::string CauseWords(const Context& context, const v1::Evidence& evidence) {
  static const std::map<std::string, std::string>& kActions =
      *new std::map<std::string, std::string>{
          {"subject.enroll", "enrolment of subject"},
          {"subject.update", "update of subject"},
          {"subject.correct", "correction of subject"},
          {"baseline.put", "baseline"},
          {"trial.amend", "amendment of the trial"}};
  std::vector<std::string> parts;
  if (!evidence.report_id().empty()) {
    parts.push_back(
        IsWithdrawal(context, evidence.report_id(), evidence.report_version())
            ? absl::StrCat("withdrawal of report ", evidence.report_id(), " (v",
                           evidence.report_version(), ")")
            : absl::StrCat("report ", evidence.report_id(), " v",
                           evidence.report_version()));
  }
  if (evidence.has_change()) {
    const v1::ChangeRef& change = evidence.change();
    auto it = kActions.find(change.action());
    const std::string action =
        it != kActions.end() ? it->second : change.action();
    // The last segment of the name: the subject or baseline id.
    const size_t slash = change.name().rfind('/');
    const std::string id =
        change.action() == "trial.amend" || slash == std::string::npos
            ? ""
            : change.name().substr(slash + 1);
    parts.push_back(absl::StrCat(action, id.empty() ? "" : " ", id, " v",
                                 change.version(),
                                 OtherRowsBaselineWords(evidence, id)));
  }
  return parts.empty() ? "a re-evaluation" : absl::StrJoin(parts, " and ");
}

// "yes", or for a topic no longer crossing when it stopped and, in the
// closed session, after what (the report or change its last evaluation
// followed; the open session names neither reports nor subjects).
std::string CrossingText(const Context& context, const v1::SignalTopic& topic) {
  if (topic.crossing()) return "yes";
  for (auto it = topic.history().rbegin(); it != topic.history().rend(); ++it) {
    if (it->kind() != v1::SignalEvent::KIND_STOPPED_CROSSING) continue;
    const std::string since =
        absl::StrCat("no, since ", PrintedTime(it->time()).substr(0, 10));
    return context.closed ? absl::StrCat(since, ", after ",
                                         CauseWords(context, it->evidence()))
                          : since;
  }
  return "no";
}

std::string MethodWord(v1::SignalMethod method) {
  switch (method) {
    case v1::SIGNAL_METHOD_BINOMIAL_EXACT:
      return "exact binomial vs baseline";
    case v1::SIGNAL_METHOD_BAYESIAN:
      return "Bayesian vs baseline";
    case v1::SIGNAL_METHOD_CONTROL_FISHER:
      return "vs control";
    case v1::SIGNAL_METHOD_DOSE_TREND:
      return "dose trend";
    case v1::SIGNAL_METHOD_OVER_TIME:
      return "over time";
    default:
      return "other";
  }
}

// Which test and cell: "vs control, Group A, Month 6" ("across groups" for
// the dose trend, "all groups" for a test of the pooled groups).
std::string TestPlace(const Context& context, const v1::Signal& signal) {
  const std::string group = signal.method() == v1::SIGNAL_METHOD_DOSE_TREND
                                ? "across groups"
                            : signal.dose_group_id().empty()
                                ? "all groups"
                                : GroupName(context, signal.dose_group_id());
  return absl::StrCat(MethodWord(signal.method()), ", ", group, ", ",
                      TimepointName(context, signal.timepoint_id()));
}

// The strength and, in the uncoded closed report, the test it is taken from
// and that test's deciding value: the lead test, which need not be the
// comparison the evidence names first, so a reader can redo the footnote's
// arithmetic ("6.00 (dose trend, across groups, Week 24; adjusted p
// 5.04e-07)"). Coded: the number alone (naming the dose trend would tell
// the groups' order).
std::string StrengthText(const Context& context, const v1::SignalTopic& topic) {
  std::string text = absl::StrFormat("%.2f", topic.strength());  // as the CLI
  if (context.coded) return text;
  for (const v1::Signal& signal : topic.evidence()) {
    if (signal.signal_id() != topic.lead_signal_id()) continue;
    const v1::Evidence& e = signal.evidence();
    std::string value;
    if (signal.method() == v1::SIGNAL_METHOD_BAYESIAN) {
      value =
          absl::StrCat("; posterior ", Number(e.posterior_probability(), 3));
    } else if (signal.method() != v1::SIGNAL_METHOD_MAXSPRT) {
      value =
          e.adjusted_p_value() > 0
              ? absl::StrCat("; adjusted p ", Number(e.adjusted_p_value(), 3))
              : absl::StrCat("; p ", Number(e.p_value(), 3));
    }
    return absl::StrCat(text, " (", TestPlace(context, signal), value, ")");
  }
  return text;
}

// The topic's evidence in one cell. Coded: only counts and the methods that
// cross, because the server's summary names the dose groups.
std::string EvidenceText(const Context& context, const v1::SignalTopic& topic) {
  const std::string counts =
      absl::StrCat(topic.crossing_count(), " of ", topic.evidence_count(),
                   " tests crossing");
  if (!context.coded) {
    // The summary starts with the lead test's group and timepoint. The
    // counts come first: a cell wrapped inside "(3 of 3 …)" read as a column
    // cut at the page's edge.
    return absl::StrCat(counts, "; ", topic.summary());
  }
  std::set<std::string> methods;
  for (const v1::Signal& signal : topic.evidence()) {
    if (signal.evidence().crosses())
      methods.insert(MethodWord(signal.method()));
  }
  return methods.empty()
             ? counts
             : absl::StrCat(counts, ": ", absl::StrJoin(methods, ", "));
}

bool PerTest(const v1::SignalPolicy& policy) {
  return policy.error_control() == v1::ERROR_CONTROL_PER_TEST;
}

// Under per-test control a topic stands on one test at its own alpha among
// dozens: a board should not read it as a trial-wide finding.
std::string PerTestCaveat(const v1::SignalPolicy& policy) {
  return absl::StrCat(
      "Per-test error control: each test crosses at alpha on its own, with no "
      "adjustment for the number of tests, so among many tests some cross by "
      "chance",
      policy.screening_fdr()
          ? "; except a PT's comparisons with the control arm, which are "
            "screened across PTs with the double FDR (their adjusted p "
            "against the screening FDR, the signal methods' table)."
          : ".");
}

// What an adjusted p in the evidence is, as the evaluator computes it
// (services/domain/evaluate.cc, AdjustTest and ApplyScreening).
std::string AdjustmentText(const v1::SignalPolicy& policy) {
  if (PerTest(policy)) return PerTestCaveat(policy);
  return "Trial-wide error control: on a pre-specified row (the overall rows "
         "and the rows a baseline names) the adjusted p is for the "
         "pre-specified tests sharing alpha (the table of pre-specified "
         "hypotheses); on any other PT row it is the larger of the PT "
         "screen's double-FDR value and the test's Bonferroni p within its "
         "row, compared with the screening FDR (the signal methods' table).";
}

Table TopicTable(const Context& context) {
  Table table{.id = "t12_signal_topics",
              .title = "Signal topics at the data cut-off"};
  table.header = {"Topic", "Level", "Status", "Crossing"};
  if (context.closed) {
    table.header.insert(table.header.end(), {"Evidence", "Strength"});
  }
  table.header.push_back("Last triage");
  for (const v1::SignalTopic& topic : context.in.topics) {
    std::vector<std::string> row = {
        TopicName(context, topic), LevelWord(topic.level()),
        StatusWord(topic.status()), CrossingText(context, topic)};
    if (context.closed) {
      row.push_back(EvidenceText(context, topic));
      row.push_back(StrengthText(context, topic));
    }
    row.push_back(LastTriage(context, topic));
    table.rows.push_back(std::move(row));
  }
  table.empty_text = "No signal topic had been raised by the data cut-off.";
  table.footnote =
      context.closed
          ? absl::StrCat(
                "Topics as they stood at the data cut-off, replayed from the "
                "signal change log. \"k of n tests crossing\": of the row's "
                "n tests that have crossed at some time (each kept as "
                "evidence), k cross at the cut-off (a pre-specified row's "
                "tests are all counted in the table of pre-specified "
                "hypotheses). In the evidence, RD is the risk difference with "
                "its 95% Miettinen-Nurminen interval, beside the two-sided "
                "Fisher p as safety tables print it; what decides is the "
                "one-sided test's p (adjusted where one is given) against its "
                "threshold. ",
                AdjustmentText(context.in.trial.signal_policy()),
                " Strength orders the list: the lead test's (named beside it) "
                "distance past its threshold in decades, log10(threshold / p) "
                "with the adjusted p where one decides (0 at the threshold, 1 "
                "at a p ten times smaller), plus 0.5 for a crossing serious, "
                "grade >= 3, fatal or AESI row and 0.5 when a dose trend "
                "crosses too. It ranks; it is not a probability.")
          : absl::StrCat(
                "Open session: evidence by dose group is in the "
                "closed report.",
                PerTest(context.in.trial.signal_policy())
                    ? absl::StrCat(
                          " ", PerTestCaveat(context.in.trial.signal_policy()))
                    : "");
  return table;
}

std::string ChangeOf(const v1::SignalTopic* before,
                     const v1::SignalTopic& now) {
  if (before == nullptr) return "new";
  std::vector<std::string> changes;
  if (before->status() != now.status()) {
    changes.push_back(absl::StrCat("status ", StatusWord(before->status()),
                                   " \xE2\x86\x92 ", StatusWord(now.status())));
  }
  if (before->crossing() != now.crossing()) {
    changes.push_back(now.crossing() ? "now crossing" : "no longer crossing");
  }
  if (before->evidence_count() != now.evidence_count() ||
      before->crossing_count() != now.crossing_count() ||
      before->strength() != now.strength()) {
    changes.push_back("evidence updated");
  }
  return changes.empty() ? "" : absl::StrJoin(changes, "; ");
}

Table ChangesTable(const Context& context) {
  Table table{.id = "t13_signal_changes",
              .title = absl::StrCat("Signal topics new or changed since ",
                                    PrintedTime(context.in.request.since())),
              .header = {"Topic", "Change", "Status now"}};
  std::map<std::string, const v1::SignalTopic*> before;
  for (const auto& topic : context.in.topics_since) {
    before[topic.topic_id()] = &topic;
  }
  for (const v1::SignalTopic& topic : context.in.topics) {
    auto it = before.find(topic.topic_id());
    const std::string change =
        ChangeOf(it == before.end() ? nullptr : it->second, topic);
    if (change.empty()) continue;
    table.rows.push_back(
        {TopicName(context, topic), change, StatusWord(topic.status())});
  }
  table.empty_text = "Nothing new or changed since the previous cut-off.";
  return table;
}

// Whether an evidence item is an exact test with a p-value that can decide
// (the Bayesian posterior and MaxSPRT's likelihood ratio have none). A
// coded report leaves out the dose trend: beside the coded groups' counts,
// its p-value would tell which letter is which dose.
bool ExactTest(const Context& context, const v1::Signal& signal) {
  switch (signal.method()) {
    case v1::SIGNAL_METHOD_BINOMIAL_EXACT:
    case v1::SIGNAL_METHOD_CONTROL_FISHER:
    case v1::SIGNAL_METHOD_OVER_TIME:
      return true;
    case v1::SIGNAL_METHOD_DOSE_TREND:
      return !context.coded;
    default:
      return false;
  }
}

// The exact test closest to its threshold: the smallest adjusted p (the
// nominal one when nothing is adjusted), then the smallest nominal p (an
// adjusted p is capped at 1, where under trial-wide control most tests of a
// quiet row tie), then the first in the topic's order (strongest, then
// earliest timepoint and protocol order).
const v1::Signal* ClosestTest(const Context& context,
                              const v1::SignalTopic& topic) {
  const v1::Signal* closest = nullptr;
  auto distance = [](const v1::Signal& s) {
    const v1::Evidence& e = s.evidence();
    return std::pair{
        e.adjusted_p_value() > 0 ? e.adjusted_p_value() : e.p_value(),
        e.p_value()};
  };
  for (const v1::Signal& signal : topic.evidence()) {
    if (!ExactTest(context, signal)) continue;
    if (closest == nullptr || distance(signal) < distance(*closest)) {
      closest = &signal;
    }
  }
  return closest;
}

// "vs control, Group A, Month 6: 5/84 vs 2/86".
std::string TestAndCell(const Context& context, const v1::Signal& signal) {
  const v1::Evidence& e = signal.evidence();
  std::string text = TestPlace(context, signal);
  if (signal.method() == v1::SIGNAL_METHOD_DOSE_TREND) return text;
  absl::StrAppend(&text, ": ", e.subjects(), "/", e.denominator());
  if (signal.method() == v1::SIGNAL_METHOD_BINOMIAL_EXACT) {
    absl::StrAppend(&text, " vs expected ",
                    absl::StrFormat("%.1f", 100 * e.expected_proportion()),
                    "%");
  } else if (signal.method() == v1::SIGNAL_METHOD_CONTROL_FISHER) {
    absl::StrAppend(&text, " vs ", e.comparison_subjects(), "/",
                    e.comparison_denominator());
  }
  return text;
}

// Closed session: each pre-specified row's exact test closest to its
// threshold, crossing or not. Topics list only what crossed; under
// trial-wide control a DSMB also needs to see how far each hypothesis the
// protocol named stands from alpha (a nominal 0.001 can be an adjusted 0.2).
Table PrespecifiedTable(const Context& context) {
  const bool per_test = PerTest(context.in.trial.signal_policy());
  Table table{.id = "t15_prespecified_tests",
              .title =
                  "Pre-specified hypotheses at the data cut-off: the "
                  "test closest to its threshold",
              .header = {"Row", "Test and cell", "Nominal p",
                         per_test ? "Threshold" : "Adjusted p (\xC3\x97 tests)",
                         "Tests crossing"}};
  for (const v1::SignalTopic& topic : context.in.prespecified) {
    const v1::Signal* closest = ClosestTest(context, topic);
    std::vector<std::string> row = {TopicName(context, topic)};
    if (closest == nullptr) {
      row.insert(row.end(), {"no exact test applies", "-", "-"});
    } else {
      const v1::Evidence& e = closest->evidence();
      row.push_back(TestAndCell(context, *closest));
      row.push_back(Number(e.p_value(), 3));
      row.push_back(e.adjusted_p_value() > 0
                        ? absl::StrCat(Number(e.adjusted_p_value(), 3),
                                       " (\xC3\x97", e.multiplicity(), ")")
                        : Number(e.threshold(), 3));
    }
    row.push_back(
        absl::StrCat(topic.crossing_count(), " of ", topic.evidence_count()));
    table.rows.push_back(std::move(row));
  }
  table.empty_text = "The trial has no pre-specified row.";
  const Thresholds thresholds = ThresholdsOf(context.in.trial.signal_policy());
  table.footnote = absl::StrCat(
      "Every test of each pre-specified row (the overall rows and each row a "
      "baseline names) recounted from the data at the cut-off, with the "
      "baselines then in force and the trial's current signal policy. ",
      per_test
          ? absl::StrCat("Per-test error control: each test crosses at p <= ",
                         Number(thresholds.alpha, 3), " on its own.")
          : absl::StrCat(
                "Trial-wide error control: the adjusted p is the nominal p "
                "times the number of tests sharing alpha (Bonferroni over the ",
                context.in.prespecified.size(),
                " pre-specified rows' tests); a test crosses at adjusted p <= ",
                Number(thresholds.alpha, 3),
                " with at least the minimum cases, and raises its row's "
                "topic."),
      " The Bayesian posterior and MaxSPRT are counted in the tests but not "
      "shown here.",
      context.coded ? " Dose-trend tests are in the uncoded closed report."
                    : "");
  return table;
}

Table PolicyTable(const Context& context) {
  const v1::SignalPolicy& policy = context.in.trial.signal_policy();
  const Thresholds thresholds = ThresholdsOf(policy);
  std::vector<std::string> methods, not_applied;
  for (const SignalMethod& method : SignalMethodsOf(context.in)) {
    if (method.not_applied.empty()) {
      methods.push_back(method.name);
    } else {
      not_applied.push_back(
          absl::StrCat(method.name, " (", method.not_applied, ")"));
    }
  }
  Table table{.id = "t14_signal_methods",
              .title = "Signal methods and thresholds in force",
              .header = {"Setting", "Value"}};
  table.rows = {
      {"Methods applied",
       methods.empty() ? "none (see below)" : absl::StrJoin(methods, "; ")},
      {"Error control", PerTest(policy) ? "per test" : "trial-wide"},
      {"Significance level (one-sided)", Number(thresholds.alpha, 3)},
      {"Posterior threshold", Number(thresholds.posterior, 3)},
      {"Screening FDR", Number(thresholds.fdr, 3)},
      {"Minimum cases per cell",
       absl::StrCat(policy.min_cases_one()
                        ? 1
                        : (policy.min_cases() > 0 ? policy.min_cases() : 2))},
      {"Planned subjects per group",
       policy.planned_subjects_per_group() > 0
           ? absl::StrCat(policy.planned_subjects_per_group())
           : "not set"}};
  if (!not_applied.empty()) {
    table.rows.push_back({"Enabled but not applicable to this trial",
                          absl::StrJoin(not_applied, "; ")});
  }
  table.footnote = absl::StrCat("The trial's signal policy (trial version ",
                                context.in.trial.version(), ").");
  return table;
}

}  // namespace

void AddSignals(const Context& context, Document& document) {
  document.Section("Signals");
  document.Add(TopicTable(context));
  if (context.in.request.has_since()) document.Add(ChangesTable(context));
  if (context.closed) document.Add(PrespecifiedTable(context));
  document.Add(PolicyTable(context));
}

}  // namespace aesignal::report::internal
