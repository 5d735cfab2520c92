#include "predict/llm_serving.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "graph/graph_summary.h"
#include "graph/transformer_graph.h"
#include "predict/llm_layers.h"
#include "predict/llm_parallel.h"
#include "predict/memory.h"
#include "predict/memory_calibration.h"
#include "predict/power.h"
#include "predict/roofline.h"

namespace perfcast::predict {
namespace {

using graph::DType;
using hardware::Precision;

constexpr double kMiB = 1024.0 * 1024.0;
constexpr double kInt4GroupSize = 128;  // one fp16 scale per 128 weights (GPTQ / AWQ default)

struct Formats {
  Precision precision = Precision::kFp16;
  DType graph_kv = DType::kFloat32;      // fp32: re-sized to the precision by the predictors
  DType real_kv = DType::kFloat16;       // for kv_cache_bytes at full context
  double weight_bytes = 2;               // stored and read per weight
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
  f.weight_bytes = weight_format_bytes(w);
  if (w == "fp16" || w == "bf16") {
    f.precision = w == "bf16" && device.supports(Precision::kBf16) ? Precision::kBf16 : Precision::kFp16;
    if (w == "bf16" && f.precision != Precision::kBf16) f.notes.push_back("device has no bf16: costed at fp16");
  } else if (w == "fp8" && device.supports(Precision::kFp8)) {
    f.precision = Precision::kFp8;
    f.notes.push_back("fp8 weights and activations (W8A8) on the device's fp8 datapath");
  } else if (w == "fp8" || w == "int8") {
    f.notes.push_back(fmt::format("{} weight-only quantisation: weights stored and read at 1 byte; compute at fp16 "
                                  "(dequantisation assumed fused into the GEMM)", w));
  } else {
    f.notes.push_back(fmt::format("int4 weight-only quantisation: weights stored and read at {:.3f} byte (0.5 + one "
                                  "fp16 scale per {:.0f}); compute at fp16 (dequantisation assumed fused)",
                                  f.weight_bytes, kInt4GroupSize));
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
  w.weight_dtype = DType::kFloat32;
  w.activation_dtype = DType::kFloat32;
  w.kv_dtype = f.graph_kv;
  w.lm_head_last_token_only = true;
  return w;
}

double allreduce_s(const graph::TransformerConfig& shard, const Formats& f, int64_t tokens, int64_t tp,
                   const hardware::Device& device) {
  const double bytes = static_cast<double>(tokens) * static_cast<double>(shard.hidden_size) *
                       hardware::precision_bytes(f.precision);
  return 2.0 * static_cast<double>(shard.num_layers) * ring_allreduce_seconds(bytes, tp, device);
}

// Sums a phase's kernels with the serving constants into a LatencyPrediction (for power.h too).
LatencyPrediction time_phase(const PhaseCost& phase, int64_t batch, const LlmServingCalibration& s, bool online,
                             const RooflineCalibration& roofline, const hardware::Device& device) {
  const ServingHostCosts& host = online ? s.online : s.offline;
  double time_s = 0, compute_busy = 0, memory_busy = 0, busy = 0, compute_bound_s = 0, kernel_s_sum = 0, launches = 0;
  int64_t uncosted = 0;
  LatencyPrediction out;
  for (const PhaseKernel& k : phase.kernels) {
    const double tc = k.compute_s / s.compute_efficiency, tm = k.memory_s / s.memory_efficiency;
    const double kernel_s = std::max(tc, tm) + host.kernel_gap_s;
    time_s += k.repeat * kernel_s;
    kernel_s_sum += k.repeat * kernel_s;
    launches += k.repeat;
    out.time_by_class_s[std::string(op_class_name(k.op_class))] += k.repeat * kernel_s;
    if (!k.costed) {
      ++uncosted;
      continue;
    }
    const double c = k.repeat * std::min(k.compute_s, kernel_s), m = k.repeat * std::min(k.memory_s, kernel_s);
    compute_busy += c;
    memory_busy += m;
    busy += tc > tm ? c : m;
    if (tc > tm) compute_bound_s += k.repeat * kernel_s;
  }
  const double host_s = host.per_step_s + host.per_sequence_s * static_cast<double>(batch);
  time_s += host_s;
  out.time_by_class_s["host (per sequence)"] = host_s;
  const double lo = s.interval_low_factor > 0 ? s.interval_low_factor : roofline.interval_low_factor;
  const double hi = s.interval_high_factor > 0 ? s.interval_high_factor : roofline.interval_high_factor;
  out.latency_ms = scaled_interval(time_s * 1e3, lo, hi);
  out.compute_bound_fraction = kernel_s_sum > 0 ? compute_bound_s / kernel_s_sum : 0;
  out.utilisation = time_s > 0 ? std::min(1.0, busy / time_s) : 0;
  out.compute_utilisation = time_s > 0 ? std::min(1.0, compute_busy / time_s) : 0;
  out.memory_utilisation = time_s > 0 ? std::min(1.0, memory_busy / time_s) : 0;
  out.launched_nodes = static_cast<int64_t>(launches);
  if (uncosted > 0)
    out.warnings.push_back(fmt::format("{} kernel(s) have no cost rule or shapes: timed as a launch gap only, so the "
                                       "latency is a lower bound", uncosted));
  if (device.kind != "gpu")
    out.warnings.push_back(fmt::format("device '{}' is not a GPU: the serving constants were fitted on GPUs", device.id));
  return out;
}

ServingMemory memory_from(const graph::TransformerConfig& shard, const PhaseCost& prefill, const Formats& f,
                          const ServingRequest& r, const hardware::Device& device, const RooflineCalibration& calibration) {
  const MemoryEstimate m = estimate_peak_memory(prefill.graph, prefill.summary, f.precision, Mode::kInference,
                                                Optimizer::kNone, 0, calibration, device.vendor);
  ServingMemory s;
  s.weights_bytes = static_cast<double>(graph::transformer_params(shard).total) * f.weight_bytes;
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
Interval scale(const Interval& i, double x) { return {i.value * x, i.low * x, i.high * x}; }
Interval sum(const Interval& a, const Interval& b) { return {a.value + b.value, a.low + b.low, a.high + b.high}; }

}  // namespace

double weight_format_bytes(const std::string& w) {
  if (w == "fp16" || w == "bf16") return 2;
  if (w == "fp8" || w == "int8") return 1;
  if (w == "int4") return 0.5 + 2.0 / kInt4GroupSize;
  throw Error(fmt::format("--weights '{}': choose fp16, bf16, fp8, int8 or int4", w));
}

ServingMemory llm_serving_memory(const graph::TransformerConfig& config, const hardware::Device& device,
                                 const ServingRequest& request, const RooflineCalibration& calibration) {
  check_request(config, request);
  const Formats f = resolve_formats(request, device);
  const graph::TransformerConfig shard = shard_transformer_config(config, request.tp);
  const PhaseCost prefill = cost_phase(plan_layers(shard), make_phase(f, request.batch, request.prompt_tokens, 0), device,
                                       f.precision, calibration, f.weight_bytes);
  return memory_from(shard, prefill, f, request, device, calibration);
}

ServingPrediction predict_llm_serving(const graph::TransformerConfig& config, const hardware::Device& device,
                                      const ServingRequest& r, const RooflineCalibration& calibration) {
  return predict_llm_serving(config, device, r, calibration, default_llm_serving_calibration());
}

ServingPrediction predict_llm_serving(const graph::TransformerConfig& config, const hardware::Device& device,
                                      const ServingRequest& r, const RooflineCalibration& calibration,
                                      const LlmServingCalibration& serving) {
  check_request(config, r);
  const Formats f = resolve_formats(r, device);
  const graph::TransformerConfig shard = shard_transformer_config(config, r.tp);
  const LayerPlan layers = plan_layers(shard);

  ServingPrediction p;
  p.device_id = device.id;
  p.request = r;
  p.compute_precision = f.precision;
  p.notes = f.notes;
  for (const auto& n : shard.notes) p.notes.push_back(n);

  // Prefill of the whole batch (memory, and ttft of a static batch).
  const PhaseCost prefill = cost_phase(layers, make_phase(f, r.batch, r.prompt_tokens, 0), device, f.precision,
                                       calibration, f.weight_bytes);
  const LatencyPrediction pl = time_phase(prefill, r.batch, serving, r.continuous_batching, calibration, device);
  p.memory = memory_from(shard, prefill, f, r, device, calibration);

  // One decode step at the mid-point context.
  const int64_t context = r.prompt_tokens + r.output_tokens / 2;
  const PhaseCost decode = cost_phase(layers, make_phase(f, r.batch, 1, context), device, f.precision, calibration,
                                      f.weight_bytes);
  const LatencyPrediction dl = time_phase(decode, r.batch, serving, r.continuous_batching, calibration, device);
  p.decode_allreduce_ms = allreduce_s(shard, f, r.batch, r.tp, device) * 1e3;
  const Interval step_ms = add(dl.latency_ms, p.decode_allreduce_ms);
  p.decode_step_ms = step_ms.value;

  const double B = static_cast<double>(r.batch), O = static_cast<double>(r.output_tokens);
  const double gpus = static_cast<double>(r.tp);
  p.decode_power_w = estimate_power(dl, device).average_w;
  if (r.continuous_batching) {
    const PhaseCost one = r.batch == 1 ? PhaseCost{} : cost_phase(layers, make_phase(f, 1, r.prompt_tokens, 0), device,
                                                                  f.precision, calibration, f.weight_bytes);
    const LatencyPrediction ol = r.batch == 1 ? pl : time_phase(one, 1, serving, true, calibration, device);
    p.prefill_allreduce_ms = allreduce_s(shard, f, r.prompt_tokens, r.tp, device) * 1e3;
    p.ttft_ms = add(ol.latency_ms, p.prefill_allreduce_ms);
    const Interval interference = scale(p.ttft_ms, B / O);
    p.prefill_interference_ms = interference.value;
    p.tpot_ms = sum(step_ms, interference);
    p.tokens_per_s = {B * 1e3 / p.tpot_ms.value, B * 1e3 / p.tpot_ms.high, B * 1e3 / p.tpot_ms.low};
    p.prefill_power_w = estimate_power(ol, device).average_w;
    // Per step: one decode of B sequences plus B / O prefills; a request lives O steps among B.
    auto energy_request_j = [&](double prefill_ms, double step) {
      return gpus * (p.decode_power_w * step * O / B + p.prefill_power_w * prefill_ms) / 1e3;
    };
    const double e = energy_request_j(p.ttft_ms.value, step_ms.value);
    p.energy_per_request_j = {e, energy_request_j(p.ttft_ms.low, step_ms.low) * kAssumedPowerLowFactor,
                              energy_request_j(p.ttft_ms.high, step_ms.high) * kAssumedPowerHighFactor};
  } else {
    p.prefill_allreduce_ms = allreduce_s(shard, f, r.batch * r.prompt_tokens, r.tp, device) * 1e3;
    p.ttft_ms = add(pl.latency_ms, p.prefill_allreduce_ms);
    p.tpot_ms = step_ms;
    auto total_ms = [&](double ttft, double tpot) { return ttft + O * tpot; };
    p.tokens_per_s = {B * O * 1e3 / total_ms(p.ttft_ms.value, p.tpot_ms.value),
                      B * O * 1e3 / total_ms(p.ttft_ms.high, p.tpot_ms.high),
                      B * O * 1e3 / total_ms(p.ttft_ms.low, p.tpot_ms.low)};
    p.prefill_power_w = estimate_power(pl, device).average_w;
    auto energy_j = [&](double ttft_ms, double tpot_ms) {
      return gpus * (p.prefill_power_w * ttft_ms + p.decode_power_w * O * tpot_ms) / 1e3;
    };
    const double e = energy_j(p.ttft_ms.value, p.tpot_ms.value);
    p.energy_per_request_j = {e / B, energy_j(p.ttft_ms.low, p.tpot_ms.low) * kAssumedPowerLowFactor / B,
                              energy_j(p.ttft_ms.high, p.tpot_ms.high) * kAssumedPowerHighFactor / B};
  }
  p.energy_per_token_j = scale(p.energy_per_request_j, 1.0 / O);

  // Memory.
  const MemoryBand band = llm_memory_band(p.memory.weights_bytes + p.memory.kv_cache_bytes + p.memory.activation_bytes,
                                         p.memory.workspace_bytes, p.memory.runtime_bytes, device.vendor,
                                         default_memory_calibration());
  p.peak_memory_mb = band.mib();
  p.memory_band_basis = band.basis;
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
  p.notes.push_back(fmt::format("serving constants from {} ({})", serving.file, serving.fitted_on));
  p.notes.push_back("memory and power bands are assumptions (not calibrated)");
  return p;
}

StaticBatchPrediction predict_llm_static_batch(const graph::TransformerConfig& config, const hardware::Device& device,
                                               const ServingRequest& request, const RooflineCalibration& calibration,
                                               double memory_fraction) {
  if (!(memory_fraction > 0 && memory_fraction <= 1)) throw Error("memory fraction must be in (0, 1]");
  ServingRequest r = request;
  r.continuous_batching = false;
  StaticBatchPrediction out;
  out.wave = predict_llm_serving(config, device, r, calibration);
  const ServingMemory& m = out.wave.memory;
  const double usable = memory_fraction * device.memory_bytes();
  const double fixed = m.weights_bytes + m.workspace_bytes + m.runtime_bytes;
  out.running_batch = m.per_sequence_bytes > 0 && fixed < usable
                          ? std::min<int64_t>(r.batch, static_cast<int64_t>(std::floor((usable - fixed) / m.per_sequence_bytes)))
                          : 0;
  if (out.running_batch < 1) {
    out.running_batch = 0;
    return out;
  }
  if (out.running_batch < r.batch) {
    ServingRequest wave = r;
    wave.batch = out.running_batch;
    out.wave = predict_llm_serving(config, device, wave, calibration);
  }
  out.waves = (r.batch + out.running_batch - 1) / out.running_batch;
  const double O = static_cast<double>(r.output_tokens);
  out.latency_ms = static_cast<double>(out.waves) * (out.wave.ttft_ms.value + O * out.wave.tpot_ms.value);
  out.tokens_per_s = static_cast<double>(r.batch) * O * 1e3 / out.latency_ms;
  return out;
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
  j["peak_memory_mb"]["band_basis"] = p.memory_band_basis;
  j["energy_per_token_j"] = to_json(p.energy_per_token_j);
  j["energy_per_request_j"] = to_json(p.energy_per_request_j);
  j["energy_calibrated"] = false;
  j["prefill_allreduce_ms"] = p.prefill_allreduce_ms;
  j["decode_allreduce_ms"] = p.decode_allreduce_ms;
  j["continuous_batching"] = p.request.continuous_batching;
  j["decode_step_ms"] = p.decode_step_ms;
  j["prefill_interference_ms"] = p.prefill_interference_ms;
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
