#include "services/domain/common.h"

#include <algorithm>
#include <map>
#include <memory>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/util/time_util.h"
#include "services/domain/incidence_rows.h"
#include "services/domain/validation.h"
#include "services/errors/errors.h"
#include "storage/incidence.h"
#include "storage/keys.h"
#include "storage/reports.h"
#include "storage/signals.h"

namespace aesignal::domain::internal {

using storage::Cf;

absl::StatusOr<v1::Trial> LoadTrial(const storage::ReadView& view,
                                    const std::string& trial_id) {
  auto bytes = view.Get(Cf::kTrials, storage::TrialKey(trial_id));
  if (!bytes.ok()) return bytes.status();
  if (!bytes->has_value()) {
    // ResourceInfo names the resource by its full name (AIP-193).
    return errors::NotFound("trial", absl::StrCat("trials/", trial_id));
  }
  return Parse<v1::Trial>(**bytes, "trial");
}

google::protobuf::Timestamp NowProto() {
  return google::protobuf::util::TimeUtil::NanosecondsToTimestamp(
      absl::ToUnixNanos(absl::Now()));
}

absl::StatusOr<int> PageSize(int requested, int default_size, int max_size,
                             const char* field) {
  if (requested < 0)
    return errors::InvalidArgument(std::string(field), "must be >= 0");
  if (requested == 0) return default_size;
  return std::min(requested, max_size);
}

namespace {

// Format 2 added the check bytes: format-1 tokens (from before the upgrade)
// are refused as not issued, and a client starts its listing again.
constexpr char kPageTokenFormat = 2;
constexpr size_t kFingerprintBytes = 8;
constexpr size_t kCheckBytes = 4;

// FNV-1a, 64 bits: stable across processes and builds (absl::Hash is not).
uint64_t Fnv1a(absl::string_view bytes, uint64_t hash = 14695981039346656037u) {
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 1099511628211u;
  }
  return hash;
}

// The low `n` bytes of `hash`, least significant first.
std::string HashBytes(uint64_t hash, size_t n) {
  std::string bytes(n, '\0');
  for (size_t i = 0; i < n; ++i) bytes[i] = static_cast<char>(hash >> (8 * i));
  return bytes;
}

// The check bytes of a token's fingerprint and cursor: a token altered
// anywhere (a flipped byte, a cursor edited by hand) is refused instead of
// listing from wherever its cursor now points. Not a signature: tokens grant
// nothing, each List still reads only what the caller's role allows.
std::string CheckOf(absl::string_view fingerprint, absl::string_view cursor) {
  return HashBytes(Fnv1a(cursor, Fnv1a(fingerprint, Fnv1a("page token"))),
                   kCheckBytes);
}

// The request's type and its fields other than page_size and page_token.
std::string RequestFingerprint(const google::protobuf::Message& request) {
  std::unique_ptr<google::protobuf::Message> rest(request.New());
  rest->CopyFrom(request);
  const auto* descriptor = rest->GetDescriptor();
  for (const char* field : {"page_size", "page_token"}) {
    if (const auto* f = descriptor->FindFieldByName(field)) {
      rest->GetReflection()->ClearField(rest.get(), f);
    }
  }
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream out(&bytes);
    google::protobuf::io::CodedOutputStream coded(&out);
    coded.SetSerializationDeterministic(true);
    rest->SerializeToCodedStream(&coded);
  }
  return HashBytes(Fnv1a(bytes, Fnv1a(descriptor->full_name())),
                   kFingerprintBytes);
}

absl::Status NotIssued() {
  return errors::InvalidArgument("page_token",
                                 "is not a token this server issued");
}

}  // namespace

std::string EncodePageToken(const google::protobuf::Message& request,
                            absl::string_view cursor) {
  const std::string fingerprint = RequestFingerprint(request);
  return absl::WebSafeBase64Escape(
      absl::StrCat(std::string(1, kPageTokenFormat), fingerprint,
                   CheckOf(fingerprint, cursor), cursor));
}

absl::StatusOr<std::string> DecodePageToken(
    const google::protobuf::Message& request) {
  const auto* field = request.GetDescriptor()->FindFieldByName("page_token");
  if (field == nullptr) return NotIssued();
  const std::string token = request.GetReflection()->GetString(request, field);
  std::string bytes;
  constexpr size_t kHeader = 1 + kFingerprintBytes + kCheckBytes;
  if (!absl::WebSafeBase64Unescape(token, &bytes) || bytes.size() <= kHeader ||
      bytes[0] != kPageTokenFormat) {
    return NotIssued();
  }
  const absl::string_view fingerprint =
      absl::string_view(bytes).substr(1, kFingerprintBytes);
  const absl::string_view cursor = absl::string_view(bytes).substr(kHeader);
  if (bytes.compare(1 + kFingerprintBytes, kCheckBytes,
                    CheckOf(fingerprint, cursor)) != 0) {
    return NotIssued();
  }
  if (fingerprint != RequestFingerprint(request)) {
    return errors::InvalidArgument(
        "page_token",
        "was issued for a different request: keep the parent and every "
        "filter of the first page while paging");
  }
  return std::string(cursor);
}

