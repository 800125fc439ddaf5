#include "services/errors/errors.h"

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/rpc/error_details.pb.h"

namespace aesignal::errors {

std::string NotAnEnumValue(int value,
                           const google::protobuf::EnumDescriptor& type) {
  return NotAnEnumValue(absl::StrCat(value), type);
}

std::string NotAnEnumValue(absl::string_view value,
                           const google::protobuf::EnumDescriptor& type) {
  std::vector<std::string> names;
  for (int k = 0; k < type.value_count(); ++k) {
    names.push_back(type.value(k)->name());
  }
  const bool vowel = absl::StrContains("AEIOU", type.name().front());
  return absl::StrCat(value, " is not ", vowel ? "an " : "a ", type.name(),
                      " (", absl::StrJoin(names, ", "), ")");
}

absl::Status InvalidArgument(const std::vector<FieldViolation>& violations) {
  google::rpc::BadRequest bad_request;
  std::string message;
  for (const FieldViolation& v : violations) {
    auto* fv = bad_request.add_field_violations();
    fv->set_field(v.field);
    fv->set_description(v.description);
    absl::StrAppend(&message, message.empty() ? "" : "; ", v.field, ": ",
                    v.description);
  }
  absl::Status status = absl::InvalidArgumentError(message);
  status.SetPayload(kBadRequestTypeUrl,
                    absl::Cord(bad_request.SerializeAsString()));
  return WithErrorInfo(std::move(status), "FIELD_VIOLATIONS");
}

absl::Status InvalidArgument(std::string field, std::string description) {
  return InvalidArgument(
      {FieldViolation{std::move(field), std::move(description)}});
}

std::vector<FieldViolation> ViolationsOf(const absl::Status& status) {
  std::vector<FieldViolation> out;
  auto payload = status.GetPayload(kBadRequestTypeUrl);
  if (!payload.has_value()) return out;
  google::rpc::BadRequest bad_request;
  if (!bad_request.ParseFromString(std::string(*payload))) return out;
  for (const auto& fv : bad_request.field_violations()) {
    out.push_back({fv.field(), fv.description()});
  }
  return out;
}

std::vector<std::string> ViolatedFields(const absl::Status& status) {
  std::vector<std::string> fields;
  for (FieldViolation& v : ViolationsOf(status)) {
    fields.push_back(std::move(v.field));
  }
  return fields;
}

namespace {

// `status` with a ResourceInfo and an ErrorInfo "<TYPE>_<suffix>".
absl::Status AboutResource(absl::Status status, std::string resource_type,
                           std::string resource_name,
                           absl::string_view reason_suffix) {
  google::rpc::ResourceInfo info;
  std::string reason = absl::AsciiStrToUpper(resource_type);
  absl::StrAppend(&reason, "_", reason_suffix);
  info.set_resource_type(std::move(resource_type));
  info.set_resource_name(resource_name);
  status.SetPayload(kResourceInfoTypeUrl, absl::Cord(info.SerializeAsString()));
  return WithErrorInfo(std::move(status), std::move(reason),
                       {{"resource", std::move(resource_name)}});
}

}  // namespace

absl::Status NotFound(std::string resource_type, std::string resource_name) {
  absl::Status status = absl::NotFoundError(
      absl::StrCat(resource_type, " '", resource_name, "' not found"));
  return AboutResource(std::move(status), std::move(resource_type),
                       std::move(resource_name), "NOT_FOUND");
}

absl::Status AlreadyExists(std::string resource_type, std::string resource_name,
                           std::string message) {
  return AboutResource(absl::AlreadyExistsError(std::move(message)),
                       std::move(resource_type), std::move(resource_name),
                       "ALREADY_EXISTS");
}

absl::Status FailedPrecondition(std::string message,
                                const std::vector<PreconditionViolation>& v) {
  google::rpc::PreconditionFailure failure;
  for (const PreconditionViolation& violation : v) {
    auto* out = failure.add_violations();
    out->set_type(violation.type);
    out->set_subject(violation.subject);
    out->set_description(violation.description);
  }
  absl::Status status = absl::FailedPreconditionError(std::move(message));
  status.SetPayload(kPreconditionFailureTypeUrl,
                    absl::Cord(failure.SerializeAsString()));
  return v.empty() ? status : WithErrorInfo(std::move(status), v[0].type);
}

absl::Status FieldError(absl::StatusCode code, std::string field,
                        std::string description, std::string reason) {
  return FieldErrors(code, {{std::move(field), std::move(description)}},
                     std::move(reason));
}

absl::Status FieldErrors(absl::StatusCode code,
                         const std::vector<FieldViolation>& violations,
                         std::string reason) {
  absl::Status invalid = InvalidArgument(violations);
  absl::Status status(code, invalid.message());
  status.SetPayload(kBadRequestTypeUrl,
                    *invalid.GetPayload(kBadRequestTypeUrl));
  return WithErrorInfo(std::move(status), std::move(reason));
}

absl::Status WithErrorInfo(
    absl::Status status, std::string reason,
    std::vector<std::pair<std::string, std::string>> metadata) {
  if (status.ok()) return status;
  google::rpc::ErrorInfo info;
  info.set_reason(std::move(reason));
  info.set_domain(kErrorDomain);
  for (auto& [key, value] : metadata) {
    (*info.mutable_metadata())[std::move(key)] = std::move(value);
  }
  status.SetPayload(kErrorInfoTypeUrl, absl::Cord(info.SerializeAsString()));
  return status;
}

}  // namespace aesignal::errors
