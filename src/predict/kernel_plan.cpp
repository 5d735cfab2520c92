#include "predict/kernel_plan.h"

#include <algorithm>
#include <fmt/format.h>

#include "common/error.h"
#include "graph/dtype.h"

namespace perfcast::predict {
namespace {

using graph::Graph;
using graph::kNoNode;
using graph::kNoTensor;
using graph::NodeId;
using graph::TensorId;

bool is_scalar(const graph::Tensor& t) { return t.shape_known && t.element_count() >= 0 && t.element_count() <= 1; }

bool is_graph_output(const Graph& g, TensorId id) {
  return std::find(g.outputs.begin(), g.outputs.end(), id) != g.outputs.end();
}

// The single non-scalar input of an elementwise node, or kNoTensor.
TensorId chain_root(const Graph& g, const graph::Node& n) {
  TensorId root = kNoTensor;
  for (TensorId in : n.inputs) {
    if (in == kNoTensor || is_scalar(g.tensor(in))) continue;
    if (root != kNoTensor && in != root) return kNoTensor;
    root = in;
  }
  return root;
}

// Float bytes (at 4 bytes per element) and other bytes of a tensor list, as exported sizes.
struct Split {
  double exported = 0, float4 = 0, other = 0;
};
Split split_bytes(const Graph& g, const std::vector<TensorId>& ids) {
  Split s;
  for (TensorId id : ids) {
    if (id == kNoTensor) continue;
    const graph::Tensor& t = g.tensor(id);
    const int64_t size = t.size_bytes();
    if (size < 0) continue;
    s.exported += static_cast<double>(size);
    if (graph::is_floating(t.dtype)) s.float4 += 4.0 * static_cast<double>(t.element_count());
    else s.other += static_cast<double>(size);
  }
  return s;
}

// Re-expresses `bytes` (what the cost rule counted for these tensors) as float + other bytes.
void add_bytes(KernelWork& w, double bytes, const Split& s) {
  if (s.exported <= 0 || bytes <= 0) {
    w.float_bytes += std::max(0.0, bytes);
    return;
  }
  const double ratio = bytes / s.exported;
  w.float_bytes += ratio * s.float4;
  w.other_bytes += ratio * s.other;
}

}  // namespace

KernelPlan plan_kernels(const Graph& graph) {
  const size_t n = graph.nodes.size();
  KernelPlan plan;
  plan.op_class.resize(n);
  plan.kernel_of.assign(n, kNoNode);
  plan.chain.resize(n);
  for (size_t i = 0; i < n; ++i) plan.op_class[i] = classify_node(graph, graph.nodes[i]);
  for (NodeId head : graph.topological_order()) {
    const size_t h = static_cast<size_t>(head);
    if (plan.op_class[h] == OpClass::kFree || plan.kernel_of[h] != kNoNode) continue;
    plan.kernel_of[h] = head;
    plan.chain[h].push_back(head);
    if (plan.op_class[h] != OpClass::kElementwise) continue;
    const TensorId root = chain_root(graph, graph.nodes[h]);
    if (root == kNoTensor) continue;
    NodeId current = head;
    while (true) {
      const graph::Node& cur = graph.node(current);
      if (cur.outputs.size() != 1 || cur.outputs[0] == kNoTensor) break;
      const TensorId out = cur.outputs[0];
      const graph::Tensor& t = graph.tensor(out);
      if (t.consumers.size() != 1 || is_graph_output(graph, out)) break;
      const NodeId next = t.consumers[0];
      const size_t x = static_cast<size_t>(next);
      if (plan.op_class[x] != OpClass::kElementwise || plan.kernel_of[x] != kNoNode) break;
      bool fits = true;
      for (TensorId in : graph.node(next).inputs) {
        if (in == kNoTensor || in == out || in == root || is_scalar(graph.tensor(in))) continue;
        fits = false;
      }
      if (!fits) break;
      plan.kernel_of[x] = head;
      plan.chain[h].push_back(next);
      current = next;
    }
  }
  return plan;
}

std::vector<KernelWork> kernel_work(const Graph& graph, const graph::GraphSummary& summary, const KernelPlan& plan) {
  if (summary.node_costs.size() != graph.nodes.size() || plan.kernel_of.size() != graph.nodes.size()) {
    throw Error(fmt::format("the graph summary has {} node costs for {} nodes: summarize() this graph first",
                            summary.node_costs.size(), graph.nodes.size()));
  }
  std::vector<KernelWork> out;
  for (size_t h = 0; h < graph.nodes.size(); ++h) {
    if (plan.kernel_of[h] != static_cast<NodeId>(h)) continue;
    const auto& chain = plan.chain[h];
    KernelWork w;
    w.head = static_cast<NodeId>(h);
    w.op_class = plan.op_class[h];
    w.nodes = static_cast<int>(chain.size());
    w.costed = w.op_class != OpClass::kUnknown;
    for (NodeId id : chain) {
      if (summary.node_costs[static_cast<size_t>(id)].status != graph::CostStatus::kCosted) w.costed = false;
    }
    if (!w.costed) {
      out.push_back(w);
      continue;
    }
    for (NodeId id : chain) w.flops += summary.node_costs[static_cast<size_t>(id)].flops;
    const graph::Node& first = graph.nodes[h];
    const graph::Node& last = graph.node(chain.back());
    const auto& first_cost = summary.node_costs[h];
    const auto& last_cost = summary.node_costs[static_cast<size_t>(chain.back())];
    add_bytes(w, static_cast<double>(first_cost.bytes_read), split_bytes(graph, first.inputs));
    add_bytes(w, static_cast<double>(last_cost.bytes_written), split_bytes(graph, last.outputs));
    if (w.op_class == OpClass::kGemm && !first.outputs.empty() && first.outputs[0] != graph::kNoTensor) {
      const graph::Tensor& y = graph.tensor(first.outputs[0]);
      if (y.shape_known && y.shape.size() >= 2) {
        double batch = 1;
        for (size_t i = 0; i + 2 < y.shape.size(); ++i) batch *= static_cast<double>(y.shape[i]);
        w.gemm_batch = batch;
        w.gemm_rows = static_cast<double>(y.shape[y.shape.size() - 2]);
        w.gemm_cols = static_cast<double>(y.shape.back());
      }
    }
    out.push_back(w);
  }
  return out;
}

}  // namespace perfcast::predict
