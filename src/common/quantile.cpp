#include "common/quantile.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"

namespace perfcast {

double quantile(std::vector<double> v, double q) {
  if (v.empty()) throw Error("quantile of an empty sample");
  std::sort(v.begin(), v.end());
  const double pos = std::clamp(q, 0.0, 1.0) * static_cast<double>(v.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (pos - static_cast<double>(lo)) * (v[hi] - v[lo]);
}

}  // namespace perfcast
