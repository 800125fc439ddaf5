// Fuzz target: the validation of SubmitReports and EnrollSubjects requests
// against a fixed valid trial, both the pure checks (services/domain/
// validation.h) and the whole request as the server runs it (Monitor on a
// real Store: batch limits, duplicates within a batch, the caller's sites,
// enrollment and version checks).
//
// Input: one mode byte, then a serialized request.
//   mode & 1: EnrollSubjectsRequest (else SubmitReportsRequest);
//   mode & 2: keep the request's parent (else it is set to the trial's);
//   mode & 4: the caller is a site principal restricted to site "01".
//
// Checks: no crash; the pure checks reject with a field of the report or
// subject and a reason; what they accept lands in a window and dose group of
// the trial; the Monitor answers every report, with counts that add up, and
// rejects at least what the pure checks reject (same field); whole-request
// errors are INVALID_ARGUMENT with field violations, NOT_FOUND or
// PERMISSION_DENIED (never a storage error).
//
// The Monitor and its Store (in a temporary directory: $TMPDIR, else
// /dev/shm) are created once per process, so state (enrolled subjects,
// stored reports) carries over between inputs; a crash leaves the directory
// behind.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "aesignal/v1/ingest_service.pb.h"
#include "aesignal/v1/trial.pb.h"
#include "aesignal/v1/trial_service.pb.h"
#include "services/domain/monitor.h"
#include "services/domain/validation.h"
#include "services/errors/errors.h"
#include "storage/store.h"
#include "tests/fuzz/fuzz_check.h"

namespace aesignal::domain {
namespace {

constexpr char kTrialId[] = "NCT0001";
constexpr char kParent[] = "trials/NCT0001";

v1::Trial MakeTrial() {
  v1::Trial t;
  t.set_trial_id(kTrialId);
  t.set_title("Fuzz dose escalation");
  const struct {
    const char* id;
    double dose;
    bool control;
  } groups[] = {{"PBO", 0, true}, {"LOW", 10, false}, {"HIGH", 20, false}};
  for (const auto& g : groups) {
    auto* group = t.add_dose_groups();
    group->set_dose_group_id(g.id);
    group->set_dose_value(g.dose);
    group->set_dose_unit("mg/kg");
    group->set_control(g.control);
  }
  const std::pair<const char*, int> timepoints[] = {
      {"M1", 30}, {"M3", 91}, {"M6", 182}};
  for (const auto& [id, day] : timepoints) {
    auto* tp = t.add_timepoints();
    tp->set_timepoint_id(id);
    tp->set_study_day(day);
  }
  t.add_sites()->set_site_id("01");
  t.add_sites()->set_site_id("02");
  return t;
}

// The trial as stored (normalized), a Store and a Monitor, created once.
class World {
 public:
  static World& Get() {
    static World* world = new World;  // outlives the fuzzing loop
    return *world;
  }

  const v1::Trial& trial() const { return trial_; }
  Monitor& monitor() { return *monitor_; }

 private:
  World() {
    // $TMPDIR if set, else /dev/shm (every commit syncs the WAL: cheap on
    // tmpfs), else the system's temporary directory.
    std::error_code ec;
    std::filesystem::path base = "/dev/shm";
    if (std::getenv("TMPDIR") != nullptr ||
        !std::filesystem::is_directory(base, ec) ||
        ::access(base.c_str(), W_OK) != 0) {
      base = std::filesystem::temp_directory_path();
    }
    std::string templ = (base / "aesignal-fuzz-XXXXXX").string();
    FUZZ_CHECK(mkdtemp(templ.data()) != nullptr) << templ;
    dir_ = templ;
    auto store = storage::Store::Open({.path = dir_ + "/db"});
    FUZZ_CHECK(store.ok()) << store.status();
    store_ = *std::move(store);
    monitor_ = std::make_unique<Monitor>(store_.get());

    v1::CreateTrialRequest create;
    *create.mutable_trial() = MakeTrial();
    auto trial = monitor_->CreateTrial(create);
    FUZZ_CHECK(trial.ok()) << trial.status();
    trial_ = *std::move(trial);

    v1::EnrollSubjectsRequest enroll;
    enroll.set_parent(kParent);
    const struct {
      const char* id;
      const char* site;
      const char* group;
    } subjects[] = {{"P1", "01", "PBO"},
                    {"P2", "01", "LOW"},
                    {"P3", "02", "HIGH"},
                    {"P4", "02", "LOW"}};
    for (const auto& s : subjects) {
      auto* subject = enroll.add_subjects();
      subject->set_subject_id(s.id);
      subject->set_site_id(s.site);
      subject->set_dose_group_id(s.group);
      subject->set_last_contact_day(91);
    }
    auto enrolled = monitor_->EnrollSubjects(enroll);
    FUZZ_CHECK(enrolled.ok()) << enrolled.status();
    // The database is removed when the process exits normally.
    std::atexit([] { Get().Close(); });
  }

