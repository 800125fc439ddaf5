// The HTTP/JSON gateway end to end: a real aesignald (Server) with its Beast
// server, driven by an independent socket client (tests/testing/
// http_client.h). The same API as gRPC (answers compared message for
// message), bad input refused with nothing stored, the hostile-client
// limits, security headers, live streams, and — over TLS with principals —
// the role table of docs/operations.md for every route and the caller in
// the audit trail.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <filesystem>
#include <functional>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "aesignal/v1/audit_service.grpc.pb.h"
#include "aesignal/v1/safety_service.grpc.pb.h"
#include "aesignal/v1/signal_service.grpc.pb.h"
#include "aesignal/v1/trial_service.grpc.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "services/access/principals.h"
#include "services/http/routes.h"
#include "services/server/server.h"
#include "tests/testing/access_matrix.h"
#include "tests/testing/fixtures.h"
#include "tests/testing/http_client.h"
#include "tests/testing/pki.h"
#include "tests/testing/temp_dir.h"

namespace aesignal {
namespace {

using ::testing::ElementsAre;
using testing::Fetch;
using ::testing::HasSubstr;
using testing::HttpConnection;
using testing::HttpResponse;
using ::testing::Not;
using testing::RequestBytes;

const testing::Headers kJson = {{"Content-Type", "application/json"}};

template <typename Message>
std::string Json(const Message& message) {
  std::string json;
  EXPECT_TRUE(google::protobuf::util::MessageToJsonString(message, &json).ok());
  return json;
}

template <typename Message>
Message Parse(const std::string& json) {
  Message message;
  const auto parsed =
      google::protobuf::util::JsonStringToMessage(json, &message);
  EXPECT_TRUE(parsed.ok()) << parsed.ToString() << " in " << json;
  return message;
}

HttpResponse MustFetch(int port, const std::string& method,
                       const std::string& target, const std::string& body = "",
                       const testing::Headers& headers = kJson,
                       bool tls = false) {
  auto response = Fetch(port, method, target, body, headers, tls);
  EXPECT_TRUE(response.ok())
      << method << " " << target << ": " << response.status();
  return response.ok() ? *response : HttpResponse{};
}

// One HTTP call: method, target, body.
using Caller = std::function<HttpResponse(
    const std::string&, const std::string&, const std::string&)>;

// Trial T1 through `call`: 9 subjects (3 per group) and the serious-AE
// baseline; true if every call succeeded.
bool CreateTrialT1(const Caller& call) {
  v1::EnrollSubjectsRequest enroll;
  for (int i = 1; i <= 9; ++i) {
    *enroll.add_subjects() = testing::SubjectNumber(i);
  }
  v1::PutBaselinesRequest put;
  *put.add_baselines() = testing::SeriousAeBaseline();
  return call("POST", "/v1/trials", Json(testing::ThreeGroupTrial("T1")))
                 .status == 200 &&
         call("POST", "/v1/trials/T1/subjects:enroll", Json(enroll)).status ==
             200 &&
         call("POST", "/v1/trials/T1/baselines:put", Json(put)).status == 200;
}

// Serious grade-3 pneumonia for each subject (two in HIGH raise a topic).
v1::SubmitReportsRequest SeriousReports(
    const std::vector<std::string>& subjects) {
  v1::SubmitReportsRequest submit;
  for (const std::string& subject : subjects) {
    *submit.add_reports() = testing::Report("AE-" + subject, 1, subject, 30,
                                            "Pneumonia", 3, /*serious=*/true);
  }
  return submit;
}

class HttpServerTest : public ::testing::Test {
 protected:
  void StartServer(std::function<void(ServerOptions&)> adjust = nullptr) {
    ServerOptions options{.listen = "127.0.0.1:0",
                          .data_dir = dir_.Sub("data")};
    options.http_listen = "127.0.0.1:0";
    if (adjust) adjust(options);
    auto server = Server::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    port_ = server_->http_port();
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()),
                                   grpc::InsecureChannelCredentials());
  }

  // Trial T1 over HTTP with serious AEs of HIGH's S3 and S6.
  void LoadTrialOverHttp() {
    ASSERT_TRUE(CreateTrialT1([this](const std::string& method,
                                     const std::string& target,
                                     const std::string& body) {
      return MustFetch(port_, method, target, body);
    }));
    SubmitSerious({"S3", "S6"});
  }

