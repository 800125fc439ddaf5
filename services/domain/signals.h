// The signal side of the monitor: baselines, signal evaluation after ingest,
// signal queries, triage and change notification.
//
// Evaluation is incremental and durable. Every ingest batch marks the term
// rows whose counters it changed as dirty, in the same atomic write as the
// counters (storage/signals.h). A background evaluator takes the dirty rows,
// evaluates their cells (services/domain/evaluate.h, which feeds the pure
// signal module) on one snapshot, and in one write raises or updates signals,
// appends every change to the trial's change log, and clears the marks it
// evaluated (unless a newer batch marked them again). A crash in between
// leaves the marks, so the next start evaluates them: nothing is missed.
//
// Thread-safe.
#ifndef AESIGNAL_SERVICES_DOMAIN_SIGNALS_H_
#define AESIGNAL_SERVICES_DOMAIN_SIGNALS_H_

#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "aesignal/v1/signal_service.pb.h"
#include "services/domain/call_info.h"
#include "services/domain/denominator_cache.h"
#include "services/domain/metrics_sink.h"
#include "services/domain/signal_index.h"
#include "storage/records.pb.h"
#include "storage/store.h"

namespace aesignal::domain {

// While reports keep arriving, the evaluator starts a round at most this long
// after the start of the last one, which took `round`: at least 100 ms, and
// at least four times the round's own time, so that evaluation takes at most
// a quarter of one core from ingest. Signals then lag ingest by at most this
// spacing plus a round. (A first round after an idle spell starts at once,
// and so does one after ingest pauses: NextRoundStart.)
absl::Duration RoundSpacing(absl::Duration round);

// When the evaluator starts its next round, given the time the spacing above
// allows (`spaced_until`) and when the last batch was committed: at
// `spaced_until` while batches keep arriving, but once none has come for
// 100 ms (ingest has paused or stopped) at once — the spacing only keeps
// evaluation from taking CPU that ingest would use, and after a burst there
// is none to take, so waiting would only delay the signals.
absl::Time NextRoundStart(absl::Time spaced_until, absl::Time last_batch);

class SignalBook {
 public:
  // Starts the evaluator, which first evaluates rows left dirty by an earlier
  // run, unless `start_evaluator` is false (a store whose counters cannot be
  // trusted, e.g. after a failed counting-rule upgrade: nothing is evaluated
  // or written). `store`, `metrics` (null:
  // none) and `denominators` (null: read every round) must outlive this
  // object; the owner of `denominators` brackets every write that changes
  // them.
  explicit SignalBook(storage::Store* store, MetricsSink* metrics = nullptr,
                      DenominatorCache* denominators = nullptr,
                      bool start_evaluator = true);
  // Stops the evaluator (finishing the round in progress).
  ~SignalBook();
  SignalBook(const SignalBook&) = delete;
  SignalBook& operator=(const SignalBook&) = delete;

  absl::StatusOr<v1::PutBaselinesResponse> PutBaselines(
      const v1::PutBaselinesRequest& request, const CallInfo& call = {});
  absl::StatusOr<v1::ListBaselinesResponse> ListBaselines(
      const v1::ListBaselinesRequest& request);
  // A baseline with every stored version in `history`, newest first.
  absl::StatusOr<v1::Baseline> GetBaseline(
      const v1::GetBaselineRequest& request);
  absl::StatusOr<v1::ListSignalsResponse> ListSignals(
      const v1::ListSignalsRequest& request);
  absl::StatusOr<v1::Signal> GetSignal(const v1::GetSignalRequest& request);
  // Triage. The event's actor is `call.principal` (the authenticated
  // caller); a retry with the same request_id returns the signal unchanged.
  absl::StatusOr<v1::Signal> TriageSignal(
      const v1::TriageSignalRequest& request, const CallInfo& call = {});
  // The deprecated form of TriageSignal: `actor` becomes the display name.
  absl::StatusOr<v1::Signal> UpdateSignal(
      const v1::UpdateSignalRequest& request, const CallInfo& call = {});

  // Changes of the trial with sequence > after, in order. If there are none,
  // waits until one is committed or `deadline` passes (then returns none).
  // Signal changes only, unless `include_topics` (then also the topics' own
  // changes, whose `signal` is unset).
  absl::StatusOr<std::vector<storage::SignalChange>> WaitForChanges(
      const std::string& trial_id, int64_t after, absl::Time deadline,
      bool include_topics = false);

