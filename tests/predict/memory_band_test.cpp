// The peak-memory band a prediction reports: tensor part x the factors of data/calibration/memory.json
// plus the documented ranges of the GPU parts, with `calibrated` and `band_basis` saying which is which.
#include "predict/memory_calibration.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "graph/model_source.h"
#include "graph/onnx_import.h"
#include "hardware/device_catalog.h"
#include "predict/llm_serving.h"
#include "predict/workload.h"
#include "support/fixtures.h"

namespace perfcast::predict {
namespace {

constexpr double kMiB = 1024.0 * 1024.0;

const hardware::Device& device(const std::string& id) {
  static const hardware::DeviceCatalog c = hardware::DeviceCatalog::load();
  return c.get(id);
}

const ModelWorkload& resnet18() {
  static const ModelWorkload w = [] {
    graph::ImportOptions options;
    options.batch = 8;
    return make_workload("resnet18", graph::import_onnx(testing::fixture_path("resnet18.onnx"), options));
  }();
  return w;
}

nlohmann::json predict_json(const ModelWorkload& w, const std::string& device_id, hardware::Precision precision,
                            Mode mode) {
  static const RooflineCalibration calibration = load_roofline_calibration();
  PredictRequest request;
  request.precision = precision;
  request.mode = mode;
  if (mode == Mode::kTraining) request.optimizer = Optimizer::kAdam;
  return to_json(predict_workload(w, device(device_id), request, calibration));
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(MemoryBand, Fp32InferenceOnAGpuCarriesTheMeasuredTensorBandPlusGpuRanges) {
  const MemoryCalibration& c = default_memory_calibration();
  ASSERT_TRUE(c.inference.calibrated);
  const nlohmann::json j = predict_json(resnet18(), "a100-sxm4-40gb", hardware::Precision::kFp32, Mode::kInference);
  const auto& band = j.at("peak_memory_mb");
  EXPECT_TRUE(band.at("calibrated").get<bool>());
  const std::string basis = band.at("band_basis");
  EXPECT_TRUE(contains(basis, "fitted on measurements")) << basis;
  EXPECT_TRUE(contains(basis, "with each model left out of the fit, it holds for")) << basis;
  EXPECT_TRUE(contains(basis, "GPU runtime context")) << basis;
  EXPECT_TRUE(contains(basis, "not measured")) << basis;

  const auto& parts = j.at("memory_breakdown_mb");
  const double tensor_mb = parts.at("weights").get<double>() + parts.at("activations").get<double>();
  const double workspace_mb = parts.at("workspace").get<double>();
  const ByteRange context = c.runtime_context_range("nvidia");
  EXPECT_NEAR(band.at("low").get<double>(), tensor_mb * c.inference.factors.low + context.low_bytes / kMiB, 1e-6);
  EXPECT_NEAR(band.at("high").get<double>(),
              tensor_mb * c.inference.factors.high + context.high_bytes / kMiB + workspace_mb, 1e-6);
  EXPECT_LT(band.at("low").get<double>(), band.at("value").get<double>());
  EXPECT_GT(band.at("high").get<double>(), band.at("value").get<double>());
}

TEST(MemoryBand, CpuHasNoGpuParts) {
  const MemoryCalibration& c = default_memory_calibration();
  const nlohmann::json j = predict_json(resnet18(), "generic-cpu", hardware::Precision::kFp32, Mode::kInference);
  const auto& band = j.at("peak_memory_mb");
  EXPECT_TRUE(band.at("calibrated").get<bool>());
  EXPECT_FALSE(contains(band.at("band_basis"), "runtime context")) << band.at("band_basis");
  EXPECT_EQ(j.at("memory_breakdown_mb").at("runtime_context").get<double>(), 0.0);
  const auto& parts = j.at("memory_breakdown_mb");
  const double tensor_mb = parts.at("weights").get<double>() + parts.at("activations").get<double>();
  EXPECT_NEAR(band.at("low").get<double>(), tensor_mb * c.inference.factors.low, 1e-6);
}

TEST(MemoryBand, UnmeasuredSettingsSayWhy) {
  const std::string fp16 = predict_json(resnet18(), "a100-sxm4-40gb", hardware::Precision::kFp16, Mode::kInference)
                               .at("peak_memory_mb")
                               .dump();
  EXPECT_TRUE(contains(fp16, "\"calibrated\":false")) << fp16;
  EXPECT_TRUE(contains(fp16, "applied to fp16 unmeasured")) << fp16;

  const auto training = predict_json(resnet18(), "a100-sxm4-40gb", hardware::Precision::kFp32, Mode::kTraining)
                            .at("peak_memory_mb");
  EXPECT_EQ(training.at("calibrated").get<bool>(), default_memory_calibration().training.calibrated);

  // Without module scopes in the node names the activations use last-reader liveness, not the measured rule.
  graph::Graph unscoped = resnet18().graph;
  for (size_t n = 0; n < unscoped.nodes.size(); ++n) unscoped.nodes[n].name = "node_" + std::to_string(n);
  const auto plain = predict_json(make_workload("resnet18", std::move(unscoped)), "a100-sxm4-40gb",
                                  hardware::Precision::kFp32, Mode::kInference)
                         .at("peak_memory_mb");
  EXPECT_FALSE(plain.at("calibrated").get<bool>());
  EXPECT_TRUE(contains(plain.at("band_basis"), "last-reader liveness")) << plain.at("band_basis");
}

TEST(MemoryBand, LlmBandIsLabelledAnAssumption) {
  ServingRequest r;
  r.prompt_tokens = 512;
  r.output_tokens = 128;
  r.batch = 4;
  const ServingPrediction p = predict_llm_serving(graph::load_model_config("llama-3.1-8b"), device("a100-sxm4-80gb"), r,
                                                  load_roofline_calibration());
  const nlohmann::json j = to_json(p).at("peak_memory_mb");
  EXPECT_FALSE(j.at("calibrated").get<bool>());
  EXPECT_TRUE(contains(j.at("band_basis"), "assumed, not measured")) << j.at("band_basis");
  EXPECT_LE(j.at("low").get<double>(), j.at("value").get<double>());
  EXPECT_GE(j.at("high").get<double>(), j.at("value").get<double>());
}

// The point estimate's runtime context (roofline.json) must lie inside memory.json's documented range.
TEST(MemoryBand, RuntimeContextPointEstimateLiesInsideItsRange) {
  const RooflineCalibration roofline = load_roofline_calibration();
  const MemoryCalibration& c = default_memory_calibration();
  for (const std::string vendor : {"nvidia", "amd", "cpu"}) {
    const ByteRange range = c.runtime_context_range(vendor);
    EXPECT_GE(roofline.runtime_context_for(vendor), range.low_bytes) << vendor;
    EXPECT_LE(roofline.runtime_context_for(vendor), range.high_bytes) << vendor;
  }
}

TEST(MemoryBand, MissingKeyNamesTheFile) {
  EXPECT_THROW(load_memory_calibration(testing::fixture_path("manifest.json")), Error);
}

}  // namespace
}  // namespace perfcast::predict
