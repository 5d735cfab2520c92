// Batching and the message-passing modules of the graph predictors.
#include <limits>

#include "learn/gnn/gnn_internal.h"

namespace perfcast::learn::gnn::detail {

GraphTensors to_tensors(const GraphSample& s, const FeatureScaler& node, const FeatureScaler* stat) {
  GraphTensors t;
  std::vector<float> x;
  x.reserve(s.node_features.size());
  for (int64_t i = 0; i < s.num_nodes; ++i) node.apply(&s.node_features[i * s.node_feature_dim], x);
  t.x = torch::from_blob(x.data(), {s.num_nodes, s.node_feature_dim}, torch::kFloat32).clone();
  std::vector<int64_t> e(2 * s.edges.size());
  for (size_t k = 0; k < s.edges.size(); ++k) {
    e[k] = s.edges[k].first;
    e[s.edges.size() + k] = s.edges[k].second;
  }
  t.edges = torch::from_blob(e.data(), {2, static_cast<int64_t>(s.edges.size())}, torch::kInt64).clone();
  std::vector<float> st;
  if (stat) stat->apply(s.static_features.data(), st);
  t.stat = torch::from_blob(st.data(), {static_cast<int64_t>(st.size())}, torch::kFloat32).clone();
  return t;
}

namespace {

uint64_t graph_hash(const GraphSample& s) {
  uint64_t h = 1469598103934665603ull;
  auto mix = [&h](const void* data, size_t bytes) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < bytes; ++i) h = (h ^ p[i]) * 1099511628211ull;
  };
  mix(&s.num_nodes, sizeof s.num_nodes);
  mix(s.node_features.data(), s.node_features.size() * sizeof(float));
  mix(s.edges.data(), s.edges.size() * sizeof(s.edges[0]));
  return h;
}

}  // namespace

GraphInterner::Entry& GraphInterner::find(const GraphSample& s) {
  auto& bucket = entries_[graph_hash(s)];
  for (Entry& e : bucket)
    if (e.sample->num_nodes == s.num_nodes && e.sample->node_features == s.node_features && e.sample->edges == s.edges)
      return e;
  bucket.push_back({&s, to_tensors(s, node_, nullptr), torch::Tensor()});
  return bucket.back();
}

GraphTensors GraphInterner::graph(const GraphSample& s) {
  const Entry& e = find(s);
  GraphTensors t;
  t.x = e.tensors.x;
  t.edges = e.tensors.edges;
  return t;
}

torch::Tensor& GraphInterner::extra_slot(const GraphSample& s) { return find(s).extra; }

GraphBatch collate(const std::vector<const GraphTensors*>& rows) {
  GraphBatch b;
  std::vector<torch::Tensor> xs, es, stats, extras, node_graph;
  std::vector<float> counts, ys;
  std::vector<int64_t> offsets, row_graph;
  std::unordered_map<const void*, int64_t> index;
  int64_t offset = 0;
  for (const GraphTensors* row : rows) {
    const GraphTensors& t = *row;
    auto [it, fresh] = index.emplace(t.x.data_ptr(), static_cast<int64_t>(index.size()));
    row_graph.push_back(it->second);
    stats.push_back(t.stat);
    if (t.extra.defined()) extras.push_back(t.extra);
    ys.push_back(t.y);
    if (!fresh) continue;
    const int64_t n = t.x.size(0);
    xs.push_back(t.x);
    es.push_back(t.edges + offset);
    node_graph.push_back(torch::full({n}, it->second, torch::kInt64));
    counts.push_back(static_cast<float>(n));
    offsets.push_back(offset);
    offset += n;
  }
  b.num_graphs = static_cast<int64_t>(xs.size());
  b.row_graph = torch::tensor(row_graph, torch::kInt64);
  b.x = torch::cat(xs, 0);
  b.edges = torch::cat(es, 1);
  b.src = torch::cat({b.edges[0], b.edges[1]});
  b.dst = torch::cat({b.edges[1], b.edges[0]});
  auto deg = torch::zeros({offset}, torch::kFloat32).index_add_(0, b.dst, torch::ones({b.dst.size(0)}));
  b.inv_deg = (1.0 / deg.clamp_min(1.0)).unsqueeze(1);
  // Sparse [N, N] matrices: summing (and averaging) messages with one kernel instead of index_add_.
  const torch::Tensor pairs = torch::stack({b.dst, b.src});
  b.adj_sum = torch::sparse_coo_tensor(pairs, torch::ones({b.dst.size(0)}), {offset, offset}).coalesce();
  b.adj_mean = torch::sparse_coo_tensor(pairs, b.inv_deg.squeeze(1).index_select(0, b.dst), {offset, offset}).coalesce();
  b.node_graph = torch::cat(node_graph);
  b.graph_nodes = torch::tensor(counts).unsqueeze(1);
  b.graph_offset = torch::tensor(offsets, torch::kInt64);
  b.stat = torch::stack(stats);
  if (!extras.empty()) b.extra = torch::stack(extras);
  b.y = torch::tensor(ys);
  return b;
}

