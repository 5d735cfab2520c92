#include "predict/roofline.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <mutex>
#include <toml++/toml.h>

#include "common/error.h"
#include "graph/dtype.h"

namespace perfcast::predict {
namespace {

using hardware::Device;
using hardware::Precision;

bool is_tensor_precision(Precision p) {
  return p == Precision::kTf32 || p == Precision::kFp16 || p == Precision::kBf16 || p == Precision::kFp8 ||
         p == Precision::kInt8;
}

// compute.fp32_matrix_tflops of the device's file (AMD CDNA: FP32 on matrix cores), in FLOP/s;
// 0 when the device has no file or the file has no such key (hardware::Device has no field for it).
double fp32_matrix_peak(const Device& device) {
  if (device.file.empty()) return 0;
  static std::mutex mutex;
  static std::map<std::string, double> cache;
  std::lock_guard lock(mutex);
  if (auto it = cache.find(device.file); it != cache.end()) return it->second;
  double peak = 0;
  try {
    const toml::table table = toml::parse_file(device.file);
    peak = table["compute"]["fp32_matrix_tflops"].value<double>().value_or(0) * 1e12;
  } catch (const toml::parse_error&) {
    peak = 0;  // the catalog loader reports malformed files
  }
  cache[device.file] = peak;
  return peak;
}

// compute.boost_clock_mhz / compute.base_clock_mhz of the device's file (1 when either is absent): the CPU
// roofline (calibration "cpu", peak_clock = "boost") times CPU peaks, given at base clock, at max turbo.
double boost_over_base_clock(const Device& device) {
  if (device.file.empty()) return 1;
  static std::mutex mutex;
  static std::map<std::string, double> cache;
  std::lock_guard lock(mutex);
  if (auto it = cache.find(device.file); it != cache.end()) return it->second;
  double factor = 1;
  try {
    const toml::table table = toml::parse_file(device.file);
    const double boost = table["compute"]["boost_clock_mhz"].value<double>().value_or(0);
    const double base = table["compute"]["base_clock_mhz"].value<double>().value_or(0);
    if (boost > 0 && base > 0) factor = boost / base;
  } catch (const toml::parse_error&) {
    factor = 1;  // the catalog loader reports malformed files
  }
  cache[device.file] = factor;
  return factor;
}

// Peak FLOP/s and the achievable fraction a (multiplier applied, capped at 1) of a class
// (and the bandwidth fraction b, which the low-precision memory multiplier scales, capped at 1).
struct Compute {
  double peak = 0;     // P, nominal
  double a = 1;        // a_c x tensor-core multiplier
  double b = 1;        // b_c x low-precision memory multiplier
};

Compute compute_roof(const Device& device, Precision precision, OpClass op_class, const RooflineCalibration& c) {
  Compute out;
  out.a = c.params(op_class).a;
  out.b = c.params(op_class).b;
  if (hardware::precision_bytes(precision) < 4)
    out.b = std::min(1.0, out.b * c.low_precision_memory_multiplier_for(op_class));
  if (is_matrix_class(op_class)) {
    out.peak = device.peak_flops(precision);
    if (precision == Precision::kFp32) out.peak = std::max(out.peak, fp32_matrix_peak(device));
    if (is_tensor_precision(precision)) out.a = std::min(1.0, out.a * c.tensor_core_multiplier(op_class));
    // Fitted on fp32 (SIMT) GEMMs only: the tensor-core multiplier stands in for it at tensor precisions.
    else if (op_class == OpClass::kGemm) out.a = std::min(1.0, out.a * c.gemm_scale_for(device.id, device.chip));
    // Fitted on AMP fp16 runs only: fp32 keeps grouped convs at conv's efficiency.
    if (is_tensor_precision(precision) && op_class == OpClass::kGroupedConv)
      out.a = std::min(1.0, out.a * c.grouped_conv_compute_factor);
  } else if (precision == Precision::kFp64) {
    out.peak = device.peak_flops(Precision::kFp64);
  } else {
    out.peak = device.supports(Precision::kFp32) ? device.peak_flops(Precision::kFp32) : device.peak_flops(precision);
  }
  if (c.peak_at_boost_clock && device.kind == "cpu") out.peak *= boost_over_base_clock(device);
  return out;
}

double bandwidth_of(const Device& device) {
  const double w = device.bandwidth_bytes_per_s();
  if (!(w > 0)) throw Error(fmt::format("device '{}' has no memory bandwidth", device.id));
  return w;
}

struct Roof {
  double kernel_s = 0;
  bool compute_bound = false;
  double busy_s = 0;  // time the device would need at 100% of the bound resource's peak
  double compute_busy_s = 0;  // FLOPs / nominal peak (whatever bounds the kernel), <= kernel_s
  double memory_busy_s = 0;   // bytes / bandwidth, <= kernel_s
};

Roof roof(const ClassParams& p, const Compute& compute, double flops, double bytes, double bandwidth) {
  const double t_compute = (flops + p.f) / (compute.peak * compute.a);
  const double t_memory = (bytes + p.g) / (bandwidth * compute.b);
  Roof r;
  r.compute_bound = t_compute > t_memory;
  r.kernel_s = std::max(t_compute, t_memory) + p.t0_s;
  r.compute_busy_s = std::min(flops / compute.peak, r.kernel_s);
  r.memory_busy_s = std::min(bytes / bandwidth, r.kernel_s);
  r.busy_s = r.compute_bound ? r.compute_busy_s : r.memory_busy_s;
  return r;
}

// gemm wave quantisation: whole waves of output tiles over the SMs, >= 1 (1 when off or unknown).
double wave_factor(const KernelWork& work, const Device& device, const RooflineCalibration& c) {
  const double tile = c.gemm_wave_tile;
  if (work.op_class != OpClass::kGemm || !(tile > 0) || device.sm_count <= 0 || !(work.gemm_rows > 0) ||
      !(work.gemm_cols > 0) || !(work.gemm_batch > 0))
    return 1.0;
  const double tiles = work.gemm_batch * std::ceil(work.gemm_rows / tile) * std::ceil(work.gemm_cols / tile);
  const double waves = tiles / static_cast<double>(device.sm_count);
  return std::ceil(waves) / waves;
}

// A kernel whose time is scaled by a fitted multiplier (training backward / optimizer): the work,
// hence the busy times, stays the same, capped by the new kernel time.
Roof scaled(Roof r, double multiplier) {
  r.kernel_s *= multiplier;
  r.compute_busy_s = std::min(r.compute_busy_s, r.kernel_s);
  r.memory_busy_s = std::min(r.memory_busy_s, r.kernel_s);
  r.busy_s = std::min(r.busy_s, r.kernel_s);
  return r;
}

// Running sums of a prediction.
struct Totals {
  double time_s = 0, kernel_s = 0, compute_bound_s = 0, busy_s = 0, flops = 0, bytes = 0, overhead_s = 0;
  double compute_busy_s = 0, memory_busy_s = 0;
  int64_t launches = 0;
  std::map<std::string, double> by_class;

