#include "graph/shape_fallback.h"

#include "graph/op_kinds.h"

namespace perfcast::graph {

std::optional<std::vector<int64_t>> broadcast_shapes(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  const size_t rank = std::max(a.size(), b.size());
  std::vector<int64_t> out(rank, 1);
  for (size_t i = 0; i < rank; ++i) {
    const int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    const int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1) return std::nullopt;
    out[i] = da == 1 ? db : da;
  }
  return out;
}

void infer_missing_shapes(Graph& graph, const std::vector<NodeId>& topological_order) {
  for (NodeId id : topological_order) {
    const Node& node = graph.node(id);
    if (node.outputs.empty() || node.outputs[0] == kNoTensor) continue;
    Tensor& out = graph.tensor(node.outputs[0]);
    if (out.shape_known) continue;

    std::vector<const Tensor*> known_inputs;
    bool all_inputs_known = true;
    for (TensorId in : node.inputs) {
      if (in == kNoTensor) continue;
      const Tensor& t = graph.tensor(in);
      all_inputs_known &= t.shape_known;
      known_inputs.push_back(&t);
    }
    if (known_inputs.empty() || !all_inputs_known) continue;

    std::optional<std::vector<int64_t>> shape;
    if (is_unary_elementwise(node.op_type)) {
      shape = known_inputs[0]->shape;
    } else if (is_binary_elementwise(node.op_type)) {
      shape = known_inputs[0]->shape;
      for (size_t i = 1; i < known_inputs.size() && shape; ++i) shape = broadcast_shapes(*shape, known_inputs[i]->shape);
    }
    if (!shape) continue;
    out.shape = *shape;
    out.shape_known = true;
    if (out.dtype == DType::kUnknown) out.dtype = known_inputs[0]->dtype;
  }
}

}  // namespace perfcast::graph
