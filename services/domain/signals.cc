#include "services/domain/signals.h"

#include <algorithm>
#include <limits>
#include <map>
#include <set>
#include <span>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/util/message_differencer.h"
#include "services/domain/audit_actions.h"
#include "services/domain/common.h"
#include "services/domain/evaluate.h"
#include "services/domain/incidence_rows.h"
#include "services/domain/row_evaluation.h"
#include "services/domain/topics.h"
#include "services/domain/triage.h"
#include "services/domain/validation.h"
#include "services/errors/errors.h"
#include "services/log/log.h"
#include "storage/audit.h"
#include "storage/incidence.h"
#include "storage/keys.h"
#include "storage/signals.h"

namespace aesignal::domain {
namespace {

using google::protobuf::util::MessageDifferencer;
using internal::LoadTrial;
using internal::NowProto;
using internal::Parse;
using storage::Cf;
using storage::Level;
using storage::TermKey;

constexpr char kSystemActor[] = "system";
constexpr int kMaxBaselinesPerRequest = 10000;

void ValidateBaseline(const v1::Trial& trial, const v1::Baseline& b,
                      const std::string& path,
                      std::vector<errors::FieldViolation>* v) {
  auto add = [&](const std::string& field, std::string why) {
    v->push_back({absl::StrCat(path, ".", field), std::move(why)});
  };
  if (b.baseline_id().empty() || b.baseline_id().size() > 128 ||
      absl::StrContains(b.baseline_id(), '/')) {
    add("baseline_id", "is required: 1..128 bytes of UTF-8, no '/'");
  }
  // A term the level needs: required, and a MedDRA name (CheckTermName).
  auto add_term = [&](const std::string& field, const std::string& name,
                      const char* level) {
    if (name.empty()) {
      add(field, absl::StrCat("is required for level ", level));
    } else if (std::string why = CheckTermName(name); !why.empty()) {
      add(field, why);
    }
  };
  switch (b.level()) {
    case v1::TERM_LEVEL_PT:
      add_term("pt", b.pt(), "PT");
      add_term("soc", b.soc(), "PT");
      break;
    case v1::TERM_LEVEL_SOC:
      add_term("soc", b.soc(), "SOC");
      break;
    case v1::TERM_LEVEL_OVERALL:
      if (!IsOverallRow(trial, b.overall_key())) {
        // Named from the trial's own rows, so the list cannot fall behind.
        add("overall_key",
            absl::StrCat("'", b.overall_key(),
                         "' is not an overall row of this trial (",
                         absl::StrJoin(OverallRows(trial), ", ",
                                       [](std::string* out, const auto& row) {
                                         out->append(row.key);
                                       }),
                         ")"));
      }
      break;
    default:
      add("level", "must be PT, SOC or OVERALL");
  }
  if (!b.timepoint_id().empty() &&
      TimepointIndex(trial, b.timepoint_id()) < 0) {
    add("timepoint_id",
        absl::StrCat("'", b.timepoint_id(), "' is not a timepoint of trial ",
                     trial.trial_id()));
  }
  if (!b.dose_group_id().empty() &&
      DoseGroupIndex(trial, b.dose_group_id()) < 0) {
    add("dose_group_id",
        absl::StrCat("'", b.dose_group_id(), "' is not a dose group of trial ",
                     trial.trial_id()));
  }
  if (!(b.expected_proportion() > 0 && b.expected_proportion() < 1)) {
    add("expected_proportion",
        absl::StrCat("must be in (0, 1), got ", b.expected_proportion()));
  }
  if (b.source_events() < 0 || b.source_subjects() < 0 ||
      b.source_events() > b.source_subjects()) {
    add("source_events",
        "source_events and source_subjects must satisfy 0 <= events <= "
        "subjects");
  }
  if (b.citation().empty()) {
    add("citation", "is required: where the expected incidence comes from");
  }
}

// Baseline content as PutBaselines compares it.
v1::Baseline Content(v1::Baseline b) {
  b.clear_name();
  b.clear_version();
  b.clear_update_time();
  return b;
}

absl::StatusOr<std::pair<std::string, std::string>> ParseSignalName(
    const std::string& name) {
  // trials/{trial}/signals/{signal}
  std::vector<std::string> parts = absl::StrSplit(name, '/');
  if (parts.size() != 4 || parts[0] != "trials" || parts[2] != "signals" ||
      parts[1].empty() || parts[3].empty()) {
    return errors::InvalidArgument(
        "name", "must be trials/{trial_id}/signals/{signal_id}");
  }
  return std::make_pair(parts[1], parts[3]);
}

}  // namespace

SignalBook::SignalBook(storage::Store* store, MetricsSink* metrics,
                       DenominatorCache* denominators, bool start_evaluator)
    : store_(*store),
      metrics_(metrics != nullptr ? *metrics : NullMetrics()),
      denominators_(denominators) {
  if (start_evaluator) {
    evaluator_ = std::thread([this] { EvaluatorLoop(); });
  } else {
    absl::MutexLock lock(&mu_);
    idle_ = true;
  }
}

SignalBook::~SignalBook() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (evaluator_.joinable()) evaluator_.join();
}

void SignalBook::OnBatchCommitted() {
  absl::MutexLock lock(&mu_);
  ++batches_pending_;
  idle_ = false;
  last_batch_ = absl::Now();
  if (waiting_since_ == absl::InfiniteFuture()) {
    waiting_since_ = last_batch_;
    ReportBacklog();
  }
}

void SignalBook::ReportBacklog() {
  // Under mu_, so that WaitIdle returns only after the sink has heard.
  const absl::Time oldest = std::min(waiting_since_, covering_since_);
  metrics_.SignalBacklog(oldest == absl::InfiniteFuture() ? absl::InfinitePast()
                                                          : oldest);
}

void SignalBook::NotifyChanges() {
  absl::MutexLock lock(&mu_);
  ++change_epoch_;
}