  void add(OpClass op_class, const Roof& r, double overhead, double flops_, double bytes_) {
    time_s += r.kernel_s + overhead;
    kernel_s += r.kernel_s;
    overhead_s += overhead;
    ++launches;
    by_class[std::string(op_class_name(op_class))] += r.kernel_s + overhead;
    if (r.compute_bound) compute_bound_s += r.kernel_s;
    busy_s += r.busy_s;
    compute_busy_s += r.compute_busy_s;
    memory_busy_s += r.memory_busy_s;
    flops += flops_;
    bytes += bytes_;
  }

  void finish(LatencyPrediction& out, double low_factor, double high_factor) const {
    out.latency_ms = scaled_interval(time_s * 1e3, low_factor, high_factor);
    out.compute_bound_fraction = kernel_s > 0 ? compute_bound_s / kernel_s : 0;
    out.flops_per_s_achieved = time_s > 0 ? flops / time_s : 0;
    out.bytes_per_s_achieved = time_s > 0 ? bytes / time_s : 0;
    out.utilisation = time_s > 0 ? std::min(1.0, busy_s / time_s) : 0;
    out.compute_utilisation = time_s > 0 ? std::min(1.0, compute_busy_s / time_s) : 0;
    out.memory_utilisation = time_s > 0 ? std::min(1.0, memory_busy_s / time_s) : 0;
    out.launched_nodes = launches;
    out.overhead_s = overhead_s;
    out.time_by_class_s = by_class;
  }
};

bool layout_modelled(const Device& device, Precision precision) {
  return device.kind == "gpu" && is_tensor_precision(precision);
}

void add_layout_warning(Layout layout, const Device& device, Precision precision, const RooflineCalibration& c,
                        std::vector<std::string>& warnings) {
  if (layout == Layout::kNchw) return;
  if (!layout_modelled(device, precision)) {
    warnings.push_back(fmt::format(
        "layout nhwc is modelled at tensor-core precisions (tf32/fp16/bf16/fp8/int8) on GPUs only (fitted on AMP "
        "fp16 runs); {} on {} is predicted as NCHW",
        hardware::precision_name(precision), device.id));
  } else if (!c.layout.fitted) {
    warnings.push_back(fmt::format("{} has no \"layout\" key: nhwc is predicted as NCHW; run "
                                   "scripts/calibrate_layout.py",
                                   c.file));
  }
}

void add_warnings(const graph::Graph& graph, const graph::GraphSummary& summary, const KernelPlan& plan,
                  const Device& device, const RooflineCalibration& calibration, std::vector<std::string>& warnings) {
  std::map<std::string, int64_t> unknown;
  std::vector<std::string> incomplete;
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    if (plan.kernel_of[i] == graph::kNoNode) continue;
    const graph::Node& node = graph.nodes[i];
    const graph::OpCost& cost = summary.node_costs[i];
    if (plan.op_class[i] == OpClass::kUnknown || cost.status == graph::CostStatus::kUnknownOp) {
      ++unknown[graph::qualified_op_type(node)];
    } else if (cost.status == graph::CostStatus::kMissingShape) {
      incomplete.push_back(fmt::format("'{}' ({}): {}", node.name, node.op_type, cost.reason));
    }
  }
  for (const auto& [op, count] : unknown) {
    warnings.push_back(fmt::format(
        "{} node(s) of operator '{}' cannot be timed (no rule): each counted as one launch with no work, "
        "so the latency is a lower bound",
        count, op));
  }
  constexpr size_t kListed = 5;
  for (size_t i = 0; i < std::min(incomplete.size(), kListed); ++i) {
    warnings.push_back(fmt::format("node {} has no cost: counted as one launch with no work", incomplete[i]));
  }
  if (incomplete.size() > kListed) {
    warnings.push_back(
        fmt::format("... and {} more node(s) without cost (the latency is a lower bound)", incomplete.size() - kListed));
  }
  if (device.kind == "cpu" && calibration.cpu.fitted) {
    warnings.push_back(fmt::format(
        "device '{}' is a cpu: its constants were fitted on torch.compile fp32 batch-1 latencies of one desktop CPU; "
        "eager PyTorch, other batch sizes and server CPUs are not validated",
        device.id));
  } else if (device.kind != "gpu") {
    warnings.push_back(fmt::format(
        "device '{}' is a {}: the roofline calibration was fitted on GPU kernels, expect larger errors", device.id,
        device.kind.empty() ? "non-GPU device" : device.kind));
  }
}

// The training multipliers and band were fitted on mixed-precision (AMP fp16) steps only; fp32 keeps
// the first-principles backward (NeuSight's fp32 transformer training steps agree with it better).
TrainingCalibration training_constants(const RooflineCalibration& calibration, Precision precision) {
  return is_tensor_precision(precision) ? calibration.training : TrainingCalibration{};
}

struct BackwardKernel {
  Roof roof;
  double bytes = 0;  // as timed
};

// One backward kernel of a costed forward kernel (roofline.h, predict_training_step).
BackwardKernel backward_kernel(const KernelWork& w, const Device& device, Precision precision,
                               const RooflineCalibration& calibration, const TrainingCalibration& tc, Layout layout) {
  BackwardKernel out;
  out.bytes = (is_matrix_class(w.op_class) ? 1.0 : 2.0) * w.bytes_at(hardware::precision_bytes(precision));
  const Compute compute = compute_roof(device, precision, w.op_class, calibration);
  Roof r = roof(calibration.params(w.op_class), compute, w.flops * wave_factor(w, device, calibration), out.bytes,
                bandwidth_of(device));
  r.compute_busy_s = std::min(w.flops / compute.peak, r.kernel_s);
  r.busy_s = r.compute_bound ? r.compute_busy_s : r.memory_busy_s;
  const double multiplier =
      w.op_class == OpClass::kDepthwiseConv ? tc.depthwise_conv_backward_multiplier : tc.backward_multiplier;
  // The backward kernels of a class see the same layout conversions (or NHWC kernels) as its forward.
  out.roof = scaled(r, multiplier * layout_time_factor(w.op_class, device, precision, layout, calibration));
  return out;
}

// A NodeTime for the kernel `work` launches, before it is timed.
NodeTime launched(const KernelWork& work) {
  NodeTime nt;
  nt.op_class = work.op_class;
  nt.kernel = work.head;
  nt.launched = true;
  return nt;
}

// Times every kernel; fills out.nodes / out.node_time_s (forward) and the totals.
void time_forward(const graph::Graph& graph, const KernelPlan& plan, const std::vector<KernelWork>& work,
                  const Device& device, Precision precision, const RooflineCalibration& calibration, Layout layout,
                  LatencyPrediction& out, std::vector<Roof>& roofs, Totals& totals) {
  out.nodes.assign(graph.nodes.size(), NodeTime{});
  out.node_time_s.assign(graph.nodes.size(), 0.0);
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    out.nodes[i].op_class = plan.op_class[i];
    out.nodes[i].kernel = plan.kernel_of[i];
  }
  roofs.clear();
  for (const KernelWork& w : work) {
    const NodeTime nt = time_kernel(w, device, precision, calibration, layout);
    Roof r;
    r.kernel_s = nt.kernel_s;
    r.compute_bound = nt.compute_bound;
    if (w.costed) {
      const Compute c = compute_roof(device, precision, w.op_class, calibration);
      r.compute_busy_s = std::min(nt.flops / c.peak, nt.kernel_s);
      r.memory_busy_s = std::min(nt.bytes / bandwidth_of(device), nt.kernel_s);
      r.busy_s = nt.compute_bound ? r.compute_busy_s : r.memory_busy_s;
    }
    roofs.push_back(r);
    totals.add(w.op_class, r, calibration.per_node_overhead_s, nt.flops, nt.bytes);
    const size_t h = static_cast<size_t>(w.head);
    out.nodes[h] = nt;
    out.nodes[h].time_s = nt.kernel_s + calibration.per_node_overhead_s;
    out.node_time_s[h] = out.nodes[h].time_s;
  }
}

}  // namespace

