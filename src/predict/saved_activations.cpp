#include "predict/saved_activations.h"

#include <algorithm>
#include <string>
#include <unordered_set>
#include <vector>

#include "graph/dtype.h"
#include "graph/op_cost.h"

namespace perfcast::predict {
namespace {

using graph::kNoTensor;
using graph::TensorId;

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

// Calls keep(id) for every activation the node keeps and returns the bytes of its indices/masks.
template <typename Keep>
int64_t visit_kept(const graph::Graph& graph, const graph::Node& node, Keep keep) {
  auto keep_activation = [&](TensorId id) {
    if (id != kNoTensor && is_activation(graph.tensor(id))) keep(id);
  };
  int64_t fixed_bytes = 0;
  switch (what_is_kept(node.op_type)) {
    case Keeps::kInputs:
      for (TensorId id : node.inputs) keep_activation(id);
      break;
    case Keeps::kFirstInput:
      if (!node.inputs.empty()) keep_activation(node.inputs.front());
      break;
    case Keeps::kOutputs:
      for (TensorId id : node.outputs) keep_activation(id);
      break;
    case Keeps::kMaxPool:
      if (!node.inputs.empty()) keep_activation(node.inputs.front());
      for (TensorId id : node.outputs) {
        if (id != kNoTensor && graph.tensor(id).element_count() > 0)
          fixed_bytes += graph.tensor(id).element_count() * 8;  // int64 argmax indices
      }
      break;
    case Keeps::kDropout:
      for (TensorId id : node.outputs) {
        if (id != kNoTensor && graph.tensor(id).element_count() > 0) {
          fixed_bytes += graph.tensor(id).element_count();  // bool mask
          break;
        }
      }
      break;
    case Keeps::kNothing:
      break;
  }
  return fixed_bytes;
}

// The buffer each tensor lives in: itself, or the buffer a view operator re-labels.
std::vector<TensorId> buffer_roots(const graph::Graph& graph, const std::vector<graph::NodeId>& order) {
  std::vector<TensorId> root(graph.tensors.size());
  for (size_t t = 0; t < root.size(); ++t) root[t] = static_cast<TensorId>(t);
  for (graph::NodeId id : order) {
    const graph::Node& node = graph.node(id);
    if (!graph::is_view_op(node.op_type) || node.inputs.empty() || node.inputs[0] == kNoTensor) continue;
    if (!is_activation(graph.tensor(node.inputs[0]))) continue;
    for (TensorId out : node.outputs)
      if (out != kNoTensor) root[static_cast<size_t>(out)] = root[static_cast<size_t>(node.inputs[0])];
  }
  return root;
}

}  // namespace

SavedActivations saved_for_backward(const graph::Graph& graph) {
  const std::vector<TensorId> root = buffer_roots(graph, graph.topological_order());
  std::vector<bool> kept(graph.tensors.size(), false);
  SavedActivations out;
  for (const graph::Node& node : graph.nodes) {
    out.fixed_bytes += visit_kept(graph, node, [&](TensorId id) {
      const auto r = static_cast<size_t>(root[static_cast<size_t>(id)]);
      if (kept[r]) return;
      kept[r] = true;
      out.float_bytes += graph.tensors[r].size_bytes();
    });
  }
  return out;
}

TrainingActivationPeak training_activation_peak(const graph::Graph& graph) {
  const std::vector<graph::NodeId> order = graph.topological_order();
  const size_t steps = order.size();
  std::vector<size_t> position(graph.nodes.size(), 0);
  for (size_t i = 0; i < steps; ++i) position[static_cast<size_t>(order[i])] = i;
  const std::vector<TensorId> root = buffer_roots(graph, order);
  const size_t tensor_count = graph.tensors.size();

  // First keeper of each buffer, saved bytes added per step, and new weight-gradient bytes per step.
  constexpr size_t kNever = static_cast<size_t>(-1);
  std::vector<size_t> first_keeper(tensor_count, kNever);
  std::vector<int64_t> saved_at(steps, 0), weight_gradient_at(steps, 0);
  TrainingActivationPeak peak;
  for (size_t i = 0; i < steps; ++i) {
    const graph::Node& node = graph.node(order[i]);
    peak.fixed_bytes += visit_kept(graph, node, [&](TensorId id) {
      const auto r = static_cast<size_t>(root[static_cast<size_t>(id)]);
      if (first_keeper[r] != kNever) return;
      first_keeper[r] = i;
      saved_at[i] += graph.tensors[r].size_bytes();
    });
    if (node.op_type == "Identity") continue;
    for (TensorId id : node.inputs) {
      if (id == kNoTensor) continue;
      const graph::Tensor& t = graph.tensor(id);
      if (t.kind == graph::TensorKind::kParameter && graph::is_floating(t.dtype) && t.size_bytes() > 0)
        weight_gradient_at[i] += t.element_count() * 4;
    }
  }

  // Live range of each activation buffer: [producer, last reader]; graph inputs from step 0, graph
  // outputs to the last step. Difference arrays of bytes alive unsaved (forward) and of gradients.
  std::vector<size_t> birth(tensor_count, kNever), death(tensor_count, 0);
  for (size_t t = 0; t < tensor_count; ++t) {
    const graph::Tensor& tensor = graph.tensors[t];
    if (!is_activation(tensor)) continue;
    const auto r = static_cast<size_t>(root[t]);
    const size_t born = tensor.producer == graph::kNoNode ? 0 : position[static_cast<size_t>(tensor.producer)];
    birth[r] = std::min(birth[r], born);
    death[r] = std::max(death[r], born);
    for (graph::NodeId consumer : tensor.consumers) death[r] = std::max(death[r], position[static_cast<size_t>(consumer)]);
  }
  for (TensorId out : graph.outputs) {
    if (out != kNoTensor) death[static_cast<size_t>(root[static_cast<size_t>(out)])] = steps == 0 ? 0 : steps - 1;
  }
  std::vector<int64_t> unsaved_delta(steps + 1, 0), gradient_delta(steps + 1, 0);
  for (size_t r = 0; r < tensor_count; ++r) {
    if (birth[r] == kNever || root[r] != static_cast<TensorId>(r) || steps == 0) continue;
    const int64_t bytes = graph.tensors[r].size_bytes();
    const size_t unsaved_end = first_keeper[r] == kNever ? death[r] + 1 : std::min(death[r] + 1, first_keeper[r]);
    if (birth[r] < unsaved_end) {
      unsaved_delta[birth[r]] += bytes;
      unsaved_delta[unsaved_end] -= bytes;
    }
    if (graph.tensors[r].kind != graph::TensorKind::kInput) {
      gradient_delta[birth[r]] += bytes;
      gradient_delta[death[r] + 1] -= bytes;
    }
  }

  int64_t saved = 0, unsaved = 0, gradients = 0, best = -1;
  for (size_t i = 0; i < steps; ++i) {
    saved += saved_at[i];
    unsaved += unsaved_delta[i];
    gradients += gradient_delta[i];
    const int64_t forward = saved + unsaved;
    const int64_t backward = saved + gradients;
    const int64_t step_peak = std::max(forward, backward + weight_gradient_at[i]);
    if (step_peak > best) {
      best = step_peak;
      peak.float_bytes = forward > backward + weight_gradient_at[i] ? forward : backward;
      peak.weight_gradient_bytes = forward > backward + weight_gradient_at[i] ? 0 : weight_gradient_at[i];
    }
  }
  peak.saved_float_bytes = saved;
  return peak;
}

}  // namespace perfcast::predict
