// JSON of the HTTP API: replies as protobuf's proto3 JSON mapping of the v1
// messages, errors in Google's JSON error shape, and Server-Sent Events
// frames.
//
// Stateless; thread-safe.
#ifndef AESIGNAL_SERVICES_HTTP_JSON_H_
#define AESIGNAL_SERVICES_HTTP_JSON_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"

namespace aesignal::http {

// `message` as proto3 JSON: lowerCamelCase names, enums by name, int64 as
// strings; fields holding their default value (0, "", false, [], the first
// enum value) are omitted, so a client reads a missing number as 0.
std::string ToJson(const google::protobuf::Message& message);

struct JsonError {
  int http_status = 500;
  std::string body = "";
};

// A non-OK status as {"error": {"code": <HTTP status>, "message", "status":
// "NOT_FOUND", "details": [{"@type": ..., ...}]}}, with the same
// google.rpc details the gRPC transport sends (errors::ToRpcStatus) and the
// HTTP status of the one status table (errors::MappingOf).
// `http_status` (if not 0) replaces the mapped status in both places, for
// the transport's own refusals that have no google.rpc code (405, 413, 431).
JsonError ErrorJson(const absl::Status& status, int http_status = 0);

// The path of the first object key that `json` gives twice in one object
// ("reports[0].grade"), comparing names as protobuf's parser does
// ("report_id" and "reportId" are one field), or nullopt. Protobuf's parser
// keeps the last of repeated keys without a word; a request must not mean
// one thing to a reader and another to the server. Lenient: malformed text,
// or nesting deeper than the parser accepts, gives nullopt and is left to
// the parser.
std::optional<std::string> RepeatedJsonKey(absl::string_view json);

// Whether `text` is well-formed UTF-8.
bool IsValidUtf8(absl::string_view text);
// `text` with every byte that is not part of a well-formed UTF-8 sequence
// written as \xNN. Messages quote callers' input, which may not be UTF-8,
// while JSON and proto strings must be (protobuf drops or garbles others).
std::string ValidUtf8(absl::string_view text);

// `text` as a JSON string literal with quotes (bytes that are not UTF-8 as
// in ValidUtf8), escaped by protobuf's JSON printer.
std::string JsonStringLiteral(absl::string_view text);

// One Server-Sent Events frame: "id: <id>\nevent: <event>\ndata: <json>\n\n".
// `json` has no newlines (ToJson prints none).
std::string EventFrame(int64_t id, absl::string_view event,
                       absl::string_view json);

}  // namespace aesignal::http

#endif  // AESIGNAL_SERVICES_HTTP_JSON_H_
