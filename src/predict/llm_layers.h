#pragma once
// One transformer phase (a prefill, or one decode step) costed from ONE layer of each distinct kind.
// A decoder's layers differ only by whether they use sliding-window attention and whether their MLP
// is a mixture of experts; layers of the same kind give identical kernels. So the graph is built
// with one layer per kind (usually 1 or 2 instead of 32..126), every kernel is costed once, and a
// layer kernel counts `repeat` times (the number of layers of its kind). This is exact for the sum
// of kernel times and keeps a 70B prediction in a few milliseconds.
// Weight-only quantisation: the parameter operands of each kernel are read at the weight format's
// bytes per element (int4 0.5 + scales, int8/fp8 1) instead of the compute precision's.
#include <cstdint>
#include <vector>

#include "graph/graph.h"
#include "graph/graph_summary.h"
#include "graph/transformer_config.h"
#include "graph/transformer_graph.h"
#include "hardware/device.h"
#include "predict/op_class.h"
#include "predict/roofline_calibration.h"

namespace perfcast::predict {

struct LayerPlan {
  graph::TransformerConfig reduced;  // one layer per distinct kind
  std::vector<int64_t> repeat;       // per reduced layer: how many layers of the model it stands for
};

// Encoders and encoder-decoders are kept whole (repeat 1 per layer).
LayerPlan plan_layers(const graph::TransformerConfig& config);

struct PhaseKernel {
  graph::NodeId head = graph::kNoNode;  // the kernel's first node in the reduced graph
  OpClass op_class = OpClass::kUnknown;
  bool costed = false;
  double repeat = 1;          // times this kernel runs in the phase
  double flops = 0;
  double bytes = 0;           // at the precision, weights at the weight format
  double compute_s = 0;       // flops / nominal class peak
  double memory_s = 0;        // bytes / nominal bandwidth
  double roofline_s = 0;      // roofline.json kernel time (eager PyTorch), for reference
};

struct PhaseCost {
  graph::Graph graph;           // the reduced graph
  graph::GraphSummary summary;  // of the reduced graph
  std::vector<PhaseKernel> kernels;
};

// weight_bytes_per_element <= 0: weights at the precision's size. append_kv_in_place: the KV-cache
// Concat (past + new -> present) moves only the new tokens, as a paged KV cache does (serving
// engines); false: the whole cache is copied, as the ONNX-style graph says (eager Hugging Face).
PhaseCost cost_phase(const LayerPlan& plan, const graph::TransformerWorkload& workload, const hardware::Device& device,
                     hardware::Precision precision, const RooflineCalibration& calibration,
                     double weight_bytes_per_element, bool append_kv_in_place = true);

}  // namespace perfcast::predict