  HttpResponse SubmitSerious(const std::vector<std::string>& subjects) {
    const v1::SubmitReportsRequest submit = SeriousReports(subjects);
    HttpResponse response =
        MustFetch(port_, "POST", "/v1/trials/T1/reports:submit", Json(submit));
    EXPECT_EQ(response.status, 200) << response.body;
    return response;
  }

  testing::TempDir dir_;
  std::unique_ptr<Server> server_;
  int port_ = 0;
  std::shared_ptr<grpc::Channel> channel_;
};

// Each read RPC's HTTP answer parses to the very message gRPC returns.
TEST_F(HttpServerTest, SameAnswersAsGrpc) {
  StartServer();
  LoadTrialOverHttp();
  absl::SleepFor(absl::Milliseconds(500));  // signal evaluation after commit
  auto trials = v1::TrialService::NewStub(channel_);
  auto safety = v1::SafetyService::NewStub(channel_);
  auto signals = v1::SignalService::NewStub(channel_);
  using google::protobuf::util::MessageDifferencer;
  {
    grpc::ClientContext context;
    v1::GetTrialRequest request;
    request.set_name("trials/T1");
    v1::Trial grpc_answer;
    ASSERT_TRUE(trials->GetTrial(&context, request, &grpc_answer).ok());
    EXPECT_TRUE(MessageDifferencer::Equals(
        Parse<v1::Trial>(MustFetch(port_, "GET", "/v1/trials/T1").body),
        grpc_answer));
  }
  for (const auto& [level, view] :
       {std::pair{v1::TERM_LEVEL_PT, v1::INCIDENCE_VIEW_UNSPECIFIED},
        std::pair{v1::TERM_LEVEL_OVERALL, v1::INCIDENCE_VIEW_UNSPECIFIED},
        std::pair{v1::TERM_LEVEL_PT, v1::INCIDENCE_VIEW_COLUMNS}}) {
    grpc::ClientContext context;
    v1::GetIncidenceRequest request;
    request.set_parent("trials/T1");
    request.set_level(level);
    request.set_view(view);
    v1::GetIncidenceResponse grpc_answer;
    ASSERT_TRUE(safety->GetIncidence(&context, request, &grpc_answer).ok());
    const std::string target = absl::StrCat(
        "/v1/trials/T1/incidence?level=", v1::TermLevel_Name(level),
        "&view=", v1::IncidenceView_Name(view));
    const HttpResponse http = MustFetch(port_, "GET", target);
    EXPECT_EQ(http.status, 200) << http.body;
    EXPECT_TRUE(MessageDifferencer::Equals(
        Parse<v1::GetIncidenceResponse>(http.body), grpc_answer))
        << target;
    EXPECT_GT(grpc_answer.terms_size(), 0);
    if (view == v1::INCIDENCE_VIEW_COLUMNS) {
      EXPECT_GT(grpc_answer.columns().cumulative_subjects_size(), 0);
      EXPECT_THAT(http.body, HasSubstr("\"cumulativeSubjects\""));
    }
  }
  {
    grpc::ClientContext context;
    v1::ListTopicsRequest request;
    request.set_parent("trials/T1");
    v1::ListTopicsResponse grpc_answer;
    ASSERT_TRUE(signals->ListTopics(&context, request, &grpc_answer).ok());
    EXPECT_GT(grpc_answer.topics_size(), 0);
    EXPECT_TRUE(MessageDifferencer::Equals(
        Parse<v1::ListTopicsResponse>(
            MustFetch(port_, "GET", "/v1/trials/T1/topics").body),
        grpc_answer));
  }
}

