// FUZZ_CHECK(condition) << "message": aborts with the message when a property
// a fuzz target checks does not hold, under libFuzzer (which then saves the
// input as a crash) and in the replay tests alike.
#ifndef AESIGNAL_TESTS_FUZZ_FUZZ_CHECK_H_
#define AESIGNAL_TESTS_FUZZ_FUZZ_CHECK_H_

#include <cstdlib>
#include <iostream>
#include <sstream>

namespace aesignal::fuzz {

class CheckFailure {
 public:
  CheckFailure(const char* file, int line, const char* condition) {
    message_ << file << ":" << line << ": FUZZ_CHECK(" << condition
             << ") failed: ";
  }
  [[noreturn]] ~CheckFailure() {
    std::cerr << message_.str() << std::endl;
    std::abort();
  }
  template <typename T>
  CheckFailure& operator<<(const T& value) {
    message_ << value;
    return *this;
  }

 private:
  std::ostringstream message_;
};

// Makes `cond ? (void)0 : Voidify() & CheckFailure(...) << ...` one
// expression (so FUZZ_CHECK is safe inside an unbraced if).
struct Voidify {
  void operator&(const CheckFailure&) {}
};

}  // namespace aesignal::fuzz

#define FUZZ_CHECK(condition)         \
  (condition)                         \
      ? static_cast<void>(0)          \
      : ::aesignal::fuzz::Voidify() & \
            ::aesignal::fuzz::CheckFailure(__FILE__, __LINE__, #condition)

#endif  // AESIGNAL_TESTS_FUZZ_FUZZ_CHECK_H_
