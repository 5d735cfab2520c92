#include "predict/saved_activations.h"

#include <set>
#include <string>
#include <unordered_set>

namespace perfcast::predict {
namespace {

enum class Keeps { kInputs, kFirstInput, kOutputs, kNothing, kMaxPool, kDropout };

Keeps what_is_kept(const std::string& op) {
  static const std::unordered_set<std::string> inputs = {
      "Conv", "ConvTranspose", "Gemm", "MatMul", "Einsum", "Mul", "Div", "Pow", "Gelu", "Erf", "HardSwish",
      "Mish", "Softplus", "Elu", "Selu", "LeakyRelu", "PRelu", "Clip", "Sqrt", "Exp", "Log", "ReduceMean",
      "ReduceSum", "ReduceL2", "Where", "Cos", "Sin"};
  static const std::unordered_set<std::string> first_input = {
      "BatchNormalization", "LayerNormalization", "InstanceNormalization", "GroupNormalization",
      "SimplifiedLayerNormalization", "RMSNormalization"};
  static const std::unordered_set<std::string> outputs = {"Relu", "Sigmoid", "Tanh", "Softmax", "LogSoftmax",
                                                           "HardSigmoid"};
  static const std::unordered_set<std::string> nothing = {
      "Add", "Sub", "Neg", "Concat", "Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze", "Identity",
      "Split", "Slice", "Gather", "Shape", "Constant", "ConstantOfShape", "Cast", "Expand", "Pad",
      "AveragePool", "GlobalAveragePool", "Resize", "Upsample", "Range", "Tile", "Equal", "Less", "Greater",
      "Not", "And", "Or", "ReduceMax", "ArgMax", "TopK", "Sum"};
  if (inputs.count(op)) return Keeps::kInputs;
  if (first_input.count(op)) return Keeps::kFirstInput;
  if (outputs.count(op)) return Keeps::kOutputs;
  if (nothing.count(op)) return Keeps::kNothing;
  if (op == "MaxPool" || op == "GlobalMaxPool") return Keeps::kMaxPool;
  if (op == "Dropout") return Keeps::kDropout;
  return Keeps::kInputs;
}

bool is_activation(const graph::Tensor& t) {
  return (t.kind == graph::TensorKind::kActivation || t.kind == graph::TensorKind::kInput) &&
         graph::is_floating(t.dtype) && t.size_bytes() > 0;
}

}  // namespace

SavedActivations saved_for_backward(const graph::Graph& graph) {
  std::set<graph::TensorId> kept;
  SavedActivations out;
  auto keep = [&](graph::TensorId id) {
    if (id == graph::kNoTensor || !is_activation(graph.tensor(id))) return;
    if (kept.insert(id).second) out.float_bytes += graph.tensor(id).size_bytes();
  };
  for (const graph::Node& node : graph.nodes) {
    switch (what_is_kept(node.op_type)) {
      case Keeps::kInputs:
        for (graph::TensorId id : node.inputs) keep(id);
        break;
      case Keeps::kFirstInput:
        if (!node.inputs.empty()) keep(node.inputs.front());
        break;
      case Keeps::kOutputs:
        for (graph::TensorId id : node.outputs) keep(id);
        break;
      case Keeps::kMaxPool:
        if (!node.inputs.empty()) keep(node.inputs.front());
        for (graph::TensorId id : node.outputs) {
          if (id != graph::kNoTensor && graph.tensor(id).element_count() > 0)
            out.fixed_bytes += graph.tensor(id).element_count() * 8;  // int64 argmax indices
        }
        break;
      case Keeps::kDropout:
        for (graph::TensorId id : node.outputs) {
          if (id != graph::kNoTensor && graph.tensor(id).element_count() > 0) {
            out.fixed_bytes += graph.tensor(id).element_count();  // bool mask
            break;
          }
        }
        break;
      case Keeps::kNothing:
        break;
    }
  }
  return out;
}

}  // namespace perfcast::predict
