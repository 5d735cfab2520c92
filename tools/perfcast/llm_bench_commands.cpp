#include "llm_bench_commands.h"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <vector>

#include "common/error.h"
#include "common/json_file.h"
#include "dataset/store.h"
#include "hardware/device_catalog.h"
#include "learn/llm_bench_evaluation.h"
#include "learn/llm_features.h"
#include "learn/seed_list.h"
#include "predict/roofline_calibration.h"

namespace perfcast::cli {
namespace {

learn::LlmBenchDataset load(const std::string& data_path) {
  const auto catalog = hardware::DeviceCatalog::load();
  const std::string path = data_path.empty() ? learn::default_llm_bench_path() : data_path;
  return learn::load_llm_bench(path, catalog, predict::load_roofline_calibration());
}

void print_summary(const learn::LlmBenchDataset& data) {
  std::cout << fmt::format("LLM-Inference-Bench ({}): {} of {} rows used\n", data.path, data.rows.size(), data.rows_read);
  for (const auto& [why, n] : data.skipped) std::cout << fmt::format("  skipped {:>4} rows: {}\n", n, why);
}

void print_row(const std::string& split, const std::string& seeds, const std::string& name,
               const learn::MetricsOverSeeds& s, size_t n_test) {
  std::cout << fmt::format("{:<7} {:<6} {:<26} {:>6} {:>14} {:>14} {:>13} {:>12}\n", split, seeds, name, n_test,
                           s.cell(&learn::Metrics::mape, 1), s.cell(&learn::Metrics::rmse, 0),
                           s.cell(&learn::Metrics::kendall_tau, 3), s.cell(&learn::Metrics::acc10, 1));
}

// Mean absolute percentage error of each predictor over the held-out rows of every seed, by a row key.
struct Breakdown {
  struct Sums {
    size_t n = 0;
    double prior = 0, scaled = 0, xgb = 0;
  };
  std::map<std::string, Sums> by_key;
  void add(const std::string& key, double measured, double prior, double scaled, double xgb) {
    Sums& s = by_key[key];
    ++s.n;
    s.prior += std::fabs(prior - measured) / measured;
    s.scaled += std::fabs(scaled - measured) / measured;
    s.xgb += std::fabs(xgb - measured) / measured;
  }
  void print(const std::string& title) const {
    std::cout << fmt::format("  {:<16} {:>6} {:>10} {:>12} {:>9}\n", title, "rows", "prior %", "x scale %", "xgb %");
    for (const auto& [key, s] : by_key) {
      const double n = static_cast<double>(s.n);
      std::cout << fmt::format("  {:<16} {:>6} {:>10.1f} {:>12.1f} {:>9.1f}\n", key, s.n, 100 * s.prior / n,
                               100 * s.scaled / n, 100 * s.xgb / n);
    }
  }
};

}  // namespace

void evaluate_llm_bench(const std::string& split_text, const std::string& seeds_text, const std::string& data_path) {
  const learn::LlmBenchDataset data = load(data_path);
  print_summary(data);
  const std::vector<learn::LlmSplitKind> splits =
      split_text.empty()
          ? std::vector<learn::LlmSplitKind>{learn::LlmSplitKind::kModel, learn::LlmSplitKind::kDevice,
                                             learn::LlmSplitKind::kRandom}
          : std::vector<learn::LlmSplitKind>{learn::parse_llm_split(split_text)};
  const std::vector<uint64_t> seeds = learn::parse_seeds(seeds_text);
  const std::string seeds_label = learn::seeds_label(seeds);
  std::vector<std::pair<std::string, std::pair<Breakdown, Breakdown>>> breakdowns;
  std::cout << fmt::format("\n{:<7} {:<6} {:<26} {:>6} {:>14} {:>14} {:>13} {:>12}\n", "split", "seeds", "predictor",
                           "n_test", "MAPE %", "RMSE tok/s", "Kendall tau", "Acc10 %");
  double train_s = 0;
  for (learn::LlmSplitKind split : splits) {
    learn::MetricsOverSeeds prior, scaled, xgb;
    Breakdown by_device, by_framework;
    std::string held;
    size_t n_test = 0;
    for (uint64_t seed : seeds) {
      const auto t0 = std::chrono::steady_clock::now();
      const learn::LlmSplitResult r = learn::evaluate_llm_split(data, split, seed, learn::XgbParams{});
      train_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      prior.runs.push_back(r.prior);
      scaled.runs.push_back(r.prior_scaled);
      xgb.runs.push_back(r.xgb);
      n_test = r.n_test;
      if (!r.held_out.empty())
        held += (held.empty() ? "" : ", ") + fmt::format("{}: {} {:.1f}%", seed, r.held_out, r.xgb.mape);
      for (size_t k = 0; k < r.test_rows.size(); ++k) {
        const learn::LlmBenchRow& row = data.rows[r.test_rows[k]];
        by_device.add(row.device_id, row.tokens_per_s, r.prior_tokens_per_s[k], r.scaled_tokens_per_s[k],
                      r.xgb_tokens_per_s[k]);
        by_framework.add(row.framework, row.tokens_per_s, r.prior_tokens_per_s[k], r.scaled_tokens_per_s[k],
                         r.xgb_tokens_per_s[k]);
      }
    }
    const std::string name = learn::llm_split_name(split);
    print_row(name, seeds_label, "analytical prior", prior, n_test);
    print_row(name, seeds_label, "analytical prior x scale", scaled, n_test);
    print_row(name, seeds_label, "xgb (prior x learned)", xgb, n_test);
    if (!held.empty()) std::cout << fmt::format("        held out by seed (xgb MAPE): {}\n", held);
    breakdowns.push_back({name, {by_device, by_framework}});
  }
  for (const auto& [name, b] : breakdowns) {
    std::cout << fmt::format("\n{} split, held-out rows of every seed pooled:\n", name);
    b.first.print("device");
    b.second.print("framework");
  }
  std::cout << fmt::format(
      "\nmean±sd over seeds; n_test of the last seed. model: seed s holds out one model family (llama-2, llama-3, "
      "mistral = Mistral-7B + Mixtral-8x7B, qwen2; seeds 0-3 hold out each once); device: seed s holds out the "
      "(s mod 3)-th device in name order; random: 20% of rows (reference only). 'x scale' = one global factor "
      "fitted on the train rows. Target: Throughput (tokens/s, input + output). XGBoost training + prediction "
      "{:.1f} s in all.\n",
      train_s);
}

void fit_llm_bench(const std::string& split_text, uint64_t seed, const std::string& out_arg,
                   const learn::XgbParams& params, const std::string& data_path) {
  const learn::LlmBenchDataset data = load(data_path);
  const learn::LlmSplitKind split = learn::parse_llm_split(split_text.empty() ? "model" : split_text);
  learn::XgbModel model;
  const auto t0 = std::chrono::steady_clock::now();
  const learn::LlmSplitResult result = learn::evaluate_llm_split(data, split, seed, params, &model);
  const double train_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const std::string out =
      out_arg.empty() ? hardware::default_data_dir() + "/models/learned/xgb_llm_throughput.json" : out_arg;
  if (out.size() < 5 || out.substr(out.size() - 5) != ".json") throw Error("--out must end in .json");
  const auto parent = std::filesystem::path(out).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
  model.save(out);
  nlohmann::json skipped = nlohmann::json::object();
  for (const auto& [why, n] : data.skipped) skipped[why] = n;
  const nlohmann::json meta = {
      {"predictor", "xgb"},
      {"model_file", std::filesystem::path(out).filename().string()},
      {"created_utc", dataset::now_iso8601()},
      {"data", {{"name", "llm-inference-bench"}, {"path", data.path}, {"rows", data.rows.size()},
                {"rows_read", data.rows_read}, {"rows_skipped", skipped}}},
      {"target_transform",
       "model output = log(measured tokens/s / analytical prior tokens/s); prediction = prior * exp(output); "
       "prior = predict_llm_static_batch (fp16), tokens counted as batch x 2 x length / latency"},
      {"features", learn::llm_feature_names()},
      {"params", learn::to_json(params)},
      {"xgboost_seed", params.seed + seed},
      {"validated", {{"target", "throughput"}, {"split", learn::llm_split_name(split)}, {"mape_pct", result.xgb.mape},
                     {"baseline", "analytical_prior"}, {"baseline_mape_pct", result.prior.mape}, {"n", result.n_test}}},
      {"result", learn::to_json(result)},
      {"applies_to", {{"task", "llm-serving"}, {"mode", "inference"}, {"precisions", {"fp16"}}, {"device_kind", "gpu"},
                      {"inputs", "LLM-Inference-Bench request (model config, batch, input = output length, GPUs, "
                                 "framework) on A100 / MI250 / MI300X; not used by predict --predictor auto"}}},
      {"command", fmt::format("perfcast fit --predictor xgb --data llm-inference-bench --target throughput --split {} "
                              "--seed {} --out {}",
                              learn::llm_split_name(split), seed, out)}};
  std::ofstream(learn::sidecar_path(out)) << meta.dump(2) << "\n";
  std::cout << fmt::format("trained on {} rows ({} split, seed {}, held out: {}), tested on {} rows in {:.2f} s\n",
                           result.n_train, learn::llm_split_name(split), seed, result.held_out, result.n_test, train_s);
  std::cout << fmt::format("test MAPE: xgb {:.2f}%  analytical prior {:.2f}%  prior x {:.3f} {:.2f}%\n", result.xgb.mape,
                           result.prior.mape, result.global_scale, result.prior_scaled.mape);
  std::cout << fmt::format("saved {} and {}\n", out, learn::sidecar_path(out));
}

void check_llm_bench_model(const std::string& model_path, const std::string& data_path) {
  const std::string meta_path = learn::sidecar_path(model_path);
  const nlohmann::json meta = read_json_file(meta_path, "learned model sidecar");
  if (meta.value("features", nlohmann::json::array()) != nlohmann::json(learn::llm_feature_names()))
    throw Error(fmt::format("{}: the model was trained on other features than this perfcast computes", meta_path));
  const nlohmann::json& recorded = meta.at("result");
  const learn::LlmSplitKind kind = learn::parse_llm_split(recorded.at("split").get<std::string>());
  const auto seed = recorded.at("seed").get<uint64_t>();

  const learn::LlmBenchDataset data = load(data_path);
  const learn::LlmSplit split = learn::make_llm_split(data, kind, seed);
  const learn::XgbModel model = learn::XgbModel::load(model_path);
  const std::vector<double> predicted =
      learn::llm_corrected_tokens_per_s(data, split.test, model.predict(learn::llm_feature_matrix(data, split.test)));
  std::vector<double> measured;
  for (size_t i : split.test) measured.push_back(data.rows[i].tokens_per_s);
  const learn::Metrics m = learn::compute_metrics(measured, predicted);
  std::cout << fmt::format("{}: {} split, seed {} (held out: {}): recorded MAPE {:.6f}%, reproduced {:.6f}% on {} rows "
                           "(Acc10 {:.1f}%, tau {:.3f})\n",
                           model_path, learn::llm_split_name(kind), seed, split.held_out,
                           recorded.at("xgb").at("mape_pct").get<double>(), m.mape, m.n, m.acc10, m.kendall_tau);
}

}  // namespace perfcast::cli
