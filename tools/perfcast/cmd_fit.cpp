// perfcast fit: train a learned latency predictor (XGBoost correcting the roofline prior) on
// timm's measurements and save it with a sidecar (data, split, seed, parameters, metrics, date).
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
#include "learn/timm_dataset.h"

namespace perfcast::cli {
namespace {

struct FitArgs {
  std::string predictor = "xgb";
  std::string target = "latency";
  std::string data = "timm";
  std::string data_dir;
  std::string split = "family";
  uint64_t seed = 0;
  std::string out;
  learn::XgbParams params;
};

std::string utc_now() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

void register_fit(CLI::App& app) {
  auto args = std::make_shared<FitArgs>();
  CLI::App* cmd = app.add_subcommand(
      "fit", "Train a learned predictor (XGBoost correcting the roofline prior) on measured timm throughput");
  cmd->add_option("--predictor", args->predictor, "Learned predictor")->check(CLI::IsMember({"xgb"}));
  cmd->add_option("--target", args->target, "latency (ms per batch) or throughput (samples/s): the metrics' unit")
      ->check(CLI::IsMember({"latency", "throughput"}));
  cmd->add_option("--data", args->data, "Training data")->check(CLI::IsMember({"timm"}));
  cmd->add_option("--data-dir", args->data_dir, "timm results folder (default $PERFCAST_TIMM_DIR or shared/data/timm beside the repository)");
  cmd->add_option("--split", args->split, "Held-out split the recorded metrics are measured on")
      ->check(CLI::IsMember({"family", "device", "random"}));
  cmd->add_option("--seed", args->seed, "Split and XGBoost seed");
  cmd->add_option("--out", args->out, "Model file (.json); default data/models/learned/xgb_<target>.json");
  cmd->add_option("--rounds", args->params.rounds, "Boosting rounds")->capture_default_str();
  cmd->add_option("--max-depth", args->params.max_depth, "Tree depth")->capture_default_str();
  cmd->add_option("--eta", args->params.eta, "Learning rate")->capture_default_str();
  cmd->callback([args] {
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
        {"created_utc", utc_now()},
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
