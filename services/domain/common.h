// Helpers shared by the monitor's parts (trials, ingest, incidence, signals).
// Internal to services/domain.
#ifndef AESIGNAL_SERVICES_DOMAIN_COMMON_H_
#define AESIGNAL_SERVICES_DOMAIN_COMMON_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "aesignal/v1/signal.pb.h"
#include "aesignal/v1/trial.pb.h"
#include "google/protobuf/message.h"
#include "google/protobuf/timestamp.pb.h"
#include "storage/incidence.h"
#include "storage/store.h"

namespace aesignal::domain::internal {

google::protobuf::Timestamp NowProto();

// page_size: 0 -> default_size, capped at max_size; negative is an error.
absl::StatusOr<int> PageSize(int requested, int default_size, int max_size,
                             const char* field);

// Page tokens (AIP-158): opaque, and bound to the request they continue. A
// token holds a format byte, a fingerprint of the request's type and of every
// field but page_size and page_token (so it continues only the same parent
// and filters), and the cursor where the next page starts.
std::string EncodePageToken(const google::protobuf::Message& request,
                            absl::string_view cursor);
// The cursor in request.page_token (which must not be empty):
// INVALID_ARGUMENT on `page_token` if the token is malformed or was issued
// for another request (another List, parent or filter).
absl::StatusOr<std::string> DecodePageToken(
    const google::protobuf::Message& request);

// The offset a page token of `request` continues at (0 without a token), for
// Lists whose pages are offsets into a ranked order: INVALID_ARGUMENT on
// `page_token` as DecodePageToken, or if the cursor is not an offset.
absl::StatusOr<size_t> PageOffset(const google::protobuf::Message& request);

// The id of every stored trial, in trial_id order.
absl::StatusOr<std::vector<std::string>> ReadTrialIds(
    const storage::ReadView& view);

template <typename Message>
absl::StatusOr<Message> Parse(std::string_view bytes, const char* what) {
  Message m;
  if (!m.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::DataLossError(absl::StrCat("corrupt stored ", what));
  }
  return m;
}

// The stored trial, or NOT_FOUND naming it.
absl::StatusOr<v1::Trial> LoadTrial(const storage::ReadView& view,
                                    const std::string& trial_id);

// Checks a request's data cut-off (`field`, e.g. "as_of"): INVALID_ARGUMENT
// if it is not a valid timestamp or lies in the future (data that have not
// arrived yet cannot be frozen: the answer would change as they arrive).
absl::Status CheckAsOf(const google::protobuf::Timestamp& as_of,
                       const char* field = "as_of");

// Each subject's newest version stored at or before `as_of` (from the
// subject history: update_time <= as_of), in subject_id order; subjects
// enrolled later are absent.
absl::StatusOr<std::vector<v1::Subject>> ReadSubjectsAsOf(
    const storage::ReadView& view, const std::string& trial_id,
    const google::protobuf::Timestamp& as_of);

// One subject's current version; nullopt if it is not enrolled.
absl::StatusOr<std::optional<v1::Subject>> ReadSubject(
    const storage::ReadView& view, const std::string& trial_id,
    const std::string& subject_id);

// Each subject's current version, in subject_id order.
absl::StatusOr<std::vector<v1::Subject>> ReadSubjects(
    const storage::ReadView& view, const std::string& trial_id);

// Each subject's dose group index, the group all its reports count in: of
// the current versions, or with `as_of` of the versions as of that cut-off
// (a dose group correction moves a subject's reports from then on).
absl::StatusOr<storage::SubjectGroups> ReadSubjectGroups(
    const storage::ReadView& view, const v1::Trial& trial,
    const std::optional<google::protobuf::Timestamp>& as_of = std::nullopt);
// The same from subjects already read; DATA_LOSS if a subject's group is not
// the trial's.
absl::StatusOr<storage::SubjectGroups> SubjectGroupsOf(
    const v1::Trial& trial, const std::vector<v1::Subject>& subjects);

// The last window in which each subject has an AE, by subject_id: a subject
// with an AE in a window has evidently been followed into it, even if its
// last contact day has not been updated yet.
using EventWindows = std::map<std::string, int>;
// From the maintained subject-term states of the any-AE row (live data).
absl::StatusOr<EventWindows> ReadLastEventWindows(const storage::ReadView& view,
                                                  const v1::Trial& trial);
// At a data cut-off they are counted from the report versions as of then,
// in the same pass as the table (incidence_derived.h CountAtCutOff).

// Denominators of one trial: subjects dosed per group, and subjects at risk
// per group x window (followed into the window: last contact on or after its
// first day, or an AE reported in it or later).
struct Denominators {
  std::vector<int64_t> dosed;    // per group
  std::vector<int64_t> at_risk;  // per group * num_windows + window
};
// The rule, pure, over a set of subjects and their last AE windows; live
// and cut-off queries share it. DATA_LOSS if a subject's group is not the
// trial's.
absl::StatusOr<Denominators> CountDenominators(
    const v1::Trial& trial, const std::vector<v1::Subject>& subjects,
    const EventWindows& last_event_window);
// The current denominators at one snapshot.
absl::StatusOr<Denominators> ReadDenominators(const storage::ReadView& view,
                                              const v1::Trial& trial);

// The audited change `action` of resource `name` at `version`, as a
// dirty mark and a signal name it.
v1::ChangeRef ChangeRefOf(const std::string& action, const std::string& name,
                          uint32_t version);

// Marks every term row of the trial that has counters for re-evaluation
// (after a change that moves every row's decisions: denominators, the
// design, the policy, or the set of pre-specified rows). `change` is the
// audited change that did it, which signals raised next name
// (Signal.raised_by_change); null for a recount or an upgrade.
absl::Status MarkAllTermsDirty(storage::Txn& txn, const std::string& trial_id,
                               const v1::ChangeRef* change);

}  // namespace aesignal::domain::internal

#endif  // AESIGNAL_SERVICES_DOMAIN_COMMON_H_
