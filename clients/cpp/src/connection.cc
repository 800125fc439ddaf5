#include "aesignal/client/connection.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <future>
#include <memory>
#include <sstream>
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
    return Call<v1::Trial>(request, [&](auto* ctx, auto& req, auto* resp) {
      return trials_->CreateTrial(ctx, req, resp);
    });
  }
  absl::StatusOr<v1::Trial> GetTrial(
      const v1::GetTrialRequest& request) override {
    return Call<v1::Trial>(request, [&](auto* ctx, auto& req, auto* resp) {
      return trials_->GetTrial(ctx, req, resp);
    });
  }
  absl::StatusOr<v1::ListTrialsResponse> ListTrials(
      const v1::ListTrialsRequest& request) override {
    return Call<v1::ListTrialsResponse>(
        request, [&](auto* ctx, auto& req, auto* resp) {
          return trials_->ListTrials(ctx, req, resp);
        });
  }
  absl::StatusOr<v1::EnrollSubjectsResponse> EnrollSubjects(
      const v1::EnrollSubjectsRequest& request) override {
    return Call<v1::EnrollSubjectsResponse>(
        request, [&](auto* ctx, auto& req, auto* resp) {
          return trials_->EnrollSubjects(ctx, req, resp);
        });
  }
  absl::StatusOr<v1::ListSubjectsResponse> ListSubjects(
      const v1::ListSubjectsRequest& request) override {
    return Call<v1::ListSubjectsResponse>(
        request, [&](auto* ctx, auto& req, auto* resp) {
          return trials_->ListSubjects(ctx, req, resp);
        });
  }
  absl::StatusOr<v1::SubmitReportsResponse> SubmitReports(
      const v1::SubmitReportsRequest& request) override {
    return Call<v1::SubmitReportsResponse>(
        request, [&](auto* ctx, auto& req, auto* resp) {
          return ingest_->SubmitReports(ctx, req, resp);
        });
  }
  absl::StatusOr<v1::GetIncidenceResponse> GetIncidence(
      const v1::GetIncidenceRequest& request) override {
    return Call<v1::GetIncidenceResponse>(
        request, [&](auto* ctx, auto& req, auto* resp) {
          return safety_->GetIncidence(ctx, req, resp);
        });
  }
  absl::StatusOr<v1::PutBaselinesResponse> PutBaselines(
      const v1::PutBaselinesRequest& request) override {
    return Call<v1::PutBaselinesResponse>(
        request, [&](auto* ctx, auto& req, auto* resp) {
          return signals_->PutBaselines(ctx, req, resp);
        });
  }
  absl::StatusOr<v1::ListBaselinesResponse> ListBaselines(
      const v1::ListBaselinesRequest& request) override {
    return Call<v1::ListBaselinesResponse>(
        request, [&](auto* ctx, auto& req, auto* resp) {
          return signals_->ListBaselines(ctx, req, resp);
        });
  }
  absl::StatusOr<v1::ListSignalsResponse> ListSignals(
      const v1::ListSignalsRequest& request) override {
    return Call<v1::ListSignalsResponse>(
        request, [&](auto* ctx, auto& req, auto* resp) {
          return signals_->ListSignals(ctx, req, resp);
        });
  }
  absl::StatusOr<v1::Signal> GetSignal(
      const v1::GetSignalRequest& request) override {
    return Call<v1::Signal>(request, [&](auto* ctx, auto& req, auto* resp) {
      return signals_->GetSignal(ctx, req, resp);
    });
  }
  absl::StatusOr<v1::Signal> UpdateSignal(
      const v1::UpdateSignalRequest& request) override {
    return Call<v1::Signal>(request, [&](auto* ctx, auto& req, auto* resp) {
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
        request, [&](auto* ctx, auto& req, auto* resp) {
          return audit_->GetAuditTrail(ctx, req, resp);
        });
  }
  absl::StatusOr<v1::Backup> CreateBackup(
      const v1::CreateBackupRequest& request) override {
    return Call<v1::Backup>(request, [&](auto* ctx, auto& req, auto* resp) {
      return admin_->CreateBackup(ctx, req, resp);
    });
  }
  absl::StatusOr<v1::VerifyTrialResponse> VerifyTrial(
      const v1::VerifyTrialRequest& request) override {
    return Call<v1::VerifyTrialResponse>(
        request, [&](auto* ctx, auto& req, auto* resp) {
          return admin_->VerifyTrial(ctx, req, resp);
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

  // One unary call with a per-attempt deadline, retried with exponential
  // backoff while the status is retryable.
  template <typename Response, typename Request, typename Rpc>
  absl::StatusOr<Response> Call(const Request& request, Rpc rpc) {
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
      if (!IsRetryable(status) || attempt >= options_.max_attempts) break;
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
