#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "hardware/device_catalog.h"
#include "learn/learned_latency.h"
#include "learn/ood.h"
#include "learn/predictor_registry.h"

namespace perfcast::learn {
namespace {

WorkloadRow row(double params_m, double gmacs, double macts_m, int64_t batch = 256) {
  WorkloadRow r;
  r.param_count_m = params_m;
  r.gmacs = gmacs;
  r.macts_m = macts_m;
  r.batch = batch;
  r.precision = hardware::Precision::kFp16;
  return r;
}

TEST(Ood, FarModelsAndDevicesAreFlaggedNearOnesAreNot) {
  const auto catalog = hardware::DeviceCatalog::load();
  std::vector<WorkloadRow> rows;
  std::vector<const hardware::Device*> devices;
  for (int i = 0; i < 40; ++i) {
    const double s = 1.0 + 0.1 * i;
    rows.push_back(row(10 * s, 2 * s, 8 * s, 64 + i));
    devices.push_back(&catalog.get(i % 2 ? "rtx-3090" : "rtx-4090"));
  }
  const OodStats stats = fit_ood(rows, devices);
  EXPECT_GT(stats.nn_p99, 0);
  EXPECT_EQ(stats.devices.size(), 2u);
  const auto& d4090 = catalog.get("rtx-4090");
  const OodVerdict near = check_ood(stats, row(25, 5, 20, 80), d4090);
  EXPECT_FALSE(near.out_of_distribution) << (near.reasons.empty() ? "" : near.reasons[0]);
  EXPECT_TRUE(near.device_seen);
  const OodVerdict huge = check_ood(stats, row(70000, 140000, 5000, 80), d4090);
  EXPECT_TRUE(huge.out_of_distribution);
  EXPECT_GT(huge.nn_distance, huge.nn_threshold);
  const OodVerdict h100 = check_ood(stats, row(25, 5, 20, 80), catalog.get("h100-sxm5-80gb"));
  EXPECT_TRUE(h100.out_of_distribution);  // 3.35 TB/s is beyond the GeForce training devices
  EXPECT_FALSE(h100.device_seen);
  EXPECT_TRUE(check_ood(stats, row(25, 5, 20, 1), d4090).out_of_distribution);  // batch below the training batches

  const OodStats back = ood_from_json(to_json(stats), "test");
  EXPECT_EQ(back.points.size(), stats.points.size());
  EXPECT_DOUBLE_EQ(back.nn_p99, stats.nn_p99);
  nlohmann::json bad = to_json(stats);
  bad.erase("sd");
  EXPECT_THROW(ood_from_json(bad, "bad"), Error);
}

TEST(Ood, PerDeviceKindStatisticsJudgeEachKindByItsOwnRows) {
  const auto catalog = hardware::DeviceCatalog::load();
  std::vector<WorkloadRow> rows;
  std::vector<const hardware::Device*> devices;
  for (int i = 0; i < 20; ++i) {
    WorkloadRow r = row(1 + 0.05 * i, 0.1 + 0.01 * i, 0.5 + 0.02 * i, 32);
    r.precision = hardware::Precision::kFp32;
    r.img_size = 32;
    rows.push_back(r);
    devices.push_back(&catalog.get(i % 2 ? "rtx-2080ti" : "gtx-1080ti"));
    r.batch = 1;
    rows.push_back(r);
    devices.push_back(&catalog.get("xeon-gold-6226"));
  }
  const OodStatsByKind stats = fit_ood_by_kind(rows, devices);
  ASSERT_EQ(stats.size(), 2u);
  EXPECT_EQ(stats.at("gpu").batch_min, 32);
  EXPECT_EQ(stats.at("cpu").batch_max, 1);
  WorkloadRow probe = rows[4];
  EXPECT_FALSE(check_ood(stats, probe, catalog.get("rtx-2080ti")).out_of_distribution);
  probe.batch = 1;  // seen on the CPUs, not on the GPUs
  EXPECT_TRUE(check_ood(stats, probe, catalog.get("rtx-2080ti")).out_of_distribution);
  EXPECT_FALSE(check_ood(stats, probe, catalog.get("xeon-gold-6226")).out_of_distribution);
  probe.batch = 32;
  probe.img_size = 224;
  const OodVerdict big_images = check_ood(stats, probe, catalog.get("rtx-2080ti"));
  EXPECT_TRUE(big_images.out_of_distribution);
  EXPECT_NE(big_images.reasons.back().find("image side 224"), std::string::npos);
  const OodStatsByKind gpu_only = {{"gpu", stats.at("gpu")}};
  EXPECT_TRUE(check_ood(gpu_only, rows[1], catalog.get("xeon-gold-6226")).out_of_distribution);

  const OodStatsByKind back = ood_by_kind_from_json(to_json(stats), "test");
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back.at("gpu").img_size_max, 32);
  EXPECT_THROW(ood_by_kind_from_json(to_json(stats.at("gpu")), "flat"), Error);
}

// The shipped model: timm's resnet50 at batch 256 on a training GPU is in distribution; a
// 70B-parameter "image model" is not, and its interval is wider.
TEST(Ood, ShippedModelWidensTheIntervalOutOfDistribution) {
  const auto registry = PredictorRegistry::load();
  const RegisteredPredictor* entry = registry.find("xgb", "latency");
  ASSERT_NE(entry, nullptr);
  const auto model = LearnedLatencyModel::load(*entry);
  ASSERT_TRUE(model.ood.has_value()) << "run perfcast calibrate --annotate on " << entry->model_path;
  ASSERT_TRUE(model.interval_known);
  const auto catalog = hardware::DeviceCatalog::load();
  const auto& device = catalog.get("rtx-4090");
  const auto in = predict_learned_latency(model, row(25.56, 4.11, 11.11), device, std::nullopt);
  ASSERT_TRUE(in.ood.has_value());
  EXPECT_FALSE(in.ood->out_of_distribution);
  const auto out = predict_learned_latency(model, row(70000, 140000, 5000), device, std::nullopt);
  EXPECT_TRUE(out.ood->out_of_distribution);
  // Widened by kOodIntervalWidening in log space.
  EXPECT_NEAR(std::log(out.high_ms / out.latency_ms), kOodIntervalWidening * std::log(in.high_ms / in.latency_ms), 1e-9);
  EXPECT_NEAR(std::log(out.low_ms / out.latency_ms), kOodIntervalWidening * std::log(in.low_ms / in.latency_ms), 1e-9);
  EXPECT_LT(out.low_ms / out.latency_ms, in.low_ms / in.latency_ms);
}

}  // namespace
}  // namespace perfcast::learn

