// Which unary RPCs the gRPC connection retries (kRetryPolicies): every call
// goes to an in-process server whose every method fails with UNAVAILABLE and
// which counts the attempts, so the outcome is deterministic.
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "aesignal/client/client.h"
#include "aesignal/client/connection.h"
#include "gmock/gmock.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"

namespace aesignal::client {
namespace {

using ::testing::Each;
using ::testing::SizeIs;

constexpr int kMaxAttempts = 3;

// A gRPC server that answers every call of any method with UNAVAILABLE and
// records, per method ("Service.Method"), the request of each attempt.
class UnavailableServer {
 public:
  UnavailableServer() : service_(this) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port_);
    builder.RegisterCallbackGenericService(&service_);
    server_ = builder.BuildAndStart();
  }
  ~UnavailableServer() { server_->Shutdown(); }

  // A connection to this server that retries up to kMaxAttempts times.
  std::shared_ptr<ClientConnection> Connect() const {
    ConnectionOptions options;
    options.target = absl::StrCat("127.0.0.1:", port_);
    options.max_attempts = kMaxAttempts;
    options.initial_backoff = absl::Milliseconds(1);
    options.call_timeout = absl::Seconds(10);
    return MakeClientConnection(options);
  }
  bool started() const { return server_ != nullptr && port_ != 0; }

  int Attempts(std::string_view method) const {
    return static_cast<int>(Requests(method).size());
  }
  std::vector<std::string> Requests(std::string_view method) const {
    absl::MutexLock lock(&mu_);
    auto it = requests_.find(std::string(method));
    return it == requests_.end() ? std::vector<std::string>() : it->second;
  }

 private:
  // Reads the one request message, records it, fails the call.
  class Reactor : public grpc::ServerGenericBidiReactor {
   public:
    Reactor(UnavailableServer* server, std::string method)
        : server_(server), method_(std::move(method)) {
      StartRead(&request_);
    }
    void OnReadDone(bool ok) override {
      std::string bytes;
      std::vector<grpc::Slice> slices;
      if (ok && request_.Dump(&slices).ok()) {
        for (const auto& s : slices) {
          bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
        }
      }
      server_->Record(method_, std::move(bytes));
      Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "test: unavailable"));
    }
    void OnDone() override { delete this; }

   private:
    UnavailableServer* server_;
    std::string method_;
    grpc::ByteBuffer request_;
  };

  class Service : public grpc::CallbackGenericService {
   public:
    explicit Service(UnavailableServer* server) : server_(server) {}
    grpc::ServerGenericBidiReactor* CreateReactor(
        grpc::GenericCallbackServerContext* context) override {
      // "/aesignal.v1.TrialService/GetTrial" -> "TrialService.GetTrial".
      std::string method(absl::StripPrefix(context->method(), "/aesignal.v1."));
      return new Reactor(server_, absl::StrReplaceAll(method, {{"/", "."}}));
    }

   private:
    UnavailableServer* server_;
  };

  void Record(const std::string& method, std::string request) {
    absl::MutexLock lock(&mu_);
    requests_[method].push_back(std::move(request));
  }

  Service service_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  mutable absl::Mutex mu_;
  std::map<std::string, std::vector<std::string>> requests_
      ABSL_GUARDED_BY(mu_);
};

// One unary RPC called through the connection with a default request.
struct RpcCall {
  std::string method;
  std::function<absl::Status(ClientConnection&)> call;
};

