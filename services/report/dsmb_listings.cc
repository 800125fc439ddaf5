// Section 3 of the DSMB report: listings of serious AEs, deaths and AESIs,
// and of the reports withdrawn as entered in error.
#include <algorithm>
#include <set>
#include <tuple>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "services/report/dsmb_internal.h"

namespace aesignal::report::internal {
namespace {

std::string Criteria(const v1::AdverseEventReport& ae) {
  std::vector<std::string> criteria;
  if (ae.death()) criteria.push_back("death");
  if (ae.life_threatening()) criteria.push_back("life-threatening");
  if (ae.hospitalization()) criteria.push_back("hospitalization");
  if (ae.disability()) criteria.push_back("disability");
  if (ae.congenital_anomaly()) criteria.push_back("congenital anomaly");
  if (ae.medically_important()) criteria.push_back("medically important");
  return criteria.empty() ? (ae.serious() ? "serious" : "-")
                          : absl::StrJoin(criteria, ", ");
}

// "RELATEDNESS_PROBABLE" -> "probable".
std::string EnumWord(absl::string_view name, absl::string_view prefix) {
  if (absl::StartsWith(name, prefix)) name.remove_prefix(prefix.size());
  std::string word = absl::AsciiStrToLower(name);
  std::replace(word.begin(), word.end(), '_', ' ');
  return word == "unspecified" ? "-" : word;
}

std::string OnsetDay(const v1::AdverseEventReport& ae) {
  return ae.has_onset_study_day() ? absl::StrCat(ae.onset_study_day()) : "-";
}

// With --since: "new" for a report not received by the previous cut-off,
// "v1 -> v3" for one followed up since, "-" for one unchanged.
std::string SinceText(const Context& context, const v1::Report& report) {
  auto it = context.versions_since.find(
      absl::StrCat(report.site_id(), "/", report.report_id()));
  if (it == context.versions_since.end()) return "new";
  const uint32_t now = report.current().report().version();
  if (it->second == now) return "-";
  return absl::StrCat("v", it->second, " \xE2\x86\x92 v", now);
}

// A listing column after the common ones: its header and its cell.
struct ListingColumn {
  const char* name;
  std::string (*cell)(const Context&, const v1::AdverseEventReport&);
};

std::string Relatedness(const Context&, const v1::AdverseEventReport& ae) {
  return EnumWord(v1::Relatedness_Name(ae.relatedness()), "RELATEDNESS_");
}
std::string Outcome(const Context&, const v1::AdverseEventReport& ae) {
  return EnumWord(v1::Outcome_Name(ae.outcome()), "OUTCOME_");
}
std::string Aesi(const Context& context, const v1::AdverseEventReport& ae) {
  std::vector<std::string> labels;
  for (const std::string& category : ae.aesi()) {
    auto it = context.in.aesi_labels.find(category);
    labels.push_back(it == context.in.aesi_labels.end() ? category
                                                        : it->second);
  }
  return absl::StrJoin(labels, ", ");
}
std::string Reason(const Context&, const v1::AdverseEventReport& ae) {
  return ae.entered_in_error_reason();
}

// The reports of `source` that `include` takes, by subject and onset, with
// the common columns (subject, group when closed, site, onset, term, grade,
// seriousness), then `columns`, then the report id and version.
Table Listing(const Context& context, const std::vector<v1::Report>& source,
              std::string id, std::string title,
              bool (*include)(const v1::AdverseEventReport&),
              const std::vector<ListingColumn>& columns) {
  Table table{.id = std::move(id), .title = std::move(title)};
  table.header = {"Subject"};
  if (context.closed) table.header.push_back("Group");
  for (const char* name :
       {"Site", "Onset day", "Preferred term", "Grade", "Seriousness"}) {
    table.header.push_back(name);
  }
  for (const ListingColumn& column : columns)
    table.header.push_back(column.name);
  table.header.push_back("Report (version)");
  const bool since = context.in.request.has_since();
  if (since) table.header.push_back("Since the previous cut-off");
  std::vector<const v1::Report*> reports;
  for (const v1::Report& report : source) {
    if (include(report.current().report())) reports.push_back(&report);
  }
  auto key = [](const v1::Report* r) {
    const auto& ae = r->current().report();
    return std::make_tuple(ae.subject_id(),
                           ae.has_onset_study_day() ? ae.onset_study_day() : 0,
                           r->site_id(), r->report_id());
  };
  std::sort(reports.begin(), reports.end(),
            [&](const v1::Report* a, const v1::Report* b) {
              return key(a) < key(b);
            });
  for (const v1::Report* report : reports) {
    const v1::AdverseEventReport& ae = report->current().report();
    std::vector<std::string> row = {ae.subject_id()};
    if (context.closed) {
      row.push_back(GroupName(context, report->current().dose_group_id()));
    }
    row.insert(row.end(), {ae.site_id(), OnsetDay(ae), ae.pt(),
                           absl::StrCat(ae.grade()), Criteria(ae)});
    for (const ListingColumn& column : columns)
      row.push_back(column.cell(context, ae));
    row.push_back(absl::StrCat(report->report_id(), " (v", ae.version(), ")"));
    if (since) row.push_back(SinceText(context, *report));
    table.rows.push_back(std::move(row));
  }
  table.footnote =
      "Each report in its newest version received by the data cut-off.";
  if (since) {
    absl::StrAppend(
        &table.footnote, " Since the previous cut-off (",
        PrintedTime(context.in.request.since()),
        "): \"new\", a report not received by then; \"v1 \xE2\x86\x92 v3\", a "
        "follow-up since (the listing's criteria may have been met only "
        "by the newer version); \"-\", no newer version.");
  }
  return table;
}

bool IsSerious(const v1::AdverseEventReport& ae) { return ae.serious(); }
bool IsFatal(const v1::AdverseEventReport& ae) {
  return ae.death() || ae.outcome() == v1::OUTCOME_FATAL;
}
bool IsAesi(const v1::AdverseEventReport& ae) { return ae.aesi_size() > 0; }
bool Every(const v1::AdverseEventReport&) { return true; }

// Whether a withdrawal reason records a death ("DEATH", CDISC's DCDECOD;
// "Died of ...", "subject deceased"): by whole words, so "studied" is not
// "died".
bool ReasonIsDeath(const v1::Subject& subject) {
  const std::string reason = absl::AsciiStrToLower(subject.withdrawal_reason());
  for (absl::string_view word :
       absl::StrSplit(reason, absl::ByAnyChar(" \t,.;:()/-"))) {
    if (word == "death" || word == "died" || word == "deceased") return true;
  }
  return false;
}

// Deaths against the subjects' disposition at the cut-off: a subject with a
// fatal AE still recorded as in follow-up, or whose follow-up ended
// (completed, withdrawn) for no reason or one other than death, or one
// withdrawn for a death no report records, is a discrepancy the DSMB should
// hear of (one of the two records is late or wrong). "" when they agree.
std::string DeathCrossCheck(const Context& context) {
  std::set<std::string> fatal;
  for (const v1::Report& report : context.in.reports) {
    if (IsFatal(report.current().report())) {
      fatal.insert(report.current().report().subject_id());
    }
  }
  std::vector<std::string> still_followed, ended_otherwise, no_fatal_ae;
  for (const v1::Subject& subject : context.in.subjects) {
    const bool ended = subject.status() == v1::FOLLOW_UP_STATUS_WITHDRAWN ||
                       subject.status() == v1::FOLLOW_UP_STATUS_COMPLETED;
    const bool died = fatal.count(subject.subject_id()) > 0;
    if (died && !ended) still_followed.push_back(subject.subject_id());
    if (died && ended && !ReasonIsDeath(subject)) {
      ended_otherwise.push_back(subject.subject_id());
    }
    if (subject.status() == v1::FOLLOW_UP_STATUS_WITHDRAWN &&
        ReasonIsDeath(subject) && !died) {
      no_fatal_ae.push_back(subject.subject_id());
    }
  }
  std::string text;
  if (!still_followed.empty()) {
    absl::StrAppend(&text, " Check: ", absl::StrJoin(still_followed, ", "),
                    still_followed.size() == 1 ? " has" : " have",
                    " a fatal AE but",
                    still_followed.size() == 1 ? " is" : " are",
                    " still recorded as in follow-up at the cut-off.");
  }
  if (!ended_otherwise.empty()) {
    const bool one = ended_otherwise.size() == 1;
    absl::StrAppend(&text, " Check: ", absl::StrJoin(ended_otherwise, ", "),
                    one ? " has" : " have",
                    " a fatal AE but a disposition that does not record the "
                    "death (completed, or withdrawn for no reason or another "
                    "one; the study-status tables count ",
                    one ? "it" : "them", " so).");
  }
  if (!no_fatal_ae.empty()) {
    absl::StrAppend(&text, " Check: ", absl::StrJoin(no_fatal_ae, ", "),
                    no_fatal_ae.size() == 1 ? " was" : " were",
                    " withdrawn for death, but no fatal AE was reported by the "
                    "cut-off.");
  }
  return text;
}

// A fatal AE graded below 5 reads as a contradiction: say what its grade
// is (the worst severity reported, e.g. AESEV SEVERE as 3 on a severity
// scale; or a CTCAE grade recorded before the death). "" when none.
std::string FatalGradeNote(const Context& context) {
  const bool any = std::any_of(
      context.in.reports.begin(), context.in.reports.end(),
      [](const v1::Report& report) {
        const v1::AdverseEventReport& ae = report.current().report();
        return IsFatal(ae) && ae.grade() < 5;
      });
  if (!any) return "";
  return context.in.trial.grading().empty()
             ? " A fatal AE listed below grade 5 has the grade its report "
               "gives (CTCAE grade 5 is death); the sites should be "
               "queried."
             : " A fatal AE listed below grade 5 has the grade its report "
               "gives on the trial's scale (e.g. severe as 3), not CTCAE "
               "grade 5 (death).";
}

}  // namespace

void AddListings(const Context& context, Document& document) {
  const std::vector<v1::Report>& reports = context.in.reports;
  const std::vector<ListingColumn> assessed = {{"Relatedness", Relatedness},
                                               {"Outcome", Outcome}};
  document.Section("Listings");
  Table sae = Listing(context, reports, "l01_sae_listing",
                      "Listing of serious adverse events", IsSerious, assessed);
  sae.empty_text = "No serious adverse event.";
  document.Add(std::move(sae));
  Table deaths = Listing(context, reports, "l02_death_listing",
                         "Listing of deaths", IsFatal, assessed);
  deaths.empty_text = "No death.";
  // The footnote shows under an empty listing too: a withdrawal for death
  // without a report.
  absl::StrAppend(&deaths.footnote, FatalGradeNote(context),
                  DeathCrossCheck(context));
  document.Add(std::move(deaths));
  Table aesi = Listing(
      context, reports, "l03_aesi_listing",
      "Listing of adverse events of special interest", IsAesi,
      {{"Relatedness", Relatedness}, {"Outcome", Outcome}, {"AESI", Aesi}});
  aesi.empty_text = "No adverse event of special interest.";
  document.Add(std::move(aesi));
  // The reports withdrawn by the cut-off, with their reasons: a DSMB sees
  // what left the counts, so that a withdrawal cannot hide an event.
  Table withdrawn =
      Listing(context, context.in.withdrawn, "l04_withdrawn_listing",
              "Listing of reports withdrawn as entered in error", Every,
              {{"Reason", Reason}});
  withdrawn.empty_text = "No report withdrawn.";
  withdrawn.footnote =
      "Reports whose newest version received by the data cut-off withdraws "
      "them; they count in no table or figure of this report. Their earlier "
      "versions stay stored.";
  document.Add(std::move(withdrawn));
}

}  // namespace aesignal::report::internal
