#include "storage/keys.h"

namespace aesignal::storage {
namespace {

constexpr char kEscape = '\x00';
constexpr char kEscapedZero = '\xFF';
constexpr char kTerminator = '\x01';

bool ConsumeLevel(std::string_view* in, Level* level) {
  if (in->empty()) return false;
  const auto byte = static_cast<uint8_t>((*in)[0]);
  if (byte < 1 || byte > 3) return false;
  *level = static_cast<Level>(byte);
  in->remove_prefix(1);
  return true;
}

}  // namespace

void AppendOrderedString(std::string* out, std::string_view s) {
  // Runs without a zero byte (all of a name, as a rule) are copied whole:
  // the committer builds keys for every read and write, and copying byte by
  // byte was ~3 % of batched ingest's samples.
  for (size_t zero = s.find(kEscape); zero != std::string_view::npos;
       zero = s.find(kEscape)) {
    out->append(s.data(), zero + 1);
    out->push_back(kEscapedZero);
    s.remove_prefix(zero + 1);
  }
  out->append(s.data(), s.size());
  out->push_back(kEscape);
  out->push_back(kTerminator);
}

bool ConsumeOrderedString(std::string_view* in, std::string* out) {
  out->clear();
  for (size_t i = 0; i + 1 < in->size(); ++i) {
    const char c = (*in)[i];
    if (c != kEscape) {
      out->push_back(c);
      continue;
    }
    const char next = (*in)[i + 1];
    if (next == kTerminator) {
      in->remove_prefix(i + 2);
      return true;
    }
    if (next != kEscapedZero) return false;
    out->push_back(kEscape);
    ++i;
  }
  return false;
}

void AppendBigEndian16(std::string* out, uint16_t v) {
  out->push_back(static_cast<char>(v >> 8));
  out->push_back(static_cast<char>(v));
}

void AppendBigEndian32(std::string* out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>(v >> shift));
  }
}

bool ConsumeBigEndian16(std::string_view* in, uint16_t* v) {
  if (in->size() < 2) return false;
  *v = static_cast<uint16_t>((static_cast<uint8_t>((*in)[0]) << 8) |
                             static_cast<uint8_t>((*in)[1]));
  in->remove_prefix(2);
  return true;
}

bool ConsumeBigEndian32(std::string_view* in, uint32_t* v) {
  if (in->size() < 4) return false;
  uint32_t r = 0;
  for (int i = 0; i < 4; ++i) r = (r << 8) | static_cast<uint8_t>((*in)[i]);
  *v = r;
  in->remove_prefix(4);
  return true;
}

std::string EncodeTerm(const TermKey& term) {
  std::string out;
  out.push_back(static_cast<char>(term.level));
  switch (term.level) {
    case Level::kPt:
      AppendOrderedString(&out, term.soc);
      AppendOrderedString(&out, term.pt);
      break;
    case Level::kSoc:
      AppendOrderedString(&out, term.soc);
      break;
    case Level::kOverall:
      AppendOrderedString(&out, term.overall);
      break;
  }
  return out;
}

bool ConsumeTerm(std::string_view* in, TermKey* term) {
  *term = TermKey{};
  if (!ConsumeLevel(in, &term->level)) return false;
  switch (term->level) {
    case Level::kPt:
      return ConsumeOrderedString(in, &term->soc) &&
             ConsumeOrderedString(in, &term->pt);
    case Level::kSoc:
      return ConsumeOrderedString(in, &term->soc);
    case Level::kOverall:
      return ConsumeOrderedString(in, &term->overall);
  }
  return false;
}

std::string TrialKey(std::string_view trial_id) {
  std::string out;
  AppendOrderedString(&out, trial_id);
  return out;
}

std::optional<std::string> DecodeTrialKey(std::string_view key) {
  std::string trial_id;
  if (!ConsumeOrderedString(&key, &trial_id) || !key.empty()) {
    return std::nullopt;
  }
  return trial_id;
}

std::string TrialPrefix(std::string_view trial_id) {
  return TrialKey(trial_id);
}

std::string SubjectKey(std::string_view trial_id, std::string_view subject_id) {
  std::string out = TrialPrefix(trial_id);
  AppendOrderedString(&out, subject_id);
  return out;
}

std::optional<SubjectKeyParts> DecodeSubjectKey(std::string_view key) {
  SubjectKeyParts parts;
  if (!ConsumeOrderedString(&key, &parts.trial_id) ||
      !ConsumeOrderedString(&key, &parts.subject_id) || !key.empty()) {
    return std::nullopt;
  }
  return parts;
}

std::string SubjectHistoryKey(std::string_view trial_id,
                              std::string_view subject_id, uint32_t version) {
  std::string out = SubjectKey(trial_id, subject_id);
  AppendBigEndian32(&out, version);
  return out;
}

std::string ReportVersionsPrefix(std::string_view trial_id,
                                 std::string_view site_id,
                                 std::string_view report_id) {
  std::string out = TrialPrefix(trial_id);
  AppendOrderedString(&out, site_id);
  AppendOrderedString(&out, report_id);
  return out;
}

std::string ReportKey(std::string_view trial_id, std::string_view site_id,
                      std::string_view report_id, uint32_t version) {
  std::string out = ReportVersionsPrefix(trial_id, site_id, report_id);
  AppendBigEndian32(&out, version);
  return out;
}

std::string ReportHeadKey(std::string_view trial_id, std::string_view site_id,
                          std::string_view report_id) {
  return ReportVersionsPrefix(trial_id, site_id, report_id);
}

std::optional<ReportKeyParts> DecodeReportKey(std::string_view key) {
  ReportKeyParts parts;
  if (!ConsumeOrderedString(&key, &parts.trial_id) ||
      !ConsumeOrderedString(&key, &parts.site_id) ||
      !ConsumeOrderedString(&key, &parts.report_id) ||
      !ConsumeBigEndian32(&key, &parts.version) || !key.empty()) {
    return std::nullopt;
  }
  return parts;
}

std::string SubjectTermKey(std::string_view trial_id, const TermKey& term,
                           std::string_view subject_id) {
  std::string out = TrialPrefix(trial_id);
  out += EncodeTerm(term);
  AppendOrderedString(&out, subject_id);
  return out;
}

std::optional<SubjectTermKeyParts> DecodeSubjectTermKey(std::string_view key) {
  SubjectTermKeyParts parts;
  if (!ConsumeOrderedString(&key, &parts.trial_id) ||
      !ConsumeTerm(&key, &parts.term) ||
      !ConsumeOrderedString(&key, &parts.subject_id) || !key.empty()) {
    return std::nullopt;
  }
  return parts;
}

std::string CounterRowKey(std::string_view trial_id, const TermKey& term) {
  return TrialPrefix(trial_id) + EncodeTerm(term);
}

std::string CounterLevelPrefix(std::string_view trial_id, Level level) {
  std::string out = TrialPrefix(trial_id);
  out.push_back(static_cast<char>(level));
  return out;
}

std::optional<CounterRowKeyParts> DecodeCounterRowKey(std::string_view key) {
  CounterRowKeyParts parts;
  if (!ConsumeOrderedString(&key, &parts.trial_id) ||
      !ConsumeTerm(&key, &parts.term) || !key.empty()) {
    return std::nullopt;
  }
  return parts;
}

std::string PrefixSuccessor(std::string_view prefix) {
  std::string out(prefix);
  while (!out.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(out.back());
    if (last != 0xFF) {
      ++last;
      return out;
    }
    out.pop_back();
  }
  return out;  // Empty: no upper bound.
}

}  // namespace aesignal::storage
