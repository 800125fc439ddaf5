#include "services/domain/trial_amendment.h"

#include <algorithm>
#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/util/message_differencer.h"
#include "services/domain/evaluate.h"
#include "services/domain/validation.h"
#include "services/errors/errors.h"

namespace aesignal::domain {
namespace {

using google::protobuf::util::MessageDifferencer;

constexpr const char* kAmendablePaths[] = {
    "title",          "dose_groups",     "timepoints",
    "sites",          "aesi_categories", "signal_policy",
    "meddra_version", "ctcae_version",   "grading"};
constexpr char kViolationType[] = "TRIAL_AMENDMENT";

// The mask's paths, "*" expanded; INVALID_ARGUMENT for an empty mask or a
// path that is not amendable.
absl::StatusOr<std::set<std::string>> MaskPaths(
    const v1::UpdateTrialRequest& request) {
  std::set<std::string> paths;
  std::vector<errors::FieldViolation> violations;
  const auto& mask = request.update_mask().paths();
  if (mask.empty()) {
    return errors::InvalidArgument(
        "update_mask",
        absl::StrCat("is required: name the fields to change (",
                     absl::StrJoin(kAmendablePaths, ", "), ", or *)"));
  }
  for (int i = 0; i < mask.size(); ++i) {
    if (mask[i] == "*") {
      paths.insert(std::begin(kAmendablePaths), std::end(kAmendablePaths));
    } else if (std::find(std::begin(kAmendablePaths), std::end(kAmendablePaths),
                         mask[i]) != std::end(kAmendablePaths)) {
      paths.insert(mask[i]);
    } else {
      violations.push_back(
          {absl::StrCat("update_mask.paths[", i, "]"),
           absl::StrCat("'", mask[i], "' cannot be amended; amendable: ",
                        absl::StrJoin(kAmendablePaths, ", "))});
    }
  }
  if (!violations.empty()) return errors::InvalidArgument(violations);
  return paths;
}

class AmendmentCheck {
 public:
  AmendmentCheck(const v1::Trial& stored, const v1::Trial& amended)
      : stored_(stored), amended_(amended) {}

  void DoseGroups() {
    const auto& before = stored_.dose_groups();
    const auto& after = amended_.dose_groups();
    for (int i = 0; i < before.size(); ++i) {
      const std::string path = absl::StrCat("trial.dose_groups[", i, "]");
      if (i >= after.size()) {
        Refuse(path, absl::StrCat("dose group '", before[i].dose_group_id(),
                                  "' cannot be removed: counts and subjects "
                                  "refer to it"));
        continue;
      }
      const v1::DoseGroup& a = before[i];
      const v1::DoseGroup& b = after[i];
      if (a.dose_group_id() != b.dose_group_id() ||
          a.dose_value() != b.dose_value() || a.dose_unit() != b.dose_unit() ||
          a.control() != b.control()) {
        Refuse(path, absl::StrCat("dose group '", a.dose_group_id(),
                                  "' must keep its position, id, dose and "
                                  "control flag (only its label may change); "
                                  "new groups go after the existing ones"));
      } else if (a.label() != b.label()) {
        Note(absl::StrCat("dose group ", a.dose_group_id(), " label '",
                          a.label(), "' -> '", b.label(), "'"));
      }
    }
    for (int i = before.size(); i < after.size(); ++i) {
      Note(absl::StrCat("dose group ", after[i].dose_group_id(), " added"));
    }
  }

  void Timepoints() {
    const auto& before = stored_.timepoints();
    const auto& after = amended_.timepoints();
    for (int i = 0; i < before.size(); ++i) {
      const std::string path = absl::StrCat("trial.timepoints[", i, "]");
      if (i >= after.size() ||
          before[i].timepoint_id() != after[i].timepoint_id() ||
          before[i].study_day() != after[i].study_day()) {
        Refuse(path, absl::StrCat("timepoint '", before[i].timepoint_id(),
                                  "' (day ", before[i].study_day(),
                                  ") must stay, with its id and study day: "
                                  "stored reports are counted in its window; "
                                  "new timepoints go after the last"));
      } else if (before[i].label() != after[i].label()) {
        Note(absl::StrCat("timepoint ", before[i].timepoint_id(), " label '",
                          before[i].label(), "' -> '", after[i].label(), "'"));
      }
    }
    for (int i = before.size(); i < after.size(); ++i) {
      Note(absl::StrCat("timepoint ", after[i].timepoint_id(), " (day ",
                        after[i].study_day(), ") added"));
    }
  }

  void Sites() {
    for (int i = 0; i < stored_.sites_size(); ++i) {
      const v1::Site& site = stored_.sites(i);
      auto it = std::find_if(
          amended_.sites().begin(), amended_.sites().end(),
          [&](const v1::Site& s) { return s.site_id() == site.site_id(); });
      if (it == amended_.sites().end()) {
        Refuse("trial.sites", absl::StrCat("site '", site.site_id(),
                                           "' cannot be removed: subjects and "
                                           "reports refer to it"));
      } else if (it->name() != site.name()) {
        Note(absl::StrCat("site ", site.site_id(), " name '", site.name(),
                          "' -> '", it->name(), "'"));
      }
    }
    for (const v1::Site& site : amended_.sites()) {
      if (!HasSite(stored_, site.site_id())) {
        Note(absl::StrCat("site ", site.site_id(), " added"));
      }
    }
  }

