#include "services/domain/validation.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/descriptor.h"
#include "services/signal/signal_stats.h"

namespace aesignal::domain {

namespace {

constexpr size_t kMaxIdLength = 64;
constexpr size_t kMaxReportIdLength = 128;
constexpr size_t kMaxTextLength = 500;
constexpr size_t kMaxWithdrawalReasonLength = 200;  // characters
constexpr size_t kMaxCorrectionReasonLength = 500;  // characters
constexpr size_t kMaxDictionaryVersionLength = 64;  // characters
constexpr size_t kMaxGradingLength = 200;           // characters
constexpr int kMaxMinCases = 1000;
constexpr int kMaxPlannedSubjectsPerGroup = 1000;
constexpr double kMaxPriorWeight = 1000;
// The smallest alpha a policy may set. MaxSPRT's critical value is found by
// bisection on its exact type I error, 1 - a sum of Poisson terms carried in
// double precision: at a level of 1e-15 the error it settles on is off by up
// to 56 %, and below ~1e-16 the search runs on rounding noise (critical
// values of 121 or 1724 whose true error is 0). Under trial-wide error
// control the level solved for is alpha / M, M the Bonferroni family's size;
// with alpha >= 1e-8 and up to 10^4 tests that level is >= 1e-12, where the
// error found is within 0.6 % of it for T up to 3000 expected events
// (docs/statistics.md, "Default signal policy").
constexpr double kMinAlpha = 1e-8;

bool IsTrialIdChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' ||
         c == '_' || c == '-';
}

// Printable ASCII or UTF-8 bytes; no control characters.
bool IsPrintable(absl::string_view s) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) return false;
  }
  return true;
}

// An identifier: 1..max bytes of printable UTF-8, no leading/trailing space and
// no '/' (identifiers appear in resource names).
std::string CheckId(absl::string_view id, size_t max_length) {
  if (id.empty()) return "is required";
  // Bytes: identifiers are parts of keys and resource names, and are ASCII
  // in practice; the message says bytes so that a non-ASCII id is not
  // refused with a count it does not have.
  if (id.size() > max_length) {
    return absl::StrCat("must be at most ", max_length, " bytes of UTF-8, got ",
                        id.size());
  }
  if (!IsPrintable(id)) return "must not contain control characters";
  if (id.front() == ' ' || id.back() == ' ') {
    return "must not start or end with a space";
  }
  if (absl::StrContains(id, '/')) return "must not contain '/'";
  return "";
}

std::string CheckText(absl::string_view text, bool required);

}  // namespace

std::string CheckTermName(absl::string_view name) {
  if (std::string why = CheckText(name, true); !why.empty()) return why;
  if (absl::StripAsciiWhitespace(name).empty()) return "must not be blank";
  if (name.front() == ' ' || name.back() == ' ') {
    return "must not start or end with a space (incidence rows are keyed by "
           "the exact name)";
  }
  return "";
}

namespace {

// The number of code points of `s` if it is valid UTF-8 (no overlong forms,
// surrogates or values past U+10FFFF), else nullopt.
std::optional<size_t> Utf8Length(absl::string_view s) {
  size_t count = 0;
  for (size_t i = 0; i < s.size(); ++count) {
    const auto lead = static_cast<unsigned char>(s[i]);
    const size_t n = lead < 0x80   ? 1
                     : lead < 0xC2 ? 0
                     : lead < 0xE0 ? 2
                     : lead < 0xF0 ? 3
                     : lead < 0xF5 ? 4
                                   : 0;
    if (n == 0 || i + n > s.size()) return std::nullopt;
    uint32_t cp = n == 1 ? lead : lead & (0xFF >> (n + 1));
    for (size_t k = 1; k < n; ++k) {
      const auto c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xC0) != 0x80) return std::nullopt;
      cp = (cp << 6) | (c & 0x3F);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (n == 4 && (cp < 0x10000 || cp > 0x10FFFF))) {
      return std::nullopt;
    }
    i += n;
  }
  return count;
}

