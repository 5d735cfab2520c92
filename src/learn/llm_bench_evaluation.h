#pragma once
// The learned LLM throughput predictor on LLM-Inference-Bench, one split at one seed: perfcast's
// analytical prior alone, the prior times one global scale fitted on the train rows, and XGBoost
// correcting the prior (target log(measured / prior)), each measured on the held-out rows only.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "learn/evaluation.h"
#include "learn/llm_bench_dataset.h"
#include "learn/xgb_model.h"

namespace perfcast::learn {

struct LlmSplitResult {
  LlmSplitKind split = LlmSplitKind::kModel;
  uint64_t seed = 0;
  std::string held_out;
  size_t n_train = 0, n_test = 0;
  double global_scale = 1;  // exp(mean log(measured / prior)) over the train rows
  Metrics prior, prior_scaled, xgb;
  std::vector<size_t> test_rows;  // row indices, and the tokens/s each predictor gave them
  std::vector<double> prior_tokens_per_s, scaled_tokens_per_s, xgb_tokens_per_s;
};

DenseMatrix llm_feature_matrix(const LlmBenchDataset& data, const std::vector<size_t>& rows);
// prior x exp(model output) for the given rows.
std::vector<double> llm_corrected_tokens_per_s(const LlmBenchDataset& data, const std::vector<size_t>& rows,
                                               const std::vector<float>& output);

// Trains XGBoost (params.seed + seed) on the split's train rows; the model is moved into *model_out when given.
LlmSplitResult evaluate_llm_split(const LlmBenchDataset& data, LlmSplitKind split, uint64_t seed,
                                  const XgbParams& params, XgbModel* model_out = nullptr);

nlohmann::json to_json(const LlmSplitResult& result);

}  // namespace perfcast::learn
