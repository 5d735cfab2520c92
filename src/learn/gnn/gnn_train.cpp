// train_gnn: standardisation, optional autoencoder pre-training, mini-batch Adam with early stopping.
#include <chrono>
#include <cmath>
#include <iostream>
#include <numeric>
#include <random>
#include <unordered_map>

#include <fmt/format.h>

#include "common/error.h"
#include "learn/gnn/gnn_internal.h"
#include "learn/gnn/sample_check.h"

namespace perfcast::learn::gnn {
namespace {

using detail::GraphTensors;

double mean_loss(detail::RegressorImpl& net, const std::vector<GraphTensors>& data, int batch) {
  torch::NoGradGuard no_grad;
  double sum = 0;
  for (size_t start = 0; start < data.size(); start += static_cast<size_t>(batch)) {
    std::vector<const GraphTensors*> part;
    for (size_t k = start; k < std::min(data.size(), start + static_cast<size_t>(batch)); ++k) part.push_back(&data[k]);
    const detail::GraphBatch b = detail::collate(part);
    sum += torch::mse_loss(net.forward(b), b.y, torch::Reduction::Sum).item<double>();
  }
  return sum / static_cast<double>(data.size());
}

}  // namespace

GnnTrainResult train_gnn(GnnKind kind, const std::vector<GraphSample>& train, const std::vector<GraphSample>& val,
                         const GnnOptions& o, const std::vector<GraphSample>& unlabelled) {
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  if (train.empty()) throw Error("graph predictor: no training samples");
  if (o.hidden < 1 || o.layers < 1 || o.mlp_hidden < 1 || o.batch_graphs < 1 || o.max_epochs < 1)
    throw Error("graph predictor: hidden, layers, mlp_hidden, batch_graphs and max_epochs must be >= 1");
  const int64_t node_dim = train.front().node_feature_dim;
  const int64_t static_dim = static_cast<int64_t>(train.front().static_features.size());
  if (!o.node_feature_names.empty() && static_cast<int64_t>(o.node_feature_names.size()) != node_dim)
    throw Error(fmt::format("graph predictor: {} node feature names for {} node features",
                            o.node_feature_names.size(), node_dim));
  if (!o.static_feature_names.empty() && static_cast<int64_t>(o.static_feature_names.size()) != static_dim)
    throw Error(fmt::format("graph predictor: {} static feature names for {} static features",
                            o.static_feature_names.size(), static_dim));
  for (const GraphSample& s : train) check_sample(s, node_dim, static_dim, true);
  for (const GraphSample& s : val) check_sample(s, node_dim, static_dim, true);

  torch::manual_seed(o.seed);
  torch::set_num_threads(std::max(1, o.threads));
  auto impl = std::make_unique<GnnPredictor::Impl>();
  impl->kind = kind;
  impl->options = o;
  ScalerFit node_fit(static_cast<size_t>(node_dim), o.log_squash), static_fit(static_cast<size_t>(static_dim), o.log_squash);
  bool all_priors = true;
  for (const GraphSample& s : train) {
    node_fit.add_rows(s.node_features.data(), static_cast<size_t>(s.num_nodes));
    static_fit.add_rows(s.static_features.data(), 1);
    all_priors = all_priors && std::isfinite(s.prior) && s.prior > 0;
  }
  impl->node_scaler = node_fit.finish();
  impl->static_scaler = static_fit.finish();
  impl->residual = all_priors;
  double sum = 0, sq = 0;
  for (const GraphSample& s : train) {
    const double y = std::log(s.target) - (all_priors ? std::log(s.prior) : 0.0);
    sum += y;
    sq += y * y;
  }
  const double n = static_cast<double>(train.size());
  impl->y_mean = sum / n;
  impl->y_std = std::max(1e-6, std::sqrt(std::max(0.0, sq / n - impl->y_mean * impl->y_mean)));

  GnnTrainResult result;
  detail::RegressorConfig& c = impl->config;
  c.kind = kind;
  c.node_dim = node_dim;
  c.static_dim = static_dim;
  c.hidden = o.hidden;
  c.layers = o.layers;
  c.mlp_hidden = o.mlp_hidden;
  if (kind == GnnKind::kGaeSage) {
    GaeOptions g = o.gae;
    g.seed = o.seed;
    g.threads = o.threads;
    const auto g0 = clock::now();
    const GraphAutoencoder gae = GraphAutoencoder::pretrain(unlabelled.empty() ? train : unlabelled, g);
    result.gae_seconds = std::chrono::duration<double>(clock::now() - g0).count();
    result.gae_loss = gae.loss_history();
    impl->gae = gae.impl();
    c.extra_dim = gae.embedding_dim();
    for (const auto& p : impl->gae->encoder->parameters()) p.set_requires_grad(false);
    torch::manual_seed(o.seed);
  }
  impl->net = detail::Regressor(c);

  detail::GraphInterner graphs(impl->node_scaler);
  std::vector<GraphTensors> train_t, val_t;
  train_t.reserve(train.size());
  for (const GraphSample& s : train) train_t.push_back(impl->tensors(s, true, graphs));
  for (const GraphSample& s : val) val_t.push_back(impl->tensors(s, true, graphs));
  // Steps draw distinct graphs with all their rows, so shared graphs are propagated once per step.
  std::vector<std::vector<size_t>> rows_of_graph;
  {
    std::unordered_map<const void*, size_t> index;
    for (size_t i = 0; i < train_t.size(); ++i) {
      auto [it, fresh] = index.emplace(train_t[i].x.data_ptr(), rows_of_graph.size());
      if (fresh) rows_of_graph.emplace_back();
      rows_of_graph[it->second].push_back(i);
    }
  }

  torch::optim::Adam optimiser(impl->net->parameters(),
                               torch::optim::AdamOptions(o.lr).weight_decay(o.weight_decay));
  std::vector<size_t> order(rows_of_graph.size());
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(o.seed);
  std::vector<torch::Tensor> best;
  double best_val = std::numeric_limits<double>::infinity();
  int since_best = 0;
  for (int epoch = 1; epoch <= o.max_epochs; ++epoch) {
    impl->net->train();
    std::shuffle(order.begin(), order.end(), rng);
    double loss_sum = 0;
    for (size_t start = 0; start < order.size(); start += static_cast<size_t>(o.batch_graphs)) {
      std::vector<const GraphTensors*> part;
      for (size_t k = start; k < std::min(order.size(), start + static_cast<size_t>(o.batch_graphs)); ++k)
        for (size_t row : rows_of_graph[order[k]]) part.push_back(&train_t[row]);
      const detail::GraphBatch b = detail::collate(part);
      const torch::Tensor loss = torch::mse_loss(impl->net->forward(b), b.y);
      optimiser.zero_grad();
      loss.backward();
      optimiser.step();
      loss_sum += loss.item<double>() * static_cast<double>(part.size());
    }
    result.train_loss.push_back(loss_sum / n);
    result.epochs_run = epoch;
    impl->net->eval();
    if (val_t.empty()) {
      result.best_epoch = epoch;
    } else {
      const double v = mean_loss(*impl->net, val_t, 128);
      result.val_loss.push_back(v);
      if (v < best_val) {
        best_val = v;
        result.best_epoch = epoch;
        since_best = 0;
        best.clear();
        for (const auto& p : impl->net->parameters()) best.push_back(p.detach().clone());
      } else if (++since_best >= o.patience) {
        break;
      }
    }
    if (o.verbose)
      std::cerr << fmt::format("epoch {:3d}  train {:.4f}  val {}\n", epoch, result.train_loss.back(),
                               val_t.empty() ? std::string("-") : fmt::format("{:.4f}", result.val_loss.back()));
  }
  if (!best.empty()) {
    torch::NoGradGuard no_grad;
    auto params = impl->net->parameters();
    for (size_t i = 0; i < params.size(); ++i) params[i].copy_(best[i]);
  }
  impl->net->eval();
  result.best_val_loss = val_t.empty() ? std::nan("") : best_val;
  result.train_seconds = std::chrono::duration<double>(clock::now() - t0).count();
  result.predictor = GnnPredictor(std::move(impl));
  return result;
}

}  // namespace perfcast::learn::gnn