double class_peak_flops(const Device& device, Precision precision, OpClass op_class,
                        const RooflineCalibration& calibration, bool achievable) {
  if (const auto& own = calibration.for_device(device.kind); &own != &calibration)
    return class_peak_flops(device, precision, op_class, own, achievable);
  const Compute c = compute_roof(device, precision, op_class, calibration);
  return achievable ? c.peak * c.a : c.peak;
}

double layout_time_factor(OpClass op_class, const Device& device, Precision precision, Layout layout,
                          const RooflineCalibration& calibration) {
  if (layout == Layout::kNchw || !layout_modelled(device, precision)) return 1.0;
  return calibration.nhwc_time_factor(op_class);
}

NodeTime time_kernel(const KernelWork& work, const Device& device, Precision precision,
                     const RooflineCalibration& calibration, Layout layout) {
  if (const auto& own = calibration.for_device(device.kind); &own != &calibration)
    return time_kernel(work, device, precision, own, layout);
  NodeTime nt = launched(work);
  if (!work.costed) {
    nt.kernel_s = calibration.params(OpClass::kMovement).t0_s;
    nt.time_s = nt.kernel_s;
    return nt;
  }
  nt.flops = work.flops;
  nt.bytes = work.bytes_at(hardware::precision_bytes(precision));
  const Compute compute = compute_roof(device, precision, work.op_class, calibration);
  Roof r = roof(calibration.params(work.op_class), compute,
                nt.flops * wave_factor(work, device, calibration), nt.bytes, bandwidth_of(device));
  r.compute_busy_s = std::min(nt.flops / compute.peak, r.kernel_s);  // useful work only
  r = scaled(r, layout_time_factor(work.op_class, device, precision, layout, calibration));
  nt.compute_bound = r.compute_bound;
  nt.kernel_s = r.kernel_s;
  nt.time_s = r.kernel_s;
  return nt;
}

