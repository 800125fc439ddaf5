// Section 3 of the DSMB report: listings of serious AEs, deaths and AESIs,
// and of the reports withdrawn as entered in error.
#include <algorithm>
#include <tuple>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
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

Table Listing(const Context& context, std::string id, std::string title,
              bool (*include)(const v1::AdverseEventReport&), bool with_aesi) {
  Table table{.id = std::move(id), .title = std::move(title)};
  table.header = {"Subject"};
  if (context.closed) table.header.push_back("Group");
  for (const char* name : {"Site", "Onset day", "Preferred term", "Grade",
                           "Seriousness", "Relatedness", "Outcome"}) {
    table.header.push_back(name);
  }
  if (with_aesi) table.header.push_back("AESI");
  table.header.push_back("Report (version)");
  std::vector<const v1::Report*> reports;
  for (const v1::Report& report : context.in.reports) {
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
    row.insert(
        row.end(),
        {ae.site_id(), OnsetDay(ae), ae.pt(), absl::StrCat(ae.grade()),
         Criteria(ae),
         EnumWord(v1::Relatedness_Name(ae.relatedness()), "RELATEDNESS_"),
         EnumWord(v1::Outcome_Name(ae.outcome()), "OUTCOME_")});
    if (with_aesi) row.push_back(absl::StrJoin(ae.aesi(), ", "));
    row.push_back(absl::StrCat(report->report_id(), " (v", ae.version(), ")"));
    table.rows.push_back(std::move(row));
  }
  table.footnote =
      "Each report in its newest version received by the data cut-off.";
  return table;
}

// The reports withdrawn by the cut-off, with their reasons: a DSMB sees what
// left the counts, so that a withdrawal cannot hide an event unnoticed.
Table WithdrawnListing(const Context& context) {
  Table table{.id = "l04_withdrawn_listing",
              .title = "Listing of reports withdrawn as entered in error"};
  table.header = {"Subject"};
  if (context.closed) table.header.push_back("Group");
  for (const char* name : {"Site", "Onset day", "Preferred term", "Grade",
                           "Seriousness", "Reason", "Report (version)"}) {
    table.header.push_back(name);
  }
  std::vector<const v1::Report*> reports;
  for (const v1::Report& report : context.in.withdrawn) {
    reports.push_back(&report);
  }
  std::sort(reports.begin(), reports.end(),
            [](const v1::Report* a, const v1::Report* b) {
              return std::tie(a->current().report().subject_id(), a->site_id(),
                              a->report_id()) <
                     std::tie(b->current().report().subject_id(), b->site_id(),
                              b->report_id());
            });
  for (const v1::Report* report : reports) {
    const v1::AdverseEventReport& ae = report->current().report();
    std::vector<std::string> row = {ae.subject_id()};
    if (context.closed) {
      row.push_back(GroupName(context, report->current().dose_group_id()));
    }
    row.insert(row.end(),
               {ae.site_id(), OnsetDay(ae), ae.pt(), absl::StrCat(ae.grade()),
                Criteria(ae), ae.entered_in_error_reason(),
                absl::StrCat(report->report_id(), " (v", ae.version(), ")")});
    table.rows.push_back(std::move(row));
  }
  table.empty_text = "No report withdrawn.";
  table.footnote =
      "Reports whose newest version received by the data cut-off withdraws "
      "them; they count in no table or figure of this report. Their earlier "
      "versions stay stored.";
  return table;
}

bool IsSerious(const v1::AdverseEventReport& ae) { return ae.serious(); }
bool IsFatal(const v1::AdverseEventReport& ae) {
  return ae.death() || ae.outcome() == v1::OUTCOME_FATAL;
}
bool IsAesi(const v1::AdverseEventReport& ae) { return ae.aesi_size() > 0; }

}  // namespace

void AddListings(const Context& context, Document& document) {
  document.Section("Listings");
  Table sae = Listing(context, "l01_sae_listing",
                      "Listing of serious adverse events", IsSerious, false);
  sae.empty_text = "No serious adverse event.";
  document.Add(std::move(sae));
  Table deaths = Listing(context, "l02_death_listing", "Listing of deaths",
                         IsFatal, false);
  deaths.empty_text = "No death.";
  document.Add(std::move(deaths));
  Table aesi =
      Listing(context, "l03_aesi_listing",
              "Listing of adverse events of special interest", IsAesi, true);
  aesi.empty_text = "No adverse event of special interest.";
  document.Add(std::move(aesi));
  document.Add(WithdrawnListing(context));
}

}  // namespace aesignal::report::internal