std::vector<RpcCall> TrialIngestSafetyCalls() {
  return {
      {"TrialService.CreateTrial",
       [](ClientConnection& c) { return c.CreateTrial({}).status(); }},
      {"TrialService.GetTrial",
       [](ClientConnection& c) { return c.GetTrial({}).status(); }},
      {"TrialService.ListTrials",
       [](ClientConnection& c) { return c.ListTrials({}).status(); }},
      {"TrialService.UpdateTrial",
       [](ClientConnection& c) { return c.UpdateTrial({}).status(); }},
      {"TrialService.EnrollSubjects",
       [](ClientConnection& c) { return c.EnrollSubjects({}).status(); }},
      {"TrialService.ListSubjects",
       [](ClientConnection& c) { return c.ListSubjects({}).status(); }},
      {"TrialService.GetSubject",
       [](ClientConnection& c) { return c.GetSubject({}).status(); }},
      {"IngestService.SubmitReports",
       [](ClientConnection& c) { return c.SubmitReports({}).status(); }},
      {"SafetyService.GetIncidence",
       [](ClientConnection& c) { return c.GetIncidence({}).status(); }},
      {"SafetyService.GetReport",
       [](ClientConnection& c) { return c.GetReport({}).status(); }},
      {"SafetyService.ListReports",
       [](ClientConnection& c) { return c.ListReports({}).status(); }},
      {"SafetyService.GenerateDsmbReport",
       [](ClientConnection& c) { return c.GenerateDsmbReport({}).status(); }},
  };
}

std::vector<RpcCall> SignalAuditAdminCalls() {
  return {
      {"SignalService.PutBaselines",
       [](ClientConnection& c) { return c.PutBaselines({}).status(); }},
      {"SignalService.ListBaselines",
       [](ClientConnection& c) { return c.ListBaselines({}).status(); }},
      {"SignalService.GetBaseline",
       [](ClientConnection& c) { return c.GetBaseline({}).status(); }},
      {"SignalService.ListSignals",
       [](ClientConnection& c) { return c.ListSignals({}).status(); }},
      {"SignalService.GetSignal",
       [](ClientConnection& c) { return c.GetSignal({}).status(); }},
      {"SignalService.TriageSignal",  // no request_id: attempted once
       [](ClientConnection& c) { return c.TriageSignal({}).status(); }},
      {"SignalService.UpdateSignal",
       [](ClientConnection& c) { return c.UpdateSignal({}).status(); }},
      {"SignalService.ListTopics",
       [](ClientConnection& c) { return c.ListTopics({}).status(); }},
      {"SignalService.GetTopic",
       [](ClientConnection& c) { return c.GetTopic({}).status(); }},
      {"SignalService.TriageTopic",  // no request_id: attempted once
       [](ClientConnection& c) { return c.TriageTopic({}).status(); }},
      {"AuditService.ListAuditRecords",
       [](ClientConnection& c) { return c.ListAuditRecords({}).status(); }},
      {"AuditService.GetAuditTrail",
       [](ClientConnection& c) { return c.GetAuditTrail({}).status(); }},
      {"AdminService.CreateBackup",
       [](ClientConnection& c) { return c.CreateBackup({}).status(); }},
      {"AdminService.VerifyTrial",
       [](ClientConnection& c) { return c.VerifyTrial({}).status(); }},
  };
}

// The RPCs that must not be retried, stated here independently of the
// table under test.
const std::set<std::string>& AttemptedOnce() {
  static const auto* once = new std::set<std::string>{
      "TrialService.UpdateTrial", "SignalService.TriageSignal",
      "SignalService.TriageTopic", "SignalService.UpdateSignal",
      "AdminService.CreateBackup"};
  return *once;
}

TEST(RetryTest, NonIdempotentRpcsAreAttemptedOnceIdempotentOnesRetried) {
  UnavailableServer server;
  ASSERT_TRUE(server.started());
  auto connection = server.Connect();
  std::vector<RpcCall> calls = TrialIngestSafetyCalls();
  for (auto& c : SignalAuditAdminCalls()) calls.push_back(std::move(c));
  ASSERT_THAT(calls, SizeIs(kRetryPolicies.size()));
  for (const RpcCall& rpc : calls) {
    const absl::Status status = rpc.call(*connection);
    EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << rpc.method;
    const int expected = AttemptedOnce().count(rpc.method) ? 1 : kMaxAttempts;
    EXPECT_EQ(server.Attempts(rpc.method), expected) << rpc.method;
  }
}

