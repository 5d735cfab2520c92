#include "learn/llm_bench_evaluation.h"

#include <cmath>

#include <nlohmann/json.hpp>

#include "learn/llm_features.h"

namespace perfcast::learn {

DenseMatrix llm_feature_matrix(const LlmBenchDataset& data, const std::vector<size_t>& rows) {
  DenseMatrix x;
  x.rows = rows.size();
  x.cols = llm_feature_names().size();
  x.values.reserve(x.rows * x.cols);
  for (size_t i : rows) x.values.insert(x.values.end(), data.rows[i].features.begin(), data.rows[i].features.end());
  return x;
}

std::vector<double> llm_corrected_tokens_per_s(const LlmBenchDataset& data, const std::vector<size_t>& rows,
                                               const std::vector<float>& output) {
  std::vector<double> out(rows.size());
  for (size_t k = 0; k < rows.size(); ++k)
    out[k] = data.rows[rows[k]].prior_tokens_per_s * std::exp(static_cast<double>(output[k]));
  return out;
}

LlmSplitResult evaluate_llm_split(const LlmBenchDataset& data, LlmSplitKind kind, uint64_t seed,
                                  const XgbParams& params, XgbModel* model_out) {
  const LlmSplit split = make_llm_split(data, kind, seed);
  LlmSplitResult result;
  result.split = kind;
  result.seed = seed;
  result.held_out = split.held_out;
  result.n_train = split.train.size();
  result.n_test = split.test.size();
  result.test_rows = split.test;

  std::vector<float> y_train;
  double log_sum = 0;
  for (size_t i : split.train) {
    const double residual = std::log(data.rows[i].tokens_per_s / data.rows[i].prior_tokens_per_s);
    y_train.push_back(static_cast<float>(residual));
    log_sum += residual;
  }
  result.global_scale = std::exp(log_sum / static_cast<double>(y_train.size()));

  std::vector<double> measured;
  for (size_t i : split.test) {
    measured.push_back(data.rows[i].tokens_per_s);
    result.prior_tokens_per_s.push_back(data.rows[i].prior_tokens_per_s);
    result.scaled_tokens_per_s.push_back(data.rows[i].prior_tokens_per_s * result.global_scale);
  }
  XgbParams p = params;
  p.seed = params.seed + seed;
  XgbModel model = XgbModel::train(llm_feature_matrix(data, split.train), y_train, p);
  result.xgb_tokens_per_s = llm_corrected_tokens_per_s(data, split.test, model.predict(llm_feature_matrix(data, split.test)));
  result.prior = compute_metrics(measured, result.prior_tokens_per_s);
  result.prior_scaled = compute_metrics(measured, result.scaled_tokens_per_s);
  result.xgb = compute_metrics(measured, result.xgb_tokens_per_s);
  if (model_out) *model_out = std::move(model);
  return result;
}

nlohmann::json to_json(const LlmSplitResult& r) {
  return {{"split", llm_split_name(r.split)},
          {"seed", r.seed},
          {"held_out", r.held_out},
          {"target", "throughput"},
          {"rmse_unit", "tokens/s"},
          {"n_train", r.n_train},
          {"n_test", r.n_test},
          {"global_scale", r.global_scale},
          {"analytical_prior", to_json(r.prior)},
          {"analytical_prior_scaled", to_json(r.prior_scaled)},
          {"xgb", to_json(r.xgb)}};
}

}  // namespace perfcast::learn
