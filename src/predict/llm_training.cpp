#include "predict/llm_training.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "graph/graph_summary.h"
#include "graph/transformer_graph.h"
#include "predict/llm_parallel.h"
#include "predict/memory.h"
#include "predict/memory_calibration.h"
#include "predict/power.h"
#include "predict/roofline.h"

namespace perfcast::predict {
namespace {

constexpr double kMiB = 1024.0 * 1024.0;

}  // namespace

LlmTrainingPrediction predict_llm_training(const graph::TransformerConfig& config, const hardware::Device& device,
                                           const LlmTrainingRequest& r, const RooflineCalibration& calibration) {
  if (r.global_batch < 1 || r.seq_len < 1 || r.micro_batch < 1 || r.dp < 1 || r.tp < 1 || r.pp < 1) {
    throw Error("--global-batch, --seq-len, --micro-batch, --dp, --tp and --pp must be >= 1");
  }
  if (r.zero < 0 || r.zero > 3) throw Error(fmt::format("--zero {}: choose 0, 1, 2 or 3", r.zero));
  device.peak_flops(r.precision);

  LlmTrainingPrediction p;
  p.device_id = device.id;
  p.request = r;
  p.gpus = r.dp * r.tp * r.pp;
  const int64_t per_step = r.dp * r.micro_batch;
  p.micro_batches = (r.global_batch + per_step - 1) / per_step;
  if (p.micro_batches * per_step != r.global_batch) {
    p.warnings.push_back(fmt::format("global batch {} is not a multiple of dp x micro-batch = {}: rounded up to {}",
                                     r.global_batch, per_step, p.micro_batches * per_step));
  }
  const graph::TransformerConfig shard = shard_transformer_config(config, r.tp, r.pp);
  p.notes = shard.notes;

  graph::TransformerWorkload w;
  w.batch = r.micro_batch;
  w.seq_len = r.seq_len;
  w.weight_dtype = graph::DType::kFloat32;  // re-sized to the precision by the predictors
  w.activation_dtype = graph::DType::kFloat32;
  const graph::Graph g = graph::build_transformer_graph(shard, w);
  const graph::GraphSummary summary = graph::summarize(g);
  const TrainingPrediction t = predict_training_step(g, summary, device, r.precision, Optimizer::kAdam, calibration);

  const double m = static_cast<double>(p.micro_batches), P = static_cast<double>(r.pp), D = static_cast<double>(r.dp);
  const double act_bytes = hardware::precision_bytes(r.precision);
  const double layers = static_cast<double>(shard.num_layers);
  const double tokens_mb = static_cast<double>(r.micro_batch * r.seq_len);
  const double tp_comm_mb_s =
      4.0 * layers * ring_allreduce_seconds(tokens_mb * static_cast<double>(shard.hidden_size) * act_bytes, r.tp, device);
  const double mb_compute_s = t.forward_s * (r.activation_checkpointing ? 2.0 : 1.0) + t.backward_s;
  const double mb_s = mb_compute_s + tp_comm_mb_s;
  p.bubble_fraction = (P - 1.0) / (m + P - 1.0);

  const graph::TransformerParams params = graph::transformer_params(shard);
  p.params_per_gpu = static_cast<double>(params.total);
  const double grad_volume = p.params_per_gpu * 4.0 * (r.zero == 3 ? 1.5 : 1.0);
  const double dp_comm_s = ring_allreduce_seconds(grad_volume, r.dp, device);
  const double optimizer_s = t.optimizer_s / (r.zero >= 1 ? D : 1.0);

  p.compute_ms = mb_compute_s * (m + P - 1.0) * 1e3;
  p.tp_comm_ms = tp_comm_mb_s * (m + P - 1.0) * 1e3;
  p.dp_comm_ms = dp_comm_s * 1e3;
  p.optimizer_ms = optimizer_s * 1e3;
  const double step_s = mb_s * (m + P - 1.0) + optimizer_s + dp_comm_s;
  const Interval& lat = t.step.latency_ms;
  const double lo = lat.value > 0 ? lat.low / lat.value : 1, hi = lat.value > 0 ? lat.high / lat.value : 1;
  // Compute scales with the calibration's band; communication is added as is.
  const double compute_s = mb_compute_s * (m + P - 1.0) + optimizer_s;
  const double comm_s = step_s - compute_s;
  p.step_ms = {step_s * 1e3, (compute_s * lo + comm_s) * 1e3, (compute_s * hi + comm_s) * 1e3};
  p.tokens_per_s = static_cast<double>(r.global_batch * r.seq_len) / step_s;

  // Memory per GPU.
  const double phi = p.params_per_gpu;
  const double wb = 2.0 * phi, gb = 2.0 * phi, ob = 12.0 * phi;
  p.weights_bytes = r.zero >= 3 ? wb / D : wb;
  p.gradient_bytes = r.zero >= 2 ? gb / D : gb;
  p.optimizer_bytes = r.zero >= 1 ? ob / D : ob;
  const MemoryEstimate me =
      estimate_peak_memory(g, summary, r.precision, Mode::kTraining, Optimizer::kAdam, 0, calibration, device.vendor);
  const double in_flight = std::min(m, P);
  if (r.activation_checkpointing) {
    const double layer_inputs = layers * tokens_mb * static_cast<double>(shard.hidden_size) * act_bytes;
    p.activation_bytes = layer_inputs * in_flight + me.activation_bytes / std::max(1.0, layers);
  } else {
    p.activation_bytes = me.activation_bytes * in_flight;
  }
  p.runtime_bytes = me.runtime_context_bytes + me.workspace_bytes;
  const double total = p.weights_bytes + p.gradient_bytes + p.optimizer_bytes + p.activation_bytes + p.runtime_bytes;
  const MemoryBand band = llm_memory_band(total - p.runtime_bytes, me.workspace_bytes, me.runtime_context_bytes,
                                         device.vendor, default_memory_calibration());
  p.memory_mb = band.mib();
  p.memory_band_basis = band.basis;
  p.device_memory_mb = device.memory_gib * 1024.0;
  p.fits = total <= device.memory_bytes();
  if (!p.fits) {
    p.warnings.push_back(fmt::format("needs {:.0f} MiB per GPU but {} has {:.0f} MiB", total / kMiB, device.id,
                                     p.device_memory_mb));
  }

  // Power and energy (communication time at the compute's average power).
  p.avg_power_w = estimate_power(t.step, device).average_w;
  const double gpus = static_cast<double>(p.gpus);
  p.step_energy_j = {p.avg_power_w * step_s * gpus, p.avg_power_w * p.step_ms.low / 1e3 * gpus * kAssumedPowerLowFactor,
                     p.avg_power_w * p.step_ms.high / 1e3 * gpus * kAssumedPowerHighFactor};
  if (r.tokens) {
    if (*r.tokens <= 0) throw Error("--tokens must be > 0");
    p.steps = *r.tokens / static_cast<double>(r.global_batch * r.seq_len);
    p.hours = p.steps * step_s / 3600.0;
    p.gpu_hours = p.hours * gpus;
    const double k = p.steps / 3.6e6;
    p.energy_kwh = {p.step_energy_j.value * k, p.step_energy_j.low * k, p.step_energy_j.high * k};
  }
  if (p.gpus > 8) {
    p.warnings.push_back(fmt::format("{} GPUs span several nodes: every collective is costed at {} speed; the inter-node "
                                     "network is not modelled (optimistic)",
                                     p.gpus, interconnect_name(device)));
  }
  for (const auto& wmsg : t.step.warnings) p.warnings.push_back(wmsg);
  p.notes.push_back("DP gradient all-reduce and TP all-reduces not overlapped with compute (upper bound)");
  p.notes.push_back("memory and power bands are assumptions (not calibrated)");
  return p;
}

carbon::Footprint llm_training_footprint(const LlmTrainingPrediction& p, const std::string& region,
                                         const hardware::DeviceCatalog& devices, const carbon::RegionTable& regions,
                                         const carbon::PriceTable& prices) {
  if (!p.request.tokens) throw Error("a training footprint needs --tokens");
  carbon::FootprintRequest fr;
  fr.device = p.device_id;
  fr.device_count = static_cast<int>(p.gpus);
  fr.hours = p.hours;
  fr.energy_kwh = p.energy_kwh.value;
  fr.region = region;
  return carbon::compute_footprint(fr, devices, regions, prices);
}

nlohmann::json to_json(const LlmTrainingPrediction& p) {
  nlohmann::json j;
  j["mode"] = "training";
  j["device"] = p.device_id;
  j["global_batch"] = p.request.global_batch;
  j["seq_len"] = p.request.seq_len;
  j["micro_batch"] = p.request.micro_batch;
  j["dp"] = p.request.dp;
  j["tp"] = p.request.tp;
  j["pp"] = p.request.pp;
  j["zero"] = p.request.zero;
  j["activation_checkpointing"] = p.request.activation_checkpointing;
  j["precision"] = hardware::precision_name(p.request.precision);
  j["gpus"] = p.gpus;
  j["micro_batches"] = p.micro_batches;
  j["bubble_fraction"] = p.bubble_fraction;
  j["step_ms"] = to_json(p.step_ms);
  j["step_breakdown_ms"] = {{"compute", p.compute_ms}, {"tp_allreduce", p.tp_comm_ms}, {"dp_allreduce", p.dp_comm_ms},
                            {"optimizer", p.optimizer_ms}};
  j["tokens_per_s"] = p.tokens_per_s;
  j["params_per_gpu"] = p.params_per_gpu;
  j["memory_per_gpu_mb"] = to_json(p.memory_mb);
  j["memory_per_gpu_mb"]["calibrated"] = false;
  j["memory_per_gpu_mb"]["band_basis"] = p.memory_band_basis;
  j["memory_breakdown_mb"] = {{"weights", p.weights_bytes / kMiB},           {"gradients", p.gradient_bytes / kMiB},
                              {"optimizer_state", p.optimizer_bytes / kMiB}, {"activations", p.activation_bytes / kMiB},
                              {"runtime_and_workspace", p.runtime_bytes / kMiB}};
  j["device_memory_mb"] = p.device_memory_mb;
  j["fits_memory"] = p.fits;
  j["avg_power_w"] = p.avg_power_w;
  j["step_energy_j"] = to_json(p.step_energy_j);
  if (p.request.tokens) {
    j["tokens"] = *p.request.tokens;
    j["steps"] = p.steps;
    j["hours"] = p.hours;
    j["gpu_hours"] = p.gpu_hours;
    j["energy_kwh"] = to_json(p.energy_kwh);
  }
  j["notes"] = p.notes;
  j["warnings"] = p.warnings;
  return j;
}

}  // namespace perfcast::predict
