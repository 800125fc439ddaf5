#include "services/report/dsmb_report.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cmath>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "services/report/document.h"
#include "services/report/dsmb_internal.h"

namespace aesignal::report {
namespace internal {

namespace {

std::string HmacSha256(absl::string_view key, absl::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest,
       &size);
  return std::string(reinterpret_cast<const char*>(digest), size);
}

// "Group A" ... "Group Z", "Group A1" ...
std::string Code(int i) {
  return absl::StrCat("Group ", std::string(1, static_cast<char>('A' + i % 26)),
                      i >= 26 ? absl::StrCat(i / 26) : "");
}

// The dose groups in the order their codes are given: the trial's, or with
// a key, that of HMAC-SHA256(key, dose_group_id), which only the key's
// holder can reproduce (ties would need a collision; then by id).
std::vector<const v1::DoseGroup*> CodingOrder(const v1::Trial& trial,
                                              absl::string_view key) {
  std::vector<std::pair<std::string, const v1::DoseGroup*>> keyed;
  for (const v1::DoseGroup& group : trial.dose_groups()) {
    keyed.push_back(
        {key.empty() ? "" : HmacSha256(key, group.dose_group_id()), &group});
  }
  std::stable_sort(
      keyed.begin(), keyed.end(),
      [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<const v1::DoseGroup*> order;
  for (const auto& entry : keyed) order.push_back(entry.second);
  return order;
}

}  // namespace

Context MakeContext(const DsmbInputs& in) {
  Context context{.in = in};
  context.closed = in.request.session() == v1::DSMB_SESSION_CLOSED;
  context.coded = context.closed && in.request.coded();
  const auto& timepoints = in.trial.timepoints();
  if (!timepoints.empty()) {
    context.last_timepoint_id = timepoints.rbegin()->timepoint_id();
  }
  const std::string& key = in.request.coding_key();
  std::vector<const v1::DoseGroup*> groups;
  for (const v1::DoseGroup& group : in.trial.dose_groups()) {
    groups.push_back(&group);
  }
  if (context.coded || !key.empty()) {
    const std::vector<const v1::DoseGroup*> coding = CodingOrder(in.trial, key);
    for (size_t i = 0; i < coding.size(); ++i) {
      context.codes[coding[i]->dose_group_id()] = Code(static_cast<int>(i));
      context.ids_by_code.push_back(coding[i]->dose_group_id());
    }
    // Coded columns in the codes' order: the trial's order would tell.
    if (context.coded) groups = coding;
  }
  if (!key.empty()) {
    context.key_fingerprint = absl::BytesToHexString(
        HmacSha256(key, "aesignal DSMB coding key fingerprint").substr(0, 4));
  }
  std::map<std::string, int> dosed;
  for (const v1::Subject& subject : in.subjects)
    ++dosed[subject.dose_group_id()];
  if (context.closed) {
    for (const v1::DoseGroup* group : groups) {
      context.columns.push_back(
          {.dose_group_id = group->dose_group_id(),
           .label = GroupName(context, group->dose_group_id()),
           .n = dosed[group->dose_group_id()]});
    }
  }
  context.columns.push_back(
      {.label = "Total", .n = static_cast<int>(in.subjects.size())});
  for (const v1::Report& report : in.reports_since) {
    context.versions_since[absl::StrCat(report.site_id(), "/",
                                        report.report_id())] =
        report.current().report().version();
  }
  return context;
}

std::string GroupName(const Context& context, absl::string_view id) {
  if (context.coded) {
    const auto code = context.codes.find(std::string(id));
    return code != context.codes.end() ? code->second : std::string(id);
  }
  for (const v1::DoseGroup& group : context.in.trial.dose_groups()) {
    if (group.dose_group_id() != id) continue;
    return group.label().empty() ? group.dose_group_id() : group.label();
  }
  return std::string(id);
}

std::vector<std::string> Header(const Context& context,
                                absl::string_view first) {
  std::vector<std::string> header = {std::string(first)};
  for (const Column& column : context.columns) {
    header.push_back(absl::StrCat(column.label, " (N=", column.n, ")"));
  }
  return header;
}

const v1::IncidenceCell* CellOf(const v1::TermIncidence& term,
                                absl::string_view dose_group_id,
                                absl::string_view timepoint_id) {
  for (const v1::IncidenceCell& cell : term.cells()) {
    const bool total = cell.scope() == v1::DOSE_GROUP_SCOPE_ALL_GROUPS;
    if (cell.timepoint_id() != timepoint_id) continue;
    if (dose_group_id.empty()
            ? total
            : (!total && cell.dose_group_id() == dose_group_id)) {
      return &cell;
    }
  }
  return nullptr;
}

std::string NPercent(int n, int denominator) {
  if (denominator <= 0) return absl::StrCat(n);
  return absl::StrFormat("%d (%.1f)", n, 100.0 * n / denominator);
}

std::string NPercent(const v1::Estimate& estimate, bool with_events) {
  std::string text = NPercent(estimate.subjects(), estimate.denominator());
  if (with_events) absl::StrAppend(&text, " [", estimate.events(), "]");
  return text;
}

std::vector<std::string> IncidenceRow(const Context& context,
                                      const v1::TermIncidence& term,
                                      absl::string_view label,
                                      bool with_events) {
  std::vector<std::string> row = {std::string(label)};
  for (const Column& column : context.columns) {
    const v1::IncidenceCell* cell =
        CellOf(term, column.dose_group_id, context.last_timepoint_id);
    row.push_back(cell == nullptr ? "-"
                                  : NPercent(cell->cumulative(), with_events));
  }
  return row;
}

const std::string& TimepointName(const v1::Timepoint& timepoint) {
  return timepoint.label().empty() ? timepoint.timepoint_id()
                                   : timepoint.label();
}

std::string TimepointName(const Context& context, const std::string& id) {
  for (const v1::Timepoint& timepoint : context.in.trial.timepoints()) {
    if (timepoint.timepoint_id() == id) return TimepointName(timepoint);
  }
  return id;
}

std::string TopicName(const Context& context, const v1::SignalTopic& topic) {
  if (topic.level() == v1::TERM_LEVEL_OVERALL) {
    for (const v1::TermIncidence& term : context.in.overall.terms()) {
      if (term.overall_key() == topic.overall_key()) return term.label();
    }
  }
  if (!topic.label().empty()) return topic.label();
  // A topic without the label the server gives: its term.
  return !topic.pt().empty()    ? topic.pt()
         : !topic.soc().empty() ? topic.soc()
                                : topic.overall_key();
}

Thresholds ThresholdsOf(const v1::SignalPolicy& policy) {
  auto in_force = [](double value, double fallback) {
    return value > 0 ? value : fallback;
  };
  const Thresholds defaults;
  return Thresholds{
      .alpha = in_force(policy.alpha(), defaults.alpha),
      .posterior = in_force(policy.posterior_threshold(), defaults.posterior),
      .fdr = in_force(policy.fdr(), defaults.fdr)};
}

const v1::DoseGroup* ControlGroup(const v1::Trial& trial) {
  for (const v1::DoseGroup& group : trial.dose_groups()) {
    if (group.control()) return &group;
  }
  return nullptr;
}

bool HasTrendGroups(const v1::Trial& trial) {
  return trial.dose_groups_size() >= 3;
}

std::vector<SignalMethod> SignalMethodsOf(const DsmbInputs& in) {
  const v1::SignalPolicy& policy = in.trial.signal_policy();
  const bool baselines = !in.baselines.empty();
  const bool control = ControlGroup(in.trial) != nullptr;
  const bool three_groups = HasTrendGroups(in.trial);
  const bool two_timepoints = in.trial.timepoints_size() >= 2;
  std::vector<SignalMethod> methods;
  auto add = [&](bool enabled, const char* name, bool applies,
                 const char* why_not) {
    if (enabled) methods.push_back({name, applies ? "" : why_not});
  };
  add(!policy.disable_binomial(), "exact binomial vs baseline", baselines,
      "no baselines loaded");
  add(!policy.disable_bayesian(), "Bayesian beta-binomial vs baseline",
      baselines, "no baselines loaded");
  add(!policy.disable_control(), "Fisher's exact vs control", control,
      "no control group");
  add(!policy.disable_trend(), "exact Cochran-Armitage dose trend",
      three_groups, "fewer than three dose groups");
  add(!policy.disable_over_time(), "increase over earlier windows",
      two_timepoints, "one timepoint");
  add(policy.maxsprt_planned_subjects() > 0, "Poisson MaxSPRT", baselines,
      "no baselines loaded");
  return methods;
}

std::vector<std::string> AppliedMethodNames(const DsmbInputs& in) {
  std::vector<std::string> names;
  for (const SignalMethod& method : SignalMethodsOf(in)) {
    if (method.not_applied.empty()) names.push_back(method.name);
  }
  return names;
}

std::string Number(double value, int digits) {
  if (!std::isfinite(value)) return value > 0 ? "inf" : "-";
  return absl::StrFormat("%.*g", digits, value);
}

}  // namespace internal

std::string PrintedTime(const google::protobuf::Timestamp& time) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ",
                          absl::FromUnixSeconds(time.seconds()),
                          absl::UTCTimeZone());
}