TEST_F(HttpServerTest, BadInputGetsFieldViolationsAndStoresNothing) {
  StartServer();
  struct Case {
    std::string body;
    testing::Headers headers;
    std::string says;
  } cases[] = {
      {R"({"trialId": "T1", "title": 7})", kJson, "invalid JSON"},
      {R"({"trialId": "T1", "colour": "red"})", kJson, "invalid JSON"},
      {R"({"trialId": )", kJson, "invalid JSON"},
      {R"({"trialId": "T1"})",
       {{"Content-Type", "text/plain"}},
       "application/json"},
  };
  for (const Case& c : cases) {
    const HttpResponse response =
        MustFetch(port_, "POST", "/v1/trials", c.body, c.headers);
    EXPECT_EQ(response.status, 400) << c.body;
    EXPECT_THAT(response.body, HasSubstr(c.says));
    EXPECT_THAT(response.body, HasSubstr("google.rpc.BadRequest"));
  }
  // A JSON error names the report and the key, in proto names.
  const HttpResponse misspelt =
      MustFetch(port_, "POST", "/v1/trials/T1/reports:submit",
                R"({"reports": [{"reportId": "a"}, {"serius": true}]})", kJson);
  EXPECT_EQ(misspelt.status, 400);
  EXPECT_THAT(misspelt.body, HasSubstr(R"("field":"reports[1].serius")"));
  const HttpResponse unknown_param =
      MustFetch(port_, "GET", "/v1/trials?colour=red");
  EXPECT_EQ(unknown_param.status, 400);
  EXPECT_THAT(unknown_param.body, HasSubstr("colour"));
  EXPECT_EQ(MustFetch(port_, "GET", "/v1/trials").body, "{}");
  // Not HTTP at all: 400, then the server closes the connection.
  HttpConnection garbage(port_);
  ASSERT_TRUE(garbage.Send("HELLO THERE\r\n\r\n"));
  auto reply = garbage.Read(absl::Seconds(5));
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->status, 400);
  EXPECT_TRUE(garbage.ClosedWithin(absl::Seconds(5)));
  EXPECT_EQ(MustFetch(port_, "DELETE", "/v1/trials").status, 405);
}

TEST_F(HttpServerTest, LimitsOnSizeTimeRateAndConnections) {
  StartServer([](ServerOptions& o) {
    o.max_receive_message_bytes = 4096;
    o.http_limits.header_timeout = absl::Milliseconds(300);
    o.http_limits.max_connections = 3;
    o.http_limits.requests_per_second = 0.01;
    o.http_limits.request_burst = 2;
  });
  EXPECT_EQ(MustFetch(port_, "GET", "/v1/trials", "",
                      {{"X-Padding", std::string(20000, 'x')}})
                .status,
            431);
  EXPECT_EQ(
      MustFetch(port_, "POST", "/v1/trials", std::string(5000, ' ')).status,
      413);
  {  // A client sending its header slowly is cut off.
    HttpConnection slow(port_);
    ASSERT_TRUE(slow.Send("GET /v1/trials HTTP/1.1\r\nHost: x\r\n"));
    EXPECT_TRUE(slow.ClosedWithin(absl::Seconds(3)));
  }
  {  // The third request of a burst of two on one connection: 429.
    HttpConnection eager(port_);
    for (int i = 0; i < 2; ++i) {
      ASSERT_TRUE(eager.Send(RequestBytes("GET", "/healthz")));
      EXPECT_EQ(eager.Read(absl::Seconds(5))->status, 200);
    }
    ASSERT_TRUE(eager.Send(RequestBytes("GET", "/healthz")));
    auto limited = eager.Read(absl::Seconds(5));
    ASSERT_TRUE(limited.ok());
    EXPECT_EQ(limited->status, 429);
    EXPECT_EQ(limited->Header("retry-after"), "1");
  }
  {  // Beyond max_connections a new connection gets 503 and is closed.
    absl::SleepFor(absl::Milliseconds(100));  // earlier ones are gone
    HttpConnection a(port_), b(port_), c(port_);
    absl::SleepFor(absl::Milliseconds(100));
    HttpConnection d(port_);
    auto refused = d.Read(absl::Seconds(5));
    ASSERT_TRUE(refused.ok()) << refused.status();
    EXPECT_EQ(refused->status, 503);
  }
}

TEST_F(HttpServerTest, SecurityHeadersNoCorsAndTheDashboard) {
  StartServer();
  const HttpResponse page =
      MustFetch(port_, "GET", "/", "", {{"Origin", "http://evil.example"}});
  EXPECT_EQ(page.status, 200);
  EXPECT_THAT(page.Header("content-type"), HasSubstr("text/html"));
  EXPECT_THAT(page.Header("content-security-policy"),
              HasSubstr("script-src 'self'"));
  EXPECT_EQ(page.Header("x-content-type-options"), "nosniff");
  EXPECT_EQ(page.Header("access-control-allow-origin"), "");
  const HttpResponse preflight =
      MustFetch(port_, "OPTIONS", "/v1/trials", "",
                {{"Origin", "http://evil.example"},
                 {"Access-Control-Request-Method", "POST"}});
  EXPECT_EQ(preflight.status, 405);
  EXPECT_EQ(preflight.Header("access-control-allow-origin"), "");
  // DNS rebinding: a page of another origin resolving to 127.0.0.1.
  EXPECT_EQ(
      MustFetch(port_, "GET", "/v1/trials", "", {{"Host", "evil.example"}})
          .status,
      403);
  EXPECT_EQ(MustFetch(port_, "GET", "/healthz").status, 200);
  EXPECT_EQ(MustFetch(port_, "GET", "/readyz").status, 200);
  server_->BeginDrain();
  EXPECT_EQ(MustFetch(port_, "GET", "/readyz").status, 503);
}

