// Channels-last (NHWC) layout in the calibrated roofline, against timm's measured NHWC throughput
// (PyTorch eager, AMP fp16; data/validation/timm_nhwc_rows.csv and the NHWC rows of timm_train_rows.csv,
// Apache-2.0, see SOURCE.md there).
//
// roofline.json "layout" (scripts/calibrate_layout.py) was fitted on the RTX 3090 PyTorch 2.4.0 NHWC file
// (split=fit); the other files are held out. Measured when fitted (MAPE / Acc10, NHWC step time):
//   3090 pt240 (fit) 7.0% / 62%, 3090 pt113 6.1% / 83%, 3090 pt210 7.5% / 69%, 4090 pt240 (batch 512)
//   19.6% / 23%, training 3090 pt112 9.3% / 54%;
// before (the NCHW prediction): 20.8%, 17.1%, 20.0%, 35.9%, 21.3%. The 4090's remaining error is the
// NCHW model's on that GPU: the predicted NHWC/NCHW ratio per sample against the measured one (the twin
// NCHW rows of timm_rows.csv) is within 7.5% MAPE there. Bounds below add a margin of 3-5 points and
// sit below the before figures, so they fail when the layout is ignored.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include "common/csv.h"
#include "common/error.h"
#include "graph/graph_summary.h"
#include "graph/onnx_import.h"
#include "hardware/device_catalog.h"
#include "predict/roofline.h"
#include "predict/roofline_calibration.h"
#include "support/cli_runner.h"
#include "support/fixtures.h"
#include "support/relative_errors.h"

namespace perfcast::predict {
namespace {

using hardware::Precision;

struct Model {
  graph::Graph graph;
  graph::GraphSummary summary;
};

// Imported fixtures, by (name, batch).
class Models {
 public:
  const Model& get(const std::string& name, int64_t batch) {
    auto& model = models_[{name, batch}];
    if (!model) {
      const std::string path = testing::fixture_path(name + ".onnx");
      if (!std::filesystem::exists(path))
        throw std::runtime_error(path + " is missing; run: /usr/bin/python3 tests/fixtures/export_models.py " +
                                 PERFCAST_FIXTURE_DIR);
      model = std::make_unique<Model>();
      graph::ImportOptions options;
      options.batch = batch;
      model->graph = graph::import_onnx(path, options);
      model->summary = graph::summarize(model->graph);
    }
    return *model;
  }

