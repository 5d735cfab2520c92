#pragma once
// LLM-Inference-Bench (shared/data/llm-inference-bench/All_results.csv, see its SOURCE.md) as rows for
// the learned LLM throughput predictor, and the held-out splits used to evaluate it.
//
// A row is kept when its hardware maps to a catalog device and its model to a bundled config
// (data/models/hf); every other row is counted under a reason. Hardware (as scripts/validate_llm.py
// maps it): Nvidia A100 -> a100-sxm4-40gb (Argonne's Polaris nodes), AMD MI300X -> mi300x, AMD MI250
// -> mi250-gcd with 2 GCDs per counted module (tp = 2 x Num of Hardware). Llama-3 maps to the
// Llama-3.1 configs (same architecture but RoPE scaling and context length).
// Target: Throughput, tokens/s as the dataset counts them (batch x 2 x length / latency: input and
// output tokens; llama.cpp rows report their own figure).
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "graph/transformer_config.h"
#include "hardware/device_catalog.h"
#include "predict/roofline_calibration.h"

namespace perfcast::learn {

struct LlmBenchRow {
  std::string hardware;         // as in the file ("Nvidia A100 GPU")
  std::string device_id;        // catalog id
  std::string framework;        // vLLM, llama.cpp, TensorRT-LLM, Deepspeed-MII
  std::string model;            // Hugging Face id as in the file
  std::string config_id;        // bundled config id (data/models/hf)
  std::string family;           // llama-2, llama-3, mistral (Mistral + Mixtral), qwen2
  int64_t num_hardware = 1;     // as counted by the file
  int64_t tp = 1;               // GPUs perfcast costs (MI250: 2 GCDs per module)
  int64_t length_tokens = 0;    // input length = output length
  int64_t batch = 1;
  double latency_s = 0;
  double tokens_per_s = 0;      // measured
  double prior_tokens_per_s = 0;  // perfcast's analytical static-batch prediction (same token count)
  int64_t prior_waves = 0;        // 0: not even one sequence fits in the analytical model
  std::vector<float> features;    // llm_feature_names() order
};

struct LlmBenchDataset {
  std::string path;
  std::vector<LlmBenchRow> rows;
  int64_t rows_read = 0;
  std::map<std::string, int64_t> skipped;  // reason -> rows
};

// shared/data/llm-inference-bench/All_results.csv beside the repository ("" when there is no shared folder).
std::string default_llm_bench_path();

// The catalog id of a dataset hardware name and the GPUs one counted unit is ("" when not in the catalog).
struct LlmBenchHardware {
  std::string device_id;
  int64_t gpus_per_unit = 1;
};
LlmBenchHardware llm_bench_hardware(const std::string& hardware);
// The bundled config id of a dataset model id ("" when none is bundled) and its family.
std::string llm_bench_config_id(const std::string& model);
std::string llm_bench_family(const std::string& model);

// Throws perfcast::Error when the file is missing, lacks a column, or no row maps.
LlmBenchDataset load_llm_bench(const std::string& path, const hardware::DeviceCatalog& catalog,
                               const predict::RooflineCalibration& calibration);

enum class LlmSplitKind { kModel, kDevice, kRandom };
std::string llm_split_name(LlmSplitKind kind);
LlmSplitKind parse_llm_split(const std::string& text);  // "model" | "device" | "random"; throws perfcast::Error

struct LlmSplit {
  std::vector<size_t> train, test;  // row indices
  std::string held_out;             // the family or device held out ("" for random)
};

// model: seed s holds out one model family (every row of a family on one side): the (s mod n)-th of the
//        n sorted families shuffled with seed s / n, so seeds 0..n-1 hold out each family once;
// device: seed s holds out the (s mod n)-th device in name order, trained on the others;
// random: each row held out with probability test_fraction (reference only: the same model, device and
//         framework appear on both sides).
LlmSplit make_llm_split(const LlmBenchDataset& data, LlmSplitKind kind, uint64_t seed, double test_fraction = 0.2);

std::vector<std::string> llm_bench_families(const LlmBenchDataset& data);  // sorted
std::vector<std::string> llm_bench_devices(const LlmBenchDataset& data);   // sorted

}  // namespace perfcast::learn