// Free text printed as is (in DSMB reports, tables): valid UTF-8 of at most
// `max_chars` characters (code points, not bytes: a French or Japanese
// verbatim term is as long as it reads) and no control characters; empty
// is allowed.
std::string CheckPrintedText(absl::string_view text, size_t max_chars) {
  const std::optional<size_t> length = Utf8Length(text);
  if (!length.has_value()) return "must be valid UTF-8";
  if (*length > max_chars) {
    return absl::StrCat("must be at most ", max_chars, " characters, got ",
                        *length);
  }
  if (!IsPrintable(text)) return "must not contain control characters";
  return "";
}

// Names, labels and free text: at most kMaxTextLength characters.
std::string CheckText(absl::string_view text, bool required) {
  if (text.empty()) return required ? "is required" : "";
  return CheckPrintedText(text, kMaxTextLength);
}

bool IsAesiCategory(absl::string_view s) {
  if (s.empty() || s.size() > kMaxIdLength) return false;
  for (char c : s) {
    if (!(absl::ascii_islower(static_cast<unsigned char>(c)) ||
          absl::ascii_isdigit(static_cast<unsigned char>(c)) || c == '_')) {
      return false;
    }
  }
  return true;
}

void Add(std::vector<errors::FieldViolation>* v, std::string field,
         std::string why) {
  if (!why.empty()) v->push_back({std::move(field), std::move(why)});
}

// The signal policy. Zero fields (and, as EffectivePolicy reads them,
// negative ones) take the defaults; a value that is set must be one the
// signal evaluator can use: the levels alpha, posterior_threshold and fdr are
// probabilities below 1 (NaN is not). Found by fuzz_trial_json: a trial with
// alpha >= 1 was accepted and the evaluator then failed on its rows with a
// baseline (MaxSPRT needs alpha in (0, 1)); a failing row ends every
// evaluation round there, so trials after it got no signals any more
// (tests/fuzz/regressions/fuzz_trial_json/policy_alpha_1_with_maxsprt.json).
void CheckPolicy(const v1::SignalPolicy& p,
                 std::vector<errors::FieldViolation>* v) {
  const auto level = [&](const char* field, double value,
                         const char* default_value) {
    if (!(value < 1)) {
      v->push_back({absl::StrCat("trial.signal_policy.", field),
                    absl::StrCat("must be a probability below 1 (0 for the "
                                 "default ",
                                 default_value, "), got ", value)});
    }
  };
  level("alpha", p.alpha(), "0.05");
  if (p.alpha() > 0 && p.alpha() < kMinAlpha) {
    v->push_back({"trial.signal_policy.alpha",
                  absl::StrCat("must be at least ", kMinAlpha,
                               " (0 for the default 0.05), got ", p.alpha())});
  }
  level("posterior_threshold", p.posterior_threshold(), "0.95");
  level("fdr", p.fdr(), "0.05");
  // The Bayesian prior is w x (the baseline's source sample); w = 1e308 or
  // Infinity made it non-finite and the evaluator failed ("posterior:
  // non-finite result") as for alpha above. Found with a hand-written input
  // to fuzz_trial_json (tests/fuzz/regressions/fuzz_trial_json/
  // policy_prior_weight_1e308.json).
  if (!(p.prior_weight() <= kMaxPriorWeight)) {
    v->push_back(
        {"trial.signal_policy.prior_weight",
         absl::StrCat("must be at most ", kMaxPriorWeight,
                      " (0 for the default 0.5), got ", p.prior_weight())});
  }
  // MaxSPRT's critical value takes time and memory linear in min_cases (per
  // bisection step): min_cases 37777777 kept the evaluator busy for minutes
  // and 2^31 - 1 asks for 16 GiB. Found by fuzz_trial_json
  // (tests/fuzz/regressions/fuzz_trial_json/
  // policy_min_cases_37777777_maxsprt_hangs.json). No cell of a monitored
  // cohort needs more than kMaxMinCases cases to flag.
  if (p.min_cases() > kMaxMinCases) {
    v->push_back({"trial.signal_policy.min_cases",
                  absl::StrCat("must be at most ", kMaxMinCases, ", got ",
                               p.min_cases())});
  }
  if (!v1::ErrorControl_IsValid(p.error_control())) {
    v->push_back({"trial.signal_policy.error_control",
                  errors::NotAnEnumValue(p.error_control(),
                                         *v1::ErrorControl_descriptor())});
  }
  // The repeated-look boundary is calibrated over every planned subject
  // (boundary.h bounds N, the total being groups x this).
  if (p.planned_subjects_per_group() > kMaxPlannedSubjectsPerGroup) {
    v->push_back({"trial.signal_policy.planned_subjects_per_group",
                  absl::StrCat("must be at most ", kMaxPlannedSubjectsPerGroup,
                               " (0: no repeated-look boundary), got ",
                               p.planned_subjects_per_group())});
  }
}

