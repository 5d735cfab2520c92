#pragma once
// What `perfcast fit`, `perfcast evaluate` and `perfcast predict` do with a graph neural network, as entry points of
// libperfcast_gnn.so (the only part of perfcast linked to libtorch). Loading libtorch costs 0.3-1 s
// of static initialisation, so the CLI opens the plugin only for these commands (learn/gnn_plugin.h)
// and every other command starts in milliseconds. No libtorch types here.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hardware/device.h"
#include "learn/features.h"
#include "learn/gnn/gnn_options.h"
#include "learn/graph_sample.h"
#include "learn/ood.h"

namespace perfcast::learn::gnn {

struct GnnFitArgs {
  std::string predictor;  // sage | gin | gae-sage
  std::string split;      // arch | device ("" = arch)
  uint64_t seed = 0;
  std::string out;        // NAME (NAME.pt + NAME.meta.json); "" = data/models/learned/<predictor>_nasbench201_<split>
  int64_t architectures = 400;
  GnnOptions gnn;
};

struct GnnEvaluateArgs {
  std::string predictor;  // sage | gin | gae-sage | xgb | roofline-prior
  std::string split;      // arch | device ("" = arch)
  std::string seeds = "5";
  int64_t architectures = 400;
  GnnOptions gnn;
};

struct GnnCheckArgs {
  std::string model;  // NAME or NAME.pt
  bool speed = false;
  int threads = 1;
  bool annotate = false;  // also write the held-out interval and OOD statistics into the sidecar
};

// One latency prediction for `predict --predictor sage|gin|gae-sage|gnn`. The core builds the
// sample (learn/graph_features.h, device features included) and the graph's totals as a timm-style
// row for the OOD check (nullopt when the graph is not an image model, with row_why).
struct GnnPredictArgs {
  std::string model;  // NAME or NAME.pt
  GraphSample sample;
  std::optional<WorkloadRow> row;
  std::string row_why;
  hardware::Device device;
};

struct GnnPrediction {
  double latency_ms = 0, low_ms = 0, high_ms = 0;  // one batch; ~80% interval
  double prior_ms = 0;                             // naive roofline of the graph's totals, which the model corrects
  bool interval_from_held_out = false;             // else from the recorded test MAPE (see notes)
  OodVerdict ood;
  std::vector<std::string> notes;
};

// Each prints its report on stdout and throws perfcast::Error on bad input.
void run_gnn_fit(const GnnFitArgs& args);
void run_gnn_evaluate(const GnnEvaluateArgs& args);
void run_gnn_check(const GnnCheckArgs& args);
GnnPrediction run_gnn_predict(const GnnPredictArgs& args);

// The plugin's table of entry points; abi_version changes whenever these structs change.
struct GnnCommands {
  int abi_version;
  void (*fit)(const GnnFitArgs&);
  void (*evaluate)(const GnnEvaluateArgs&);
  void (*check)(const GnnCheckArgs&);
  GnnPrediction (*predict)(const GnnPredictArgs&);
};
inline constexpr int kGnnCommandsAbiVersion = 2;

}  // namespace perfcast::learn::gnn

extern "C" const perfcast::learn::gnn::GnnCommands* perfcast_gnn_commands();