// TCP_NODELAY of every connection this process accepted on `port` (the
// in-process server's end of the test's connections), found among the
// process's open sockets.
std::vector<int> NoDelayOfAcceptedSockets(int port) {
  std::vector<int> out;
  for (const auto& entry :
       std::filesystem::directory_iterator("/proc/self/fd")) {
    int fd = 0;
    if (!absl::SimpleAtoi(entry.path().filename().string(), &fd)) continue;
    sockaddr_in local{}, remote{};
    socklen_t size = sizeof(local);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &size) != 0 ||
        local.sin_family != AF_INET || ntohs(local.sin_port) != port) {
      continue;
    }
    size = sizeof(remote);  // the listening socket has no peer
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&remote), &size) != 0) {
      continue;
    }
    int flag = -1;
    size = sizeof(flag);
    if (getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &flag, &size) == 0) {
      out.push_back(flag != 0);
    }
  }
  return out;
}

// Replies are not held back by Nagle's algorithm: a reply written in two
// sends waited for the client's delayed ACK (~40 ms) on half the calls.
TEST_F(HttpServerTest, AcceptedConnectionsSendWithoutDelay) {
  StartServer();
  HttpConnection plain(port_);
  ASSERT_TRUE(plain.Send(RequestBytes("GET", "/healthz")));
  const auto reply = plain.Read(absl::Seconds(10));
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->status, 200);
  // The test's connection is open, so at least its server end is found.
  const std::vector<int> flags = NoDelayOfAcceptedSockets(port_);
  ASSERT_FALSE(flags.empty());
  EXPECT_THAT(flags, ::testing::Each(1));
}

// The ids ("id: N") of the SSE frames in `data`.
std::vector<int64_t> EventIds(const std::string& data) {
  std::vector<int64_t> ids;
  for (absl::string_view line : absl::StrSplit(data, '\n')) {
    int64_t id = 0;
    if (absl::ConsumePrefix(&line, "id: ") && absl::SimpleAtoi(line, &id)) {
      ids.push_back(id);
    }
  }
  return ids;
}

TEST_F(HttpServerTest, WatchStreamsChangesLiveAndResumes) {
  StartServer();
  LoadTrialOverHttp();
  HttpConnection watch(port_);
  ASSERT_TRUE(watch.Send(RequestBytes("GET", "/v1/trials/T1/topics:watch")));
  auto head = watch.Read(absl::Seconds(5), /*head_only=*/true);
  ASSERT_TRUE(head.ok()) << head.status();
  EXPECT_THAT(head->Header("content-type"), HasSubstr("text/event-stream"));
  const std::string replay =
      watch.ReadStreamUntil("event: topic", absl::Seconds(5));
  const std::vector<int64_t> first = EventIds(replay);
  ASSERT_FALSE(first.empty()) << replay;
  // A new report while watching arrives as a new frame.
  SubmitSerious({"S9"});
  const std::string live = watch.ReadStreamUntil("S9", absl::Seconds(5));
  const std::vector<int64_t> later = EventIds(live);
  ASSERT_FALSE(later.empty()) << live;
  EXPECT_GT(later.front(), first.back());
  // Resuming after the last id seen sends only what came after it.
  HttpConnection resumed(port_);
  ASSERT_TRUE(resumed.Send(
      RequestBytes("GET", "/v1/trials/T1/topics:watch", "",
                   {{"Last-Event-ID", absl::StrCat(first.back())}})));
  ASSERT_TRUE(resumed.Read(absl::Seconds(5), true).ok());
  const std::vector<int64_t> after =
      EventIds(resumed.ReadStreamUntil("S9", absl::Seconds(5)));
  ASSERT_FALSE(after.empty());
  EXPECT_GT(after.front(), first.back());
  // Shutdown ends open streams promptly.
  std::thread stop([this] { server_->Shutdown(absl::Seconds(1)); });
  EXPECT_TRUE(watch.ClosedWithin(absl::Seconds(5)));
  stop.join();
}

