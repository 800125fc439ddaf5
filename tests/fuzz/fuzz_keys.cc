// Fuzz target: the storage key decoders (storage/keys.h) on arbitrary bytes,
// as a corrupt or foreign RocksDB key would reach them.
//
// Checks: no decoder crashes or reads out of bounds; whatever decodes is the
// encoding of what it decoded to (the format in keys.h is canonical: every
// 0x00 of a string is written as 0x00 0xFF and strings end with 0x00 0x01, so
// a well-formed key has exactly one decoding and re-encodes to itself); the
// decoded parts round-trip through the encoders (keys_test.cc); ordered
// strings sort like the strings they encode; PrefixSuccessor bounds every key
// with the prefix.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "storage/keys.h"
#include "tests/fuzz/fuzz_check.h"

namespace aesignal::storage {
namespace {

std::string Hex(std::string_view s) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    out += kDigits[u >> 4];
    out += kDigits[u & 15];
  }
  return out;
}

// Bytewise comparison (RocksDB's default comparator): -1, 0 or 1.
int Compare(std::string_view a, std::string_view b) {
  const int c = a.compare(b);  // char_traits<char> compares as unsigned
  return c < 0 ? -1 : c > 0 ? 1 : 0;
}

void CheckComponents(std::string_view key) {
  // Ordered strings: consume them one after another.
  std::string_view in = key;
  std::string s;
  while (true) {
    const std::string_view before = in;
    if (!ConsumeOrderedString(&in, &s)) break;
    std::string encoded;
    AppendOrderedString(&encoded, s);
    FUZZ_CHECK(before.substr(0, before.size() - in.size()) == encoded)
        << "ordered string does not re-encode: " << Hex(key);
  }

  in = key;
  TermKey term;
  if (ConsumeTerm(&in, &term)) {
    const std::string encoded = EncodeTerm(term);
    FUZZ_CHECK(key.substr(0, key.size() - in.size()) == encoded)
        << "term does not re-encode: " << Hex(key);
  }

  in = key;
  uint16_t v16 = 0;
  if (ConsumeBigEndian16(&in, &v16)) {
    std::string encoded;
    AppendBigEndian16(&encoded, v16);
    FUZZ_CHECK(key.substr(0, 2) == encoded && in.size() + 2 == key.size());
  } else {
    FUZZ_CHECK(key.size() < 2 && in == key);
  }
  in = key;
  uint32_t v32 = 0;
  if (ConsumeBigEndian32(&in, &v32)) {
    std::string encoded;
    AppendBigEndian32(&encoded, v32);
    FUZZ_CHECK(key.substr(0, 4) == encoded && in.size() + 4 == key.size());
  } else {
    FUZZ_CHECK(key.size() < 4 && in == key);
  }
}

void CheckKeys(std::string_view key) {
  if (auto trial = DecodeTrialKey(key)) {
    FUZZ_CHECK(TrialKey(*trial) == key) << Hex(key);
    FUZZ_CHECK(TrialPrefix(*trial) == key) << Hex(key);
  }
  if (auto p = DecodeSubjectKey(key)) {
    FUZZ_CHECK(SubjectKey(p->trial_id, p->subject_id) == key) << Hex(key);
    auto again = DecodeSubjectKey(SubjectKey(p->trial_id, p->subject_id));
    FUZZ_CHECK(again.has_value() && again->trial_id == p->trial_id &&
               again->subject_id == p->subject_id)
        << Hex(key);
    FUZZ_CHECK(key.starts_with(TrialPrefix(p->trial_id))) << Hex(key);
  }
  if (auto p = DecodeReportKey(key)) {
    const std::string encoded =
        ReportKey(p->trial_id, p->site_id, p->report_id, p->version);
    FUZZ_CHECK(encoded == key) << Hex(key);
    FUZZ_CHECK(DecodeReportKey(encoded) == p) << Hex(key);
    const std::string prefix =
        ReportVersionsPrefix(p->trial_id, p->site_id, p->report_id);
    FUZZ_CHECK(key.starts_with(prefix) && key.size() == prefix.size() + 4)
        << Hex(key);
    FUZZ_CHECK(ReportHeadKey(p->trial_id, p->site_id, p->report_id) == prefix);
  }
  if (auto p = DecodeSubjectTermKey(key)) {
    const std::string encoded =
        SubjectTermKey(p->trial_id, p->term, p->subject_id);
    FUZZ_CHECK(encoded == key) << Hex(key);
    FUZZ_CHECK(DecodeSubjectTermKey(encoded) == p) << Hex(key);
  }
  if (auto p = DecodeCounterRowKey(key)) {
    const std::string encoded = CounterRowKey(p->trial_id, p->term);
    FUZZ_CHECK(encoded == key) << Hex(key);
    FUZZ_CHECK(DecodeCounterRowKey(encoded) == p) << Hex(key);
    FUZZ_CHECK(key.starts_with(CounterLevelPrefix(p->trial_id, p->term.level)))
        << Hex(key);
  }
}

// Two strings from one input: ordered strings must compare like the strings,
// also as the first component of a composite key.
void CheckOrder(std::string_view data) {
  const size_t half = data.size() / 2;
  const std::string_view a = data.substr(0, half);
  const std::string_view b = data.substr(half);
  std::string ea, eb;
  AppendOrderedString(&ea, a);
  AppendOrderedString(&eb, b);
  FUZZ_CHECK(Compare(ea, eb) == Compare(a, b))
      << "order not preserved: " << Hex(a) << " vs " << Hex(b);
  if (a != b) {
    // Whatever follows the first component does not change the order.
    FUZZ_CHECK(Compare(ea + "\xFF\xFF", eb) == Compare(a, b))
        << Hex(a) << " vs " << Hex(b);
    FUZZ_CHECK(Compare(ea, eb + "\xFF\xFF") == Compare(a, b))
        << Hex(a) << " vs " << Hex(b);
  }
}

void CheckPrefixSuccessor(std::string_view prefix) {
  if (prefix.find_first_not_of('\xFF') == std::string_view::npos) return;
  const std::string next = PrefixSuccessor(prefix);
  // Greater than the prefix and than every extension of it, i.e. greater
  // than the prefix without starting with it.
  FUZZ_CHECK(Compare(next, prefix) > 0) << Hex(prefix);
  FUZZ_CHECK(!std::string_view(next).starts_with(prefix)) << Hex(prefix);
  // The smallest such key: it is the prefix, cut after its last non-0xFF
  // byte, with that byte incremented.
  const size_t last = prefix.find_last_not_of('\xFF');
  FUZZ_CHECK(next.size() == last + 1 &&
             next.substr(0, last) == prefix.substr(0, last))
      << Hex(prefix);
}

}  // namespace
}  // namespace aesignal::storage

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view key(reinterpret_cast<const char*>(data), size);
  aesignal::storage::CheckComponents(key);
  aesignal::storage::CheckKeys(key);
  aesignal::storage::CheckOrder(key);
  aesignal::storage::CheckPrefixSuccessor(key);
  return 0;
}
