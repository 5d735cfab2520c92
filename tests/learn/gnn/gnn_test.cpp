// The graph neural network predictors on synthetic graphs whose label depends on which operator
// types are connected (not on how many of each there are), so only message passing can learn it.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include <nlohmann/json.hpp>

#include "learn/gnn/graph_autoencoder.h"
#include "learn/gnn/gnn_predictor.h"
#include "support/test_helpers.h"

namespace perfcast::learn::gnn {
namespace {

using perfcast::testing::error_of;

constexpr int64_t kTypes = 3;

// A random DAG of 12-30 nodes, node features = one-hot type + a uniform "size". `affinity` is the
// chance a type-2 node takes a type-0 producer when one exists, so the share of 0 -> 2 edges varies
// between graphs while the type counts do not. Target = 10 ms * exp(3 * share of 0 -> 2 edges).
GraphSample random_graph(std::mt19937_64& rng, bool with_prior) {
  std::uniform_int_distribution<int> nodes(12, 30), type(0, kTypes - 1);
  std::uniform_real_distribution<double> unit(0, 1);
  const double affinity = unit(rng);
  GraphSample s;
  s.num_nodes = nodes(rng);
  s.node_feature_dim = kTypes + 1;
  std::vector<int> types(static_cast<size_t>(s.num_nodes));
  for (auto& t : types) t = type(rng);
  for (int64_t v = 0; v < s.num_nodes; ++v) {
    for (int64_t t = 0; t < kTypes; ++t) s.node_features.push_back(types[v] == t ? 1.f : 0.f);
    s.node_features.push_back(static_cast<float>(unit(rng)));
    if (v == 0) continue;
    const int preds = v > 1 && unit(rng) < 0.5 ? 2 : 1;
    for (int k = 0; k < preds; ++k) {
      std::vector<int32_t> zeros;
      for (int32_t u = 0; u < v; ++u)
        if (types[u] == 0) zeros.push_back(u);
      int32_t u = std::uniform_int_distribution<int32_t>(0, static_cast<int32_t>(v - 1))(rng);
      if (types[v] == 2 && !zeros.empty() && unit(rng) < affinity)
        u = zeros[std::uniform_int_distribution<size_t>(0, zeros.size() - 1)(rng)];
      s.edges.emplace_back(u, static_cast<int32_t>(v));
    }
  }
  int pattern = 0;
  for (auto [u, v] : s.edges) pattern += types[u] == 0 && types[v] == 2;
  const double share = static_cast<double>(pattern) / static_cast<double>(s.edges.size());
  s.static_features = {static_cast<float>(s.num_nodes), static_cast<float>(s.edges.size())};
  const double prior = with_prior ? 5.0 * std::exp(unit(rng)) : std::nan("");
  s.target = (with_prior ? prior : 10.0) * std::exp(3.0 * share);
  s.prior = prior;
  s.group = "g" + std::to_string(rng() % 100000);
  s.device_id = "synthetic";
  return s;
}

std::vector<GraphSample> graphs(uint64_t seed, int n, bool with_prior = false) {
  std::mt19937_64 rng(seed);
  std::vector<GraphSample> out;
  for (int i = 0; i < n; ++i) out.push_back(random_graph(rng, with_prior));
  return out;
}

GnnOptions small_options() {
  GnnOptions o;
  o.hidden = 32;
  o.layers = 2;
  o.mlp_hidden = 32;
  o.max_epochs = 60;
  o.patience = 15;
  o.batch_graphs = 16;
  o.lr = 3e-3;
  o.gae.epochs = 10;
  return o;
}

// Mean squared error of log(prediction) against log(target) on held-out graphs, for the model and
// for the best constant (the training set's mean log target).
std::pair<double, double> log_mse(const GnnPredictor& model, const std::vector<GraphSample>& train,
                                  const std::vector<GraphSample>& test) {
  double mean = 0;
  for (const auto& s : train) mean += std::log(s.target);
  mean /= static_cast<double>(train.size());
  const std::vector<double> pred = model.predict(test);
  double model_se = 0, mean_se = 0;
  for (size_t i = 0; i < test.size(); ++i) {
    const double y = std::log(test[i].target);
    model_se += (std::log(pred[i]) - y) * (std::log(pred[i]) - y);
    mean_se += (mean - y) * (mean - y);
  }
  return {model_se / static_cast<double>(test.size()), mean_se / static_cast<double>(test.size())};
}

std::string temp_dir(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / ("perfcast_gnn_test_" + name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

class GnnLearns : public ::testing::TestWithParam<GnnKind> {};

TEST_P(GnnLearns, StructureDependentTargetOnHeldOutGraphs) {
  const auto train = graphs(1, 300), val = graphs(2, 60), test = graphs(3, 120);
  const GnnTrainResult r = train_gnn(GetParam(), train, val, small_options());
  const auto [model_mse, mean_mse] = log_mse(r.predictor, train, test);
  std::cout << kind_name(GetParam()) << ": held-out log MSE " << model_mse << " vs mean " << mean_mse << " ("
            << r.epochs_run << " epochs, best " << r.best_epoch << ", " << r.train_seconds << " s)\n";
  EXPECT_LT(model_mse, 0.4 * mean_mse);  // SAGE reaches ~0.2, GIN ~0.35 of the mean's MSE
  EXPECT_FALSE(r.predictor.residual());  // no priors -> log(target)
  EXPECT_LT(r.train_loss.back(), r.train_loss.front());
}

INSTANTIATE_TEST_SUITE_P(Kinds, GnnLearns, ::testing::Values(GnnKind::kSage, GnnKind::kGin, GnnKind::kGaeSage),
                         [](const auto& info) { return info.param == GnnKind::kGaeSage ? std::string("GaeSage")
                                                       : info.param == GnnKind::kGin   ? std::string("Gin")
                                                                                       : std::string("Sage"); });

TEST(GnnSaveLoad, LoadedModelPredictsIdentically) {
  const auto train = graphs(4, 80, true), test = graphs(5, 20, true);
  for (GnnKind kind : {GnnKind::kGin, GnnKind::kGaeSage}) {
    GnnOptions o = small_options();
    o.max_epochs = 3;
    o.gae.epochs = 2;
    o.static_feature_names = {"nodes", "edges"};
    const GnnTrainResult r = train_gnn(kind, train, {}, o);
    EXPECT_TRUE(r.predictor.residual());  // every sample has a prior
    const std::string path = temp_dir(kind_name(kind)) + "/model";
    r.predictor.save(path, {{"command", "test"}});
    const GnnPredictor loaded = GnnPredictor::load(path);
    EXPECT_EQ(loaded.kind(), kind);
    EXPECT_EQ(loaded.predict(test), r.predictor.predict(test));
    EXPECT_EQ(loaded.predict(test[0]), r.predictor.predict(test[0]));
    const nlohmann::json meta = nlohmann::json::parse(std::ifstream(meta_path(path)));
    EXPECT_EQ(meta.at("predictor"), kind_name(kind));
    EXPECT_EQ(meta.at("command"), "test");
    EXPECT_EQ(meta.at("static_feature_names"), nlohmann::json({"nodes", "edges"}));
    EXPECT_EQ(meta.at("standardisation").at("node").at("mean").size(), 4u);
    EXPECT_TRUE(std::filesystem::exists(archive_path(path)));
  }
}

// One graph measured on two "devices" (a static speed feature): the rows share the graph's tensors
// in a batch, and each row still gets its own device's prediction.
TEST(GnnSharedGraphs, RowsOfOneGraphKeepTheirOwnDevice) {
  auto with_devices = [](std::vector<GraphSample> base) {
    std::vector<GraphSample> out;
    for (const auto& g : base) {
      for (float speed : {1.f, 2.f}) {
        GraphSample s = g;
        s.static_features.push_back(speed);
        s.target = g.target * speed;
        out.push_back(s);
      }
    }
    return out;
  };
  const auto train = with_devices(graphs(12, 150)), test = with_devices(graphs(13, 30));
  GnnOptions o = small_options();
  o.max_epochs = 30;
  const GnnPredictor model = train_gnn(GnnKind::kSage, train, {}, o).predictor;
  const std::vector<double> batched = model.predict(test, 64);
  double ratio_log_sum = 0;
  for (size_t i = 0; i < test.size(); ++i) {
    EXPECT_NEAR(batched[i], model.predict(test[i]), 1e-4 * batched[i]);
    if (i % 2 == 1) ratio_log_sum += std::log(batched[i] / batched[i - 1]);
  }
  EXPECT_NEAR(std::exp(ratio_log_sum / (test.size() / 2.0)), 2.0, 0.3);
}

TEST(GnnAutoencoder, LossFallsAndEdgesAreRecovered) {
  const auto train = graphs(6, 200), test = graphs(7, 50);
  GaeOptions o;
  o.epochs = 20;
  const GraphAutoencoder gae = GraphAutoencoder::pretrain(train, o);
  const auto& loss = gae.loss_history();
  ASSERT_EQ(loss.size(), 20u);
  const double trained = gae.edge_auc(test, 11);
  const double untrained = GraphAutoencoder::untrained(train, o).edge_auc(test, 11);
  const double random = GraphAutoencoder::random_embedding_edge_auc(test, o.embedding, 11);
  std::cout << "GAE BCE " << loss.front() << " -> " << loss.back() << "; held-out edge AUC trained " << trained
            << ", untrained encoder " << untrained << ", random embedding " << random << "\n";
  EXPECT_LT(loss.back(), 0.85 * loss.front());
  EXPECT_NEAR(random, 0.5, 0.06);
  EXPECT_GT(trained, random + 0.15);  // measured 0.75 against 0.51
  EXPECT_GT(trained, untrained);
  EXPECT_EQ(gae.embed(test[0]).size(), static_cast<size_t>(2 * o.embedding));
}

TEST(GnnBadInput, ErrorsSayWhatIsWrong) {
  const auto train = graphs(8, 30, true);
  GnnOptions o = small_options();
  o.max_epochs = 1;
  const GnnPredictor model = train_gnn(GnnKind::kSage, train, {}, o).predictor;

  GraphSample wide = train[0];
  wide.node_feature_dim = 5;
  wide.node_features.resize(static_cast<size_t>(wide.num_nodes * 5), 0.f);
  EXPECT_NE(error_of([&] { model.predict(wide); }).find("node features per node, the model expects 4"),
            std::string::npos);

  GraphSample empty = train[0];
  empty.num_nodes = 0;
  empty.node_features.clear();
  empty.edges.clear();
  EXPECT_NE(error_of([&] { model.predict(empty); }).find("no nodes"), std::string::npos);
  EXPECT_NE(error_of([&] { train_gnn(GnnKind::kGin, {empty}, {}, o); }).find("no nodes"), std::string::npos);

  GraphSample bad_edge = train[0];
  bad_edge.edges.emplace_back(0, static_cast<int32_t>(bad_edge.num_nodes));
  EXPECT_NE(error_of([&] { model.predict(bad_edge); }).find("outside the graph"), std::string::npos);

  GraphSample short_matrix = train[0];
  short_matrix.node_features.pop_back();
  EXPECT_NE(error_of([&] { model.predict(short_matrix); }).find("node feature matrix"), std::string::npos);

  GraphSample static_mismatch = train[0];
  static_mismatch.static_features.push_back(1.f);
  EXPECT_NE(error_of([&] { model.predict(static_mismatch); }).find("static features"), std::string::npos);

  GraphSample no_prior = train[0];
  no_prior.prior = std::nan("");
  EXPECT_NE(error_of([&] { model.predict(no_prior); }).find("no prior"), std::string::npos);

  GraphSample unlabelled = train[0];
  unlabelled.target = std::nan("");
  EXPECT_NE(error_of([&] { train_gnn(GnnKind::kSage, {unlabelled}, {}, o); }).find("target"), std::string::npos);
  EXPECT_NE(error_of([&] { train_gnn(GnnKind::kSage, {}, {}, o); }).find("no training samples"), std::string::npos);

  EXPECT_NE(error_of([] { GnnPredictor::load("/nonexistent/perfcast/model"); }).find("no graph model"),
            std::string::npos);
  const std::string dir = temp_dir("bad");
  std::ofstream(dir + "/m.pt") << "not an archive";
  std::ofstream(dir + "/m.meta.json") << "{}";
  EXPECT_NE(error_of([&] { GnnPredictor::load(dir + "/m"); }).find("not a perfcast graph model"), std::string::npos);
  model.save(dir + "/good", nlohmann::json::object());
  std::ofstream(dir + "/good.pt") << "truncated";
  EXPECT_NE(error_of([&] { GnnPredictor::load(dir + "/good"); }).find("cannot read graph model"), std::string::npos);
  EXPECT_NE(error_of([] { parse_kind("gcn"); }).find("sage, gin or gae-sage"), std::string::npos);
}

}  // namespace
}  // namespace perfcast::learn::gnn
