// The gRPC API end to end against a real in-process server on 127.0.0.1:0.
#include "services/server/server.h"

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <thread>

#include "aesignal/v1/ingest_service.grpc.pb.h"
#include "aesignal/v1/safety_service.grpc.pb.h"
#include "aesignal/v1/signal_service.grpc.pb.h"
#include "aesignal/v1/trial_service.grpc.pb.h"
#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "services/domain/monitor.h"
#include "tests/testing/fixtures.h"
#include "tests/testing/temp_dir.h"

namespace aesignal {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::Report;

constexpr char kParent[] = "trials/T1";

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions options;
    options.listen = "127.0.0.1:0";
    options.data_dir = dir_.Sub("data");
    options.max_receive_message_bytes = 1 << 20;
    auto server = Server::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()),
                                   grpc::InsecureChannelCredentials());
    trials_ = v1::TrialService::NewStub(channel_);
    ingest_ = v1::IngestService::NewStub(channel_);
    safety_ = v1::SafetyService::NewStub(channel_);

    v1::CreateTrialRequest create;
    *create.mutable_trial() = testing::ThreeGroupTrial("T1");
    v1::Trial trial;
    grpc::ClientContext ctx;
    ASSERT_TRUE(trials_->CreateTrial(&ctx, create, &trial).ok());
    v1::EnrollSubjectsRequest enroll;
    enroll.set_parent(kParent);
    for (int i = 1; i <= 9; ++i)
      *enroll.add_subjects() = testing::SubjectNumber(i);
    v1::EnrollSubjectsResponse enrolled;
    grpc::ClientContext ctx2;
    ASSERT_TRUE(trials_->EnrollSubjects(&ctx2, enroll, &enrolled).ok());
  }

  v1::SubmitReportsResponse Submit(std::vector<v1::AdverseEventReport> reports,
                                   grpc::Status* status = nullptr) {
    v1::SubmitReportsRequest request;
    request.set_parent(kParent);
    for (auto& r : reports) *request.add_reports() = std::move(r);
    v1::SubmitReportsResponse response;
    grpc::ClientContext ctx;
    grpc::Status s = ingest_->SubmitReports(&ctx, request, &response);
    if (status != nullptr)
      *status = s;
    else
      EXPECT_TRUE(s.ok()) << s.error_message();
    return response;
  }

  std::string IncidenceBytes(v1::TermLevel level) {
    v1::GetIncidenceRequest request;
    request.set_parent(kParent);
    request.set_level(level);
    v1::GetIncidenceResponse response;
    grpc::ClientContext ctx;
    EXPECT_TRUE(safety_->GetIncidence(&ctx, request, &response).ok());
    return response.SerializeAsString();
  }

  // The first detail of type Detail in a status's rich error details.
  template <typename Detail>
  static Detail DetailOf(const grpc::Status& s) {
    google::rpc::Status rich;
    Detail detail;
    EXPECT_TRUE(rich.ParseFromString(s.error_details()));
    for (const auto& any : rich.details()) {
      if (any.UnpackTo(&detail)) return detail;
    }
    ADD_FAILURE() << "no " << Detail::descriptor()->full_name()
                  << " in error details";
    return detail;
  }
  static google::rpc::BadRequest BadRequestOf(const grpc::Status& s) {
    return DetailOf<google::rpc::BadRequest>(s);
  }

  testing::TempDir dir_;
  std::unique_ptr<Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::TrialService::Stub> trials_;
  std::unique_ptr<v1::IngestService::Stub> ingest_;
  std::unique_ptr<v1::SafetyService::Stub> safety_;
};

TEST_F(ServerTest, InvalidArgumentCarriesFieldViolations) {
  v1::CreateTrialRequest create;
  *create.mutable_trial() = testing::ThreeGroupTrial("T2");
  create.mutable_trial()->mutable_timepoints(2)->set_study_day(1);
  create.mutable_trial()->clear_title();
  v1::Trial trial;
  grpc::ClientContext ctx;
  grpc::Status s = trials_->CreateTrial(&ctx, create, &trial);
  ASSERT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  std::vector<std::string> fields;
  const google::rpc::BadRequest bad = BadRequestOf(s);
  for (const auto& v : bad.field_violations()) {
    fields.push_back(v.field());
  }
  EXPECT_THAT(fields,
              ElementsAre("trial.title", "trial.timepoints[2].study_day"));
}