// MaxSPRT's end of surveillance is T = p0 x maxsprt_planned_subjects for a
// group and that times the dose groups for the total. The signal module
// computes critical values for T <= signal::kMaxSprtBound only: a plan that
// could pass it (p0 <= 1) was accepted and then failed every evaluation of
// the trial's rows with a baseline.
void CheckMaxSprtPlan(const v1::Trial& trial,
                      std::vector<errors::FieldViolation>* v) {
  const int64_t planned = trial.signal_policy().maxsprt_planned_subjects();
  const int64_t groups = std::max(1, trial.dose_groups_size());
  if (planned > 0 &&
      static_cast<double>(planned * groups) > signal::kMaxSprtBound) {
    v->push_back(
        {"trial.signal_policy.maxsprt_planned_subjects",
         absl::StrCat("times the ", groups, " dose groups must be at most ",
                      static_cast<int64_t>(signal::kMaxSprtBound),
                      " (MaxSPRT's end of surveillance, p0 x the "
                      "planned subjects, is computed up to that), got ",
                      planned, " x ", groups)});
  }
}

Rejection Reject(std::string field, std::string reason,
                 absl::StatusCode code = absl::StatusCode::kInvalidArgument) {
  return Rejection{.code = code,
                   .field = std::move(field),
                   .reason = std::move(reason),
                   .also = {}};
}

}  // namespace

const std::vector<std::string>& DefaultAesiCategories() {
  static const auto* kDefault = new std::vector<std::string>{
      "infection", "thromboembolism", "malignancy", "infusion_reaction"};
  return *kDefault;
}

std::string TrialName(absl::string_view trial_id) {
  return absl::StrCat("trials/", trial_id);
}

absl::StatusOr<std::string> ParseTrialName(absl::string_view name,
                                           absl::string_view field) {
  constexpr absl::string_view kPrefix = "trials/";
  if (!absl::StartsWith(name, kPrefix) || name.size() == kPrefix.size()) {
    return errors::InvalidArgument(
        std::string(field),
        absl::StrCat("must be a trial resource name 'trials/{trial_id}', got '",
                     name, "'"));
  }
  std::string id(name.substr(kPrefix.size()));
  for (char c : id) {
    if (!IsTrialIdChar(c)) {
      return errors::InvalidArgument(
          std::string(field), "trial_id may contain only [A-Za-z0-9._-]");
    }
  }
  return id;
}

