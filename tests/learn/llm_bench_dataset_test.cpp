// LLM-Inference-Bench as rows for the learned LLM throughput predictor (learn/llm_bench_dataset.h,
// learn/llm_features.h): name maps, features, and the held-out splits, on the real shared file.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

#include "common/error.h"
#include "graph/model_source.h"
#include "learn/llm_bench_dataset.h"
#include "learn/llm_features.h"
#include "predict/roofline_calibration.h"

namespace perfcast::learn {
namespace {

const hardware::DeviceCatalog& catalog() {
  static const hardware::DeviceCatalog c = hardware::DeviceCatalog::load();
  return c;
}

// nullptr when the shared data folder is missing.
const LlmBenchDataset* bench() {
  static const LlmBenchDataset* data = [] () -> const LlmBenchDataset* {
    const std::string path = default_llm_bench_path();
    if (path.empty() || !std::filesystem::exists(path)) return nullptr;
    return new LlmBenchDataset(load_llm_bench(path, catalog(), predict::load_roofline_calibration()));
  }();
  return data;
}

TEST(LlmBenchDataset, NamesMapToCatalogDevicesAndBundledConfigs) {
  EXPECT_EQ(llm_bench_hardware("Nvidia A100 GPU").device_id, "a100-sxm4-40gb");
  EXPECT_EQ(llm_bench_hardware("AMD MI300X GPU").device_id, "mi300x");
  EXPECT_EQ(llm_bench_hardware("AMD MI250 GPU").device_id, "mi250-gcd");
  EXPECT_EQ(llm_bench_hardware("AMD MI250 GPU").gpus_per_unit, 2);
  EXPECT_EQ(llm_bench_hardware("Habana Gaudi2").device_id, "");
  EXPECT_EQ(llm_bench_hardware("Intel PVC GPU").device_id, "");
  for (const char* m : {"meta-llama/Llama-2-7b-hf", "meta-llama/Llama-2-70b-hf", "meta-llama/Meta-Llama-3-8B",
                        "meta-llama/Meta-Llama-3-70B", "mistralai/Mistral-7B-v0.1", "mistralai/Mixtral-8x7B-v0.1",
                        "Qwen/Qwen2-7B", "Qwen/Qwen2-72B"}) {
    const std::string id = llm_bench_config_id(m);
    ASSERT_FALSE(id.empty()) << m;
    EXPECT_NO_THROW(graph::load_model_config(id)) << m;
    EXPECT_FALSE(llm_bench_family(m).empty()) << m;
  }
  EXPECT_EQ(llm_bench_config_id("Deci/DeciLM-7B"), "");
  EXPECT_EQ(llm_bench_family("mistralai/Mixtral-8x7B-v0.1"), "mistral");
  EXPECT_EQ(llm_bench_family("meta-llama/Meta-Llama-3-70B"), "llama-3");
  EXPECT_THROW(parse_llm_split("family"), Error);
}

TEST(LlmFeatures, ConfigRequestDeviceFrameworkAndPrior) {
  const auto mixtral = graph::load_model_config("mixtral-8x7b");
  const hardware::Device& mi300x = catalog().get("mi300x");
  const LlmRequest request{1024, 16, 1, 1, "vLLM"};
  const LlmPrior prior = llm_analytical_prior(mixtral, mi300x, request, predict::load_roofline_calibration());
  EXPECT_GT(prior.tokens_per_s, 0);
  EXPECT_GE(prior.waves, 1);
  std::vector<float> f;
  append_llm_features(mixtral, mi300x, request, prior, f);
  const auto& names = llm_feature_names();
  ASSERT_EQ(f.size(), names.size());
  auto at = [&](const std::string& name) {
    const auto it = std::find(names.begin(), names.end(), name);
    EXPECT_NE(it, names.end()) << name;
    return f[static_cast<size_t>(it - names.begin())];
  };
  EXPECT_NEAR(at("params_b"), 46.7, 0.5);        // Mixtral-8x7B: 46.7 B parameters, ~12.9 B active
  EXPECT_NEAR(at("active_params_b"), 12.9, 0.5);
  EXPECT_EQ(at("experts"), 8);
  EXPECT_EQ(at("kv_heads"), 8);
  EXPECT_EQ(at("batch"), 16);
  EXPECT_EQ(at("length_tokens"), 1024);
  EXPECT_NEAR(at("memory_gib"), mi300x.memory_gib, 1e-3);
  EXPECT_EQ(at("framework_vLLM"), 1);
  EXPECT_EQ(at("framework_llama.cpp"), 0);
  EXPECT_NEAR(at("log10_prior_tokens_per_s"), std::log10(prior.tokens_per_s), 1e-4);
  EXPECT_THROW(append_llm_features(mixtral, mi300x, LlmRequest{1024, 16, 1, 1, "sambaflow"}, prior, f), Error);
}

TEST(LlmBenchDataset, LoadsMappedRowsAndCountsSkippedOnes) {
  const LlmBenchDataset* data = bench();
  if (!data) GTEST_SKIP() << "shared/data/llm-inference-bench not found";
  EXPECT_EQ(data->rows_read, 3524);
  EXPECT_EQ(data->skipped.at("hardware not in the catalog: Habana Gaudi2"), 326);
  EXPECT_EQ(data->skipped.at("hardware not in the catalog: Intel PVC GPU"), 398);
  EXPECT_EQ(data->skipped.at("hardware not in the catalog: Intel Max 1550"), 24);
  EXPECT_EQ(data->skipped.at("hardware not in the catalog: SambaNova SN40L"), 41);
  EXPECT_EQ(data->skipped.at("model without a bundled config: Deci/DeciLM-7B"), 4);
  int64_t skipped = 0;
  for (const auto& [why, n] : data->skipped) skipped += n;
  EXPECT_EQ(static_cast<int64_t>(data->rows.size()) + skipped, data->rows_read);
  EXPECT_EQ(data->rows.size(), 2711u);  // 20 Qwen2-7B rows at TP 8 (28 heads) are refused by the analytical model
  EXPECT_EQ(llm_bench_devices(*data), (std::vector<std::string>{"a100-sxm4-40gb", "mi250-gcd", "mi300x"}));
  EXPECT_EQ(llm_bench_families(*data), (std::vector<std::string>{"llama-2", "llama-3", "mistral", "qwen2"}));
  for (const auto& r : data->rows) {
    ASSERT_EQ(r.features.size(), llm_feature_names().size());
    EXPECT_GT(r.prior_tokens_per_s, 0);
    EXPECT_EQ(r.tp, r.device_id == "mi250-gcd" ? 2 * r.num_hardware : r.num_hardware);
  }
}

TEST(LlmBenchDataset, HeldOutModelFamilyNeverLeaksIntoTraining) {
  const LlmBenchDataset* data = bench();
  if (!data) GTEST_SKIP() << "shared/data/llm-inference-bench not found";
  std::set<std::string> held_out_by_first_four;
  for (uint64_t seed = 0; seed < 8; ++seed) {
    const LlmSplit split = make_llm_split(*data, LlmSplitKind::kModel, seed);
    if (seed < 4) held_out_by_first_four.insert(split.held_out);
    EXPECT_EQ(split.train.size() + split.test.size(), data->rows.size());
    std::set<std::string> train_models;
    for (size_t i : split.train) {
      EXPECT_NE(data->rows[i].family, split.held_out) << "seed " << seed;
      train_models.insert(data->rows[i].model);
    }
    for (size_t i : split.test) {
      EXPECT_EQ(data->rows[i].family, split.held_out);
      EXPECT_EQ(train_models.count(data->rows[i].model), 0u) << data->rows[i].model;
    }
  }
  EXPECT_EQ(held_out_by_first_four.size(), 4u);  // seeds 0-3 hold out every family once
  for (uint64_t seed = 0; seed < 3; ++seed) {
    const LlmSplit split = make_llm_split(*data, LlmSplitKind::kDevice, seed);
    for (size_t i : split.train) EXPECT_NE(data->rows[i].device_id, split.held_out);
    for (size_t i : split.test) EXPECT_EQ(data->rows[i].device_id, split.held_out);
  }
}

}  // namespace
}  // namespace perfcast::learn
