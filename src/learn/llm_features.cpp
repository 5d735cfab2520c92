#include "learn/llm_features.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "common/error.h"
#include "graph/transformer_graph.h"
#include "predict/llm_serving.h"

namespace perfcast::learn {

const std::vector<std::string>& llm_frameworks() {
  static const std::vector<std::string> names = {"vLLM", "llama.cpp", "TensorRT-LLM", "Deepspeed-MII"};
  return names;
}

LlmPrior llm_analytical_prior(const graph::TransformerConfig& config, const hardware::Device& device,
                              const LlmRequest& request, const predict::RooflineCalibration& calibration) {
  predict::ServingRequest r;
  r.prompt_tokens = r.output_tokens = request.length_tokens;
  r.batch = request.batch;
  r.tp = request.tp;
  r.suggest_when_not_fitting = false;
  const predict::StaticBatchPrediction s = predict::predict_llm_static_batch(config, device, r, calibration);
  double latency_s = s.latency_ms / 1e3;
  if (s.running_batch == 0)  // not even one sequence fits: cost the batch as if it did
    latency_s = (s.wave.ttft_ms.value + static_cast<double>(r.output_tokens) * s.wave.tpot_ms.value) / 1e3;
  if (!(latency_s > 0)) throw Error(fmt::format("analytical latency of {} on {} is not positive", config.source, device.id));
  LlmPrior prior;
  prior.tokens_per_s = static_cast<double>(request.batch * 2 * request.length_tokens) / latency_s;
  prior.waves = s.running_batch == 0 ? 0 : s.waves;
  return prior;
}

const std::vector<std::string>& llm_feature_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n = {
        "params_b", "active_params_b", "log10_active_params", "layers", "hidden", "heads", "kv_heads", "head_dim",
        "intermediate", "vocab", "experts", "experts_per_token", "kv_bytes_per_token",
        "batch", "log2_batch", "length_tokens", "log2_length", "num_hardware", "tp", "log2_tp",
        "weights_gb_per_gpu", "weights_over_memory", "kv_cache_gb_per_gpu", "kv_over_free_memory",
        "peak_fp16_tflops", "bandwidth_gb_s", "memory_gib", "tdp_w", "interconnect_gb_s", "ridge_flop_per_byte",
        "log10_prior_tokens_per_s", "prior_waves", "prior_fits"};
    for (const auto& f : llm_frameworks()) n.push_back("framework_" + f);
    return n;
  }();
  return names;
}

void append_llm_features(const graph::TransformerConfig& c, const hardware::Device& device, const LlmRequest& r,
                         const LlmPrior& prior, std::vector<float>& out) {
  const auto fw = std::find(llm_frameworks().begin(), llm_frameworks().end(), r.framework);
  if (fw == llm_frameworks().end())
    throw Error(fmt::format("framework '{}' has no feature column; known: vLLM, llama.cpp, TensorRT-LLM, Deepspeed-MII",
                            r.framework));
  const graph::TransformerParams params = graph::transformer_params(c);
  const double tp = static_cast<double>(std::max<int64_t>(1, r.tp));
  const int64_t head_dim = c.head_dim > 0 ? c.head_dim : c.hidden_size / std::max<int64_t>(1, c.num_heads);
  const int64_t kv_heads = c.num_kv_heads > 0 ? c.num_kv_heads : c.num_heads;
  const double kv_bytes_per_token = 2.0 * 2.0 * static_cast<double>(c.num_layers * kv_heads * head_dim);  // K and V, fp16
  const double weights_gb = 2.0 * static_cast<double>(params.total) / tp / 1e9;
  const double memory_gb = device.memory_bytes() / 1e9;
  const double kv_gb = kv_bytes_per_token * static_cast<double>(r.batch * 2 * r.length_tokens) / tp / 1e9;
  const double free_gb = std::max(0.1, 0.9 * memory_gb - weights_gb);
  const double peak = device.supports(hardware::Precision::kFp16) ? device.peak_flops(hardware::Precision::kFp16) : 0;
  const double link = device.nvlink_gb_s > 0 ? device.nvlink_gb_s : device.xgmi_gb_s > 0 ? device.xgmi_gb_s : device.pcie_gb_s;
  const double values[] = {
      static_cast<double>(params.total) / 1e9, static_cast<double>(params.active) / 1e9,
      std::log10(static_cast<double>(std::max<int64_t>(1, params.active))), static_cast<double>(c.num_layers),
      static_cast<double>(c.hidden_size), static_cast<double>(c.num_heads), static_cast<double>(kv_heads),
      static_cast<double>(head_dim), static_cast<double>(c.intermediate_size), static_cast<double>(c.vocab_size),
      static_cast<double>(c.num_experts), static_cast<double>(c.experts_per_token), kv_bytes_per_token,
      static_cast<double>(r.batch), std::log2(static_cast<double>(r.batch)), static_cast<double>(r.length_tokens),
      std::log2(static_cast<double>(r.length_tokens)), static_cast<double>(r.num_hardware), tp, std::log2(tp),
      weights_gb, weights_gb / memory_gb, kv_gb, kv_gb / free_gb,
      peak / 1e12, device.memory_bandwidth_gb_s, device.memory_gib, device.tdp_w, link,
      peak / device.bandwidth_bytes_per_s(),
      std::log10(prior.tokens_per_s), static_cast<double>(prior.waves), prior.waves > 0 ? 1.0 : 0.0};
  for (double v : values) out.push_back(static_cast<float>(v));
  for (const auto& f : llm_frameworks()) out.push_back(f == r.framework ? 1.0f : 0.0f);
}

}  // namespace perfcast::learn
