#include "graph/graph.h"

#include <fmt/format.h>

#include <deque>

#include "common/checked_math.h"
#include "common/error.h"

namespace perfcast::graph {

int64_t Tensor::element_count() const {
  if (!shape_known) return -1;
  int64_t count = 1;
  for (int64_t dim : shape) {
    if (dim < 0) return -1;
    count = checked_mul(count, dim, name);
  }
  return count;
}

int64_t Tensor::size_bytes() const {
  const int64_t count = element_count();
  if (count < 0) return -1;
  return checked_mul(count, dtype_size_bits(dtype), name) / 8;
}

int64_t Node::attr_int(const std::string& key, int64_t fallback) const {
  auto it = attributes.find(key);
  return (it != attributes.end() && it->second.i) ? *it->second.i : fallback;
}

std::vector<int64_t> Node::attr_ints(const std::string& key) const {
  auto it = attributes.find(key);
  return it != attributes.end() ? it->second.ints : std::vector<int64_t>{};
}

std::string Node::attr_string(const std::string& key, const std::string& fallback) const {
  auto it = attributes.find(key);
  return (it != attributes.end() && it->second.s) ? *it->second.s : fallback;
}

TensorId Graph::add_tensor(Tensor tensor) {
  const auto id = static_cast<TensorId>(tensors.size());
  tensor_by_name_.emplace(tensor.name, id);
  tensors.push_back(std::move(tensor));
  return id;
}

std::optional<TensorId> Graph::find_tensor(const std::string& tensor_name) const {
  auto it = tensor_by_name_.find(tensor_name);
  if (it == tensor_by_name_.end()) return std::nullopt;
  return it->second;
}

void Graph::link() {
  for (Tensor& t : tensors) {
    t.producer = kNoNode;
    t.consumers.clear();
  }
  for (size_t n = 0; n < nodes.size(); ++n) {
    const auto node_id = static_cast<NodeId>(n);
    for (TensorId out : nodes[n].outputs) {
      if (out == kNoTensor) continue;
      Tensor& t = tensor(out);
      if (t.producer != kNoNode) {
        throw Error(fmt::format("tensor '{}' is produced by two nodes ('{}' and '{}'); the graph is not valid SSA",
                                t.name, nodes[static_cast<size_t>(t.producer)].name, nodes[n].name));
      }
      t.producer = node_id;
    }
    for (TensorId in : nodes[n].inputs) {
      if (in == kNoTensor) continue;
      auto& consumers = tensor(in).consumers;
      if (consumers.empty() || consumers.back() != node_id) consumers.push_back(node_id);
    }
  }
}

std::vector<Edge> Graph::edges() const {
  std::vector<Edge> result;
  for (size_t n = 0; n < nodes.size(); ++n) {
    for (TensorId in : nodes[n].inputs) {
      if (in == kNoTensor) continue;
      const NodeId producer = tensor(in).producer;
      if (producer != kNoNode) result.push_back({producer, static_cast<NodeId>(n), in});
    }
  }
  return result;
}

std::vector<NodeId> Graph::topological_order() const {
  std::vector<int> pending_inputs(nodes.size(), 0);
  std::vector<std::vector<NodeId>> successors(nodes.size());
  for (const Edge& e : edges()) {
    ++pending_inputs[static_cast<size_t>(e.to)];
    successors[static_cast<size_t>(e.from)].push_back(e.to);
  }
  std::deque<NodeId> ready;
  for (size_t n = 0; n < nodes.size(); ++n)
    if (pending_inputs[n] == 0) ready.push_back(static_cast<NodeId>(n));

  std::vector<NodeId> order;
  order.reserve(nodes.size());
  while (!ready.empty()) {
    const NodeId n = ready.front();
    ready.pop_front();
    order.push_back(n);
    for (NodeId s : successors[static_cast<size_t>(n)])
      if (--pending_inputs[static_cast<size_t>(s)] == 0) ready.push_back(s);
  }
  if (order.size() != nodes.size()) {
    for (size_t n = 0; n < nodes.size(); ++n) {
      if (pending_inputs[n] > 0) {
        throw Error(fmt::format("the graph has a cycle: node '{}' ({}) depends on its own output; "
                                "ONNX graphs must be acyclic",
                                nodes[n].name, nodes[n].op_type));
      }
    }
  }
  return order;
}

}  // namespace perfcast::graph