TEST_F(ServerTest, TrialErrorsMapToTheRightCodes) {
  v1::CreateTrialRequest create;
  *create.mutable_trial() = testing::ThreeGroupTrial("T1");
  v1::Trial trial;
  {
    grpc::ClientContext ctx;
    EXPECT_TRUE(trials_->CreateTrial(&ctx, create, &trial).ok());  // idempotent
  }
  create.mutable_trial()->set_title("other");
  {
    grpc::ClientContext ctx;
    const grpc::Status exists = trials_->CreateTrial(&ctx, create, &trial);
    EXPECT_EQ(exists.error_code(), grpc::StatusCode::ALREADY_EXISTS);
    EXPECT_EQ(DetailOf<google::rpc::ResourceInfo>(exists).resource_name(),
              "trials/T1");
    EXPECT_EQ(DetailOf<google::rpc::ErrorInfo>(exists).reason(),
              "TRIAL_ALREADY_EXISTS");
  }
  v1::GetTrialRequest get;
  get.set_name("trials/NOPE");
  grpc::ClientContext ctx;
  const grpc::Status missing = trials_->GetTrial(&ctx, get, &trial);
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::NOT_FOUND);
  const auto resource = DetailOf<google::rpc::ResourceInfo>(missing);
  EXPECT_EQ(resource.resource_type(), "trial");
  EXPECT_EQ(resource.resource_name(), "trials/NOPE");  // the full name
  EXPECT_EQ(DetailOf<google::rpc::ErrorInfo>(missing).reason(),
            "TRIAL_NOT_FOUND");
}

// Regression: ListTrials and ListSubjects once accepted any base64url token.
// Every List's token is bound to the request it continues (AIP-158).
TEST_F(ServerTest, PageTokensAreBoundToTheirRequest) {
  for (const char* id : {"T2", "T3"}) {
    v1::CreateTrialRequest create;
    *create.mutable_trial() = testing::ThreeGroupTrial(id);
    v1::Trial trial;
    grpc::ClientContext ctx;
    ASSERT_TRUE(trials_->CreateTrial(&ctx, create, &trial).ok());
  }
  auto page_token_error = [](const grpc::Status& s) {
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << s.error_message();
    const auto bad = BadRequestOf(s);
    return bad.field_violations_size() == 1 &&
           bad.field_violations(0).field() == "page_token";
  };

  v1::ListTrialsRequest trials;
  trials.set_page_size(2);
  v1::ListTrialsResponse trials_page;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(trials_->ListTrials(&ctx, trials, &trials_page).ok());
    ASSERT_FALSE(trials_page.next_page_token().empty());
  }
  trials.set_page_token(trials_page.next_page_token());
  trials.set_page_size(5);  // the page size may change between pages
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(trials_->ListTrials(&ctx, trials, &trials_page).ok());
    ASSERT_EQ(trials_page.trials_size(), 1);
    EXPECT_EQ(trials_page.trials(0).trial_id(), "T3");
  }
  for (const char* garbage : {"garbage", "bm9wZQ", "%%%"}) {
    trials.set_page_token(garbage);
    grpc::ClientContext ctx;
    EXPECT_TRUE(
        page_token_error(trials_->ListTrials(&ctx, trials, &trials_page)))
        << garbage;
  }

  v1::ListSubjectsRequest subjects;
  subjects.set_parent(kParent);
  subjects.set_page_size(4);
  v1::ListSubjectsResponse subjects_page;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(trials_->ListSubjects(&ctx, subjects, &subjects_page).ok());
    ASSERT_FALSE(subjects_page.next_page_token().empty());
  }
  const std::string token = subjects_page.next_page_token();
  subjects.set_page_token(token);
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(trials_->ListSubjects(&ctx, subjects, &subjects_page).ok());
    EXPECT_EQ(subjects_page.subjects_size(), 4);
  }
  subjects.set_parent("trials/T2");  // another trial's listing
  {
    grpc::ClientContext ctx;
    EXPECT_TRUE(page_token_error(
        trials_->ListSubjects(&ctx, subjects, &subjects_page)));
  }
  trials.set_page_token(token);  // another List's token
  {
    grpc::ClientContext ctx;
    EXPECT_TRUE(
        page_token_error(trials_->ListTrials(&ctx, trials, &trials_page)));
  }

  // Incidence: a token continues only the same level and filters.
  Submit({Report("R1", 1, "S1", 10, "Headache"),
          Report("R2", 1, "S2", 10, "Nausea")});
  v1::GetIncidenceRequest incidence;
  incidence.set_parent(kParent);
  incidence.set_level(v1::TERM_LEVEL_PT);
  incidence.set_page_size(1);
  v1::GetIncidenceResponse incidence_page;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(safety_->GetIncidence(&ctx, incidence, &incidence_page).ok());
    ASSERT_FALSE(incidence_page.next_page_token().empty());
  }
  incidence.set_page_token(incidence_page.next_page_token());
  incidence.set_dose_group_id("LOW");
  grpc::ClientContext ctx;
  EXPECT_TRUE(page_token_error(
      safety_->GetIncidence(&ctx, incidence, &incidence_page)));
}

