// GoogleMock doubles of the SDK's transport, for testing code that uses
// aesignal::client::Client or ReportStreamer without a server.
//
// Example:
//   auto mock = std::make_shared<aesignal::client::MockClientConnection>();
//   EXPECT_CALL(*mock, GetTrial).WillOnce(Return(trial));
//   aesignal::client::Client client(mock);
#ifndef AESIGNAL_CLIENTS_CPP_AESIGNAL_CLIENT_MOCKS_MOCK_CONNECTION_H_
#define AESIGNAL_CLIENTS_CPP_AESIGNAL_CLIENT_MOCKS_MOCK_CONNECTION_H_

#include <memory>

#include "aesignal/client/connection.h"
#include "gmock/gmock.h"

namespace aesignal::client {

class MockReportStream : public ReportStream {
 public:
  MOCK_METHOD(bool, Write, (const v1::StreamReportsRequest&), (override));
  MOCK_METHOD(bool, Read, (v1::StreamReportsResponse*), (override));
  MOCK_METHOD(void, WritesDone, (), (override));
  MOCK_METHOD(absl::Status, Finish, (), (override));
  MOCK_METHOD(void, Cancel, (), (override));
};

class MockSignalWatch : public SignalWatch {
 public:
  MOCK_METHOD(bool, Read, (v1::WatchSignalsResponse*), (override));
  MOCK_METHOD(absl::Status, Finish, (), (override));
  MOCK_METHOD(void, Cancel, (), (override));
};

class MockClientConnection : public ClientConnection {
 public:
  MOCK_METHOD(absl::StatusOr<v1::Trial>, CreateTrial,
              (const v1::CreateTrialRequest&), (override));
  MOCK_METHOD(absl::StatusOr<v1::Trial>, GetTrial, (const v1::GetTrialRequest&),
              (override));
  MOCK_METHOD(absl::StatusOr<v1::ListTrialsResponse>, ListTrials,
              (const v1::ListTrialsRequest&), (override));
  MOCK_METHOD(absl::StatusOr<v1::EnrollSubjectsResponse>, EnrollSubjects,
              (const v1::EnrollSubjectsRequest&), (override));
  MOCK_METHOD(absl::StatusOr<v1::ListSubjectsResponse>, ListSubjects,
              (const v1::ListSubjectsRequest&), (override));
  MOCK_METHOD(absl::StatusOr<v1::SubmitReportsResponse>, SubmitReports,
              (const v1::SubmitReportsRequest&), (override));
  MOCK_METHOD(absl::StatusOr<v1::GetIncidenceResponse>, GetIncidence,
              (const v1::GetIncidenceRequest&), (override));
  MOCK_METHOD(absl::StatusOr<v1::PutBaselinesResponse>, PutBaselines,
              (const v1::PutBaselinesRequest&), (override));
  MOCK_METHOD(absl::StatusOr<v1::ListBaselinesResponse>, ListBaselines,
              (const v1::ListBaselinesRequest&), (override));
  MOCK_METHOD(absl::StatusOr<v1::ListSignalsResponse>, ListSignals,
              (const v1::ListSignalsRequest&), (override));
  MOCK_METHOD(absl::StatusOr<v1::Signal>, GetSignal,
              (const v1::GetSignalRequest&), (override));
  MOCK_METHOD(absl::StatusOr<v1::Signal>, UpdateSignal,
              (const v1::UpdateSignalRequest&), (override));
  MOCK_METHOD(absl::StatusOr<v1::GetAuditTrailResponse>, GetAuditTrail,
              (const v1::GetAuditTrailRequest&), (override));
  MOCK_METHOD(absl::StatusOr<v1::Backup>, CreateBackup,
              (const v1::CreateBackupRequest&), (override));
  MOCK_METHOD(absl::StatusOr<v1::VerifyTrialResponse>, VerifyTrial,
              (const v1::VerifyTrialRequest&), (override));
  MOCK_METHOD(std::unique_ptr<SignalWatch>, WatchSignals,
              (const v1::WatchSignalsRequest&, absl::Time), (override));
  MOCK_METHOD(std::unique_ptr<ReportStream>, OpenReportStream, (), (override));
  MOCK_METHOD(absl::StatusOr<bool>, CheckHealth, (), (override));
  MOCK_METHOD(absl::StatusOr<v1::Trial>, UpdateTrial,
              (const v1::UpdateTrialRequest&), (override));
  MOCK_METHOD(absl::StatusOr<v1::Subject>, GetSubject,
              (const v1::GetSubjectRequest&), (override));
  MOCK_METHOD(absl::StatusOr<v1::Report>, GetReport,
              (const v1::GetReportRequest&), (override));
  MOCK_METHOD(absl::StatusOr<v1::DsmbReport>, GenerateDsmbReport,
              (const v1::GenerateDsmbReportRequest&), (override));
  MOCK_METHOD(absl::StatusOr<v1::ListReportsResponse>, ListReports,
              (const v1::ListReportsRequest&), (override));
  MOCK_METHOD(absl::StatusOr<v1::Baseline>, GetBaseline,
              (const v1::GetBaselineRequest&), (override));
  MOCK_METHOD(absl::StatusOr<v1::Signal>, TriageSignal,
              (const v1::TriageSignalRequest&), (override));
  MOCK_METHOD(absl::StatusOr<v1::ListTopicsResponse>, ListTopics,
              (const v1::ListTopicsRequest&), (override));
  MOCK_METHOD(absl::StatusOr<v1::SignalTopic>, GetTopic,
              (const v1::GetTopicRequest&), (override));
  MOCK_METHOD(absl::StatusOr<v1::SignalTopic>, TriageTopic,
              (const v1::TriageTopicRequest&), (override));
  MOCK_METHOD(absl::StatusOr<v1::ListAuditRecordsResponse>, ListAuditRecords,
              (const v1::ListAuditRecordsRequest&), (override));
};

}  // namespace aesignal::client

#endif  // AESIGNAL_CLIENTS_CPP_AESIGNAL_CLIENT_MOCKS_MOCK_CONNECTION_H_
