// End-to-end check of the calibrated roofline against measured inference throughput: timm's
// benchmark CSVs (PyTorch eager, AMP fp16, NCHW; batch 1024, 2048 on the RTX PRO 6000) on four GPUs
// (RTX 3090 x3 PyTorch versions, RTX 4090 x2, RTX 5090, RTX PRO 6000 Blackwell Max-Q), for the
// torchvision fixtures with the same architecture and input size (data/validation/timm_rows.csv,
// extracted by scripts/calibrate_roofline.py --extract-timm; Apache-2.0, see SOURCE.md there).
//
// The tensor-core and memory multipliers of data/calibration/roofline.json were fitted on the rows
// with split=fit (RTX 3090, PyTorch 2.4.0); every other file is held out for them. Measured when
// written, per GPU (MAPE / Acc10 / median predicted/measured): 3090 7.6% / 76% / 0.98, 4090 14.2% /
// 27% / 1.13, 5090 6.5% / 85% / 0.99, PRO 6000 Max-Q 16.3% / 23% / 0.86. The bounds add a margin.
// The latency band (roofline.json interval) is the band for a GPU outside the fit: the 10th/90th
// percentile of measured/predicted when log(measured/predicted) = a GPU bias (normal, from the four GPUs'
// mean log ratios, sd x sqrt(1 + 1/G)) + a within-GPU residual (scripts/calibrate_roofline.py
// new_gpu_band). Its held-out check is leave-one-GPU-out (each GPU's band from the other GPUs' rows),
// measured when fitted: 3090 100%, 4090 73%, 5090 92%, PRO 6000 31%; 81% of the 90 rows. (The band
// before, percentiles of the pooled rows, held 92%, 54%, 77%, 23%: 69%.)
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include "common/csv.h"
#include "common/quantile.h"
#include "graph/graph_summary.h"
#include "graph/onnx_import.h"
#include "hardware/device_catalog.h"
#include "predict/memory.h"
#include "predict/roofline.h"
#include "predict/roofline_calibration.h"
#include "support/fixtures.h"
#include "support/relative_errors.h"