 private:
  std::map<std::pair<std::string, int64_t>, std::unique_ptr<Model>> models_;
};

double infer_ms(Models& models, const std::string& name, int64_t batch, const hardware::Device& device,
                const RooflineCalibration& c, Layout layout) {
  const Model& m = models.get(name, batch);
  return predict_inference_latency(m.graph, m.summary, device, Precision::kFp16, c, layout).latency_ms.value;
}

nlohmann::json layout_metrics(const RooflineCalibration& c) {
  std::ifstream in(c.file);
  return nlohmann::json::parse(in)["layout"]["metrics"];
}

TEST(RooflineLayout, HeldOutNhwcInferenceWithinMeasuredError) {
  const CsvTable rows = read_csv(hardware::default_data_dir() + "/validation/timm_nhwc_rows.csv");
  rows.require_columns({"perfcast_model", "file", "layout", "device", "split", "infer_batch_size", "infer_step_time"});
  const auto catalog = hardware::DeviceCatalog::load();
  const RooflineCalibration calibration = load_roofline_calibration();
  ASSERT_TRUE(calibration.layout.fitted) << "roofline.json has no layout key: run scripts/calibrate_layout.py";
  Models models;
  std::map<std::string, testing::RelativeErrors> nhwc, nchw_prediction;
  std::map<std::string, std::string> role;
  for (const CsvRow& row : rows.rows) {
    ASSERT_EQ(row.required("layout"), "nhwc");
    const auto& device = catalog.get(row.required("device"));
    const std::string name = row.required("perfcast_model");
    const int64_t batch = row.integer("infer_batch_size");
    const std::string file = device.id + " " + row.required("file");
    role[file] = row.required("split");
    const double measured_ms = row.number("infer_step_time");
    nhwc[file].add(infer_ms(models, name, batch, device, calibration, Layout::kNhwc), measured_ms);
    nchw_prediction[file].add(infer_ms(models, name, batch, device, calibration, Layout::kNchw), measured_ms);
  }
  ASSERT_EQ(nhwc.size(), 4u);
  const nlohmann::json script = layout_metrics(calibration)["after"];
  for (const auto& [file, e] : nhwc) {
    std::cout << fmt::format("{} ({}): NHWC MAPE {:.1f}% Acc10 {:.0f}% median pred/meas {:.3f} (NCHW prediction: "
                             "MAPE {:.1f}%) n={}\n",
                             file, role[file], e.mape(), e.acc10(), e.median_ratio(), nchw_prediction[file].mape(),
                             e.rel.size());
    const bool rtx3090 = file.rfind("rtx-3090", 0) == 0;
    EXPECT_LT(e.mape(), rtx3090 ? 11.0 : 23.0) << file;
    EXPECT_GE(e.acc10(), rtx3090 ? 50.0 : 15.0) << file;
    EXPECT_LT(e.mape(), nchw_prediction[file].mape() - 10.0) << file << ": the layout should remove most of the error";
    // The script's figures come from the CLI (scripts/calibrate_layout.py): the two must agree.
    const std::string key = file + " (" + role[file] + ")";
    ASSERT_TRUE(script.contains(key)) << key;
    EXPECT_NEAR(e.mape(), 100 * script[key]["mape"].get<double>(), 0.1)
        << key << ": C++ and roofline.json layout.metrics disagree (NCHW constants refitted?); rerun "
        << "/usr/bin/python3 scripts/calibrate_layout.py";
  }
}

// The layout effect alone, free of the NCHW model's error on a GPU: predicted NHWC/NCHW time per sample
// against the measured one, the NCHW twin taken from timm_rows.csv (same GPU, same PyTorch version).
TEST(RooflineLayout, HeldOutNhwcOverNchwRatioOnRtx4090) {
  const auto catalog = hardware::DeviceCatalog::load();
  const RooflineCalibration calibration = load_roofline_calibration();
  const std::string dir = hardware::default_data_dir() + "/validation/";
  const CsvTable nchw_rows = read_csv(dir + "timm_rows.csv");
  std::map<std::pair<std::string, std::string>, const CsvRow*> twin;  // (model, NHWC file name) -> NCHW row
  for (const CsvRow& r : nchw_rows.rows) {
    std::string file = r.required("file");
    const auto at = file.find("-nchw-");
    if (at != std::string::npos) file.replace(at, 6, "-nhwc-");
    twin[{r.required("perfcast_model"), file}] = &r;
  }
  Models models;
  testing::RelativeErrors ratio, ignored;  // ignored: the layout not modelled
  for (const CsvRow& row : read_csv(dir + "timm_nhwc_rows.csv").rows) {
    if (row.required("device") != "rtx-4090") continue;
    const std::string name = row.required("perfcast_model");
    const auto it = twin.find({name, row.required("file")});
    ASSERT_NE(it, twin.end()) << name;
    const auto& device = catalog.get("rtx-4090");
    const int64_t batch = row.integer("infer_batch_size"), twin_batch = it->second->integer("infer_batch_size");
    const double measured = (row.number("infer_step_time") / batch) /
                            (it->second->number("infer_step_time") / twin_batch);
    const double nchw = infer_ms(models, name, twin_batch, device, calibration, Layout::kNchw) / twin_batch;
    ratio.add(infer_ms(models, name, batch, device, calibration, Layout::kNhwc) / batch / nchw, measured);
    ignored.add(infer_ms(models, name, batch, device, calibration, Layout::kNchw) / batch / nchw, measured);
  }
  std::cout << fmt::format("RTX 4090 NHWC/NCHW per sample: MAPE {:.1f}% (layout ignored: {:.1f}%), n={}\n",
                           ratio.mape(), ignored.mape(), ratio.rel.size());
  ASSERT_EQ(ratio.rel.size(), 13u);
  EXPECT_LT(ratio.mape(), 11.0);  // 7.5% when fitted; 24.6% with the layout ignored
  EXPECT_GT(ignored.mape(), 18.0);
}

TEST(RooflineLayout, HeldOutNhwcTrainingWithinMeasuredError) {
  const CsvTable rows = read_csv(hardware::default_data_dir() + "/validation/timm_train_rows.csv");
  const auto catalog = hardware::DeviceCatalog::load();
  const RooflineCalibration calibration = load_roofline_calibration();
  Models models;
  testing::RelativeErrors nhwc, ignored;
  for (const CsvRow& row : rows.rows) {
    if (row.required("layout") != "nhwc") continue;
    const Model& m = models.get(row.required("perfcast_model"), row.integer("train_batch_size"));
    const auto& device = catalog.get(row.required("device"));
    const double measured_ms = row.number("train_step_time");
    for (auto [layout, errors] : {std::pair{Layout::kNhwc, &nhwc}, std::pair{Layout::kNchw, &ignored}}) {
      errors->add(predict_training_step(m.graph, m.summary, device, Precision::kFp16, Optimizer::kSgdMomentum,
                                        calibration, layout)
                      .step.latency_ms.value,
                  measured_ms);
    }
  }
  std::cout << fmt::format("training NHWC: MAPE {:.1f}% Acc10 {:.0f}% (layout ignored: {:.1f}%), n={}\n", nhwc.mape(),
                           nhwc.acc10(), ignored.mape(), nhwc.rel.size());
  ASSERT_EQ(nhwc.rel.size(), 13u);
  EXPECT_LT(nhwc.mape(), 13.0);  // 9.3% when fitted
  EXPECT_GT(ignored.mape(), 18.0);
}

// NCHW predictions do not depend on the layout constants; NHWC with every factor 1 is NCHW; NHWC is not
// modelled at fp32 (SIMT kernels, no measurements) nor on a CPU: predicted as NCHW, with a warning.
TEST(RooflineLayout, NchwUnchangedAndNhwcOnlyAtTensorCorePrecisionsOnGpus) {
  const auto catalog = hardware::DeviceCatalog::load();
  const RooflineCalibration shipped = load_roofline_calibration();
  RooflineCalibration other = shipped;
  other.layout.nhwc_time_factor.fill(0.5);
  RooflineCalibration unit = shipped;
  unit.layout.nhwc_time_factor.fill(1.0);
  Models models;
  const Model& m = models.get("resnet18", 64);
  const auto& gpu = catalog.get("rtx-3090");
  auto infer = [&](const hardware::Device& d, Precision p, const RooflineCalibration& c, Layout layout) {
    return predict_inference_latency(m.graph, m.summary, d, p, c, layout);
  };
  for (Precision p : {Precision::kFp16, Precision::kFp32}) {
    const double by_default = predict_inference_latency(m.graph, m.summary, gpu, p, shipped).latency_ms.value;
    EXPECT_EQ(infer(gpu, p, shipped, Layout::kNchw).latency_ms.value, by_default);
    EXPECT_EQ(infer(gpu, p, other, Layout::kNchw).latency_ms.value, by_default);
    EXPECT_EQ(predict_training_step(m.graph, m.summary, gpu, p, Optimizer::kAdam, other, Layout::kNchw)
                  .step.latency_ms.value,
              predict_training_step(m.graph, m.summary, gpu, p, Optimizer::kAdam, shipped).step.latency_ms.value);
  }
  const double nchw = infer(gpu, Precision::kFp16, shipped, Layout::kNchw).latency_ms.value;
  EXPECT_NEAR(infer(gpu, Precision::kFp16, unit, Layout::kNhwc).latency_ms.value, nchw, 1e-9 * nchw);
  const auto nhwc = infer(gpu, Precision::kFp16, shipped, Layout::kNhwc);
  EXPECT_LT(nhwc.latency_ms.value, 0.95 * nchw) << "channels_last should speed up a ResNet at fp16";
  EXPECT_TRUE(nhwc.warnings.empty());

  const auto fp32 = infer(gpu, Precision::kFp32, shipped, Layout::kNhwc);
  EXPECT_EQ(fp32.latency_ms.value, infer(gpu, Precision::kFp32, shipped, Layout::kNchw).latency_ms.value);
  ASSERT_FALSE(fp32.warnings.empty());
  EXPECT_NE(fp32.warnings.back().find("predicted as NCHW"), std::string::npos) << fp32.warnings.back();
  const auto& cpu = catalog.get("generic-cpu");
  const auto on_cpu = infer(cpu, Precision::kFp32, shipped, Layout::kNhwc);
  EXPECT_EQ(on_cpu.latency_ms.value, infer(cpu, Precision::kFp32, shipped, Layout::kNchw).latency_ms.value);
  EXPECT_NE(on_cpu.warnings.back().find("predicted as NCHW"), std::string::npos);
}

TEST(RooflineLayout, ParsesNames) {
  EXPECT_EQ(parse_layout("NHWC"), Layout::kNhwc);
  EXPECT_EQ(parse_layout("channels_last"), Layout::kNhwc);
  EXPECT_EQ(parse_layout("nchw"), Layout::kNchw);
  EXPECT_THROW(parse_layout("chw"), Error);
  EXPECT_EQ(layout_name(Layout::kNhwc), "nhwc");
}

TEST(RooflineLayoutCli, AcceptsNhwcAndRejectsOtherValues) {
  const std::string model = testing::fixture_path("resnet18.onnx");
  const std::string common = model + " --device rtx-3090 --precision fp16 --batch 64 --predictor roofline --json";
  const auto nchw = testing::run_cli("predict " + common, "", false);
  const auto nhwc = testing::run_cli("predict " + common + " --layout nhwc", "", false);
  ASSERT_EQ(nchw.exit_code, 0) << nchw.output;
  ASSERT_EQ(nhwc.exit_code, 0) << nhwc.output;
  const auto a = nlohmann::json::parse(nchw.output), b = nlohmann::json::parse(nhwc.output);
  EXPECT_EQ(a["layout"], "nchw");
  EXPECT_EQ(b["layout"], "nhwc");
  EXPECT_LT(b["latency_ms"]["value"].get<double>(), 0.95 * a["latency_ms"]["value"].get<double>());

  const auto bad = testing::run_cli("predict " + common + " --layout chw");
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.output.find("unknown layout 'chw'"), std::string::npos) << bad.output;
  const auto learned = testing::run_cli("predict " + model + " --device rtx-3090 --precision fp16 --layout nhwc "
                                        "--predictor xgb");
  EXPECT_NE(learned.exit_code, 0);
  EXPECT_NE(learned.output.find("NCHW"), std::string::npos) << learned.output;
}

}  // namespace
}  // namespace perfcast::predict
