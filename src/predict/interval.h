#pragma once
#include <nlohmann/json_fwd.hpp>

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

// Energy bands of the LLM predictors: a stated assumption, reported with calibrated = false. (Memory
// bands come from data/calibration/memory.json, memory_calibration.h.)
inline constexpr double kAssumedPowerLowFactor = 0.8;
inline constexpr double kAssumedPowerHighFactor = 1.2;

// {"value": ..., "low": ..., "high": ...}
nlohmann::json to_json(const Interval& interval);

}  // namespace perfcast::predict
