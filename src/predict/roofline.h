#pragma once
// Calibrated roofline: per-operator time on a device from the operator's FLOPs and bytes, the
// device's spec sheet and per-class achievable fractions fitted to measurements
// (data/calibration/roofline.json, scripts/calibrate_roofline.py).
//
// Per launched kernel (kernel_plan.h: one per node, except merged elementwise chains) of class c
// (gemm, conv, depthwise_conv, elementwise, reduction, movement):
//   t = max((F + f_c) / (P * a_c), (B + g_c) / (W * b_c)) + t0_c + per_node_overhead
// F = the kernel's FLOPs, B = bytes read + written with every floating-point tensor re-sized to the
// precision (the graph is exported in fp32: fp16 halves them), P = the device's peak: for gemm/conv
// the precision's peak (times the calibration's tensor-core multiplier of the class for
// tf32/fp16/bf16/fp8/int8, a * multiplier capped at 1; AMD fp32 uses the matrix-core fp32 peak when
// the device file lists compute.fp32_matrix_tflops), for the other classes (depthwise conv
// included) the vector peak (fp32, or fp64 for fp64). At non-tensor precisions a of gemm is multiplied
// by the device's gemm_device_scale (relative sustained throughput; a device without gemm measurements
// takes that of a measured device with the same die, hardware::Device::chip, else 1), capped at 1.
// W = memory bandwidth; below 4 bytes per element b_c is scaled by the calibration's low-precision
// memory multiplier (capped at 1; conv's own for conv and grouped conv).
// gemm wave quantisation (calibration gemm_wave_tile = T > 0): F is multiplied by ceil(w) / w with
// w = output tiles / SMs, tiles = batch x ceil(rows / T) x ceil(cols / T) of the output matrices (the
// backward kernels reuse the forward's factor). Utilisation counts the useful FLOPs only.
// Kernels run one after the other (one stream, eager framework): the latency is the sum.
// Layout: the constants above are fitted on NCHW runs. For Layout::kNhwc (channels_last) at tensor-core
// precisions on a GPU, each kernel's time (forward and training backward) is multiplied by the
// calibration's nhwc_time_factor of its class (roofline_calibration.h: conv < 1, cuDNN's tensor-core
// convolutions are NHWC kernels and NCHW pays layout conversions around them). At fp32/fp64 or on a
// CPU, NHWC is predicted as NCHW (no measurements) and a warning says so.
// Views (Reshape, Squeeze, ...), Shape/Size/Constant and host-side shape arithmetic take no time
// and launch nothing. Unknown operators and nodes without shapes are timed as one launch of a
// copy kernel with no work and reported in `warnings`: the latency is then a lower bound.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "graph/graph_summary.h"
#include "hardware/device.h"
#include "predict/interval.h"
#include "predict/kernel_plan.h"
#include "predict/layout.h"
#include "predict/op_class.h"
#include "predict/roofline_calibration.h"

