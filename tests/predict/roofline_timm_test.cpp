// End-to-end check of the calibrated roofline against measured inference throughput: timm's
// benchmark CSVs (PyTorch eager, AMP fp16, NCHW, batch 1024) on RTX 3090 and RTX 4090, for the
// torchvision fixtures with the same architecture and input size (data/validation/timm_rows.csv,
// extracted by scripts/calibrate_roofline.py --extract-timm; Apache-2.0, see SOURCE.md there).
//
// The tensor-core and memory multipliers of data/calibration/roofline.json were fitted on the rows
// with split=fit (RTX 3090, PyTorch 2.4.0); every other file is held out. Measured when written
// (MAPE / Acc10): 3090 pt240 (fit) 8.0% / 62%, 3090 pt113 7.3% / 83%, 3090 pt210 8.6% / 62%,
// 4090 pt240 12.4% / 46%, 4090 pt291 13.2% / 46%. The bounds below add a margin of ~4 points.
// The latency band (roofline.json interval) comes from the fit rows' residuals alone; measured when
// fitted, 42 of the 51 held-out rows (82%) fall inside it (the operator-level band it replaced: 100%).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include "common/csv.h"
#include "graph/graph_summary.h"
#include "graph/onnx_import.h"
#include "hardware/device_catalog.h"
#include "predict/memory.h"
#include "predict/roofline.h"
#include "predict/roofline_calibration.h"
#include "support/fixtures.h"

