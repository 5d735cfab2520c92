// NAS-Bench-201 networks: perfcast's direct builder against torch's ONNX export of the same
// network (tests/fixtures/export_nasbench201.py), and the cell-string parser.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "dataset/nasbench201_network.h"
#include "graph/graph_summary.h"
#include "graph/onnx_import.h"
#include "support/fixtures.h"
#include "support/test_helpers.h"

namespace perfcast::dataset {
namespace {

using perfcast::testing::error_of;
using perfcast::testing::fixture_path;

const nlohmann::json& nb201_manifest() {
  static const nlohmann::json manifest = [] {
    std::ifstream in(fixture_path("nasbench201_manifest.json"));
    if (!in) return nlohmann::json();
    return nlohmann::json::parse(in);
  }();
  return manifest;
}

std::map<std::string, int64_t> op_counts(const graph::Graph& g) {
  std::map<std::string, int64_t> counts;
  for (const auto& n : g.nodes) ++counts[n.op_type];
  return counts;
}

// Nodes torch's exporter adds that are not part of the network: Constant nodes (the scalar of
// x.mul(0.) and the pad values), and a Pad with all-zero pads in front of the two stride-2
// AvgPool2d shortcuts (torch 1.13 exports count_include_pad=True that way). Checks each Pad is
// that artifact and returns the counts without them.
std::map<std::string, int64_t> network_op_counts(const graph::Graph& g) {
  auto counts = op_counts(g);
  counts.erase("Constant");
  for (const auto& n : g.nodes) {
    if (n.op_type != "Pad") continue;
    const graph::Tensor& pads = g.tensor(n.inputs.at(1));
    EXPECT_TRUE(pads.int_values.has_value()) << n.name;
    if (pads.int_values)
      for (int64_t p : *pads.int_values) EXPECT_EQ(p, 0) << n.name << " pads something";
    const graph::Tensor& out = g.tensor(n.outputs.at(0));
    EXPECT_EQ(out.consumers.size(), 1u);
    if (out.consumers.size() != 1) continue;
    EXPECT_EQ(g.node(out.consumers[0]).op_type, "AveragePool");
    EXPECT_EQ(g.node(out.consumers[0]).attr_ints("kernel_shape"), (std::vector<int64_t>{2, 2}));
  }
  counts.erase("Pad");
  return counts;
}

TEST(NasBench201Network, MatchesTorchOnnxExport) {
  const auto& models = nb201_manifest()["models"];
  ASSERT_GE(models.size(), 10u) << "run: /usr/bin/python3 tests/fixtures/export_nasbench201.py " << PERFCAST_FIXTURE_DIR;
  for (const auto& m : models) {
    const std::string arch = m["arch"];
    SCOPED_TRACE(arch);
    for (int64_t batch : {1, 8}) {
      graph::ImportOptions io;
      io.batch = batch;
      const graph::Graph onnx = graph::import_onnx(fixture_path(m["file"]), io);
      const graph::Graph direct = build_nasbench201_network(arch, batch);
      const graph::GraphSummary a = graph::summarize(onnx), b = graph::summarize(direct);
      EXPECT_TRUE(b.unknown_ops.empty());
      EXPECT_TRUE(b.incomplete_nodes.empty());
      EXPECT_DOUBLE_EQ(a.macs, b.macs);
      EXPECT_DOUBLE_EQ(a.flops, b.flops);
      EXPECT_EQ(a.params, b.params);
      EXPECT_EQ(a.buffers, b.buffers);
      // The eager network keeps dead cell nodes: its parameters are the torch module's.
      NasBench201NetworkOptions eager;
      eager.batch = batch;
      eager.as_exported = false;
      const graph::GraphSummary e = graph::summarize(build_nasbench201_network(parse_nasbench201_arch(arch), eager));
      EXPECT_EQ(e.params, m["params_torch"].get<int64_t>());
      EXPECT_GE(e.macs, b.macs);
      EXPECT_GE(e.nodes, b.nodes);
      EXPECT_EQ(network_op_counts(onnx), op_counts(direct));
      // The exporter's extra Pad copies are the only activation bytes the builder lacks.
      int64_t pad_bytes = 0;
      for (size_t i = 0; i < onnx.nodes.size(); ++i)
        if (onnx.nodes[i].op_type == "Pad") pad_bytes += a.node_costs[i].bytes_written;
      EXPECT_EQ(a.activation_bytes - pad_bytes, b.activation_bytes);
    }
  }
}

TEST(NasBench201Network, KnownSizes) {
  // NAS-Bench-201's largest cell (all nor_conv_3x3): 1.53 M parameters (paper: "1.5 MB").
  const auto all_conv = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|";
  const graph::GraphSummary s = graph::summarize(build_nasbench201_network(all_conv, 1));
  EXPECT_EQ(s.params, 1531546);
  // By hand: 3 stages x 30 conv3x3 edges x 2,359,296 MACs (C^2 x 9 x HW is the same at every
  // stage) + stem 442,368 + two reductions 2 x 3,670,016 + classifier 640 = 220,119,680, the
  // 220.11 M NAS-Bench-201 lists as the largest cell's "FLOPs" (multiply-adds).
  EXPECT_EQ(s.macs, 220119680.0);
  // Batch scales MACs linearly.
  EXPECT_DOUBLE_EQ(graph::summarize(build_nasbench201_network(all_conv, 32)).macs, 32 * s.macs);
}

TEST(NasBench201Network, NoneAndDeadNodes) {
  // Only node 1 is used by node 3; node 2 (pool of node 1) is dead and not built.
  const graph::Graph g = build_nasbench201_network("|nor_conv_3x3~0|+|none~0|avg_pool_3x3~1|+|none~0|skip_connect~1|none~2|", 1);
  const auto counts = op_counts(g);
  EXPECT_EQ(counts.at("AveragePool"), 2);  // the two reduction shortcuts: no cell pool is live
  EXPECT_EQ(counts.at("Add"), 2);          // node 3 = node 1 (skip): no sums in the cells
  EXPECT_EQ(counts.at("Conv"), 15 + 1 + 3 * 2);  // cells + stem + reductions (conv_a, conv_b, shortcut)
  EXPECT_EQ(counts.count("Mul"), 0u);
  // An all-none cell is the input times zero.
  const auto zero = op_counts(build_nasbench201_network("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", 1));
  EXPECT_EQ(zero.at("Mul"), 15);
}

TEST(NasBench201Network, ParsesAndPrintsCanonically) {
  const std::string arch = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|";
  const NasBench201Cell c = parse_nasbench201_arch(arch);
  EXPECT_EQ(c.str(), arch);
  EXPECT_EQ(c.op(0, 1), Nb201Op::kAvgPool3x3);
  EXPECT_EQ(c.op(0, 2), Nb201Op::kConv1x1);
  EXPECT_EQ(c.op(2, 3), Nb201Op::kSkipConnect);
  // Edge order inside a node does not matter.
  EXPECT_EQ(parse_nasbench201_arch("|none~0|+|skip_connect~1|nor_conv_3x3~0|+|none~2|none~1|none~0|").str(),
            "|none~0|+|nor_conv_3x3~0|skip_connect~1|+|none~0|none~1|none~2|");
}

TEST(NasBench201Network, BadStringsSayWhatIsWrong) {
  const auto err = [](const std::string& s) { return error_of([&] { parse_nasbench201_arch(s); }); };
  EXPECT_NE(err("").find("empty"), std::string::npos);
  EXPECT_NE(err("|none~0|+|none~0|none~1|").find("2 node groups"), std::string::npos);
  EXPECT_NE(err("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|+|none~0|").find("4 node groups"), std::string::npos);
  const std::string typo = err("|nor_conv_3x4~0|+|none~0|none~1|+|none~0|none~1|none~2|");
  EXPECT_NE(typo.find("unknown op 'nor_conv_3x4'"), std::string::npos) << typo;
  EXPECT_NE(typo.find("nor_conv_3x3"), std::string::npos) << typo;
  EXPECT_NE(err("|none~0|+|none~0|none~2|+|none~0|none~1|none~2|").find("reads node '2'"), std::string::npos);
  EXPECT_NE(err("|none~0|+|none~0|none~0|+|none~0|none~1|none~2|").find("reads node 0 twice"), std::string::npos);
  EXPECT_NE(err("|none~0|+|none~0|+|none~0|none~1|none~2|").find("node 2 has 1 input edge(s), it must have 2"),
            std::string::npos);
  EXPECT_NE(err("none~0|+|none~0|none~1|+|none~0|none~1|none~2|").find("must start and end with '|'"),
            std::string::npos);
  EXPECT_NE(err("|none|+|none~0|none~1|+|none~0|none~1|none~2|").find("no '~input'"), std::string::npos);
  EXPECT_NE(err("| none~0|+|none~0|none~1|+|none~0|none~1|none~2|").find("unknown op ' none'"), std::string::npos);
  EXPECT_NE(error_of([] { build_nasbench201_network("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", 0); })
                .find("batch (0)"),
            std::string::npos);
}

}  // namespace
}  // namespace perfcast::dataset
