#include "services/signal/binomial_ci.h"

#include <algorithm>
#include <boost/math/distributions/normal.hpp>
#include <boost/math/special_functions/beta.hpp>
#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace aesignal::signal {
namespace {

// Report domain errors as values instead of throwing: the module boundary
// promises absl::Status, never exceptions.
using NoThrowPolicy = boost::math::policies::policy<
    boost::math::policies::domain_error<boost::math::policies::errno_on_error>,
    boost::math::policies::overflow_error<
        boost::math::policies::errno_on_error>,
    boost::math::policies::evaluation_error<
        boost::math::policies::errno_on_error>>;

}  // namespace

absl::StatusOr<ProportionInterval> ClopperPearson(int64_t x, int64_t n,
                                                  double level) {
  if (n < 0 || x < 0 || x > n) {
    return absl::InvalidArgumentError(
        absl::StrCat("need 0 <= x <= n, got x=", x, " n=", n));
  }
  if (!(level > 0 && level < 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("confidence level must be in (0, 1), got ", level));
  }
  ProportionInterval out;
  if (n == 0) {
    out.upper = 1;
    return out;
  }
  const double alpha = 1 - level;
  const double xd = static_cast<double>(x);
  const double nd = static_cast<double>(n);
  out.estimate = xd / nd;
  out.lower = x == 0 ? 0.0
                     : boost::math::ibeta_inv(xd, nd - xd + 1, alpha / 2,
                                              NoThrowPolicy());
  out.upper = x == n ? 1.0
                     : boost::math::ibeta_inv(xd + 1, nd - xd, 1 - alpha / 2,
                                              NoThrowPolicy());
  return out;
}

absl::StatusOr<ProportionInterval> Wilson(int64_t x, int64_t n, double level) {
  if (n < 0 || x < 0 || x > n) {
    return absl::InvalidArgumentError(
        absl::StrCat("need 0 <= x <= n, got x=", x, " n=", n));
  }
  if (!(level > 0 && level < 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("confidence level must be in (0, 1), got ", level));
  }
  ProportionInterval out;
  if (n == 0) {
    out.upper = 1;
    return out;
  }
  boost::math::normal_distribution<double, NoThrowPolicy> normal;
  const double z = boost::math::quantile(normal, 1 - (1 - level) / 2);
  const double xd = static_cast<double>(x);
  const double nd = static_cast<double>(n);
  const double z2 = z * z;
  const double centre = (xd + z2 / 2) / (nd + z2);
  const double half = z * std::sqrt(xd * (nd - xd) / nd + z2 / 4) / (nd + z2);
  out.estimate = xd / nd;
  out.lower = x == 0 ? 0 : std::max(0.0, centre - half);
  out.upper = x == n ? 1 : std::min(1.0, centre + half);
  return out;
}

}  // namespace aesignal::signal
