#include "predict/power.h"

#include <algorithm>

namespace perfcast::predict {

PowerEstimate estimate_power(const LatencyPrediction& prediction, const hardware::Device& device) {
  PowerEstimate p;
  p.utilisation = std::clamp(prediction.utilisation, 0.0, 1.0);
  const double idle = std::min(device.idle_w, device.tdp_w);
  p.average_w = std::min(device.tdp_w, idle + (device.tdp_w - idle) * p.utilisation);
  p.energy_j = {p.average_w * prediction.latency_ms.value * 1e-3, p.average_w * prediction.latency_ms.low * 1e-3,
                p.average_w * prediction.latency_ms.high * 1e-3};
  return p;
}

}  // namespace perfcast::predict
