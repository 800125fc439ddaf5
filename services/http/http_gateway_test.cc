// The HTTP/JSON gateway without a network: the route table against the v1
// methods, request binding, the JSON error shape, and whole requests through
// Gateway against a real application layer (authentication, roles, the
// audit principal, static files, the Host guard).
#include <fstream>
#include <memory>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/empty.pb.h"
#include "google/protobuf/stubs/common.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "services/access/principals.h"
#include "services/app/application.h"
#include "services/errors/errors.h"
#include "services/http/binding.h"
#include "services/http/gateway.h"
#include "services/http/json.h"
#include "services/http/routes.h"
#include "storage/store.h"
#include "tests/testing/fixtures.h"
#include "tests/testing/temp_dir.h"

namespace aesignal::http {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::UnorderedElementsAre;

// One route per method, but for GenerateDsmbReport's POST form, which
// carries a coding key in a body since a URL may not.
TEST(RoutesTest, EveryV1MethodHasExactlyOneRouteButTheReportsPostForm) {
  std::multiset<std::string> routed;
  for (const Route& route : V1Routes()) {
    routed.insert(route.method.FullName());
  }
  for (const access::Method& method : access::kAllMethods) {
    const bool two = method.FullName() == "SafetyService.GenerateDsmbReport";
    EXPECT_EQ(routed.count(method.FullName()), two ? 2u : 1u)
        << method.FullName();
  }
  EXPECT_EQ(routed.size(), access::kAllMethods.size() + 1);
}

// Each route's example path matches that route and no other under the
// same HTTP method.
TEST(RoutesTest, EachSamplePathMatchesOnlyItsRoute) {
  for (const Route& route : V1Routes()) {
    const std::string path = ExamplePath(route);
    auto match = MatchRoute(route.http_method, path, nullptr);
    ASSERT_TRUE(match.ok()) << path << ": " << match.status();
    EXPECT_EQ(match->route, &route)
        << path << " matched " << match->route->path;
  }
}

TEST(RoutesTest, BindsVariablesDecodedAndMultiSegment) {
  auto match =
      MatchRoute("GET", "/v1/trials/T%201/sites/01/reports/AE/2026/7", nullptr);
  ASSERT_TRUE(match.ok()) << match.status();
  EXPECT_EQ(match->route->method, access::methods::kGetReport);
  ASSERT_EQ(match->variables.size(), 1u);
  EXPECT_EQ(match->variables[0].first, "name");
  EXPECT_EQ(match->variables[0].second,
            "trials/T 1/sites/01/reports/AE/2026/7");

  auto verb = MatchRoute("POST", "/v1/trials/T1/topics/PT~a~b:triage", nullptr);
  ASSERT_TRUE(verb.ok()) << verb.status();
  EXPECT_EQ(verb->route->method, access::methods::kTriageTopic);
  EXPECT_EQ(verb->variables[0].second, "trials/T1/topics/PT~a~b");

  auto update = MatchRoute("PATCH", "/v1/trials/T1", nullptr);
  ASSERT_TRUE(update.ok());
  EXPECT_EQ(update->variables[0].first, "trial.name");
}

TEST(RoutesTest, DocsListEveryRoute) {
  std::ifstream in(AESIGNAL_SOURCE_DIR "/docs/api.md");
  std::stringstream docs;
  docs << in.rdbuf();
  ASSERT_FALSE(docs.str().empty());
  for (const Route& route : V1Routes()) {
    EXPECT_THAT(docs.str(), HasSubstr(absl::StrCat("| ", route.method.name,
                                                   " | `", route.http_method,
                                                   " ", route.path, "`")));
  }
}

TEST(RoutesTest, WrongMethodListsTheAllowedOnes) {
  std::vector<std::string> allowed;
  auto match = MatchRoute("DELETE", "/v1/trials", &allowed);
  EXPECT_TRUE(absl::IsNotFound(match.status()));
  EXPECT_THAT(allowed, UnorderedElementsAre("POST", "GET"));
  EXPECT_FALSE(MatchRoute("GET", "/v1/trials/T1/nothing", &allowed).ok());
  EXPECT_TRUE(allowed.empty());
  // A custom method's path with another HTTP method is that method's 405,
  // not a standard method on an id ending in ":verb".
  match = MatchRoute("GET", "/v1/trials/T1/signals/S1:triage", &allowed);
  EXPECT_TRUE(absl::IsNotFound(match.status()));
  EXPECT_THAT(allowed, UnorderedElementsAre("POST"));
  match = MatchRoute("PATCH", "/v1/trials/T1:verify", &allowed);
  EXPECT_TRUE(absl::IsNotFound(match.status()));
  EXPECT_THAT(allowed, UnorderedElementsAre("POST"));
  // A report id may hold ':' (and '/'): no custom method has its path.
  match = MatchRoute("GET", "/v1/trials/T1/sites/S1/reports/R:1", nullptr);
  ASSERT_TRUE(match.ok()) << match.status();
  EXPECT_EQ(match->variables.front().second, "trials/T1/sites/S1/reports/R:1");
  EXPECT_FALSE(MatchRoute("GET", "/v1//trials", nullptr).ok());
  EXPECT_FALSE(MatchRoute("GET", "/v1/trials/%zz", nullptr).ok());
  EXPECT_FALSE(MatchRoute("GET", "/v1/trials/a%00b", nullptr).ok());
}

RouteMatch Match(absl::string_view method, absl::string_view path) {
  auto match = MatchRoute(method, path, nullptr);
  EXPECT_TRUE(match.ok()) << path << ": " << match.status();
  return match.ok() ? *match : RouteMatch{};
}

TEST(BindingTest, QueryParametersByProtoOrJsonNameEnumsAndNumbers) {
  v1::GetIncidenceRequest request;
  ASSERT_TRUE(BindRequest(Match("GET", "/v1/trials/T1/incidence"),
                          {.query = "level=TERM_LEVEL_PT&confidenceLevel=0.9&"
                                    "page_size=20&pt=Back%20pain&soc=A+B"},
                          &request)
                  .ok());
  EXPECT_EQ(request.parent(), "trials/T1");
  EXPECT_EQ(request.level(), v1::TERM_LEVEL_PT);
  EXPECT_DOUBLE_EQ(request.confidence_level(), 0.9);
  EXPECT_EQ(request.page_size(), 20);
  EXPECT_EQ(request.pt(), "Back pain");
  EXPECT_EQ(request.soc(), "A B");

  v1::GetIncidenceRequest by_number;
  ASSERT_TRUE(BindRequest(Match("GET", "/v1/trials/T1/incidence"),
                          {.query = "level=1"}, &by_number)
                  .ok());
  EXPECT_EQ(by_number.level(), 1);

  v1::GetIncidenceRequest counts;
  ASSERT_TRUE(BindRequest(Match("GET", "/v1/trials/T1/incidence"),
                          {.query = "view=INCIDENCE_VIEW_COUNTS"}, &counts)
                  .ok());
  EXPECT_EQ(counts.view(), v1::INCIDENCE_VIEW_COUNTS);

  v1::GetIncidenceRequest columns;
  ASSERT_TRUE(BindRequest(Match("GET", "/v1/trials/T1/incidence"),
                          {.query = "view=INCIDENCE_VIEW_COLUMNS"}, &columns)
                  .ok());
  EXPECT_EQ(columns.view(), v1::INCIDENCE_VIEW_COLUMNS);
}

// A data cut-off is a query parameter like any other field, in the
// Timestamp's JSON form, on each of the four reads that take one.
TEST(BindingTest, AsOfBindsOnEachReadThatTakesOne) {
  const std::string query = "as_of=2026-11-01T00:00:00Z";
  v1::GetIncidenceRequest incidence;
  ASSERT_TRUE(BindRequest(Match("GET", "/v1/trials/T1/incidence"),
                          {.query = query + "&level=TERM_LEVEL_PT"}, &incidence)
                  .ok());
  EXPECT_EQ(incidence.as_of().seconds(), 1793491200);
  v1::ListReportsRequest reports;
  ASSERT_TRUE(BindRequest(Match("GET", "/v1/trials/T1/reports"),
                          {.query = "asOf=2026-11-01T00:00:00.5Z"}, &reports)
                  .ok());
  EXPECT_EQ(reports.as_of().seconds(), 1793491200);
  EXPECT_EQ(reports.as_of().nanos(), 500000000);
  v1::ListSubjectsRequest subjects;
  ASSERT_TRUE(BindRequest(Match("GET", "/v1/trials/T1/subjects"),
                          {.query = query}, &subjects)
                  .ok());
  EXPECT_EQ(subjects.as_of().seconds(), 1793491200);
  v1::ListTopicsRequest topics;
  ASSERT_TRUE(BindRequest(Match("GET", "/v1/trials/T1/topics"),
                          {.query = query}, &topics)
                  .ok());
  EXPECT_EQ(topics.as_of().seconds(), 1793491200);
  v1::ListTopicsRequest bad;
  const absl::Status status = BindRequest(Match("GET", "/v1/trials/T1/topics"),
                                          {.query = "as_of=yesterday"}, &bad);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
}

// The field violation a failed bind names.
std::string ViolatedField(const absl::Status& status) {
  auto violations = errors::ViolationsOf(status);
  return violations.empty() ? "<none>" : violations[0].field;
}

TEST(BindingTest, MistakesAreFieldViolations) {
  const RouteMatch incidence = Match("GET", "/v1/trials/T1/incidence");
  struct Case {
    std::string query;
    std::string field;
    std::string says;
  } cases[] = {
      {"nonsense=1", "nonsense", "unknown parameter"},
      {"page_size=ten", "page_size", "not a 32-bit integer"},
      {"page_size=99999999999", "page_size", "not a 32-bit integer"},
      // The wording gRPC requests get for an undefined number, with the
      // type's names (docs/api.md).
      {"level=TERM_LEVEL_NOPE", "level",
       "'TERM_LEVEL_NOPE' is not a TermLevel (TERM_LEVEL_UNSPECIFIED, "
       "TERM_LEVEL_PT, "},
      {"level=99", "level", "level: 99 is not a TermLevel (TERM_LEVEL_"},
      {"pt=a&pt=b", "pt", "more than once"},
      {"parent=trials/other", "parent", "set by the path"},
      {"pt=%G1", "pt", "percent-escape"},
  };
  for (const Case& c : cases) {
    v1::GetIncidenceRequest request;
    absl::Status status = BindRequest(incidence, {.query = c.query}, &request);
    EXPECT_TRUE(absl::IsInvalidArgument(status)) << c.query;
    EXPECT_EQ(ViolatedField(status), c.field) << c.query;
    EXPECT_THAT(status.message(), HasSubstr(c.says)) << c.query;
  }
}

// A body may repeat what the URL's path sets, but not contradict it:
// reports for trial T2 POSTed to T1's URL would go to T1 without a word.
TEST(BindingTest, ABodyContradictingThePathIsRefused) {
  const RouteMatch submit = Match("POST", "/v1/trials/T1/reports:submit");
  v1::SubmitReportsRequest same;
  ASSERT_TRUE(BindRequest(submit,
                          {.content_type = "application/json",
                           .body = R"({"parent": "trials/T1"})"},
                          &same)
                  .ok());
  EXPECT_EQ(same.parent(), "trials/T1");
  v1::SubmitReportsRequest other;
  const absl::Status status =
      BindRequest(submit,
                  {.content_type = "application/json",
                   .body = R"({"parent": "trials/T2"})"},
                  &other);
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_EQ(ViolatedField(status), "parent");
  EXPECT_THAT(status.message(),
              HasSubstr("'trials/T2' in the body but 'trials/T1' in the URL"));
}

TEST(BindingTest, BodiesAreProtoJsonOfTheBodyField) {
  const RouteMatch create = Match("POST", "/v1/trials");
  v1::CreateTrialRequest request;
  ASSERT_TRUE(BindRequest(create,
                          {.content_type = "application/json; charset=utf-8",
                           .body = R"({"trialId": "T9", "title": "x"})"},
                          &request)
                  .ok());
  EXPECT_EQ(request.trial().trial_id(), "T9");

  struct Case {
    std::string content_type, body, field, says;
  } cases[] = {
      // The field is the proto path inside the request, as the API's other
      // violations name it; only malformed JSON names no field.
      {"application/json", R"({"trialId": 5})", "trial.trial_id",
       "invalid JSON"},
      {"application/json", R"({"nope": 1})", "trial.nope", "Cannot find"},
      {"application/json", R"({"doseGroups": [{}, {"nme": "x"}]})",
       "trial.dose_groups[1].nme", "Cannot find"},
      {"application/json", "{", "body", "invalid JSON"},
      {"text/plain", R"({"trialId": "T9"})", "Content-Type",
       "application/json"},
  };
  for (const Case& c : cases) {
    v1::CreateTrialRequest bad;
    absl::Status status = BindRequest(
        create, {.content_type = c.content_type, .body = c.body}, &bad);
    EXPECT_TRUE(absl::IsInvalidArgument(status)) << c.body;
    EXPECT_EQ(ViolatedField(status), c.field) << c.body;
    EXPECT_THAT(status.message(), HasSubstr(c.says)) << c.body;
  }
  v1::GetTrialRequest get;
  EXPECT_EQ(ViolatedField(BindRequest(Match("GET", "/v1/trials/T1"),
                                      {.body = "{}"}, &get)),
            "body");
}

// A DSMB coding key is a secret: refused in a URL's query, taken from the
// body of the POST form of the same read.
TEST(BindingTest, ACodingKeyGoesInABodyNeverInAUrl) {
  v1::GenerateDsmbReportRequest get;
  const absl::Status in_url = BindRequest(
      Match("GET", "/v1/trials/T1/dsmbReport"),
      {.query = "session=DSMB_SESSION_CLOSED&codingKey=s3cr3t"}, &get);
  EXPECT_EQ(ViolatedField(in_url), "codingKey");
  EXPECT_THAT(in_url.message(), HasSubstr("dsmbReport:generate"));
  EXPECT_THAT(in_url.message(), Not(HasSubstr("s3cr3t")));

  v1::GenerateDsmbReportRequest post;
  ASSERT_TRUE(BindRequest(Match("POST", "/v1/trials/T1/dsmbReport:generate"),
                          {.content_type = "application/json",
                           .body = R"({"session": "DSMB_SESSION_CLOSED",
                                       "coded": true,
                                       "codingKey": "0123456789abcdef"})"},
                          &post)
                  .ok());
  EXPECT_EQ(post.parent(), "trials/T1");
  EXPECT_EQ(post.coding_key(), "0123456789abcdef");
  EXPECT_TRUE(post.coded());

