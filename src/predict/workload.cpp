#include "predict/workload.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "predict/memory_calibration.h"
#include "predict/power.h"

namespace perfcast::predict {
namespace {

constexpr double kMiB = 1024.0 * 1024.0;

}  // namespace

ModelWorkload make_workload(std::string name, graph::Graph graph) {
  ModelWorkload w;
  w.name = std::move(name);
  w.summary = graph::summarize(graph);
  if (!w.summary.inputs.empty() && !w.summary.inputs[0].shape.empty()) w.batch = w.summary.inputs[0].shape[0];
  w.graph = std::move(graph);
  return w;
}

WorkloadPrediction predict_workload(const ModelWorkload& workload, const hardware::Device& device,
                                    const PredictRequest& request, const RooflineCalibration& calibration) {
  device.peak_flops(request.precision);  // throws, naming what the device supports

  LatencyPrediction latency;
  if (request.mode == Mode::kTraining) {
    latency = predict_training_step(workload.graph, workload.summary, device, request.precision, request.optimizer,
                                    calibration, request.layout)
                  .step;
  } else {
    latency = predict_inference_latency(workload.graph, workload.summary, device, request.precision, calibration,
                                        request.layout);
  }

  WorkloadPrediction p;
  p.device_id = device.id;
  p.precision = request.precision;
  p.mode = request.mode;
  p.layout = request.layout;
  p.batch = workload.batch;
  p.latency_ms = latency.latency_ms;
  const auto batch = static_cast<double>(workload.batch);
  // Throughput is inversely related to latency: its low end comes from the latency's high end.
  p.throughput_per_s = {batch * 1000.0 / latency.latency_ms.value, batch * 1000.0 / latency.latency_ms.high,
                        batch * 1000.0 / latency.latency_ms.low};

  const std::string memory_vendor = device.kind == "cpu" ? "cpu" : device.vendor;  // no GPU context on a CPU
  p.memory = estimate_peak_memory(workload.graph, workload.summary, request.precision, request.mode,
                                  request.mode == Mode::kTraining ? request.optimizer : Optimizer::kNone, 0,
                                  calibration, memory_vendor);
  const double memory_mb = p.memory.total_bytes / kMiB;
  const MemoryBand band = memory_band(p.memory, request.mode, request.precision, memory_vendor,
                                     workload.summary.peak_activation_liveness, default_memory_calibration());
  p.peak_memory_mb = band.mib();
  p.memory_interval_calibrated = band.calibrated;
  p.memory_band_basis = band.basis;
  p.device_memory_mb = device.memory_gib * 1024.0;
  p.fits_memory = memory_mb <= p.device_memory_mb;

  const PowerEstimate power = estimate_power(latency, device);
  p.avg_power_w = power.power_w;
  p.power_interval_calibrated = power.calibrated;
  p.energy_j = power.energy_j;
  p.utilisation = power.utilisation;
  p.compute_bound_fraction = latency.compute_bound_fraction;
  p.warnings = latency.warnings;
  if (!p.fits_memory) {
    p.warnings.push_back(fmt::format("needs {:.0f} MiB but {} has {:.0f} MiB", memory_mb, device.id,
                                     p.device_memory_mb));
  }
  return p;
}

nlohmann::json to_json(const WorkloadPrediction& p) {
  nlohmann::json j;
  j["device"] = p.device_id;
  j["precision"] = hardware::precision_name(p.precision);
  j["mode"] = p.mode == Mode::kTraining ? "training" : "inference";
  j["layout"] = layout_name(p.layout);
  j["batch"] = p.batch;
  j["latency_ms"] = to_json(p.latency_ms);
  j["throughput_per_s"] = to_json(p.throughput_per_s);
  j["peak_memory_mb"] = to_json(p.peak_memory_mb);
  j["peak_memory_mb"]["calibrated"] = p.memory_interval_calibrated;
  j["peak_memory_mb"]["band_basis"] = p.memory_band_basis;
  j["avg_power_w"] = to_json(p.avg_power_w);
  j["avg_power_w"]["calibrated"] = p.power_interval_calibrated;
  j["energy_j"] = to_json(p.energy_j);
  j["memory_breakdown_mb"] = {{"weights", p.memory.weights_bytes / kMiB},
                              {"activations", p.memory.activation_bytes / kMiB},
                              {"workspace", p.memory.workspace_bytes / kMiB},
                              {"runtime_context", p.memory.runtime_context_bytes / kMiB},
                              {"gradients", p.memory.gradient_bytes / kMiB},
                              {"optimizer_state", p.memory.optimizer_state_bytes / kMiB}};
  j["device_memory_mb"] = p.device_memory_mb;
  j["fits_memory"] = p.fits_memory;
  j["compute_bound_fraction"] = p.compute_bound_fraction;
  j["utilisation"] = p.utilisation;
  j["warnings"] = p.warnings;
  return j;
}

}  // namespace perfcast::predict