TEST(RetryTest, TriageSignalWithARequestIdIsRetriedWithTheSameId) {
  UnavailableServer server;
  ASSERT_TRUE(server.started());
  Client client(server.Connect());
  // The client fills in a request id, so its triage is retried safely.
  EXPECT_EQ(client
                .TriageSignal("trials/T/signals/S", v1::SIGNAL_STATUS_VALIDATED,
                              "why", "Dr. A")
                .status()
                .code(),
            absl::StatusCode::kUnavailable);
  std::vector<std::string> sent = server.Requests("SignalService.TriageSignal");
  ASSERT_THAT(sent, SizeIs(kMaxAttempts));
  v1::TriageSignalRequest first;
  ASSERT_TRUE(first.ParseFromString(sent[0]));
  EXPECT_THAT(first.request_id(), SizeIs(36));
  EXPECT_EQ(first.display_name(), "Dr. A");
  EXPECT_THAT(sent, Each(sent[0]));  // every attempt the same request

  // The deprecated UpdateSignal carries no request id: attempted once.
  EXPECT_FALSE(client
                   .UpdateSignal("trials/T/signals/S",
                                 v1::SIGNAL_STATUS_VALIDATED, "why", "Dr. A")
                   .ok());
  EXPECT_EQ(server.Attempts("SignalService.UpdateSignal"), 1);
}

TEST(RetryTest, UpdateTrialThroughTheClientIsAttemptedOnce) {
  UnavailableServer server;
  ASSERT_TRUE(server.started());
  Client client(server.Connect());
  v1::Trial trial;
  trial.set_trial_id("T");
  EXPECT_EQ(client.UpdateTrial(trial, {"title"}).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(server.Attempts("TrialService.UpdateTrial"), 1);
  EXPECT_EQ(client.GetTrial("T").status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(server.Attempts("TrialService.GetTrial"), kMaxAttempts);
}

// The table names every unary RPC of the API's services, and nothing else.
TEST(RetryPolicyTest, TableCoversEveryUnaryRpcOfTheApi) {
  const google::protobuf::FileDescriptor* files[] = {
      v1::CreateTrialRequest::descriptor()->file(),
      v1::SubmitReportsRequest::descriptor()->file(),
      v1::GetIncidenceRequest::descriptor()->file(),
      v1::PutBaselinesRequest::descriptor()->file(),
      v1::ListAuditRecordsRequest::descriptor()->file(),
      v1::CreateBackupRequest::descriptor()->file()};
  std::set<std::string> unary;
  for (const auto* file : files) {
    for (int s = 0; s < file->service_count(); ++s) {
      const auto* service = file->service(s);
      for (int m = 0; m < service->method_count(); ++m) {
        const auto* method = service->method(m);
        if (method->client_streaming() || method->server_streaming()) continue;
        unary.insert(absl::StrCat(service->name(), ".", method->name()));
      }
    }
  }
  std::set<std::string> table;
  for (const auto& row : kRetryPolicies) table.insert(std::string(row.method));
  EXPECT_EQ(table, unary);
  EXPECT_EQ(table.size(), kRetryPolicies.size());  // no duplicate rows
}

TEST(RetryPolicyTest, MayRetry) {
  EXPECT_TRUE(MayRetry("TrialService.GetTrial", false));
  EXPECT_TRUE(MayRetry("IngestService.SubmitReports", false));
  EXPECT_FALSE(MayRetry("TrialService.UpdateTrial", false));
  EXPECT_FALSE(MayRetry("TrialService.UpdateTrial", true));
  EXPECT_FALSE(MayRetry("SignalService.TriageSignal", false));
  EXPECT_TRUE(MayRetry("SignalService.TriageSignal", true));
  EXPECT_FALSE(MayRetry("NoSuchService.Frobnicate", false));
}

}  // namespace
}  // namespace aesignal::client
