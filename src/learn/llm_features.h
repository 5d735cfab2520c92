#pragma once
// Tabular features of one LLM-Inference-Bench row (model config, request, framework, device spec
// sheet) and perfcast's analytical prior, which is both a feature and the base the learned model
// corrects: target = log(measured / prior), prediction = prior * exp(model output) (as the timm
// XGBoost does with its roofline prior, features.h).
#include <cstdint>
#include <string>
#include <vector>

#include "graph/transformer_config.h"
#include "hardware/device.h"
#include "predict/roofline_calibration.h"

namespace perfcast::learn {

// The frameworks of the one-hot columns (those with rows on catalog devices).
const std::vector<std::string>& llm_frameworks();

struct LlmRequest {
  int64_t length_tokens = 0;  // input = output
  int64_t batch = 1;
  int64_t tp = 1;             // GPUs the model is sharded over
  int64_t num_hardware = 1;   // units as the dataset counts them (an MI250 module is 2 GPUs)
  std::string framework;
};

struct LlmPrior {
  double tokens_per_s = 0;  // batch x 2 x length / latency (the dataset's count: input + output tokens)
  int64_t waves = 0;        // static-batch waves; 0: not even one sequence fits (costed as if it did)
};
// predict_llm_static_batch at fp16 (weights and KV). Throws perfcast::Error like it.
LlmPrior llm_analytical_prior(const graph::TransformerConfig& config, const hardware::Device& device,
                              const LlmRequest& request, const predict::RooflineCalibration& calibration);

// Names of the feature vector's columns, in order (stable: saved models depend on it).
const std::vector<std::string>& llm_feature_names();
// Appends llm_feature_names().size() values. Throws perfcast::Error for a framework not in llm_frameworks().
void append_llm_features(const graph::TransformerConfig& config, const hardware::Device& device,
                         const LlmRequest& request, const LlmPrior& prior, std::vector<float>& out);

}  // namespace perfcast::learn
