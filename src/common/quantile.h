#pragma once
// Sample quantiles with linear interpolation between order statistics (numpy's default).
#include <vector>

namespace perfcast {

// q in [0, 1]; throws perfcast::Error on an empty sample.
double quantile(std::vector<double> values, double q);
inline double median(std::vector<double> values) { return quantile(std::move(values), 0.5); }

}  // namespace perfcast
