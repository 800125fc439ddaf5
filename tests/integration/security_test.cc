// Transport security and access control, end to end over TLS: every RPC of
// every service is called by every role (and by nobody, and by a wrong
// token, and by an unknown certificate) and the outcome is checked against
// the role table in docs/operations.md, written out again here rather than
// taken from the server's code. Certificates are made per run with openssl.
#include <fstream>
#include <future>
#include <map>
#include <set>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "aesignal/client/client.h"
#include "aesignal/v1/admin_service.grpc.pb.h"
#include "aesignal/v1/audit_service.grpc.pb.h"
#include "aesignal/v1/ingest_service.grpc.pb.h"
#include "aesignal/v1/safety_service.grpc.pb.h"
#include "aesignal/v1/signal_service.grpc.pb.h"
#include "aesignal/v1/trial_service.grpc.pb.h"
#include "clients/cli/cli.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "services/access/principals.h"
#include "services/server/grpc_log.h"
#include "services/server/server.h"
#include "tests/testing/access_matrix.h"
#include "tests/testing/fixtures.h"
#include "tests/testing/pki.h"
#include "tests/testing/temp_dir.h"

namespace aesignal {
namespace {

using access::HashToken;
using access::LoadPrincipals;
using access::Principal;
using access::Role;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kAdminToken[] = "admin-token-0123456789";
constexpr char kOfficerToken[] = "officer-token-0123456789";
constexpr char kSite01Token[] = "site01-token-0123456789";
constexpr char kDsmbToken[] = "dsmb-token-0123456789";

using testing::Pki;
using testing::ReadAll;
using testing::Write;

std::vector<Principal> TestPrincipals() {
  Principal admin{.name = "ada",
                  .role = Role::kAdmin,
                  .token_sha256 = HashToken("s1", kAdminToken)};
  Principal officer{.name = "olga",
                    .role = Role::kSafetyOfficer,
                    .token_sha256 = HashToken("s2", kOfficerToken)};
  Principal site01{.name = "site01",
                   .role = Role::kSite,
                   .sites = {"01"},
                   .token_sha256 = HashToken("s3", kSite01Token)};
  Principal site02{.name = "site02",
                   .role = Role::kSite,
                   .sites = {"02"},
                   .cert_common_name = "site-02-cert"};
  Principal dsmb{.name = "dora",
                 .role = Role::kDsmbMember,
                 .token_sha256 = HashToken("s4", kDsmbToken)};
  return {admin, officer, site01, site02, dsmb};
}

class SecurityTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    pki_ = new Pki(dir_->path());
    pki_ok_ = pki_->Make();
  }
  static void TearDownTestSuite() {
    delete pki_;
    delete dir_;
  }

  void SetUp() override {
    ASSERT_TRUE(pki_ok_) << ReadAll(pki_->Path("openssl.log"));
    data_ = std::make_unique<testing::TempDir>();
    ServerOptions options{.listen = "127.0.0.1:0",
                          .data_dir = data_->Sub("data")};
    options.tls = {.cert = pki_->Path("server.pem"),
                   .key = pki_->Path("server.key"),
                   .client_ca = pki_->Path("ca.pem")};
    options.principals = TestPrincipals();
    auto server = Server::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    target_ = absl::StrCat("127.0.0.1:", server_->port());
  }

  // Channel credentials: TLS verifying the server, with a client
  // certificate if `cert` names one of the Pki's.
  std::shared_ptr<grpc::ChannelCredentials> Tls(
      const std::string& cert = "") const {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = ReadAll(pki_->Path("ca.pem"));
    if (!cert.empty()) {
      ssl.pem_cert_chain = ReadAll(pki_->Path(cert + ".pem"));
      ssl.pem_private_key = ReadAll(pki_->Path(cert + ".key"));
    }
    return grpc::SslCredentials(ssl);
  }

  client::Client ClientWith(const std::string& token,
                            const std::string& cert = "") const {
    client::ConnectionOptions options;
    options.target = target_;
    options.credentials = Tls(cert);
    options.bearer_token = token;
    options.max_attempts = 1;
    return client::Client(client::MakeClientConnection(options));
  }

  // Trial T1 with sites 01 and 02; S1 enrolled at 01, S2 at 02.
  static void CreateTwoSiteTrial(client::Client& admin) {
    v1::Trial trial = testing::ThreeGroupTrial("T1");
    trial.add_sites()->set_site_id("02");
    ASSERT_TRUE(admin.CreateTrial(trial).ok());
    v1::Subject at02 = testing::SubjectNumber(2);
    at02.set_site_id("02");
    ASSERT_TRUE(
        admin.EnrollSubjects("T1", {testing::SubjectNumber(1), at02}).ok());
  }

