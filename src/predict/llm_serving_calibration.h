#pragma once
// Constants of the LLM serving time model (llm_serving.h), fitted by scripts/calibrate_llm_serving.py
// on a stated subset of ML.ENERGY rows and stored in data/calibration/llm_serving.json:
//   kernel_s = max(F / (P * compute_efficiency), B / (W * memory_efficiency)) + kernel_gap_s
//   step_s   = sum of kernel_s over the step + per_step_s + per_sequence_s * batch
// P = the class's nominal peak (roofline.h class_peak_flops), W = the device's bandwidth.
// kernel_gap_s replaces the eager-PyTorch t0 of roofline.json: serving engines replay decode steps
// as CUDA graphs. per_sequence_s is the engine's host work per sequence and step (scheduling,
// block tables, sampling), which grows with the batch; per_step_s its fixed host work per step.
#include <string>

namespace perfcast::predict {

// Host-side costs of a serving engine. An online server (HTTP API, continuous batching, streaming)
// pays more per step than an offline batch generate(); the two are fitted on different rows.
struct ServingHostCosts {
  double kernel_gap_s = 0;    // >= 0
  double per_sequence_s = 0;  // >= 0
  double per_step_s = 0;      // >= 0
};

struct LlmServingCalibration {
  std::string file;
  double compute_efficiency = 1;  // (0, 1]
  double memory_efficiency = 1;   // (0, 1]
  ServingHostCosts online;        // ServingRequest::continuous_batching
  ServingHostCosts offline;       // static batches
  double interval_low_factor = 0;   // measured / predicted on the held-out rows, 10th percentile (0: roofline's)
  double interval_high_factor = 0;  // 90th percentile (0: roofline's)
  std::string fitted_on;          // for notes
};

// $PERFCAST_DATA_DIR (else the source tree's data/) + "/calibration/llm_serving.json".
std::string default_llm_serving_calibration_path();
// Throws perfcast::Error naming the file and the missing or out-of-range key.
LlmServingCalibration load_llm_serving_calibration(const std::string& path = default_llm_serving_calibration_path());
// The default file, loaded once per process.
const LlmServingCalibration& default_llm_serving_calibration();

}  // namespace perfcast::predict
