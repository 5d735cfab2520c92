#pragma once
// Relative errors of predictions against measurements, as the validation tests report them.
#include <algorithm>
#include <cmath>
#include <vector>

namespace perfcast::testing {

struct RelativeErrors {
  std::vector<double> rel;  // (predicted - measured) / measured
  void add(double predicted, double measured) { rel.push_back((predicted - measured) / measured); }
  double mape() const {
    double s = 0;
    for (double r : rel) s += std::fabs(r);
    return rel.empty() ? 0 : 100 * s / static_cast<double>(rel.size());
  }
  double acc10() const {
    double n = 0;
    for (double r : rel) n += std::fabs(r) <= 0.10 ? 1 : 0;
    return rel.empty() ? 0 : 100 * n / static_cast<double>(rel.size());
  }
  double median_ratio() const {
    std::vector<double> v;
    for (double r : rel) v.push_back(1 + r);
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[v.size() / 2];
  }
};

}  // namespace perfcast::testing
