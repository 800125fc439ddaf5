// Field-level errors for the domain layer.
//
// The domain reports bad input as absl::Status INVALID_ARGUMENT carrying a
// google.rpc.BadRequest payload (type URL kBadRequestTypeUrl), so the gRPC
// layer can attach it to the RPC status without knowing the domain.
#ifndef AESIGNAL_SERVICES_MONITOR_ERRORS_H_
#define AESIGNAL_SERVICES_MONITOR_ERRORS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace aesignal::monitor {

inline constexpr char kBadRequestTypeUrl[] =
    "type.googleapis.com/google.rpc.BadRequest";

struct FieldViolation {
  std::string field;        // e.g. "reports[3].grade"
  std::string description;  // e.g. "must be 1-5 (CTCAE), got 7"
  friend bool operator==(const FieldViolation&,
                         const FieldViolation&) = default;
};

// INVALID_ARGUMENT whose message lists the violations and whose payload is a
// serialized google.rpc.BadRequest.
absl::Status InvalidArgument(const std::vector<FieldViolation>& violations);
absl::Status InvalidArgument(std::string field, std::string description);

// The violations carried by a status (empty if none).
std::vector<FieldViolation> ViolationsOf(const absl::Status& status);

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

}  // namespace aesignal::monitor

#endif  // AESIGNAL_SERVICES_MONITOR_ERRORS_H_
