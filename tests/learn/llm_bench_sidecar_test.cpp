// The shipped LLM throughput model (data/models/learned/xgb_llm_throughput.*, written by
// `perfcast fit --predictor xgb --data llm-inference-bench --target throughput --split model --seed 0`):
// the registry lists it, it matches the features this perfcast computes, and `predict --predictor
// auto` never picks it for an image model.
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>

#include "learn/llm_features.h"
#include "learn/predictor_registry.h"
#include "learn/xgb_model.h"
#include "support/cli_runner.h"

namespace perfcast::learn {
namespace {

TEST(LlmBenchSidecar, RegistryListsItForLlmServingOnly) {
  const PredictorRegistry reg = PredictorRegistry::load();
  const RegisteredPredictor* llm = nullptr;
  for (const auto& p : reg.predictors())
    if (p.meta.value("data", nlohmann::json::object()).value("name", "") == "llm-inference-bench") llm = &p;
  ASSERT_NE(llm, nullptr);
  EXPECT_EQ(llm->name, "xgb");
  EXPECT_EQ(llm->target, "throughput");
  EXPECT_EQ(llm->split, "model");
  ASSERT_TRUE(llm->baseline_mape_pct.has_value());
  EXPECT_LT(llm->mape_pct, *llm->baseline_mape_pct / 2);
  EXPECT_EQ(llm->meta.at("features").get<std::vector<std::string>>(), llm_feature_names());
  ASSERT_TRUE(std::filesystem::exists(llm->model_path));
  EXPECT_EQ(XgbModel::load(llm->model_path).num_features(), llm_feature_names().size());

  const RequestKind image{"image-classification", "inference", "fp16", "gpu"};
  EXPECT_FALSE(not_applicable_reason(*llm, image).empty());
  EXPECT_NE(reg.choose("latency", image, {"xgb"}).learned, llm);
  EXPECT_EQ(reg.choose("throughput", image, {"xgb"}).learned, nullptr);
}

TEST(LlmBenchSidecar, EvaluateModelReproducesTheRecordedHeldOutMape) {
  const PredictorRegistry reg = PredictorRegistry::load();
  std::string model_path;
  for (const auto& p : reg.predictors())
    if (p.meta.value("data", nlohmann::json::object()).value("name", "") == "llm-inference-bench") model_path = p.model_path;
  ASSERT_FALSE(model_path.empty());
  const auto run = testing::run_cli("evaluate --model " + model_path);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(run.output, m, std::regex(R"(recorded MAPE ([0-9.]+)%, reproduced ([0-9.]+)%)")))
      << run.output;
  EXPECT_NEAR(std::stod(m[1].str()), std::stod(m[2].str()), 1e-3) << run.output;
  EXPECT_NE(run.output.find("model split"), std::string::npos) << run.output;
}

}  // namespace
}  // namespace perfcast::learn