namespace {

using internal::Context;

constexpr char kHashOpen[] = "<code class=\"hash\">";
constexpr char kGeneratedOpen[] = "<span class=\"generated\">";

std::string Banner(const Context& context) {
  return context.closed ? "CLOSED SESSION \xE2\x80\x94 CONFIDENTIAL"
                        : "OPEN SESSION";
}

std::string SessionText(const Context& context) {
  if (!context.closed) return "Open, dose groups pooled";
  if (!context.coded) return "Closed, by dose group";
  if (context.key_fingerprint.empty()) {
    return "Closed, dose groups coded in the trial's order (a reader who "
           "knows the protocol can decode the letters)";
  }
  return absl::StrCat(
      "Closed, dose groups coded by the key with fingerprint ",
      context.key_fingerprint,
      " (the letters and columns do not follow the trial's order; the same "
      "key gives the same letters while the trial's dose groups stay the "
      "same)");
}

// The closed, uncoded report generated with a coding key holds the key:
// which code is which dose group.
std::string CodingKeyText(const Context& context) {
  if (context.coded || !context.closed || context.key_fingerprint.empty()) {
    return "";
  }
  std::vector<std::string> lines;
  for (const std::string& id : context.ids_by_code) {
    lines.push_back(
        absl::StrCat(context.codes.at(id), " = ", GroupName(context, id)));
  }
  return absl::StrCat("<dt>Key of the coded report</dt><dd>fingerprint ",
                      context.key_fingerprint, ": ",
                      HtmlEscape(absl::StrJoin(lines, "; ")), "</dd>\n");
}

std::string TitlePage(const Context& context) {
  const DsmbInputs& in = context.in;
  std::string html = absl::StrCat(
      "<section class=\"title-page\">\n<h1>Data Safety Monitoring Board "
      "report</h1>\n<p class=\"banner\">",
      HtmlEscape(Banner(context)), "</p>\n<dl>\n<dt>Trial</dt><dd>",
      HtmlEscape(in.trial.trial_id()), ": ", HtmlEscape(in.trial.title()),
      "</dd>\n<dt>Data cut-off</dt><dd>",
      HtmlEscape(PrintedTime(in.request.cutoff())), "</dd>\n");
  if (in.request.has_since()) {
    absl::StrAppend(&html, "<dt>Previous cut-off</dt><dd>",
                    HtmlEscape(PrintedTime(in.request.since())), "</dd>\n");
  }
  absl::StrAppend(
      &html, "<dt>Session</dt><dd>", SessionText(context), "</dd>\n",
      CodingKeyText(context), "<dt>Generated</dt><dd>", kGeneratedOpen,
      "</span></dd>\n<dt>Content hash</dt><dd>", kHashOpen,
      "</code></dd>\n</dl>\n<p class=\"note\">The content hash is "
      "the SHA-256 of the report's HTML file with the generation time "
      "and the hashes left out; <code>aesignal report verify "
      "FILE.html</code> recomputes it. Regenerating the report for this "
      "cut-off gives the same hash, which is how a printed or PDF copy "
      "is checked.</p>\n</section>\n");
  return html;
}

// Erases the contents of every element opened by `open` and closed by
// `close`; false if there is none.
bool BlankElements(std::string& html, const std::string& open,
                   const std::string& close) {
  bool found = false;
  for (size_t at = html.find(open); at != std::string::npos;
       at = html.find(open, at)) {
    const size_t begin = at + open.size();
    const size_t end = html.find(close, begin);
    if (end == std::string::npos) return false;
    html.erase(begin, end - begin);
    at = begin;
    found = true;
  }
  return found;
}

// Fills every element opened by `open` (empty in `html`) with `text`.
void FillElements(std::string& html, const std::string& open,
                  const std::string& text) {
  for (size_t at = html.find(open); at != std::string::npos;
       at = html.find(open, at + open.size() + text.size())) {
    html.insert(at + open.size(), text);
  }
}

std::string Sha256Hex(absl::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(),
         digest);
  std::string hex;
  for (const unsigned char byte : digest) {
    absl::StrAppend(&hex, absl::Hex(byte, absl::kZeroPad2));
  }
  return hex;
}

}  // namespace