absl::Duration RoundSpacing(absl::Duration round) {
  // At least this long: a round re-screens every row of a trial besides the
  // rows the batches changed, so without a pause a stream of small messages
  // kept one of the two cores busy evaluating after every message (a third
  // of the CPU of unbatched ingest in the issue 20 profile); the rows of all
  // batches in the pause are evaluated together.
  constexpr absl::Duration kMinRoundInterval = absl::Milliseconds(100);
  // And long enough that evaluation uses at most a quarter of one core while
  // ingest continues: loading a 1,000-PT trial, rounds of exact dose-trend
  // tests every 100 ms took three quarters of a core from ingest.
  constexpr int kRoundsPerSpacing = 4;
  return std::max(kMinRoundInterval, kRoundsPerSpacing * round);
}

absl::Time NextRoundStart(absl::Time spaced_until, absl::Time last_batch) {
  // Longer than the gap between two commits of any sustained ingest (one
  // client's 250-report messages commit every ~25 ms), so rounds stay spaced
  // while it lasts.
  constexpr absl::Duration kQuietSpell = absl::Milliseconds(100);
  return std::min(spaced_until, last_batch + kQuietSpell);
}

void SignalBook::EvaluatorLoop() {
  absl::Time next_round = absl::InfinitePast();
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      auto work = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
        return (batches_pending_ > 0 && !held_) || stopping_;
      };
      // Also a round every second without a batch: it finds rows marked
      // dirty by a write that did not call OnBatchCommitted, if any.
      mu_.AwaitWithTimeout(absl::Condition(&work), absl::Seconds(1));
      if (stopping_) return;
      if (held_) continue;
      auto stopping = [this]()
                          ABSL_SHARED_LOCKS_REQUIRED(mu_) { return stopping_; };
      // Each batch that arrives while waiting moves the start later, up to
      // `next_round`; a retry after a failed round always waits for it.
      auto start_at = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return !last_error_.ok() ? next_round
                                 : NextRoundStart(next_round, last_batch_);
      };
      for (absl::Time start = start_at(); absl::Now() < start;
           start = start_at()) {
        if (mu_.AwaitWithDeadline(absl::Condition(&stopping), start)) return;
      }
      batches_pending_ = 0;
      covering_since_ = std::min(covering_since_, waiting_since_);
      waiting_since_ = absl::InfiniteFuture();
    }
    const absl::Time started = absl::Now();
    const RoundOutcome outcome = EvaluateRound();
    // A first round after an idle spell starts at once; later ones are
    // spaced while reports keep arriving (NextRoundStart).
    next_round = started + RoundSpacing(absl::Now() - started);
    absl::MutexLock lock(&mu_);
    EndRound(started, outcome);
  }
}

void SignalBook::EndRound(absl::Time started, const RoundOutcome& outcome) {
  const absl::Time ended = absl::Now();
  const bool ok = outcome.failure.ok();
  // A failed round still counts the rows it did commit (other trials').
  MetricsSink::SignalRound round{.ok = ok,
                                 .took = ended - started,
                                 .rows = outcome.rows,
                                 .lag = absl::ZeroDuration()};
  const bool covered = covering_since_ != absl::InfiniteFuture();
  if (ok && covered) round.lag = ended - covering_since_;
  // Not the once-a-second rounds that found nothing to do.
  if (!ok || round.rows > 0 || covered) metrics_.SignalRoundEnded(round);
  if (!ok) {
    // Logged once per distinct error; retried after the round's spacing,
    // still covering the batches this round did (covering_since_ stays).
    if (outcome.failure != last_error_) {
      log::Line(absl::StrCat("signal evaluation failed (will retry): ",
                             log::StatusText(outcome.failure)));
    }
    last_error_ = outcome.failure;
    batches_pending_ = 1;  // retry on the next tick
    return;
  }
  covering_since_ = absl::InfiniteFuture();
  ReportBacklog();
  last_error_ = absl::OkStatus();
  if (batches_pending_ == 0) idle_ = true;
}

absl::StatusOr<int> SignalBook::RowsPendingEvaluation(
    const storage::SnapshotView& view, const std::string& trial_id) {
  const uint64_t sequence = view.Sequence();
  {
    absl::MutexLock lock(&pending_mu_);
    auto it = pending_counts_.find(trial_id);
    if (it != pending_counts_.end() && it->second.sequence == sequence) {
      return it->second.rows;
    }
  }
  AESIGNAL_ASSIGN_OR_RETURN(int rows, storage::CountDirtyTerms(view, trial_id));
  absl::MutexLock lock(&pending_mu_);
  PendingCount& memo = pending_counts_[trial_id];
  if (sequence >= memo.sequence) memo = {.sequence = sequence, .rows = rows};
  return rows;
}

void SignalBook::HoldEvaluationForTesting(bool held) {
  absl::MutexLock lock(&mu_);
  held_ = held;
}

absl::Status SignalBook::WaitIdle(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto done = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return idle_ && batches_pending_ == 0;
  };
  if (!mu_.AwaitWithTimeout(absl::Condition(&done), timeout)) {
    return absl::DeadlineExceededError(absl::StrCat(
        "signal evaluation still busy; last error: ", last_error_.ToString()));
  }
  return last_error_;
}

