// DeepBench's GEMM and convolution results (dataset/deepbench_kernels.h) on the real shared files, and the
// errors a broken copy gets.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>

#include "common/error.h"
#include "dataset/deepbench_kernels.h"
#include "learn/deepbench_evaluation.h"
#include "support/test_helpers.h"

namespace perfcast::dataset {
namespace {

const DeepBenchData* shared_data() {
  static const DeepBenchData* data = []() -> const DeepBenchData* {
    const std::string dir = learn::default_deepbench_dir();
    if (dir.empty() || !std::filesystem::exists(dir + "/train/gemm.csv")) return nullptr;
    return new DeepBenchData(load_deepbench_kernels(dir));
  }();
  return data;
}

const DeepBenchKernel* find_kernel(const DeepBenchData& data, const std::function<bool(const DeepBenchKernel&)>& match) {
  const auto it = std::find_if(data.kernels.begin(), data.kernels.end(), match);
  return it == data.kernels.end() ? nullptr : &*it;
}

TEST(DeepBenchKernels, ReadsEveryTimedKernelAndCountsWhatItLeavesOut) {
  const DeepBenchData* data = shared_data();
  if (data == nullptr) GTEST_SKIP() << "no shared/data/deepbench";
  EXPECT_EQ(data->files.size(), 4u);
  // 160 training GEMMs on each of 14 sheets, 13 of them timed in fp32/fp16; 75 int8 inference GEMMs on 4 GPUs and
  // 13 on each of 3 phones/boards. P100's "pseudo fp16" sheets (160 GEMMs + 94 convolutions) are left out.
  const auto count = [&](const std::function<bool(const DeepBenchKernel&)>& f) {
    return std::count_if(data->kernels.begin(), data->kernels.end(), f);
  };
  EXPECT_EQ(count([](const DeepBenchKernel& k) { return !k.conv && k.training; }), 13 * 160);
  EXPECT_EQ(count([](const DeepBenchKernel& k) { return !k.conv && !k.training; }), 4 * 75 + 3 * 13);
  EXPECT_EQ(data->skipped.at("fp16 storage with fp32 arithmetic (P100 'pseudo fp16'): no perfcast precision"),
            160 + 94);
  // V100 has no input-gradient time for convolutions with one input channel ("N/A*": cuDNN does not need it).
  int not_available = 0;
  for (const auto& [why, n] : data->skipped)
    if (why.find("'N/A*'") != std::string::npos) not_available += n;
  EXPECT_GT(not_available, 0);
}

TEST(DeepBenchKernels, GemmAndConvolutionRowsAsTheSheetsGiveThem) {
  const DeepBenchData* data = shared_data();
  if (data == nullptr) GTEST_SKIP() << "no shared/data/deepbench";
  // train/gemm.csv, NV_V100 "Results FP32": M 1760, N 16, K 1760, 0.038 ms (2.6085 TFLOPS).
  const DeepBenchKernel* gemm = find_kernel(*data, [](const DeepBenchKernel& k) {
    return k.device == "NV_V100" && !k.conv && k.precision == hardware::Precision::kFp32 && k.m == 1760 && k.n == 16;
  });
  ASSERT_NE(gemm, nullptr);
  EXPECT_EQ(gemm->k, 1760);
  EXPECT_DOUBLE_EQ(gemm->measured_ms, 0.038);
  EXPECT_NEAR(learn::deepbench_work(*gemm).flops / (gemm->measured_ms * 1e-3), 2.6085052631578947e12, 1e6);

  // train/conv.csv, NV_V100 "Results FP32", DeepSpeech: W 700, H 161, C 1, N 4, K 32, R 5, S 20, stride 2, no
  // padding: forward 0.078 ms at 8.8415 TFLOPS; the sheet's P/Q (341, 79) are width/height swapped.
  const DeepBenchKernel* conv = find_kernel(*data, [](const DeepBenchKernel& k) {
    return k.device == "NV_V100" && k.conv && k.precision == hardware::Precision::kFp32 && k.width == 700 &&
           k.batch == 4 && k.pass == DeepBenchPass::kForward;
  });
  ASSERT_NE(conv, nullptr);
  EXPECT_EQ(conv->filter_h, 5);
  EXPECT_EQ(conv->filter_w, 20);
  EXPECT_EQ(conv->out_h, 79);
  EXPECT_EQ(conv->out_w, 341);
  EXPECT_NEAR(learn::deepbench_work(*conv).flops / (conv->measured_ms * 1e-3), 8.84151794871795e12, 1e6);
  EXPECT_EQ(learn::deepbench_work(*conv).op_class, predict::OpClass::kConv);

  // The same convolution's weight gradient is its own record; its input gradient is "N/A*".
  EXPECT_NE(find_kernel(*data, [](const DeepBenchKernel& k) {
              return k.device == "NV_V100" && k.conv && k.precision == hardware::Precision::kFp32 && k.width == 700 &&
                     k.batch == 4 && k.pass == DeepBenchPass::kBackwardWeights && k.measured_ms == 0.127;
            }),
            nullptr);
  // T4's int8 inference GEMMs are int8.
  EXPECT_NE(find_kernel(*data, [](const DeepBenchKernel& k) {
              return k.device == "NV_T4" && !k.training && k.precision == hardware::Precision::kInt8;
            }),
            nullptr);
}

TEST(DeepBenchKernels, BrokenFilesAreNamed) {
  const std::string dir = testing::fresh_temp_dir("perfcast_test", "deepbench_broken");
  EXPECT_NE(testing::error_of([&] { load_deepbench_kernels(dir); }).find(dir + "/train/gemm.csv"), std::string::npos);

  std::filesystem::create_directories(dir + "/train");
  std::ofstream(dir + "/train/gemm.csv") << "device,precision,M,N,Time (msec)\nNV_V100,Float,1,2,0.1\n";
  EXPECT_NE(testing::error_of([&] { load_deepbench_kernels(dir); }).find("missing column(s) K "), std::string::npos);

  std::ofstream(dir + "/train/gemm.csv") << "device,precision,M,N,K,Time (msec)\nNV_V100,Float,1,2.5,3,0.1\n";
  const std::string fractional = testing::error_of([&] { load_deepbench_kernels(dir); });
  EXPECT_NE(fractional.find("'2.5' is not a whole dimension"), std::string::npos) << fractional;
  EXPECT_NE(fractional.find("gemm.csv:2"), std::string::npos) << fractional;
}

}  // namespace
}  // namespace perfcast::dataset
