// What the durability tests (SIGKILL, power loss) check at the end, on a
// store opened after the last crash: the counters equal a recount, every
// signal equals a re-evaluation, and no report is counted twice. Also how
// they read their settings from the environment.
#ifndef AESIGNAL_TESTS_TESTING_RECOUNT_CHECKS_H_
#define AESIGNAL_TESTS_TESTING_RECOUNT_CHECKS_H_

#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "services/domain/monitor.h"
#include "storage/keys.h"
#include "storage/store.h"

namespace aesignal::testing {

// The integer in environment variable `name`, or `fallback`.
inline int EnvInt(const char* name, int fallback) {
  const char* value = std::getenv(name);
  int parsed = 0;
  return value != nullptr && absl::SimpleAtoi(value, &parsed) ? parsed
                                                              : fallback;
}

// A durability test's settings from `prefix`_CYCLES (default 20),
// `prefix`_CLIENTS (3) and `prefix`_SEED (the time), printed so that a run's
// moments can be replayed.
struct CycleSettings {
  int cycles = 20;
  int clients = 3;
  int seed = 0;
};
inline CycleSettings CycleSettingsFromEnv(const std::string& prefix) {
  CycleSettings settings;
  settings.cycles = EnvInt((prefix + "_CYCLES").c_str(), 20);
  settings.clients = EnvInt((prefix + "_CLIENTS").c_str(), 3);
  settings.seed = EnvInt((prefix + "_SEED").c_str(),
                         static_cast<int>(absl::ToUnixMicros(absl::Now())));
  std::cout << "cycles=" << settings.cycles << " clients=" << settings.clients
            << " seed=" << settings.seed << " (" << prefix
            << "_SEED=" << settings.seed << " replays the moments)\n";
  return settings;
}

// On `store`: trial `trial_id`'s counters equal a recount of its stored
// reports; once the rows left dirty are evaluated, every stored signal
// equals a re-evaluation (and one was raised at least, or the check checked
// nothing); and the any_ae total equals the number of distinct stored
// reports, each counted once. Sets `*stored_reports` to that number.
inline void ExpectStoreEqualsARecount(storage::Store& store,
                                      const std::string& trial_id,
                                      int64_t* stored_reports) {
  domain::Monitor monitor(&store);
  absl::Status verified = monitor.VerifyCounters(trial_id).status();
  EXPECT_TRUE(verified.ok()) << verified;
  ASSERT_TRUE(monitor.signals().WaitIdle(absl::Seconds(60)).ok());
  auto signals = monitor.signals().VerifySignals(trial_id);
  ASSERT_TRUE(signals.ok()) << signals.status();
  EXPECT_GT(*signals, 0) << "no signal was raised: the check checked nothing";
  std::set<std::pair<std::string, std::string>> reports;
  ASSERT_TRUE(store.Latest()
                  .Scan(storage::Cf::kReports, storage::TrialPrefix(trial_id),
                        "",
                        [&](std::string_view key, std::string_view) {
                          auto parts = storage::DecodeReportKey(key);
                          reports.insert({parts->site_id, parts->report_id});
                          return true;
                        })
                  .ok());
  v1::GetIncidenceRequest request;
  request.set_parent("trials/" + trial_id);
  request.set_level(v1::TERM_LEVEL_OVERALL);
  auto incidence = monitor.GetIncidence(request);
  ASSERT_TRUE(incidence.ok()) << incidence.status();
  const v1::TermIncidence& any_ae = incidence->terms(0);
  ASSERT_EQ(any_ae.overall_key(), "any_ae");
  const v1::IncidenceCell& total = any_ae.cells(any_ae.cells_size() - 1);
  ASSERT_EQ(total.dose_group_id(), "");
  EXPECT_EQ(total.cumulative().events(), static_cast<int64_t>(reports.size()));
  *stored_reports = static_cast<int64_t>(reports.size());
  std::cout << *signals << " signals equal a re-evaluation; " << reports.size()
            << " reports stored, each counted once\n";
}

}  // namespace aesignal::testing

#endif  // AESIGNAL_TESTS_TESTING_RECOUNT_CHECKS_H_
