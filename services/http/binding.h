// Binds an HTTP request to its v1 request message (google.api.http rules):
// the body as the proto3 JSON mapping of the route's body field (or the
// whole message), then the path variables, then every query parameter as a
// field of the rest of the message, named by proto name or JSON name
// ("page_size" or "pageSize", "filter.status" for nested fields); enums by
// name or number; repeated fields by repeating the parameter; Timestamp,
// Duration and FieldMask in their JSON string forms.
//
// Stateless; thread-safe.
#ifndef AESIGNAL_SERVICES_HTTP_BINDING_H_
#define AESIGNAL_SERVICES_HTTP_BINDING_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"
#include "services/http/routes.h"

namespace aesignal::http {

struct HttpInput {
  absl::string_view query = "";         // after '?', still percent-encoded
  absl::string_view content_type = "";  // the header, may be empty
  absl::string_view body = "";
};

// Fills *request (of the route's request type, initially empty). Every
// mistake is INVALID_ARGUMENT with a google.rpc.BadRequest naming the
// parameter or body field: an unknown parameter, a value of the wrong type, a
// field given twice, a body on a route that takes none (or a non-JSON one),
// unknown JSON fields, malformed JSON.
absl::Status BindRequest(const RouteMatch& match, const HttpInput& input,
                         google::protobuf::Message* request);

}  // namespace aesignal::http

#endif  // AESIGNAL_SERVICES_HTTP_BINDING_H_