// The totals predict feeds the learned model from a graph are timm's: resnet50 (torchvision export)
// against timm's resnet50 row (25.56 M params, 4.11 GMACs, 11.11 M activations at 224 px).
#include "graph/model_source.h"
#include "learn/graph_totals.h"
#include "predict/workload.h"
#include "support/fixtures.h"

namespace perfcast::learn {
namespace {

TEST(GraphTotals, Resnet50MatchesTimmsCounts) {
  graph::ModelLoadOptions options;
  options.import.batch = 8;
  const auto w = predict::make_workload("resnet50", graph::load_model(perfcast::testing::fixture_path("resnet50.onnx"), options));
  std::string why;
  const auto row = workload_row_from_graph("resnet50", w.graph, w.summary, w.batch, hardware::Precision::kFp16, &why);
  ASSERT_TRUE(row.has_value()) << why;
  EXPECT_EQ(row->batch, 8);
  EXPECT_EQ(row->img_size, 224);
  EXPECT_NEAR(row->param_count_m, 25.56, 0.1);
  EXPECT_NEAR(row->gmacs, 4.11, 0.05);
  EXPECT_NEAR(row->macts_m, 11.11, 0.6);
  graph::ModelLoadOptions bert_options;
  bert_options.seq_len = 128;
  const auto bert = predict::make_workload(
      "bert", graph::load_model(perfcast::testing::fixture_path("bert_base_encoder.onnx"), bert_options));
  EXPECT_FALSE(workload_row_from_graph("bert", bert.graph, bert.summary, bert.batch, hardware::Precision::kFp16, &why));
  EXPECT_NE(why.find("image"), std::string::npos) << why;
}

}  // namespace
}  // namespace perfcast::learn
