// ReplayTopics: signals and topic records as they stood at a cut-off, from a
// hand-written change log: raising, evidence updates, triage, a later topic,
// a signal renamed by the id upgrade, and a topic record the log never held.
#include "services/domain/topic_replay.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "services/domain/evaluate.h"
#include "services/domain/topics.h"

namespace aesignal::domain {
namespace {

google::protobuf::Timestamp At(int64_t seconds) {
  google::protobuf::Timestamp t;
  t.set_seconds(seconds);
  return t;
}

v1::Signal MakeSignal(const std::string& pt, bool crosses, int64_t time) {
  v1::Signal s;
  s.set_trial_id("T");
  s.set_method(v1::SIGNAL_METHOD_CONTROL_FISHER);
  s.set_level(v1::TERM_LEVEL_PT);
  s.set_soc("Skin");
  s.set_pt(pt);
  s.set_label(pt);
  s.set_dose_group_id("HIGH");
  s.set_timepoint_id("W4");
  s.set_signal_id(SignalId(s.method(), TermOfSignal(s), "HIGH", "W4"));
  s.set_status(v1::SIGNAL_STATUS_NEW);
  *s.mutable_raise_time() = At(10);
  *s.mutable_update_time() = At(time);
  s.mutable_evidence()->set_method(s.method());
  s.mutable_evidence()->set_crosses(crosses);
  s.mutable_evidence()->set_p_value(crosses ? 0.001 : 0.2);
  s.mutable_evidence()->set_threshold(0.05);
  return s;
}

v1::SignalEvent Event(v1::SignalEvent::Kind kind, int64_t time,
                      v1::SignalStatus to = v1::SIGNAL_STATUS_NEW) {
  v1::SignalEvent e;
  e.set_kind(kind);
  *e.mutable_time() = At(time);
  e.set_to_status(to);
  return e;
}

storage::SignalChange SignalChanged(v1::Signal signal, v1::SignalEvent event) {
  storage::SignalChange c;
  *c.mutable_signal() = std::move(signal);
  *c.mutable_event() = std::move(event);
  return c;
}

storage::SignalChange TopicChanged(const v1::Signal& of,
                                   v1::SignalStatus status,
                                   v1::SignalEvent event) {
  storage::SignalChange c;
  v1::SignalTopic topic = TopicOfSignal(of);
  topic.set_status(status);
  *topic.mutable_update_time() = event.time();
  *c.mutable_topic() = std::move(topic);
  *c.mutable_event() = std::move(event);
  return c;
}

// Rash: raised at 10 (logged under its pre-upgrade id), stops crossing at
// 20, its topic triaged at 30; Pruritus raised at 40.
std::vector<storage::SignalChange> Log() {
  const v1::Signal rash = MakeSignal("Rash", true, 10);
  v1::Signal renamed = rash;
  renamed.set_signal_id("CONTROL_FISHER~PT~Skin~Rash~HIGH~W4%old");
  v1::SignalEvent triaged = Event(v1::SignalEvent::KIND_TRIAGED, 30,
                                  v1::SIGNAL_STATUS_UNDER_ASSESSMENT);
  triaged.set_comment("reviewed at the DSMB");
  const v1::Signal pruritus = MakeSignal("Pruritus", true, 40);
  return {
      TopicChanged(rash, v1::SIGNAL_STATUS_NEW,
                   Event(v1::SignalEvent::KIND_RAISED, 10)),
      SignalChanged(renamed, Event(v1::SignalEvent::KIND_RAISED, 10)),
      SignalChanged(MakeSignal("Rash", false, 20),
                    Event(v1::SignalEvent::KIND_EVIDENCE_UPDATED, 20)),
      TopicChanged(rash, v1::SIGNAL_STATUS_UNDER_ASSESSMENT, triaged),
      TopicChanged(pruritus, v1::SIGNAL_STATUS_NEW,
                   Event(v1::SignalEvent::KIND_RAISED, 40)),
      SignalChanged(pruritus, Event(v1::SignalEvent::KIND_RAISED, 40)),
  };
}

TEST(TopicReplayTest, NothingBeforeTheFirstRaise) {
  const ReplayedTopics r = ReplayTopics(Log(), {}, At(9));
  EXPECT_TRUE(r.signals.empty());
  EXPECT_TRUE(r.records.empty());
}

TEST(TopicReplayTest, EachStateIsTheLastChangeAtOrBeforeTheCutOff) {
  ReplayedTopics r = ReplayTopics(Log(), {}, At(10));
  ASSERT_EQ(r.signals.size(), 1u);
  EXPECT_EQ(r.signals[0].signal_id(),
            MakeSignal("Rash", true, 10).signal_id());  // the current id
  EXPECT_TRUE(r.signals[0].evidence().crosses());
  EXPECT_EQ(r.signals[0].history_size(), 1);
  ASSERT_EQ(r.records.size(), 1u);
  EXPECT_EQ(r.records[0].status(), v1::SIGNAL_STATUS_NEW);

  r = ReplayTopics(Log(), {}, At(25));
  ASSERT_EQ(r.signals.size(), 1u);  // the renamed snapshot is the same signal
  EXPECT_FALSE(r.signals[0].evidence().crosses());
  ASSERT_EQ(r.signals[0].history_size(), 2);
  EXPECT_EQ(r.signals[0].history(1).kind(),
            v1::SignalEvent::KIND_EVIDENCE_UPDATED);
  EXPECT_EQ(r.records[0].status(), v1::SIGNAL_STATUS_NEW);
  EXPECT_EQ(r.records[0].history_size(), 1);

  r = ReplayTopics(Log(), {}, At(35));
  ASSERT_EQ(r.records.size(), 1u);
  EXPECT_EQ(r.records[0].status(), v1::SIGNAL_STATUS_UNDER_ASSESSMENT);
  ASSERT_EQ(r.records[0].history_size(), 2);
  EXPECT_EQ(r.records[0].history(1).comment(), "reviewed at the DSMB");

  r = ReplayTopics(Log(), {}, At(45));
  EXPECT_EQ(r.signals.size(), 2u);
  EXPECT_EQ(r.records.size(), 2u);
}

TEST(TopicReplayTest, ARecordTheLogNeverHeldIsCutAtTheCutOff) {
  // Sepsis: raised at 12 and triaged at 22 before topics were logged; its
  // record was created from its signals' history (SignalBook::UpgradeTopics).
  std::vector<storage::SignalChange> log = Log();
  const v1::Signal sepsis = MakeSignal("Sepsis", true, 12);
  log.push_back(SignalChanged(sepsis, Event(v1::SignalEvent::KIND_RAISED, 12)));
  v1::SignalTopic stored = TopicOfSignal(sepsis);
  *stored.add_history() = Event(v1::SignalEvent::KIND_RAISED, 12);
  *stored.add_history() =
      Event(v1::SignalEvent::KIND_TRIAGED, 22, v1::SIGNAL_STATUS_REFUTED);
  stored.set_status(v1::SIGNAL_STATUS_REFUTED);
  const std::string id = stored.topic_id();
  auto record_of = [&](const ReplayedTopics& r) -> const v1::SignalTopic* {
    for (const auto& t : r.records) {
      if (t.topic_id() == id) return &t;
    }
    return nullptr;
  };
  EXPECT_EQ(record_of(ReplayTopics(log, {stored}, At(11))), nullptr);
  const ReplayedTopics at15 = ReplayTopics(log, {stored}, At(15));
  ASSERT_NE(record_of(at15), nullptr);
  EXPECT_EQ(record_of(at15)->status(), v1::SIGNAL_STATUS_NEW);
  EXPECT_EQ(record_of(at15)->history_size(), 1);
  const ReplayedTopics at25 = ReplayTopics(log, {stored}, At(25));
  ASSERT_NE(record_of(at25), nullptr);
  EXPECT_EQ(record_of(at25)->status(), v1::SIGNAL_STATUS_REFUTED);
}

TEST(TopicReplayTest, AssembledTopicsAsOfRankAndSummarizeThatState) {
  const ReplayedTopics r = ReplayTopics(Log(), {}, At(25));
  const std::vector<v1::SignalTopic> topics = AssembleTopics(
      "T", ProtocolOrder(), r.signals, r.records, /*with_evidence=*/true);
  ASSERT_EQ(topics.size(), 1u);
  EXPECT_FALSE(topics[0].crossing());
  EXPECT_EQ(topics[0].evidence_size(), 1);
  EXPECT_EQ(topics[0].evidence(0).history_size(), 0);
}

}  // namespace
}  // namespace aesignal::domain
