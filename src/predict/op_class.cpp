#include "predict/op_class.h"

#include <string>
#include <unordered_map>

#include "graph/dtype.h"
#include "graph/op_cost.h"
#include "graph/op_kinds.h"

namespace perfcast::predict {
namespace {

constexpr int64_t kShapeArithmeticMaxElements = 64;

const std::unordered_map<std::string_view, OpClass>& class_table() {
  static const std::unordered_map<std::string_view, OpClass> table = [] {
    std::unordered_map<std::string_view, OpClass> t;
    for (auto op : {"MatMul", "Gemm", "Einsum", "MatMulInteger", "QLinearMatMul"}) t[op] = OpClass::kGemm;
    for (auto op : {"Conv", "ConvTranspose", "ConvInteger", "QLinearConv"}) t[op] = OpClass::kConv;
    for (auto op : {"BatchNormalization", "Resize", "Upsample", "BitShift", "Xor"}) t[op] = OpClass::kElementwise;
    for (auto op : {"LayerNormalization", "InstanceNormalization", "GroupNormalization", "MeanVarianceNormalization",
                    "SimplifiedLayerNormalization", "LpNormalization", "Softmax", "LogSoftmax", "Hardmax", "MaxPool",
                    "AveragePool", "LpPool", "MaxRoiPool", "GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool",
                    "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
                    "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare", "ArgMax", "ArgMin", "CumSum", "TopK"}) {
      t[op] = OpClass::kReduction;
    }
    for (auto op : {"Transpose", "Concat", "Where", "Split", "Expand", "Tile", "Pad", "DepthToSpace", "SpaceToDepth",
                    "ScatterND", "ScatterElements", "Scatter", "Trilu", "ReverseSequence", "Compress",
                    "ConstantOfShape", "Range", "NonZero", "OneHot", "EyeLike", "SequenceConstruct",
                    "SplitToSequence", "ConcatFromSequence", "Gather", "GatherElements", "GatherND", "Slice"}) {
      t[op] = OpClass::kMovement;
    }
    for (auto op : {"Shape", "Size", "Constant"}) t[op] = OpClass::kFree;
    return t;
  }();
  return table;
}

bool small_integer(const graph::Tensor& t) {
  return !graph::is_floating(t.dtype) && t.dtype != graph::DType::kUnknown && t.shape_known &&
         t.element_count() <= kShapeArithmeticMaxElements;
}

}  // namespace

OpClass classify_op_type(std::string_view op_type) {
  const std::string op(op_type);
  if (graph::is_view_op(op)) return OpClass::kFree;  // Reshape, Flatten, Squeeze, Unsqueeze, Identity, Dropout
  const auto& table = class_table();
  if (auto it = table.find(op_type); it != table.end()) return it->second;
  if (graph::is_unary_elementwise(op_type) || graph::is_binary_elementwise(op_type)) return OpClass::kElementwise;
  return OpClass::kUnknown;
}

OpClass classify_node(const graph::Graph& graph, const graph::Node& node) {
  if (!node.domain.empty() && node.domain != "ai.onnx") return OpClass::kUnknown;
  if (node.has_subgraph) return OpClass::kUnknown;
  const OpClass by_type = classify_op_type(node.op_type);
  if (by_type == OpClass::kFree || by_type == OpClass::kUnknown) return by_type;
  if (by_type == OpClass::kConv && node.op_type == "Conv" && node.attr_int("group", 1) > 1 && node.inputs.size() > 1 &&
      node.inputs[1] != graph::kNoTensor) {
    const graph::Tensor& w = graph.tensor(node.inputs[1]);  // W[M, C/group, k...]
    if (w.shape_known && w.shape.size() >= 2) return w.shape[1] == 1 ? OpClass::kDepthwiseConv : OpClass::kGroupedConv;
  }
  if (by_type == OpClass::kGemm && node.op_type == "Einsum") {
    size_t operands = 0;
    for (graph::TensorId in : node.inputs) operands += in != graph::kNoTensor;
    if (operands < 2) return OpClass::kReduction;  // one operand: a transpose or a reduction
  }
  bool any_tensor = false;
  for (const auto* ids : {&node.inputs, &node.outputs}) {
    for (graph::TensorId id : *ids) {
      if (id == graph::kNoTensor) continue;
      if (!small_integer(graph.tensor(id))) return by_type;
      any_tensor = true;
    }
  }
  return any_tensor ? OpClass::kFree : by_type;
}

std::string_view op_class_name(OpClass op_class) {
  switch (op_class) {
    case OpClass::kGemm: return "gemm";
    case OpClass::kConv: return "conv";
    case OpClass::kDepthwiseConv: return "depthwise_conv";
    case OpClass::kGroupedConv: return "grouped_conv";
    case OpClass::kElementwise: return "elementwise";
    case OpClass::kReduction: return "reduction";
    case OpClass::kMovement: return "movement";
    case OpClass::kFree: return "free";
    case OpClass::kUnknown: return "unknown";
  }
  return "unknown";
}

}  // namespace perfcast::predict
