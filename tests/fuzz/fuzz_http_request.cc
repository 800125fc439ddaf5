// Fuzz target: one HTTP request as the HTTP/JSON gateway sees it after the
// server's parser (services/http/server.cc uses Boost.Beast's, which Beast
// fuzzes itself): method, target, headers and body go through routing,
// authentication (off), the Host guard, static files and, for an API route,
// binding of the query, path variables and JSON body to the v1 request
// message (services/http/gateway.h, binding.h).
//
// Input: "METHOD TARGET\n" then "Name: value" lines, a blank line, the body.
// Checks: no crash; every reply without the application layer is 200, 4xx
// or 503; an error body is Google's JSON error shape; a bind that fails is
// INVALID_ARGUMENT naming a field; a bound message printed as JSON
// (ToJson) parses back to the same message.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/empty.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "services/errors/errors.h"
#include "services/http/binding.h"
#include "services/http/gateway.h"
#include "services/http/json.h"
#include "tests/fuzz/fuzz_check.h"

namespace aesignal::http {
namespace {

// The request message type of a v1 method ("TrialService", "GetTrial").
const google::protobuf::Message* RequestPrototype(const access::Method& m) {
  const auto* service =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
          absl::StrCat("aesignal.v1.", m.service));
  FUZZ_CHECK(service != nullptr) << m.FullName();
  const auto* method = service->FindMethodByName(std::string(m.name));
  FUZZ_CHECK(method != nullptr) << m.FullName();
  return google::protobuf::MessageFactory::generated_factory()->GetPrototype(
      method->input_type());
}

void CheckErrorBody(const HttpReply& reply) {
  if (reply.status < 400 || reply.content_type != "application/json") return;
  // Valid JSON of the error shape (parsed with unknown fields skipped: a
  // google.protobuf.Struct's map crashes in TSan builds against Debian's
  // libprotobuf).
  google::protobuf::Empty parsed;
  google::protobuf::util::JsonParseOptions lenient;
  lenient.ignore_unknown_fields = true;
  FUZZ_CHECK(
      google::protobuf::util::JsonStringToMessage(reply.body, &parsed, lenient)
          .ok())
      << reply.body;
  FUZZ_CHECK(absl::StartsWith(
      reply.body, absl::StrCat("{\"error\":{\"code\":", reply.status, ",")))
      << reply.body;
  FUZZ_CHECK(absl::StrContains(reply.body, "\"status\":\"") &&
             absl::StrContains(reply.body, "\"details\":["))
      << reply.body;
}

void CheckBinding(const Gateway::Plan& plan, const HttpRequest& request) {
  std::unique_ptr<google::protobuf::Message> message(
      RequestPrototype(plan.match.route->method)->New());
  const absl::Status bound =
      BindRequest(plan.match, InputOf(request), message.get());
  if (!bound.ok()) {
    FUZZ_CHECK(absl::IsInvalidArgument(bound)) << bound;
    FUZZ_CHECK(!errors::ViolationsOf(bound).empty()) << bound;
    CheckErrorBody(Gateway::ErrorReply(bound));
    return;
  }
  std::unique_ptr<google::protobuf::Message> again(message->New());
  const std::string json = ToJson(*message);
  FUZZ_CHECK(
      google::protobuf::util::JsonStringToMessage(json, again.get()).ok())
      << json;
  FUZZ_CHECK(
      google::protobuf::util::MessageDifferencer::Equals(*message, *again))
      << json;
}

// Splits the input into a request (views into `text`).
HttpRequest RequestOf(absl::string_view text) {
  HttpRequest request;
  const size_t blank = text.find("\n\n");
  absl::string_view head = text.substr(0, blank);
  request.body = blank == text.npos ? "" : text.substr(blank + 2);
  std::vector<absl::string_view> lines = absl::StrSplit(head, '\n');
  const std::pair<absl::string_view, absl::string_view> first =
      absl::StrSplit(lines[0], absl::MaxSplits(' ', 1));
  request.method = first.first;
  request.target = first.second;
  for (size_t i = 1; i < lines.size(); ++i) {
    const std::pair<absl::string_view, absl::string_view> header =
        absl::StrSplit(lines[i], absl::MaxSplits(": ", 1));
    const std::string name = absl::AsciiStrToLower(header.first);
    if (name == "host") request.host = header.second;
    if (name == "content-type") request.content_type = header.second;
    if (name == "last-event-id") request.last_event_id = header.second;
    if (name == "x-aesignal-principal") {
      request.claimed_principal = header.second;
    }
  }
  request.peer = "ipv4:127.0.0.1:4242";
  return request;
}

}  // namespace
}  // namespace aesignal::http

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace aesignal::http;
  static const Gateway* gateway = new Gateway(nullptr, GatewayOptions{});
  const std::string text(reinterpret_cast<const char*>(data), size);
  const HttpRequest request = RequestOf(text);
  const Gateway::Plan plan = gateway->PlanFor(request);
  if (plan.reply.has_value()) {
    const int status = plan.reply->status;
    FUZZ_CHECK(status == 200 || status == 503 ||
               (status >= 400 && status < 500))
        << status << " for " << request.method << " " << request.target;
    CheckErrorBody(*plan.reply);
    return 0;
  }
  FUZZ_CHECK(plan.match.route != nullptr);
  CheckBinding(plan, request);
  return 0;
}