namespace {

void CheckTrialId(const std::string& id,
                  std::vector<errors::FieldViolation>* v) {
  if (id.empty()) {
    Add(v, "trial.trial_id", "is required");
  } else if (id.size() > kMaxIdLength) {
    Add(v, "trial.trial_id", "must be at most 64 characters");
  } else if (!std::all_of(id.begin(), id.end(), IsTrialIdChar)) {
    Add(v, "trial.trial_id", "may contain only [A-Za-z0-9._-]");
  }
}

void CheckDoseGroups(const v1::Trial& trial,
                     std::vector<errors::FieldViolation>* v) {
  if (trial.dose_groups().empty()) {
    Add(v, "trial.dose_groups", "at least one dose group is required");
  }
  if (trial.dose_groups_size() > kMaxDoseGroups) {
    Add(v, "trial.dose_groups",
        absl::StrCat("at most ", kMaxDoseGroups, " dose groups"));
  }
  std::set<std::string> seen;
  for (int i = 0; i < trial.dose_groups_size(); ++i) {
    const auto& g = trial.dose_groups(i);
    const std::string path = absl::StrCat("trial.dose_groups[", i, "]");
    Add(v, path + ".dose_group_id", CheckId(g.dose_group_id(), kMaxIdLength));
    if (!g.dose_group_id().empty() && !seen.insert(g.dose_group_id()).second) {
      Add(v, path + ".dose_group_id", "duplicate dose_group_id");
    }
    Add(v, path + ".label", CheckText(g.label(), false));
    Add(v, path + ".dose_unit", CheckText(g.dose_unit(), false));
    if (!std::isfinite(g.dose_value()) || g.dose_value() < 0) {
      Add(v, path + ".dose_value", "must be a finite number >= 0");
    }
  }
}

void CheckTimepoints(const v1::Trial& trial,
                     std::vector<errors::FieldViolation>* v) {
  if (trial.timepoints().empty()) {
    Add(v, "trial.timepoints", "at least one timepoint is required");
  }
  if (trial.timepoints_size() > kMaxTimepoints) {
    Add(v, "trial.timepoints",
        absl::StrCat("at most ", kMaxTimepoints, " timepoints"));
  }
  std::set<std::string> seen;
  int previous_day = 0;
  for (int i = 0; i < trial.timepoints_size(); ++i) {
    const auto& t = trial.timepoints(i);
    const std::string path = absl::StrCat("trial.timepoints[", i, "]");
    Add(v, path + ".timepoint_id", CheckId(t.timepoint_id(), kMaxIdLength));
    if (!t.timepoint_id().empty() && !seen.insert(t.timepoint_id()).second) {
      Add(v, path + ".timepoint_id", "duplicate timepoint_id");
    }
    Add(v, path + ".label", CheckText(t.label(), false));
    if (t.study_day() <= previous_day) {
      Add(v, path + ".study_day",
          absl::StrCat("must be greater than ", previous_day,
                       i == 0 ? " (day 1 is the day of first dose)"
                              : " (timepoints must be in increasing study_day "
                                "order)"));
    }
    previous_day = std::max(previous_day, t.study_day());
  }
}

void CheckSites(const v1::Trial& trial,
                std::vector<errors::FieldViolation>* v) {
  if (trial.sites().empty()) {
    Add(v, "trial.sites", "at least one site is required");
  }
  std::set<std::string> seen;
  for (int i = 0; i < trial.sites_size(); ++i) {
    const std::string path = absl::StrCat("trial.sites[", i, "]");
    Add(v, path + ".site_id", CheckId(trial.sites(i).site_id(), kMaxIdLength));
    if (!trial.sites(i).site_id().empty() &&
        !seen.insert(trial.sites(i).site_id()).second) {
      Add(v, path + ".site_id", "duplicate site_id");
    }
    Add(v, path + ".name", CheckText(trial.sites(i).name(), false));
  }
}

void CheckAesiCategories(const v1::Trial& trial,
                         std::vector<errors::FieldViolation>* v) {
  std::set<std::string> seen;
  for (int i = 0; i < trial.aesi_categories_size(); ++i) {
    const std::string& c = trial.aesi_categories(i);
    const std::string path = absl::StrCat("trial.aesi_categories[", i, "]");
    if (!IsAesiCategory(c)) {
      Add(v, path, "must be 1-64 characters of [a-z0-9_]");
    } else if (!seen.insert(c).second) {
      Add(v, path, "duplicate category");
    }
  }
}

}  // namespace

absl::StatusOr<v1::Trial> ValidateAndNormalizeTrial(const v1::Trial& in) {
  std::vector<errors::FieldViolation> v;
  v1::Trial trial = in;
  trial.clear_create_time();  // output only
  trial.clear_version();
  trial.clear_update_time();
  CheckTrialId(trial.trial_id(), &v);
  trial.set_name(TrialName(trial.trial_id()));
  Add(&v, "trial.title", CheckText(trial.title(), /*required=*/true));
  CheckDoseGroups(trial, &v);
  CheckTimepoints(trial, &v);
  CheckSites(trial, &v);
  if (trial.no_aesi_categories()) {
    if (!trial.aesi_categories().empty()) {
      v.push_back({"trial.no_aesi_categories",
                   "must be false when aesi_categories are given"});
    }
  } else if (trial.aesi_categories().empty()) {
    for (const auto& c : DefaultAesiCategories()) trial.add_aesi_categories(c);
  }
  CheckAesiCategories(trial, &v);
  CheckPolicy(trial.signal_policy(), &v);
  CheckMaxSprtPlan(trial, &v);
  Add(&v, "trial.meddra_version",
      CheckPrintedText(trial.meddra_version(), kMaxDictionaryVersionLength));
  Add(&v, "trial.ctcae_version",
      CheckPrintedText(trial.ctcae_version(), kMaxDictionaryVersionLength));
  Add(&v, "trial.grading",
      CheckPrintedText(trial.grading(), kMaxGradingLength));
  if (!v.empty()) return errors::InvalidArgument(v);
  return trial;
}

