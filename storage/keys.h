// Key encodings for aesignal's RocksDB column families.
//
// Keys are built from order-preserving components so that RocksDB's bytewise
// order groups a trial's records together and sorts them usefully:
//   - strings: every 0x00 byte is escaped as 0x00 0xFF and the string ends
//     with 0x00 0x01, so a prefix of a string sorts before the string and
//     composite keys never become ambiguous;
//   - numbers: fixed-width big-endian.
// All functions are pure and thread-safe.
#ifndef AESIGNAL_STORAGE_KEYS_H_
#define AESIGNAL_STORAGE_KEYS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace aesignal::storage {

// --- Components ------------------------------------------------------------

void AppendOrderedString(std::string* out, std::string_view s);
// Reads one ordered string from the front of *in and advances *in. False if
// *in does not start with a well-formed encoded string.
[[nodiscard]] bool ConsumeOrderedString(std::string_view* in, std::string* out);

void AppendBigEndian16(std::string* out, uint16_t v);
void AppendBigEndian32(std::string* out, uint32_t v);
[[nodiscard]] bool ConsumeBigEndian16(std::string_view* in, uint16_t* v);
[[nodiscard]] bool ConsumeBigEndian32(std::string_view* in, uint32_t* v);

// Base-128 varints (protobuf's wire encoding) for compact values: counter
// rows, subject-term states, audit blocks. Not order-preserving: never in
// keys. ConsumeVarint reads at most 10 bytes and advances *in; false if *in
// does not start with a varint of at most 64 bits.
// Inline: they run for every field of every counter row, state and mark the
// committer decodes and encodes.
inline void AppendVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}
// Written out rather than with protobuf's CodedInputStream, whose
// construction per call dominated decoding counter rows.
[[nodiscard]] inline bool ConsumeVarint(std::string_view* in, uint64_t* v) {
  uint64_t result = 0;
  for (size_t i = 0; i < in->size() && i < 10; ++i) {
    const uint8_t byte = static_cast<uint8_t>((*in)[i]);
    if (i == 9 && byte > 1) return false;  // more than 64 bits
    result |= static_cast<uint64_t>(byte & 0x7F) << (7 * i);
    if ((byte & 0x80) == 0) {
      *v = result;
      in->remove_prefix(i + 1);
      return true;
    }
  }
  return false;
}

// A length-delimited protobuf field: tag (field number, wire type 2), size,
// bytes. Audit blocks append records with it, dirty marks cells.
inline void AppendLengthDelimited(std::string* out, uint32_t field_number,
                                  std::string_view bytes) {
  AppendVarint(out, uint64_t{field_number} << 3 | 2);
  AppendVarint(out, bytes.size());
  out->append(bytes);
}

// --- Incidence terms ---------------------------------------------------------

// The level of a term row. Values are persisted: never renumber.
enum class Level : uint8_t { kPt = 1, kSoc = 2, kOverall = 3 };

// A row of an incidence table. For kPt both `soc` and `pt` are set; for kSoc
// only `soc`; for kOverall only `overall` (e.g. "any_ae", "aesi:infection").
struct TermKey {
  Level level = Level::kOverall;
  std::string soc;
  std::string pt;
  std::string overall;

  friend bool operator==(const TermKey&, const TermKey&) = default;
  friend auto operator<=>(const TermKey&, const TermKey&) = default;
};

// Encodes the term (level byte then its strings) with no trial prefix.
std::string EncodeTerm(const TermKey& term);
[[nodiscard]] bool ConsumeTerm(std::string_view* in, TermKey* term);

// --- Column-family keys -----------------------------------------------------

// trials: trial_id -> aesignal.v1.Trial
std::string TrialKey(std::string_view trial_id);
std::optional<std::string> DecodeTrialKey(std::string_view key);

// Prefix of every key of one trial in the other column families.
std::string TrialPrefix(std::string_view trial_id);

// subjects: (trial, subject) -> aesignal.v1.Subject (current version)
std::string SubjectKey(std::string_view trial_id, std::string_view subject_id);
struct SubjectKeyParts {
  std::string trial_id;
  std::string subject_id;
};
std::optional<SubjectKeyParts> DecodeSubjectKey(std::string_view key);

// subject_history: (trial, subject, version) -> aesignal.v1.Subject
std::string SubjectHistoryKey(std::string_view trial_id,
                              std::string_view subject_id, uint32_t version);

// reports: (trial, site, report, version) -> StoredReport. All versions kept.
std::string ReportKey(std::string_view trial_id, std::string_view site_id,
                      std::string_view report_id, uint32_t version);
// Prefix of every version of one report.
std::string ReportVersionsPrefix(std::string_view trial_id,
                                 std::string_view site_id,
                                 std::string_view report_id);
// report_heads: (trial, site, report) -> newest stored version (big-endian).
std::string ReportHeadKey(std::string_view trial_id, std::string_view site_id,
                          std::string_view report_id);

struct ReportKeyParts {
  std::string trial_id;
  std::string site_id;
  std::string report_id;
  uint32_t version = 0;
  friend bool operator==(const ReportKeyParts&,
                         const ReportKeyParts&) = default;
};
std::optional<ReportKeyParts> DecodeReportKey(std::string_view key);

// subject_terms: (trial, term, subject) -> per-window event counts of that
// subject for that term (see incidence.h).
std::string SubjectTermKey(std::string_view trial_id, const TermKey& term,
                           std::string_view subject_id);
struct SubjectTermKeyParts {
  std::string trial_id;
  TermKey term;
  std::string subject_id;
  friend bool operator==(const SubjectTermKeyParts&,
                         const SubjectTermKeyParts&) = default;
};
std::optional<SubjectTermKeyParts> DecodeSubjectTermKey(std::string_view key);

// counters: (trial, term) -> the term's counter row: every non-zero (dose
// group, window) cell of it (see incidence.h). One key per term row, so a
// page of an incidence table is one short scan.
std::string CounterRowKey(std::string_view trial_id, const TermKey& term);
// Prefix of every counter row of one level of one trial.
std::string CounterLevelPrefix(std::string_view trial_id, Level level);
struct CounterRowKeyParts {
  std::string trial_id;
  TermKey term;
  friend bool operator==(const CounterRowKeyParts&,
                         const CounterRowKeyParts&) = default;
};
std::optional<CounterRowKeyParts> DecodeCounterRowKey(std::string_view key);

// The smallest key greater than every key starting with `prefix` (for
// iterate_upper_bound). `prefix` must not be all 0xFF bytes.
std::string PrefixSuccessor(std::string_view prefix);

}  // namespace aesignal::storage

#endif  // AESIGNAL_STORAGE_KEYS_H_