TEST_F(ServerTest, RefusedTriageCarriesPreconditionFailure) {
  auto signals = v1::SignalService::NewStub(channel_);
  v1::UpdateSignalRequest update;
  update.set_name("trials/T1/signals/NOPE");
  update.set_status(v1::SIGNAL_STATUS_CLOSED);
  update.set_comment("why");
  update.set_actor("me");
  v1::Signal signal;
  {
    grpc::ClientContext ctx;
    const grpc::Status s = signals->UpdateSignal(&ctx, update, &signal);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_EQ(DetailOf<google::rpc::ResourceInfo>(s).resource_type(), "signal");
  }
  // Two serious AEs in HIGH raise the any-SAE signal against a baseline;
  // a NEW signal cannot be CLOSED directly.
  v1::PutBaselinesRequest put;
  put.set_parent(kParent);
  *put.add_baselines() = testing::SeriousAeBaseline();
  v1::PutBaselinesResponse put_response;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(signals->PutBaselines(&ctx, put, &put_response).ok());
  }
  Submit({testing::Report("R1", 1, "S3", 20, "Pneumonia", 3, true),
          testing::Report("R2", 1, "S6", 30, "Sepsis", 4, true)});
  ASSERT_TRUE(server_->monitor().signals().WaitIdle(absl::Seconds(10)).ok());
  update.set_name("trials/T1/signals/BINOMIAL~OVERALL~any_sae~HIGH~M3");
  grpc::ClientContext ctx;
  const grpc::Status s = signals->UpdateSignal(&ctx, update, &signal);
  ASSERT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION)
      << s.error_message();
  EXPECT_THAT(s.error_message(),
              HasSubstr("a SIGNAL_STATUS_NEW signal cannot move to "
                        "SIGNAL_STATUS_CLOSED"));
  const auto failure = DetailOf<google::rpc::PreconditionFailure>(s);
  ASSERT_EQ(failure.violations_size(), 1);
  EXPECT_EQ(failure.violations(0).type(), "SIGNAL_STATUS");
  EXPECT_EQ(failure.violations(0).subject(), update.name());
}

TEST_F(ServerTest, ResubmittingEverythingChangesNothing) {
  std::vector<v1::AdverseEventReport> all = {
      Report("R1", 1, "S1", 10, "Headache"),
      Report("R2", 1, "S2", 100, "Pneumonia", 3, true),
      Report("R2", 2, "S2", 100, "Pneumonia", 4, true),
      Report("R3", 1, "S9", 300, "Rash")};
  auto first = Submit(all);
  EXPECT_EQ(first.accepted_count(), 4);
  const std::string pt = IncidenceBytes(v1::TERM_LEVEL_PT);
  const std::string overall = IncidenceBytes(v1::TERM_LEVEL_OVERALL);
  auto again = Submit(all);
  EXPECT_EQ(again.duplicate_count(), 4);
  EXPECT_EQ(again.accepted_count(), 0);
  EXPECT_EQ(IncidenceBytes(v1::TERM_LEVEL_PT), pt);
  EXPECT_EQ(IncidenceBytes(v1::TERM_LEVEL_OVERALL), overall);
}