namespace perfcast::predict {
namespace {

struct Model {
  graph::Graph graph;
  graph::GraphSummary summary;
};

// One timm row and what perfcast predicts for it.
struct E2eRow {
  std::string device;
  std::string file_key;  // "<device> <timm file>", as roofline.json metrics.end_to_end_timm.per_file
  double predicted_ms = 0;
  double low_ms = 0, high_ms = 0;  // the shipped band
  double measured_ms = 0;
  double ratio() const { return measured_ms / predicted_ms; }
};

// Per-GPU limits, measured value + margin (see the header): a broken roofline breaks one of them.
struct GpuLimits {
  double max_mape_pct;
  double min_acc10_pct;
  double max_median_bias;     // |median predicted/measured - 1|
  double min_logo_coverage;   // share inside the band fitted on the other GPUs' rows
};
const std::map<std::string, GpuLimits> kGpuLimits = {
    {"rtx-3090", {11.0, 60.0, 0.06, 0.95}},
    {"rtx-4090", {18.0, 20.0, 0.17, 0.65}},
    {"rtx-5090", {10.0, 65.0, 0.06, 0.80}},
    {"rtx-pro-6000-blackwell-max-q", {20.0, 15.0, 0.18, 0.20}},
};

std::vector<E2eRow> predict_timm_rows(const RooflineCalibration& calibration) {
  const CsvTable rows = read_csv(hardware::default_data_dir() + "/validation/timm_rows.csv");
  rows.require_columns({"perfcast_model", "file", "device", "split", "infer_batch_size", "infer_step_time"});
  const auto catalog = hardware::DeviceCatalog::load();
  std::map<std::pair<std::string, int64_t>, std::unique_ptr<Model>> models;
  std::vector<E2eRow> out;
  for (const CsvRow& row : rows.rows) {
    const std::string name = row.required("perfcast_model");
    const int64_t batch = row.integer("infer_batch_size");
    auto& model = models[{name, batch}];
    if (!model) {
      const std::string path = testing::fixture_path(name + ".onnx");
      if (!std::filesystem::exists(path)) {
        ADD_FAILURE() << path << " is missing; run: /usr/bin/python3 tests/fixtures/export_models.py "
                      << PERFCAST_FIXTURE_DIR;
        return {};
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
    out.push_back({device.id, device.id + " " + row.required("file"), p.latency_ms.value, p.latency_ms.low,
                   p.latency_ms.high, row.number("infer_step_time")});
  }
  return out;
}

// Standard normal quantile, by bisection on the CDF.
double normal_quantile(double p) {
  double lo = -10, hi = 10;
  for (int i = 0; i < 200; ++i) {
    const double mid = 0.5 * (lo + hi);
    (0.5 * std::erfc(-mid / std::sqrt(2.0)) < p ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

// The band for a GPU outside `rows` (scripts/calibrate_roofline.py new_gpu_band): the 10th/90th
// percentiles of mean bias + sd x sqrt(1 + 1/G) x z_k + within-GPU residual, z_k the normal quantiles at
// 1%..99%, the bias sd that of the GPUs' mean log ratios; low capped at 1 from above, high from below.
std::pair<double, double> new_gpu_band(const std::vector<E2eRow>& rows) {
  std::map<std::string, std::vector<double>> by_gpu;
  for (const auto& r : rows) by_gpu[r.device].push_back(std::log(r.ratio()));
  std::vector<double> means;
  std::vector<double> within;
  for (const auto& [gpu, logs] : by_gpu) {
    double mean = 0;
    for (double v : logs) mean += v / static_cast<double>(logs.size());
    means.push_back(mean);
    for (double v : logs) within.push_back(v - mean);
  }
  const double g = static_cast<double>(means.size());
  double mu = 0, var = 0;
  for (double m : means) mu += m / g;
  for (double m : means) var += (m - mu) * (m - mu) / (g - 1);
  const double spread = std::sqrt(var) * std::sqrt(1 + 1 / g);
  std::vector<double> values;
  for (int k = 1; k <= 99; ++k)
    for (double e : within) values.push_back(mu + spread * normal_quantile(k / 100.0) + e);
  return {std::min(1.0, std::exp(quantile(values, 0.10))), std::max(1.0, std::exp(quantile(values, 0.90)))};
}

double inside_share(const std::vector<E2eRow>& rows, double low_factor, double high_factor) {
  int n = 0;
  for (const auto& r : rows) n += low_factor <= r.ratio() && r.ratio() <= high_factor;
  return static_cast<double>(n) / static_cast<double>(rows.size());
}

TEST(RooflineTimmEndToEnd, PerGpuAccuracyAndLeaveOneGpuOutBand) {
  const RooflineCalibration calibration = load_roofline_calibration();
  const std::vector<E2eRow> rows = predict_timm_rows(calibration);
  ASSERT_EQ(rows.size(), 90u) << "timm_rows.csv: 7 files x 13 models, convnext_tiny missing from pt113";
  nlohmann::json json;
  {
    std::ifstream in(calibration.file);
    json = nlohmann::json::parse(in);
  }
  const auto& interval = json.at("interval");
  const auto& per_file = json.at("metrics").at("end_to_end_timm").at("per_file");

  std::map<std::string, std::vector<E2eRow>> by_gpu, by_file;
  for (const auto& r : rows) {
    by_gpu[r.device].push_back(r);
    by_file[r.file_key].push_back(r);
  }
  ASSERT_EQ(by_gpu.size(), kGpuLimits.size());
  ASSERT_EQ(by_file.size(), 7u);

  // Per file: C++ accuracy, printed, and the same as the script's (it reads predict_bench's export of
  // these very predictions; a mismatch means roofline.json was not refitted after a C++ change).
  for (const auto& [key, file_rows] : by_file) {
    testing::RelativeErrors e;
    for (const auto& r : file_rows) e.add(r.predicted_ms, r.measured_ms);
    std::cout << fmt::format("{}: MAPE {:.1f}%  Acc10 {:.0f}%  n={}\n", key, e.mape(), e.acc10(), file_rows.size());
    ASSERT_TRUE(per_file.contains(key)) << key << ": rerun /usr/bin/python3 scripts/calibrate_roofline.py --band-only";
    EXPECT_NEAR(e.mape(), 100 * per_file[key]["mape"].get<double>(), 0.05)
        << key << ": C++ predictions moved since the band was fitted; rerun "
        << "/usr/bin/python3 scripts/calibrate_roofline.py --band-only";
  }

  // The shipped band: the new-GPU band of the fit GPUs' rows, as predict applies it.
  const auto& logo_json = interval.at("leave_one_gpu_out");
  std::vector<E2eRow> fit_rows;
  for (const auto& r : rows)
    if (logo_json.contains(r.device)) fit_rows.push_back(r);
  const double low = interval.at("low_factor").get<double>(), high = interval.at("high_factor").get<double>();
  const auto [band_low, band_high] = new_gpu_band(fit_rows);
  EXPECT_NEAR(low, band_low, 1e-3) << "band not refitted on current predictions";
  EXPECT_NEAR(high, band_high, 1e-3) << "band not refitted on current predictions";
  int inside_shipped = 0;
  for (const auto& r : rows) {
    EXPECT_NEAR(r.low_ms, r.predicted_ms * low, 1e-6 * r.predicted_ms);
    EXPECT_NEAR(r.high_ms, r.predicted_ms * high, 1e-6 * r.predicted_ms);
    inside_shipped += r.low_ms <= r.measured_ms && r.measured_ms <= r.high_ms;
  }
  const double shipped_coverage = static_cast<double>(inside_shipped) / static_cast<double>(rows.size());
  // In sample the new-GPU band is wider than the pooled rows' 80% (90% when fitted): it adds the bias
  // spread a GPU outside the fit sees.
  EXPECT_GE(shipped_coverage, 0.80);
  EXPECT_LE(shipped_coverage, 0.95);

  // Per GPU: accuracy, and leave-one-GPU-out coverage (band from the other GPUs' rows).
  int logo_inside_rows = 0;
  for (const auto& [gpu, gpu_rows] : by_gpu) {
    const GpuLimits& limit = kGpuLimits.at(gpu);
    testing::RelativeErrors e;
    std::vector<double> pred_over_meas;
    std::vector<E2eRow> others;
    for (const auto& r : gpu_rows) {
      e.add(r.predicted_ms, r.measured_ms);
      pred_over_meas.push_back(r.predicted_ms / r.measured_ms);
    }
    for (const auto& r : rows)
      if (r.device != gpu) others.push_back(r);
    const double median_ratio = median(pred_over_meas);
    ASSERT_TRUE(logo_json.contains(gpu)) << gpu;
    const double logo_low = logo_json[gpu]["low_factor"].get<double>();
    const double logo_high = logo_json[gpu]["high_factor"].get<double>();
    const auto [others_low, others_high] = new_gpu_band(others);
    EXPECT_NEAR(logo_low, others_low, 1e-3) << gpu;
    EXPECT_NEAR(logo_high, others_high, 1e-3) << gpu;
    const double coverage = inside_share(gpu_rows, logo_low, logo_high);
    logo_inside_rows += static_cast<int>(std::lround(coverage * static_cast<double>(gpu_rows.size())));
    std::cout << fmt::format("{}: n={} MAPE {:.1f}%  Acc10 {:.0f}%  median pred/meas {:.3f}  band from the other "
                             "GPUs x{:.3f}..x{:.3f} holds {:.0f}%\n",
                             gpu, gpu_rows.size(), e.mape(), e.acc10(), median_ratio, logo_low, logo_high,
                             100 * coverage);
    EXPECT_LT(e.mape(), limit.max_mape_pct) << gpu;
    EXPECT_GE(e.acc10(), limit.min_acc10_pct) << gpu;
    EXPECT_LE(std::abs(median_ratio - 1), limit.max_median_bias) << gpu;
    EXPECT_GE(coverage, limit.min_logo_coverage) << gpu;
    EXPECT_NEAR(coverage, logo_json[gpu]["coverage"].get<double>(), 1e-9) << gpu;
  }
  const double logo_coverage = static_cast<double>(logo_inside_rows) / static_cast<double>(rows.size());
  std::cout << fmt::format("leave-one-GPU-out: {} of {} rows inside the band fitted without their GPU ({:.0f}%); "
                           "shipped band x{:.3f}..x{:.3f} holds {:.0f}% in sample\n",
                           logo_inside_rows, rows.size(), 100 * logo_coverage, low, high, 100 * shipped_coverage);
  EXPECT_GE(logo_coverage, 0.75);  // 81% when fitted (the pooled-rows band: 69%)
  EXPECT_NEAR(logo_coverage, interval.at("leave_one_gpu_out_coverage").get<double>(), 1e-9);
}

// Training step (forward + backward + SGD-momentum update, AMP fp16) against timm's measured training
// step time on an RTX 3090 (PyTorch 1.12; data/validation/timm_train_rows.csv, written by
// scripts/calibrate_training.py). The backward multipliers in roofline.json (general, and depthwise
// convolutions') were fitted on the NCHW rows of 7 models (split=fit, two of them depthwise: MobileNetV2,
// EfficientNet-B0); the other 6 models are held out, among them the depthwise MobileNetV3-L and MnasNet.
// The band comes from leave-one-model-out residuals of the fit models. Measured when fitted: held-out
// NCHW MAPE 7.3%, 6 of 6 inside the band, fit rows 12.7% (one multiplier, in-sample band: 14.2%, 4 of 6).
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
  EXPECT_LT(mape_of(ape["fit nchw"]), 0.14);  // RegNetY-400MF (grouped) 28% too fast
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
