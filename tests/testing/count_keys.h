// Counting a store's keys, for storage tests that check what a write or an
// upgrade left behind.
#ifndef AESIGNAL_TESTS_TESTING_COUNT_KEYS_H_
#define AESIGNAL_TESTS_TESTING_COUNT_KEYS_H_

#include <string_view>

#include "storage/store.h"

namespace aesignal::testing {

// The keys of `cf` under `prefix` (every key if empty) in the store's latest
// state; -1 if the scan fails.
inline int CountKeys(const storage::Store& store, storage::Cf cf,
                     std::string_view prefix = "") {
  int n = 0;
  const absl::Status scan = store.Latest().Scan(
      cf, prefix, "", [&](std::string_view, std::string_view) {
        ++n;
        return true;
      });
  return scan.ok() ? n : -1;
}

}  // namespace aesignal::testing

#endif  // AESIGNAL_TESTS_TESTING_COUNT_KEYS_H_
