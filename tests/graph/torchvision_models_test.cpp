// perfcast inspect against the numbers torchvision publishes for its models, on ONNX files
// exported from those models (tests/fixtures/export_models.py).
#include <gtest/gtest.h>

#include <cmath>

#include "common/error.h"
#include "graph/graph_summary.h"
#include "graph/onnx_import.h"
#include "support/fixtures.h"

namespace perfcast::graph {
namespace {

using testing::fixture_manifest;
using testing::fixture_model;
using testing::fixture_path;

GraphSummary inspect(const std::string& model, const ImportOptions& options = {}) {
  return summarize(import_onnx(fixture_path(fixture_model(model).value("file", model + ".onnx")), options));
}

class PublishedTorchvisionModel : public ::testing::TestWithParam<std::string> {};

TEST_P(PublishedTorchvisionModel, MacsWithin3PercentAndParamsWithinHalfPercent) {
  const auto& entry = fixture_model(GetParam());
  const GraphSummary s = inspect(GetParam());
  const double published_macs = entry["macs_published_g"].get<double>() * 1e9;
  const double published_params = entry["params_published_m"].get<double>() * 1e6;
  EXPECT_NEAR(s.macs / published_macs, 1.0, 0.03) << "MACs " << s.macs;
  EXPECT_NEAR(static_cast<double>(s.params) / published_params, 1.0, 0.005) << "params " << s.params;
  // Exactly what the PyTorch module holds: sum(p.numel() for p in model.parameters()).
  EXPECT_EQ(s.params, entry["params_torch"].get<int64_t>());
  EXPECT_TRUE(s.unknown_ops.empty());
  EXPECT_TRUE(s.incomplete_nodes.empty()) << s.incomplete_nodes.front();
}

INSTANTIATE_TEST_SUITE_P(Torchvision, PublishedTorchvisionModel,
                         ::testing::Values("resnet50", "vgg16", "mobilenet_v3_large", "efficientnet_b0",
                                           "densenet121", "convnext_tiny", "swin_t", "vit_b_16"));

// Every exported model, including segmentation, video and hand-written ones, is fully costed.
TEST(ExportedModels, EveryOperatorIsCostedAndParamsMatchTorch) {
  int checked = 0;
  for (const auto& [name, entry] : fixture_manifest()["models"].items()) {
    if (name.rfind("bad_", 0) == 0 || name == "empty" || !entry.contains("params_torch")) continue;
    ImportOptions options;
    if (entry["input_shape"].dump().find("\"seq\"") != std::string::npos) options.dim_values["seq"] = 64;
    SCOPED_TRACE(name);
    const GraphSummary s = inspect(name, options);
    EXPECT_TRUE(s.unknown_ops.empty()) << s.unknown_ops.begin()->first;
    EXPECT_TRUE(s.incomplete_nodes.empty()) << s.incomplete_nodes.front();
    EXPECT_GT(s.macs, 0);
    EXPECT_GT(s.peak_activation_bytes, 0);
    EXPECT_LE(s.peak_activation_bytes, s.activation_bytes);
    EXPECT_EQ(s.params, entry["params_torch"].get<int64_t>());
    ++checked;
  }
  EXPECT_GE(checked, 20);
}

TEST(ExportedModels, WorkScalesLinearlyWithBatch) {
  for (const std::string name : {"resnet50", "vit_b_16", "mobilenet_v3_large"}) {
    SCOPED_TRACE(name);
    ImportOptions eight;
    eight.batch = 8;
    const GraphSummary one = inspect(name);
    const GraphSummary many = inspect(name, eight);
    EXPECT_NEAR(many.macs / one.macs, 8.0, 1e-9);
    EXPECT_NEAR(many.flops / one.flops, 8.0, 1e-6);
    EXPECT_EQ(many.params, one.params);
    EXPECT_NEAR(static_cast<double>(many.peak_activation_bytes) / static_cast<double>(one.peak_activation_bytes), 8.0,
                0.1);
  }
}

// Per layer: QKV and output projections 4·s·d², QKᵀ and A·V 2·s²·d, feed-forward 2·s·d·ff.
double encoder_macs_per_sample(double layers, double d, double ff, double s) {
  return layers * (4 * s * d * d + 2 * s * s * d + 2 * s * d * ff);
}

TEST(ExportedModels, TransformerEncoderMatchesClosedForm) {
  const auto& entry = fixture_model("bert_base_encoder");
  for (const int64_t seq : {64, 128, 384}) {
    ImportOptions options;
    options.batch = 2;
    options.dim_values["seq"] = seq;
    const GraphSummary s = inspect("bert_base_encoder", options);
    const double expected = 2 * encoder_macs_per_sample(entry["layers"], entry["d_model"], entry["ff"],
                                                        static_cast<double>(seq));
    EXPECT_NEAR(s.macs / expected, 1.0, 1e-9) << "seq " << seq;
  }
  EXPECT_DOUBLE_EQ(encoder_macs_per_sample(12, 768, 3072, 128), entry["macs_per_sample_seq128"].get<double>());
}

TEST(ExportedModels, EinsumAttentionIsCounted) {
  ImportOptions options;
  options.dim_values["seq"] = 32;
  const GraphSummary s = inspect("einsum_attention", options);
  double einsum_macs = 0;
  for (const auto& op : s.ops)
    if (op.op_type == "Einsum") einsum_macs = op.macs;
  EXPECT_GT(einsum_macs, 0);
  EXPECT_TRUE(s.incomplete_nodes.empty());
}

TEST(ExportedModels, FullWeightsExternalDataAndStrippedAgree) {
  const GraphSummary stripped = inspect("resnet50");
  const GraphSummary full = summarize(import_onnx(fixture_path("resnet50_full.onnx")));
  EXPECT_DOUBLE_EQ(full.macs, stripped.macs);
  EXPECT_EQ(full.params, stripped.params);
  EXPECT_EQ(full.param_bytes, stripped.param_bytes);
  EXPECT_EQ(full.peak_activation_bytes, stripped.peak_activation_bytes);

  const GraphSummary external = summarize(import_onnx(fixture_path("resnet18_ext.onnx")));
  EXPECT_EQ(external.params, inspect("resnet18").params);
}

TEST(ExportedModels, BadFilesGiveOneLineErrors) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"bad_not_onnx.onnx", "not"},        {"bad_truncated.onnx", "truncated or corrupt"},
      {"bad_cycle.onnx", "cycle"},         {"bad_missing_shape.onnx", "--input"},
      {"empty.onnx", "empty"},
  };
  for (const auto& [file, expected] : cases) {
    SCOPED_TRACE(file);
    try {
      import_onnx(fixture_path(file));
      ADD_FAILURE() << "accepted a bad file";
    } catch (const Error& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find(expected), std::string::npos) << message;
      EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    }
  }
}

}  // namespace
}  // namespace perfcast::graph
