#pragma once
// perfcast evaluate / fit --data llm-inference-bench: the learned LLM throughput predictor
// (learn/llm_bench_evaluation.h) from the command line.
#include <cstdint>
#include <string>

#include "learn/xgb_model.h"

namespace perfcast::cli {

// Every split when `split` is empty; prints mean±sd over the seeds and per-device / per-framework MAPE.
void evaluate_llm_bench(const std::string& split, const std::string& seeds, const std::string& data_path);
// Trains on the split's train rows and saves `out` (default data/models/learned/xgb_llm_throughput.json)
// with its sidecar.
void fit_llm_bench(const std::string& split, uint64_t seed, const std::string& out, const learn::XgbParams& params,
                   const std::string& data_path);
// Re-measures a saved LLM throughput model on the split and seed its sidecar records; prints the recorded
// and reproduced held-out MAPE. Throws perfcast::Error when the sidecar is missing or its features differ.
void check_llm_bench_model(const std::string& model_path, const std::string& data_path);

}  // namespace perfcast::cli