int DoseGroupIndex(const v1::Trial& trial, absl::string_view id) {
  for (int i = 0; i < trial.dose_groups_size(); ++i) {
    if (trial.dose_groups(i).dose_group_id() == id) return i;
  }
  return -1;
}

int TimepointIndex(const v1::Trial& trial, absl::string_view id) {
  for (int i = 0; i < trial.timepoints_size(); ++i) {
    if (trial.timepoints(i).timepoint_id() == id) return i;
  }
  return -1;
}

std::optional<errors::FieldViolation> UnknownDoseGroupFilter(
    const v1::Trial& trial, absl::string_view dose_group_id) {
  if (dose_group_id.empty() || DoseGroupIndex(trial, dose_group_id) >= 0) {
    return std::nullopt;
  }
  return errors::FieldViolation{"dose_group_id",
                                "is not a dose group of the trial"};
}

std::optional<errors::FieldViolation> UnknownTimepointFilter(
    const v1::Trial& trial, absl::string_view timepoint_id) {
  if (timepoint_id.empty() || TimepointIndex(trial, timepoint_id) >= 0) {
    return std::nullopt;
  }
  return errors::FieldViolation{"timepoint_id",
                                "is not a timepoint of the trial"};
}

bool HasSite(const v1::Trial& trial, absl::string_view site_id) {
  for (const auto& s : trial.sites()) {
    if (s.site_id() == site_id) return true;
  }
  return false;
}

namespace {

void AppendEnumViolations(const google::protobuf::Message& message,
                          const std::string& prefix,
                          std::vector<errors::FieldViolation>* violations) {
  using google::protobuf::FieldDescriptor;
  const google::protobuf::Reflection& reflection = *message.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  reflection.ListFields(message, &fields);
  for (const FieldDescriptor* field : fields) {
    const int count =
        field->is_repeated() ? reflection.FieldSize(message, field) : 1;
    for (int i = 0; i < count; ++i) {
      const std::string path =
          absl::StrCat(prefix, field->name(),
                       field->is_repeated() ? absl::StrCat("[", i, "]") : "");
      if (field->type() == FieldDescriptor::TYPE_MESSAGE && !field->is_map()) {
        AppendEnumViolations(
            field->is_repeated()
                ? reflection.GetRepeatedMessage(message, field, i)
                : reflection.GetMessage(message, field),
            path + ".", violations);
      } else if (field->type() == FieldDescriptor::TYPE_ENUM) {
        const int value =
            field->is_repeated()
                ? reflection.GetRepeatedEnumValue(message, field, i)
                : reflection.GetEnumValue(message, field);
        const google::protobuf::EnumDescriptor& type = *field->enum_type();
        if (type.FindValueByNumber(value) != nullptr) continue;
        violations->push_back({path, errors::NotAnEnumValue(value, type)});
      }
    }
  }
}

}  // namespace

absl::Status CheckEnumValues(const google::protobuf::Message& request) {
  std::vector<errors::FieldViolation> violations;
  AppendEnumViolations(request, "", &violations);
  if (violations.empty()) return absl::OkStatus();
  return errors::InvalidArgument(violations);
}

int WindowOfDay(const v1::Trial& trial, int study_day) {
  for (int i = 0; i < trial.timepoints_size(); ++i) {
    if (study_day <= trial.timepoints(i).study_day()) return i;
  }
  return -1;
}

