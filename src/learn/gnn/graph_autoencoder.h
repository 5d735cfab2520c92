#pragma once
// Graph autoencoder (TraPPM's pre-training): a GraphSAGE encoder maps each node to an embedding,
// an inner-product decoder scores node pairs, trained with binary cross-entropy on the graph's
// edges against as many random node pairs of the same graph (negative sampling). Needs no labels.
// No libtorch in this header.
#include <memory>
#include <vector>

#include "learn/gnn/gnn_options.h"
#include "learn/graph_sample.h"

namespace perfcast::learn::gnn {

class GraphAutoencoder {
 public:
  // Fits the node standardisation on `graphs` and trains the encoder. Throws perfcast::Error on
  // bad or no graphs.
  static GraphAutoencoder pretrain(const std::vector<GraphSample>& graphs, const GaeOptions& options);
  // The same encoder, randomly initialised (seeded), standardisation fitted on `graphs`: a baseline.
  static GraphAutoencoder untrained(const std::vector<GraphSample>& graphs, const GaeOptions& options);

  // Mean BCE per pre-training epoch (empty when untrained).
  const std::vector<double>& loss_history() const;
  // Area under the ROC curve of the decoder's edge scores: every edge of `graphs` (undirected)
  // against as many random non-adjacent node pairs of the same graph (seeded).
  double edge_auc(const std::vector<GraphSample>& graphs, uint64_t seed) const;
  // The same AUC with random Gaussian node embeddings of the encoder's size: the chance baseline.
  static double random_embedding_edge_auc(const std::vector<GraphSample>& graphs, int embedding, uint64_t seed);
  // Graph embedding: mean and max over the node embeddings (2 x embedding values).
  std::vector<float> embed(const GraphSample& sample) const;
  int embedding_dim() const;  // of embed()

  struct Impl;
  explicit GraphAutoencoder(std::shared_ptr<Impl> impl);
  const std::shared_ptr<Impl>& impl() const { return impl_; }

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace perfcast::learn::gnn