  void Close() {
    monitor_.reset();
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::string dir_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<Monitor> monitor_;
  v1::Trial trial_;
};

// A whole-request error: one of the documented codes, INVALID_ARGUMENT
// carrying field violations.
void CheckRequestError(const absl::Status& status) {
  FUZZ_CHECK(status.code() == absl::StatusCode::kInvalidArgument ||
             status.code() == absl::StatusCode::kNotFound ||
             status.code() == absl::StatusCode::kPermissionDenied)
      << "unexpected error: " << status;
  if (status.code() == absl::StatusCode::kInvalidArgument) {
    FUZZ_CHECK(!errors::ViolationsOf(status).empty())
        << "INVALID_ARGUMENT without field violations: " << status;
  }
  FUZZ_CHECK(!status.message().empty());
}

void FuzzReports(const v1::SubmitReportsRequest& request,
                 const CallInfo& call) {
  World& world = World::Get();
  const v1::Trial& trial = world.trial();
  std::vector<std::string> pure_rejected(request.reports_size());
  for (int i = 0; i < request.reports_size(); ++i) {
    const v1::AdverseEventReport& r = request.reports(i);
    const std::string path = absl::StrCat("reports[", i, "]");
    auto checked = ValidateReport(trial, r, path);
    if (const auto* rejection = std::get_if<Rejection>(&checked)) {
      FUZZ_CHECK(rejection->code == absl::StatusCode::kInvalidArgument ||
                 rejection->code == absl::StatusCode::kNotFound)
          << rejection->code;
      FUZZ_CHECK(absl::StartsWith(rejection->field, path + "."))
          << rejection->field;
      FUZZ_CHECK(!rejection->reason.empty()) << rejection->field;
      pure_rejected[i] = rejection->field;
      continue;
    }
    const ValidReport& valid = std::get<ValidReport>(checked);
    FUZZ_CHECK(valid.window >= 0 && valid.window < trial.timepoints_size())
        << valid.window;
    FUZZ_CHECK(valid.dose_group >= -1 &&
               valid.dose_group < trial.dose_groups_size())
        << valid.dose_group;
    FUZZ_CHECK((valid.dose_group >= 0) == !r.dose_group_id().empty());
    if (r.has_onset_study_day()) {
      FUZZ_CHECK(valid.window == WindowOfDay(trial, r.onset_study_day()));
    } else {
      FUZZ_CHECK(valid.window == TimepointIndex(trial, r.timepoint_id()));
    }
  }

  auto response = world.monitor().SubmitReports(request, call);
  if (!response.ok()) {
    CheckRequestError(response.status());
    return;
  }
  FUZZ_CHECK(request.parent() == kParent);
  FUZZ_CHECK(response->results_size() == request.reports_size())
      << response->results_size() << " results for " << request.reports_size()
      << " reports";
  int counts[5] = {0, 0, 0, 0, 0};
  for (int i = 0; i < response->results_size(); ++i) {
    const v1::ReportResult& result = response->results(i);
    FUZZ_CHECK(result.index() == i);
    FUZZ_CHECK(result.report_id() == request.reports(i).report_id());
    FUZZ_CHECK(result.version() == request.reports(i).version());
    FUZZ_CHECK(result.status() > v1::REPORT_STATUS_UNSPECIFIED &&
               result.status() <= v1::REPORT_STATUS_REJECTED)
        << result.status();
    ++counts[result.status()];
    if (result.status() == v1::REPORT_STATUS_REJECTED) {
      FUZZ_CHECK(result.code() != 0 && !result.field().empty() &&
                 !result.reason().empty())
          << "reports[" << i << "]: rejected without code, field or reason";
    }
    if (!pure_rejected[i].empty()) {
      FUZZ_CHECK(result.status() == v1::REPORT_STATUS_REJECTED &&
                 result.field() == pure_rejected[i])
          << "reports[" << i << "]: validation rejects " << pure_rejected[i]
          << " but the monitor answers " << result.status() << " "
          << result.field();
    }
  }
  FUZZ_CHECK(response->accepted_count() == counts[v1::REPORT_STATUS_ACCEPTED]);
  FUZZ_CHECK(response->duplicate_count() ==
             counts[v1::REPORT_STATUS_DUPLICATE]);
  FUZZ_CHECK(response->superseded_count() ==
             counts[v1::REPORT_STATUS_SUPERSEDED]);
  FUZZ_CHECK(response->rejected_count() == counts[v1::REPORT_STATUS_REJECTED]);
}

void FuzzSubjects(const v1::EnrollSubjectsRequest& request,
                  const CallInfo& call) {
  World& world = World::Get();
  std::vector<errors::FieldViolation> violations;
  for (int i = 0; i < request.subjects_size(); ++i) {
    const std::string path = absl::StrCat("subjects[", i, "]");
    const size_t before = violations.size();
    ValidateSubject(world.trial(), request.subjects(i), path, &violations);
    for (size_t v = before; v < violations.size(); ++v) {
      FUZZ_CHECK(absl::StartsWith(violations[v].field, path + "."))
          << violations[v].field;
      FUZZ_CHECK(!violations[v].description.empty()) << violations[v].field;
    }
  }

  auto response = world.monitor().EnrollSubjects(request, call);
  if (!response.ok()) {
    CheckRequestError(response.status());
    return;
  }
  FUZZ_CHECK(request.parent() == kParent);
  FUZZ_CHECK(violations.empty())
      << "enrolled a subject validation rejects: " << violations[0].field
      << ": " << violations[0].description;
  FUZZ_CHECK(response->subjects_size() == request.subjects_size());
  FUZZ_CHECK(response->created_count() + response->updated_count() +
                 response->unchanged_count() ==
             request.subjects_size());
}

}  // namespace
}  // namespace aesignal::domain

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace domain = aesignal::domain;
  namespace v1 = aesignal::v1;
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  const int proto_size = static_cast<int>(size - 1);
  domain::CallInfo call;
  call.principal = "fuzz";
  if (mode & 4) call.sites = {"01"};
  if (mode & 1) {
    v1::EnrollSubjectsRequest request;
    if (!request.ParseFromArray(data + 1, proto_size)) return 0;
    if (!(mode & 2)) request.set_parent(domain::kParent);
    domain::FuzzSubjects(request, call);
  } else {
    v1::SubmitReportsRequest request;
    if (!request.ParseFromArray(data + 1, proto_size)) return 0;
    if (!(mode & 2)) request.set_parent(domain::kParent);
    domain::FuzzReports(request, call);
  }
  return 0;
}