TEST_F(HttpServerTest, ReportsStreamAnswersEachBatchAsNdjson) {
  StartServer();
  LoadTrialOverHttp();
  v1::StreamReportsRequest one, two;
  one.set_batch_id(1);
  *one.add_reports() = testing::Report("R1", 1, "S1", 20, "Headache");
  two.set_batch_id(2);
  *two.add_reports() = testing::Report("R2", 1, "S2", 20, "Nausea");
  const HttpResponse response =
      MustFetch(port_, "POST", "/v1/trials/T1/reports:stream",
                absl::StrCat(Json(one), "\n", Json(two), "\n"));
  EXPECT_EQ(response.status, 200);
  const std::vector<std::string> lines =
      absl::StrSplit(response.body, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u) << response.body;
  EXPECT_EQ(Parse<v1::StreamReportsResponse>(lines[0]).batch_id(), 1);
  EXPECT_EQ(Parse<v1::StreamReportsResponse>(lines[1]).batch_id(), 2);
  EXPECT_EQ(
      Parse<v1::StreamReportsResponse>(lines[1]).result().accepted_count(), 1);
  // A malformed line refuses the whole request before anything is stored.
  const HttpResponse bad =
      MustFetch(port_, "POST", "/v1/trials/T1/reports:stream",
                absl::StrCat(Json(one), "\n{oops\n"));
  EXPECT_EQ(bad.status, 400);
  EXPECT_THAT(bad.body, HasSubstr("line 2"));
  // Each line is the whole request: a query parameter is refused, naming
  // it, not dropped.
  const HttpResponse query = MustFetch(
      port_, "POST", "/v1/trials/T1/reports:stream?group_acknowledgements=true",
      absl::StrCat(Json(one), "\n"));
  EXPECT_EQ(query.status, 400);
  EXPECT_THAT(query.body, HasSubstr("\"field\":\"group_acknowledgements\""));
  EXPECT_THAT(query.body, HasSubstr("takes no query parameters"));
  // NDJSON's own media type is taken; any other is the header's fault, not
  // a line's.
  v1::StreamReportsRequest three;
  three.set_batch_id(3);
  *three.add_reports() = testing::Report("R3", 1, "S3", 20, "Nausea");
  const HttpResponse ndjson =
      MustFetch(port_, "POST", "/v1/trials/T1/reports:stream",
                absl::StrCat(Json(three), "\n"),
                {{"Content-Type", "application/x-ndjson; charset=utf-8"}});
  EXPECT_EQ(ndjson.status, 200) << ndjson.body;
  EXPECT_EQ(
      Parse<v1::StreamReportsResponse>(ndjson.body).result().accepted_count(),
      1);
  // The first line may ask for grouped acknowledgements: every batch once,
  // in order, in `acknowledgements`.
  v1::StreamReportsRequest four, five;
  four.set_batch_id(4);
  four.set_group_acknowledgements(true);
  *four.add_reports() = testing::Report("R4", 1, "S4", 20, "Nausea");
  five.set_batch_id(5);
  *five.add_reports() = testing::Report("R5", 1, "S5", 20, "Nausea");
  const HttpResponse grouped =
      MustFetch(port_, "POST", "/v1/trials/T1/reports:stream",
                absl::StrCat(Json(four), "\n", Json(five), "\n"));
  EXPECT_EQ(grouped.status, 200) << grouped.body;
  EXPECT_THAT(grouped.body, HasSubstr("\"acknowledgements\""));
  std::vector<int64_t> acknowledged;
  for (absl::string_view line :
       absl::StrSplit(grouped.body, '\n', absl::SkipEmpty())) {
    const auto r = Parse<v1::StreamReportsResponse>(std::string(line));
    EXPECT_EQ(r.batch_id(), 0);
    for (const v1::BatchAcknowledgement& ack : r.acknowledgements()) {
      acknowledged.push_back(ack.batch_id());
      EXPECT_EQ(ack.result().accepted_count(), 1);
    }
  }
  EXPECT_THAT(acknowledged, ElementsAre(4, 5));
  const HttpResponse text = MustFetch(
      port_, "POST", "/v1/trials/T1/reports:stream",
      absl::StrCat(Json(three), "\n"), {{"Content-Type", "text/plain"}});
  EXPECT_EQ(text.status, 400);
  EXPECT_THAT(text.body, HasSubstr("\"field\":\"Content-Type\""));
  EXPECT_THAT(text.body, Not(HasSubstr("line 1")));
}