void ValidateSubject(const v1::Trial& trial, const v1::Subject& s,
                     const std::string& path,
                     std::vector<errors::FieldViolation>* v) {
  Add(v, path + ".subject_id", CheckId(s.subject_id(), kMaxIdLength));
  if (s.site_id().empty()) {
    Add(v, path + ".site_id", "is required");
  } else if (!HasSite(trial, s.site_id())) {
    Add(v, path + ".site_id",
        absl::StrCat("site '", s.site_id(), "' is not a site of trial ",
                     trial.trial_id()));
  }
  if (s.dose_group_id().empty()) {
    Add(v, path + ".dose_group_id", "is required");
  } else if (DoseGroupIndex(trial, s.dose_group_id()) < 0) {
    Add(v, path + ".dose_group_id",
        absl::StrCat("dose group '", s.dose_group_id(),
                     "' is not a dose group of trial ", trial.trial_id()));
  }
  if (s.last_contact_day() == 0) {  // proto3: not given
    Add(v, path + ".last_contact_day",
        "is required: the subject's last study day of follow-up, >= 1 "
        "(day 1 = first dose)");
  } else if (s.last_contact_day() < 1) {
    Add(v, path + ".last_contact_day",
        absl::StrCat("must be >= 1 (day 1 = first dose), got ",
                     s.last_contact_day()));
  }
  if (!v1::FollowUpStatus_IsValid(s.status())) {
    Add(v, path + ".status",
        errors::NotAnEnumValue(s.status(), *v1::FollowUpStatus_descriptor()));
  }
  if (!s.withdrawal_reason().empty()) {
    Add(v, path + ".withdrawal_reason",
        s.status() != v1::FOLLOW_UP_STATUS_WITHDRAWN
            ? "is only allowed with status FOLLOW_UP_STATUS_WITHDRAWN"
            : CheckPrintedText(s.withdrawal_reason(),
                               kMaxWithdrawalReasonLength));
  }
  // Whether this version is a correction needs the stored one
  // (CheckReenrollment); here only the text itself.
  if (!s.correction_reason().empty()) {
    Add(v, path + ".correction_reason",
        absl::StripAsciiWhitespace(s.correction_reason()).empty()
            ? "must not be blank"
            : CheckPrintedText(s.correction_reason(),
                               kMaxCorrectionReasonLength));
  }
}

namespace {

// A report's field name under `path`, e.g. "reports[3].grade".
class FieldNames {
 public:
  explicit FieldNames(const std::string& path) : path_(path) {}
  std::string operator()(absl::string_view field) const {
    return absl::StrCat(path_, ".", field);
  }