namespace perfcast::predict {

struct NodeTime {
  double time_s = 0;           // roofline + t0 + per-node overhead; 0 when nothing is launched
  bool compute_bound = false;  // the FLOP term of the max() is the larger one
  OpClass op_class = OpClass::kFree;
  bool launched = false;       // this node heads a kernel (its own, or a merged elementwise chain)
  graph::NodeId kernel = graph::kNoNode;  // the node whose kernel runs this one (kernel_plan.h)
  double flops = 0;            // as timed, for the whole kernel
  double bytes = 0;            // as timed (re-sized to the precision), for the whole kernel
  double kernel_s = 0;         // time_s without the per-node framework overhead
};

struct LatencyPrediction {
  Interval latency_ms;
  double compute_bound_fraction = 0;   // share of kernel time spent in compute-bound kernels
  std::vector<double> node_time_s;     // indexed like Graph::nodes; a merged chain's time is on its head
  std::vector<NodeTime> nodes;         // indexed like Graph::nodes
  double flops_per_s_achieved = 0;     // FLOPs of the timed kernels / latency
  double bytes_per_s_achieved = 0;     // bytes of the timed kernels / latency
  // Time-weighted busy fraction of the device over the latency: compute-bound kernels count
  // FLOPs / peak FLOP/s, memory-bound kernels bytes / peak bandwidth, overhead counts zero (power.h).
  double utilisation = 0;
  // Over the latency, every timed kernel counted whatever bounds it (power.h): the time its FLOPs
  // need at the class's nominal peak, and the time its bytes need at the peak bandwidth.
  double compute_utilisation = 0;
  double memory_utilisation = 0;
  int64_t launched_nodes = 0;          // kernels launched
  double overhead_s = 0;               // launched kernels x per_node_overhead_s
  std::map<std::string, double> time_by_class_s;
  std::vector<std::string> warnings;   // unknown ops, missing shapes, non-GPU devices: never silent
};

// One kernel on one device (without the per-node overhead, which the callers add).
NodeTime time_kernel(const KernelWork& work, const hardware::Device& device, hardware::Precision precision,
                     const RooflineCalibration& calibration, Layout layout = Layout::kNchw);

// One backward kernel of a forward kernel, as predict_training_step times it (without the per-node
// overhead): for gemm/conv one of the two it runs (input gradient, weight gradient), else its only one;
// the training multipliers apply at tensor-core precisions.
NodeTime time_backward_kernel(const KernelWork& work, const hardware::Device& device, hardware::Precision precision,
                              const RooflineCalibration& calibration, Layout layout = Layout::kNchw);

// The factor a kernel of this class's NCHW time is multiplied by in `layout` (see the header comment):
// 1 for NCHW, for non-tensor precisions and for non-GPU devices.
double layout_time_factor(OpClass op_class, const hardware::Device& device, hardware::Precision precision,
                          Layout layout, const RooflineCalibration& calibration);

// One inference of the whole graph at the shapes it was imported with (the batch is in the graph).
// Throws perfcast::Error when the device has no such precision.
LatencyPrediction predict_inference_latency(const graph::Graph& graph, const graph::GraphSummary& summary,
                                            const hardware::Device& device, hardware::Precision precision,
                                            const RooflineCalibration& calibration, Layout layout = Layout::kNchw);

enum class Optimizer { kNone, kSgd, kSgdMomentum, kAdam };

struct TrainingPrediction {
  LatencyPrediction step;  // forward + backward + optimizer update; node_time_s = forward + backward
  double forward_s = 0;
  double backward_s = 0;
  double optimizer_s = 0;
};

// One training step (forward, backward, optimizer update), a deliberately simple model:
// (the backward and optimizer times below are then scaled by the calibration's training
// multipliers, fitted on timm's measured training throughput: RooflineCalibration::training;
// depthwise convolutions' backward has its own multiplier)
//  * forward: as predict_inference_latency;
//  * backward: gemm/conv nodes run two kernels (input gradient, weight gradient), each with the
//    forward node's FLOPs and bytes (so 2x FLOPs, 2x bytes, 2 launches); every other timed node
//    runs one kernel with its forward FLOPs and 2x its bytes (reads the output gradient and a
//    saved tensor, writes the input gradient);
//  * optimizer: one fused memory-bound pass (elementwise class, one launch) over the trainable
//    parameters with fp32 master weights, gradients and states (mixed precision keeps them in
//    fp32): SGD reads w, g and writes w (12 B/param, 2 FLOP), SGD with momentum also reads and
//    writes m (20 B, 4 FLOP), Adam/AdamW reads w, g, m, v and writes w, m, v (28 B, 12 FLOP).
TrainingPrediction predict_training_step(const graph::Graph& graph, const graph::GraphSummary& summary,
                                         const hardware::Device& device, hardware::Precision precision,
                                         Optimizer optimizer, const RooflineCalibration& calibration,
                                         Layout layout = Layout::kNchw);

// The compute roof of a class on a device: the nominal peak P (see the header comment), or with
// `achievable` P x a_c x the tensor-core multiplier (capped at P): the FLOP/s of a very large kernel.
double class_peak_flops(const hardware::Device& device, hardware::Precision precision, OpClass op_class,
                        const RooflineCalibration& calibration, bool achievable = false);

std::string optimizer_name(Optimizer optimizer);
// "none", "sgd", "sgd-momentum" (also "momentum"), "adam" (also "adamw"); throws perfcast::Error.
Optimizer parse_optimizer(const std::string& text);

}  // namespace perfcast::predict
