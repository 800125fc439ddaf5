// Errors with structured details, built once for every layer and transport.
//
// The domain reports bad input as absl::Status INVALID_ARGUMENT carrying a
// google.rpc.BadRequest payload (type URL kBadRequestTypeUrl); a missing
// resource as NOT_FOUND with a google.rpc.ResourceInfo; a refused state change
// as FAILED_PRECONDITION with a google.rpc.PreconditionFailure. Each payload
// is stored under its type URL, so a transport (status_table.h) attaches
// every google.rpc detail without knowing who made it.
//
// Stateless; every function is thread-safe.
#ifndef AESIGNAL_SERVICES_ERRORS_ERRORS_H_
#define AESIGNAL_SERVICES_ERRORS_ERRORS_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"

namespace aesignal::errors {

inline constexpr char kBadRequestTypeUrl[] =
    "type.googleapis.com/google.rpc.BadRequest";
inline constexpr char kResourceInfoTypeUrl[] =
    "type.googleapis.com/google.rpc.ResourceInfo";
inline constexpr char kPreconditionFailureTypeUrl[] =
    "type.googleapis.com/google.rpc.PreconditionFailure";
inline constexpr char kErrorInfoTypeUrl[] =
    "type.googleapis.com/google.rpc.ErrorInfo";
// ErrorInfo.domain for every error aesignal raises.
inline constexpr char kErrorDomain[] = "aesignal.dev";

// "99 is not an Outcome (OUTCOME_UNSPECIFIED, ...)": the one wording of a
// value an enum type does not define, wherever it is checked (the domain's
// checks of proto3's open enums, the HTTP gateway's query parameters).
std::string NotAnEnumValue(int value,
                           const google::protobuf::EnumDescriptor& type);
// The same for a value as written (an HTTP query parameter's number, or its
// name quoted by the caller).
std::string NotAnEnumValue(absl::string_view value,
                           const google::protobuf::EnumDescriptor& type);

struct FieldViolation {
  std::string field;        // e.g. "reports[3].grade"
  std::string description;  // e.g. "must be 1-5 (CTCAE), got 7"
  friend bool operator==(const FieldViolation&,
                         const FieldViolation&) = default;
};

// INVALID_ARGUMENT whose message lists the violations, with a
// google.rpc.BadRequest and an ErrorInfo of reason "FIELD_VIOLATIONS".
absl::Status InvalidArgument(const std::vector<FieldViolation>& violations);
absl::Status InvalidArgument(std::string field, std::string description);

// A status of any `code` naming one offending field: the message is
// "<field>: <description>", with a google.rpc.BadRequest for the field and an
// ErrorInfo of `reason`. (For outcomes such as a rejected report of a batch,
// where the field matters but the code is not INVALID_ARGUMENT.)
absl::Status FieldError(absl::StatusCode code, std::string field,
                        std::string description, std::string reason);
// The same for several fields (`violations` not empty), in that order.
absl::Status FieldErrors(absl::StatusCode code,
                         const std::vector<FieldViolation>& violations,
                         std::string reason);

// The violations carried by a status (empty if none).
std::vector<FieldViolation> ViolationsOf(const absl::Status& status);
// Only their field names, in order (what most callers and tests check).
std::vector<std::string> ViolatedFields(const absl::Status& status);

// NOT_FOUND for `resource_name` of `resource_type` ("trial", "signal", ...)
// with a google.rpc.ResourceInfo detail and an ErrorInfo of reason
// "<RESOURCE_TYPE>_NOT_FOUND"; the message is
// "<resource_type> '<resource_name>' not found".
absl::Status NotFound(std::string resource_type, std::string resource_name);

// ALREADY_EXISTS with `message`, a ResourceInfo for the resource and an
// ErrorInfo of reason "<RESOURCE_TYPE>_ALREADY_EXISTS".
absl::Status AlreadyExists(std::string resource_type, std::string resource_name,
                           std::string message);

struct PreconditionViolation {
  std::string type;         // e.g. "SIGNAL_STATUS"
  std::string subject;      // e.g. the signal's resource name
  std::string description;  // why the state does not allow the request
};

// FAILED_PRECONDITION with `message`, a google.rpc.PreconditionFailure and
// an ErrorInfo whose reason is the first violation's type.
absl::Status FailedPrecondition(std::string message,
                                const std::vector<PreconditionViolation>& v);

// `status` with a google.rpc.ErrorInfo detail (reason in UPPER_SNAKE_CASE,
// domain "aesignal.dev") added; for machine-readable causes a client may
// branch on. OK stays OK.
absl::Status WithErrorInfo(
    absl::Status status, std::string reason,
    std::vector<std::pair<std::string, std::string>> metadata = {});

// `early-return` helpers; this Abseil has no ABSL_RETURN_IF_ERROR. The
// status variable is named per use (__COUNTER__) so the macro nests, e.g.
// around a Commit whose mutation uses it too.
#define AESIGNAL_CONCAT_INNER(a, b) a##b
#define AESIGNAL_CONCAT(a, b) AESIGNAL_CONCAT_INNER(a, b)
#define AESIGNAL_RETURN_IF_ERROR(expr) \
  AESIGNAL_RETURN_IF_ERROR_IMPL(AESIGNAL_CONCAT(_st_, __COUNTER__), expr)
#define AESIGNAL_RETURN_IF_ERROR_IMPL(st, expr) \
  do {                                          \
    if (absl::Status st = (expr); !st.ok()) {   \
      return st;                                \
    }                                           \
  } while (0)

#define AESIGNAL_ASSIGN_OR_RETURN(lhs, expr) \
  AESIGNAL_ASSIGN_OR_RETURN_IMPL(AESIGNAL_CONCAT(_sor_, __LINE__), lhs, expr)
#define AESIGNAL_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                   \
  if (!tmp.ok()) return tmp.status();                  \
  lhs = *std::move(tmp)

}  // namespace aesignal::errors

#endif  // AESIGNAL_SERVICES_ERRORS_ERRORS_H_
