#include "learn/llm_bench_dataset.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <tuple>

#include <fmt/format.h>

#include "common/csv.h"
#include "common/error.h"
#include "dataset/importers.h"
#include "graph/model_source.h"
#include "learn/llm_features.h"

namespace perfcast::learn {

std::string default_llm_bench_path() {
  const std::string shared = dataset::default_shared_data_dir();
  return shared.empty() ? "" : shared + "/llm-inference-bench/All_results.csv";
}

LlmBenchHardware llm_bench_hardware(const std::string& hardware) {
  if (hardware == "Nvidia A100 GPU") return {"a100-sxm4-40gb", 1};
  if (hardware == "AMD MI300X GPU") return {"mi300x", 1};
  if (hardware == "AMD MI250 GPU") return {"mi250-gcd", 2};  // one module = 2 GCDs, each a GPU to ROCm
  return {};
}

std::string llm_bench_config_id(const std::string& model) {
  static const std::map<std::string, std::string> ids = {
      {"meta-llama/Llama-2-7b-hf", "llama-2-7b"},        {"meta-llama/Llama-2-70b-hf", "llama-2-70b"},
      {"meta-llama/Meta-Llama-3-8B", "llama-3.1-8b"},    {"meta-llama/Meta-Llama-3-70B", "llama-3.1-70b"},
      {"mistralai/Mistral-7B-v0.1", "mistral-7b"},       {"mistralai/Mixtral-8x7B-v0.1", "mixtral-8x7b"},
      {"Qwen/Qwen2-7B", "qwen2-7b"},                     {"Qwen/Qwen2-72B", "qwen2-72b"}};
  const auto it = ids.find(model);
  return it == ids.end() ? "" : it->second;
}

std::string llm_bench_family(const std::string& model) {
  if (model.find("Llama-2") != std::string::npos) return "llama-2";
  if (model.find("Llama-3") != std::string::npos) return "llama-3";
  if (model.find("istral") != std::string::npos || model.find("ixtral") != std::string::npos) return "mistral";
  if (model.find("Qwen2") != std::string::npos) return "qwen2";
  return "";
}

LlmBenchDataset load_llm_bench(const std::string& path, const hardware::DeviceCatalog& catalog,
                               const predict::RooflineCalibration& calibration) {
  if (path.empty() || !std::filesystem::is_regular_file(path))
    throw Error(fmt::format("LLM-Inference-Bench results '{}' not found; expected shared/data/llm-inference-bench/"
                            "All_results.csv beside the repository",
                            path));
  const CsvTable table = read_csv(path);
  table.require_columns({"Hardware", "Num of Hardware", "Framework", "Model", "Input Output Length", "Batch Size",
                         "Latency", "Throughput"});
  LlmBenchDataset data;
  data.path = path;
  std::map<std::string, graph::TransformerConfig> configs;
  // The prior does not depend on the framework: one analytical prediction per distinct request.
  std::map<std::tuple<std::string, std::string, int64_t, int64_t, int64_t>, LlmPrior> priors;
  for (const CsvRow& csv : table.rows) {
    ++data.rows_read;
    LlmBenchRow row;
    row.hardware = csv.required("Hardware");
    row.model = csv.required("Model");
    row.framework = csv.required("Framework");
    const LlmBenchHardware hw = llm_bench_hardware(row.hardware);
    if (hw.device_id.empty()) {
      ++data.skipped["hardware not in the catalog: " + row.hardware];
      continue;
    }
    row.config_id = llm_bench_config_id(row.model);
    if (row.config_id.empty()) {
      ++data.skipped["model without a bundled config: " + row.model];
      continue;
    }
    if (std::find(llm_frameworks().begin(), llm_frameworks().end(), row.framework) == llm_frameworks().end()) {
      ++data.skipped["framework without a feature column: " + row.framework];
      continue;
    }
    row.device_id = catalog.get(hw.device_id).id;
    row.family = llm_bench_family(row.model);
    row.num_hardware = csv.integer("Num of Hardware");
    row.tp = row.num_hardware * hw.gpus_per_unit;
    row.length_tokens = csv.integer("Input Output Length");
    row.batch = csv.integer("Batch Size");
    row.latency_s = csv.number("Latency");
    row.tokens_per_s = csv.number("Throughput");
    if (!(row.tokens_per_s > 0) || row.batch < 1 || row.length_tokens < 1 || row.num_hardware < 1) {
      ++data.skipped["non-positive throughput, batch, length or device count"];
      continue;
    }
    auto config = configs.find(row.config_id);
    if (config == configs.end()) config = configs.emplace(row.config_id, graph::load_model_config(row.config_id)).first;
    const hardware::Device& device = catalog.get(row.device_id);
    const LlmRequest request{row.length_tokens, row.batch, row.tp, row.num_hardware, row.framework};
    const auto key = std::make_tuple(row.config_id, row.device_id, row.tp, row.length_tokens, row.batch);
    auto prior = priors.find(key);
    if (prior == priors.end()) {
      try {
        prior = priors.emplace(key, llm_analytical_prior(config->second, device, request, calibration)).first;
      } catch (const Error& e) {
        ++data.skipped[std::string("analytical prediction failed: ") + e.what()];
        continue;
      }
    }
    row.prior_tokens_per_s = prior->second.tokens_per_s;
    row.prior_waves = prior->second.waves;
    append_llm_features(config->second, device, request, prior->second, row.features);
    data.rows.push_back(std::move(row));
  }
  if (data.rows.empty()) throw Error(fmt::format("{}: no row maps to a catalog device and a bundled config", path));
  return data;
}

std::string llm_split_name(LlmSplitKind kind) {
  switch (kind) {
    case LlmSplitKind::kModel: return "model";
    case LlmSplitKind::kDevice: return "device";
    case LlmSplitKind::kRandom: return "random";
  }
  return "";
}

LlmSplitKind parse_llm_split(const std::string& text) {
  if (text == "model") return LlmSplitKind::kModel;
  if (text == "device") return LlmSplitKind::kDevice;
  if (text == "random") return LlmSplitKind::kRandom;
  throw Error("unknown LLM split '" + text + "'; expected model, device or random");
}

std::vector<std::string> llm_bench_families(const LlmBenchDataset& data) {
  std::set<std::string> s;
  for (const auto& r : data.rows) s.insert(r.family);
  return {s.begin(), s.end()};
}

std::vector<std::string> llm_bench_devices(const LlmBenchDataset& data) {
  std::set<std::string> s;
  for (const auto& r : data.rows) s.insert(r.device_id);
  return {s.begin(), s.end()};
}

LlmSplit make_llm_split(const LlmBenchDataset& data, LlmSplitKind kind, uint64_t seed, double test_fraction) {
  LlmSplit split;
  if (kind == LlmSplitKind::kRandom) {
    // Raw mt19937_64 draws: the same on every standard library.
    std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ULL + 0x1234567ULL);
    const uint64_t threshold = static_cast<uint64_t>(test_fraction * 18446744073709551615.0);
    for (size_t i = 0; i < data.rows.size(); ++i) (rng() < threshold ? split.test : split.train).push_back(i);
  } else {
    std::vector<std::string> groups = kind == LlmSplitKind::kModel ? llm_bench_families(data) : llm_bench_devices(data);
    if (groups.size() < 2)
      throw Error(fmt::format("the {} split needs rows of at least two {}", llm_split_name(kind),
                              kind == LlmSplitKind::kModel ? "model families" : "devices"));
    if (kind == LlmSplitKind::kModel) {
      std::mt19937_64 rng((seed / groups.size()) * 0x9E3779B97F4A7C15ULL + 0x1234567ULL);
      for (size_t i = groups.size(); i > 1; --i) std::swap(groups[i - 1], groups[rng() % i]);
    }
    split.held_out = groups[seed % groups.size()];
    for (size_t i = 0; i < data.rows.size(); ++i) {
      const auto& r = data.rows[i];
      (((kind == LlmSplitKind::kModel ? r.family : r.device_id) == split.held_out) ? split.test : split.train).push_back(i);
    }
  }
  if (split.train.empty() || split.test.empty())
    throw Error(fmt::format("the {} split leaves an empty train or test set", llm_split_name(kind)));
  return split;
}

}  // namespace perfcast::learn
