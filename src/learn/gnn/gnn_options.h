#pragma once
// Hyper-parameters of the graph neural network predictors (no libtorch).
//
// Defaults are sized for NAS-Bench-201 (a few thousand ~200-node graphs) on 2 CPU cores: 3
// message-passing layers of width 64, a 64-64-1 head, Adam at 2e-3, 32 graphs per step, at most 40
// epochs with early stopping after 6 without validation improvement.
#include <cstdint>
#include <string>
#include <vector>

namespace perfcast::learn::gnn {

enum class GnnKind {
  kSage,     // GraphSAGE regressor (DIPPM-style)
  kGin,      // GIN regressor
  kGaeSage,  // GraphSAGE regressor + frozen graph-autoencoder embedding (TraPPM-style)
};
std::string kind_name(GnnKind kind);  // "sage", "gin", "gae-sage"
GnnKind parse_kind(const std::string& text);  // throws perfcast::Error

struct GaeOptions {
  int hidden = 32;             // encoder width
  int embedding = 16;          // node embedding size
  int layers = 2;              // SAGE layers (the last one outputs the embedding)
  int epochs = 15;
  int batch_graphs = 32;
  double lr = 5e-3;
  int negatives_per_edge = 1;  // random node pairs of the same graph per real edge
  uint64_t seed = 0;
  int threads = 1;
};

struct GnnOptions {
  int hidden = 64;        // message-passing width
  int layers = 3;         // message-passing layers
  int mlp_hidden = 64;    // readout head width (two hidden layers)
  int max_epochs = 40;
  int patience = 6;       // epochs without validation improvement before stopping
  int batch_graphs = 32;  // distinct graphs per optimiser step (with every row of each)
  double lr = 2e-3;
  double weight_decay = 0;
  uint64_t seed = 0;      // torch::manual_seed and the shuffle
  int threads = 1;        // torch::set_num_threads
  GaeOptions gae;         // gae-sage only
  bool log_squash = false;  // sign(v) * log1p(|v|) before standardising (raw-count features)
  bool verbose = false;     // one line per epoch on stderr
  // Recorded in the meta file (checked against the samples' dimensions when not empty).
  std::vector<std::string> node_feature_names;
  std::vector<std::string> static_feature_names;
};

}  // namespace perfcast::learn::gnn