  // protobuf's parser quotes a value of the wrong type, and the text around
  // a syntax error: neither may carry the key into an error.
  for (const char* body : {R"({"codingKey": 1234567890123456789})",
                           R"({"codingKey": "1234567890123456789" "x"})"}) {
    v1::GenerateDsmbReportRequest bad;
    const absl::Status refused =
        BindRequest(Match("POST", "/v1/trials/T1/dsmbReport:generate"),
                    {.content_type = "application/json", .body = body}, &bad);
    EXPECT_TRUE(absl::IsInvalidArgument(refused)) << body;
    EXPECT_THAT(refused.message(), Not(HasSubstr("1234567890123456789")))
        << refused;
  }
}

// What an EDC integration posting a batch needs: which report, which key.
// Binds a JSON `body` to a SubmitReportsRequest on `route`.
absl::Status BindJsonBody(const RouteMatch& route, const std::string& body) {
  v1::SubmitReportsRequest request;
  return BindRequest(route, {.content_type = "application/json", .body = body},
                     &request);
}

TEST(BindingTest, AJsonErrorInABatchNamesTheReportAndTheField) {
  const RouteMatch submit = Match("POST", "/v1/trials/T1/reports:submit");
  struct Case {
    std::string body, field;
  } cases[] = {
      {R"({"reports": [{"reportId": "a"}, {"serius": true}]})",
       "reports[1].serius"},
      {R"({"reports": [{"grade": "high"}]})", "reports[0].grade"},
      {R"({"reports": [{"a:b": 1}]})", "reports[0].a:b"},
      {R"({"x:y": 1})", "x:y"},
      {R"({"reports": [{"outcome": "NOPE"}]})", "reports[0].outcome"},
      {R"({"parent": 5})", "parent"},
      {R"({"reports": [{"reportId": "a"}, {"pt": )", "body"},
  };
  for (const Case& c : cases) {
    const absl::Status status = BindJsonBody(submit, c.body);
    EXPECT_TRUE(absl::IsInvalidArgument(status)) << c.body;
    EXPECT_EQ(ViolatedField(status), c.field) << c.body << ": " << status;
  }
}

