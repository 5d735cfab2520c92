// perfcast fit: train a learned latency predictor and save it with a sidecar (data, split, seed,
// parameters, metrics, date): XGBoost correcting the roofline prior on timm's measurements, or a
// graph neural network (sage, gin, gae-sage) on HELP's NAS-Bench-201 latencies.
#include <fmt/format.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "common/error.h"
#include "hardware/device_catalog.h"
#include "learn/evaluation.h"
#include "learn/features.h"
#include "dataset/store.h"
#include "learn/gnn_plugin.h"
#include "learn/timm_dataset.h"
#include "llm_bench_commands.h"

namespace perfcast::cli {
namespace {

struct FitArgs {
  std::string predictor = "xgb";
  std::string target = "latency";
  std::string data = "timm";
  std::string data_dir;
  std::string split;  // default: family (timm), arch (nasbench201)
  uint64_t seed = 0;
  std::string out;
  learn::XgbParams params;
  learn::gnn::GnnOptions gnn;
  int64_t architectures = learn::gnn::GnnFitArgs{}.architectures;
  FitArgs() { gnn.threads = 2; }
};

bool is_gnn(const std::string& predictor) { return predictor != "xgb"; }

}  // namespace

void register_fit(CLI::App& app) {
  auto args = std::make_shared<FitArgs>();
  CLI::App* cmd = app.add_subcommand(
      "fit", "Train a learned predictor: XGBoost correcting the roofline prior (timm), or a graph neural network "
             "(sage, gin, gae-sage) on NAS-Bench-201");
  cmd->add_option("--predictor", args->predictor, "Learned predictor: xgb (timm) or sage|gin|gae-sage (nasbench201)")
      ->check(CLI::IsMember({"xgb", "sage", "gin", "gae-sage"}));
  cmd->add_option("--target", args->target, "latency (ms per batch) or throughput (samples/s): the metrics' unit")
      ->check(CLI::IsMember({"latency", "throughput"}));
  cmd->add_option("--data", args->data,
                  "Training data: timm or llm-inference-bench (xgb), nasbench201 (graph predictors)")
      ->check(CLI::IsMember({"timm", "nasbench201", "llm-inference-bench"}));
  cmd->add_option("--data-dir", args->data_dir, "timm results folder (default $PERFCAST_TIMM_DIR or shared/data/timm beside the repository)");
  cmd->add_option("--split", args->split,
                  "Held-out split the recorded metrics are measured on: family|device|random (timm, default family), "
                  "arch|device (nasbench201, default arch), model|device|random (llm-inference-bench, default model)")
      ->check(CLI::IsMember({"family", "device", "random", "arch", "model"}));
  cmd->add_option("--seed", args->seed, "Split and model seed");
  cmd->add_option("--out", args->out,
                  "xgb: model file (.json), default data/models/learned/xgb_<target>.json; graph predictors: NAME "
                  "(writes NAME.pt and NAME.meta.json), default data/models/learned/<predictor>_nasbench201_<split>");
  cmd->add_option("--rounds", args->params.rounds, "Boosting rounds")->capture_default_str();
  cmd->add_option("--max-depth", args->params.max_depth, "Tree depth")->capture_default_str();
  cmd->add_option("--eta", args->params.eta, "Learning rate")->capture_default_str();
  cmd->add_option("--architectures", args->architectures, "nasbench201: architectures drawn (x 9 device columns)")
      ->capture_default_str();
  cmd->add_option("--hidden", args->gnn.hidden, "Graph predictors: message-passing width")->capture_default_str();
  cmd->add_option("--layers", args->gnn.layers, "Graph predictors: message-passing layers")->capture_default_str();
  cmd->add_option("--epochs", args->gnn.max_epochs, "Graph predictors: most epochs (early stopping on validation)")
      ->capture_default_str();
  cmd->add_option("--threads", args->gnn.threads, "Graph predictors: torch threads")->capture_default_str();
  cmd->callback([args] {
    if (is_gnn(args->predictor)) {
      if (args->data != "nasbench201")
        throw Error("--predictor " + args->predictor + " trains on graphs: use --data nasbench201");
      return learn::gnn_commands().fit(
          {args->predictor, args->split, args->seed, args->out, args->architectures, args->gnn});
    }
    if (args->data == "llm-inference-bench") {
      if (args->target != "throughput") throw Error("--data llm-inference-bench predicts --target throughput (tokens/s)");
      const std::string path = args->data_dir.empty() ? "" : args->data_dir + "/All_results.csv";
      return fit_llm_bench(args->split, args->seed, args->out, args->params, path);
    }
    if (args->data != "timm") throw Error("--predictor xgb trains on --data timm or llm-inference-bench");
    if (args->split == "model") throw Error("--split model is for --data llm-inference-bench; timm splits: family, device, random");
    if (args->split.empty()) args->split = "family";
    if (args->split == "arch") throw Error("--split arch is for --data nasbench201; timm splits: family, device, random");
    const auto catalog = hardware::DeviceCatalog::load();
    const std::string dir = args->data_dir.empty() ? learn::default_timm_dir() : args->data_dir;
    const learn::TimmDataset data = learn::load_timm_inference(dir, catalog);
    const learn::SplitKind split = learn::parse_split(args->split);
    const learn::Target target = learn::parse_target(args->target);
    learn::XgbModel model;
    const learn::SplitResult result =
        learn::evaluate_split(data, catalog, split, args->seed, target, args->params, true, &model);
    const std::string out = args->out.empty()
                                ? hardware::default_data_dir() + "/models/learned/xgb_" + args->target + ".json"
                                : args->out;
    if (out.size() < 5 || out.substr(out.size() - 5) != ".json") throw Error("--out must end in .json");
    const auto parent = std::filesystem::path(out).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent);
    model.save(out);
    nlohmann::json meta = {
        {"predictor", "xgb"},
        {"model_file", std::filesystem::path(out).filename().string()},
        {"created_utc", dataset::now_iso8601()},
        {"data", {{"name", "timm"}, {"dir", dir}, {"files", data.files_used}, {"files_skipped", data.files_skipped},
                  {"rows", data.rows.size()}, {"rows_skipped", data.rows_skipped}}},
        {"target_transform", "model output = log(measured ms / roofline prior ms); prediction = prior * exp(output)"},
        {"features", learn::feature_names()},
        {"params", learn::to_json(args->params)},
        {"xgboost_seed", args->params.seed + args->seed},
        {"result", learn::to_json(result)},
        {"command", fmt::format("perfcast fit --predictor xgb --target {} --data timm --split {} --seed {} --out {}",
                                args->target, args->split, args->seed, out)}};
    std::ofstream(learn::sidecar_path(out)) << meta.dump(2) << "\n";
    std::cout << fmt::format("trained on {} rows ({} split, seed {}), tested on {} rows\n", result.n_train,
                             args->split, args->seed, result.n_test);
    std::cout << fmt::format("test MAPE: xgb {:.2f}%  roofline prior {:.2f}%  prior x {:.3f} {:.2f}%\n",
                             result.xgb.mape, result.roofline.mape, result.global_scale, result.roofline_scaled.mape);
    std::cout << fmt::format("saved {} and {}\n", out, learn::sidecar_path(out));
  });
}

}  // namespace perfcast::cli
