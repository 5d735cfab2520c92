#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "learn/predictor_registry.h"

namespace perfcast::learn {
namespace {

namespace fs = std::filesystem;

nlohmann::json fit_style(const std::string& name, double mape, double baseline) {
  return {{"predictor", name},
          {"model_file", name + ".json"},
          {"result", {{"target", "latency"}, {"split", "family"}, {name, {{"mape_pct", mape}, {"n", 100}}},
                      {"roofline_prior", {{"mape_pct", baseline}}}}},
          {"applies_to", {{"task", "image-classification"}, {"mode", "inference"}, {"precisions", {"fp16", "bf16"}},
                          {"device_kind", "gpu"}}}};
}

RequestKind image_fp16() { return {"image-classification", "inference", "fp16", "gpu"}; }

std::string temp_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("perfcast_registry_test_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

TEST(PredictorRegistry, PicksTheApplicableRunnablePredictorThatValidatedBest) {
  const std::string dir = temp_dir("pick");
  std::ofstream(dir + "/xgb_latency.meta.json") << fit_style("xgb", 20, 60).dump();
  std::ofstream(dir + "/gnn_latency.meta.json") << fit_style("gnn", 12, 60).dump();
  std::ofstream(dir + "/broken.meta.json") << "{ not json";
  const auto reg = PredictorRegistry::load(dir);
  ASSERT_EQ(reg.predictors().size(), 2u);
  EXPECT_EQ(reg.skipped().size(), 1u);
  ASSERT_NE(reg.find("xgb", "latency"), nullptr);
  EXPECT_EQ(reg.find("xgb", "latency")->model_path, (fs::path(dir) / "xgb.json").string());

  auto both = reg.choose("latency", image_fp16(), {"xgb", "gnn"});
  ASSERT_NE(both.learned, nullptr);
  EXPECT_EQ(both.learned->name, "gnn");
  EXPECT_NE(both.why.find("12.0%"), std::string::npos) << both.why;
  // A predictor this build cannot run is never chosen.
  auto xgb_only = reg.choose("latency", image_fp16(), {"xgb"});
  ASSERT_NE(xgb_only.learned, nullptr);
  EXPECT_EQ(xgb_only.learned->name, "xgb");
  // Outside what they were trained on: the roofline, with the reason.
  auto fp32 = reg.choose("latency", {"image-classification", "inference", "fp32", "gpu"}, {"xgb", "gnn"});
  EXPECT_EQ(fp32.learned, nullptr);
  EXPECT_NE(fp32.why.find("fp32"), std::string::npos) << fp32.why;
  EXPECT_EQ(reg.choose("latency", {"", "inference", "fp16", "gpu"}, {"xgb"}).learned, nullptr);
  EXPECT_EQ(reg.choose("memory", image_fp16(), {"xgb"}).learned, nullptr);
}

TEST(PredictorRegistry, APredictorThatLostToItsBaselineOrStatesNoDomainIsNotChosen) {
  const std::string dir = temp_dir("lost");
  std::ofstream(dir + "/xgb.meta.json") << fit_style("xgb", 70, 60).dump();
  nlohmann::json no_domain = fit_style("gnn", 5, 60);
  no_domain.erase("applies_to");
  std::ofstream(dir + "/gnn.meta.json") << no_domain.dump();
  const auto choice = PredictorRegistry::load(dir).choose("latency", image_fp16(), {"xgb", "gnn"});
  EXPECT_EQ(choice.learned, nullptr);
  EXPECT_NE(choice.why.find("did not beat"), std::string::npos) << choice.why;
  EXPECT_NE(choice.why.find("applies_to"), std::string::npos) << choice.why;
  EXPECT_THROW(parse_registered_predictor(nlohmann::json::object(), "empty.meta.json"), Error);
  EXPECT_TRUE(PredictorRegistry::load(dir + "/absent").predictors().empty());
}

TEST(PredictorRegistry, ReadsGnnStyleSidecarsAndNeverRunsWhatItCannot) {
  const std::string dir = temp_dir("gnn");
  const nlohmann::json gnn = {{"predictor", "sage"},
                              {"format", "perfcast-gnn/1"},
                              {"model_file", "sage.pt"},
                              {"metrics", {{"model", {{"mape_pct", 8.5}, {"n", 720}}}, {"roofline_prior", {{"mape_pct", 94.0}}}}},
                              {"split", {{"kind", "arch"}, {"seed", 0}}},
                              {"data", {{"target", "latency_ms of one batch"}}},
                              {"applies_to", {{"task", "nas-bench-201-cell"}, {"mode", "inference"}}}};
  std::ofstream(dir + "/sage.meta.json") << gnn.dump();
  std::ofstream(dir + "/xgb.meta.json") << fit_style("xgb", 20, 60).dump();
  const auto reg = PredictorRegistry::load(dir);
  const RegisteredPredictor* sage = reg.find("sage", "latency");
  ASSERT_NE(sage, nullptr);
  EXPECT_EQ(sage->split, "arch");
  EXPECT_DOUBLE_EQ(sage->mape_pct, 8.5);
  EXPECT_DOUBLE_EQ(sage->baseline_mape_pct.value_or(0), 94.0);
  // Lower MAPE, but on another task and without a runner here: xgb is chosen for an image model.
  const auto choice = reg.choose("latency", image_fp16(), {"xgb"});
  ASSERT_NE(choice.learned, nullptr);
  EXPECT_EQ(choice.learned->name, "xgb");
  EXPECT_NE(choice.why.find("sage"), std::string::npos) << choice.why;
  const auto cell = reg.choose("latency", {"nas-bench-201-cell", "inference", "fp32", "gpu"}, {"xgb", "sage"});
  ASSERT_NE(cell.learned, nullptr);
  EXPECT_EQ(cell.learned->name, "sage");
}

TEST(PredictorRegistry, BestOfPrefersTheSplitAskedForThenTheLowestMape) {
  const std::string dir = temp_dir("best_of");
  auto gnn = [](const std::string& name, const std::string& split, double mape) {
    return nlohmann::json{{"predictor", name},
                          {"metrics", {{"model", {{"mape_pct", mape}}}}},
                          {"split", {{"kind", split}}},
                          {"data", {{"target", "latency_ms of one batch"}}}};
  };
  std::ofstream(dir + "/a.meta.json") << gnn("sage", "device", 5).dump();
  std::ofstream(dir + "/b.meta.json") << gnn("sage", "arch", 9).dump();
  std::ofstream(dir + "/c.meta.json") << gnn("gin", "arch", 8).dump();
  std::ofstream(dir + "/d.meta.json") << gnn("gin", "device", 3).dump();
  const auto reg = PredictorRegistry::load(dir);
  ASSERT_NE(reg.best_of({"sage"}, "latency", "arch"), nullptr);
  EXPECT_DOUBLE_EQ(reg.best_of({"sage"}, "latency", "arch")->mape_pct, 9);  // arch beats a lower device-split MAPE
  EXPECT_EQ(reg.best_of({"sage", "gin"}, "latency", "arch")->name, "gin");
  EXPECT_DOUBLE_EQ(reg.best_of({"sage", "gin"}, "latency", "random")->mape_pct, 3);  // no such split: any
  EXPECT_EQ(reg.best_of({"gae-sage"}, "latency", "arch"), nullptr);
  EXPECT_EQ(reg.best_of({"sage"}, "memory", "arch"), nullptr);
}

TEST(PredictorRegistry, ShippedXgbSidecarStatesItsValidationIntervalAndDomain) {
  const auto reg = PredictorRegistry::load();
  const RegisteredPredictor* xgb = reg.find("xgb", "latency");
  ASSERT_NE(xgb, nullptr);
  EXPECT_EQ(xgb->split, "family");
  ASSERT_TRUE(xgb->baseline_mape_pct.has_value());
  EXPECT_LT(xgb->mape_pct, *xgb->baseline_mape_pct / 2);  // issue 6: at least halve the roofline's MAPE
  ASSERT_TRUE(xgb->applies_to.has_value());
  ASSERT_TRUE(xgb->meta.contains("interval"));
  const double coverage = xgb->meta["interval"]["held_out_coverage_pct"].get<double>();
  EXPECT_NEAR(coverage, 80.0, 2.0);
  EXPECT_TRUE(fs::exists(xgb->model_path));
}

}  // namespace
}  // namespace perfcast::learn
