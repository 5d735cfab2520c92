// Node/edge/static features of graphs for the GNN predictors (learn/graph_features.h), on real
// graphs: exported torchvision models and NAS-Bench-201 networks.
#include <gtest/gtest.h>

#include <ctime>
#include <cmath>
#include <set>

#include "dataset/nasbench201_network.h"
#include "graph/graph_summary.h"
#include "graph/onnx_import.h"
#include "graph/op_cost.h"
#include "hardware/device_catalog.h"
#include "learn/graph_features.h"
#include "support/fixtures.h"
#include "support/test_helpers.h"

namespace perfcast::learn {
namespace {

const hardware::DeviceCatalog& catalog() {
  static const hardware::DeviceCatalog c = hardware::DeviceCatalog::load();
  return c;
}

size_t feature(const std::vector<std::string>& names, const std::string& name) {
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) return i;
  ADD_FAILURE() << "no feature " << name;
  return 0;
}

float node_value(const GraphSample& s, int64_t node, const std::string& name) {
  return s.node_features[static_cast<size_t>(node * s.node_feature_dim) + feature(node_feature_names(), name)];
}

TEST(GraphFeatures, EveryVocabularyOpHasACostRule) {
  std::set<std::string> seen;
  for (const std::string& op : op_vocabulary()) {
    EXPECT_TRUE(seen.insert(op).second) << op << " twice";
    graph::Graph g;
    graph::Node n;
    n.op_type = op;
    EXPECT_NE(graph::cost_node(g, n).status, graph::CostStatus::kUnknownOp) << op;
    EXPECT_EQ(op_slot(op), static_cast<int64_t>(&op - op_vocabulary().data()));
  }
  const auto other = static_cast<int64_t>(op_vocabulary().size());
  EXPECT_EQ(op_slot("FancyCustomOp"), other);
  EXPECT_EQ(op_slot("Conv", "com.microsoft"), other);
  EXPECT_EQ(node_feature_names()[static_cast<size_t>(other)], "op=other");
}

TEST(GraphFeatures, Resnet50Fixture) {
  graph::ImportOptions io;
  io.batch = 8;
  const graph::Graph g = graph::import_onnx(perfcast::testing::fixture_path("resnet50.onnx"), io);
  const graph::GraphSummary summary = graph::summarize(g);
  const GraphSample s = make_graph_sample(g, catalog().get("rtx-4090"), 8);
  ASSERT_EQ(s.num_nodes, static_cast<int64_t>(g.nodes.size()));
  ASSERT_EQ(s.node_feature_dim, static_cast<int64_t>(node_feature_names().size()));
  ASSERT_EQ(s.node_features.size(), g.nodes.size() * node_feature_names().size());
  ASSERT_EQ(s.static_features.size(), static_feature_names().size());
  EXPECT_EQ(s.device_id, "rtx-4090");
  EXPECT_TRUE(std::isnan(s.target));
  EXPECT_EQ(static_cast<int64_t>(s.edges.size()), summary.edges);
  for (const auto& [from, to] : s.edges) {
    ASSERT_GE(from, 0);
    ASSERT_LT(to, s.num_nodes);
  }

  const size_t ops = op_vocabulary().size() + 1;
  double macs = 0;
  for (int64_t i = 0; i < s.num_nodes; ++i) {
    const float* row = s.node_features.data() + i * s.node_feature_dim;
    float hot = 0;
    for (size_t k = 0; k < ops; ++k) hot += row[k];
    EXPECT_EQ(hot, 1.f) << g.nodes[static_cast<size_t>(i)].name;
    EXPECT_EQ(row[op_slot(g.nodes[static_cast<size_t>(i)].op_type)], 1.f);
    macs += std::expm1(static_cast<double>(node_value(s, i, "log1p_macs")));
  }
  EXPECT_NEAR(macs / summary.macs, 1.0, 1e-5);  // per-node MACs add up to the model's
  // The stem: Conv 7x7 stride 2 pad 3, 3 -> 64 channels (the first Conv; Identity nodes of
  // de-duplicated weights come first).
  int64_t stem = 0;
  while (g.nodes[static_cast<size_t>(stem)].op_type != "Conv") ++stem;
  EXPECT_EQ(node_value(s, stem, "kernel_h"), 7.f);
  EXPECT_EQ(node_value(s, stem, "kernel_w"), 7.f);
  EXPECT_EQ(node_value(s, stem, "stride_h"), 2.f);
  EXPECT_EQ(node_value(s, stem, "pad_h"), 6.f);
  EXPECT_FLOAT_EQ(node_value(s, stem, "log1p_in_channels"), std::log1p(3.f));
  EXPECT_FLOAT_EQ(node_value(s, stem, "log1p_out_channels"), std::log1p(64.f));
  EXPECT_FLOAT_EQ(node_value(s, stem, "log1p_params"), static_cast<float>(std::log1p(64.0 * 3 * 7 * 7)));  // no bias
  EXPECT_EQ(node_value(s, stem, "cost_known"), 1.f);

  const auto& names = static_feature_names();
  EXPECT_FLOAT_EQ(s.static_features[feature(names, "log1p_batch")], std::log1p(8.f));
  EXPECT_FLOAT_EQ(s.static_features[feature(names, "log1p_params")], static_cast<float>(std::log1p(summary.params)));
  EXPECT_FLOAT_EQ(s.static_features[feature(names, "is_gpu")], 1.f);
  EXPECT_FLOAT_EQ(s.static_features[feature(names, "ln_peak_fp32_tflops")], std::log(82.6f));
  EXPECT_FLOAT_EQ(s.static_features[feature(names, "ln_bandwidth_gb_s")], std::log(1008.f));
  // A CPU: no fp16 datapath, so its fp16 feature repeats fp32.
  const GraphSample cpu = make_graph_sample(g, summary, catalog().get("xeon-gold-6226"), 8);
  EXPECT_EQ(cpu.node_features, s.node_features);
  EXPECT_FLOAT_EQ(cpu.static_features[feature(names, "is_gpu")], 0.f);
  EXPECT_FLOAT_EQ(cpu.static_features[feature(names, "ln_peak_fp16_tflops")],
                  cpu.static_features[feature(names, "ln_peak_fp32_tflops")]);
  // Naive roofline: resnet50 at batch 8 is compute bound on both.
  EXPECT_GT(cpu.static_features[feature(names, "ln_roof_ms")], s.static_features[feature(names, "ln_roof_ms")]);
}

TEST(GraphFeatures, UnknownOperatorGoesToOther) {
  graph::Graph g = dataset::build_nasbench201_network("|none~0|+|none~0|none~1|+|none~0|none~1|skip_connect~2|", 1);
  g.nodes[3].op_type = "MyCustomOp";  // cost model has no rule: op=other, cost_known 0
  const GraphSample s = make_graph_sample(g, catalog().get("t4"), 1);
  EXPECT_EQ(node_value(s, 3, "op=other"), 1.f);
  EXPECT_EQ(node_value(s, 3, "cost_known"), 0.f);
}

TEST(GraphFeatures, PartPlusDeviceEqualsSample) {
  const graph::Graph g = dataset::build_nasbench201_network(
      "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|", 32);
  const graph::GraphSummary summary = graph::summarize(g);
  GraphSample part = make_graph_part(g, summary, 32);
  append_device_features(part, catalog().get("titan-rtx"));
  const GraphSample whole = make_graph_sample(g, catalog().get("titan-rtx"), 32);
  EXPECT_EQ(part.static_features, whole.static_features);
  EXPECT_EQ(part.node_features, whole.node_features);
  EXPECT_NE(perfcast::testing::error_of([&] { append_device_features(part, catalog().get("t4")); })
                .find("device features already appended"),
            std::string::npos);
}

TEST(GraphFeatures, FastOnA200NodeGraph) {
  const graph::Graph g = dataset::build_nasbench201_network(
      "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|", 1);
  ASSERT_GE(g.nodes.size(), 200u);
  const auto& device = catalog().get("gtx-1080ti");
  const int runs = 200;
  // CPU time of this process, so that other jobs on a shared machine do not count.
  const std::clock_t t0 = std::clock();
  size_t sink = 0;
  for (int i = 0; i < runs; ++i) sink += make_graph_sample(g, device, 1).node_features.size();
  const double ms = 1e3 * static_cast<double>(std::clock() - t0) / CLOCKS_PER_SEC / runs;
  EXPECT_GT(sink, 0u);
  std::printf("make_graph_sample on %zu nodes: %.3f ms CPU\n", g.nodes.size(), ms);
  EXPECT_LT(ms, 1.0);  // summarize + features of ~200 nodes
}

}  // namespace
}  // namespace perfcast::learn
