#pragma once
// Peak device memory of one inference or one training step. A first-order model:
//  * weights: parameters at the weight format's bytes (floating-point ones re-sized to the
//    precision, quantised integers at their own size). Training keeps fp32 master weights (PyTorch
//    AMP) plus, below 4 bytes per element, a copy in the precision (autocast's cast cache).
//  * activations, inference: GraphSummary::peak_activation_bytes (eager PyTorch's module-scope
//    liveness when the node names carry module scopes, else last-reader; activation_memory.h)
//    re-sized to the precision; training: the peak over the step of the tensors autograd keeps
//    for backward plus the activations or gradients alive beside them (training_activation_peak).
//  * workspace (cuBLAS/cuDNN scratch): the largest operand of any gemm/conv node, times the
//    calibration's workspace.fraction_of_largest_operand, capped at workspace.cap_bytes.
//  * runtime context: the CUDA/ROCm context and framework state not visible in the graph, from the
//    calibration file (runtime_context_bytes, by vendor; documented there with its sources).
//  * training adds gradients (one fp32 per trainable parameter, kept between steps, plus the new
//    gradient of the layer at the activation peak before it is added in) and optimizer state: SGD
//    none, SGD with momentum 1 fp32 per parameter, Adam/AdamW 2.
// The tensor part (weights, activations, gradients, optimizer state) is validated against PyTorch
// CPU measurements (data/validation/tensor_memory_rows.csv); workspace and runtime context are not. The
// band reported around the total: memory_calibration.h.
// The summary's batch is the leading dimension of its first input; `batch` (0: keep it) scales
// activations and activation operands linearly.
#include <cstdint>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "graph/graph_summary.h"
#include "hardware/device.h"
#include "predict/roofline.h"
#include "predict/roofline_calibration.h"

namespace perfcast::predict {

enum class Mode { kInference, kTraining };

struct MemoryEstimate {
  double weights_bytes = 0;
  double activation_bytes = 0;
  double workspace_bytes = 0;
  double runtime_context_bytes = 0;
  double gradient_bytes = 0;
  double optimizer_state_bytes = 0;
  double total_bytes = 0;

  // What PyTorch's allocator holds as tensors: all but workspace and runtime context.
  double tensor_bytes() const { return weights_bytes + activation_bytes + gradient_bytes + optimizer_state_bytes; }
};

MemoryEstimate estimate_peak_memory(const graph::Graph& graph, const graph::GraphSummary& summary,
                                    hardware::Precision precision, Mode mode, Optimizer optimizer, int64_t batch,
                                    const RooflineCalibration& calibration, const std::string& vendor);

double peak_memory_bytes(const graph::Graph& graph, const graph::GraphSummary& summary,
                         hardware::Precision precision, Mode mode, Optimizer optimizer, int64_t batch,
                         const RooflineCalibration& calibration, const std::string& vendor);

}  // namespace perfcast::predict
