#pragma once

namespace perfcast::predict {

// A point estimate with the band that measured values fall in about 80% of the time
// (low <= value <= high). Units are those of the field holding it.
struct Interval {
  double value = 0;
  double low = 0;
  double high = 0;
};

inline Interval scaled_interval(double value, double low_factor, double high_factor) {
  return {value, value * low_factor, value * high_factor};
}

}  // namespace perfcast::predict
