#pragma once
// The calibrated roofline, per kernel, against Baidu DeepBench's measured GEMMs and convolutions
// (dataset/deepbench_kernels.h). Nothing in data/calibration was fitted on DeepBench, so every row is
// held out: other shapes, other devices' generations and libraries (CUDA 8-10.1, cuDNN 6-7.6) than the
// NeuSight and timm rows the constants came from.
//
// A GEMM is perfcast's gemm kernel of 2mnk FLOPs over A, B and C; a convolution its conv kernel of
// 2 N K P Q C R S FLOPs over input, filters and output (the cost rules of src/graph/op_cost_linear.cpp),
// timed by predict::time_kernel. A training convolution's two backward passes are each compared with
// predict::time_backward_kernel, the kernel perfcast's training step runs for them.
#include <map>
#include <string>
#include <vector>

#include "dataset/deepbench_kernels.h"
#include "hardware/device_catalog.h"
#include "learn/evaluation.h"
#include "predict/kernel_plan.h"
#include "predict/roofline_calibration.h"

namespace perfcast::learn {

// The kernel perfcast times for a DeepBench record (its forward work; backward passes reuse it).
predict::KernelWork deepbench_work(const dataset::DeepBenchKernel& kernel);

struct DeepBenchGroup {
  std::string device_id;  // catalog id, or "all"
  std::string kernel;     // "gemm", "conv", or "all"
  std::string precision;  // "fp32", "fp16", "int8", or "all"
  std::string pass;       // dataset::deepbench_pass_name, or "all"
  Metrics metrics;
  double median_predicted_over_measured = 0;
};

struct DeepBenchEvaluation {
  size_t rows_used = 0;
  std::vector<DeepBenchGroup> groups;     // per device x kernel x precision x pass
  std::vector<DeepBenchGroup> by_device;  // per device, every kernel
  std::vector<DeepBenchGroup> by_kind;    // every device, per kernel x precision x pass
  DeepBenchGroup all;
  std::map<std::string, int> skipped;     // the loader's reasons, then devices / precisions not in the catalog
};

DeepBenchEvaluation evaluate_deepbench(const dataset::DeepBenchData& data, const hardware::DeviceCatalog& catalog,
                                       const predict::RooflineCalibration& calibration);

// shared/data/deepbench beside the repository ("" when there is no shared folder).
std::string default_deepbench_dir();

}  // namespace perfcast::learn
