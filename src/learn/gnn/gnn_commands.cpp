// The graph neural network side of `perfcast fit` and `perfcast evaluate` (NAS-Bench-201), built
// into libperfcast_gnn.so with the rest of src/learn/gnn.
#include "learn/gnn/gnn_commands.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <vector>

#include "common/error.h"
#include "common/json_file.h"
#include "dataset/store.h"
#include "hardware/device_catalog.h"
#include "learn/evaluation.h"
#include "learn/gnn/gnn_predictor.h"
#include "learn/gnn/gnn_sidecar.h"
#include "learn/gnn/nasbench201_experiment.h"
#include "learn/gnn/torch_threads.h"
#include "learn/graph_features.h"
#include "learn/seed_list.h"

namespace perfcast::learn::gnn {

void run_gnn_fit(const GnnFitArgs& args) {
  const auto catalog = hardware::DeviceCatalog::load();
  Nb201ExperimentOptions data;
  data.split = args.split.empty() ? "arch" : args.split;
  data.seed = args.seed;
  data.architectures = args.architectures;
  const GnnKind kind = parse_kind(args.predictor);
  const Nb201Split split = load_nb201_split(data, catalog, kind == GnnKind::kGaeSage);
  GnnOptions options = args.gnn;
  options.seed = args.seed;
  options.node_feature_names = learn::node_feature_names();
  options.static_feature_names = learn::static_feature_names();
  std::cout << fmt::format("NAS-Bench-201 {} split, seed {}: {} train, {} validation, {} test rows{}\n", data.split,
                           args.seed, split.train.size(), split.val.size(), split.test.size(),
                           split.unlabelled.empty() ? "" : fmt::format(", {} unlabelled graphs", split.unlabelled.size()));
  const GnnTrainResult r = train_gnn(kind, split.train, split.val, options, split.unlabelled);
  std::vector<double> measured;
  for (const auto& s : split.test) measured.push_back(s.target);
  const learn::Metrics test = learn::compute_metrics(measured, r.predictor.predict(split.test));
  const auto roof = roofline_runs(split);
  const std::string out = args.out.empty() ? hardware::default_data_dir() + "/models/learned/" + args.predictor +
                                                 "_nasbench201_" + data.split
                                           : args.out;
  const std::string command =
      fmt::format("perfcast fit --predictor {} --data nasbench201 --split {} --seed {} --architectures {} --hidden {} "
                  "--layers {} --epochs {} --threads {} --out {}",
                  args.predictor, data.split, args.seed, args.architectures, options.hidden, options.layers,
                  options.max_epochs, options.threads, out);
  nlohmann::json meta = {
      {"created_utc", dataset::now_iso8601()},
      {"command", command},
      {"data", to_json(data)},
      {"split",
       {{"kind", data.split},
        {"seed", args.seed},
        {"n_train", split.train.size()},
        {"n_val", split.val.size()},
        {"n_test", split.test.size()},
        {"test_architectures", split.test_architectures},
        {"test_devices", split.test_devices},
        {"n_unlabelled", split.unlabelled.size()}}},
      {"metrics",
       {{"unit", "ms per batch, test rows"},
        {"model", learn::to_json(test)},
        {"roofline_prior", learn::to_json(roof[0].metrics)},
        {"roofline_prior_scaled", learn::to_json(roof[1].metrics)}}},
      {"training",
       {{"epochs_run", r.epochs_run},
        {"best_epoch", r.best_epoch},
        {"best_val_loss", r.best_val_loss},
        {"train_seconds", r.train_seconds},
        {"gae_seconds", r.gae_seconds},
        {"train_loss", r.train_loss},
        {"val_loss", r.val_loss},
        {"gae_loss", r.gae_loss}}}};
  meta.update(gnn_sidecar_annotation(r.predictor, split, catalog));
  r.predictor.save(out, meta);
  std::cout << fmt::format("trained {} in {:.1f} s ({} epochs, best {}; {} parameters)\n", args.predictor,
                           r.train_seconds, r.epochs_run, r.best_epoch, r.predictor.num_parameters());
  std::cout << fmt::format("test MAPE: {} {:.2f}%  roofline prior {:.2f}%  prior x {:.3f} {:.2f}%  (Kendall tau {:.3f}, "
                           "Acc10 {:.1f}%)\n",
                           args.predictor, test.mape, roof[0].metrics.mape, roof[1].global_scale, roof[1].metrics.mape,
                           test.kendall_tau, test.acc10);
  std::cout << fmt::format("saved {} and {}\n", archive_path(out), meta_path(out));
}


// Graph predictors on NAS-Bench-201, next to the roofline prior and XGBoost on the same rows.
void run_gnn_evaluate(const GnnEvaluateArgs& args) {
  const auto catalog = hardware::DeviceCatalog::load();
  const std::vector<uint64_t> seeds = learn::parse_seeds(args.seeds);
  const std::string split_kind = args.split.empty() ? "arch" : args.split;
  const bool gnn = args.predictor != "xgb" && args.predictor != "roofline-prior";
  const bool xgb = args.predictor != "roofline-prior";
  std::map<std::string, learn::MetricsOverSeeds> runs;
  std::map<std::string, double> seconds;
  std::vector<std::string> order;
  size_t n_test = 0, n_train = 0;
  std::string test_devices;
  for (uint64_t seed : seeds) {
    Nb201ExperimentOptions data;
    data.split = split_kind;
    data.seed = seed;
    data.architectures = args.architectures;
    const bool gae = args.predictor == "gae-sage";
    const Nb201Split split = load_nb201_split(data, catalog, gae);
    std::vector<Nb201Run> seed_runs = roofline_runs(split);
    if (xgb) seed_runs.push_back(xgb_run(split, seed, args.gnn.threads));
    if (gnn) {
      GnnOptions options = args.gnn;
      options.seed = seed;
      const auto r = train_gnn(parse_kind(args.predictor), split.train, split.val, options,
                                           split.unlabelled);
      std::vector<double> measured;
      for (const auto& s : split.test) measured.push_back(s.target);
      seed_runs.push_back({args.predictor, learn::compute_metrics(measured, r.predictor.predict(split.test)),
                           r.train_seconds, 1});
      std::cerr << fmt::format("seed {}: {} trained in {:.1f} s ({} epochs, best {})\n", seed, args.predictor,
                               r.train_seconds, r.epochs_run, r.best_epoch);
    }
    for (const auto& run : seed_runs) {
      if (!runs.count(run.predictor)) order.push_back(run.predictor);
      runs[run.predictor].runs.push_back(run.metrics);
      seconds[run.predictor] += run.train_seconds / static_cast<double>(seeds.size());
    }
    n_test = split.test.size();
    n_train = split.train.size();
    test_devices.clear();
    for (const auto& d : split.test_devices) test_devices += (test_devices.empty() ? "" : ", ") + d;
  }
  std::cout << fmt::format("NAS-Bench-201 (HELP latencies), {} architectures x 9 device columns, {} split; {} train "
                           "rows, test devices: {}\n",
                           args.architectures, split_kind, n_train, test_devices);
  std::cout << fmt::format("\n{:<8} {:<6} {:<24} {:>7} {:>14} {:>14} {:>13} {:>12} {:>9}\n", "split", "seeds",
                           "predictor", "n_test", "MAPE %", "RMSE ms", "Kendall tau", "Acc10 %", "train s");
  for (const auto& name : order) {
    const learn::MetricsOverSeeds& s = runs[name];
    std::cout << fmt::format("{:<8} {:<6} {:<24} {:>7} {:>14} {:>14} {:>13} {:>12} {:>9.1f}\n", split_kind,
                             learn::seeds_label(seeds), name, n_test, s.cell(&learn::Metrics::mape, 1),
                             s.cell(&learn::Metrics::rmse, 2), s.cell(&learn::Metrics::kendall_tau, 3),
                             s.cell(&learn::Metrics::acc10, 1), seconds[name]);
  }
  std::cout << "\nmean±sd over seeds; n_test of the last seed; ms per batch. arch: 20% of the architectures held out "
               "per seed (all their device rows); device: titan_rtx_32 and silver_4210r held out (the seed changes the "
               "validation split and model seeds). Every learned model predicts log(measured / roofline prior); xgb "
               "sees the graph-level + device features, the graph predictors the operator graph as well.\n";
}

void run_gnn_check(const GnnCheckArgs& args) {
  using clock = std::chrono::steady_clock;
  const auto catalog = hardware::DeviceCatalog::load();
  const auto t0 = clock::now();
  const GnnPredictor loaded = GnnPredictor::load(args.model);
  const auto t1 = clock::now();
  const nlohmann::json meta = loaded.meta();
  require_current_features(meta, args.model);
  const Nb201ExperimentOptions data = nb201_options_from_meta(meta, args.model);
  const Nb201Split split = load_nb201_split(data, catalog, false);
  std::vector<double> measured;
  for (const auto& s : split.test) measured.push_back(s.target);
  set_torch_threads(args.threads);
  const auto t2 = clock::now();
  const std::vector<double> pred = loaded.predict(split.test);
  const double batch_s = std::chrono::duration<double>(clock::now() - t2).count();
  const learn::Metrics m = learn::compute_metrics(measured, pred);
  std::cout << fmt::format("{}: {} split, seed {}: recorded MAPE {:.6f}%, reproduced {:.6f}% on {} rows (RMSE {:.3f} "
                           "ms, tau {:.3f}, Acc10 {:.1f}%)\n",
                           args.model, data.split, data.seed, meta.at("metrics").at("model").at("mape_pct").get<double>(),
                           m.mape, m.n, m.rmse, m.kendall_tau, m.acc10);
  if (args.annotate) {
    const std::string path = meta_path(args.model);
    nlohmann::json sidecar = read_json_file(path, "graph predictor sidecar");
    sidecar.update(gnn_sidecar_annotation(loaded, split, catalog));
    sidecar["annotated_by"] = "perfcast evaluate --model " + args.model + " --annotate";
    std::ofstream(path) << sidecar.dump(2) << "\n";
    const auto& i = sidecar.at("interval");
    std::cout << fmt::format("wrote {}: interval x[{:.3f}, {:.3f}] (10th-90th percentile of measured / predicted over "
                             "{} held-out rows) and OOD statistics per device kind\n",
                             path, i.at("factor_low").get<double>(), i.at("factor_high").get<double>(),
                             i.at("held_out_rows").get<size_t>());
  }
  if (!args.speed) return;
  const auto t3 = clock::now();
  const GnnPredictor again = GnnPredictor::load(args.model);
  const double one = again.predict(split.test.front());
  const double load_predict_ms = std::chrono::duration<double, std::milli>(clock::now() - t3).count();
  const int singles = std::min<int>(200, static_cast<int>(split.test.size()));
  const auto t4 = clock::now();
  double sink = 0;
  for (int i = 0; i < singles; ++i) sink += again.predict(split.test[static_cast<size_t>(i)]);
  const double single_ms = std::chrono::duration<double, std::milli>(clock::now() - t4).count() / singles;
  std::cout << fmt::format("speed (torch threads as set: {}): load + predict one graph {:.1f} ms (first load {:.1f} ms, "
                           "output {:.4f} ms); batched {:.0f} graphs/s over {} graphs; one graph at a time {:.2f} ms "
                           "({:.0f} graphs/s){}\n",
                           args.threads, load_predict_ms,
                           std::chrono::duration<double, std::milli>(t1 - t0).count(), one,
                           static_cast<double>(pred.size()) / batch_s, pred.size(), single_ms, 1e3 / single_ms,
                           sink == 12345.0 ? " " : "");
}


}  // namespace perfcast::learn::gnn

extern "C" const perfcast::learn::gnn::GnnCommands* perfcast_gnn_commands() {
  namespace g = perfcast::learn::gnn;
  static const g::GnnCommands commands{g::kGnnCommandsAbiVersion, &g::run_gnn_fit, &g::run_gnn_evaluate,
                                       &g::run_gnn_check, &g::run_gnn_predict};
  return &commands;
}
