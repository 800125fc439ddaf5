#include "storage/signals.h"

#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace aesignal::storage {
namespace {

template <typename M>
absl::StatusOr<M> ParseRecord(std::string_view bytes, const char* what) {
  M message;
  if (!message.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::DataLossError(absl::StrCat("unparsable stored ", what));
  }
  return message;
}

std::string BaselinePrefix(std::string_view trial_id,
                           std::string_view baseline_id) {
  std::string out = TrialPrefix(trial_id);
  AppendOrderedString(&out, baseline_id);
  return out;
}

std::string SignalLogKey(std::string_view trial_id, int64_t sequence) {
  std::string out = TrialPrefix(trial_id);
  AppendBigEndian32(&out, static_cast<uint32_t>(sequence >> 32));
  AppendBigEndian32(&out, static_cast<uint32_t>(sequence));
  return out;
}

}  // namespace

std::string BaselineKey(std::string_view trial_id, std::string_view baseline_id,
                        uint32_t version) {
  std::string out = BaselinePrefix(trial_id, baseline_id);
  AppendBigEndian32(&out, version);
  return out;
}

absl::StatusOr<std::optional<v1::Baseline>> ReadBaseline(
    const ReadView& view, std::string_view trial_id,
    std::string_view baseline_id) {
  auto last = view.Last(Cf::kBaselines, BaselinePrefix(trial_id, baseline_id));
  if (!last.ok()) return last.status();
  if (!last->has_value()) return std::nullopt;
  auto baseline = ParseRecord<v1::Baseline>((*last)->second, "baseline");
  if (!baseline.ok()) return baseline.status();
  return *std::move(baseline);
}

absl::StatusOr<std::vector<v1::Baseline>> ReadBaselineVersions(
    const ReadView& view, std::string_view trial_id,
    std::string_view baseline_id) {
  std::vector<v1::Baseline> out;
  absl::Status error;
  absl::Status scan =
      view.Scan(Cf::kBaselines, BaselinePrefix(trial_id, baseline_id), "",
                [&](std::string_view, std::string_view value) {
                  auto baseline = ParseRecord<v1::Baseline>(value, "baseline");
                  if (!baseline.ok()) {
                    error = baseline.status();
                    return false;
                  }
                  out.push_back(*std::move(baseline));
                  return true;
                });
  if (!scan.ok()) return scan;
  if (!error.ok()) return error;
  return out;
}

absl::StatusOr<std::vector<v1::Baseline>> ReadBaselines(
    const ReadView& view, std::string_view trial_id) {
  std::vector<v1::Baseline> out;
  absl::Status error;
  absl::Status scan =
      view.Scan(Cf::kBaselines, TrialPrefix(trial_id), "",
                [&](std::string_view, std::string_view value) {
                  auto baseline = ParseRecord<v1::Baseline>(value, "baseline");
                  if (!baseline.ok()) {
                    error = baseline.status();
                    return false;
                  }
                  // Versions of one id are adjacent and ascending: keep the
                  // last.
                  if (!out.empty() &&
                      out.back().baseline_id() == baseline->baseline_id()) {
                    out.back() = *std::move(baseline);
                  } else {
                    out.push_back(*std::move(baseline));
                  }
                  return true;
                });
  if (!scan.ok()) return scan;
  if (!error.ok()) return error;
  return out;
}

void WriteBaseline(Txn& txn, std::string_view trial_id,
                   const v1::Baseline& baseline) {
  txn.Put(Cf::kBaselines,
          BaselineKey(trial_id, baseline.baseline_id(), baseline.version()),
          baseline.SerializeAsString());
}

std::string SignalKey(std::string_view trial_id, std::string_view signal_id) {
  std::string out = TrialPrefix(trial_id);
  AppendOrderedString(&out, signal_id);
  return out;
}

absl::StatusOr<std::optional<v1::Signal>> ReadSignal(
    const ReadView& view, std::string_view trial_id,
    std::string_view signal_id) {
  auto bytes = view.Get(Cf::kSignals, SignalKey(trial_id, signal_id));
  if (!bytes.ok()) return bytes.status();
  if (!bytes->has_value()) return std::nullopt;
  auto signal = ParseRecord<v1::Signal>(**bytes, "signal");
  if (!signal.ok()) return signal.status();
  return *std::move(signal);
}

absl::StatusOr<std::vector<v1::Signal>> ReadSignals(const ReadView& view,
                                                    std::string_view trial_id) {
  std::vector<v1::Signal> out;
  absl::Status error;
  absl::Status scan = view.Scan(Cf::kSignals, TrialPrefix(trial_id), "",
                                [&](std::string_view, std::string_view value) {
                                  auto signal =
                                      ParseRecord<v1::Signal>(value, "signal");
                                  if (!signal.ok()) {
                                    error = signal.status();
                                    return false;
                                  }
                                  out.push_back(*std::move(signal));
                                  return true;
                                });
  if (!scan.ok()) return scan;
  if (!error.ok()) return error;
  return out;
}

