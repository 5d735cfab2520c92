// Graph autoencoder: pre-training, edge AUC and the frozen graph embedding.
#include <algorithm>
#include <numeric>
#include <random>
#include <set>

#include "common/error.h"
#include "learn/gnn/gnn_internal.h"
#include "learn/gnn/sample_check.h"

namespace perfcast::learn::gnn {
namespace {

using detail::GraphTensors;

std::shared_ptr<GraphAutoencoder::Impl> make_impl(const std::vector<GraphSample>& graphs, const GaeOptions& o) {
  if (graphs.empty()) throw Error("graph autoencoder: no graphs to pre-train on");
  if (o.hidden < 1 || o.embedding < 1 || o.layers < 1 || o.batch_graphs < 1)
    throw Error("graph autoencoder: hidden, embedding, layers and batch size must be >= 1");
  const int64_t dim = graphs.front().node_feature_dim;
  ScalerFit fit(static_cast<size_t>(std::max<int64_t>(dim, 0)), false);
  for (const GraphSample& g : graphs) {
    check_sample(g, dim, -1, false);
    fit.add_rows(g.node_features.data(), static_cast<size_t>(g.num_nodes));
  }
  auto impl = std::make_shared<GraphAutoencoder::Impl>();
  impl->options = o;
  impl->scaler = fit.finish();
  torch::manual_seed(o.seed);
  impl->encoder = detail::SageEncoder(dim, o.hidden, o.embedding, o.layers);
  return impl;
}

// Mann-Whitney AUC of positive against negative scores (ties count one half).
double auc(const std::vector<float>& pos, const std::vector<float>& neg) {
  if (pos.empty() || neg.empty()) throw Error("edge AUC needs graphs with edges and non-adjacent node pairs");
  std::vector<std::pair<float, int>> all;
  for (float v : pos) all.emplace_back(v, 1);
  for (float v : neg) all.emplace_back(v, 0);
  std::sort(all.begin(), all.end());
  double rank_sum = 0;
  for (size_t i = 0; i < all.size();) {
    size_t j = i;
    while (j < all.size() && all[j].first == all[i].first) ++j;
    const double mid = 0.5 * static_cast<double>(i + 1 + j);  // mean 1-based rank of the tie block
    for (size_t k = i; k < j; ++k)
      if (all[k].second == 1) rank_sum += mid;
    i = j;
  }
  const double np = static_cast<double>(pos.size()), nn = static_cast<double>(neg.size());
  return (rank_sum - np * (np + 1) / 2) / (np * nn);
}

// Scores of every undirected edge and as many random non-adjacent pairs, for embeddings z [n, d].
void score_graph(const GraphSample& g, const torch::Tensor& z, std::mt19937_64& rng, std::vector<float>& pos,
                 std::vector<float>& neg) {
  std::set<std::pair<int32_t, int32_t>> adjacent;
  for (auto [a, b] : g.edges) {
    if (a == b) continue;
    adjacent.insert({std::min(a, b), std::max(a, b)});
  }
  auto acc = z.accessor<float, 2>();
  auto dot = [&](int32_t a, int32_t b) {
    float s = 0;
    for (int64_t k = 0; k < z.size(1); ++k) s += acc[a][k] * acc[b][k];
    return s;
  };
  std::uniform_int_distribution<int32_t> node(0, static_cast<int32_t>(g.num_nodes - 1));
  for (const auto& [a, b] : adjacent) {
    pos.push_back(dot(a, b));
    for (int attempt = 0; attempt < 50; ++attempt) {
      const int32_t u = node(rng), v = node(rng);
      if (u == v || adjacent.count({std::min(u, v), std::max(u, v)})) continue;
      neg.push_back(dot(u, v));
      break;
    }
  }
}

}  // namespace

torch::Tensor GraphAutoencoder::Impl::embed_tensor(const GraphSample& sample) const {
  check_sample(sample, static_cast<int64_t>(scaler.dim()), -1, false);
  torch::NoGradGuard no_grad;
  const GraphTensors t = detail::to_tensors(sample, scaler, nullptr);
  const detail::GraphBatch b = detail::collate({&t});
  return detail::mean_max_readout(encoder.ptr()->forward(b), b).squeeze(0);
}

GraphAutoencoder::GraphAutoencoder(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

GraphAutoencoder GraphAutoencoder::untrained(const std::vector<GraphSample>& graphs, const GaeOptions& options) {
  return GraphAutoencoder(make_impl(graphs, options));
}

GraphAutoencoder GraphAutoencoder::pretrain(const std::vector<GraphSample>& graphs, const GaeOptions& o) {
  auto impl = make_impl(graphs, o);
  torch::set_num_threads(std::max(1, o.threads));
  std::vector<GraphTensors> tensors;
  tensors.reserve(graphs.size());
  for (const GraphSample& g : graphs) tensors.push_back(detail::to_tensors(g, impl->scaler, nullptr));
  torch::optim::Adam optimiser(impl->encoder->parameters(), torch::optim::AdamOptions(o.lr));
  std::vector<size_t> order(graphs.size());
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(o.seed);
  impl->encoder->train();
  for (int epoch = 0; epoch < o.epochs; ++epoch) {
    std::shuffle(order.begin(), order.end(), rng);
    double loss_sum = 0;
    int64_t steps = 0;
    for (size_t start = 0; start < order.size(); start += static_cast<size_t>(o.batch_graphs)) {
      std::vector<const GraphTensors*> part;
      for (size_t k = start; k < std::min(order.size(), start + static_cast<size_t>(o.batch_graphs)); ++k)
        part.push_back(&tensors[order[k]]);
      const detail::GraphBatch b = detail::collate(part);
      if (b.edges.size(1) == 0) continue;
      const torch::Tensor z = impl->encoder->forward(b);
      const torch::Tensor u = b.edges[0], v = b.edges[1];
      // Negatives: the edge's producer paired with a uniformly drawn node of its own graph.
      const torch::Tensor nu = u.repeat({o.negatives_per_edge});
      const torch::Tensor g = b.node_graph.index_select(0, nu);
      const torch::Tensor size = b.graph_nodes.squeeze(1).index_select(0, g);
      const torch::Tensor nv =
          b.graph_offset.index_select(0, g) +
          torch::minimum(torch::floor(torch::rand({nu.size(0)}) * size), size - 1).to(torch::kInt64);
      const torch::Tensor pos = (z.index_select(0, u) * z.index_select(0, v)).sum(1);
      const torch::Tensor neg = (z.index_select(0, nu) * z.index_select(0, nv)).sum(1);
      const torch::Tensor loss =
          torch::binary_cross_entropy_with_logits(torch::cat({pos, neg}),
                                                  torch::cat({torch::ones_like(pos), torch::zeros_like(neg)}));
      optimiser.zero_grad();
      loss.backward();
      optimiser.step();
      loss_sum += loss.item<double>();
      ++steps;
    }
    impl->loss.push_back(steps ? loss_sum / static_cast<double>(steps) : 0.0);
  }
  impl->encoder->eval();
  return GraphAutoencoder(impl);
}

const std::vector<double>& GraphAutoencoder::loss_history() const { return impl_->loss; }

int GraphAutoencoder::embedding_dim() const { return 2 * impl_->options.embedding; }

std::vector<float> GraphAutoencoder::embed(const GraphSample& sample) const {
  const torch::Tensor e = impl_->embed_tensor(sample).contiguous();
  return {e.data_ptr<float>(), e.data_ptr<float>() + e.numel()};
}

double GraphAutoencoder::edge_auc(const std::vector<GraphSample>& graphs, uint64_t seed) const {
  std::mt19937_64 rng(seed);
  std::vector<float> pos, neg;
  torch::NoGradGuard no_grad;
  for (const GraphSample& g : graphs) {
    check_sample(g, static_cast<int64_t>(impl_->scaler.dim()), -1, false);
    const GraphTensors t = detail::to_tensors(g, impl_->scaler, nullptr);
    const detail::GraphBatch b = detail::collate({&t});
    score_graph(g, impl_->encoder->forward(b).contiguous(), rng, pos, neg);
  }
  return auc(pos, neg);
}

double GraphAutoencoder::random_embedding_edge_auc(const std::vector<GraphSample>& graphs, int embedding,
                                                   uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal;
  std::vector<float> pos, neg;
  for (const GraphSample& g : graphs) {
    check_sample(g, -1, -1, false);
    torch::Tensor z = torch::empty({g.num_nodes, embedding});
    float* p = z.data_ptr<float>();
    for (int64_t i = 0; i < z.numel(); ++i) p[i] = normal(rng);
    score_graph(g, z, rng, pos, neg);
  }
  return auc(pos, neg);
}

}  // namespace perfcast::learn::gnn
