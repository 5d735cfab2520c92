#pragma once
// Average board power and energy of a predicted run: a FIRST-PRINCIPLES estimate, not fitted to
// power measurements (perfcast has none to fit yet).
//   utilisation = time-weighted busy fraction of the device over the latency
//                 (compute-bound nodes: achieved / peak FLOP/s; memory-bound nodes: achieved /
//                 peak bandwidth; framework overhead counts as idle) = LatencyPrediction::utilisation
//   power_w     = idle_w + (tdp_w - idle_w) * utilisation, capped at tdp_w
//   energy_j    = power_w * latency (with the latency's interval)
#include "hardware/device.h"
#include "predict/interval.h"
#include "predict/roofline.h"

namespace perfcast::predict {

struct PowerEstimate {
  double average_w = 0;
  double utilisation = 0;
  Interval energy_j;
};

PowerEstimate estimate_power(const LatencyPrediction& prediction, const hardware::Device& device);

}  // namespace perfcast::predict