absl::StatusOr<int64_t> NextSignalSequence(const ReadView& view,
                                           std::string_view trial_id) {
  const std::string prefix = TrialPrefix(trial_id);
  auto last = view.LastKey(Cf::kSignalLog, prefix);
  if (!last.ok()) return last.status();
  if (!last->has_value()) return 1;
  std::string_view rest = **last;
  rest.remove_prefix(prefix.size());
  uint32_t high, low;
  if (!ConsumeBigEndian32(&rest, &high) || !ConsumeBigEndian32(&rest, &low)) {
    return absl::DataLossError("malformed signal log key");
  }
  return ((static_cast<int64_t>(high) << 32) | low) + 1;
}

void WriteSignalChange(Txn& txn, std::string_view trial_id,
                       const v1::Signal& signal, const v1::SignalEvent& event) {
  v1::Signal current = signal;
  current.clear_history();
  txn.Put(Cf::kSignals, SignalKey(trial_id, signal.signal_id()),
          current.SerializeAsString());
  std::string history_key = SignalKey(trial_id, signal.signal_id());
  AppendBigEndian32(&history_key,
                    static_cast<uint32_t>(signal.change_sequence() >> 32));
  AppendBigEndian32(&history_key,
                    static_cast<uint32_t>(signal.change_sequence()));
  txn.Put(Cf::kSignalHistory, history_key, event.SerializeAsString());
  SignalChange change;
  *change.mutable_signal() = std::move(current);
  *change.mutable_event() = event;
  txn.Put(Cf::kSignalLog, SignalLogKey(trial_id, signal.change_sequence()),
          change.SerializeAsString());
}

std::string TopicKey(std::string_view trial_id, std::string_view topic_id) {
  std::string out = TrialPrefix(trial_id);
  AppendOrderedString(&out, topic_id);
  return out;
}

absl::StatusOr<std::optional<v1::SignalTopic>> ReadTopic(
    const ReadView& view, std::string_view trial_id,
    std::string_view topic_id) {
  auto bytes = view.Get(Cf::kTopics, TopicKey(trial_id, topic_id));
  if (!bytes.ok()) return bytes.status();
  if (!bytes->has_value()) return std::nullopt;
  auto topic = ParseRecord<v1::SignalTopic>(**bytes, "topic");
  if (!topic.ok()) return topic.status();
  return *std::move(topic);
}

absl::StatusOr<std::vector<v1::SignalTopic>> ReadTopics(
    const ReadView& view, std::string_view trial_id) {
  std::vector<v1::SignalTopic> out;
  absl::Status error;
  absl::Status scan =
      view.Scan(Cf::kTopics, TrialPrefix(trial_id), "",
                [&](std::string_view, std::string_view value) {
                  auto topic = ParseRecord<v1::SignalTopic>(value, "topic");
                  if (!topic.ok()) {
                    error = topic.status();
                    return false;
                  }
                  out.push_back(*std::move(topic));
                  return true;
                });
  if (!scan.ok()) return scan;
  if (!error.ok()) return error;
  return out;
}

void WriteTopicChange(Txn& txn, std::string_view trial_id,
                      const v1::SignalTopic& topic,
                      const v1::SignalEvent& event, bool log) {
  v1::SignalTopic stored = topic;
  stored.clear_evidence();
  *stored.add_history() = event;
  txn.Put(Cf::kTopics, TopicKey(trial_id, topic.topic_id()),
          stored.SerializeAsString());
  if (!log) return;
  SignalChange change;
  *change.mutable_topic() = std::move(stored);
  change.mutable_topic()->clear_history();
  *change.mutable_event() = event;
  txn.Put(Cf::kSignalLog, SignalLogKey(trial_id, topic.change_sequence()),
          change.SerializeAsString());
}

absl::Status RenameSignal(Txn& txn, std::string_view trial_id,
                          std::string_view old_id, const v1::Signal& renamed) {
  const std::string old_key = SignalKey(trial_id, old_id);
  const std::string new_key = SignalKey(trial_id, renamed.signal_id());
  std::vector<std::pair<std::string, std::string>> history;
  absl::Status scan =
      txn.Scan(Cf::kSignalHistory, old_key, "",
               [&](std::string_view key, std::string_view value) {
                 history.emplace_back(key, value);
                 return true;
               });
  if (!scan.ok()) return scan;
  for (const auto& [key, event] : history) {
    // The key is the signal key followed by the 8-byte sequence.
    txn.Put(Cf::kSignalHistory, new_key + key.substr(old_key.size()), event);
    txn.Delete(Cf::kSignalHistory, key);
  }
  v1::Signal current = renamed;
  current.clear_history();
  txn.Delete(Cf::kSignals, old_key);
  txn.Put(Cf::kSignals, new_key, current.SerializeAsString());
  return absl::OkStatus();
}

