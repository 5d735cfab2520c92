#pragma once
// LLM serving from a Hugging Face config: time to first token, time per output token, throughput,
// memory (weights + KV cache + activations + runtime), energy, the largest batch that fits, and for a
// configuration that does not fit, the smallest tensor-parallel degree / weight format that does.
//
// Model (the transformer graph builder + the per-kernel roofline work, one layer per kind, llm_layers.h):
//  * prefill: graph at seq = prompt tokens, context 0, batch B, logits of the last token only -> ttft
//  * decode: one step at seq = 1, context = P + O/2, batch B -> tpot. Every per-step cost is linear
//    in the context (KV reads, attention FLOPs), so the mid-point step equals the average step
//    (up to the max() per kernel).
//  * each step: sum over kernels of max(F / (P * ce), B / (W * me)) + gap, plus per_sequence x B
//    (llm_serving_calibration.h; constants fitted on ML.ENERGY rows, data/calibration/llm_serving.json).
//  * continuous batching (request.continuous_batching, e.g. vLLM serving a stream of requests): at
//    steady state B / O new requests are prefilled per decode step and every running sequence waits
//    for them, so tpot += (B / O) x the prefill of one request, and ttft is that one prefill.
//    Otherwise (a static batch, offline generate): ttft is the prefill of the whole batch.
//  * tokens/s = B * O / (ttft + O * tpot) (static batch) or B / tpot (continuous); energy = average
//    power (power.h) x time x GPUs.
//  * weights int8 / int4 (and fp8 on a device without fp8): weight-only quantisation: weights are
//    stored AND read at 1 / 0.5 bytes (int4 + one fp16 scale per 128 weights = 0.516 B); compute at
//    fp16 (dequantisation assumed fused and hidden). fp8 on a device with an fp8 datapath: W8A8,
//    every floating-point tensor at 1 byte and the fp8 GEMM peak. int8 W8A8 is not modelled.
//  * KV dtype: the KV cache tensors are stored (and read) at that size.
//  * tensor parallelism N: the per-GPU shard (llm_parallel.h) plus 2 ring all-reduces per layer of
//    B * seq * hidden * activation bytes, over NVLink / xGMI / PCIe (llm_parallel.h), not overlapped.
//  * memory: weights (closed-form parameter count x weight bytes) + activations, workspace and runtime
//    context of the prefill graph (memory.h) + the KV cache at full context P + O for batch B. Memory
//    and power bands are assumptions (not calibrated); latency bands are the serving calibration's.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "graph/transformer_config.h"
#include "hardware/device.h"
#include "predict/interval.h"
#include "predict/llm_serving_calibration.h"
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
  bool continuous_batching = false;  // steady-state serving of a request stream (see the header comment)
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
  std::string memory_band_basis;  // peak_memory_mb's band: assumed (memory_calibration.h: llm_memory_band)
  double prefill_allreduce_ms = 0, decode_allreduce_ms = 0;  // included in ttft / tpot
  double decode_step_ms = 0;          // one decode step of the batch (tpot without prefill interference)
  double prefill_interference_ms = 0;  // continuous batching: (B / O) x one request's prefill, in tpot
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
// Uses default_llm_serving_calibration().
ServingPrediction predict_llm_serving(const graph::TransformerConfig& config, const hardware::Device& device,
                                      const ServingRequest& request, const RooflineCalibration& calibration);
ServingPrediction predict_llm_serving(const graph::TransformerConfig& config, const hardware::Device& device,
                                      const ServingRequest& request, const RooflineCalibration& calibration,
                                      const LlmServingCalibration& serving);

// Bytes per stored weight of a --weights format: fp16/bf16 2, fp8/int8 1, int4 0.5 + fp16 group-128
// scales (0.515625). Throws perfcast::Error for an unknown format.
double weight_format_bytes(const std::string& weights);

// A static batch (offline generate) larger than the KV cache holds: serving engines admit the
// sequences that fit in memory_fraction of the device (vLLM's gpu_memory_utilization, 0.9 by
// default) and queue the rest, so the batch runs in ceil(B / running_batch) waves.
struct StaticBatchPrediction {
  ServingPrediction wave;      // one wave, at running_batch
  int64_t running_batch = 0;   // 0: not even one sequence fits
  int64_t waves = 0;
  double latency_ms = 0;       // all waves: waves x (ttft + O x tpot) of one wave
  double tokens_per_s = 0;     // B x O / latency (output tokens)
};
StaticBatchPrediction predict_llm_static_batch(const graph::TransformerConfig& config, const hardware::Device& device,
                                               const ServingRequest& request, const RooflineCalibration& calibration,
                                               double memory_fraction = 0.9);

// Memory only (no latency): builds the prefill graph once.
ServingMemory llm_serving_memory(const graph::TransformerConfig& config, const hardware::Device& device,
                                 const ServingRequest& request, const RooflineCalibration& calibration);

// EcoLogits' baseline energy per output token (Wh): 1.17e-6 * exp(-0.0112 * batch) * active_b + 4.05e-5,
// active_b = active parameters in billions. A comparison baseline for the validation test only.
double ecologits_energy_per_token_wh(double active_params_billion, double batch);

nlohmann::json to_json(const ServingPrediction& prediction);

}  // namespace perfcast::predict