 private:
  const std::string& path_;
};

// Who and where: ids, version, site, subject and (if given) dose group.
// Sets valid->dose_group.
std::optional<Rejection> CheckReportIds(const v1::Trial& trial,
                                        const v1::AdverseEventReport& r,
                                        const FieldNames& f,
                                        ValidReport* valid) {
  if (std::string why = CheckId(r.report_id(), kMaxReportIdLength);
      !why.empty()) {
    return Reject(f("report_id"), why);
  }
  if (r.version() < 1) return Reject(f("version"), "must be >= 1");
  if (r.site_id().empty()) return Reject(f("site_id"), "is required");
  if (!HasSite(trial, r.site_id())) {
    return Reject(f("site_id"),
                  absl::StrCat("site '", r.site_id(),
                               "' is not a site of trial ", trial.trial_id()),
                  absl::StatusCode::kNotFound);
  }
  if (std::string why = CheckId(r.subject_id(), kMaxIdLength); !why.empty()) {
    return Reject(f("subject_id"), why);
  }
  if (!r.dose_group_id().empty()) {
    valid->dose_group = DoseGroupIndex(trial, r.dose_group_id());
    if (valid->dose_group < 0) {
      return Reject(
          f("dose_group_id"),
          absl::StrCat("dose group '", r.dose_group_id(),
                       "' is not a dose group of trial ", trial.trial_id()),
          absl::StatusCode::kNotFound);
    }
  }
  return std::nullopt;
}

// The onset: a study day, a timepoint, or both (which must agree). Sets
// valid->window.
std::optional<Rejection> CheckOnset(const v1::Trial& trial,
                                    const v1::AdverseEventReport& r,
                                    const FieldNames& f, ValidReport* valid) {
  int window_of_timepoint = -1;
  if (!r.timepoint_id().empty()) {
    window_of_timepoint = TimepointIndex(trial, r.timepoint_id());
    if (window_of_timepoint < 0) {
      return Reject(
          f("timepoint_id"),
          absl::StrCat("timepoint '", r.timepoint_id(),
                       "' is not a timepoint of trial ", trial.trial_id()),
          absl::StatusCode::kNotFound);
    }
  }
  if (!r.has_onset_study_day()) {
    if (window_of_timepoint < 0) {
      return Reject(f("onset_study_day"),
                    "onset_study_day or timepoint_id is required");
    }
    valid->window = window_of_timepoint;
    return std::nullopt;
  }
  const int day = r.onset_study_day();
  if (day < 1) {
    return Reject(f("onset_study_day"),
                  absl::StrCat("must be >= 1 (day 1 = first dose; only "
                               "treatment-emergent AEs are monitored), got ",
                               day));
  }
  valid->window = WindowOfDay(trial, day);
  if (valid->window < 0) {
    const auto& last = trial.timepoints(trial.timepoints_size() - 1);
    return Reject(
        f("onset_study_day"),
        absl::StrCat("day ", day, " is after the last timepoint (",
                     last.timepoint_id(), ", day ", last.study_day(), ")"));
  }
  if (window_of_timepoint >= 0 && window_of_timepoint != valid->window) {
    const int from =
        window_of_timepoint == 0
            ? 1
            : trial.timepoints(window_of_timepoint - 1).study_day() + 1;
    return Reject(
        f("onset_study_day"),
        absl::StrCat("day ", day, " is outside the window of timepoint ",
                     r.timepoint_id(), " (days ", from, "-",
                     trial.timepoints(window_of_timepoint).study_day(), ")"));
  }
  return std::nullopt;
}

// The end (resolution) day, if given, is not before the onset: the onset
// day, or without one the first day of the onset's window (valid->window,
// set by CheckOnset).
std::optional<Rejection> CheckEnd(const v1::Trial& trial,
                                  const v1::AdverseEventReport& r,
                                  const FieldNames& f,
                                  const ValidReport& valid) {
  if (!r.has_end_study_day()) return std::nullopt;
  const int onset = r.has_onset_study_day() ? r.onset_study_day()
                    : valid.window == 0
                        ? 1
                        : trial.timepoints(valid.window - 1).study_day() + 1;
  if (r.end_study_day() >= onset) return std::nullopt;
  return Reject(
      f("end_study_day"),
      absl::StrCat("day ", r.end_study_day(), " is before the onset (day ",
                   onset, r.has_onset_study_day() ? "" : ", its window's first",
                   ")"));
}

// What happened: the MedDRA terms and the verbatim term.
std::optional<Rejection> CheckTerms(const v1::AdverseEventReport& r,
                                    const FieldNames& f) {
  if (std::string why = CheckTermName(r.pt()); !why.empty()) {
    return Reject(f("pt"), why);
  }
  if (!r.pt_code().empty()) {
    const bool digits =
        r.pt_code().size() == 8 &&
        std::all_of(r.pt_code().begin(), r.pt_code().end(), [](char c) {
          return absl::ascii_isdigit(static_cast<unsigned char>(c));
        });
    if (!digits) return Reject(f("pt_code"), "must be an 8-digit MedDRA code");
  }
  if (std::string why = CheckTermName(r.soc()); !why.empty()) {
    return Reject(f("soc"), why);
  }
  if (std::string why = CheckText(r.verbatim_term(), false); !why.empty()) {
    return Reject(f("verbatim_term"), why);
  }
  return std::nullopt;
}

// How bad: grade, seriousness and the coded assessments.
std::optional<Rejection> CheckSeverity(const v1::AdverseEventReport& r,
                                       const FieldNames& f) {
  if (r.grade() == 0) {
    // Unset (proto3: 0 is absent), as an empty CSV cell or a JSON report
    // without it reads; "got 0" would blame the sender for a value they
    // never gave.
    return Reject(f("grade"), "is required: the CTCAE grade, 1-5");
  }
  if (r.grade() < 1 || r.grade() > 5) {
    return Reject(f("grade"),
                  absl::StrCat("must be 1-5 (CTCAE), got ", r.grade()));
  }
  const bool any_criterion = r.death() || r.life_threatening() ||
                             r.hospitalization() || r.disability() ||
                             r.congenital_anomaly() || r.medically_important();
  if (any_criterion && !r.serious()) {
    return Reject(f("serious"),
                  "must be true when a seriousness criterion is set");
  }
  if (!v1::Relatedness_IsValid(r.relatedness())) {
    return Reject(
        f("relatedness"),
        errors::NotAnEnumValue(r.relatedness(), *v1::Relatedness_descriptor()));
  }
  if (!v1::Outcome_IsValid(r.outcome())) {
    return Reject(f("outcome"), errors::NotAnEnumValue(
                                    r.outcome(), *v1::Outcome_descriptor()));
  }
  if (!v1::ActionTaken_IsValid(r.action_taken())) {
    return Reject(f("action_taken"),
                  errors::NotAnEnumValue(r.action_taken(),
                                         *v1::ActionTaken_descriptor()));
  }
  return std::nullopt;
}

// Each AESI category named once, and one of the trial's.
std::optional<Rejection> CheckAesi(const v1::Trial& trial,
                                   const v1::AdverseEventReport& r,
                                   const FieldNames& f) {
  std::set<std::string> aesi;
  for (int i = 0; i < r.aesi_size(); ++i) {
    const std::string& c = r.aesi(i);
    const bool known = std::find(trial.aesi_categories().begin(),
                                 trial.aesi_categories().end(),
                                 c) != trial.aesi_categories().end();
    if (!known) {
      return Reject(
          absl::StrCat(f("aesi"), "[", i, "]"),
          absl::StrCat("'", c, "' is not an AESI category of trial ",
                       trial.trial_id(), " (",
                       trial.aesi_categories().empty()
                           ? "it has none"
                           : absl::StrJoin(trial.aesi_categories(), ", "),
                       ")"),
          // A reference the trial does not have, as an unknown site or
          // timepoint is (REFERENCE_NOT_FOUND, docs/api.md).
          absl::StatusCode::kNotFound);
    }
    if (!aesi.insert(c).second) {
      return Reject(absl::StrCat(f("aesi"), "[", i, "]"), "duplicate category");
    }
  }
  return std::nullopt;
}

// A withdrawal says why, and only a withdrawal carries a reason.
std::optional<Rejection> CheckEnteredInError(const v1::AdverseEventReport& r,
                                             const FieldNames& f) {
  const std::string& reason = r.entered_in_error_reason();
  if (!r.entered_in_error()) {
    if (reason.empty()) return std::nullopt;
    return Reject(f("entered_in_error_reason"),
                  "is only for a version with entered_in_error set");
  }
  if (absl::StripAsciiWhitespace(reason).empty()) {
    return Reject(f("entered_in_error_reason"),
                  "is required with entered_in_error: why the report is "
                  "withdrawn");
  }
  if (std::string why = CheckText(reason, true); !why.empty()) {
    return Reject(f("entered_in_error_reason"), why);
  }
  return std::nullopt;
}

}  // namespace

std::variant<ValidReport, Rejection> ValidateReport(
    const v1::Trial& trial, const v1::AdverseEventReport& r,
    const std::string& path) {
  const FieldNames f(path);
  ValidReport valid;
  std::optional<Rejection> onset = CheckOnset(trial, r, f, &valid);
  if (!onset) onset = CheckEnd(trial, r, f, valid);  // needs the window
  std::optional<Rejection> rejection;
  for (const std::optional<Rejection>& found :
       {CheckReportIds(trial, r, f, &valid), std::move(onset), CheckTerms(r, f),
        CheckSeverity(r, f), CheckAesi(trial, r, f),
        CheckEnteredInError(r, f)}) {
    if (!found) continue;
    if (!rejection) {
      rejection = found;
    } else {
      rejection->also.push_back({found->field, found->reason});
    }
  }
  if (rejection) return *std::move(rejection);
  return valid;
}

}  // namespace aesignal::domain