  // --- Topics (topic_book.cc; topics.h has the model) -----------------------
  // Ranked, filtered, paginated (offset tokens bound to the request). With
  // `as_of`, the topics as they stood then, replayed from the change log
  // (topic_replay.h); INVALID_ARGUMENT if it is in the future.
  absl::StatusOr<v1::ListTopicsResponse> ListTopics(
      const v1::ListTopicsRequest& request);
  // With its evidence (strongest first) and its history.
  absl::StatusOr<v1::SignalTopic> GetTopic(const v1::GetTopicRequest& request);
  // Every topic that every page of ListTopics(request) would list, in its
  // order, each as GetTopic with the same `as_of` gives it (evidence and
  // history), from one replay of the change log: for server-side readers
  // such as the DSMB report, where a GetTopic per topic replays the whole
  // log each time. `as_of` is required (INVALID_ARGUMENT otherwise);
  // page_size and page_token are ignored. Not an RPC.
  absl::StatusOr<std::vector<v1::SignalTopic>> GetTopicsAtCutOff(
      const v1::ListTopicsRequest& request);
  // Each baseline of trial `parent` in the version in force at `as_of`
  // (ReadBaselinesAsOf). Not an RPC: for the DSMB report.
  absl::StatusOr<std::vector<v1::Baseline>> BaselinesAtCutOff(
      const std::string& parent, const google::protobuf::Timestamp& as_of);
  // Every pre-specified row of request.parent's trial evaluated at
  // request.as_of (required), crossing or not: prespecified.h. The other
  // fields of the request are ignored. Not an RPC: for the DSMB report.
  absl::StatusOr<std::vector<v1::SignalTopic>> PrespecifiedAtCutOff(
      const v1::ListTopicsRequest& request);
  // Triage of a topic; the rules of TriageSignal.
  absl::StatusOr<v1::SignalTopic> TriageTopic(
      const v1::TriageTopicRequest& request, const CallInfo& call = {});
  // The trial's changes after `after` as topic changes (the topic as it is
  // now), waiting as WaitForChanges does.
  absl::StatusOr<std::vector<v1::WatchTopicsResponse>> WaitForTopicChanges(
      const std::string& trial_id, int64_t after, absl::Time deadline);
  // Creates the stored record of every topic whose signals were raised
  // before topics existed: status and history from its signals' triage
  // events (oldest first; the last one's status), so no triage is lost.
  // Idempotent; the server runs it at start. Returns how many it created.
  absl::StatusOr<int> UpgradeTopics();

  // Gives every stored signal the id the current scheme assigns to its cell
  // (signal ids became URL-safe: names are escaped as ".XX", not "%XX" or
  // not at all), moving its history with it. Idempotent; the server runs it
  // at start, before serving. Returns how many signals were renamed.
  absl::StatusOr<int> UpgradeSignalIds();

  // Called after an ingest batch that marked rows dirty became durable.
  void OnBatchCommitted();

  // Blocks until no dirty rows remain or `timeout` passes (for tests and
  // tools); returns the evaluator's last error if it failed.
  absl::Status WaitIdle(absl::Duration timeout);

  // While held, the evaluator starts no new round (one already under way or
  // waiting for its start time still runs), so tests can see rows awaiting
  // evaluation; releasing it resumes the rounds. Tests only.
  void HoldEvaluationForTesting(bool held);

  // Re-evaluates every term row of the trial from its current counters, in
  // memory, and compares with the stored signals: DATA_LOSS naming the first
  // differences if a crossing has no signal or a signal's evidence differs;
  // FAILED_PRECONDITION while rows await evaluation. Writes nothing. On
  // success, returns how many signals were checked.
  absl::StatusOr<int> VerifySignals(const std::string& trial_id);

  // The index behind ListSignals (for tests).
  const SignalIndexCache& signal_index() const { return signal_index_; }

 private:
  void EvaluatorLoop();
  // What one evaluator round did.
  struct RoundOutcome {
    int rows = 0;          // dirty rows evaluated and committed
    absl::Status failure;  // why some rows were not (they stay dirty)
  };
  // One round: evaluates every dirty row, trial by trial. A trial that
  // cannot be evaluated is named in `failure` and the others are evaluated
  // all the same; a failure of the store itself ends the round.
  RoundOutcome EvaluateRound();
  void NotifyChanges();
  // ListTopics' and ListSignals' rows_pending_evaluation: the trial's dirty
  // rows (storage::CountDirtyTerms), remembered with the view's sequence so
  // that calls while nothing is written (an idle dashboard) skip the scan,
  // which steps over every row's deleted marks (~0.5-2 ms for 1,000 rows).
  absl::StatusOr<int> RowsPendingEvaluation(const storage::SnapshotView& view,
                                            const std::string& trial_id);
  // The oldest batch no finished round has evaluated, to the metrics sink.
  void ReportBacklog() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Ends a round that started at `started`.
  void EndRound(absl::Time started, const RoundOutcome& outcome)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  storage::Store& store_;
  MetricsSink& metrics_;
  DenominatorCache* const denominators_;  // null: read every round
  SignalIndexCache signal_index_;

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  int64_t batches_pending_ ABSL_GUARDED_BY(mu_) = 1;  // evaluate at start
  int64_t change_epoch_ ABSL_GUARDED_BY(mu_) = 0;     // bumps on each commit
  absl::Time last_batch_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  // The oldest batch committed since the running round (if any) started, and
  // the oldest one that round covers; InfiniteFuture for none. Rows left
  // dirty by an earlier run count as waiting since the start.
  absl::Time waiting_since_ ABSL_GUARDED_BY(mu_) = absl::Now();
  absl::Time covering_since_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  bool idle_ ABSL_GUARDED_BY(mu_) = false;
  bool held_ ABSL_GUARDED_BY(mu_) = false;  // HoldEvaluationForTesting
  struct PendingCount {
    uint64_t sequence = 0;
    int rows = 0;
  };
  absl::Mutex pending_mu_;
  // By trial id: the last count and the sequence it was read at.
  absl::flat_hash_map<std::string, PendingCount> pending_counts_
      ABSL_GUARDED_BY(pending_mu_);
  absl::Status last_error_ ABSL_GUARDED_BY(mu_);
  std::thread evaluator_;
};

}  // namespace aesignal::domain

#endif  // AESIGNAL_SERVICES_DOMAIN_SIGNALS_H_