  void AesiCategories() {
    const auto& before = stored_.aesi_categories();
    const auto& after = amended_.aesi_categories();
    for (const std::string& c : before) {
      if (std::find(after.begin(), after.end(), c) == after.end()) {
        Refuse("trial.aesi_categories",
               absl::StrCat("AESI category '", c,
                            "' cannot be removed: reports carry it"));
      }
    }
    for (const std::string& c : after) {
      if (std::find(before.begin(), before.end(), c) == before.end()) {
        Note(absl::StrCat("AESI category ", c, " added"));
      }
    }
  }

  void Title() {
    if (stored_.title() != amended_.title()) {
      Note(absl::StrCat("title '", stored_.title(), "' -> '", amended_.title(),
                        "'"));
    }
  }

  // Dictionary versions are what reports print; recoding to a new version
  // is the sites' business (follow-up reports), so they may change freely.
  void DictionaryVersions() {
    if (stored_.meddra_version() != amended_.meddra_version()) {
      Note(absl::StrCat("MedDRA version '", stored_.meddra_version(), "' -> '",
                        amended_.meddra_version(), "'"));
    }
    if (stored_.ctcae_version() != amended_.ctcae_version()) {
      Note(absl::StrCat("CTCAE version '", stored_.ctcae_version(), "' -> '",
                        amended_.ctcae_version(), "'"));
    }
    if (stored_.grading() != amended_.grading()) {
      Note(absl::StrCat("grading '", stored_.grading(), "' -> '",
                        amended_.grading(), "'"));
    }
  }

  // Compared as in force: a policy sent back as GetTrial returned it (the
  // defaults filled in) is no change.
  void Policy() {
    const v1::SignalPolicy before = EffectivePolicy(stored_.signal_policy());
    const v1::SignalPolicy after = EffectivePolicy(amended_.signal_policy());
    if (!MessageDifferencer::Equals(before, after)) {
      Note(absl::StrCat("signal policy {", before.ShortDebugString(), "} -> {",
                        after.ShortDebugString(), "}"));
    }
  }

  absl::Status Result() const {
    if (refused_.empty()) return absl::OkStatus();
    return errors::FailedPrecondition(
        absl::StrCat("the amendment would invalidate stored data: ",
                     refused_.front().description),
        refused_);
  }
  bool Changed() const { return !changes_.empty(); }
  std::string Changes() const { return absl::StrJoin(changes_, "; "); }

 private:
  void Refuse(std::string subject, std::string description) {
    refused_.push_back(
        {kViolationType, std::move(subject), std::move(description)});
  }
  void Note(std::string change) { changes_.push_back(std::move(change)); }

  const v1::Trial& stored_;
  const v1::Trial& amended_;
  std::vector<errors::PreconditionViolation> refused_;
  std::vector<std::string> changes_;
};

}  // namespace

absl::StatusOr<std::string> AmendedTrialId(
    const v1::UpdateTrialRequest& request) {
  const v1::Trial& t = request.trial();
  if (t.name().empty() && t.trial_id().empty()) {
    return errors::InvalidArgument("trial.name",
                                   "is required (or trial.trial_id)");
  }
  if (t.name().empty()) return t.trial_id();
  AESIGNAL_ASSIGN_OR_RETURN(std::string id,
                            ParseTrialName(t.name(), "trial.name"));
  if (!t.trial_id().empty() && t.trial_id() != id) {
    return errors::InvalidArgument("trial.trial_id",
                                   "does not match trial.name");
  }
  return id;
}

absl::StatusOr<Amendment> AmendTrial(const v1::Trial& stored,
                                     const v1::UpdateTrialRequest& request) {
  AESIGNAL_ASSIGN_OR_RETURN(std::set<std::string> paths, MaskPaths(request));
  const v1::Trial& in = request.trial();
  v1::Trial amended = stored;
  if (paths.count("title")) amended.set_title(in.title());
  if (paths.count("dose_groups"))
    *amended.mutable_dose_groups() = in.dose_groups();
  if (paths.count("timepoints"))
    *amended.mutable_timepoints() = in.timepoints();
  if (paths.count("sites")) *amended.mutable_sites() = in.sites();
  if (paths.count("aesi_categories")) {
    *amended.mutable_aesi_categories() = in.aesi_categories();
    // A trial created without AESI categories gains its first ones.
    if (!amended.aesi_categories().empty()) amended.clear_no_aesi_categories();
  }
  if (paths.count("signal_policy")) {
    *amended.mutable_signal_policy() = in.signal_policy();
  }
  if (paths.count("meddra_version")) {
    amended.set_meddra_version(in.meddra_version());
  }
  if (paths.count("ctcae_version"))
    amended.set_ctcae_version(in.ctcae_version());
  if (paths.count("grading")) amended.set_grading(in.grading());
  AESIGNAL_ASSIGN_OR_RETURN(v1::Trial normalized,
                            ValidateAndNormalizeTrial(amended));
  AmendmentCheck check(stored, normalized);
  check.Title();
  check.DoseGroups();
  check.Timepoints();
  check.Sites();
  check.AesiCategories();
  check.Policy();
  check.DictionaryVersions();
  AESIGNAL_RETURN_IF_ERROR(check.Result());
  if (!check.Changed()) return Amendment{stored, /*changed=*/false, ""};
  *normalized.mutable_create_time() = stored.create_time();
  normalized.set_version(std::max<uint32_t>(stored.version(), 1) + 1);
  return Amendment{std::move(normalized), /*changed=*/true, check.Changes()};
}

}  // namespace aesignal::domain
