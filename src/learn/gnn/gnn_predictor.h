#pragma once
// The graph neural network latency predictors (GraphSAGE, GIN, GraphSAGE + frozen graph
// autoencoder embedding), trained on GraphSamples and saved as a libtorch archive NAME.pt with a
// JSON meta file NAME.meta.json beside it. This header does not include libtorch (pimpl).
//
// Target: when every training sample has a prior (the roofline estimate), the network predicts
// log(target / prior) and the prediction is prior * exp(output) (a residual on the roofline);
// otherwise it predicts log(target). The choice is stored in the meta file.
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "learn/gnn/gnn_options.h"
#include "learn/graph_sample.h"

namespace perfcast::learn::gnn {

class GnnPredictor {
 public:
  GnnPredictor();
  ~GnnPredictor();
  GnnPredictor(GnnPredictor&&) noexcept;
  GnnPredictor& operator=(GnnPredictor&&) noexcept;

  // PATH.pt and PATH.meta.json (PATH may be given with or without ".pt"). Throws perfcast::Error
  // when a file is missing, unreadable or does not match the meta file.
  static GnnPredictor load(const std::string& path);
  // Writes PATH.pt and PATH.meta.json; `extra_meta` (an object: data, split, metrics, command, ...)
  // is merged into the meta file. Throws perfcast::Error.
  void save(const std::string& path, const nlohmann::json& extra_meta) const;

  // Predicted target in its unit (e.g. ms). Throws perfcast::Error on bad input (dimensions, empty
  // graph, edge out of range, missing prior for a residual model).
  double predict(const GraphSample& sample) const;
  std::vector<double> predict(const std::vector<GraphSample>& samples, int batch_graphs = 64) const;
  // The same rows given by pointer (rows that share graphs need not be copied).
  std::vector<double> predict(const std::vector<const GraphSample*>& samples, int batch_graphs = 64) const;

  GnnKind kind() const;
  bool residual() const;  // predicts log(target / prior)
  int64_t node_feature_dim() const;
  int64_t static_feature_dim() const;
  size_t num_parameters() const;
  // The meta file's content (hyper-parameters, standardisation, feature names, extras).
  nlohmann::json meta() const;

  struct Impl;
  explicit GnnPredictor(std::unique_ptr<Impl> impl);

 private:
  std::unique_ptr<Impl> impl_;
};

struct GnnTrainResult {
  GnnPredictor predictor;
  int epochs_run = 0;
  int best_epoch = 0;            // 1-based epoch whose weights were kept
  double best_val_loss = 0;      // MSE of the standardised log target on the validation samples
  double train_seconds = 0;      // whole call, including GAE pre-training
  double gae_seconds = 0;
  std::vector<double> train_loss;  // per epoch
  std::vector<double> val_loss;    // per epoch (empty without validation samples)
  std::vector<double> gae_loss;    // per pre-training epoch (gae-sage)
};

// Trains `kind` on `train`, early-stopping on `val` (when empty: all max_epochs, last weights).
// gae-sage pre-trains its autoencoder on `unlabelled` (labels unused; when empty, on the training
// graphs). Throws perfcast::Error on bad samples (see check_sample) or an empty training set.
GnnTrainResult train_gnn(GnnKind kind, const std::vector<GraphSample>& train, const std::vector<GraphSample>& val,
                         const GnnOptions& options, const std::vector<GraphSample>& unlabelled = {});

// "dir/name.pt" or "dir/name" -> "dir/name.pt" and "dir/name.meta.json".
std::string archive_path(const std::string& path);
std::string meta_path(const std::string& path);

}  // namespace perfcast::learn::gnn