  // Calls `path` on `channel` with one empty request message, then
  // half-closes, and returns the status.
  static grpc::Status UnaryEmpty(std::shared_ptr<grpc::Channel> channel,
                                 const std::string& path) {
    grpc::GenericStub stub(channel);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
    grpc::Slice empty("");
    grpc::ByteBuffer request(&empty, 1), reply;
    std::promise<grpc::Status> done;
    stub.UnaryCall(&context, path, grpc::StubOptions(), &request, &reply,
                   [&](grpc::Status status) { done.set_value(status); });
    return done.get_future().get();
  }

  // Calls `path` with an empty request message and returns the status (and
  // the response bytes in *response).
  grpc::Status CallRaw(const std::string& path, const std::string& token,
                       const std::string& cert, std::string* response) const {
    auto channel = grpc::CreateChannel(target_, Tls(cert));
    grpc::GenericStub stub(channel);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
    if (!token.empty()) context.AddMetadata("authorization", "Bearer " + token);
    grpc::Slice empty("");
    grpc::ByteBuffer request(&empty, 1), reply;
    std::promise<grpc::Status> done;
    stub.UnaryCall(&context, path, grpc::StubOptions(), &request, &reply,
                   [&](grpc::Status status) { done.set_value(status); });
    grpc::Status status = done.get_future().get();
    std::vector<grpc::Slice> slices;
    if (status.ok() && response != nullptr && reply.Dump(&slices).ok()) {
      for (const auto& slice : slices) {
        response->append(reinterpret_cast<const char*>(slice.begin()),
                         slice.size());
      }
    }
    return status;
  }

  // Calls `method` ("Service.Method") with an empty request message;
  // streaming methods are called as if unary (one empty message, then
  // half-close), which is enough to pass or fail access checks.
  grpc::StatusCode CallEmpty(const std::string& method,
                             const std::string& token,
                             const std::string& cert = "") const {
    std::string path = absl::StrCat("/aesignal.v1.", method);
    path[path.find('.', std::string("/aesignal.v1.").size())] = '/';
    return CallRaw(path, token, cert, nullptr).error_code();
  }

  static testing::TempDir* dir_;
  static Pki* pki_;
  static bool pki_ok_;
  std::unique_ptr<testing::TempDir> data_;
  std::unique_ptr<Server> server_;
  std::string target_;
};

testing::TempDir* SecurityTest::dir_ = nullptr;
Pki* SecurityTest::pki_ = nullptr;
bool SecurityTest::pki_ok_ = false;