// Protobuf's parser keeps the last of a key given twice; the gateway refuses
// it, naming the key, also when the two spellings of one field differ.
TEST(BindingTest, AKeyGivenTwiceIsRefused) {
  const RouteMatch submit = Match("POST", "/v1/trials/T1/reports:submit");
  struct Case {
    std::string body, field;
  } cases[] = {
      {R"({"reports": [{"grade": 1, "grade": 4}]})", "reports[0].grade"},
      {R"({"reports": [{"pt": "a"}, {"reportId": "x", "report_id": "y"}]})",
       "reports[1].report_id"},
      {R"({"parent": "trials/T1", "reports": [], "parent": "trials/T2"})",
       "parent"},
      {R"({"reports": [{"aesi": ["infection", "infection"], "serious": )"
       R"(false, "serious" : true}]})",
       "reports[0].serious"},
  };
  for (const Case& c : cases) {
    const absl::Status status = BindJsonBody(submit, c.body);
    EXPECT_TRUE(absl::IsInvalidArgument(status)) << c.body;
    EXPECT_EQ(ViolatedField(status), c.field) << c.body << ": " << status;
    EXPECT_THAT(std::string(status.message()), HasSubstr("more than once"));
  }
  // The same key in two objects, escaped quotes and braces in strings, and
  // a repeated value in an array are not repeats.
  v1::SubmitReportsRequest good;
  EXPECT_TRUE(BindRequest(submit,
                          {.content_type = "application/json",
                           .body = R"({"reports": [{"pt": "a \"}{\" b"}, )"
                                   R"({"pt": "c"}]})"},
                          &good)
                  .ok());
  EXPECT_EQ(good.reports(0).pt(), "a \"}{\" b");
  // Nothing hides a repeat below: too deep for the scanner is the parser's.
  EXPECT_EQ(RepeatedJsonKey(std::string(200, '[') + std::string(200, ']')),
            std::nullopt);
  EXPECT_EQ(RepeatedJsonKey(R"({"a": {"b": 1, "c": [{"d": 1, "d": 2}]}})"),
            "a.c[0].d");
}

