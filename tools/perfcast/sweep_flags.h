#pragma once
#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "measure/profiler.h"

namespace perfcast::cli {

// The profiling sweep flags `perfcast profile` and `perfcast campaign submit` share: which
// workloads (models x batches x precisions x modes on one device) and how each is timed.
struct SweepFlags {
  std::vector<std::string> models;
  std::vector<int64_t> batches = {1};
  std::vector<std::string> precisions = {"fp32"};
  std::vector<std::string> modes = {"inference"};
  std::string device = "cpu";
  int warmup = 2;
  int iterations = 5;
  double cooldown = 0;
  measure::ProfileOptions options;
};

// `python_help` says where the Python runs (here, or on the compute nodes).
void add_sweep_flags(CLI::App& cmd, SweepFlags& flags, const std::string& python_help);
std::vector<measure::ProfileJob> expand_sweep(const SweepFlags& flags);

}  // namespace perfcast::cli
