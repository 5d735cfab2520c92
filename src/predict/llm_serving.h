#pragma once
// LLM serving from a Hugging Face config: time to first token, time per output token, throughput,
// memory (weights + KV cache + activations + runtime), energy, the largest batch that fits, and for a
// configuration that does not fit, the smallest tensor-parallel degree / weight format that does.
//
// Model (one predictor path: the transformer graph builder + predict_inference_latency per phase):
//  * prefill: graph at seq = prompt tokens, context 0, batch B  -> ttft
//  * decode: one step at seq = 1, context = P + O/2, batch B    -> tpot. Every per-step cost is
//    linear in the context (KV reads, attention FLOPs), so the mid-point step equals the average step
//    (up to the roofline's max()).
//  * tokens/s = B * O / (ttft + O * tpot); energy = average power (power.h) x time x GPUs.
//  * weights int8 / int4 (and fp8 on a device without fp8): weight-only quantisation; memory counts the
//    weights at 1 / 0.5 bytes, latency is costed at fp16 (the smaller weight reads are NOT credited yet:
//    an int-typed weight in the graph mis-costs the GEMM, to be fixed in the predictor). fp8 on a device with an fp8 datapath:
//    W8A8, every floating-point tensor at 1 byte and the fp8 GEMM peak. int8 W8A8 is not modelled.
//  * KV dtype: the KV cache tensors are stored (and read) at that size.
//  * tensor parallelism N: the per-GPU shard (llm_parallel.h) plus 2 ring all-reduces per layer of
//    B * seq * hidden * activation bytes, over NVLink / xGMI / PCIe (llm_parallel.h), not overlapped.
//  * memory: weights + activations + workspace + runtime context of the prefill graph (memory.h) plus
//    the KV cache at full context P + O for batch B. Memory and power bands are assumptions
//    (not calibrated); latency bands are the roofline calibration's.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "graph/transformer_config.h"
#include "hardware/device.h"
#include "predict/interval.h"
#include "predict/roofline_calibration.h"

namespace perfcast::predict {

struct ServingRequest {
  int64_t prompt_tokens = 512;
  int64_t output_tokens = 128;
  int64_t batch = 1;
  int64_t tp = 1;
  std::string weights = "fp16";   // fp16 bf16 fp8 int8 int4
  std::string kv_cache = "fp16";  // fp16 bf16 fp8 int8
  bool suggest_when_not_fitting = true;
};

struct ServingFitOption {
  int64_t tp = 1;
  std::string weights;
  double memory_mb = 0;  // per GPU
};

struct ServingMemory {
  double weights_bytes = 0, kv_cache_bytes = 0, activation_bytes = 0, workspace_bytes = 0, runtime_bytes = 0;
  double total_bytes = 0;          // per GPU
  double per_sequence_bytes = 0;   // KV at full context + activations, per sequence
};

struct ServingPrediction {
  std::string device_id;
  ServingRequest request;
  hardware::Precision compute_precision = hardware::Precision::kFp16;
  Interval ttft_ms, tpot_ms, tokens_per_s, peak_memory_mb, energy_per_token_j, energy_per_request_j;
  double prefill_allreduce_ms = 0, decode_allreduce_ms = 0;  // included in ttft / tpot
  double prefill_power_w = 0, decode_power_w = 0;             // per GPU
  ServingMemory memory;
  double device_memory_mb = 0;
  bool fits = true;
  int64_t max_batch_that_fits = 0;  // 0: the weights alone do not fit
  std::vector<ServingFitOption> fitting_options;  // filled when !fits: smallest TP first, widest weights first
  std::vector<std::string> notes, warnings;
};

// Throws perfcast::Error for an encoder model, a non-positive size, an unknown format, or a
// precision the device lacks.
ServingPrediction predict_llm_serving(const graph::TransformerConfig& config, const hardware::Device& device,
                                      const ServingRequest& request, const RooflineCalibration& calibration);

// Memory only (no latency): builds the prefill graph once.
ServingMemory llm_serving_memory(const graph::TransformerConfig& config, const hardware::Device& device,
                                 const ServingRequest& request, const RooflineCalibration& calibration);

// EcoLogits' baseline energy per output token (Wh): 1.17e-6 * exp(-0.0112 * batch) * active_b + 4.05e-5,
// active_b = active parameters in billions. A comparison baseline for the validation test only.
double ecologits_energy_per_token_wh(double active_params_billion, double batch);

nlohmann::json to_json(const ServingPrediction& prediction);

}  // namespace perfcast::predict
