#include "services/domain/denominator_cache.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "services/domain/common.h"
#include "services/domain/monitor.h"
#include "services/domain/signals.h"
#include "storage/store.h"
#include "tests/testing/temp_dir.h"

namespace aesignal::domain {
namespace {

constexpr char kTrial[] = "NCT0001";

v1::Trial MakeTrial() {
  v1::Trial t;
  t.set_trial_id(kTrial);
  t.set_title("MSC dose escalation");
  for (const char* id : {"LOW", "MID", "HIGH"}) {
    auto* g = t.add_dose_groups();
    g->set_dose_group_id(id);
    g->set_label(id);
  }
  for (auto [id, day] : {std::pair{"M3", 91}, {"M6", 182}}) {
    auto* tp = t.add_timepoints();
    tp->set_timepoint_id(id);
    tp->set_study_day(day);
  }
  t.add_sites()->set_site_id("01");
  return t;
}

// A store with the trial and three subjects in LOW, written through a
// Monitor that is gone when the test's own cache and readers start.
class DenominatorCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = storage::Store::Open({.path = dir_.Sub("db")});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    Monitor monitor(store_.get());
    v1::CreateTrialRequest create;
    *create.mutable_trial() = MakeTrial();
    ASSERT_TRUE(monitor.CreateTrial(create).ok());
    Enroll(monitor, 1, 3);
    trial_ = MakeTrial();
  }

  void Enroll(Monitor& monitor, int first, int last) {
    v1::EnrollSubjectsRequest enroll;
    enroll.set_parent(absl::StrCat("trials/", kTrial));
    for (int i = first; i <= last; ++i) {
      v1::Subject* s = enroll.add_subjects();
      s->set_subject_id(absl::StrCat("S", i));
      s->set_site_id("01");
      s->set_dose_group_id("LOW");
      s->set_last_contact_day(200);
    }
    ASSERT_TRUE(monitor.EnrollSubjects(enroll).ok());
  }

  // Dosed in LOW as the cache gives it for a probe then a snapshot.
  int64_t DosedLow(DenominatorCache& cache) {
    const DenominatorCache::Probe probe = cache.Take(kTrial);
    auto snapshot = store_->Snapshot();
    auto d = cache.At(*snapshot, trial_, probe);
    EXPECT_TRUE(d.ok()) << d.status();
    return d.ok() ? d->dosed[0] : -1;
  }

  testing::TempDir dir_;
  std::unique_ptr<storage::Store> store_;
  v1::Trial trial_;
};

TEST_F(DenominatorCacheTest, ReadsOnceThenServesTheCachedValue) {
  DenominatorCache cache;
  EXPECT_EQ(cache.Take(kTrial).cached, nullptr);
  EXPECT_EQ(DosedLow(cache), 3);
  ASSERT_NE(cache.Take(kTrial).cached, nullptr);
  {
    // A write this cache is not told of: the cached value (now stale) shows
    // that readers use it.
    Monitor monitor(store_.get());
    Enroll(monitor, 4, 4);
  }
  EXPECT_EQ(DosedLow(cache), 3);
  // Told of it, readers read again, and cache what they read.
  cache.BeginWrite(kTrial);
  cache.EndWrite(kTrial);
  EXPECT_EQ(cache.Take(kTrial).cached, nullptr);
  EXPECT_EQ(DosedLow(cache), 4);
  EXPECT_NE(cache.Take(kTrial).cached, nullptr);
}

TEST_F(DenominatorCacheTest, AWriteAcrossTheSnapshotIsNeitherUsedNorCached) {
  DenominatorCache cache;
  EXPECT_EQ(DosedLow(cache), 3);

  // In flight when the probe is taken: not stable, nothing cached handed out.
  cache.BeginWrite(kTrial);
  const DenominatorCache::Probe during = cache.Take(kTrial);
  EXPECT_FALSE(during.stable);
  EXPECT_EQ(during.cached, nullptr);
  cache.EndWrite(kTrial);

  // Begun after the probe, before the reader's check: read, not cached.
  const DenominatorCache::Probe before = cache.Take(kTrial);
  auto snapshot = store_->Snapshot();
  cache.BeginWrite(kTrial);
  auto d = cache.At(*snapshot, trial_, before);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->dosed[0], 3);
  cache.EndWrite(kTrial);
  EXPECT_EQ(cache.Take(kTrial).cached, nullptr);
}

TEST_F(DenominatorCacheTest, ProbesOfEveryTrialTakenTogether) {
  DenominatorCache cache;
  // No entry yet: generation 0, stable, nothing cached, as Take says.
  DenominatorCache::Probe none = cache.TakeAll().Of(kTrial);
  EXPECT_EQ(none.generation, 0);
  EXPECT_TRUE(none.stable);
  EXPECT_EQ(none.cached, nullptr);
  EXPECT_EQ(DosedLow(cache), 3);
  cache.BeginWrite("OTHER");
  const DenominatorCache::Probes all = cache.TakeAll();
  EXPECT_NE(all.Of(kTrial).cached, nullptr);
  EXPECT_FALSE(all.Of("OTHER").stable);
  EXPECT_TRUE(all.Of("UNSEEN").stable);
  cache.EndWrite("OTHER");
}

// The evaluator reads denominators through the cache: after its round, a
// query finds them there instead of scanning every subject.
TEST_F(DenominatorCacheTest, TheEvaluatorsRoundFillsTheCache) {
  {
    Monitor monitor(store_.get());
    v1::SubmitReportsRequest submit;
    submit.set_parent(absl::StrCat("trials/", kTrial));
    v1::AdverseEventReport* r = submit.add_reports();
    r->set_report_id("R1");
    r->set_version(1);
    r->set_site_id("01");
    r->set_subject_id("S1");
    r->set_onset_study_day(10);
    r->set_pt("Headache");
    r->set_soc("Nervous system disorders");
    r->set_grade(1);
    ASSERT_TRUE(monitor.SubmitReports(submit).ok());
  }
  // Whatever that monitor's evaluator did, every row is to evaluate again.
  ASSERT_TRUE(store_
                  ->Commit([&](storage::Txn& txn) {
                    return internal::MarkAllTermsDirty(txn, kTrial, nullptr);
                  })
                  .ok());
  DenominatorCache cache;
  {
    SignalBook signals(store_.get(), nullptr, &cache);
    ASSERT_TRUE(signals.WaitIdle(absl::Seconds(30)).ok());
  }
  const DenominatorCache::Probe probe = cache.Take(kTrial);
  ASSERT_NE(probe.cached, nullptr);
  EXPECT_EQ(probe.cached->dosed[0], 3);
}

}  // namespace
}  // namespace aesignal::domain
