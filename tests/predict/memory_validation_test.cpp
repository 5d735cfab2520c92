// perfcast's tensor memory (weights, activations, gradients, optimizer state) against PyTorch's
// measured peak of live tensors on CPU (data/validation/tensor_memory_rows.csv, written by
// scripts/measure_tensor_memory.py; method and scope in data/validation/SOURCE.md). Tensors only: no
// GPU runtime context, workspace or allocator caching is validated here.
// The memory band's tensor factors (data/calibration/memory.json) are computed here, and checked by
// leaving one model out at a time.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "common/csv.h"
#include "common/json_file.h"
#include "common/quantile.h"
#include "graph/graph_summary.h"
#include "graph/onnx_import.h"
#include "hardware/device_catalog.h"
#include "predict/memory.h"
#include "predict/memory_calibration.h"
#include "predict/roofline_calibration.h"
#include "support/fixtures.h"
#include "support/relative_errors.h"

namespace perfcast::predict {
namespace {

Optimizer optimizer_of(const std::string& text) {
  if (text == "sgd-momentum") return Optimizer::kSgdMomentum;
  if (text == "adam") return Optimizer::kAdam;
  return Optimizer::kNone;
}

struct TensorRow {
  std::string model;
  std::string mode;  // "inference" or "training"
  double predicted_bytes = 0;
  double measured_bytes = 0;
  double ratio() const { return measured_bytes / predicted_bytes; }
};

// Every comparable row of the CSV with perfcast's tensor bytes for it (fp32, CPU).
const std::vector<TensorRow>& tensor_rows() {
  static const std::vector<TensorRow> rows = [] {
    const CsvTable table = read_csv(hardware::default_data_dir() + "/validation/tensor_memory_rows.csv");
    const RooflineCalibration calibration = load_roofline_calibration();
    std::vector<TensorRow> out;
    for (const CsvRow& row : table.rows) {
      const std::string& model = row.at("model");
      // The transformer fixtures run PyTorch's fused encoder fast path in eval mode (not comparable), and
      // the two synthetic fixtures are not torchvision models.
      if (model == "tiny_encoder" || model == "einsum_attention" || model == "custom_convtranspose" || model == "model")
        continue;
      const std::string& mode = row.at("mode");
      const auto batch = static_cast<int64_t>(row.number("batch"));
      graph::ImportOptions options;
      options.batch = batch;
      const graph::Graph g = graph::import_onnx(testing::fixture_path(model + ".onnx"), options);
      const MemoryEstimate m = estimate_peak_memory(g, graph::summarize(g), hardware::Precision::kFp32,
                                                    mode == "training" ? Mode::kTraining : Mode::kInference,
                                                    optimizer_of(row.at("optimizer")), batch, calibration, "cpu");
      out.push_back({model, mode, m.tensor_bytes(), row.number("measured_tensor_bytes")});
    }
    return out;
  }();
  return rows;
}

TEST(MemoryValidation, TensorPeakMatchesPyTorchOnCpu) {
  std::map<std::string, testing::RelativeErrors> by_mode;
  for (const TensorRow& r : tensor_rows()) by_mode[r.mode].add(r.predicted_bytes, r.measured_bytes);
  for (const auto& [mode, e] : by_mode)
    std::printf("[ memory validation ] tensor memory, CPU, %s: %zu rows, MAPE %.1f%%, Acc(10%%) %.0f%%, median "
                "predicted/measured %.3f\n",
                mode.c_str(), e.rel.size(), e.mape(), e.acc10(), e.median_ratio());
  ASSERT_EQ(by_mode.size(), 2u);
  // Measured 2026-11-23: training 3.8%; inference 3.4% MAPE, Acc(10%) 85% with eager module-scope
  // liveness (9.2%, 62% with last-reader liveness). What is left over-predicts: in-place ReLUs and
  // SiLU/GELU, which the export splits into several ops that each allocate.
  EXPECT_LT(by_mode["training"].mape(), 6.0);
  EXPECT_LT(by_mode["inference"].mape(), 5.0);
  EXPECT_GE(by_mode["inference"].acc10(), 75.0);
}

// The eager liveness is what closes the inference gap: every torchvision model that runs no in-place
// or split activation at its peak is predicted to within 2.5%.
TEST(MemoryValidation, EagerLivenessMatchesModelsWithoutInplaceActivationsAtThePeak) {
  const std::set<std::string> exact = {"resnet18", "resnet50", "mobilenet_v2", "mobilenet_v3_large", "shufflenet_v2_x1_0",
                                       "mnasnet1_0", "regnet_y_400mf", "googlenet", "densenet121"};
  int checked = 0;
  for (const TensorRow& r : tensor_rows()) {
    if (r.mode != "inference" || !exact.count(r.model)) continue;
    EXPECT_NEAR(r.ratio(), 1.0, 0.025) << r.model << ": measured " << r.measured_bytes << ", predicted "
                                       << r.predicted_bytes;
    ++checked;
  }
  EXPECT_EQ(checked, 24);
}

double coverage_pct(const std::vector<double>& ratios, const FactorBand& band) {
  int inside = 0;
  for (double r : ratios) inside += r >= band.low && r <= band.high ? 1 : 0;
  return 100.0 * inside / static_cast<double>(ratios.size());
}

// measured / predicted, between the percentiles memory.json names, over every model's rows, must be what
// memory.json ships.
// Its held-out coverage is measured by leaving one model out at a time: the band fitted on the other
// models' rows, checked on the left-out model's rows. memory.json ships the band (calibrated) when that
// coverage is at least 70% (the band targets 80%), else a stated assumption that must hold for 70%.
TEST(MemoryValidation, TensorBandHoldsForModelsLeftOutOfItsFit) {
  const std::vector<TensorRow>& rows = tensor_rows();
  const std::string path = default_memory_calibration_path();
  const nlohmann::json file = read_json_file(path, "memory calibration");
  const auto& tensor_band = file.at("tensor_band");
  std::set<std::string> models;
  for (const TensorRow& r : rows) models.insert(r.model);
  EXPECT_EQ(tensor_band.at("models").get<std::set<std::string>>(), models) << "models in " << path;
  const MemoryCalibration shipped = load_memory_calibration(path);
  constexpr double kMinCoveragePct = 70.0;
  const double low_q = tensor_band.at("low_quantile").get<double>(), high_q = tensor_band.at("high_quantile").get<double>();

  for (const std::string mode : {"inference", "training"}) {
    std::vector<double> all_ratios;
    testing::RelativeErrors errors;
    for (const TensorRow& r : rows)
      if (r.mode == mode) {
        all_ratios.push_back(r.ratio());
        errors.add(r.predicted_bytes, r.measured_bytes);
      }
    int inside_left_out = 0;
    for (const std::string& left_out : models) {
      std::vector<double> fit_ratios, left_out_ratios;
      for (const TensorRow& r : rows)
        if (r.mode == mode) (r.model == left_out ? left_out_ratios : fit_ratios).push_back(r.ratio());
      const FactorBand band{quantile(fit_ratios, low_q), quantile(fit_ratios, high_q)};
      for (double ratio : left_out_ratios) inside_left_out += ratio >= band.low && ratio <= band.high ? 1 : 0;
    }
    const double left_out_coverage = 100.0 * inside_left_out / static_cast<double>(all_ratios.size());
    const FactorBand fitted{quantile(all_ratios, low_q), quantile(all_ratios, high_q)};
    const MeasuredTensorBand& band = mode == "inference" ? shipped.inference : shipped.training;
    const double shipped_coverage = coverage_pct(all_ratios, band.factors);
    std::printf("[ memory band ] %s: %zu rows of %zu models -> low_factor %.4f, high_factor %.4f; leave-one-model-out "
                "coverage %.1f%%; MAPE %.2f%%, Acc(10%%) %.1f%%; shipped band x%.4f-x%.4f (%s)\n",
                mode.c_str(), all_ratios.size(), models.size(), fitted.low, fitted.high, left_out_coverage,
                errors.mape(), errors.acc10(), band.factors.low, band.factors.high,
                band.calibrated ? "fitted" : "assumed");

    const auto& stated = tensor_band.at(mode).at("fitted");
    EXPECT_NEAR(stated.at("low_factor").get<double>(), fitted.low, 5e-4) << mode << ": refit and update " << path;
    EXPECT_NEAR(stated.at("high_factor").get<double>(), fitted.high, 5e-4) << mode << ": refit and update " << path;
    EXPECT_NEAR(band.fitted_coverage_pct, left_out_coverage, 0.05) << mode;
    EXPECT_EQ(band.held_out_rows, static_cast<int>(all_ratios.size())) << mode;
    EXPECT_EQ(band.calibrated, left_out_coverage >= kMinCoveragePct) << mode;
    if (band.calibrated) {
      EXPECT_NEAR(band.factors.low, fitted.low, 5e-4) << mode;
      EXPECT_NEAR(band.factors.high, fitted.high, 5e-4) << mode;
      EXPECT_NEAR(band.held_out_coverage_pct, left_out_coverage, 0.05) << mode;
    } else {
      EXPECT_NEAR(band.held_out_coverage_pct, shipped_coverage, 0.05) << mode;
      EXPECT_GE(shipped_coverage, kMinCoveragePct) << mode;
    }
  }
}

}  // namespace
}  // namespace perfcast::predict
