#pragma once
// libtorch internals of the graph predictors: one sample as tensors, block-diagonal batches, the
// GraphSAGE and GIN layers, the regressor and the autoencoder's state. Included only by the
// src/learn/gnn/*.cpp files that need libtorch (each such file costs ~50 s to compile).
#include <torch/nn.h>
#include <torch/optim.h>
#include <torch/serialize.h>

#include <memory>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "learn/gnn/feature_scaler.h"
#include "learn/gnn/gnn_predictor.h"
#include "learn/gnn/graph_autoencoder.h"

namespace perfcast::learn::gnn::detail {

// One sample, standardised once.
struct GraphTensors {
  torch::Tensor x;      // [n, F] float
  torch::Tensor edges;  // [2, E] int64, producer -> consumer
  torch::Tensor stat;   // [S] float (S may be 0)
  torch::Tensor extra;  // [G] frozen autoencoder embedding, or undefined
  float y = 0;          // standardised log target (training only)
};
// `stat` may be null (no static features used, e.g. the autoencoder).
GraphTensors to_tensors(const GraphSample& sample, const FeatureScaler& node, const FeatureScaler* stat);

// Rows that share a graph (one architecture measured on several devices) share its x and edges
// tensors, so a batch runs message passing once per distinct graph.
class GraphInterner {
 public:
  explicit GraphInterner(const FeatureScaler& node) : node_(node) {}
  // x and edges of the sample's graph (shared with earlier equal graphs); stat, extra, y unset.
  GraphTensors graph(const GraphSample& sample);
  // Cached per distinct graph: the frozen autoencoder embedding.
  torch::Tensor& extra_slot(const GraphSample& sample);

 private:
  struct Entry {
    const GraphSample* sample;
    GraphTensors tensors;
    torch::Tensor extra;
  };
  Entry& find(const GraphSample& sample);
  const FeatureScaler& node_;
  std::unordered_map<uint64_t, std::vector<Entry>> entries_;
};

// Several rows as one disconnected graph of their distinct graphs (rows sharing x share a graph).
struct GraphBatch {
  int64_t num_graphs = 0;     // distinct graphs
  torch::Tensor row_graph;    // [R] graph of each row
  torch::Tensor x;            // [N, F]
  torch::Tensor src, dst;     // [M] messages src -> dst, both directions of every edge
  torch::Tensor inv_deg;      // [N, 1] 1 / max(1, neighbours)
  torch::Tensor adj_sum;      // sparse [N, N]: 1 per message dst <- src
  torch::Tensor adj_mean;     // sparse [N, N]: 1 / deg(dst) per message
  torch::Tensor node_graph;   // [N] graph index of each node
  torch::Tensor graph_nodes;  // [B, 1] node count, float
  torch::Tensor graph_offset; // [B] first node of each graph
  torch::Tensor edges;        // [2, E] producer -> consumer, batch node indices
  torch::Tensor stat;         // [R, S]
  torch::Tensor extra;        // [R, G] or undefined
  torch::Tensor y;            // [R]
};
GraphBatch collate(const std::vector<const GraphTensors*>& rows);

// Sum over the neighbours (both edge directions) of each node.
torch::Tensor neighbour_sum(const torch::Tensor& h, const GraphBatch& b);
// [B, 2H]: mean and max of the node states of each graph.
torch::Tensor mean_max_readout(const torch::Tensor& h, const GraphBatch& b);

// h' = W_self h + W_neigh mean(neighbours)
struct SageLayerImpl : torch::nn::Module {
  SageLayerImpl(int64_t in, int64_t out);
  torch::Tensor forward(const torch::Tensor& h, const GraphBatch& b);
  torch::nn::Linear self{nullptr}, neigh{nullptr};
};
TORCH_MODULE(SageLayer);

// h' = MLP((1 + eps) h + sum(neighbours)), eps learned
struct GinLayerImpl : torch::nn::Module {
  GinLayerImpl(int64_t in, int64_t out);
  torch::Tensor forward(const torch::Tensor& h, const GraphBatch& b);
  torch::nn::Linear l1{nullptr}, l2{nullptr};
  torch::Tensor eps;
};
TORCH_MODULE(GinLayer);

// SAGE layers in -> hidden ... -> out, ReLU between layers, none after the last.
struct SageEncoderImpl : torch::nn::Module {
  SageEncoderImpl(int64_t in, int64_t hidden, int64_t out, int layers);
  torch::Tensor forward(const GraphBatch& b);
  std::vector<SageLayer> layers;
};
TORCH_MODULE(SageEncoder);

struct RegressorConfig {
  GnnKind kind = GnnKind::kSage;
  int64_t node_dim = 0, static_dim = 0, extra_dim = 0;
  int64_t hidden = 64, layers = 3, mlp_hidden = 64;
};

// Message passing -> mean+max readout -> [readout, static, extra] -> MLP -> one value per graph.
struct RegressorImpl : torch::nn::Module {
  explicit RegressorImpl(const RegressorConfig& config);
  torch::Tensor forward(const GraphBatch& b);
  RegressorConfig config;
  std::vector<SageLayer> sage;
  std::vector<GinLayer> gin;
  torch::nn::Sequential head{nullptr};
};
TORCH_MODULE(Regressor);

}  // namespace perfcast::learn::gnn::detail

namespace perfcast::learn::gnn {

struct GraphAutoencoder::Impl {
  GaeOptions options;
  FeatureScaler scaler;
  detail::SageEncoder encoder{nullptr};
  std::vector<double> loss;
  // Frozen embedding, [2 * embedding].
  torch::Tensor embed_tensor(const GraphSample& sample) const;
};

struct GnnPredictor::Impl {
  GnnKind kind = GnnKind::kSage;
  GnnOptions options;
  detail::RegressorConfig config;
  FeatureScaler node_scaler, static_scaler;
  bool residual = false;
  double y_mean = 0, y_std = 1;  // of the log target
  detail::Regressor net{nullptr};
  std::shared_ptr<GraphAutoencoder::Impl> gae;  // gae-sage only
  nlohmann::json extra = nlohmann::json::object();

  // Validated, standardised tensors of one sample (with the frozen embedding for gae-sage).
  detail::GraphTensors tensors(const GraphSample& sample, bool need_target, detail::GraphInterner& graphs) const;
  // The network's outputs turned back into the target's unit.
  std::vector<double> predict(const std::vector<const GraphSample*>& samples, int batch_graphs) const;
  nlohmann::json meta_json() const;
};

}  // namespace perfcast::learn::gnn