absl::StatusOr<std::string> ContentHashOfHtml(absl::string_view html) {
  std::string content(html);
  if (!BlankElements(content, kHashOpen, "</code>") ||
      !BlankElements(content, kGeneratedOpen, "</span>")) {
    return absl::InvalidArgumentError(
        "not a DSMB report: no content-hash or generation-time element");
  }
  return absl::StrCat("sha256:", Sha256Hex(content));
}

absl::StatusOr<v1::DsmbReport> RenderDsmbReport(const DsmbInputs& inputs,
                                                absl::Time generate_time) {
  const Context context = internal::MakeContext(inputs);
  const std::string cutoff = PrintedTime(inputs.request.cutoff());
  Document document(
      absl::StrCat("DSMB report ", inputs.trial.trial_id(), " at ", cutoff),
      Banner(context));
  internal::AddStudyStatus(context, document);
  internal::AddAdverseEvents(context, document);
  internal::AddListings(context, document);
  internal::AddSignals(context, document);
  internal::AddFigures(context, document);
  internal::AddMethods(context, document);
  std::string html = document.Render(
      TitlePage(context),
      absl::StrCat(Banner(context), " \xC2\xB7 ", inputs.trial.trial_id(),
                   " \xC2\xB7 cut-off ", cutoff));
  absl::StatusOr<std::string> hash = ContentHashOfHtml(html);
  if (!hash.ok()) return hash.status();
  FillElements(html, kHashOpen, *hash);
  v1::DsmbReport report;
  report.mutable_generate_time()->set_seconds(
      absl::ToUnixSeconds(generate_time));
  FillElements(html, kGeneratedOpen,
               HtmlEscape(absl::StrCat(PrintedTime(report.generate_time()),
                                       " by ", inputs.source)));
  report.set_trial_id(inputs.trial.trial_id());
  *report.mutable_cutoff() = inputs.request.cutoff();
  report.set_session(inputs.request.session());
  report.set_content_hash(*hash);
  report.set_html(std::move(html));
  for (v1::DsmbTable& table : document.Csv()) {
    *report.add_tables() = std::move(table);
  }
  return report;
}

}  // namespace aesignal::report
