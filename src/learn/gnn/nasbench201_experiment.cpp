#include "learn/gnn/nasbench201_experiment.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "learn/graph_features.h"
#include "learn/nasbench201_dataset.h"
#include "learn/xgb_model.h"

namespace perfcast::learn::gnn {
namespace {

std::vector<double> measured(const std::vector<GraphSample>& rows) {
  std::vector<double> out;
  for (const auto& s : rows) out.push_back(s.target);
  return out;
}

}  // namespace

Nb201Split load_nb201_split(const Nb201ExperimentOptions& o, const hardware::DeviceCatalog& catalog,
                            bool with_unlabelled) {
  if (o.split != "arch" && o.split != "device")
    throw Error("unknown NAS-Bench-201 split '" + o.split + "'; expected arch or device");
  NasBench201Options data;
  data.data_dir = o.data_dir;
  data.columns = o.columns;
  data.max_architectures = o.architectures;
  data.seed = o.data_seed;
  std::vector<GraphSample> rows = load_nasbench201_samples(data, catalog);
  if (rows.empty()) throw Error("NAS-Bench-201: no rows for the chosen columns");
  for (auto& s : rows) s.prior = naive_roofline_ms(s);

  std::set<std::string> arch_set;
  for (const auto& s : rows) arch_set.insert(s.group);
  std::vector<std::string> archs(arch_set.begin(), arch_set.end());
  std::mt19937_64 rng(o.seed);
  std::shuffle(archs.begin(), archs.end(), rng);
  const size_t n_test = o.split == "arch" ? static_cast<size_t>(std::lround(o.test_fraction * archs.size())) : 0;
  const size_t n_val = static_cast<size_t>(std::lround(o.val_fraction * (archs.size() - n_test)));
  const std::set<std::string> test_archs(archs.begin(), archs.begin() + static_cast<long>(n_test));
  const std::set<std::string> val_archs(archs.begin() + static_cast<long>(n_test),
                                        archs.begin() + static_cast<long>(n_test + n_val));
  Nb201Split split;
  std::set<std::string> test_devices;
  if (o.split == "device") {
    NasBench201Options which = data;
    which.columns = o.test_columns;
    for (const auto& c : nasbench201_columns(which, catalog)) test_devices.insert(c.device_id);
    for (const auto& c : nasbench201_columns(data, catalog))
      if (test_devices.count(c.device_id) && std::find(o.test_columns.begin(), o.test_columns.end(), c.column) ==
                                                 o.test_columns.end())
        throw Error(fmt::format("NAS-Bench-201 device split: column {} has the held-out device {} but is not held "
                                "out; hold out every column of a device",
                                c.column, c.device_id));
  }
  for (auto& s : rows) {
    const bool test = o.split == "arch" ? test_archs.count(s.group) > 0 : test_devices.count(s.device_id) > 0;
    if (test)
      split.test.push_back(std::move(s));
    else if (val_archs.count(s.group))
      split.val.push_back(std::move(s));
    else
      split.train.push_back(std::move(s));
  }
  if (split.train.empty() || split.test.empty())
    throw Error("NAS-Bench-201 split left no training or no test rows; check --split and the columns");
  std::set<std::string> seen_devices;
  for (const auto& s : split.test) seen_devices.insert(s.device_id);
  split.test_devices.assign(seen_devices.begin(), seen_devices.end());
  std::set<std::string> seen_archs;
  for (const auto& s : split.test) seen_archs.insert(s.group);
  split.test_architectures = seen_archs.size();
  if (with_unlabelled) {
    NasBench201Options pre;
    pre.data_dir = o.data_dir;
    pre.max_architectures = o.pretrain_architectures;
    pre.seed = o.data_seed + 1;
    for (auto& g : load_nasbench201_graphs(pre, 32))
      if (!test_archs.count(g.group)) split.unlabelled.push_back(std::move(g));
  }
  return split;
}

std::vector<Nb201Run> roofline_runs(const Nb201Split& split) {
  double log_sum = 0;
  for (const auto& s : split.train) log_sum += std::log(s.target / s.prior);
  const double scale = std::exp(log_sum / static_cast<double>(split.train.size()));
  std::vector<double> prior, scaled;
  for (const auto& s : split.test) {
    prior.push_back(s.prior);
    scaled.push_back(s.prior * scale);
  }
  const std::vector<double> meas = measured(split.test);
  Nb201Run a{"roofline-prior", compute_metrics(meas, prior), 0, 1};
  Nb201Run b{"roofline-prior x scale", compute_metrics(meas, scaled), 0, scale};
  return {a, b};
}

Nb201Run xgb_run(const Nb201Split& split, uint64_t seed, int threads) {
  auto matrix = [](const std::vector<GraphSample>& rows) {
    DenseMatrix x;
    x.rows = rows.size();
    x.cols = rows.front().static_features.size();
    for (const auto& s : rows) x.values.insert(x.values.end(), s.static_features.begin(), s.static_features.end());
    return x;
  };
  std::vector<float> y;
  for (const auto& s : split.train) y.push_back(static_cast<float>(std::log(s.target / s.prior)));
  XgbParams p;
  p.seed = seed;
  p.nthread = threads;
  const auto t0 = std::chrono::steady_clock::now();
  const XgbModel model = XgbModel::train(matrix(split.train), y, p);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const std::vector<float> out = model.predict(matrix(split.test));
  std::vector<double> pred;
  for (size_t i = 0; i < out.size(); ++i) pred.push_back(split.test[i].prior * std::exp(static_cast<double>(out[i])));
  return {"xgb (static features)", compute_metrics(measured(split.test), pred), seconds, 1};
}

nlohmann::json to_json(const Nb201ExperimentOptions& o) {
  return {{"name", "nasbench201"},
          {"source", "HELP nasbench201_latency_ms.csv (shared/data/help-nasbench201)"},
          {"data_dir", o.data_dir},
          {"architectures", o.architectures},
          {"data_seed", o.data_seed},
          {"columns", o.columns},
          {"split", o.split},
          {"test_columns", o.split == "device" ? nlohmann::json(o.test_columns) : nlohmann::json()},
          {"seed", o.seed},
          {"test_fraction", o.split == "arch" ? o.test_fraction : 0.0},
          {"val_fraction", o.val_fraction},
          {"pretrain_architectures", o.pretrain_architectures},
          {"target", "latency_ms of one batch; models predict log(measured / roofline prior)"}};
}

Nb201ExperimentOptions nb201_options_from_meta(const nlohmann::json& meta, const std::string& origin) {
  try {
    Nb201ExperimentOptions data;
    const auto& d = meta.at("data");
    data.split = d.at("split").get<std::string>();
    data.seed = d.at("seed").get<uint64_t>();
    data.architectures = d.at("architectures").get<int64_t>();
    data.data_seed = d.at("data_seed").get<uint64_t>();
    data.columns = d.at("columns").get<std::vector<std::string>>();
    if (data.split == "device") data.test_columns = d.at("test_columns").get<std::vector<std::string>>();
    return data;
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("{}: the sidecar does not record its NAS-Bench-201 data (\"data\"): {}", origin, e.what()));
  }
}

nlohmann::json to_json(const Nb201Run& r) {
  nlohmann::json j = learn::to_json(r.metrics);
  j["predictor"] = r.predictor;
  j["train_seconds"] = r.train_seconds;
  if (r.global_scale != 1) j["global_scale"] = r.global_scale;
  return j;
}

}  // namespace perfcast::learn::gnn