namespace perfcast::predict {
namespace {

struct Model {
  graph::Graph graph;
  graph::GraphSummary summary;
};

struct FileResult {
  std::string device;
  std::string role;
  std::vector<double> ape;
  int inside_interval = 0;  // measured latency within the predicted [low, high]
  std::vector<std::string> lines;
};

TEST(RooflineTimmEndToEnd, HeldOutGpusAndSoftwareWithinMeasuredError) {
  const std::string rows_path = hardware::default_data_dir() + "/validation/timm_rows.csv";
  const CsvTable rows = read_csv(rows_path);
  rows.require_columns({"perfcast_model", "file", "device", "split", "infer_batch_size", "infer_step_time"});
  const auto catalog = hardware::DeviceCatalog::load();
  const RooflineCalibration calibration = load_roofline_calibration();

  std::map<std::pair<std::string, int64_t>, std::unique_ptr<Model>> models;
  std::map<std::string, FileResult> files;
  for (const CsvRow& row : rows.rows) {
    const std::string name = row.required("perfcast_model");
    const int64_t batch = row.integer("infer_batch_size");
    auto& model = models[{name, batch}];
    if (!model) {
      const std::string path = testing::fixture_path(name + ".onnx");
      if (!std::filesystem::exists(path)) {
        ADD_FAILURE() << path << " is missing; run: /usr/bin/python3 tests/fixtures/export_models.py "
                      << PERFCAST_FIXTURE_DIR;
        return;
      }
      model = std::make_unique<Model>();
      graph::ImportOptions options;
      options.batch = batch;
      model->graph = graph::import_onnx(path, options);
      model->summary = graph::summarize(model->graph);
    }
    const auto& device = catalog.get(row.required("device"));
    const auto p = predict_inference_latency(model->graph, model->summary, device, hardware::Precision::kFp16,
                                             calibration);
    EXPECT_TRUE(p.warnings.empty()) << name << ": " << p.warnings.front();
    const double measured_ms = row.number("infer_step_time");
    FileResult& f = files[device.id + " " + row.required("file")];
    f.device = device.id;
    f.role = row.required("split");
    f.ape.push_back(std::abs(p.latency_ms.value - measured_ms) / measured_ms);
    f.inside_interval += p.latency_ms.low <= measured_ms && measured_ms <= p.latency_ms.high;
    f.lines.push_back(fmt::format("{:<20} predicted {:8.1f} ms [{:.1f}, {:.1f}]  measured {:8.1f} ms", name,
                                  p.latency_ms.value, p.latency_ms.low, p.latency_ms.high, measured_ms));
  }

  nlohmann::json script_metrics;
  {
    std::ifstream in(calibration.file);
    script_metrics = nlohmann::json::parse(in)["metrics"]["end_to_end_timm"]["per_file"];
  }
  ASSERT_EQ(files.size(), 5u);
  int held_out_rows = 0, held_out_inside = 0;
  for (const auto& [name, f] : files) {
    double mape = 0, acc10 = 0;
    for (double e : f.ape) {
      mape += e;
      acc10 += e <= 0.10;
    }
    mape /= static_cast<double>(f.ape.size());
    acc10 /= static_cast<double>(f.ape.size());
    const double coverage = static_cast<double>(f.inside_interval) / static_cast<double>(f.ape.size());
    std::cout << fmt::format("{} ({}): MAPE {:.1f}%  Acc10 {:.0f}%  interval coverage {:.0f}%  n={}\n", name, f.role,
                             100 * mape, 100 * acc10, 100 * coverage, f.ape.size());
    for (const auto& line : f.lines) std::cout << "    " << line << "\n";
    const double bound = f.device == "rtx-3090" ? 0.12 : 0.17;
    EXPECT_LT(mape, bound) << name;
    EXPECT_GE(coverage, 0.6) << name << ": the latency interval should hold for about 80% of measurements";
    if (f.role != "fit") {
      held_out_rows += static_cast<int>(f.ape.size());
      held_out_inside += f.inside_interval;
    }
    EXPECT_GE(acc10, f.device == "rtx-3090" ? 0.45 : 0.30) << name;
    // The calibration script mirrors this computation (scripts/calibrate_roofline.py e2e_predict on
    // the per-kernel costs exported by bench/predict_bench --export_nodes): they must agree.
    ASSERT_TRUE(script_metrics.contains(name)) << name;
    EXPECT_NEAR(mape, script_metrics[name]["mape"].get<double>(), 0.01)
        << name << ": C++ and scripts/calibrate_roofline.py disagree; re-export the node costs "
        << "(build/bench/predict_bench --export_nodes=data/validation/timm_node_costs.csv) and rerun the script";
    EXPECT_NEAR(coverage, script_metrics[name]["inside_band"].get<double>(), 1e-6) << name;
  }
  // An 80% band: neither too narrow nor, as the operator-level band was, so wide that everything is inside.
  const double held_out_coverage = static_cast<double>(held_out_inside) / held_out_rows;
  std::cout << fmt::format("held-out rows inside the latency band: {} of {} ({:.0f}%)\n", held_out_inside,
                           held_out_rows, 100 * held_out_coverage);
  EXPECT_GE(held_out_coverage, 0.70);
  EXPECT_LE(held_out_coverage, 0.92);
}

// Training step (forward + backward + SGD-momentum update, AMP fp16) against timm's measured training
// step time on an RTX 3090 (PyTorch 1.12; data/validation/timm_train_rows.csv, written by
// scripts/calibrate_training.py). The backward multipliers in roofline.json (general, and depthwise
// convolutions') were fitted on the NCHW rows of 7 models (split=fit, two of them depthwise: MobileNetV2,
// EfficientNet-B0); the other 6 models are held out, among them the depthwise MobileNetV3-L and MnasNet.
// The band comes from leave-one-model-out residuals of the fit models. Measured when fitted: held-out
// NCHW MAPE 8.3%, 6 of 6 inside the band (one multiplier, in-sample band: 14.2%, 4 of 6).
TEST(RooflineTimmTraining, HeldOutModelsWithinMeasuredError) {
  const CsvTable rows = read_csv(hardware::default_data_dir() + "/validation/timm_train_rows.csv");
  rows.require_columns({"perfcast_model", "layout", "device", "split", "train_batch_size", "train_step_time"});
  const auto catalog = hardware::DeviceCatalog::load();
  const RooflineCalibration calibration = load_roofline_calibration();
  ASSERT_NE(calibration.training.backward_multiplier, 1.0) << "roofline.json has no fitted training section";
  ASSERT_NE(calibration.training.depthwise_conv_backward_multiplier, calibration.training.backward_multiplier)
      << "roofline.json has no depthwise convolution multiplier (or was fitted with --split families): "
      << "refit with /usr/bin/python3 scripts/calibrate_training.py";
  std::map<std::string, std::vector<double>> ape;
  std::map<std::string, double> depthwise_held_out_error;  // NCHW, |predicted / measured - 1|
  std::map<std::string, int> inside;
  std::map<std::pair<std::string, int64_t>, std::unique_ptr<Model>> models;
  int memory_over = 0;  // NCHW runs predicted not to fit in 24 GB although they ran
  for (const CsvRow& row : rows.rows) {
    const std::string name = row.required("perfcast_model");
    const int64_t batch = row.integer("train_batch_size");
    auto& model = models[{name, batch}];
    if (!model) {
      const std::string path = testing::fixture_path(name + ".onnx");
      ASSERT_TRUE(std::filesystem::exists(path)) << path << " is missing; run tests/fixtures/export_models.py";
      model = std::make_unique<Model>();
      graph::ImportOptions options;
      options.batch = batch;
      model->graph = graph::import_onnx(path, options);
      model->summary = graph::summarize(model->graph);
    }
    const auto t = predict_training_step(model->graph, model->summary, catalog.get(row.required("device")),
                                         hardware::Precision::kFp16, Optimizer::kSgdMomentum, calibration);
    const double measured_ms = row.number("train_step_time");
    const std::string group = row.required("split") + " " + row.required("layout");
    ape[group].push_back(std::abs(t.step.latency_ms.value - measured_ms) / measured_ms);
    inside[group] += t.step.latency_ms.low <= measured_ms && measured_ms <= t.step.latency_ms.high;
    if (group == "eval nchw" && (name == "mobilenet_v3_large" || name == "mnasnet1_0"))
      depthwise_held_out_error[name] = ape[group].back();
    // timm ran this batch on a 24 GB card, so the predicted training memory must fit (the only memory
    // evidence in the shared data: one-sided, it cannot calibrate the memory band).
    const auto memory = estimate_peak_memory(model->graph, model->summary, hardware::Precision::kFp16, Mode::kTraining,
                                             Optimizer::kSgdMomentum, 0, calibration, "nvidia");
    const double device_bytes = catalog.get(row.required("device")).memory_bytes();
    std::cout << fmt::format("  {:<20} {} batch {:4d}: predicted {:8.1f} ms, measured {:8.1f} ms; memory {:6.0f} MiB of {:6.0f}\n",
                             name, row.required("layout"), batch, t.step.latency_ms.value, row.number("train_step_time"),
                             memory.total_bytes / 1048576.0, device_bytes / 1048576.0);
    if (row.required("layout") == "nchw") memory_over += memory.total_bytes > device_bytes;
    // The backward pass costs more than the forward, and the step is their sum plus the update.
    EXPECT_GT(t.backward_s, t.forward_s) << name;
    EXPECT_NEAR(t.step.latency_ms.value, (t.forward_s + t.backward_s + t.optimizer_s) * 1e3, 1e-6) << name;
  }
  auto mape_of = [](const std::vector<double>& v) {
    double s = 0;
    for (double e : v) s += e;
    return s / static_cast<double>(v.size());
  };
  for (const auto& [group, v] : ape) {
    std::cout << fmt::format("training {}: MAPE {:.1f}%  inside band {:.0f}%  n={}\n", group, 100 * mape_of(v),
                             100.0 * inside[group] / static_cast<double>(v.size()), v.size());
  }
  // Known gap (memory.h, training): with the tensors autograd keeps (saved_activations.h) 3 of the 13
  // runs (resnet50, convnext_tiny, swin_t) are still predicted at 25-29 GiB although they ran on 24 GB
  // (6 when every activation was counted as kept). Lower this bound as the memory model improves.
  std::cout << fmt::format("training memory: {} of 13 NCHW runs predicted above the card's 24 GB\n", memory_over);
  EXPECT_LE(memory_over, 3);
  ASSERT_EQ(ape["eval nchw"].size(), 6u);
  EXPECT_LT(mape_of(ape["eval nchw"]), 0.11);  // one multiplier: 14.2%
  EXPECT_GE(inside["eval nchw"], 5);           // >= 80% of the held-out models; in-sample band: 4
  EXPECT_LT(mape_of(ape["fit nchw"]), 0.10);
  // The held-out depthwise models, 26-29% too fast with one multiplier.
  ASSERT_EQ(depthwise_held_out_error.size(), 2u);
  for (const auto& [name, error] : depthwise_held_out_error) EXPECT_LT(error, 0.15) << name;
  // Same figures as the script's (it predicts through the CLI): they must agree.
  std::ifstream in(calibration.file);
  const auto metrics = nlohmann::json::parse(in)["training"]["metrics"];
  const auto& held_out = metrics["eval nchw, held-out models"]["fitted"];
  EXPECT_NEAR(mape_of(ape["eval nchw"]), held_out["mape"].get<double>(), 0.01);
  EXPECT_NEAR(inside["eval nchw"] / 6.0, held_out["inside_band"].get<double>(), 1e-3);
}

}  // namespace
}  // namespace perfcast::predict