absl::Status CheckAsOf(const google::protobuf::Timestamp& as_of,
                       const char* field) {
  using google::protobuf::util::TimeUtil;
  if (as_of.seconds() < TimeUtil::kTimestampMinSeconds ||
      as_of.seconds() > TimeUtil::kTimestampMaxSeconds || as_of.nanos() < 0 ||
      as_of.nanos() > 999999999) {
    return errors::InvalidArgument(field, "is not a valid timestamp");
  }
  if (as_of > NowProto()) {
    return errors::InvalidArgument(
        field, absl::StrCat("is in the future (", TimeUtil::ToString(as_of),
                            "): a data cut-off must have passed"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<v1::Subject>> ReadSubjectsAsOf(
    const storage::ReadView& view, const std::string& trial_id,
    const google::protobuf::Timestamp& as_of) {
  // History keys are (trial, subject, version) with ascending versions: a
  // subject's version as of the cut-off is the last one stored by then
  // before the subject prefix changes.
  std::vector<v1::Subject> out;
  std::string group;  // the subject prefix of the versions seen
  absl::Status error;
  AESIGNAL_RETURN_IF_ERROR(view.Scan(
      Cf::kSubjectHistory, storage::TrialPrefix(trial_id), "",
      [&](std::string_view key, std::string_view value) {
        if (key.size() < sizeof(uint32_t)) {
          error = absl::DataLossError("malformed subject history key");
          return false;
        }
        auto subject = Parse<v1::Subject>(value, "subject version");
        if (!subject.ok()) {
          error = subject.status();
          return false;
        }
        if (subject->update_time() > as_of) return true;
        std::string_view prefix = key.substr(0, key.size() - sizeof(uint32_t));
        if (prefix != group) {
          group.assign(prefix);
          out.push_back(*std::move(subject));
        } else {
          out.back() = *std::move(subject);
        }
        return true;
      }));
  AESIGNAL_RETURN_IF_ERROR(error);
  return out;
}

absl::StatusOr<EventWindows> ReadLastEventWindows(const storage::ReadView& view,
                                                  const v1::Trial& trial) {
  const int num_windows = trial.timepoints_size();
  EventWindows last_event_window;
  const std::string states_prefix = storage::TrialPrefix(trial.trial_id()) +
                                    storage::EncodeTerm(OverallTerm(kAnyAe));
  absl::Status error;
  AESIGNAL_RETURN_IF_ERROR(
      view.Scan(Cf::kSubjectTerms, states_prefix, "",
                [&](std::string_view key, std::string_view value) {
                  auto parts = storage::DecodeSubjectTermKey(key);
                  auto counts = storage::DecodeWindowCounts(value, num_windows);
                  if (!parts.has_value() || !counts.ok()) {
                    error = absl::DataLossError("corrupt subject-term state");
                    return false;
                  }
                  for (int w = num_windows - 1; w >= 0; --w) {
                    if ((*counts)[w] > 0) {
                      last_event_window[parts->subject_id] = w;
                      break;
                    }
                  }
                  return true;
                }));
  AESIGNAL_RETURN_IF_ERROR(error);
  return last_event_window;
}

absl::StatusOr<Denominators> CountDenominators(
    const v1::Trial& trial, const std::vector<v1::Subject>& subjects,
    const EventWindows& last_event_window) {
  const int num_groups = trial.dose_groups_size();
  const int num_windows = trial.timepoints_size();
  Denominators d;
  d.dosed.assign(num_groups, 0);
  d.at_risk.assign(num_groups * num_windows, 0);
  for (const v1::Subject& s : subjects) {
    const int g = DoseGroupIndex(trial, s.dose_group_id());
    if (g < 0) {
      return absl::DataLossError("stored subject has an unknown group");
    }
    ++d.dosed[g];
    auto it = last_event_window.find(s.subject_id());
    const int event_window = it == last_event_window.end() ? -1 : it->second;
    for (int w = 0; w < num_windows; ++w) {
      const int window_start =
          w == 0 ? 1 : trial.timepoints(w - 1).study_day() + 1;
      if (s.last_contact_day() >= window_start || w <= event_window) {
        ++d.at_risk[g * num_windows + w];
      }
    }
  }
  return d;
}

absl::StatusOr<std::optional<v1::Subject>> ReadSubject(
    const storage::ReadView& view, const std::string& trial_id,
    const std::string& subject_id) {
  AESIGNAL_ASSIGN_OR_RETURN(
      std::optional<std::string> bytes,
      view.Get(Cf::kSubjects, storage::SubjectKey(trial_id, subject_id)));
  if (!bytes.has_value()) return std::nullopt;
  return Parse<v1::Subject>(*bytes, "subject");
}

absl::StatusOr<std::vector<v1::Subject>> ReadSubjects(
    const storage::ReadView& view, const std::string& trial_id) {
  std::vector<v1::Subject> subjects;
  absl::Status error;
  AESIGNAL_RETURN_IF_ERROR(
      view.Scan(Cf::kSubjects, storage::TrialPrefix(trial_id), "",
                [&](std::string_view, std::string_view value) {
                  auto subject = Parse<v1::Subject>(value, "subject");
                  if (!subject.ok()) {
                    error = subject.status();
                    return false;
                  }
                  subjects.push_back(*std::move(subject));
                  return true;
                }));
  AESIGNAL_RETURN_IF_ERROR(error);
  return subjects;
}

absl::StatusOr<storage::SubjectGroups> ReadSubjectGroups(
    const storage::ReadView& view, const v1::Trial& trial,
    const std::optional<google::protobuf::Timestamp>& as_of) {
  AESIGNAL_ASSIGN_OR_RETURN(
      const std::vector<v1::Subject> subjects,
      as_of.has_value() ? ReadSubjectsAsOf(view, trial.trial_id(), *as_of)
                        : ReadSubjects(view, trial.trial_id()));
  return SubjectGroupsOf(trial, subjects);
}

absl::StatusOr<storage::SubjectGroups> SubjectGroupsOf(
    const v1::Trial& trial, const std::vector<v1::Subject>& subjects) {
  storage::SubjectGroups groups;
  groups.reserve(subjects.size());
  for (const v1::Subject& s : subjects) {
    const int g = DoseGroupIndex(trial, s.dose_group_id());
    if (g < 0) {
      return absl::DataLossError("stored subject has an unknown group");
    }
    groups.emplace(s.subject_id(), g);
  }
  return groups;
}

absl::StatusOr<Denominators> ReadDenominators(const storage::ReadView& view,
                                              const v1::Trial& trial) {
  AESIGNAL_ASSIGN_OR_RETURN(const EventWindows last_event_window,
                            ReadLastEventWindows(view, trial));
  AESIGNAL_ASSIGN_OR_RETURN(const std::vector<v1::Subject> subjects,
                            ReadSubjects(view, trial.trial_id()));
  return CountDenominators(trial, subjects, last_event_window);
}

absl::StatusOr<size_t> PageOffset(const google::protobuf::Message& request) {
  const auto* field = request.GetDescriptor()->FindFieldByName("page_token");
  if (field == nullptr ||
      request.GetReflection()->GetString(request, field).empty()) {
    return 0;
  }
  AESIGNAL_ASSIGN_OR_RETURN(std::string bytes, DecodePageToken(request));
  size_t offset = 0;
  if (!absl::SimpleAtoi(bytes, &offset)) {
    return errors::InvalidArgument("page_token",
                                   "is not a token this server issued");
  }
  return offset;
}

absl::StatusOr<std::vector<std::string>> ReadTrialIds(
    const storage::ReadView& view) {
  std::vector<std::string> ids;
  absl::Status error;
  AESIGNAL_RETURN_IF_ERROR(
      view.Scan(storage::Cf::kTrials, "", "",
                [&](std::string_view key, std::string_view) {
                  auto id = storage::DecodeTrialKey(key);
                  if (!id.has_value()) {
                    error = absl::DataLossError("malformed trial key");
                    return false;
                  }
                  ids.push_back(*std::move(id));
                  return true;
                }));
  AESIGNAL_RETURN_IF_ERROR(error);
  return ids;
}

v1::ChangeRef ChangeRefOf(const std::string& action, const std::string& name,
                          uint32_t version) {
  v1::ChangeRef change;
  change.set_action(action);
  change.set_name(name);
  change.set_version(version);
  return change;
}

absl::Status MarkAllTermsDirty(storage::Txn& txn, const std::string& trial_id,
                               const v1::ChangeRef* change) {
  const std::string prefix = storage::TrialPrefix(trial_id);
  std::vector<storage::TermKey> terms;
  absl::Status error;
  AESIGNAL_RETURN_IF_ERROR(txn.Scan(
      Cf::kCounters, prefix, "", [&](std::string_view key, std::string_view) {
        auto parts = storage::DecodeCounterRowKey(key);
        if (!parts.has_value()) {
          error = absl::DataLossError("malformed counter row key");
          return false;
        }
        terms.push_back(std::move(parts->term));
        return true;
      }));
  AESIGNAL_RETURN_IF_ERROR(error);
  for (const storage::TermKey& term : terms) {
    AESIGNAL_RETURN_IF_ERROR(
        storage::MarkTermChanged(txn, trial_id, term, change));
  }
  return absl::OkStatus();
}

}  // namespace aesignal::domain::internal