torch::Tensor neighbour_sum(const torch::Tensor& h, const GraphBatch& b) { return torch::mm(b.adj_sum, h); }

torch::Tensor mean_max_readout(const torch::Tensor& h, const GraphBatch& b) {
  const int64_t width = h.size(1);
  auto sum = torch::zeros({b.num_graphs, width}, h.options()).index_add_(0, b.node_graph, h);
  auto index = b.node_graph.unsqueeze(1).expand({h.size(0), width});
  auto max = torch::full({b.num_graphs, width}, -std::numeric_limits<float>::infinity(), h.options())
                 .scatter_reduce(0, index, h, "amax", /*include_self=*/true);
  return torch::cat({sum / b.graph_nodes, max}, 1);
}

SageLayerImpl::SageLayerImpl(int64_t in, int64_t out) {
  self = register_module("self", torch::nn::Linear(in, out));
  neigh = register_module("neigh", torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(false)));
}

torch::Tensor SageLayerImpl::forward(const torch::Tensor& h, const GraphBatch& b) {
  return self(h) + neigh(torch::mm(b.adj_mean, h));
}

GinLayerImpl::GinLayerImpl(int64_t in, int64_t out) {
  l1 = register_module("l1", torch::nn::Linear(in, out));
  l2 = register_module("l2", torch::nn::Linear(out, out));
  eps = register_parameter("eps", torch::zeros({1}));
}

torch::Tensor GinLayerImpl::forward(const torch::Tensor& h, const GraphBatch& b) {
  return l2(torch::relu(l1((1 + eps) * h + neighbour_sum(h, b))));
}

SageEncoderImpl::SageEncoderImpl(int64_t in, int64_t hidden, int64_t out, int n) {
  for (int i = 0; i < n; ++i) {
    const int64_t a = i == 0 ? in : hidden;
    const int64_t z = i == n - 1 ? out : hidden;
    layers.push_back(register_module("sage" + std::to_string(i), SageLayer(a, z)));
  }
}

torch::Tensor SageEncoderImpl::forward(const GraphBatch& b) {
  torch::Tensor h = b.x;
  for (size_t i = 0; i < layers.size(); ++i) {
    h = layers[i]->forward(h, b);
    if (i + 1 < layers.size()) h = torch::relu(h);
  }
  return h;
}

RegressorImpl::RegressorImpl(const RegressorConfig& c) : config(c) {
  for (int64_t i = 0; i < c.layers; ++i) {
    const int64_t in = i == 0 ? c.node_dim : c.hidden;
    if (c.kind == GnnKind::kGin)
      gin.push_back(register_module("gin" + std::to_string(i), GinLayer(in, c.hidden)));
    else
      sage.push_back(register_module("sage" + std::to_string(i), SageLayer(in, c.hidden)));
  }
  const int64_t width = 2 * c.hidden + c.static_dim + c.extra_dim;
  head = register_module("head", torch::nn::Sequential(torch::nn::Linear(width, c.mlp_hidden), torch::nn::ReLU(),
                                                       torch::nn::Linear(c.mlp_hidden, c.mlp_hidden),
                                                       torch::nn::ReLU(), torch::nn::Linear(c.mlp_hidden, 1)));
}

torch::Tensor RegressorImpl::forward(const GraphBatch& b) {
  torch::Tensor h = b.x;
  for (auto& layer : sage) h = torch::relu(layer->forward(h, b));
  for (auto& layer : gin) h = torch::relu(layer->forward(h, b));
  std::vector<torch::Tensor> parts{mean_max_readout(h, b).index_select(0, b.row_graph)};
  if (config.static_dim > 0) parts.push_back(b.stat);
  if (config.extra_dim > 0) parts.push_back(b.extra);
  return head->forward(torch::cat(parts, 1)).squeeze(1);
}

}  // namespace perfcast::learn::gnn::detail
