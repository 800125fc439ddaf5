#include "aesignal/client/connection.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <future>
#include <memory>
#include <sstream>
#include <string_view>
#include <utility>

#include "absl/time/clock.h"
#include "aesignal/client/status.h"
#include "aesignal/v1/admin_service.grpc.pb.h"
#include "aesignal/v1/audit_service.grpc.pb.h"
#include "aesignal/v1/ingest_service.grpc.pb.h"
#include "aesignal/v1/safety_service.grpc.pb.h"
#include "aesignal/v1/signal_service.grpc.pb.h"
#include "aesignal/v1/trial_service.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"

namespace aesignal::client {
namespace {

void AddCallMetadata(const ConnectionOptions& options,
                     grpc::ClientContext* context) {
  if (!options.bearer_token.empty()) {
    context->AddMetadata("authorization", "Bearer " + options.bearer_token);
  }
  if (!options.principal.empty()) {
    context->AddMetadata("x-aesignal-principal", options.principal);
  }
}

absl::StatusOr<std::string> ReadPem(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError("cannot read " + path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class GrpcReportStream : public ReportStream {
 public:
  GrpcReportStream(v1::IngestService::Stub& stub,
                   const ConnectionOptions& options) {
    AddCallMetadata(options, &context_);
    stream_ = stub.StreamReports(&context_);
  }

  bool Write(const v1::StreamReportsRequest& request) override {
    return stream_->Write(request);
  }
  bool Read(v1::StreamReportsResponse* response) override {
    return stream_->Read(response);
  }
  void WritesDone() override { stream_->WritesDone(); }
  absl::Status Finish() override { return FromGrpc(stream_->Finish()); }
  void Cancel() override { context_.TryCancel(); }

 private:
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<v1::StreamReportsRequest,
                                           v1::StreamReportsResponse>>
      stream_;
};

class GrpcSignalWatch : public SignalWatch {
 public:
  GrpcSignalWatch(v1::SignalService::Stub& stub,
                  const v1::WatchSignalsRequest& request, absl::Time deadline,
                  const ConnectionOptions& options) {
    AddCallMetadata(options, &context_);
    if (deadline != absl::InfiniteFuture()) {
      context_.set_deadline(absl::ToChronoTime(deadline));
    }
    reader_ = stub.WatchSignals(&context_, request);
  }
  bool Read(v1::WatchSignalsResponse* response) override {
    return reader_->Read(response);
  }
  absl::Status Finish() override { return FromGrpc(reader_->Finish()); }
  void Cancel() override { context_.TryCancel(); }

 private:
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<v1::WatchSignalsResponse>> reader_;
};

class GrpcConnection : public ClientConnection {
 public:
  explicit GrpcConnection(const ConnectionOptions& options)
      : options_(options),
        channel_(MakeChannel(options)),
        trials_(v1::TrialService::NewStub(channel_)),
        ingest_(v1::IngestService::NewStub(channel_)),
        safety_(v1::SafetyService::NewStub(channel_)),
        signals_(v1::SignalService::NewStub(channel_)),
        audit_(v1::AuditService::NewStub(channel_)),
        admin_(v1::AdminService::NewStub(channel_)) {}

  absl::StatusOr<v1::Trial> CreateTrial(
      const v1::CreateTrialRequest& request) override {
    return Call<v1::Trial>("TrialService.CreateTrial", request,
                           [&](auto* ctx, auto& req, auto* resp) {
                             return trials_->CreateTrial(ctx, req, resp);
                           });
  }
  absl::StatusOr<v1::Trial> GetTrial(
      const v1::GetTrialRequest& request) override {
    return Call<v1::Trial>("TrialService.GetTrial", request,
                           [&](auto* ctx, auto& req, auto* resp) {
                             return trials_->GetTrial(ctx, req, resp);
                           });
  }
  absl::StatusOr<v1::ListTrialsResponse> ListTrials(
      const v1::ListTrialsRequest& request) override {
    return Call<v1::ListTrialsResponse>("TrialService.ListTrials", request,
                                        [&](auto* ctx, auto& req, auto* resp) {
                                          return trials_->ListTrials(ctx, req,
                                                                     resp);
                                        });
  }
  absl::StatusOr<v1::EnrollSubjectsResponse> EnrollSubjects(
      const v1::EnrollSubjectsRequest& request) override {
    return Call<v1::EnrollSubjectsResponse>(
        "TrialService.EnrollSubjects", request,
        [&](auto* ctx, auto& req, auto* resp) {
          return trials_->EnrollSubjects(ctx, req, resp);
        });
  }
  absl::StatusOr<v1::ListSubjectsResponse> ListSubjects(
      const v1::ListSubjectsRequest& request) override {
    return Call<v1::ListSubjectsResponse>(
        "TrialService.ListSubjects", request,
        [&](auto* ctx, auto& req, auto* resp) {
          return trials_->ListSubjects(ctx, req, resp);
        });
  }
  absl::StatusOr<v1::SubmitReportsResponse> SubmitReports(
      const v1::SubmitReportsRequest& request) override {
    return Call<v1::SubmitReportsResponse>(
        "IngestService.SubmitReports", request,
        [&](auto* ctx, auto& req, auto* resp) {
          return ingest_->SubmitReports(ctx, req, resp);
        });
  }
  absl::StatusOr<v1::GetIncidenceResponse> GetIncidence(
      const v1::GetIncidenceRequest& request) override {
    return Call<v1::GetIncidenceResponse>(
        "SafetyService.GetIncidence", request,
        [&](auto* ctx, auto& req, auto* resp) {
          return safety_->GetIncidence(ctx, req, resp);
        });
  }
  absl::StatusOr<v1::PutBaselinesResponse> PutBaselines(
      const v1::PutBaselinesRequest& request) override {
    return Call<v1::PutBaselinesResponse>(
        "SignalService.PutBaselines", request,
        [&](auto* ctx, auto& req, auto* resp) {
          return signals_->PutBaselines(ctx, req, resp);
        });
  }
  absl::StatusOr<v1::ListBaselinesResponse> ListBaselines(
      const v1::ListBaselinesRequest& request) override {
    return Call<v1::ListBaselinesResponse>(
        "SignalService.ListBaselines", request,
        [&](auto* ctx, auto& req, auto* resp) {
          return signals_->ListBaselines(ctx, req, resp);
        });
  }
  absl::StatusOr<v1::ListSignalsResponse> ListSignals(
      const v1::ListSignalsRequest& request) override {
    return Call<v1::ListSignalsResponse>("SignalService.ListSignals", request,
                                         [&](auto* ctx, auto& req, auto* resp) {
                                           return signals_->ListSignals(
                                               ctx, req, resp);
                                         });
  }
  absl::StatusOr<v1::Signal> GetSignal(
      const v1::GetSignalRequest& request) override {
    return Call<v1::Signal>("SignalService.GetSignal", request,
                            [&](auto* ctx, auto& req, auto* resp) {
                              return signals_->GetSignal(ctx, req, resp);
                            });
  }
  absl::StatusOr<v1::Signal> UpdateSignal(
      const v1::UpdateSignalRequest& request) override {
    return Call<v1::Signal>("SignalService.UpdateSignal", request,
                            [&](auto* ctx, auto& req, auto* resp) {
                              return signals_->UpdateSignal(ctx, req, resp);
                            });
  }
  std::unique_ptr<SignalWatch> WatchSignals(
      const v1::WatchSignalsRequest& request, absl::Time deadline) override {
    return std::make_unique<GrpcSignalWatch>(*signals_, request, deadline,
                                             options_);
  }
  absl::StatusOr<v1::GetAuditTrailResponse> GetAuditTrail(
      const v1::GetAuditTrailRequest& request) override {
    return Call<v1::GetAuditTrailResponse>(
        "AuditService.GetAuditTrail", request,
        [&](auto* ctx, auto& req, auto* resp) {
          return audit_->GetAuditTrail(ctx, req, resp);
        });
  }
  absl::StatusOr<v1::Backup> CreateBackup(
      const v1::CreateBackupRequest& request) override {
    return Call<v1::Backup>("AdminService.CreateBackup", request,
                            [&](auto* ctx, auto& req, auto* resp) {
                              return admin_->CreateBackup(ctx, req, resp);
                            });
  }
  absl::StatusOr<v1::VerifyTrialResponse> VerifyTrial(
      const v1::VerifyTrialRequest& request) override {
    return Call<v1::VerifyTrialResponse>("AdminService.VerifyTrial", request,
                                         [&](auto* ctx, auto& req, auto* resp) {
                                           return admin_->VerifyTrial(ctx, req,
                                                                      resp);
                                         });
  }
  absl::StatusOr<v1::Trial> UpdateTrial(
      const v1::UpdateTrialRequest& request) override {
    return Call<v1::Trial>("TrialService.UpdateTrial", request,
                           [&](auto* ctx, auto& req, auto* resp) {
                             return trials_->UpdateTrial(ctx, req, resp);
                           });
  }
  absl::StatusOr<v1::Subject> GetSubject(
      const v1::GetSubjectRequest& request) override {
    return Call<v1::Subject>("TrialService.GetSubject", request,
                             [&](auto* ctx, auto& req, auto* resp) {
                               return trials_->GetSubject(ctx, req, resp);
                             });
  }
  absl::StatusOr<v1::Report> GetReport(
      const v1::GetReportRequest& request) override {
    return Call<v1::Report>("SafetyService.GetReport", request,
                            [&](auto* ctx, auto& req, auto* resp) {
                              return safety_->GetReport(ctx, req, resp);
                            });
  }
  absl::StatusOr<v1::DsmbReport> GenerateDsmbReport(
      const v1::GenerateDsmbReportRequest& request) override {
    return Call<v1::DsmbReport>("SafetyService.GenerateDsmbReport", request,
                                [&](auto* ctx, auto& req, auto* resp) {
                                  return safety_->GenerateDsmbReport(ctx, req,
                                                                     resp);
                                });
  }
  absl::StatusOr<v1::ListReportsResponse> ListReports(
      const v1::ListReportsRequest& request) override {
    return Call<v1::ListReportsResponse>("SafetyService.ListReports", request,
                                         [&](auto* ctx, auto& req, auto* resp) {
                                           return safety_->ListReports(ctx, req,
                                                                       resp);
                                         });
  }
  absl::StatusOr<v1::Baseline> GetBaseline(
      const v1::GetBaselineRequest& request) override {
    return Call<v1::Baseline>("SignalService.GetBaseline", request,
                              [&](auto* ctx, auto& req, auto* resp) {
                                return signals_->GetBaseline(ctx, req, resp);
                              });
  }
  absl::StatusOr<v1::Signal> TriageSignal(
      const v1::TriageSignalRequest& request) override {
    return Call<v1::Signal>(
        "SignalService.TriageSignal", request,
        [&](auto* ctx, auto& req, auto* resp) {
          return signals_->TriageSignal(ctx, req, resp);
        },
        /*has_request_id=*/!request.request_id().empty());
  }
  absl::StatusOr<v1::ListTopicsResponse> ListTopics(
      const v1::ListTopicsRequest& request) override {
    return Call<v1::ListTopicsResponse>("SignalService.ListTopics", request,
                                        [&](auto* ctx, auto& req, auto* resp) {
                                          return signals_->ListTopics(ctx, req,
                                                                      resp);
                                        });
  }
  absl::StatusOr<v1::SignalTopic> GetTopic(
      const v1::GetTopicRequest& request) override {
    return Call<v1::SignalTopic>("SignalService.GetTopic", request,
                                 [&](auto* ctx, auto& req, auto* resp) {
                                   return signals_->GetTopic(ctx, req, resp);
                                 });
  }
  absl::StatusOr<v1::SignalTopic> TriageTopic(
      const v1::TriageTopicRequest& request) override {
    return Call<v1::SignalTopic>(
        "SignalService.TriageTopic", request,
        [&](auto* ctx, auto& req, auto* resp) {
          return signals_->TriageTopic(ctx, req, resp);
        },
        /*has_request_id=*/!request.request_id().empty());
  }
  absl::StatusOr<v1::ListAuditRecordsResponse> ListAuditRecords(
      const v1::ListAuditRecordsRequest& request) override {
    return Call<v1::ListAuditRecordsResponse>(
        "AuditService.ListAuditRecords", request,
        [&](auto* ctx, auto& req, auto* resp) {
          return audit_->ListAuditRecords(ctx, req, resp);
        });
  }
  std::unique_ptr<ReportStream> OpenReportStream() override {
    return std::make_unique<GrpcReportStream>(*ingest_, options_);
  }
  absl::StatusOr<bool> CheckHealth() override {
    // Debian ships no generated health stubs: the request (service "") is
    // the empty message and the answer is field 1, the status enum.
    grpc::GenericStub stub(channel_);
    grpc::ClientContext context;
    context.set_deadline(
        absl::ToChronoTime(absl::Now() + options_.call_timeout));
    grpc::Slice empty("");
    grpc::ByteBuffer request(&empty, 1), reply;
    std::promise<grpc::Status> done;
    stub.UnaryCall(&context, "/grpc.health.v1.Health/Check",
                   grpc::StubOptions(), &request, &reply,
                   [&](grpc::Status status) { done.set_value(status); });
    const grpc::Status status = done.get_future().get();
    if (!status.ok()) return FromGrpc(status);
    std::vector<grpc::Slice> slices;
    std::string bytes;
    if (reply.Dump(&slices).ok()) {
      for (const auto& slice : slices) {
        bytes.append(reinterpret_cast<const char*>(slice.begin()),
                     slice.size());
      }
    }
    return bytes == std::string("\x08\x01", 2);  // status: SERVING
  }

 private:
  static std::shared_ptr<grpc::Channel> MakeChannel(
      const ConnectionOptions& options) {
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(options.max_receive_message_bytes);
    auto credentials = options.credentials != nullptr
                           ? options.credentials
                           : grpc::InsecureChannelCredentials();
    return grpc::CreateCustomChannel(options.target, credentials, args);
  }

  // One unary call of `method` ("Service.Method") with a per-attempt
  // deadline. If the RPC may be retried (MayRetry: kRetryPolicies), a
  // retryable failure is retried with exponential backoff; otherwise the
  // call is attempted once.
  template <typename Response, typename Request, typename Rpc>
  absl::StatusOr<Response> Call(std::string_view method, const Request& request,
                                Rpc rpc, bool has_request_id = false) {
    const int max_attempts =
        MayRetry(method, has_request_id) ? options_.max_attempts : 1;
    absl::Duration backoff = options_.initial_backoff;
    absl::Status status;
    for (int attempt = 1;; ++attempt) {
      grpc::ClientContext context;
      context.set_deadline(
          absl::ToChronoTime(absl::Now() + options_.call_timeout));
      AddCallMetadata(options_, &context);
      Response response;
      status = FromGrpc(rpc(&context, request, &response));
      if (status.ok()) return response;
      if (!IsRetryable(status) || attempt >= max_attempts) break;
      absl::SleepFor(backoff);
      backoff *= 2;
    }
    return status;
  }

  const ConnectionOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::TrialService::Stub> trials_;
  std::unique_ptr<v1::IngestService::Stub> ingest_;
  std::unique_ptr<v1::SafetyService::Stub> safety_;
  std::unique_ptr<v1::SignalService::Stub> signals_;
  std::unique_ptr<v1::AuditService::Stub> audit_;
  std::unique_ptr<v1::AdminService::Stub> admin_;
};

}  // namespace

absl::StatusOr<v1::Trial> ClientConnection::UpdateTrial(
    const v1::UpdateTrialRequest&) {
  return absl::UnimplementedError("UpdateTrial");
}
absl::StatusOr<v1::Subject> ClientConnection::GetSubject(
    const v1::GetSubjectRequest&) {
  return absl::UnimplementedError("GetSubject");
}
absl::StatusOr<v1::Report> ClientConnection::GetReport(
    const v1::GetReportRequest&) {
  return absl::UnimplementedError("GetReport");
}
absl::StatusOr<v1::ListReportsResponse> ClientConnection::ListReports(
    const v1::ListReportsRequest&) {
  return absl::UnimplementedError("ListReports");
}
absl::StatusOr<v1::DsmbReport> ClientConnection::GenerateDsmbReport(
    const v1::GenerateDsmbReportRequest&) {
  return absl::UnimplementedError("GenerateDsmbReport");
}
absl::StatusOr<v1::Baseline> ClientConnection::GetBaseline(
    const v1::GetBaselineRequest&) {
  return absl::UnimplementedError("GetBaseline");
}
absl::StatusOr<v1::Signal> ClientConnection::TriageSignal(
    const v1::TriageSignalRequest&) {
  return absl::UnimplementedError("TriageSignal");
}
absl::StatusOr<v1::ListTopicsResponse> ClientConnection::ListTopics(
    const v1::ListTopicsRequest&) {
  return absl::UnimplementedError("ListTopics");
}
absl::StatusOr<v1::SignalTopic> ClientConnection::GetTopic(
    const v1::GetTopicRequest&) {
  return absl::UnimplementedError("GetTopic");
}
absl::StatusOr<v1::SignalTopic> ClientConnection::TriageTopic(
    const v1::TriageTopicRequest&) {
  return absl::UnimplementedError("TriageTopic");
}
absl::StatusOr<v1::ListAuditRecordsResponse> ClientConnection::ListAuditRecords(
    const v1::ListAuditRecordsRequest&) {
  return absl::UnimplementedError("ListAuditRecords");
}

RetryPolicy RetryPolicyOf(std::string_view method) {
  for (const RpcRetryPolicy& row : kRetryPolicies) {
    if (row.method == method) return row.policy;
  }
  return RetryPolicy::kNotIdempotent;
}

bool MayRetry(std::string_view method, bool has_request_id) {
  switch (RetryPolicyOf(method)) {
    case RetryPolicy::kIdempotent:
      return true;
    case RetryPolicy::kIdempotentWithRequestId:
      return has_request_id;
    case RetryPolicy::kNotIdempotent:
      return false;
  }
  return false;
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> TlsCredentials(
    const std::string& ca, const std::string& cert, const std::string& key) {
  if (cert.empty() != key.empty()) {
    return absl::InvalidArgumentError(
        "a client certificate needs both its cert and its key file");
  }
  grpc::SslCredentialsOptions ssl;
  if (!ca.empty()) {
    auto pem = ReadPem(ca);
    if (!pem.ok()) return pem.status();
    ssl.pem_root_certs = *std::move(pem);
  }
  if (!cert.empty()) {
    auto cert_pem = ReadPem(cert);
    if (!cert_pem.ok()) return cert_pem.status();
    auto key_pem = ReadPem(key);
    if (!key_pem.ok()) return key_pem.status();
    ssl.pem_cert_chain = *std::move(cert_pem);
    ssl.pem_private_key = *std::move(key_pem);
  }
  return grpc::SslCredentials(ssl);
}

std::shared_ptr<ClientConnection> MakeClientConnection(
    const ConnectionOptions& options) {
  return std::make_shared<GrpcConnection>(options);
}

}  // namespace aesignal::client