NodeTime time_backward_kernel(const KernelWork& work, const Device& device, Precision precision,
                              const RooflineCalibration& calibration, Layout layout) {
  if (const auto& own = calibration.for_device(device.kind); &own != &calibration)
    return time_backward_kernel(work, device, precision, own, layout);
  NodeTime nt = launched(work);
  const TrainingCalibration tc = training_constants(calibration, precision);
  if (!work.costed) {
    nt.kernel_s = tc.backward_multiplier * calibration.params(OpClass::kMovement).t0_s;
    nt.time_s = nt.kernel_s;
    return nt;
  }
  const BackwardKernel b = backward_kernel(work, device, precision, calibration, tc, layout);
  nt.flops = work.flops;
  nt.bytes = b.bytes;
  nt.compute_bound = b.roof.compute_bound;
  nt.kernel_s = b.roof.kernel_s;
  nt.time_s = b.roof.kernel_s;
  return nt;
}

LatencyPrediction predict_inference_latency(const graph::Graph& graph, const graph::GraphSummary& summary,
                                            const Device& device, Precision precision,
                                            const RooflineCalibration& calibration, Layout layout) {
  if (const auto& own = calibration.for_device(device.kind); &own != &calibration)
    return predict_inference_latency(graph, summary, device, precision, own, layout);
  const KernelPlan plan = plan_kernels(graph);
  const std::vector<KernelWork> work = kernel_work(graph, summary, plan);
  LatencyPrediction out;
  std::vector<Roof> roofs;
  Totals totals;
  time_forward(graph, plan, work, device, precision, calibration, layout, out, roofs, totals);
  totals.finish(out, calibration.interval_low_factor, calibration.interval_high_factor);
  add_warnings(graph, summary, plan, device, calibration, out.warnings);
  add_layout_warning(layout, device, precision, calibration, out.warnings);
  return out;
}