// Found by the HTTP fuzz target: protobuf's JSON parser quotes the bad bytes,
// and a detail with invalid UTF-8 was dropped from the error on serialization.
TEST(BindingTest, InvalidUtf8IsRefusedWithAValidUtf8Message) {
  v1::CreateTrialRequest create;
  absl::Status body =
      BindRequest(Match("POST", "/v1/trials"),
                  {.content_type = "application/json",
                   .body = "{\"trialId\": \"T\xf3\x28\", \"title\": \"x\"}"},
                  &create);
  EXPECT_EQ(ViolatedField(body), "body");
  EXPECT_TRUE(google::protobuf::internal::IsStructurallyValidUTF8(
      body.message().data(), body.message().size()))
      << body;

  v1::GetTrialRequest get;
  absl::Status path = BindRequest(Match("GET", "/v1/trials/T%FF"), {}, &get);
  EXPECT_EQ(ViolatedField(path), "name") << path;
  EXPECT_THAT(path.message(), HasSubstr("UTF-8"));

  v1::GetIncidenceRequest incidence;
  absl::Status query = BindRequest(Match("GET", "/v1/trials/T1/incidence"),
                                   {.query = "soc=%C3%28"}, &incidence);
  EXPECT_EQ(ViolatedField(query), "soc") << query;
  EXPECT_THAT(query.message(), HasSubstr("UTF-8"));
  // A valid multi-byte value passes.
  v1::GetIncidenceRequest ok;
  EXPECT_TRUE(BindRequest(Match("GET", "/v1/trials/T1/incidence"),
                          {.query = "soc=S%C3%A9"}, &ok)
                  .ok());
  EXPECT_EQ(ok.soc(), "S\xc3\xa9");
}