TEST_F(ServerTest, StreamAnswersEveryBatchInOrderAndSurvivesBadBatches) {
  grpc::ClientContext ctx;
  auto stream = ingest_->StreamReports(&ctx);
  constexpr int kBatches = 40;
  for (int b = 0; b < kBatches; ++b) {
    v1::StreamReportsRequest request;
    request.set_batch_id(1000 + b);
    request.set_parent(b == 7 ? "trials/NOPE" : kParent);
    for (int i = 0; i < 25; ++i) {
      *request.add_reports() =
          Report(absl::StrCat("B", b, "-", i), 1, absl::StrCat("S", 1 + i % 9),
                 1 + (b * 7 + i) % 365, i % 2 ? "Headache" : "Fatigue");
    }
    if (b == 11) request.mutable_reports(3)->set_grade(0);
    ASSERT_TRUE(stream->Write(request));
  }
  stream->WritesDone();
  std::vector<int64_t> ids;
  int accepted = 0;
  v1::StreamReportsResponse response;
  while (stream->Read(&response)) {
    ids.push_back(response.batch_id());
    if (response.batch_id() == 1007) {
      EXPECT_EQ(response.error().code(), grpc::StatusCode::NOT_FOUND);
      continue;
    }
    EXPECT_FALSE(response.has_error()) << response.error().message();
    accepted += response.result().accepted_count();
    if (response.batch_id() == 1011) {
      EXPECT_EQ(response.result().rejected_count(), 1);
      EXPECT_EQ(response.result().results(3).field(), "reports[3].grade");
    }
  }
  ASSERT_TRUE(stream->Finish().ok());
  ASSERT_EQ(ids.size(), static_cast<size_t>(kBatches));
  for (int b = 0; b < kBatches; ++b) EXPECT_EQ(ids[b], 1000 + b);
  EXPECT_EQ(accepted, (kBatches - 1) * 25 - 1);
  EXPECT_TRUE(server_->monitor().VerifyCounters("T1").ok());
}

