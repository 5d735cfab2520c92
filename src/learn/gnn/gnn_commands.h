#pragma once
// What `perfcast fit` and `perfcast evaluate` do with a graph neural network, as entry points of
// libperfcast_gnn.so (the only part of perfcast linked to libtorch). Loading libtorch costs 0.3-1 s
// of static initialisation, so the CLI opens the plugin only for these commands (learn/gnn_plugin.h)
// and every other command starts in milliseconds. No libtorch types here.
#include <cstdint>
#include <string>

#include "learn/gnn/gnn_options.h"

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
};

// Each prints its report on stdout and throws perfcast::Error on bad input.
void run_gnn_fit(const GnnFitArgs& args);
void run_gnn_evaluate(const GnnEvaluateArgs& args);
void run_gnn_check(const GnnCheckArgs& args);

// The plugin's table of entry points; abi_version changes whenever these structs change.
struct GnnCommands {
  int abi_version;
  void (*fit)(const GnnFitArgs&);
  void (*evaluate)(const GnnEvaluateArgs&);
  void (*check)(const GnnCheckArgs&);
};
inline constexpr int kGnnCommandsAbiVersion = 1;

}  // namespace perfcast::learn::gnn

extern "C" const perfcast::learn::gnn::GnnCommands* perfcast_gnn_commands();