// Found by the HTTP fuzz target: a mask path that is no field path did not
// survive the JSON mapping (printed and parsed back, it changed).
TEST(BindingTest, MaskPathsAreFieldPaths) {
  const RouteMatch update = Match("PATCH", "/v1/trials/T1");
  v1::UpdateTrialRequest ok;
  ASSERT_TRUE(BindRequest(update,
                          {.query = "update_mask=title,signalPolicy.alpha",
                           .content_type = "application/json",
                           .body = R"({"title": "x"})"},
                          &ok)
                  .ok());
  EXPECT_THAT(ok.update_mask().paths(),
              ::testing::ElementsAre("title", "signal_policy.alpha"));
  for (const char* query :
       {"update_mask=%2FT1%3Fx", "update_mask=a__b", "update_mask=Title_",
        "update_mask=tit%20le", "update_mask=title.",
        "update_mask=tiM_LTleERM_LEVEL_PTe,sites", "update_mask=ti_m_l_tle"}) {
    v1::UpdateTrialRequest bad;
    const absl::Status status = BindRequest(update,
                                            {.query = query,
                                             .content_type = "application/json",
                                             .body = R"({"title": "x"})"},
                                            &bad);
    EXPECT_EQ(ViolatedField(status), "update_mask") << query << " " << status;
  }
}