TEST_F(ServerTest, OversizedMessageIsRefused) {
  v1::SubmitReportsRequest request;
  request.set_parent(kParent);
  auto r = Report("BIG", 1, "S1", 10, "Headache");
  r.set_verbatim_term(std::string(2 << 20, 'x'));  // 2 MiB > 1 MiB limit
  *request.add_reports() = r;
  v1::SubmitReportsResponse response;
  grpc::ClientContext ctx;
  grpc::Status s = ingest_->SubmitReports(&ctx, request, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  // Nothing of it was stored; the server still works.
  auto ok = Submit({Report("SMALL", 1, "S1", 10, "Headache")});
  EXPECT_EQ(ok.accepted_count(), 1);
}

TEST_F(ServerTest, IncidenceOverGrpc) {
  Submit({Report("R1", 1, "S1", 10, "Headache"),
          Report("R2", 1, "S4", 200, "Headache", 3, true)});
  v1::GetIncidenceRequest request;
  request.set_parent(kParent);
  request.set_level(v1::TERM_LEVEL_SOC);
  v1::GetIncidenceResponse response;
  grpc::ClientContext ctx;
  ASSERT_TRUE(safety_->GetIncidence(&ctx, request, &response).ok());
  ASSERT_EQ(response.terms_size(), 1);
  EXPECT_EQ(response.terms(0).soc(), "SOC H");
  const auto& total_m12 = response.terms(0).cells(3 * 3 + 2);
  EXPECT_EQ(total_m12.dose_group_id(), "");
  EXPECT_EQ(total_m12.timepoint_id(), "M12");
  EXPECT_EQ(total_m12.cumulative().subjects(), 2);
  EXPECT_EQ(total_m12.n_dosed(), 9);
}

// Unary call with raw bytes through the generic stub (for services whose
// generated code Debian does not ship: health and reflection).
grpc::Status GenericUnary(grpc::Channel* channel, const std::string& method,
                          const std::string& request, std::string* response) {
  grpc::GenericStub stub(channel->shared_from_this());
  grpc::CompletionQueue cq;
  grpc::ClientContext ctx;
  grpc::Slice slice(request);
  grpc::ByteBuffer send(&slice, 1);
  auto call = stub.PrepareUnaryCall(&ctx, method, send, &cq);
  call->StartCall();
  grpc::ByteBuffer recv;
  grpc::Status status;
  call->Finish(&recv, &status, reinterpret_cast<void*>(1));
  void* tag;
  bool ok;
  EXPECT_TRUE(cq.Next(&tag, &ok));
  std::vector<grpc::Slice> slices;
  if (status.ok() && recv.Dump(&slices).ok()) {
    for (const auto& s : slices) {
      response->append(reinterpret_cast<const char*>(s.begin()), s.size());
    }
  }
  return status;
}

TEST_F(ServerTest, HealthServiceReportsServing) {
  std::string response;
  // HealthCheckRequest{service: ""} is the empty message.
  grpc::Status s = GenericUnary(channel_.get(), "/grpc.health.v1.Health/Check",
                                "", &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(response, std::string("\x08\x01", 2));  // status: SERVING
}

// HealthCheckRequest{service: name}: field 1, length-delimited.
std::string HealthCheckFor(const std::string& service) {
  return absl::StrCat(std::string("\x0a", 1),
                      std::string(1, static_cast<char>(service.size())),
                      service);
}

TEST_F(ServerTest, HealthReportsEveryServiceByName) {
  for (const char* service :
       {"aesignal.v1.TrialService", "aesignal.v1.IngestService",
        "aesignal.v1.SafetyService", "aesignal.v1.SignalService",
        "aesignal.v1.AuditService", "aesignal.v1.AdminService"}) {
    std::string response;
    grpc::Status s =
        GenericUnary(channel_.get(), "/grpc.health.v1.Health/Check",
                     HealthCheckFor(service), &response);
    ASSERT_TRUE(s.ok()) << service << ": " << s.error_message();
    EXPECT_EQ(response, std::string("\x08\x01", 2)) << service;
  }
  std::string response;
  EXPECT_EQ(GenericUnary(channel_.get(), "/grpc.health.v1.Health/Check",
                         HealthCheckFor("aesignal.v1.NoSuchService"), &response)
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(ServerTest, HealthReportsNotServingWhileDraining) {
  server_->BeginDrain();
  for (const std::string& request :
       {std::string(), HealthCheckFor("aesignal.v1.IngestService")}) {
    std::string response;
    grpc::Status s = GenericUnary(
        channel_.get(), "/grpc.health.v1.Health/Check", request, &response);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(response, std::string("\x08\x02", 2));  // status: NOT_SERVING
  }
}

// A watcher does not hold the shutdown for its grace period: its stream ends
// UNAVAILABLE (resume elsewhere) within a poll, while the grace is 30 s.
TEST_F(ServerTest, ShutdownEndsWatchStreamsAtOnce) {
  auto signals = v1::SignalService::NewStub(channel_);
  grpc::ClientContext ctx;
  v1::WatchSignalsRequest request;
  request.set_parent(kParent);
  auto reader = signals->WatchSignals(&ctx, request);
  // The watch sends nothing until a change, so there is no reply to wait
  // for. Should the call not have reached its handler yet, it fails with
  // gRPC's own status, without the message checked below.
  absl::SleepFor(absl::Milliseconds(300));
  const absl::Time start = absl::Now();
  std::thread stop([this] { server_->Shutdown(absl::Seconds(30)); });
  v1::WatchSignalsResponse change;
  while (reader->Read(&change)) {
  }
  const grpc::Status status = reader->Finish();
  stop.join();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("after_sequence"));
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
}

TEST_F(ServerTest, ReflectionListsTheServices) {
  grpc::GenericStub stub(channel_);
  grpc::CompletionQueue cq;
  grpc::ClientContext ctx;
  auto call = stub.PrepareCall(
      &ctx, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
      &cq);
  void* tag;
  bool ok;
  call->StartCall(reinterpret_cast<void*>(1));
  ASSERT_TRUE(cq.Next(&tag, &ok) && ok);
  // ServerReflectionRequest{list_services: ""} = field 7, length 0.
  grpc::Slice slice(std::string("\x3a\x00", 2));
  grpc::ByteBuffer send(&slice, 1);
  call->Write(send, reinterpret_cast<void*>(2));
  ASSERT_TRUE(cq.Next(&tag, &ok) && ok);
  grpc::ByteBuffer recv;
  call->Read(&recv, reinterpret_cast<void*>(3));
  ASSERT_TRUE(cq.Next(&tag, &ok) && ok);
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(recv.Dump(&slices).ok());
  std::string bytes;
  for (const auto& s : slices) {
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  EXPECT_THAT(bytes, HasSubstr("aesignal.v1.IngestService"));
  EXPECT_THAT(bytes, HasSubstr("aesignal.v1.TrialService"));
  EXPECT_THAT(bytes, HasSubstr("aesignal.v1.SafetyService"));
  ctx.TryCancel();
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(4));
  while (cq.Next(&tag, &ok)) {
    if (tag == reinterpret_cast<void*>(4)) break;
  }
}

}  // namespace
}  // namespace aesignal