TEST(HttpListenTest, PlaintextOnlyOnLoopback) {
  testing::TempDir dir;
  ServerOptions options{.listen = "127.0.0.1:0", .data_dir = dir.Sub("d")};
  options.http_listen = "0.0.0.0:0";
  auto server = Server::Start(options);
  ASSERT_FALSE(server.ok());
  EXPECT_THAT(server.status().message(), HasSubstr("plaintext HTTP"));
}

}  // namespace
}  // namespace aesignal

namespace aesignal {
namespace {

constexpr char kAdminToken[] = "admin-token-0123456789";
constexpr char kOfficerToken[] = "officer-token-0123456789";
constexpr char kSite01Token[] = "site01-token-0123456789";
constexpr char kDsmbToken[] = "dsmb-token-0123456789";

// Over TLS with principals (as in production): authentication, the role
// table for every route, site restriction and the audit principal.
class HttpSecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::Pki pki(dir_.path());
    ASSERT_TRUE(pki.Make()) << testing::ReadAll(pki.Path("openssl.log"));
    ServerOptions options{.listen = "127.0.0.1:0", .data_dir = dir_.Sub("d")};
    options.http_listen = "127.0.0.1:0";
    options.metrics_listen = "127.0.0.1:0";
    options.tls = {.cert = pki.Path("server.pem"),
                   .key = pki.Path("server.key")};
    ca_pem_ = pki.Path("ca.pem");
    using access::HashToken;
    using access::Role;
    options.principals = {{.name = "ada",
                           .role = Role::kAdmin,
                           .token_sha256 = HashToken("s1", kAdminToken)},
                          {.name = "olga",
                           .role = Role::kSafetyOfficer,
                           .token_sha256 = HashToken("s2", kOfficerToken)},
                          {.name = "site01",
                           .role = Role::kSite,
                           .sites = {"01"},
                           .token_sha256 = HashToken("s3", kSite01Token)},
                          {.name = "dora",
                           .role = Role::kDsmbMember,
                           .token_sha256 = HashToken("s4", kDsmbToken)}};
    auto server = Server::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  HttpResponse Call(const std::string& token, const std::string& method,
                    const std::string& target, const std::string& body = "",
                    bool head_only = false) {
    testing::Headers headers = kJson;
    if (!token.empty())
      headers.emplace_back("Authorization", "Bearer " + token);
    HttpConnection connection(server_->http_port(), /*tls=*/true);
    EXPECT_TRUE(connection.connected());
    EXPECT_TRUE(connection.Send(RequestBytes(method, target, body, headers)));
    auto response = connection.Read(absl::Seconds(30), head_only);
    EXPECT_TRUE(response.ok()) << target << ": " << response.status();
    return response.ok() ? *response : HttpResponse{};
  }