namespace {

// Every term row of the trial with counters, at every level.
absl::StatusOr<std::vector<storage::TermCounters>> ReadAllRows(
    const storage::ReadView& view, const v1::Trial& trial) {
  std::vector<storage::TermCounters> rows;
  for (Level level : {Level::kPt, Level::kSoc, Level::kOverall}) {
    bool more = false;
    AESIGNAL_ASSIGN_OR_RETURN(
        std::vector<storage::TermCounters> level_rows,
        storage::ReadTermCounters(view, trial.trial_id(), level,
                                  trial.dose_groups_size(),
                                  trial.timepoints_size(), "",
                                  std::numeric_limits<int>::max(), &more));
    for (auto& row : level_rows) rows.push_back(std::move(row));
  }
  return rows;
}

// FAILED_PRECONDITION while rows of the trial await evaluation: their
// signals are not expected to match the counters yet.
absl::Status CheckNoneDirty(const storage::ReadView& view,
                            const std::string& trial_id) {
  std::vector<storage::MalformedDirtyMark> malformed;
  AESIGNAL_ASSIGN_OR_RETURN(std::vector<storage::DirtyTermEntry> dirty,
                            storage::ReadDirtyTerms(view, &malformed));
  for (const storage::MalformedDirtyMark& mark : malformed) {
    // A mark of no known trial may be this trial's.
    if (mark.trial_id.empty() || mark.trial_id == trial_id) return mark.error;
  }
  for (const auto& entry : dirty) {
    if (entry.trial_id == trial_id) {
      return errors::FailedPrecondition(
          "signal evaluation is pending for this trial; retry shortly",
          {{"EVALUATION_PENDING", absl::StrCat("trials/", trial_id),
            "rows of the trial await signal evaluation"}});
    }
  }
  return absl::OkStatus();
}

// Re-runs the evaluation of one row and notes every cell whose recording
// would change its stored signal. Counts the stored signals it checked.
absl::Status CompareRow(const storage::ReadView& view,
                        const TrialEvaluation& evaluation,
                        const storage::TermCounters& row, int* checked,
                        std::vector<std::string>* differences) {
  const std::string& trial_id = evaluation.trial.trial_id();
  AESIGNAL_ASSIGN_OR_RETURN(std::vector<Finding> findings,
                            EvaluateRow(evaluation, row));
  for (const Finding& f : findings) {
    const std::string id =
        SignalId(f.method, row.term, f.dose_group_id, f.timepoint_id);
    AESIGNAL_ASSIGN_OR_RETURN(std::optional<v1::Signal> stored,
                              storage::ReadSignal(view, trial_id, id));
    if (stored.has_value()) ++*checked;
    switch (ChangeFor(f, stored.has_value() ? &*stored : nullptr)) {
      case CellChange::kNone:
        break;
      case CellChange::kRaise:
        differences->push_back(absl::StrCat(id, ": crosses, no signal"));
        break;
      case CellChange::kUpdateEvidence:
        differences->push_back(absl::StrCat(
            id, ": stored evidence '", stored->evidence().summary(),
            "' but the counters give '", f.evidence.summary(), "'"));
        break;
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<int> SignalBook::VerifySignals(const std::string& trial_id) {
  std::unique_ptr<storage::SnapshotView> snapshot = store_.Snapshot();
  AESIGNAL_RETURN_IF_ERROR(CheckNoneDirty(*snapshot, trial_id));
  AESIGNAL_ASSIGN_OR_RETURN(TrialEvaluation evaluation,
                            ReadTrialEvaluation(*snapshot, trial_id));
  AESIGNAL_ASSIGN_OR_RETURN(std::vector<storage::TermCounters> rows,
                            ReadAllRows(*snapshot, evaluation.trial));
  if (ScreensPts(evaluation)) {
    std::vector<storage::TermCounters> pts;
    for (const auto& row : rows) {
      if (row.term.level == Level::kPt) pts.push_back(row);
    }
    AESIGNAL_RETURN_IF_ERROR(SetScreening(pts, &evaluation));
  }
  int checked = 0;
  std::vector<std::string> differences;
  for (const storage::TermCounters& row : rows) {
    AESIGNAL_RETURN_IF_ERROR(
        CompareRow(*snapshot, evaluation, row, &checked, &differences));
  }
  if (!differences.empty()) {
    differences.resize(std::min<size_t>(differences.size(), 5));
    return absl::DataLossError(
        absl::StrCat("signals differ from a re-evaluation of the counters: ",
                     absl::StrJoin(differences, "; ")));
  }
  return checked;
}

namespace {

// A row a round evaluates (its dirty mark; an empty one for a PT row that
// only screening brought in) and what evaluating it found.
struct EvaluatedRow {
  const storage::DirtyTermEntry* entry;
  std::vector<Finding> findings;
};

// The rows a round evaluates for one trial: its dirty rows and, under PT
// screening, every other PT row as well (one row's counts move every
// adjustment), whose empty marks `screened` owns. Sets the screening.
absl::StatusOr<std::vector<const storage::DirtyTermEntry*>> RowsToEvaluate(
    const storage::ReadView& view,
    std::span<const storage::DirtyTermEntry> dirty, TrialEvaluation& evaluation,
    std::vector<storage::DirtyTermEntry>* screened) {
  std::vector<const storage::DirtyTermEntry*> rows;
  for (const auto& entry : dirty) rows.push_back(&entry);
  if (!ScreensPts(evaluation)) return rows;
  const v1::Trial& trial = evaluation.trial;
  bool more = false;
  AESIGNAL_ASSIGN_OR_RETURN(
      std::vector<storage::TermCounters> pts,
      storage::ReadTermCounters(
          view, trial.trial_id(), Level::kPt, trial.dose_groups_size(),
          trial.timepoints_size(), "", std::numeric_limits<int>::max(), &more));
  AESIGNAL_RETURN_IF_ERROR(SetScreening(pts, &evaluation));
  std::set<std::string> dirty_pts;
  for (const auto& entry : dirty) {
    if (entry.term.level == Level::kPt) {
      dirty_pts.insert(storage::EncodeTerm(entry.term));
    }
  }
  screened->reserve(pts.size());  // `rows` points into it
  for (const auto& pt : pts) {
    if (dirty_pts.count(storage::EncodeTerm(pt.term))) continue;
    screened->push_back({trial.trial_id(), pt.term, storage::DirtyTerm()});
  }
  for (const auto& entry : *screened) rows.push_back(&entry);
  return rows;
}

// Evaluates one trial's rows on the round's snapshot.
absl::StatusOr<std::vector<EvaluatedRow>> EvaluateRows(
    const storage::ReadView& view, const TrialEvaluation& evaluation,
    const std::vector<const storage::DirtyTermEntry*>& rows) {
  const v1::Trial& trial = evaluation.trial;
  std::vector<EvaluatedRow> evaluated;
  for (const storage::DirtyTermEntry* entry : rows) {
    AESIGNAL_ASSIGN_OR_RETURN(
        storage::TermCounters counters,
        storage::ReadOneTerm(view, trial.trial_id(), entry->term,
                             trial.dose_groups_size(),
                             trial.timepoints_size()));
    AESIGNAL_ASSIGN_OR_RETURN(std::vector<Finding> findings,
                              EvaluateRow(evaluation, counters));
    evaluated.push_back({entry, std::move(findings)});
  }
  return evaluated;
}

// The report a signal of this finding names: the one that last changed a
// cell of the signal's group (any group for totals and trends), in the
// latest window up to the signal's timepoint; else the row's latest.
storage::ReportRef ReportOfCell(const v1::Trial& trial,
                                const storage::DirtyTerm& mark,
                                const Finding& f) {
  const int group = DoseGroupIndex(trial, f.dose_group_id);
  const int window = TimepointIndex(trial, f.timepoint_id);
  for (int w = window; w >= 0; --w) {
    for (int g = 0; g < trial.dose_groups_size(); ++g) {
      if (group >= 0 && g != group) continue;
      auto it = mark.cell_reports().find(storage::DirtyCellKey(g, w));
      if (it != mark.cell_reports().end()) return it->second;
    }
  }
  storage::ReportRef latest;
  latest.set_report_id(mark.report_id());
  latest.set_report_version(mark.report_version());
  return latest;
}

// A new signal for a finding that crosses.
v1::Signal NewSignal(const std::string& trial_id, const std::string& id,
                     const storage::TermKey& term, const Finding& f,
                     const storage::ReportRef& report,
                     const v1::ChangeRef* change,
                     const google::protobuf::Timestamp& now) {
  v1::Signal signal;
  signal.set_name(absl::StrCat("trials/", trial_id, "/signals/", id));
  signal.set_signal_id(id);
  signal.set_trial_id(trial_id);
  signal.set_method(f.method);
  SetTermFields(term, &signal);
  signal.set_dose_group_id(f.dose_group_id);
  signal.set_timepoint_id(f.timepoint_id);
  FillScope(&signal);
  signal.set_status(v1::SIGNAL_STATUS_NEW);
  signal.set_raised_by_report_id(report.report_id());
  signal.set_raised_by_report_version(report.report_version());
  if (change != nullptr) *signal.mutable_raised_by_change() = *change;
  *signal.mutable_raise_time() = now;
  return signal;
}

// Creates the topic of a newly raised signal's row if it has none yet: the
// raising event starts the topic's history and goes to the change log.
absl::Status EnsureTopic(storage::Txn& txn, const std::string& trial_id,
                         const v1::Signal& signal,
                         const v1::SignalEvent& raised, int64_t* sequence) {
  v1::SignalTopic topic = TopicOfSignal(signal);
  AESIGNAL_ASSIGN_OR_RETURN(
      std::optional<v1::SignalTopic> stored,
      storage::ReadTopic(txn, trial_id, topic.topic_id()));
  if (stored.has_value()) return absl::OkStatus();
  *topic.mutable_update_time() = raised.time();
  topic.set_change_sequence((*sequence)++);
  storage::WriteTopicChange(txn, trial_id, topic, raised);
  return absl::OkStatus();
}

// Signal changes written by one round for one trial.
struct RoundTally {
  int changes = 0;
  int raised = 0;
};

// Records what one finding changes (see ChangeFor) in the signal of its
// cell: raises it, or appends its new evidence.
absl::Status RecordFinding(storage::Txn& txn, const v1::Trial& trial,
                           const EvaluatedRow& row, const Finding& f,
                           const google::protobuf::Timestamp& now,
                           int64_t* sequence, RoundTally* tally) {
  const std::string& trial_id = trial.trial_id();
  const storage::TermKey& term = row.entry->term;
  const std::string id =
      SignalId(f.method, term, f.dose_group_id, f.timepoint_id);
  AESIGNAL_ASSIGN_OR_RETURN(std::optional<v1::Signal> current,
                            storage::ReadSignal(txn, trial_id, id));
  const CellChange change =
      ChangeFor(f, current.has_value() ? &*current : nullptr);
  if (change == CellChange::kNone) return absl::OkStatus();
  const storage::DirtyTerm& mark = row.entry->mark;
  const storage::ReportRef report = ReportOfCell(trial, mark, f);
  const v1::ChangeRef* other_change =
      mark.has_change() ? &mark.change() : nullptr;
  v1::SignalEvent event;
  event.set_actor(kSystemActor);
  *event.mutable_time() = now;
  v1::Signal signal;
  if (change == CellChange::kRaise) {
    signal = NewSignal(trial_id, id, term, f, report, other_change, now);
    event.set_kind(v1::SignalEvent::KIND_RAISED);
    event.set_to_status(v1::SIGNAL_STATUS_NEW);
    ++tally->raised;
  } else {
    signal = *std::move(current);
    event.set_kind(v1::SignalEvent::KIND_EVIDENCE_UPDATED);
    event.set_from_status(signal.status());
    event.set_to_status(signal.status());
  }
  v1::Evidence* evidence = event.mutable_evidence();
  *evidence = f.evidence;
  evidence->set_report_id(report.report_id());
  evidence->set_report_version(report.report_version());
  if (other_change != nullptr) *evidence->mutable_change() = *other_change;
  *evidence->mutable_evaluate_time() = now;
  *signal.mutable_evidence() = *evidence;
  *signal.mutable_update_time() = now;
  if (change == CellChange::kRaise) {
    AESIGNAL_RETURN_IF_ERROR(
        EnsureTopic(txn, trial_id, signal, event, sequence));
  }
  signal.set_change_sequence((*sequence)++);
  storage::WriteSignalChange(txn, trial_id, signal, event);
  ++tally->changes;
  return absl::OkStatus();
}

// Commits one trial's evaluated rows in one write: their signal changes,
// and the removal of each mark that no newer batch has bumped meanwhile.
absl::StatusOr<RoundTally> CommitEvaluatedRows(
    storage::Store& store, const v1::Trial& trial,
    const std::vector<EvaluatedRow>& rows) {
  RoundTally tally;
  AESIGNAL_RETURN_IF_ERROR(store.Commit([&](storage::Txn& txn) {
    tally = RoundTally();
    AESIGNAL_ASSIGN_OR_RETURN(
        int64_t sequence, storage::NextSignalSequence(txn, trial.trial_id()));
    const google::protobuf::Timestamp now = NowProto();
    for (const EvaluatedRow& row : rows) {
      for (const Finding& f : row.findings) {
        AESIGNAL_RETURN_IF_ERROR(
            RecordFinding(txn, trial, row, f, now, &sequence, &tally));
      }
      AESIGNAL_RETURN_IF_ERROR(
          storage::ClearDirtyTerm(txn, trial.trial_id(), row.entry->term,
                                  row.entry->mark.generation()));
    }
    return absl::OkStatus();
  }));
  return tally;
}

// Evaluates the dirty rows of one trial (all of `dirty` is of one trial)
// and commits what they change.
// `denominators` (may be null) with `probe`, taken before `snapshot`.
absl::StatusOr<RoundTally> EvaluateTrial(
    storage::Store& store, const storage::ReadView& snapshot,
    std::span<const storage::DirtyTermEntry> dirty,
    DenominatorCache* denominators, const DenominatorCache::Probe& probe) {
  AESIGNAL_ASSIGN_OR_RETURN(
      TrialEvaluation evaluation,
      ReadTrialEvaluation(snapshot, dirty.front().trial_id, denominators,
                          probe));
  std::vector<storage::DirtyTermEntry> screened;  // owns screened-in rows
  AESIGNAL_ASSIGN_OR_RETURN(
      std::vector<const storage::DirtyTermEntry*> rows,
      RowsToEvaluate(snapshot, dirty, evaluation, &screened));
  AESIGNAL_ASSIGN_OR_RETURN(std::vector<EvaluatedRow> evaluated,
                            EvaluateRows(snapshot, evaluation, rows));
  return CommitEvaluatedRows(store, evaluation.trial, evaluated);
}

// Whether a failure is the store's (it refuses writes: a full disk, a failed
// write or sync; or a read failed), which every trial would meet, rather than
// one trial's.
bool IsStoreFailure(const absl::Status& status) {
  return status.code() == absl::StatusCode::kUnavailable ||
         status.code() == absl::StatusCode::kResourceExhausted;
}

// The failures of one round, as its status. A trial that cannot be evaluated
// keeps its rows dirty (retried with the next round) and does not hold back
// the others' signals: fuzz findings 2-4 and 7 (docs/fuzzing.md) were each
// one trial's policy that the evaluator could not use, and the round used
// to stop there, so no trial after it in key order got signals any more.
class RoundFailures {
 public:
  void TrialFailed(const std::string& trial_id, const absl::Status& status) {
    Failed(absl::StrCat("trials/", trial_id), status);
  }
  // A damaged dirty mark whose key names no trial.
  void UnknownTrialFailed(const absl::Status& status) {
    Failed("a dirty mark naming no trial", status);
  }
  void StoreFailed(const absl::Status& status) { store_ = status; }
  // The store's failure, else the first trial's, naming the other failing
  // trials (their own errors show once the first is resolved).
  absl::Status Status() const {
    if (!store_.ok()) return store_;
    if (others_.empty()) return first_;
    constexpr size_t kNamed = 10;
    const size_t named = std::min(others_.size(), kNamed);
    return absl::Status(
        first_.code(),
        absl::StrCat(
            first_.message(), " (and ", others_.size(),
            " more that cannot be evaluated: ",
            absl::StrJoin(others_.begin(), others_.begin() + named, ", "),
            others_.size() > named ? ", ..." : "", ")"));
  }

 private:
  void Failed(std::string what, const absl::Status& status) {
    if (first_.ok()) {
      first_ = absl::Status(status.code(),
                            absl::StrCat(what, ": ", status.message()));
    } else {
      others_.push_back(std::move(what));
    }
  }

  absl::Status first_;
  std::vector<std::string> others_;
  absl::Status store_;
};

}  // namespace

SignalBook::RoundOutcome SignalBook::EvaluateRound() {
  // Before the snapshot, as DenominatorCache::At requires.
  const DenominatorCache::Probes probes = denominators_ != nullptr
                                              ? denominators_->TakeAll()
                                              : DenominatorCache::Probes();
  std::unique_ptr<storage::SnapshotView> snapshot = store_.Snapshot();
  std::vector<storage::MalformedDirtyMark> malformed;
  absl::StatusOr<std::vector<storage::DirtyTermEntry>> dirty =
      storage::ReadDirtyTerms(*snapshot, &malformed);
  if (!dirty.ok()) return {.rows = 0, .failure = dirty.status()};
  RoundOutcome outcome;
  RoundFailures failures;
  // A trial with a damaged mark is not evaluated (it would clear its other
  // marks while that row stays unevaluated); the rest are.
  std::set<std::string> damaged;
  for (const storage::MalformedDirtyMark& mark : malformed) {
    if (mark.trial_id.empty()) {
      failures.UnknownTrialFailed(mark.error);
    } else if (damaged.insert(mark.trial_id).second) {
      failures.TrialFailed(mark.trial_id, mark.error);
    }
  }
  bool changed = false;
  // Dirty rows come in key order, i.e. grouped by trial.
  for (size_t begin = 0, end = 0; begin < dirty->size(); begin = end) {
    const std::string& trial_id = (*dirty)[begin].trial_id;
    while (end < dirty->size() && (*dirty)[end].trial_id == trial_id) ++end;
    if (damaged.contains(trial_id)) continue;
    absl::StatusOr<RoundTally> tally = EvaluateTrial(
        store_, *snapshot, std::span(*dirty).subspan(begin, end - begin),
        denominators_, probes.Of(trial_id));
    if (!tally.ok()) {
      if (IsStoreFailure(tally.status())) {
        failures.StoreFailed(tally.status());
        break;
      }
      failures.TrialFailed(trial_id, tally.status());
      continue;
    }
    outcome.rows += static_cast<int>(end - begin);
    metrics_.SignalEvents(v1::SignalEvent::KIND_RAISED, tally->raised);
    metrics_.SignalEvents(v1::SignalEvent::KIND_EVIDENCE_UPDATED,
                          tally->changes - tally->raised);
    changed = changed || tally->changes > 0;
  }
  // Watchers hear the trials that were evaluated, whatever failed.
  if (changed) NotifyChanges();
  outcome.failure = failures.Status();
  return outcome;
}

namespace {

// Whether a signal of the trial has an id that is not the current scheme's.
absl::StatusOr<bool> SignalIdsToRename(const storage::ReadView& view,
                                       const std::string& trial_id) {
  AESIGNAL_ASSIGN_OR_RETURN(std::vector<v1::Signal> signals,
                            storage::ReadSignals(view, trial_id));
  for (const v1::Signal& signal : signals) {
    if (SignalId(signal.method(), TermOfSignal(signal), signal.dose_group_id(),
                 signal.timepoint_id()) != signal.signal_id()) {
      return true;
    }
  }
  return false;
}

// Renames the signals of one trial whose id is not the current scheme's.
absl::StatusOr<int> UpgradeTrialSignalIds(storage::Store& store,
                                          const std::string& trial_id) {
  // Most stores have nothing to rename: found by reading, so that a store
  // open read-only (its disk full) still starts.
  AESIGNAL_ASSIGN_OR_RETURN(bool needed,
                            SignalIdsToRename(store.Latest(), trial_id));
  if (!needed) return 0;
  int renamed = 0;
  AESIGNAL_RETURN_IF_ERROR(store.Commit([&](storage::Txn& txn) {
    renamed = 0;
    AESIGNAL_ASSIGN_OR_RETURN(std::vector<v1::Signal> signals,
                              storage::ReadSignals(txn, trial_id));
    for (v1::Signal& signal : signals) {
      const std::string id =
          SignalId(signal.method(), TermOfSignal(signal),
                   signal.dose_group_id(), signal.timepoint_id());
      if (id == signal.signal_id()) continue;
      const std::string old_id = signal.signal_id();
      signal.set_signal_id(id);
      signal.set_name(absl::StrCat(TrialName(trial_id), "/signals/", id));
      FillScope(&signal);
      AESIGNAL_RETURN_IF_ERROR(
          storage::RenameSignal(txn, trial_id, old_id, signal));
      ++renamed;
    }
    return absl::OkStatus();
  }));
  return renamed;
}

}  // namespace

absl::StatusOr<int> SignalBook::UpgradeSignalIds() {
  AESIGNAL_ASSIGN_OR_RETURN(std::vector<std::string> trial_ids,
                            internal::ReadTrialIds(store_.Latest()));
  int renamed = 0;
  for (const std::string& trial_id : trial_ids) {
    AESIGNAL_ASSIGN_OR_RETURN(int n, UpgradeTrialSignalIds(store_, trial_id));
    if (n > 0) signal_index_.Forget(trial_id);
    renamed += n;
  }
  return renamed;
}

absl::StatusOr<std::vector<storage::SignalChange>> SignalBook::WaitForChanges(
    const std::string& trial_id, int64_t after, absl::Time deadline,
    bool include_topics) {
  while (true) {
    int64_t epoch;
    {
      absl::MutexLock lock(&mu_);
      epoch = change_epoch_;
    }
    std::vector<storage::SignalChange> changes;
    AESIGNAL_RETURN_IF_ERROR(storage::ReadSignalLog(
        store_.Latest(), trial_id, after, [&](storage::SignalChange c) {
          if (!include_topics && !c.has_signal()) return true;
          if (c.has_signal()) FillScope(c.mutable_signal());  // old entries
          changes.push_back(std::move(c));
          return changes.size() < 1000;
        }));
    if (!changes.empty()) return changes;
    absl::MutexLock lock(&mu_);
    auto moved = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return change_epoch_ != epoch || stopping_;
    };
    if (!mu_.AwaitWithDeadline(absl::Condition(&moved), deadline) ||
        stopping_) {
      return changes;
    }
  }
}

namespace {

// Every baseline of the request against the trial, each id once.
absl::Status ValidateBaselines(const v1::Trial& trial,
                               const v1::PutBaselinesRequest& request) {
  std::vector<errors::FieldViolation> violations;
  std::map<std::string, int> first;
  for (int i = 0; i < request.baselines_size(); ++i) {
    const std::string path = absl::StrCat("baselines[", i, "]");
    ValidateBaseline(trial, request.baselines(i), path, &violations);
    auto [it, inserted] = first.emplace(request.baselines(i).baseline_id(), i);
    if (!inserted) {
      violations.push_back(
          {path + ".baseline_id",
           absl::StrCat("duplicates baselines[", it->second, "]")});
    }
  }
  if (!violations.empty()) return errors::InvalidArgument(violations);
  return absl::OkStatus();
}

// A row to re-evaluate against a stored baseline, and that baseline's change.
using RowMark = std::pair<storage::TermKey, v1::ChangeRef>;

// Stores `b` as the next version of its baseline unless its content is
// unchanged, and adds its row (and the old row, if it moved) to `marks`,
// for re-evaluation against it. Returns the current version.
absl::StatusOr<v1::Baseline> PutBaseline(
    storage::Txn& txn, const std::string& trial_id, const v1::Baseline& b,
    const CallInfo& call, const google::protobuf::Timestamp& now,
    storage::AuditWriter& audit, v1::PutBaselinesResponse* response,
    std::vector<RowMark>* marks) {
  AESIGNAL_ASSIGN_OR_RETURN(
      std::optional<v1::Baseline> current,
      storage::ReadBaseline(txn, trial_id, b.baseline_id()));
  if (current.has_value() &&
      MessageDifferencer::Equals(Content(*current), Content(b))) {
    response->set_unchanged_count(response->unchanged_count() + 1);
    return *std::move(current);
  }
  v1::Baseline stored = Content(b);
  stored.set_name(
      absl::StrCat("trials/", trial_id, "/baselines/", b.baseline_id()));
  stored.set_version(current.has_value() ? current->version() + 1 : 1);
  *stored.mutable_update_time() = now;
  storage::WriteBaseline(txn, trial_id, stored);
  audit.Append(AuditOf(
      call, now, audit_action::kBaselinePut, stored.name(), stored.version(),
      absl::StrCat("p0 ", stored.expected_proportion(), " for ",
                   v1::TermLevel_Name(stored.level()), " ",
                   stored.pt().empty() ? stored.soc() : stored.pt(),
                   stored.overall_key(), "; source: ", stored.citation())));
  (current.has_value()
       ? response->set_updated_count(response->updated_count() + 1)
       : response->set_created_count(response->created_count() + 1));
  const v1::ChangeRef change = internal::ChangeRefOf(
      audit_action::kBaselinePut, stored.name(), stored.version());
  marks->push_back({TermOf(stored), change});
  if (current.has_value() && !(TermOf(*current) == TermOf(stored))) {
    marks->push_back({TermOf(*current), change});
  }
  return stored;
}

}  // namespace

absl::StatusOr<v1::PutBaselinesResponse> SignalBook::PutBaselines(
    const v1::PutBaselinesRequest& request, const CallInfo& call) {
  AESIGNAL_ASSIGN_OR_RETURN(std::string trial_id,
                            ParseTrialName(request.parent(), "parent"));
  if (request.baselines().empty() ||
      request.baselines_size() > kMaxBaselinesPerRequest) {
    return errors::InvalidArgument(
        "baselines",
        absl::StrCat("must hold 1..", kMaxBaselinesPerRequest, " baselines"));
  }
  v1::PutBaselinesResponse response;
  AESIGNAL_RETURN_IF_ERROR(store_.Commit([&](storage::Txn& txn) {
    response.Clear();
    AESIGNAL_ASSIGN_OR_RETURN(v1::Trial trial, LoadTrial(txn, trial_id));
    AESIGNAL_RETURN_IF_ERROR(ValidateBaselines(trial, request));
    const google::protobuf::Timestamp now = NowProto();
    AESIGNAL_ASSIGN_OR_RETURN(storage::AuditWriter audit,
                              storage::AuditWriter::Begin(txn, trial_id));
    std::vector<RowMark> marks;
    for (const v1::Baseline& b : request.baselines()) {
      AESIGNAL_ASSIGN_OR_RETURN(
          v1::Baseline current,
          PutBaseline(txn, trial_id, b, call, now, audit, &response, &marks));
      *response.add_baselines() = std::move(current);
    }
    // A new or changed baseline may change the set of pre-specified rows,
    // whose number shares alpha under trial-wide control: every row is
    // evaluated again (baselines change rarely), naming the request's last
    // baseline; then each baseline's own rows name it.
    if (!marks.empty() &&
        EffectivePolicy(trial.signal_policy()).error_control() !=
            v1::ERROR_CONTROL_PER_TEST) {
      AESIGNAL_RETURN_IF_ERROR(
          internal::MarkAllTermsDirty(txn, trial_id, &marks.back().second));
    }
    for (const auto& [term, change] : marks) {
      AESIGNAL_RETURN_IF_ERROR(
          storage::MarkTermChanged(txn, trial_id, term, &change));
    }
    return absl::OkStatus();
  }));
  OnBatchCommitted();
  return response;
}

absl::StatusOr<v1::ListBaselinesResponse> SignalBook::ListBaselines(
    const v1::ListBaselinesRequest& request) {
  AESIGNAL_ASSIGN_OR_RETURN(std::string trial_id,
                            ParseTrialName(request.parent(), "parent"));
  AESIGNAL_ASSIGN_OR_RETURN(
      int page_size,
      internal::PageSize(request.page_size(), 100, 1000, "page_size"));
  std::string after;  // the last baseline_id of the previous page
  if (!request.page_token().empty()) {
    AESIGNAL_ASSIGN_OR_RETURN(after, internal::DecodePageToken(request));
  }
  auto view = store_.Snapshot();
  AESIGNAL_RETURN_IF_ERROR(LoadTrial(*view, trial_id).status());
  // A trial has tens of baselines: reading them all per page is cheaper
  // than a second index.
  AESIGNAL_ASSIGN_OR_RETURN(std::vector<v1::Baseline> baselines,
                            storage::ReadBaselines(*view, trial_id));
  v1::ListBaselinesResponse response;
  for (auto& b : baselines) {
    if (!after.empty() && b.baseline_id() <= after) continue;
    if (response.baselines_size() == page_size) {
      response.set_next_page_token(internal::EncodePageToken(
          request, response.baselines(page_size - 1).baseline_id()));
      break;
    }
    *response.add_baselines() = std::move(b);
  }
  return response;
}

absl::StatusOr<v1::Baseline> SignalBook::GetBaseline(
    const v1::GetBaselineRequest& request) {
  std::vector<std::string> parts = absl::StrSplit(request.name(), '/');
  if (parts.size() != 4 || parts[0] != "trials" || parts[2] != "baselines" ||
      parts[1].empty() || parts[3].empty()) {
    return errors::InvalidArgument(
        "name", "must be trials/{trial_id}/baselines/{baseline_id}");
  }
  auto view = store_.Snapshot();
  AESIGNAL_RETURN_IF_ERROR(LoadTrial(*view, parts[1]).status());
  AESIGNAL_ASSIGN_OR_RETURN(
      std::vector<v1::Baseline> versions,
      storage::ReadBaselineVersions(*view, parts[1], parts[3]));
  if (versions.empty()) return errors::NotFound("baseline", request.name());
  v1::Baseline current = versions.back();
  for (auto it = versions.rbegin(); it != versions.rend(); ++it) {
    *current.add_history() = std::move(*it);
  }
  return current;
}

namespace {

// A dose group or timepoint the trial does not have is a mistake to report,
// not a filter that matches nothing: a safety officer who mistypes a group
// must not be told it has no signals.
absl::Status CheckScopeFilters(const v1::ListSignalsRequest& request,
                               const v1::Trial& trial) {
  std::vector<errors::FieldViolation> violations;
  for (const auto& unknown :
       {UnknownDoseGroupFilter(trial, request.dose_group_id()),
        UnknownTimepointFilter(trial, request.timepoint_id())}) {
    if (unknown.has_value()) violations.push_back(*unknown);
  }
  if (violations.empty()) return absl::OkStatus();
  return errors::InvalidArgument(violations);
}

}  // namespace

absl::StatusOr<v1::ListSignalsResponse> SignalBook::ListSignals(
    const v1::ListSignalsRequest& request) {
  AESIGNAL_ASSIGN_OR_RETURN(std::string trial_id,
                            ParseTrialName(request.parent(), "parent"));
  AESIGNAL_ASSIGN_OR_RETURN(
      int page_size,
      internal::PageSize(request.page_size(), 50, 1000, "page_size"));
  AESIGNAL_ASSIGN_OR_RETURN(size_t offset, internal::PageOffset(request));
  auto view = store_.Snapshot();
  AESIGNAL_ASSIGN_OR_RETURN(v1::Trial trial, LoadTrial(*view, trial_id));
  AESIGNAL_RETURN_IF_ERROR(CheckScopeFilters(request, trial));
  // The index says which signals are on the page; they are then read by key
  // from the same snapshot. A signal the index names but the store lacks
  // means the store was changed outside the change log: rebuild once.
  for (int attempt = 0;; ++attempt) {
    AESIGNAL_ASSIGN_OR_RETURN(std::shared_ptr<const SignalIndex> index,
                              signal_index_.Get(*view, trial_id));
    std::vector<const SignalSummary*> page;
    size_t matched = 0;
    for (const SignalSummary& s : index->newest_first) {
      if (!MatchesListFilter(request, s)) continue;
      if (matched >= offset && page.size() < static_cast<size_t>(page_size)) {
        page.push_back(&s);
      }
      ++matched;
    }
    v1::ListSignalsResponse response;
    bool consistent = true;
    for (const SignalSummary* s : page) {
      AESIGNAL_ASSIGN_OR_RETURN(
          std::optional<v1::Signal> signal,
          storage::ReadSignal(*view, trial_id, s->signal_id));
      if (!signal.has_value() ||
          !MatchesListFilter(request, Summarize(*signal))) {
        consistent = false;
        break;
      }
      FillScope(&*signal);
      *response.add_signals() = *std::move(signal);
    }
    if (!consistent) {
      signal_index_.Forget(trial_id);
      if (attempt == 0) continue;
      return absl::InternalError(absl::StrCat(
          "the signals of trial '", trial_id,
          "' disagree with their change log; run aesignal admin verify"));
    }
    if (offset + page_size < matched) {
      response.set_next_page_token(
          internal::EncodePageToken(request, absl::StrCat(offset + page_size)));
    }
    AESIGNAL_ASSIGN_OR_RETURN(int pending,
                              RowsPendingEvaluation(*view, trial_id));
    response.set_rows_pending_evaluation(pending);
    return response;
  }
}

absl::StatusOr<v1::Signal> SignalBook::GetSignal(
    const v1::GetSignalRequest& request) {
  AESIGNAL_ASSIGN_OR_RETURN(auto ids, ParseSignalName(request.name()));
  auto view = store_.Snapshot();
  AESIGNAL_RETURN_IF_ERROR(LoadTrial(*view, ids.first).status());
  AESIGNAL_ASSIGN_OR_RETURN(std::optional<v1::Signal> signal,
                            storage::ReadSignal(*view, ids.first, ids.second));
  if (!signal.has_value()) {
    return errors::NotFound("signal", request.name());
  }
  FillScope(&*signal);
  AESIGNAL_RETURN_IF_ERROR(
      storage::ReadSignalHistory(*view, ids.first, &*signal));
  return *std::move(signal);
}

absl::StatusOr<v1::Signal> SignalBook::TriageSignal(
    const v1::TriageSignalRequest& request, const CallInfo& call) {
  AESIGNAL_ASSIGN_OR_RETURN(auto ids, ParseSignalName(request.name()));
  AESIGNAL_RETURN_IF_ERROR(CheckTriageRequest(request));
  v1::Signal updated;
  bool changed = false;
  absl::Status committed = store_.Commit([&](storage::Txn& txn) {
    AESIGNAL_ASSIGN_OR_RETURN(std::optional<v1::Signal> signal,
                              storage::ReadSignal(txn, ids.first, ids.second));
    if (!signal.has_value()) {
      return errors::NotFound("signal", request.name());
    }
    AESIGNAL_RETURN_IF_ERROR(
        storage::ReadSignalHistory(txn, ids.first, &*signal));
    AESIGNAL_ASSIGN_OR_RETURN(
        bool retried, AlreadyTriaged(signal->history(), request, "signal"));
    signal->clear_history();
    FillScope(&*signal);
    if (retried) {
      updated = *std::move(signal);  // the retry changes nothing
      return absl::OkStatus();
    }
    AESIGNAL_RETURN_IF_ERROR(CheckTransition(signal->status(), request.status(),
                                             "signal", request.name()));
    AESIGNAL_ASSIGN_OR_RETURN(int64_t sequence,
                              storage::NextSignalSequence(txn, ids.first));
    const v1::SignalEvent event = TriageEvent(signal->status(), request, call);
    signal->set_status(request.status());
    *signal->mutable_update_time() = event.time();
    signal->set_change_sequence(sequence);
    storage::WriteSignalChange(txn, ids.first, *signal, event);
    AESIGNAL_RETURN_IF_ERROR(AuditTriage(txn, ids.first, call, event,
                                         audit_action::kSignalTriage,
                                         signal->name(), sequence));
    updated = *std::move(signal);
    changed = true;
    return absl::OkStatus();
  });
  AESIGNAL_RETURN_IF_ERROR(committed);
  if (changed) {
    metrics_.SignalEvents(v1::SignalEvent::KIND_TRIAGED, 1);
    NotifyChanges();
  }
  AESIGNAL_RETURN_IF_ERROR(
      storage::ReadSignalHistory(store_.Latest(), ids.first, &updated));
  return updated;
}

absl::StatusOr<v1::Signal> SignalBook::UpdateSignal(
    const v1::UpdateSignalRequest& request, const CallInfo& call) {
  if (request.actor().empty()) {
    // Kept as before for this deprecated method's clients.
    return errors::InvalidArgument("actor", "is required: who triages");
  }
  v1::TriageSignalRequest triage;
  triage.set_name(request.name());
  triage.set_status(request.status());
  triage.set_comment(request.comment());
  triage.set_display_name(request.actor());
  return TriageSignal(triage, call);
}

}  // namespace aesignal::domain