TEST(JsonTest, ErrorMessagesAreValidUtf8) {
  EXPECT_EQ(ValidUtf8("caf\xc3\xa9"), "caf\xc3\xa9");
  EXPECT_EQ(ValidUtf8("T1\xc1\x8dX"), "T1\\xc1\\x8dX");  // overlong
  EXPECT_EQ(ValidUtf8("\xe2\x82"), "\\xe2\\x82");        // truncated
  const JsonError error =
      ErrorJson(absl::NotFoundError("no API route for GET /v1/T\xff"));
  EXPECT_TRUE(IsValidUtf8(error.body)) << error.body;
  EXPECT_THAT(error.body, HasSubstr("/v1/T\\\\xff"));
}

// The path sets `name`; the body may repeat it (a client posting the
// resource it read back), and a different one is refused: it used to be
// overwritten, so a triage meant for another topic changed this one.
TEST(BindingTest, ThePathSetsTheNameTheBodyMayOnlyRepeatIt) {
  const RouteMatch route = Match("POST", "/v1/trials/T1/topics/X:triage");
  v1::TriageTopicRequest triage;
  ASSERT_TRUE(BindRequest(route,
                          {.content_type = "application/json",
                           .body = R"({"name": "trials/T1/topics/X",
                               "status": "SIGNAL_STATUS_REFUTED"})"},
                          &triage)
                  .ok());
  EXPECT_EQ(triage.name(), "trials/T1/topics/X");
  EXPECT_EQ(triage.status(), v1::SIGNAL_STATUS_REFUTED);
  v1::TriageTopicRequest other;
  const absl::Status status =
      BindRequest(route,
                  {.content_type = "application/json",
                   .body = R"({"name": "trials/OTHER/topics/Y",
                               "status": "SIGNAL_STATUS_REFUTED"})"},
                  &other);
  EXPECT_EQ(ViolatedField(status), "name") << status;
}

TEST(JsonTest, ErrorsHaveGoogleShapeWithTheSameDetailsAsGrpc) {
  const JsonError error = ErrorJson(errors::NotFound("trial", "trials/T\"1"));
  EXPECT_EQ(error.http_status, 404);
  // Valid JSON (parsed, unknown fields skipped; no google.protobuf.Struct:
  // its map crashes in TSan builds against Debian's libprotobuf).
  google::protobuf::Empty parsed;
  google::protobuf::util::JsonParseOptions lenient;
  lenient.ignore_unknown_fields = true;
  ASSERT_TRUE(
      google::protobuf::util::JsonStringToMessage(error.body, &parsed, lenient)
          .ok())
      << error.body;
  EXPECT_THAT(error.body, HasSubstr(R"({"error":{"code":404,)"));
  EXPECT_THAT(error.body, HasSubstr(R"("status":"NOT_FOUND")"));
  EXPECT_THAT(error.body,
              HasSubstr(R"("message":"trial 'trials/T\"1' not found")"));
  EXPECT_THAT(
      error.body,
      HasSubstr(R"("@type":"type.googleapis.com/google.rpc.ResourceInfo")"));
  EXPECT_THAT(
      error.body,
      HasSubstr(R"("@type":"type.googleapis.com/google.rpc.ErrorInfo")"));
  EXPECT_EQ(ErrorJson(absl::PermissionDeniedError("no")).http_status, 403);
  EXPECT_EQ(ErrorJson(absl::UnauthenticatedError("no")).http_status, 401);
}

TEST(JsonTest, RepliesAreProto3JsonWithoutDefaults) {
  v1::Trial trial;
  trial.set_trial_id("T1");
  trial.mutable_signal_policy()->set_error_control(
      v1::ERROR_CONTROL_TRIAL_WIDE);
  const std::string json = ToJson(trial);
  EXPECT_THAT(json, HasSubstr(R"("trialId":"T1")"));
  EXPECT_THAT(json, HasSubstr(R"("errorControl":"ERROR_CONTROL_TRIAL_WIDE")"));
  EXPECT_THAT(json, Not(HasSubstr("title")));
  EXPECT_EQ(json.find('\n'), std::string::npos);
}

}  // namespace
}  // namespace aesignal::http
