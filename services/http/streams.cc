// Gateway's streaming calls: watches as Server-Sent Events and the ingest
// stream as newline-delimited JSON.
#include <deque>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "services/errors/errors.h"
#include "services/http/binding.h"
#include "services/http/gateway.h"
#include "services/http/json.h"

namespace aesignal::http {
namespace {

// Binds a watch request; Last-Event-ID (the last change the client saw)
// resumes after that change unless the query names after_sequence.
template <typename WatchRequest>
absl::Status BindWatch(const Gateway::Plan& plan, const HttpRequest& request,
                       WatchRequest* watch) {
  AESIGNAL_RETURN_IF_ERROR(BindRequest(plan.match, InputOf(request), watch));
  if (!request.last_event_id.empty() && watch->after_sequence() == 0) {
    int64_t last = 0;
    if (!absl::SimpleAtoi(request.last_event_id, &last) || last < 0) {
      return errors::InvalidArgument("Last-Event-ID",
                                     "must be a change sequence number");
    }
    watch->set_after_sequence(last);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status Gateway::Watch(
    const Plan& plan, const HttpRequest& request,
    const app::CallContext& context,
    const std::function<bool(std::string)>& write) const {
  if (plan.match.route->method == access::methods::kWatchTopics) {
    v1::WatchTopicsRequest watch;
    AESIGNAL_RETURN_IF_ERROR(BindWatch(plan, request, &watch));
    return app_->signals.WatchTopics(
        context, watch, [&](const v1::WatchTopicsResponse& change) {
          return write(
              EventFrame(change.change_sequence(), "topic", ToJson(change)));
        });
  }
  v1::WatchSignalsRequest watch;
  AESIGNAL_RETURN_IF_ERROR(BindWatch(plan, request, &watch));
  return app_->signals.WatchSignals(
      context, watch, [&](const v1::WatchSignalsResponse& change) {
        return write(
            EventFrame(change.change_sequence(), "signal", ToJson(change)));
      });
}

namespace {

// NDJSON is usually labelled application/x-ndjson; application/json is
// taken too, since each line is JSON.
bool IsNdjson(absl::string_view content_type) {
  const absl::string_view media = absl::StripAsciiWhitespace(
      content_type.substr(0, content_type.find(';')));
  return absl::EqualsIgnoreCase(media, "application/x-ndjson") ||
         absl::EqualsIgnoreCase(media, "application/json");
}

}  // namespace

absl::Status Gateway::StreamReports(
    const Plan& plan, const HttpRequest& request,
    const app::CallContext& context,
    const std::function<bool(std::string)>& write) const {
  // Every line is parsed before the first batch is queued, so a malformed
  // line stores nothing.
  if (!absl::StripAsciiWhitespace(request.body).empty() &&
      !IsNdjson(request.content_type)) {
    return errors::InvalidArgument(
        "Content-Type",
        "the body must be application/x-ndjson (or application/json): one "
        "JSON StreamReportsRequest per line");
  }
  // Each line is a whole request: a query parameter would be bound to no
  // line, so it is refused as it is on the other routes, not dropped.
  if (const size_t q = request.target.find('?');
      q != std::string::npos && q + 1 < request.target.size()) {
    const absl::string_view query =
        absl::string_view(request.target).substr(q + 1);
    return errors::InvalidArgument(
        std::string(query.substr(0, query.find_first_of("=&"))),
        "reports:stream takes no query parameters: each line of the body is "
        "a whole StreamReportsRequest");
  }
  std::deque<v1::StreamReportsRequest> batches;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(request.body, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    v1::StreamReportsRequest& batch = batches.emplace_back();
    HttpRequest one = request;
    one.body = line;
    one.content_type = "application/json";
    one.target = request.target.substr(0, request.target.find('?'));
    absl::Status bound = BindRequest(plan.match, InputOf(one), &batch);
    if (!bound.ok()) {
      return errors::InvalidArgument(absl::StrCat("line ", line_number),
                                     std::string(bound.message()));
    }
  }
  if (batches.empty()) {
    return errors::InvalidArgument("body", "no batch (one JSON per line)");
  }
  return app_->ingest.StreamReports(
      context,
      [&batches](v1::StreamReportsRequest* next) {
        if (batches.empty()) return false;
        *next = std::move(batches.front());
        batches.pop_front();
        return true;
      },
      [&write](const v1::StreamReportsResponse& response) {
        return write(absl::StrCat(ToJson(response), "\n"));
      });
}

}  // namespace aesignal::http
