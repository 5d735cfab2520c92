// perfcast evaluate: compare the roofline prior with the learned predictors on held-out rows: XGBoost
// on timm, the graph neural networks (and XGBoost on the same rows) on NAS-Bench-201.
#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <map>
#include <algorithm>
#include <nlohmann/json.hpp>
#include <vector>

#include "commands.h"
#include "common/error.h"
#include "common/json_file.h"
#include "hardware/device_catalog.h"
#include "dataset/deepbench_kernels.h"
#include "learn/deepbench_evaluation.h"
#include "learn/evaluation.h"
#include "learn/features.h"
#include "learn/gnn_plugin.h"
#include "learn/seed_list.h"
#include "learn/timm_dataset.h"
#include "llm_bench_commands.h"
#include "predict/roofline_calibration.h"

namespace perfcast::cli {
namespace {

struct EvaluateArgs {
  std::string predictor = "xgb";
  std::string split;  // default: family (timm), arch (nasbench201)
  std::string target = "latency";
  std::string data = "timm";
  std::string data_dir;
  std::string seeds = "5";  // N -> 0..N-1, or a list "0,1,2"
  int64_t architectures = learn::gnn::GnnEvaluateArgs{}.architectures;
  learn::gnn::GnnOptions gnn;
  EvaluateArgs() { gnn.threads = 2; }
  bool all = false;
  std::string model;
  bool annotate = false;
  bool speed = false;
};

void print_row(const std::string& split, const std::string& seeds, const std::string& name,
               const learn::MetricsOverSeeds& s, size_t n_test) {
  std::cout << fmt::format("{:<8} {:<6} {:<24} {:>7} {:>14} {:>14} {:>13} {:>12}\n", split, seeds, name, n_test,
                           s.cell(&learn::Metrics::mape, 1), s.cell(&learn::Metrics::rmse, 1),
                           s.cell(&learn::Metrics::kendall_tau, 3), s.cell(&learn::Metrics::acc10, 1));
}

void evaluate_splits(const EvaluateArgs& args, const std::vector<learn::SplitKind>& splits) {
  const auto catalog = hardware::DeviceCatalog::load();
  const std::string dir = args.data_dir.empty() ? learn::default_timm_dir() : args.data_dir;
  const learn::TimmDataset data = learn::load_timm_inference(dir, catalog);
  const learn::Target target = learn::parse_target(args.target);
  const bool xgb = args.all || args.predictor == "xgb";
  std::cout << fmt::format("timm GPU inference: {} rows from {} files ({} rows with empty cells skipped)\n",
                           data.rows.size(), data.files_used.size(), data.rows_skipped);
  for (const auto& s : data.files_skipped) std::cout << "  skipped " << s << "\n";
  std::cout << fmt::format("\n{:<8} {:<6} {:<24} {:>7} {:>14} {:>14} {:>13} {:>12}\n", "split", "seeds", "predictor",
                           "n_test", "MAPE %", target == learn::Target::kLatency ? "RMSE ms" : "RMSE /s", "Kendall tau",
                           "Acc10 %");
  const std::vector<uint64_t> seed_list = learn::parse_seeds(args.seeds);
  for (learn::SplitKind split : splits) {
    learn::MetricsOverSeeds roof, scaled, model;
    size_t n_test = 0;
    for (uint64_t seed : seed_list) {
      const auto r = learn::evaluate_split(data, catalog, split, seed, target, learn::XgbParams{}, xgb);
      roof.runs.push_back(r.roofline);
      scaled.runs.push_back(r.roofline_scaled);
      if (r.xgb_trained) model.runs.push_back(r.xgb);
      n_test = r.n_test;
    }
    const std::string seeds = learn::seeds_label(seed_list);
    const std::string name = learn::split_name(split);
    print_row(name, seeds, "roofline-prior", roof, n_test);
    print_row(name, seeds, "roofline-prior x scale", scaled, n_test);
    if (xgb) print_row(name, seeds, "xgb (prior x learned)", model, n_test);
  }
  std::cout << "\nmean±sd over seeds; n_test of the last seed. family: 20% of families held out per seed; device: "
               "seed s holds out the s-th GPU in name order (wrapping), trained on the others; random: 20% of rows (reference "
               "only, leaks models across files). 'x scale' = one global factor fitted on the train rows.\n";
}

// An XGBoost model whose sidecar says it predicts LLM serving (LLM-Inference-Bench), not timm latency.
bool is_llm_serving_model(const std::string& model_path) {
  const nlohmann::json meta = read_json_file(learn::sidecar_path(model_path), "learned model sidecar");
  return meta.value("applies_to", nlohmann::json::object()).value("task", "") == "llm-serving";
}

void check_model(const EvaluateArgs& args) {
  const auto catalog = hardware::DeviceCatalog::load();
  const std::string dir = args.data_dir.empty() ? learn::default_timm_dir() : args.data_dir;
  const learn::TimmDataset data = learn::load_timm_inference(dir, catalog);
  const auto check = learn::check_saved_model(args.model, data, catalog);
  std::cout << fmt::format("{}: {} split, seed {}: recorded MAPE {:.6f}%, reproduced {:.6f}% on {} rows "
                           "(RMSE {:.2f}, tau {:.3f}, Acc10 {:.1f}%)\n",
                           args.model, learn::split_name(check.recorded_split.split), check.recorded_split.seed,
                           check.recorded_mape, check.reproduced.mape, check.reproduced.n, check.reproduced.rmse,
                           check.reproduced.kendall_tau, check.reproduced.acc10);
  if (!args.speed) return;
  using clock = std::chrono::steady_clock;
  const learn::TimmRow& row = data.rows.front();
  const hardware::Device& device = catalog.get(row.device_id);
  const auto t0 = clock::now();
  learn::XgbModel model = learn::XgbModel::load(args.model);
  model.set_nthread(1);
  const float out = model.predict_one(learn::make_features(row.workload, device));
  const auto t1 = clock::now();
  const double load_predict_ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
  std::vector<size_t> all(data.rows.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  const auto t2 = clock::now();
  const learn::DenseMatrix x = learn::feature_matrix(data, all, catalog);
  const auto preds = model.predict(x);
  const auto t3 = clock::now();
  const double batch_s = std::chrono::duration<double>(t3 - t2).count();
  const int singles = 1000;
  const auto t4 = clock::now();
  float sink = 0;
  for (int i = 0; i < singles; ++i)
    sink += model.predict_one(learn::make_features(data.rows[i % data.rows.size()].workload, device));
  const auto t5 = clock::now();
  const double single_us = std::chrono::duration<double, std::micro>(t5 - t4).count() / singles;
  std::cout << fmt::format("speed (1 thread): load + predict one row {:.1f} ms (output {:.4f}); batch of {} rows "
                           "(features + predict) {:.0f} rows/s; one row at a time {:.1f} us/row ({:.0f} rows/s){}\n",
                           load_predict_ms, out, preds.size(), static_cast<double>(preds.size()) / batch_s, single_us,
                           1e6 / single_us, sink == 12345.f ? " " : "");
}

// NAS-Bench-201 part of --all: the roofline prior and XGBoost over the seeds on both splits (seconds),
// then every saved graph model re-measured on its own held-out split. Training the GNNs over several
// seeds takes minutes each, so --all re-checks the shipped ones; `--data nasbench201 --predictor
// sage|gin|gae-sage --seeds N` trains them.
void evaluate_nasbench201_all(const EvaluateArgs& args) {
  for (const char* split : {"arch", "device"}) {
    std::cout << "\n";
    learn::gnn_commands().evaluate({"xgb", split, args.seeds, args.architectures, args.gnn});
  }
  const std::filesystem::path dir = hardware::default_data_dir() + "/models/learned";
  std::vector<std::string> models;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (entry.path().extension() == ".pt" && name.find("_nasbench201_") != std::string::npos)
      models.push_back((dir / entry.path().stem()).string());
  }
  std::sort(models.begin(), models.end());
  std::cout << fmt::format("\nsaved graph models ({}), each on its own split and seed:\n", dir.string());
  for (const std::string& m : models) learn::gnn_commands().check({m, false, args.gnn.threads, false});
}

void print_deepbench_group(const learn::DeepBenchGroup& g) {
  std::cout << fmt::format("{:<18} {:<5} {:<5} {:<17} {:>6} {:>8.1f} {:>8.0f} {:>10.2f}\n", g.device_id, g.kernel,
                           g.precision, g.pass, g.metrics.n, g.metrics.mape, g.metrics.acc10,
                           g.median_predicted_over_measured);
}

// The roofline per kernel on DeepBench (nothing fitted on it): every group, then per kernel kind, per
// device and overall.
void evaluate_deepbench_kernels(const std::string& data_dir) {
  const std::string dir = data_dir.empty() ? learn::default_deepbench_dir() : data_dir;
  if (dir.empty()) throw Error("no shared/data/deepbench beside the repository: pass --data-dir");
  const dataset::DeepBenchData data = dataset::load_deepbench_kernels(dir);
  const auto catalog = hardware::DeviceCatalog::load();
  const learn::DeepBenchEvaluation e = learn::evaluate_deepbench(data, catalog, predict::load_roofline_calibration());
  std::cout << fmt::format("DeepBench kernels ({}): {} timed kernels of {} read; the roofline constants were not "
                           "fitted on any of them\n",
                           dir, e.rows_used, data.kernels.size());
  const auto header = [](const char* title) {
    std::cout << fmt::format("\n{}\n{:<18} {:<5} {:<5} {:<17} {:>6} {:>8} {:>8} {:>10}\n", title, "device", "kind",
                             "prec", "pass", "n", "MAPE %", "Acc10 %", "pred/meas");
  };
  header("per device, kernel, precision and pass (pred/meas: median predicted / measured)");
  for (const auto& g : e.groups) print_deepbench_group(g);
  header("per kernel, precision and pass, every device");
  for (const auto& g : e.by_kind) print_deepbench_group(g);
  header("per device, every kernel");
  for (const auto& g : e.by_device) print_deepbench_group(g);
  if (e.rows_used > 0) print_deepbench_group(e.all);
  std::cout << "\nleft out:\n";
  for (const auto& [why, count] : e.skipped) std::cout << fmt::format("  {:5d}  {}\n", count, why);
}

}  // namespace

void register_evaluate(CLI::App& app) {
  auto args = std::make_shared<EvaluateArgs>();
  CLI::App* cmd = app.add_subcommand(
      "evaluate", "Compare the roofline prior and the learned predictors on held-out measurements (timm, NAS-Bench-201)");
  cmd->add_option("--predictor", args->predictor,
                  "xgb (also prints the prior), roofline-prior, or a graph predictor sage|gin|gae-sage (nasbench201; "
                  "also prints the prior and xgb on the same rows)")
      ->check(CLI::IsMember({"xgb", "roofline-prior", "sage", "gin", "gae-sage"}));
  cmd->add_option("--data", args->data,
                  "timm, nasbench201, llm-inference-bench, or deepbench (the roofline per GEMM/convolution kernel)")
      ->check(CLI::IsMember({"timm", "nasbench201", "llm-inference-bench", "deepbench"}));
  cmd->add_option("--split", args->split, "timm: family (default), device or random; nasbench201: arch (default) or device; "
                  "llm-inference-bench: model, device or random (default all three)")
      ->check(CLI::IsMember({"family", "device", "random", "arch", "model"}));
  cmd->add_option("--seeds", args->seeds, "Seeds: a count N (0..N-1) or a list such as 0,1,2");
  cmd->add_option("--architectures", args->architectures, "nasbench201: architectures drawn (x 9 device columns)")
      ->capture_default_str();
  cmd->add_option("--hidden", args->gnn.hidden, "Graph predictors: message-passing width")->capture_default_str();
  cmd->add_option("--layers", args->gnn.layers, "Graph predictors: message-passing layers")->capture_default_str();
  cmd->add_option("--epochs", args->gnn.max_epochs, "Graph predictors: most epochs (early stopping on validation)")
      ->capture_default_str();
  cmd->add_option("--threads", args->gnn.threads, "Graph predictors and their xgb baseline: CPU threads")
      ->capture_default_str();
  cmd->add_option("--target", args->target, "latency or throughput")->check(CLI::IsMember({"latency", "throughput"}));
  cmd->add_option("--data-dir", args->data_dir, "timm results folder (default $PERFCAST_TIMM_DIR or shared/data/timm beside the repository)");
  cmd->add_flag("--all", args->all,
                "Every dataset and split: timm (roofline prior, XGBoost), NAS-Bench-201 (prior, XGBoost; the saved "
                "graph models re-measured on their held-out split), LLM-Inference-Bench (analytical prior, XGBoost), "
                "DeepBench (the roofline per kernel)");
  cmd->add_option("--model", args->model,
                  "Re-measure a saved model on its sidecar's split and seed (xgb: MODEL.json; graph: NAME or NAME.pt)");
  cmd->add_flag("--speed", args->speed, "With --model: time loading and prediction on one thread");
  cmd->add_flag("--annotate", args->annotate,
                "With --model NAME (graph): write the held-out interval and OOD statistics that `predict --predictor "
                "sage|gin|gae-sage` uses into its sidecar (no retraining)");
  cmd->callback([args] {
    if (!args->model.empty()) {
      const std::string& m = args->model;
      const bool json = m.size() > 5 && m.substr(m.size() - 5) == ".json";
      if (json && args->annotate) throw Error("--annotate is for graph models; XGBoost sidecars: perfcast calibrate --annotate");
      if (json && is_llm_serving_model(m))
        return check_llm_bench_model(m, args->data_dir.empty() ? "" : args->data_dir + "/All_results.csv");
      if (json) return check_model(*args);
      return learn::gnn_commands().check({args->model, args->speed, args->gnn.threads, args->annotate});
    }
    if (args->speed || args->annotate) throw Error("--speed and --annotate need --model");
    const bool graph = args->predictor == "sage" || args->predictor == "gin" || args->predictor == "gae-sage";
    if (graph && args->data != "nasbench201") throw Error("--predictor " + args->predictor + " needs --data nasbench201");
    if (args->data == "nasbench201") {
      if (args->all) throw Error("--all covers every dataset: run it without --data");
      if (args->split != "" && args->split != "arch" && args->split != "device")
        throw Error("nasbench201 splits: arch, device");
      return learn::gnn_commands().evaluate(
          {args->predictor, args->split, args->seeds, args->architectures, args->gnn});
    }
    if (args->data == "deepbench") {
      if (args->all) throw Error("--all covers every dataset: run it without --data");
      if (!args->split.empty()) throw Error("deepbench has no split: every kernel is held out");
      return evaluate_deepbench_kernels(args->data_dir);
    }
    if (args->data == "llm-inference-bench") {
      if (args->all) throw Error("--all covers every dataset: run it without --data");
      if (args->split == "family" || args->split == "arch") throw Error("llm-inference-bench splits: model, device, random");
      return evaluate_llm_bench(args->split, args->seeds, args->data_dir.empty() ? "" : args->data_dir + "/All_results.csv");
    }
    if (args->split.empty()) args->split = "family";
    if (args->split == "arch") throw Error("--split arch is for --data nasbench201");
    if (args->split == "model") throw Error("--split model is for --data llm-inference-bench");
    if (args->all) {
      evaluate_splits(*args, {learn::SplitKind::kFamily, learn::SplitKind::kDevice, learn::SplitKind::kRandom});
      evaluate_nasbench201_all(*args);
      std::cout << "\n";
      evaluate_llm_bench("", args->seeds, "");
      std::cout << "\n";
      return evaluate_deepbench_kernels("");
    }
    evaluate_splits(*args, {learn::parse_split(args->split)});
  });
}

}  // namespace perfcast::cli