TrainingPrediction predict_training_step(const graph::Graph& graph, const graph::GraphSummary& summary,
                                         const Device& device, Precision precision, Optimizer optimizer,
                                         const RooflineCalibration& calibration, Layout layout) {
  if (const auto& own = calibration.for_device(device.kind); &own != &calibration)
    return predict_training_step(graph, summary, device, precision, optimizer, own, layout);
  const KernelPlan plan = plan_kernels(graph);
  const std::vector<KernelWork> work = kernel_work(graph, summary, plan);
  const double bandwidth = bandwidth_of(device);
  const double overhead = calibration.per_node_overhead_s;
  const TrainingCalibration tc = training_constants(calibration, precision);
  TrainingPrediction out;
  LatencyPrediction& step = out.step;
  std::vector<Roof> roofs;
  Totals totals;
  time_forward(graph, plan, work, device, precision, calibration, layout, step, roofs, totals);
  out.forward_s = totals.time_s;
  for (size_t k = 0; k < work.size(); ++k) {
    const KernelWork& w = work[k];
    double backward = 0;
    if (!w.costed) {
      totals.add(w.op_class, scaled(roofs[k], tc.backward_multiplier), overhead, 0, 0);
      backward = tc.backward_multiplier * roofs[k].kernel_s + overhead;
    } else {
      const int kernels = is_matrix_class(w.op_class) ? 2 : 1;
      const BackwardKernel b = backward_kernel(w, device, precision, calibration, tc, layout);
      for (int i = 0; i < kernels; ++i) totals.add(w.op_class, b.roof, overhead, w.flops, b.bytes);
      backward = kernels * (b.roof.kernel_s + overhead);
    }
    out.backward_s += backward;
    step.node_time_s[static_cast<size_t>(w.head)] += backward;
  }
  if (optimizer != Optimizer::kNone) {
    const double state_bytes = precision == Precision::kFp64 ? 8.0 : 4.0;  // fp32 master weights and states
    double tensors_per_param = 0, flops_per_param = 0;
    switch (optimizer) {
      case Optimizer::kSgd: tensors_per_param = 3; flops_per_param = 2; break;
      case Optimizer::kSgdMomentum: tensors_per_param = 5; flops_per_param = 4; break;
      case Optimizer::kAdam: tensors_per_param = 7; flops_per_param = 12; break;
      case Optimizer::kNone: break;
    }
    const double params = static_cast<double>(summary.params);
    const double flops = params * flops_per_param;
    const double bytes = params * tensors_per_param * state_bytes;
    const Compute compute = compute_roof(device, precision, OpClass::kElementwise, calibration);
    const Roof r = scaled(roof(calibration.params(OpClass::kElementwise), compute, flops, bytes, bandwidth),
                          tc.optimizer_multiplier);
    totals.add(OpClass::kElementwise, r, overhead, flops, bytes);
    out.optimizer_s = r.kernel_s + overhead;
  }
  const bool own_band = tc.interval_low_factor > 0 && tc.interval_high_factor > 0;
  totals.finish(step, own_band ? tc.interval_low_factor : calibration.interval_low_factor,
                own_band ? tc.interval_high_factor : calibration.interval_high_factor);
  add_warnings(graph, summary, plan, device, calibration, step.warnings);
  add_layout_warning(layout, device, precision, calibration, step.warnings);
  return out;
}

std::string optimizer_name(Optimizer optimizer) {
  switch (optimizer) {
    case Optimizer::kNone: return "none";
    case Optimizer::kSgd: return "sgd";
    case Optimizer::kSgdMomentum: return "sgd-momentum";
    case Optimizer::kAdam: return "adam";
  }
  return "none";
}

Optimizer parse_optimizer(const std::string& text) {
  std::string t = text;
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  if (t == "none") return Optimizer::kNone;
  if (t == "sgd") return Optimizer::kSgd;
  if (t == "sgd-momentum" || t == "momentum") return Optimizer::kSgdMomentum;
  if (t == "adam" || t == "adamw") return Optimizer::kAdam;
  throw Error(fmt::format("unknown optimizer '{}'; expected one of: none, sgd, sgd-momentum, adam, adamw", text));
}

}  // namespace perfcast::predict
