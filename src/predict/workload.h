#pragma once
// One prediction of a whole workload on one device: latency, throughput, peak memory, power and
// energy, each with its interval. Every command (predict, advise) goes through here.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "graph/graph.h"
#include "graph/graph_summary.h"
#include "hardware/device.h"
#include "predict/interval.h"
#include "predict/layout.h"
#include "predict/memory.h"
#include "predict/roofline.h"
#include "predict/roofline_calibration.h"

namespace perfcast::predict {

// A model at fixed input shapes, costed once and predicted on many devices.
struct ModelWorkload {
  std::string name;
  graph::Graph graph;
  graph::GraphSummary summary;
  int64_t batch = 1;  // leading dimension of the first input
};

ModelWorkload make_workload(std::string name, graph::Graph graph);

struct PredictRequest {
  hardware::Precision precision = hardware::Precision::kFp32;
  Mode mode = Mode::kInference;
  Optimizer optimizer = Optimizer::kAdam;  // training only
  Layout layout = Layout::kNchw;           // activations' memory layout (roofline.h: NHWC at tensor-core precisions)
};

struct WorkloadPrediction {
  std::string device_id;
  hardware::Precision precision = hardware::Precision::kFp32;
  Mode mode = Mode::kInference;
  Layout layout = Layout::kNchw;
  int64_t batch = 1;
  Interval latency_ms;          // one inference of the batch, or one training step
  Interval throughput_per_s;    // samples per second
  Interval peak_memory_mb;      // MiB
  Interval avg_power_w;
  Interval energy_j;            // per batch (per step when training)
  bool memory_interval_calibrated = false;  // memory_calibration.h
  std::string memory_band_basis;            // what the memory band rests on: measured and assumed parts
  bool power_interval_calibrated = false;
  MemoryEstimate memory;
  double device_memory_mb = 0;
  bool fits_memory = true;
  double compute_bound_fraction = 0;
  double utilisation = 0;
  std::vector<std::string> warnings;
};

// Throws perfcast::Error when the device lacks the precision.
WorkloadPrediction predict_workload(const ModelWorkload& workload, const hardware::Device& device,
                                    const PredictRequest& request, const RooflineCalibration& calibration);

nlohmann::json to_json(const WorkloadPrediction& prediction);

}  // namespace perfcast::predict
