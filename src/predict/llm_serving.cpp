#include "predict/llm_serving.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "graph/graph_summary.h"
#include "graph/transformer_graph.h"
#include "predict/llm_parallel.h"
#include "predict/memory.h"
#include "predict/power.h"
#include "predict/roofline.h"

namespace perfcast::predict {
namespace {

using graph::DType;
using hardware::Precision;

constexpr double kMiB = 1024.0 * 1024.0;
// Stated assumptions (no LLM memory / power measurements fitted), as in workload.cpp.

struct Formats {
  Precision precision = Precision::kFp16;
  DType graph_weight = DType::kFloat32;  // fp32: re-sized to the precision by the predictors
  DType graph_kv = DType::kFloat32;
  DType real_kv = DType::kFloat16;       // for kv_cache_bytes at full context
  double weight_bytes = 2;
  std::vector<std::string> notes;
};

double kv_format_bytes(const std::string& kv) {
  if (kv == "fp16" || kv == "bf16") return 2;
  if (kv == "fp8" || kv == "int8") return 1;
  throw Error(fmt::format("--kv-cache '{}': choose fp16, bf16, fp8 or int8", kv));
}

Formats resolve_formats(const ServingRequest& r, const hardware::Device& device) {
  Formats f;
  const std::string& w = r.weights;
  if (w == "fp16" || w == "bf16") {
    f.precision = w == "bf16" && device.supports(Precision::kBf16) ? Precision::kBf16 : Precision::kFp16;
    if (w == "bf16" && f.precision != Precision::kBf16) f.notes.push_back("device has no bf16: costed at fp16");
  } else if (w == "fp8" && device.supports(Precision::kFp8)) {
    f.precision = Precision::kFp8;
    f.weight_bytes = 1;
    f.notes.push_back("fp8 weights and activations (W8A8) on the device's fp8 datapath");
  } else if (w == "fp8" || w == "int8") {
    f.weight_bytes = 1;
    f.notes.push_back(fmt::format("{} weight-only quantisation: memory at 1 byte per weight; latency costed at fp16 "
                                  "(the smaller weight reads are not credited: conservative)", w));
  } else if (w == "int4") {
    f.weight_bytes = 0.5;
    f.notes.push_back("int4 weight-only quantisation: memory at 0.5 byte per weight (scales ignored); latency costed at "
                      "fp16 (the smaller weight reads are not credited: conservative)");
  } else {
    throw Error(fmt::format("--weights '{}': choose fp16, bf16, fp8, int8 or int4", w));
  }
  if (!device.supports(f.precision)) {
    throw Error(fmt::format("{} has no {} support", device.id, hardware::precision_name(f.precision)));
  }
  const double kvb = kv_format_bytes(r.kv_cache);
  f.real_kv = kvb == 1 ? DType::kInt8 : DType::kFloat16;
  if (kvb != hardware::precision_bytes(f.precision)) f.graph_kv = kvb == 1 ? DType::kInt8 : DType::kInt16;
  return f;
}

void check_request(const graph::TransformerConfig& config, const ServingRequest& r) {
  if (config.kind != graph::TransformerKind::kDecoder) {
    throw Error(fmt::format("{}: LLM serving needs a decoder-only model (this one is {})", config.source,
                            graph::family_name(config.family)));
  }
  if (r.prompt_tokens < 1 || r.output_tokens < 1 || r.batch < 1 || r.tp < 1) {
    throw Error("--prompt-tokens, --output-tokens, --batch and --tp must be >= 1");
  }
}

graph::TransformerWorkload make_phase(const Formats& f, int64_t batch, int64_t seq, int64_t context) {
  graph::TransformerWorkload w;
  w.batch = batch;
  w.seq_len = seq;
  w.context_len = context;
  w.weight_dtype = f.graph_weight;
  w.activation_dtype = DType::kFloat32;
  w.kv_dtype = f.graph_kv;
  return w;
}

double allreduce_s(const graph::TransformerConfig& shard, const Formats& f, int64_t tokens, int64_t tp,
                   const hardware::Device& device) {
  const double bytes = static_cast<double>(tokens) * static_cast<double>(shard.hidden_size) *
                       hardware::precision_bytes(f.precision);
  return 2.0 * static_cast<double>(shard.num_layers) * ring_allreduce_seconds(bytes, tp, device);
}

ServingMemory memory_from(const graph::TransformerConfig& shard, const graph::Graph& prefill,
                          const graph::GraphSummary& summary, const Formats& f, const ServingRequest& r,
                          const hardware::Device& device, const RooflineCalibration& calibration) {
  const MemoryEstimate m =
      estimate_peak_memory(prefill, summary, f.precision, Mode::kInference, Optimizer::kNone, 0, calibration, device.vendor);
  ServingMemory s;
  // memory.h re-sizes every parameter as an fp32 export; quantised weights are stored at their own size.
  s.weights_bytes = static_cast<double>(summary.params) * f.weight_bytes;
  s.activation_bytes = m.activation_bytes;
  s.workspace_bytes = m.workspace_bytes;
  s.runtime_bytes = m.runtime_context_bytes;
  graph::TransformerWorkload full;
  full.batch = r.batch;
  full.context_len = r.prompt_tokens + r.output_tokens;
  full.kv_dtype = f.real_kv;
  s.kv_cache_bytes = static_cast<double>(graph::kv_cache_bytes(shard, full));
  s.total_bytes = s.weights_bytes + s.activation_bytes + s.workspace_bytes + s.runtime_bytes + s.kv_cache_bytes;
  s.per_sequence_bytes = (s.kv_cache_bytes + s.activation_bytes) / static_cast<double>(r.batch);
  return s;
}

Interval add(const Interval& i, double x) { return {i.value + x, i.low + x, i.high + x}; }

}  // namespace

ServingMemory llm_serving_memory(const graph::TransformerConfig& config, const hardware::Device& device,
                                 const ServingRequest& request, const RooflineCalibration& calibration) {
  check_request(config, request);
  const Formats f = resolve_formats(request, device);
  const graph::TransformerConfig shard = shard_transformer_config(config, request.tp);
  const graph::Graph g = graph::build_transformer_graph(shard, make_phase(f, request.batch, request.prompt_tokens, 0));
  return memory_from(shard, g, graph::summarize(g), f, request, device, calibration);
}

ServingPrediction predict_llm_serving(const graph::TransformerConfig& config, const hardware::Device& device,
                                      const ServingRequest& r, const RooflineCalibration& calibration) {
  check_request(config, r);
  const Formats f = resolve_formats(r, device);
  const graph::TransformerConfig shard = shard_transformer_config(config, r.tp);

  ServingPrediction p;
  p.device_id = device.id;
  p.request = r;
  p.compute_precision = f.precision;
  p.notes = f.notes;
  for (const auto& n : shard.notes) p.notes.push_back(n);

  // Prefill.
  const graph::Graph prefill = graph::build_transformer_graph(shard, make_phase(f, r.batch, r.prompt_tokens, 0));
  const graph::GraphSummary prefill_summary = graph::summarize(prefill);
  const LatencyPrediction pl = predict_inference_latency(prefill, prefill_summary, device, f.precision, calibration);
  const double prefill_comm_s = allreduce_s(shard, f, r.batch * r.prompt_tokens, r.tp, device);
  p.prefill_allreduce_ms = prefill_comm_s * 1e3;
  p.ttft_ms = add(pl.latency_ms, p.prefill_allreduce_ms);
  p.memory = memory_from(shard, prefill, prefill_summary, f, r, device, calibration);

  // One decode step at the mid-point context.
  const int64_t context = r.prompt_tokens + r.output_tokens / 2;
  const graph::Graph decode = graph::build_transformer_graph(shard, make_phase(f, r.batch, 1, context));
  const LatencyPrediction dl = predict_inference_latency(decode, graph::summarize(decode), device, f.precision, calibration);
  const double decode_comm_s = allreduce_s(shard, f, r.batch, r.tp, device);
  p.decode_allreduce_ms = decode_comm_s * 1e3;
  p.tpot_ms = add(dl.latency_ms, p.decode_allreduce_ms);

  const double B = static_cast<double>(r.batch), O = static_cast<double>(r.output_tokens);
  auto total_ms = [&](double ttft, double tpot) { return ttft + O * tpot; };
  p.tokens_per_s = {B * O * 1e3 / total_ms(p.ttft_ms.value, p.tpot_ms.value),
                    B * O * 1e3 / total_ms(p.ttft_ms.high, p.tpot_ms.high),
                    B * O * 1e3 / total_ms(p.ttft_ms.low, p.tpot_ms.low)};

  // Energy: each phase at its average power (communication time at the same power), all GPUs.
  p.prefill_power_w = estimate_power(pl, device).average_w;
  p.decode_power_w = estimate_power(dl, device).average_w;
  const double gpus = static_cast<double>(r.tp);
  auto energy_j = [&](double ttft_ms, double tpot_ms) {
    return gpus * (p.prefill_power_w * ttft_ms + p.decode_power_w * O * tpot_ms) / 1e3;
  };
  const double e = energy_j(p.ttft_ms.value, p.tpot_ms.value);
  const double e_low = energy_j(p.ttft_ms.low, p.tpot_ms.low) * kAssumedPowerLowFactor;
  const double e_high = energy_j(p.ttft_ms.high, p.tpot_ms.high) * kAssumedPowerHighFactor;
  p.energy_per_request_j = {e / B, e_low / B, e_high / B};
  p.energy_per_token_j = {e / (B * O), e_low / (B * O), e_high / (B * O)};

  // Memory.
  p.peak_memory_mb = scaled_interval(p.memory.total_bytes / kMiB, kAssumedMemoryLowFactor, kAssumedMemoryHighFactor);
  p.device_memory_mb = device.memory_gib * 1024.0;
  p.fits = p.memory.total_bytes <= device.memory_bytes();
  const double fixed = p.memory.weights_bytes + p.memory.workspace_bytes + p.memory.runtime_bytes;
  p.max_batch_that_fits = fixed >= device.memory_bytes() || p.memory.per_sequence_bytes <= 0
                              ? 0
                              : static_cast<int64_t>(std::floor((device.memory_bytes() - fixed) / p.memory.per_sequence_bytes));
  if (!p.fits) {
    p.warnings.push_back(fmt::format("needs {:.0f} MiB per GPU but {} has {:.0f} MiB", p.memory.total_bytes / kMiB,
                                     device.id, p.device_memory_mb));
    if (r.suggest_when_not_fitting) {
      const std::string eight_bit = device.supports(Precision::kFp8) ? "fp8" : "int8";
      for (int64_t tp : {1, 2, 4, 8}) {
        if (config.num_heads % tp != 0) continue;
        for (const std::string& w : {std::string("fp16"), eight_bit, std::string("int4")}) {
          ServingRequest alt = r;
          alt.tp = tp;
          alt.weights = w;
          const ServingMemory m = llm_serving_memory(config, device, alt, calibration);
          if (m.total_bytes <= device.memory_bytes()) p.fitting_options.push_back({tp, w, m.total_bytes / kMiB});
        }
      }
      if (p.fitting_options.empty()) p.warnings.push_back("no TP <= 8 x weights {fp16, 8-bit, int4} fits");
    }
  }
  for (const auto& w : pl.warnings) p.warnings.push_back("prefill: " + w);
  for (const auto& w : dl.warnings) p.warnings.push_back("decode: " + w);
  if (r.tp > 1) {
    p.notes.push_back(fmt::format("2 all-reduces per layer over {} ({:.0f} GB/s per direction), ring, +{:.0f} us each, "
                                  "not overlapped",
                                  interconnect_name(device), interconnect_bytes_per_s(device) / 1e9,
                                  kCollectiveLatencyS * 1e6));
  }
  p.notes.push_back("memory and power bands are assumptions (not calibrated); latency bands from the roofline calibration");
  return p;
}

double ecologits_energy_per_token_wh(double active_params_billion, double batch) {
  return 1.17e-6 * std::exp(-0.0112 * batch) * active_params_billion + 4.05e-5;
}

nlohmann::json to_json(const ServingPrediction& p) {
  nlohmann::json j;
  j["mode"] = "serving";
  j["device"] = p.device_id;
  j["prompt_tokens"] = p.request.prompt_tokens;
  j["output_tokens"] = p.request.output_tokens;
  j["batch"] = p.request.batch;
  j["tp"] = p.request.tp;
  j["weights"] = p.request.weights;
  j["kv_cache"] = p.request.kv_cache;
  j["compute_precision"] = hardware::precision_name(p.compute_precision);
  j["ttft_ms"] = to_json(p.ttft_ms);
  j["tpot_ms"] = to_json(p.tpot_ms);
  j["tokens_per_s"] = to_json(p.tokens_per_s);
  j["peak_memory_mb"] = to_json(p.peak_memory_mb);
  j["peak_memory_mb"]["calibrated"] = false;
  j["energy_per_token_j"] = to_json(p.energy_per_token_j);
  j["energy_per_request_j"] = to_json(p.energy_per_request_j);
  j["energy_calibrated"] = false;
  j["prefill_allreduce_ms"] = p.prefill_allreduce_ms;
  j["decode_allreduce_ms"] = p.decode_allreduce_ms;
  j["avg_power_w"] = {{"prefill", p.prefill_power_w}, {"decode", p.decode_power_w}};
  j["memory_breakdown_mb"] = {{"weights", p.memory.weights_bytes / kMiB},
                              {"kv_cache", p.memory.kv_cache_bytes / kMiB},
                              {"activations", p.memory.activation_bytes / kMiB},
                              {"workspace", p.memory.workspace_bytes / kMiB},
                              {"runtime_context", p.memory.runtime_bytes / kMiB}};
  j["device_memory_mb"] = p.device_memory_mb;
  j["fits_memory"] = p.fits;
  j["max_batch_that_fits"] = p.max_batch_that_fits;
  nlohmann::json options = nlohmann::json::array();
  for (const auto& o : p.fitting_options) options.push_back({{"tp", o.tp}, {"weights", o.weights}, {"memory_mb", o.memory_mb}});
  j["fitting_options"] = options;
  j["notes"] = p.notes;
  j["warnings"] = p.warnings;
  return j;
}

}  // namespace perfcast::predict