  testing::TempDir dir_;
  std::string ca_pem_;
  std::unique_ptr<Server> server_;
};

// Refused credentials are counted whichever transport brought them (both ask
// the one Authenticator), and the caller is told what was wrong.
TEST_F(HttpSecurityTest, RefusedCredentialsAreCountedOverBothTransports) {
  EXPECT_EQ(Call("", "GET", "/v1/trials").status, 401);
  const HttpResponse wrong = Call("wrong", "GET", "/v1/trials");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_THAT(wrong.body, HasSubstr("unknown bearer token"));
  EXPECT_EQ(Call(kAdminToken, "GET", "/v1/trials").status, 200);
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = testing::ReadAll(ca_pem_);
  auto channel = grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", server_->port()), grpc::SslCredentials(ssl));
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Token " + std::string(kAdminToken));
  v1::ListTrialsResponse trials;
  const grpc::Status refused = v1::TrialService::NewStub(channel)->ListTrials(
      &context, v1::ListTrialsRequest(), &trials);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(refused.error_message(), HasSubstr("not \"Bearer <token>\""));

  HttpConnection scrape(server_->metrics_port());
  ASSERT_TRUE(scrape.Send(RequestBytes("GET", "/metrics", "", {})));
  auto metrics = scrape.Read(absl::Seconds(30));
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  EXPECT_THAT(metrics->body,
              HasSubstr("aesignal_authentication_failures_total 3\n"));
}

TEST_F(HttpSecurityTest, EveryRouteFollowsTheRoleTable) {
  const std::pair<std::string, std::string> roles[] = {
      {"admin", kAdminToken},
      {"safety_officer", kOfficerToken},
      {"site", kSite01Token},
      {"dsmb_member", kDsmbToken}};
  for (const http::Route& route : http::V1Routes()) {
    // Site 01's own site, so the site restriction does not answer first.
    const std::string path = absl::StrReplaceAll(
        http::ExamplePath(route), {{"/sites/x1/", "/sites/01/"}});
    const std::string body = route.body.empty() ? "" : "{}";
    const bool stream = route.kind != http::RouteKind::kUnary;
    const std::string method(route.http_method);
    for (const std::string& token : {std::string(), std::string("wrong")}) {
      const HttpResponse refused = Call(token, method, path, body, stream);
      EXPECT_EQ(refused.status, 401) << path << " token '" << token << "'";
      EXPECT_THAT(refused.Header("www-authenticate"), HasSubstr("Bearer"));
    }
    for (const auto& [role, token] : roles) {
      const int status = Call(token, method, path, body, stream).status;
      if (testing::ExpectedAllowed(role, route.method.FullName())) {
        EXPECT_NE(status, 401) << role << " " << path;
        EXPECT_NE(status, 403) << role << " " << path;
      } else {
        EXPECT_EQ(status, 403) << role << " " << path;
      }
    }
  }
  EXPECT_EQ(Call("", "GET", "/v1/caller").status, 401);
  EXPECT_THAT(Call(kSite01Token, "GET", "/v1/caller").body,
              HasSubstr(R"("sites":["01"])"));
  EXPECT_THAT(Call(kDsmbToken, "GET", "/v1/caller").body,
              HasSubstr(R"("role":"dsmb_member")"));
  EXPECT_EQ(Call(kOfficerToken, "GET", "/metrics").status, 403);
  EXPECT_EQ(Call(kAdminToken, "GET", "/metrics").status, 200);
}

TEST_F(HttpSecurityTest, TriageOverHttpIsAuditedUnderThePrincipal) {
  ASSERT_TRUE(
      CreateTrialT1([this](const std::string& method, const std::string& target,
                           const std::string& body) {
        return Call(kAdminToken, method, target, body);
      }));
  v1::SubmitReportsRequest submit = SeriousReports({"S3", "S6"});
  const HttpResponse submitted =
      Call(kSite01Token, "POST", "/v1/trials/T1/reports:submit", Json(submit));
  ASSERT_EQ(submitted.status, 200) << submitted.body;
  // A site writes only its own site's reports.
  submit.mutable_reports(0)->set_site_id("02");
  EXPECT_EQ(
      Call(kSite01Token, "POST", "/v1/trials/T1/reports:submit", Json(submit))
          .status,
      403);
  absl::SleepFor(absl::Milliseconds(500));
  const auto topics = Parse<v1::ListTopicsResponse>(
      Call(kOfficerToken, "GET", "/v1/trials/T1/topics").body);
  ASSERT_GT(topics.topics_size(), 0);
  v1::TriageTopicRequest triage;
  triage.set_status(v1::SIGNAL_STATUS_VALIDATED);
  triage.set_comment("reviewing");
  const HttpResponse triaged = Call(
      kOfficerToken, "POST",
      absl::StrCat("/v1/", topics.topics(0).name(), ":triage"), Json(triage));
  ASSERT_EQ(triaged.status, 200) << triaged.body;
  EXPECT_EQ(Call(kSite01Token, "POST",
                 absl::StrCat("/v1/", topics.topics(0).name(), ":triage"),
                 Json(triage))
                .status,
            403);
  const auto audit = Parse<v1::ListAuditRecordsResponse>(
      Call(kAdminToken, "GET", "/v1/trials/T1/auditRecords?principal=olga")
          .body);
  ASSERT_GT(audit.audit_records_size(), 0);
  EXPECT_EQ(audit.audit_records(0).rpc(), "SignalService.TriageTopic");
}

}  // namespace
}  // namespace aesignal
