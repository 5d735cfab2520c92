#pragma once
// Baidu DeepBench's measured GEMM and convolution kernels (shared/data/deepbench: train/{gemm,conv}.csv,
// inference/{gemm,conv}.csv, converted from DeepBench's result workbooks; Apache-2.0, see SOURCE.md there).
// Every timed kernel becomes one record: a training convolution gives three (forward, gradient with
// respect to the input, gradient with respect to the weights). Rows perfcast cannot use are counted by
// reason, never dropped silently.
#include <map>
#include <string>
#include <vector>

#include "hardware/device.h"

namespace perfcast::dataset {

enum class DeepBenchPass { kForward, kBackwardData, kBackwardWeights };
std::string deepbench_pass_name(DeepBenchPass pass);  // "forward", "backward-data", "backward-weights"

struct DeepBenchKernel {
  std::string device;             // DeepBench's name: NV_V100, NV_T4, ...
  std::string origin;             // file:line, for messages
  bool conv = false;              // else a GEMM
  bool training = false;          // from results/train (else results/inference)
  DeepBenchPass pass = DeepBenchPass::kForward;
  hardware::Precision precision = hardware::Precision::kFp32;
  // GEMM: C[m x n] = A[m x k] B[k x n].
  double m = 0, n = 0, k = 0;
  // Convolution, NCHW: input batch x channels x height x width, filters x channels x filter_h x filter_w,
  // output batch x filters x out_h x out_w (computed from the padding and strides, not read: DeepBench's
  // P/Q cells are Excel formulas, fractional on some sheets and swapped on others).
  double batch = 0, channels = 0, height = 0, width = 0, filters = 0, filter_h = 0, filter_w = 0;
  double out_h = 0, out_w = 0;
  double measured_ms = 0;
};

struct DeepBenchData {
  std::vector<DeepBenchKernel> kernels;
  // Why rows were left out, with counts: empty or non-numeric times ("N/A*", "Not Supported"),
  // precisions perfcast has no name for (P100 "pseudo fp16": fp16 storage, fp32 arithmetic).
  std::map<std::string, int> skipped;
  std::vector<std::string> files;
};

// Reads DIR/{train,inference}/{gemm,conv}.csv; throws perfcast::Error when a file is missing or a
// column it needs is absent.
DeepBenchData load_deepbench_kernels(const std::string& dir);

}  // namespace perfcast::dataset
