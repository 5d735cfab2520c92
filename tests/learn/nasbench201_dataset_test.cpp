// HELP's NAS-Bench-201 latency table as GNN samples (learn/nasbench201_dataset.h), on the real
// shared file.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <set>

#include "common/csv.h"
#include "dataset/importers.h"
#include "dataset/nasbench201_network.h"
#include "graph/graph_summary.h"
#include "learn/graph_features.h"
#include "learn/nasbench201_dataset.h"
#include "support/test_helpers.h"

namespace perfcast::learn {
namespace {

std::string latency_csv() {
  return dataset::default_shared_data_dir() + "/help-nasbench201/nasbench201_latency_ms.csv";
}

TEST(NasBench201Dataset, ColumnsMapToCatalogDevices) {
  const auto columns = nasbench201_columns({}, hardware::DeviceCatalog::load());
  std::map<std::string, std::string> by_column;
  for (const auto& c : columns) by_column[c.column] = c.device_id;
  EXPECT_EQ(columns.size(), 19u);  // 5 GPUs x batch 1/32/256 + 4 CPUs
  EXPECT_EQ(by_column.at("1080ti_32"), "gtx-1080ti");
  EXPECT_EQ(by_column.at("2080ti_1"), "rtx-2080ti");
  EXPECT_EQ(by_column.at("titanx_256"), "titan-x-pascal");
  EXPECT_EQ(by_column.at("titanxp_1"), "titan-xp");
  EXPECT_EQ(by_column.at("titan_rtx_32"), "titan-rtx");
  EXPECT_EQ(by_column.at("gold_6226"), "xeon-gold-6226");
  EXPECT_EQ(by_column.at("silver_4210r"), "xeon-silver-4210r");
  EXPECT_EQ(by_column.count("pixel3"), 0u);
  EXPECT_EQ(by_column.count("essential_ph_1"), 0u);
  for (const auto& c : columns) {
    if (c.column == "titanx_256") EXPECT_EQ(c.batch, 256);
    if (c.column == "gold_6240") {
      EXPECT_EQ(c.batch, 1);
      EXPECT_FALSE(c.batch_stated);
    }
  }
}

TEST(NasBench201Dataset, SubsetSamplesCarryTheFileValues) {
  NasBench201Options o;
  o.max_architectures = 5;
  o.seed = 7;
  o.columns = {"1080ti", "gold_6226"};
  const auto samples = load_nasbench201_samples(o);
  ASSERT_EQ(samples.size(), 5u * 4u);  // 1080ti_1, _256, _32 and gold_6226 per architecture
  std::set<std::string> groups;
  std::map<std::string, std::map<std::string, double>> file;  // arch -> column -> value
  for (const CsvRow& row : read_csv(latency_csv()).rows)
    for (const char* col : {"1080ti_1", "1080ti_32", "1080ti_256", "gold_6226"})
      file[row.at("arch_str")][col] = row.number(col);
  const auto& names = static_feature_names();
  for (const auto& s : samples) {
    groups.insert(s.group);
    EXPECT_EQ(s.static_features.size(), names.size());
    EXPECT_EQ(s.node_feature_dim, static_cast<int64_t>(node_feature_names().size()));
    const int batch = static_cast<int>(std::lround(std::expm1(s.static_features[0])));
    const std::string col = s.device_id == "gtx-1080ti" ? "1080ti_" + std::to_string(batch) : "gold_6226";
    ASSERT_TRUE(s.device_id == "gtx-1080ti" || s.device_id == "xeon-gold-6226") << s.device_id;
    EXPECT_DOUBLE_EQ(s.target, file.at(s.group).at(col)) << s.group << " " << col;
    // The graph is the network of the group's cell at the column's batch.
    const graph::GraphSummary g = graph::summarize(dataset::build_nasbench201_network(s.group, batch));
    EXPECT_EQ(s.num_nodes, g.nodes);
  }
  EXPECT_EQ(groups.size(), 5u);
  // Same seed, same architectures; another seed, others.
  EXPECT_EQ(nasbench201_architectures(o), nasbench201_architectures(o));
  NasBench201Options other = o;
  other.seed = 8;
  EXPECT_NE(nasbench201_architectures(o), nasbench201_architectures(other));
}

// The roofline prior on every sample; prints how far it is from the measurement per column
// (nothing is fitted here, so every row is held out).
TEST(NasBench201Dataset, RooflinePrior) {
  NasBench201Options o;
  o.max_architectures = 40;
  o.seed = 1;
  const auto samples = load_nasbench201_samples(o);
  ASSERT_EQ(samples.size(), 40u * 19u);
  std::map<std::string, std::vector<double>> ratios;  // device/batch -> measured / prior
  for (const auto& s : samples) {
    ASSERT_TRUE(std::isfinite(s.prior) && s.prior > 0) << s.group << " " << s.device_id;
    const int batch = static_cast<int>(std::lround(std::expm1(s.static_features[0])));
    ratios[s.device_id + " b" + std::to_string(batch)].push_back(s.target / s.prior);
  }
  for (auto& [key, r] : ratios) {
    std::sort(r.begin(), r.end());
    double ape = 0;
    for (double x : r) ape += std::abs(1.0 / x - 1.0);
    std::printf("%-22s measured/prior median %.2f  MAPE(prior) %.0f%%\n", key.c_str(), r[r.size() / 2],
                100 * ape / static_cast<double>(r.size()));
  }
  NasBench201Options no_prior = o;
  no_prior.max_architectures = 1;
  no_prior.roofline_prior = false;
  for (const auto& s : load_nasbench201_samples(no_prior)) EXPECT_TRUE(std::isnan(s.prior));
}

TEST(NasBench201Dataset, UnlabelledGraphs) {
  NasBench201Options o;
  o.max_architectures = 3;
  const auto graphs = load_nasbench201_graphs(o, 32);
  ASSERT_EQ(graphs.size(), 3u);
  for (const auto& s : graphs) {
    EXPECT_TRUE(std::isnan(s.target));
    EXPECT_TRUE(s.device_id.empty());
    EXPECT_LT(s.static_features.size(), static_feature_names().size());
    EXPECT_FLOAT_EQ(s.static_features[0], std::log1p(32.f));
    EXPECT_FALSE(s.edges.empty());
  }
}

TEST(NasBench201Dataset, BadOptionsSayWhatIsWrong) {
  NasBench201Options o;
  o.columns = {"pixel3"};
  EXPECT_NE(perfcast::testing::error_of([&] { load_nasbench201_samples(o); }).find("no usable column matches 'pixel3'"),
            std::string::npos);
  o.columns = {};
  o.data_dir = "/nonexistent";
  EXPECT_NE(perfcast::testing::error_of([&] { load_nasbench201_samples(o); }).find("not found"), std::string::npos);
}

// Every architecture of the file parses and builds into a fully costed graph; prints the time
// to build all 15,625 graphs and their features (batch 1; samples are not kept: ~100 KB each).
TEST(NasBench201Dataset, EveryArchitectureBuilds) {
  const auto archs = nasbench201_architectures();
  ASSERT_EQ(archs.size(), 15625u);
  EXPECT_EQ(std::set<std::string>(archs.begin(), archs.end()).size(), 15625u);
  const auto t0 = std::chrono::steady_clock::now();
  int64_t min_nodes = 1 << 30, max_nodes = 0, total_nodes = 0, bad = 0;
  size_t floats = 0;
  for (const std::string& arch : archs) {
    const graph::Graph g = dataset::build_nasbench201_network(arch, 1);
    const graph::GraphSummary summary = graph::summarize(g);
    bad += !summary.unknown_ops.empty() || !summary.incomplete_nodes.empty();
    const GraphSample s = make_graph_part(g, summary, 1);
    floats += s.node_features.size();
    min_nodes = std::min(min_nodes, s.num_nodes);
    max_nodes = std::max(max_nodes, s.num_nodes);
    total_nodes += s.num_nodes;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(bad, 0);
  std::printf("15,625 NAS-Bench-201 graphs + features in %.2f s; nodes %lld..%lld, mean %.1f; %.1f KB of node "
              "features per graph\n",
              seconds, static_cast<long long>(min_nodes), static_cast<long long>(max_nodes),
              static_cast<double>(total_nodes) / 15625.0, static_cast<double>(floats) * 4 / 1024 / 15625);
}

}  // namespace
}  // namespace perfcast::learn