absl::Status ReadSignalHistory(const ReadView& view, std::string_view trial_id,
                               v1::Signal* signal) {
  signal->clear_history();
  absl::Status error;
  absl::Status scan = view.Scan(
      Cf::kSignalHistory, SignalKey(trial_id, signal->signal_id()), "",
      [&](std::string_view, std::string_view value) {
        auto event = ParseRecord<v1::SignalEvent>(value, "signal event");
        if (!event.ok()) {
          error = event.status();
          return false;
        }
        *signal->add_history() = *std::move(event);
        return true;
      });
  if (!scan.ok()) return scan;
  return error;
}

absl::Status ReadSignalLog(const ReadView& view, std::string_view trial_id,
                           int64_t after,
                           const std::function<bool(SignalChange)>& fn) {
  absl::Status error;
  absl::Status scan = view.Scan(
      Cf::kSignalLog, TrialPrefix(trial_id), SignalLogKey(trial_id, after + 1),
      [&](std::string_view, std::string_view value) {
        auto change = ParseRecord<SignalChange>(value, "signal change");
        if (!change.ok()) {
          error = change.status();
          return false;
        }
        return fn(*std::move(change));
      });
  if (!scan.ok()) return scan;
  return error;
}

std::string DirtyTermKey(std::string_view trial_id, const TermKey& term) {
  return TrialPrefix(trial_id) + EncodeTerm(term);
}

namespace {

// Replaces the dirty mark of `term` with `update`(its bytes; empty if none).
template <typename Update>
absl::Status UpdateMark(Txn& txn, std::string_view trial_id,
                        const TermKey& term, const Update& update) {
  const std::string key = DirtyTermKey(trial_id, term);
  auto bytes = txn.Get(Cf::kDirtyTerms, key);
  if (!bytes.ok()) return bytes.status();
  absl::StatusOr<std::string> mark = update(
      bytes->has_value() ? std::string_view(**bytes) : std::string_view());
  if (!mark.ok()) return mark.status();
  txn.Put(Cf::kDirtyTerms, key, *std::move(mark));
  return absl::OkStatus();
}

}  // namespace

absl::Status MarkTermDirty(Txn& txn, std::string_view trial_id,
                           const TermKey& term, std::string_view report_id,
                           uint32_t report_version,
                           const std::vector<CellReport>& cells) {
  return UpdateMark(txn, trial_id, term, [&](std::string_view old) {
    return UpdateDirtyMark(old, report_id, report_version, cells);
  });
}

absl::Status MarkTermChanged(Txn& txn, std::string_view trial_id,
                             const TermKey& term, const v1::ChangeRef* change) {
  return UpdateMark(txn, trial_id, term, [&](std::string_view old) {
    return UpdateDirtyMarkForChange(old, change);
  });
}

absl::StatusOr<std::vector<DirtyTermEntry>> ReadDirtyTerms(
    const ReadView& view, std::vector<MalformedDirtyMark>* malformed) {
  std::vector<DirtyTermEntry> out;
  absl::Status error;
  absl::Status scan = view.Scan(
      Cf::kDirtyTerms, "", "",
      [&](std::string_view key, std::string_view value) {
        DirtyTermEntry entry;
        std::string_view rest = key;
        const bool trial_parsed = ConsumeOrderedString(&rest, &entry.trial_id);
        auto mark = ParseRecord<DirtyTerm>(value, "dirty term");
        if (trial_parsed && ConsumeTerm(&rest, &entry.term) && rest.empty() &&
            mark.ok()) {
          entry.mark = *std::move(mark);
          out.push_back(std::move(entry));
          return true;
        }
        error = absl::DataLossError(absl::StrCat(
            "malformed dirty term at key '",
            absl::CHexEscape(absl::string_view(key.data(), key.size())), "'"));
        if (malformed == nullptr) return false;
        malformed->push_back(
            {.trial_id = trial_parsed ? std::move(entry.trial_id) : "",
             .error = error});
        return true;
      });
  if (!scan.ok()) return scan;
  if (malformed == nullptr && !error.ok()) return error;
  return out;
}

absl::StatusOr<int> CountDirtyTerms(const ReadView& view,
                                    std::string_view trial_id) {
  int count = 0;
  absl::Status scan = view.Scan(Cf::kDirtyTerms, TrialPrefix(trial_id), "",
                                [&](std::string_view, std::string_view) {
                                  ++count;
                                  return true;
                                });
  if (!scan.ok()) return scan;
  return count;
}

absl::Status ClearDirtyTerm(Txn& txn, std::string_view trial_id,
                            const TermKey& term, uint64_t generation) {
  const std::string key = DirtyTermKey(trial_id, term);
  auto bytes = txn.Get(Cf::kDirtyTerms, key);
  if (!bytes.ok()) return bytes.status();
  if (!bytes->has_value()) return absl::OkStatus();
  auto mark = ParseRecord<DirtyTerm>(**bytes, "dirty term");
  if (!mark.ok()) return mark.status();
  if (mark->generation() == generation) txn.Delete(Cf::kDirtyTerms, key);
  return absl::OkStatus();
}

}  // namespace aesignal::storage
