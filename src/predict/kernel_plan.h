#pragma once
// Which kernels an eager framework launches for an ONNX graph.
//
// ONNX exporters decompose some single framework operators into chains of elementwise nodes:
// GELU (erf form) becomes Div -> Erf -> Add -> Mul -> Mul, SiLU becomes Sigmoid -> Mul. Eager
// PyTorch runs each as ONE kernel. perfcast merges such chains: starting at an elementwise node with
// exactly one non-scalar input x, it follows single-consumer elementwise successors whose other
// inputs are scalars (<= 1 element) or x itself. The merged kernel reads x (and the scalars) once
// and writes the chain's last output; its FLOPs are the sum. Two Python-level ops with a scalar
// (x * 0.5 then + 1) are two kernels in eager mode but are merged too (a small under-estimate).
// Nodes of class kFree launch nothing.
#include <vector>

#include "graph/graph.h"
#include "graph/graph_summary.h"
#include "predict/op_class.h"

namespace perfcast::predict {

struct KernelPlan {
  std::vector<OpClass> op_class;         // classify_node(), per node
  std::vector<graph::NodeId> kernel_of;  // the node whose kernel runs this node; kNoNode: nothing runs
  std::vector<std::vector<graph::NodeId>> chain;  // per kernel head: its nodes in order (head first)
};

KernelPlan plan_kernels(const graph::Graph& graph);

// The work of one kernel, with bytes split so they can be re-sized to any precision:
// bytes at precision p = float_bytes * precision_bytes(p) / 4 + other_bytes.
struct KernelWork {
  graph::NodeId head = graph::kNoNode;
  OpClass op_class = OpClass::kUnknown;
  bool costed = false;      // false: an unknown operator or a node without shapes in the kernel
  double flops = 0;
  double float_bytes = 0;   // floating-point tensors, counted at 4 bytes per element (fp32 export)
  double other_bytes = 0;   // integer / bool tensors, which keep their size
  int nodes = 0;            // ONNX nodes this kernel runs
  // gemm: the output is gemm_batch matrices of gemm_rows x gemm_cols (0: not a gemm, or unknown);
  // the roofline counts the thread-block tiles they make (wave quantisation, roofline.h).
  double gemm_batch = 0, gemm_rows = 0, gemm_cols = 0;

  double bytes_at(double precision_bytes) const { return float_bytes * precision_bytes / 4.0 + other_bytes; }
};

// One entry per launched kernel, in node order. `summary` must come from summarize(graph).
std::vector<KernelWork> kernel_work(const graph::Graph& graph, const graph::GraphSummary& summary,
                                    const KernelPlan& plan);

}  // namespace perfcast::predict
