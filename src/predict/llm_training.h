#pragma once
// LLM training from a Hugging Face config with data (D), tensor (T) and pipeline (P) parallelism,
// ZeRO stages and activation checkpointing. A first-order model on top of predict_training_step:
//  * per-GPU graph: the T x P shard (llm_parallel.h) at batch = micro-batch size, seq = S;
//    micro-batches per step m = G / (D * micro_batch); t_mb = forward + backward (+ one more forward
//    with activation checkpointing) + 4 TP all-reduces per layer (2 forward, 2 backward) of
//    micro_batch * S * hidden * activation bytes.
//  * step = t_mb * (m + P - 1)   (1F1B pipeline: bubble fraction (P - 1) / (m + P - 1))
//         + optimizer update (divided by D with ZeRO >= 1)
//         + DP gradient all-reduce of (params per GPU) * 4 bytes (fp32 gradients; ZeRO-1/2 use
//           reduce-scatter + all-gather, the same volume; ZeRO-3 1.5x for the parameter gathers),
//           not overlapped with backward (an upper bound). All collectives use the device's
//           NVLink / xGMI / PCIe (no inter-node network is modelled).
//  * memory per GPU (ZeRO paper, mixed-precision Adam, Phi = params per GPU): bf16/fp16 weights
//    2 Phi, gradients 2 Phi, fp32 master + Adam m, v 12 Phi; ZeRO-1 divides the 12 Phi by D, ZeRO-2
//    also the gradients, ZeRO-3 also the weights. Activations: the micro-batch graph's activations
//    (memory.h training rule) x min(m, P) micro-batches in flight; with checkpointing, each layer's
//    input (micro_batch * S * hidden) plus one layer's full activations. Plus runtime context.
//  * energy: average power of the per-GPU step (power.h) x step time x D*T*P GPUs.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "carbon/footprint.h"
#include "graph/transformer_config.h"
#include "hardware/device.h"
#include "predict/interval.h"
#include "predict/roofline_calibration.h"

namespace perfcast::predict {

struct LlmTrainingRequest {
  int64_t global_batch = 8;  // sequences per optimizer step
  int64_t seq_len = 2048;
  int64_t micro_batch = 1;   // sequences per micro-batch per GPU
  int64_t dp = 1, tp = 1, pp = 1;
  int zero = 0;              // 0..3
  bool activation_checkpointing = false;
  hardware::Precision precision = hardware::Precision::kBf16;
  std::optional<double> tokens;  // training tokens: steps, GPU-hours, energy
};

struct LlmTrainingPrediction {
  std::string device_id;
  LlmTrainingRequest request;
  int64_t gpus = 1;
  int64_t micro_batches = 1;
  double bubble_fraction = 0;
  Interval step_ms;
  double compute_ms = 0, tp_comm_ms = 0, dp_comm_ms = 0, optimizer_ms = 0;  // per step
  double params_per_gpu = 0;
  double weights_bytes = 0, gradient_bytes = 0, optimizer_bytes = 0, activation_bytes = 0, runtime_bytes = 0;
  Interval memory_mb;  // per GPU; band is an assumption (memory_calibration.h: llm_memory_band)
  std::string memory_band_basis;
  double device_memory_mb = 0;
  bool fits = true;
  double avg_power_w = 0;  // per GPU
  Interval step_energy_j;  // all GPUs
  double tokens_per_s = 0;
  // With request.tokens:
  double steps = 0, hours = 0, gpu_hours = 0;
  Interval energy_kwh;
  std::vector<std::string> notes, warnings;
};

LlmTrainingPrediction predict_llm_training(const graph::TransformerConfig& config, const hardware::Device& device,
                                           const LlmTrainingRequest& request, const RooflineCalibration& calibration);

// The carbon / water / cost of a prediction with tokens, through carbon::compute_footprint
// (hours and IT energy from the prediction, the device count = D*T*P). Throws without tokens.
carbon::Footprint llm_training_footprint(const LlmTrainingPrediction& prediction, const std::string& region,
                                         const hardware::DeviceCatalog& devices, const carbon::RegionTable& regions,
                                         const carbon::PriceTable& prices);

nlohmann::json to_json(const LlmTrainingPrediction& prediction);

}  // namespace perfcast::predict