TEST_F(SecurityTest, EveryRoleTimesEveryRpc) {
  struct Caller {
    std::string role, token, cert;
  };
  const std::vector<Caller> callers = {
      {"admin", kAdminToken, ""},
      {"safety_officer", kOfficerToken, ""},
      {"site", kSite01Token, ""},
      {"site", "", "site-02-cert"},  // identified by its certificate
      {"dsmb_member", kDsmbToken, ""},
  };
  const std::vector<std::string> methods = testing::AllV1Methods();
  ASSERT_EQ(methods.size(), 29u) << "a new RPC needs a row in the table";
  for (const std::string& method : methods) {
    for (const Caller& caller : callers) {
      const auto code = CallEmpty(method, caller.token, caller.cert);
      const bool allowed = testing::ExpectedAllowed(caller.role, method);
      SCOPED_TRACE(absl::StrCat(caller.role, " ", caller.cert, " -> ", method,
                                ": code ", code));
      if (allowed) {
        // Past access control: the handler ran (and judged the empty
        // request however it does).
        EXPECT_NE(code, grpc::StatusCode::PERMISSION_DENIED);
        EXPECT_NE(code, grpc::StatusCode::UNAUTHENTICATED);
      } else {
        EXPECT_EQ(code, grpc::StatusCode::PERMISSION_DENIED);
      }
    }
    SCOPED_TRACE(method);
    EXPECT_EQ(CallEmpty(method, ""), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_EQ(CallEmpty(method, "not-a-token"),
              grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_EQ(CallEmpty(method, std::string(kAdminToken) + "x"),
              grpc::StatusCode::UNAUTHENTICATED);
    // A certificate from the right CA but of nobody known.
    EXPECT_EQ(CallEmpty(method, "", "nobody"),
              grpc::StatusCode::UNAUTHENTICATED);
  }
}

TEST_F(SecurityTest, SitesWriteOnlyTheirOwnSubjectsAndNothingIsStored) {
  client::Client admin = ClientWith(kAdminToken);
  v1::Trial trial = testing::ThreeGroupTrial("T1");
  trial.add_sites()->set_site_id("02");
  ASSERT_TRUE(admin.CreateTrial(trial).ok());

  client::Client site01 = ClientWith(kSite01Token);
  v1::Subject at02 = testing::SubjectNumber(2);
  at02.set_site_id("02");
  auto enrolled =
      site01.EnrollSubjects("T1", {testing::SubjectNumber(1), at02});
  EXPECT_EQ(enrolled.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(enrolled.status().message(), HasSubstr("subjects[1].site_id"));
  EXPECT_TRUE(admin.ListAllSubjects("T1")->empty())
      << "a refused request stores nothing, not even its allowed rows";

  // Site 02, by certificate, enrolls its own subject; site 01 enrolls its.
  client::Client site02 = ClientWith("", "site-02-cert");
  ASSERT_TRUE(site02.EnrollSubjects("T1", {at02}).ok());
  ASSERT_TRUE(site01.EnrollSubjects("T1", {testing::SubjectNumber(1)}).ok());

  // Site 01 reporting an AE of site 02's subject: refused, by either RPC.
  v1::AdverseEventReport foreign = testing::Report("R9", 1, "S2", 10, "Rash");
  foreign.set_site_id("02");
  const v1::AdverseEventReport own = testing::Report("R1", 1, "S1", 10, "Rash");
  auto submitted = site01.SubmitReports("T1", {own, foreign});
  EXPECT_EQ(submitted.status().code(), absl::StatusCode::kPermissionDenied);

  auto stream = site01.connection().OpenReportStream();
  v1::StreamReportsRequest batch;
  batch.set_parent("trials/T1");
  batch.set_batch_id(7);
  *batch.add_reports() = own;
  *batch.add_reports() = foreign;
  ASSERT_TRUE(stream->Write(batch));
  stream->WritesDone();
  v1::StreamReportsResponse response;
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.batch_id(), 7);
  EXPECT_EQ(response.error().code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_FALSE(stream->Read(&response));
  EXPECT_TRUE(stream->Finish().ok());

  auto incidence = admin.GetIncidence("T1", v1::TERM_LEVEL_OVERALL);
  ASSERT_TRUE(incidence.ok()) << incidence.status();
  for (const auto& term : incidence->terms()) {
    for (const auto& cell : term.cells()) {
      EXPECT_EQ(cell.cumulative().subjects(), 0);
    }
  }

  // A report naming its own site for another site's subject: rejected
  // without telling the site which site the subject is at.
  v1::AdverseEventReport misfiled = testing::Report("R8", 1, "S2", 10, "Rash");
  auto misfiled_result = site01.SubmitReports("T1", {misfiled});
  ASSERT_TRUE(misfiled_result.ok()) << misfiled_result.status();
  EXPECT_EQ(misfiled_result->results(0).field(), "reports[0].site_id");
  EXPECT_THAT(misfiled_result->results(0).reason(),
              HasSubstr("'S2' is not enrolled at site '01'"));
  EXPECT_THAT(misfiled_result->results(0).reason(), Not(HasSubstr("02")));
  auto admin_result = admin.SubmitReports("T1", {misfiled});
  ASSERT_TRUE(admin_result.ok()) << admin_result.status();
  EXPECT_THAT(admin_result->results(0).reason(),
              HasSubstr("'S2' is enrolled at site '02'"));

  // Its own report goes through, and the audit trail names the principal.
  ASSERT_TRUE(site01.SubmitReports("T1", {own}).ok());
  auto audit = ClientWith(kOfficerToken).GetAuditTrail("T1");
  ASSERT_TRUE(audit.ok()) << audit.status();
  std::set<std::string> principals;
  for (const auto& record : *audit) principals.insert(record.principal());
  EXPECT_EQ(principals, (std::set<std::string>{"ada", "site01", "site02"}));
}

TEST_F(SecurityTest, SitesReadOnlyTheirOwnReportsAndSubjects) {
  client::Client admin = ClientWith(kAdminToken);
  ASSERT_NO_FATAL_FAILURE(CreateTwoSiteTrial(admin));
  v1::AdverseEventReport foreign = testing::Report("R9", 1, "S2", 10, "Rash");
  foreign.set_site_id("02");
  ASSERT_TRUE(
      admin
          .SubmitReports("T1",
                         {testing::Report("R1", 1, "S1", 10, "Rash"), foreign})
          .ok());

  auto channel = grpc::CreateChannel(target_, Tls(""));
  auto safety = v1::SafetyService::NewStub(channel);
  auto trials = v1::TrialService::NewStub(channel);
  auto as_site01 = [](grpc::ClientContext* context) {
    context->AddMetadata("authorization",
                         absl::StrCat("Bearer ", kSite01Token));
  };
  v1::ListReportsRequest list;
  list.set_parent("trials/T1");
  v1::ListReportsResponse listed;
  {
    grpc::ClientContext context;
    as_site01(&context);
    ASSERT_TRUE(safety->ListReports(&context, list, &listed).ok());
  }
  ASSERT_EQ(listed.reports_size(), 1);
  EXPECT_EQ(listed.reports(0).report_id(), "R1");
  EXPECT_EQ(listed.total_size(), 1);
  list.set_site_id("02");
  {
    grpc::ClientContext context;
    as_site01(&context);
    EXPECT_EQ(safety->ListReports(&context, list, &listed).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  v1::GetReportRequest get;
  get.set_name("trials/T1/sites/02/reports/R9");
  v1::Report report;
  {
    grpc::ClientContext context;
    as_site01(&context);
    EXPECT_EQ(safety->GetReport(&context, get, &report).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  get.set_name("trials/T1/sites/01/reports/R1");
  {
    grpc::ClientContext context;
    as_site01(&context);
    const grpc::Status s = safety->GetReport(&context, get, &report);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(report.current().submitted_by(), "ada");
  }
  v1::GetSubjectRequest subject;
  subject.set_name("trials/T1/subjects/S2");
  v1::Subject s2;
  {
    grpc::ClientContext context;
    as_site01(&context);
    EXPECT_EQ(trials->GetSubject(&context, subject, &s2).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
}

TEST_F(SecurityTest, ClaimedPrincipalHeaderIsIgnoredWhenAuthenticating) {
  client::ConnectionOptions options;
  options.target = target_;
  options.credentials = Tls();
  options.bearer_token = kAdminToken;
  options.principal = "someone-else";
  client::Client admin(client::MakeClientConnection(options));
  ASSERT_TRUE(admin.CreateTrial(testing::ThreeGroupTrial("T1")).ok());
  auto audit = admin.GetAuditTrail("T1");
  ASSERT_TRUE(audit.ok());
  ASSERT_FALSE(audit->empty());
  EXPECT_EQ(audit->front().principal(), "ada");
}

TEST_F(SecurityTest, CertificateFromAnotherCaCannotConnect) {
  auto channel = grpc::CreateChannel(target_, Tls("rogue"));
  auto stub = v1::TrialService::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(5));
  v1::ListTrialsResponse response;
  const auto status = stub->ListTrials(&context, {}, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << status.error_message();
}

// A client retrying with a certificate no configured CA issued fails its
// handshake every time: each failure is counted (the metric), and the log
// gets one line, not one per attempt.
TEST_F(SecurityTest, FailedHandshakesAreCountedAndLoggedOnce) {
  absl::Mutex mu;
  std::vector<std::string> lines;
  RouteGrpcLog({.log =
                    [&](const std::string& line) {
                      absl::MutexLock lock(&mu);
                      lines.push_back(line);
                    },
                .interval = absl::Hours(1)});
  for (int attempt = 0; attempt < 3; ++attempt) {
    grpc::ChannelArguments args;  // a new connection each time
    args.SetInt("aesignal.test.attempt", attempt);
    auto stub = v1::TrialService::NewStub(
        grpc::CreateCustomChannel(target_, Tls("rogue"), args));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(5));
    v1::ListTrialsResponse response;
    EXPECT_EQ(stub->ListTrials(&context, {}, &response).error_code(),
              grpc::StatusCode::UNAVAILABLE);
  }
  EXPECT_GE(TlsHandshakeFailures(), 3);
  FlushGrpcLog();  // nothing due within the hour
  absl::MutexLock lock(&mu);
  ASSERT_EQ(lines.size(), 1u) << absl::StrJoin(lines, "\n");
  EXPECT_THAT(lines[0], HasSubstr("a TLS handshake failed: "));
  EXPECT_THAT(lines[0], HasSubstr("aesignal_tls_handshake_failures_total"));
}

TEST_F(SecurityTest, PlaintextClientCannotTalkToTlsServer) {
  auto channel =
      grpc::CreateChannel(target_, grpc::InsecureChannelCredentials());
  auto stub = v1::TrialService::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(5));
  context.AddMetadata("authorization", std::string("Bearer ") + kAdminToken);
  v1::ListTrialsResponse response;
  EXPECT_EQ(stub->ListTrials(&context, {}, &response).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST_F(SecurityTest, HealthNeedsNoCredentials) {
  std::string response;
  // HealthCheckRequest{service: ""} is the empty message.
  grpc::Status s = CallRaw("/grpc.health.v1.Health/Check", "", "", &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(response, std::string("\x08\x01", 2));  // status: SERVING
}

// A plaintext health-only listener lets probes that cannot do TLS (the
// Kubernetes grpc probe) see readiness, and nothing else.
TEST_F(SecurityTest, PlaintextHealthListenerServesOnlyHealth) {
  server_.reset();
  testing::TempDir other;
  ServerOptions options{.listen = "127.0.0.1:0", .data_dir = other.Sub("d")};
  options.tls = {.cert = pki_->Path("server.pem"),
                 .key = pki_->Path("server.key"),
                 .client_ca = pki_->Path("ca.pem")};
  options.principals = TestPrincipals();
  options.health_listen = "127.0.0.1:0";
  auto server = Server::Start(options);
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_GT((*server)->health_port(), 0);

  client::ConnectionOptions plaintext;
  plaintext.target = absl::StrCat("127.0.0.1:", (*server)->health_port());
  plaintext.max_attempts = 1;
  auto probe = client::MakeClientConnection(plaintext);
  auto serving = probe->CheckHealth();
  ASSERT_TRUE(serving.ok()) << serving.status();
  EXPECT_TRUE(*serving);
  // The aesignal services are not there.
  client::Client c(probe);
  EXPECT_EQ(c.ListAllTrials().status().code(),
            absl::StatusCode::kUnimplemented);
  // Nor is server reflection (it would hand out the aesignal schema without
  // credentials); the TLS port has it.
  const std::string reflection =
      "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo";
  EXPECT_EQ(UnaryEmpty(grpc::CreateChannel(plaintext.target,
                                           grpc::InsecureChannelCredentials()),
                       reflection)
                .error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_NE(
      UnaryEmpty(grpc::CreateChannel(
                     absl::StrCat("127.0.0.1:", (*server)->port()), Tls("")),
                 reflection)
          .error_code(),
      grpc::StatusCode::UNIMPLEMENTED);

  // The CLI's health command over TLS needs no token.
  std::ostringstream out, err;
  EXPECT_EQ(cli::RunCli({"aesignal", "--server",
                         absl::StrCat("127.0.0.1:", (*server)->port()),
                         "--tls-ca", pki_->Path("ca.pem"), "health"},
                        {.out = out, .err = err}),
            0)
      << err.str();
  EXPECT_EQ(out.str(), "SERVING\n");

  (*server)->BeginDrain();
  serving = probe->CheckHealth();
  ASSERT_TRUE(serving.ok());
  EXPECT_FALSE(*serving);
}

// `aesignal admin new-token` writes an entry the server accepts for the
// token it printed (the CLI and the server hash independently).
TEST_F(SecurityTest, CliNewTokenEntryAuthenticates) {
  std::ostringstream out, err;
  ASSERT_EQ(cli::RunCli({"aesignal", "admin", "new-token", "--name", "dora",
                         "--role", "safety_officer"},
                        {.out = out, .err = err}),
            0)
      << err.str();
  std::string token, yaml;
  bool next_is_token = false;
  for (absl::string_view line : absl::StrSplit(out.str(), '\n')) {
    if (next_is_token) {
      token = std::string(absl::StripPrefix(line, "# "));
      next_is_token = false;
    } else if (absl::StartsWith(line, "# token for")) {
      next_is_token = true;
    } else if (!absl::StartsWith(line, "#")) {
      absl::StrAppend(&yaml, line, "\n");
    }
  }
  ASSERT_EQ(token.size(), 64u) << out.str();
  Write(data_->Sub("principals.yaml"), yaml);
  auto principals = LoadPrincipals(data_->Sub("principals.yaml"));
  ASSERT_TRUE(principals.ok()) << principals.status() << "\n" << yaml;
  ASSERT_EQ(principals->size(), 1u);

  server_.reset();
  testing::TempDir other;
  ServerOptions options{.listen = "127.0.0.1:0", .data_dir = other.Sub("d")};
  options.tls = {.cert = pki_->Path("server.pem"),
                 .key = pki_->Path("server.key")};
  options.principals = *principals;
  auto server = Server::Start(options);
  ASSERT_TRUE(server.ok()) << server.status();
  target_ = absl::StrCat("127.0.0.1:", (*server)->port());
  EXPECT_EQ(CallEmpty("TrialService.ListTrials", token), grpc::StatusCode::OK);
  EXPECT_EQ(CallEmpty("TrialService.CreateTrial", token),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(CallEmpty("TrialService.ListTrials", token.substr(1)),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(SecurityTest, CliUsesTlsAndTokenFile) {
  Write(data_->Sub("token"), std::string(kOfficerToken) + "\n");
  const std::vector<std::string> base = {"aesignal", "--server", target_,
                                         "--tls-ca", pki_->Path("ca.pem")};
  auto run = [&](std::vector<std::string> extra, std::string* out_text,
                 std::string* err_text) {
    std::vector<std::string> args = base;
    args.insert(args.end(), extra.begin(), extra.end());
    std::ostringstream out, err;
    const int code = cli::RunCli(args, {.out = out, .err = err});
    *out_text = out.str();
    *err_text = err.str();
    return code;
  };
  std::string out, err;
  EXPECT_EQ(
      run({"--token-file", data_->Sub("token"), "trial", "list"}, &out, &err),
      0)
      << err;
  // No token: the server says who is missing.
  unsetenv("AESIGNAL_TOKEN");
  EXPECT_EQ(run({"trial", "list"}, &out, &err), 1);
  EXPECT_THAT(err, HasSubstr("UNAUTHENTICATED"));
  // The officer may not create trials.
  Write(data_->Sub("trial.json"), R"({"trialId": "X", "title": "x"})");
  EXPECT_EQ(run({"--token-file", data_->Sub("token"), "trial", "create",
                 "--file", data_->Sub("trial.json")},
                &out, &err),
            1);
  EXPECT_THAT(err, HasSubstr("PERMISSION_DENIED"));
  // Unreadable credential files are usage errors named by the CLI.
  EXPECT_EQ(
      run({"--token-file", data_->Sub("missing"), "trial", "list"}, &out, &err),
      2);
  EXPECT_THAT(err, HasSubstr("--token-file"));
  EXPECT_EQ(run({"--tls-cert", pki_->Path("nobody.pem"), "trial", "list"}, &out,
                &err),
            2);
  EXPECT_THAT(err, HasSubstr("both its cert and its key"));
  // A refused report stream is an error, not an abort (the SDK streamer had
  // finished the failed stream twice, which gRPC answers with SIGABRT).
  Write(data_->Sub("reports.csv"),
        "report_id,version,site_id,subject_id,onset_study_day,pt,soc,grade\n"
        "R1,1,01,S1,3,Nausea,GI,1\n");
  for (const std::vector<std::string>& who :
       {std::vector<std::string>{}, {"--token-file", data_->Sub("token")}}) {
    std::vector<std::string> submit = who;
    for (const char* arg : {"reports", "submit", "--trial", "T1", "--file"}) {
      submit.push_back(arg);
    }
    submit.push_back(data_->Sub("reports.csv"));
    EXPECT_EQ(run(submit, &out, &err), 1) << err;
    EXPECT_THAT(
        err, HasSubstr(who.empty() ? "UNAUTHENTICATED" : "PERMISSION_DENIED"));
  }
  // A plaintext client to the TLS port is told what may be wrong.
  std::ostringstream plain_out, plain_err;
  EXPECT_EQ(cli::RunCli({"aesignal", "--server", target_, "trial", "list"},
                        {.out = plain_out, .err = plain_err}),
            1);
  EXPECT_THAT(plain_err.str(), HasSubstr("UNAVAILABLE"));
  EXPECT_THAT(plain_err.str(), HasSubstr("pass --tls-ca"));
}

// TLS without principals lets every caller in as an admin: on a network
// address, for gRPC and HTTP alike, only with --insecure.
// A site's CSV with one row of another site's subject: the server refuses
// that row's whole batch (a site may not submit for another). The CLI names
// the row by file line and field, says which lines the refused batch held,
// and gives every row a fate: stored (counted), in the refused batch, or
// without an outcome from the first such row on.
TEST_F(SecurityTest, CliSubmitNamesARefusedBatchAndEveryRowsFate) {
  client::Client admin = ClientWith(kAdminToken);
  ASSERT_NO_FATAL_FAILURE(CreateTwoSiteTrial(admin));
  std::string csv =
      "report_id,version,site_id,subject_id,onset_study_day,pt,"
      "soc,grade,serious\n";
  for (int i = 1; i <= 8; ++i) {  // file lines 2..9; R4 (line 5) is site 02's
    const bool foreign = i == 4;
    absl::StrAppend(&csv, "R", i, ",1,", foreign ? "02" : "01", ",",
                    foreign ? "S2" : "S1", ",", 10 + i, ",Rash,Skin,1,N\n");
  }
  Write(data_->Sub("site.csv"), csv);
  Write(data_->Sub("token"), std::string(kSite01Token) + "\n");
  std::ostringstream out, err;
  const int code = cli::RunCli(
      {"aesignal", "--server", target_, "--tls-ca", pki_->Path("ca.pem"),
       "--token-file", data_->Sub("token"), "reports", "submit", "--trial",
       "T1", "--file", data_->Sub("site.csv"), "--batch-size", "2"},
      {.out = out, .err = err});
  EXPECT_EQ(code, 1);
  const std::string file = data_->Sub("site.csv");
  EXPECT_THAT(err.str(), HasSubstr(absl::StrCat(file, ":5: site_id: ")))
      << err.str();
  EXPECT_THAT(err.str(), HasSubstr("whole batch, lines 4-5: none of its 2 "
                                   "reports are stored"));
  EXPECT_THAT(err.str(), HasSubstr("error: PERMISSION_DENIED: the server "
                                   "refused 2 rows"));
  EXPECT_THAT(err.str(), Not(HasSubstr("reports[1]")))
      << "batch positions are file lines for the user";
  EXPECT_THAT(out.str(), HasSubstr("in refused batches 2")) << out.str();

  // What the CLI said matches what is stored: R3 and R4 are not; every row
  // before the first row "without an outcome" other than those is.
  auto stored = admin.ListAllReports("T1");
  ASSERT_TRUE(stored.ok()) << stored.status();
  std::set<std::string> ids;
  for (const auto& r : *stored) ids.insert(r.report_id());
  EXPECT_FALSE(ids.count("R3"));
  EXPECT_FALSE(ids.count("R4"));
  int first_without = 10;
  const size_t at = err.str().find(": this row and every row after it");
  if (at != std::string::npos) {
    const size_t colon = err.str().rfind(':', at - 1);
    ASSERT_TRUE(absl::SimpleAtoi(err.str().substr(colon + 1, at - colon - 1),
                                 &first_without));
  }
  for (int i = 1; i <= 8; ++i) {
    const int line = i + 1;
    if (i == 3 || i == 4 || line >= first_without) continue;
    EXPECT_TRUE(ids.count(absl::StrCat("R", i))) << "R" << i << "\n"
                                                 << err.str();
  }
  EXPECT_THAT(out.str(), HasSubstr(absl::StrCat("accepted ", ids.size())));
}

TEST_F(SecurityTest, TlsWithoutPrincipalsOnlyOnLoopbackUnlessInsecure) {
  server_.reset();
  testing::TempDir other;
  ServerOptions grpc_open{.listen = "0.0.0.0:0", .data_dir = other.Sub("a")};
  grpc_open.tls = {.cert = pki_->Path("server.pem"),
                   .key = pki_->Path("server.key")};
  grpc_open.http_listen = "";
  auto refused = Server::Start(grpc_open);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(),
              HasSubstr("refusing to listen on 0.0.0.0:0 without principals"));

  ServerOptions http_open = grpc_open;
  http_open.listen = "127.0.0.1:0";
  http_open.http_listen = "0.0.0.0:0";
  http_open.data_dir = other.Sub("b");
  refused = Server::Start(http_open);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(),
              HasSubstr("refusing to serve HTTP on 0.0.0.0:0 without "
                        "principals"));

  http_open.allow_insecure = true;
  http_open.listen = "0.0.0.0:0";
  EXPECT_TRUE(Server::Start(http_open).ok());
  http_open.allow_insecure = false;
  http_open.principals = TestPrincipals();
  http_open.tls.client_ca = pki_->Path("ca.pem");
  http_open.data_dir = other.Sub("c");
  EXPECT_TRUE(Server::Start(http_open).ok());
}

// TestPrincipals' site02 has only a certificate's common name: without a
// client CA it could never connect, and the server says so rather than
// locking that site out in silence. With a token as well it may start.
TEST_F(SecurityTest, ACertificateOnlyPrincipalNeedsAClientCa) {
  server_.reset();
  testing::TempDir other;
  ServerOptions options{.listen = "127.0.0.1:0", .data_dir = other.Sub("a")};
  options.tls = {.cert = pki_->Path("server.pem"),
                 .key = pki_->Path("server.key")};
  options.principals = TestPrincipals();
  auto refused = Server::Start(options);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(),
              HasSubstr("principal 'site02' is identified by cert_common_name "
                        "'site-02-cert' only, but no --tls_client_ca"));
  for (Principal& principal : options.principals) {
    if (principal.name == "site02") {
      principal.token_sha256 = HashToken("s5", "site02-token");
    }
  }
  EXPECT_TRUE(Server::Start(options).ok());
}

// A certificate and key that do not go together, or a file that is not
// PEM, are named as such (exit 2), not "cannot listen" (exit 1, restarted).
TEST_F(SecurityTest, TlsFilesThatDoNotMatchAreNamed) {
  server_.reset();
  testing::TempDir other;
  ServerOptions options{.listen = "127.0.0.1:0", .data_dir = other.Sub("a")};
  options.tls = {.cert = pki_->Path("server.pem"),
                 .key = pki_->Path("nobody.key")};
  auto refused = Server::Start(options);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.status().message(),
              HasSubstr("is not the key of the certificate"));
  options.tls.key = pki_->Path("server.pem");
  refused = Server::Start(options);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.status().message(),
              HasSubstr("--tls_key: " + pki_->Path("server.pem") +
                        " is not a PEM private key"));
  options.tls = {.cert = pki_->Path("server.key"),
                 .key = pki_->Path("server.key")};
  refused = Server::Start(options);
  EXPECT_THAT(refused.status().message(),
              HasSubstr("is not a PEM certificate chain"));
}

// A second server on a port in use must not start: with gRPC's default
// SO_REUSEPORT it did, and the kernel split connections, and so reports,
// between two stores.
TEST(ListenPolicyTest, ASecondServerCannotShareAPort) {
  testing::TempDir dir;
  ServerOptions first{.listen = "127.0.0.1:0", .data_dir = dir.Sub("a")};
  first.http_listen = "";
  first.health_listen = "127.0.0.1:0";
  auto running = Server::Start(first);
  ASSERT_TRUE(running.ok()) << running.status();
  for (const bool health : {false, true}) {
    ServerOptions second{.listen = "127.0.0.1:0", .data_dir = dir.Sub("b")};
    second.http_listen = "";
    const std::string taken = absl::StrCat(
        "127.0.0.1:", health ? (*running)->health_port() : (*running)->port());
    (health ? second.health_listen : second.listen) = taken;
    auto refused = Server::Start(second);
    EXPECT_FALSE(refused.ok()) << taken;
    EXPECT_THAT(refused.status().message(), HasSubstr("cannot listen"));
  }
}

TEST(ListenPolicyTest, PlaintextOnlyOnLoopbackUnlessInsecure) {
  testing::TempDir dir;
  auto refused =
      Server::Start({.listen = "0.0.0.0:0", .data_dir = dir.Sub("a")});
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(), HasSubstr("without TLS"));

  ServerOptions insecure{.listen = "0.0.0.0:0", .data_dir = dir.Sub("b")};
  insecure.allow_insecure = true;
  EXPECT_TRUE(Server::Start(insecure).ok());

  // Principals without TLS would send tokens in the clear.
  ServerOptions tokens_in_clear{.listen = "127.0.0.1:0",
                                .data_dir = dir.Sub("c")};
  tokens_in_clear.principals = TestPrincipals();
  EXPECT_EQ(Server::Start(tokens_in_clear).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

// The printed entry is YAML that means what was asked, whatever the name
// and site ids hold (": " and " #" had changed its meaning; "01" must stay
// text).
TEST(PrincipalsFileTest, NewTokenEntryQuotesNameAndSites) {
  testing::TempDir dir;
  std::ostringstream out, err;
  ASSERT_EQ(cli::RunCli({"aesignal", "admin", "new-token", "--name",
                         "Dr. X: ops \"lead\"", "--role", "site", "--site",
                         "01", "--site", "A #1"},
                        {.out = out, .err = err}),
            0)
      << err.str();
  std::string yaml;
  for (absl::string_view line : absl::StrSplit(out.str(), '\n')) {
    if (!absl::StartsWith(line, "#")) absl::StrAppend(&yaml, line, "\n");
  }
  Write(dir.Sub("p.yaml"), yaml);
  auto principals = LoadPrincipals(dir.Sub("p.yaml"));
  ASSERT_TRUE(principals.ok()) << principals.status() << "\n" << yaml;
  ASSERT_EQ(principals->size(), 1u);
  EXPECT_EQ((*principals)[0].name, "Dr. X: ops \"lead\"");
  EXPECT_THAT((*principals)[0].sites, ElementsAre("01", "A #1"));
}

TEST(PrincipalsFileTest, ErrorsNameTheEntryAndField) {
  testing::TempDir dir;
  const std::string path = dir.Sub("p.yaml");
  struct Case {
    std::string yaml, message;
  };
  const std::vector<Case> cases = {
      {"name: x\n", "must be a list"},
      {"- {role: admin, token_sha256: 'a:b'}\n", "principal 1: name"},
      {"- {name: a, role: boss, token_sha256: 'a:b'}\n",
       "principal 1: role: 'boss'"},
      {"- {name: a, role: site, token_sha256: 'a:b'}\n", "principal 1: sites"},
      {"- {name: a, role: admin}\n",
       "principal 1: needs token_sha256 or cert_common_name"},
      {"- {name: a, role: admin, token_sha256: "
       "'a:2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881'}\n"
       "- {name: a, role: admin, token_sha256: "
       "'c:2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881'}"
       "\n",
       "principal 2: name: required and unique"},
      {"- {name: a, role: admin, token_sha256: plaintext}\n",
       "token_sha256: must be SALT:HEX"},
      // Shapes that could never match a token (upper-case hex, cut short, no
      // salt) are refused at start, not left to lock the principal out.
      {"- {name: a, role: admin, token_sha256: "
       "'a:2D711642B726B04401627CA9FBAC32F5C8530FB1903CC4DB02258717921A4881'}"
       "\n",
       "token_sha256: must be SALT:HEX, a salt"},
      {"- {name: a, role: admin, token_sha256: 'a:2d711642'}\n",
       "token_sha256: must be SALT:HEX, a salt"},
      {"- {name: a, role: admin, token_sha256: "
       "':2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881'}\n",
       "token_sha256: must be SALT:HEX, a salt"},
      {"- [unclosed\n", "not readable YAML"},
      // Misspelt keys were ignored, and with them what they said.
      {"- {name: a, role: admin, site: ['01'], token_sha256: 'a:b'}\n",
       "principal 1: unknown key 'site' (name, role, sites"},
      {"- {name: a, role: admin, token_sha265: 'a:b', cert_common_name: c}\n",
       "principal 1: unknown key 'token_sha265'"},
      {"- just-a-name\n", "principal 1: must be a mapping"},
      // One certificate, one principal (the first entry had won).
      {"- {name: a, role: site, sites: ['01'], cert_common_name: c}\n"
       "- {name: b, role: admin, cert_common_name: c}\n",
       "principal 2: cert_common_name: 'c' is another principal's"},
  };
  for (const Case& c : cases) {
    Write(path, c.yaml);
    auto loaded = LoadPrincipals(path);
    EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument)
        << c.yaml;
    EXPECT_THAT(loaded.status().message(), HasSubstr(c.message)) << c.yaml;
  }
  EXPECT_EQ(LoadPrincipals(dir.Sub("missing.yaml")).status().message(),
            dir.Sub("missing.yaml") + ": no such file");
}

TEST(HashTokenTest, IsSaltedSha256) {
  // printf 'pepperhunter2' | sha256sum
  EXPECT_EQ(HashToken("pepper", "hunter2"),
            "pepper:"
            "ca458f67a1e64e60f40414c062c57abbfc1d41b5d0c30cd07d12704540067f21");
}

}  // namespace
}  // namespace aesignal
