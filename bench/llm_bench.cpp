// Benchmarks of the LLM serving / training predictors (src/predict/llm_*), plus the exporter that
// feeds scripts/calibrate_llm_serving.py:
//
//   build/bench/llm_bench                                   # Google Benchmark
//   build/bench/llm_bench --export_kernels=DIR              # DIR/llm_rows.csv + DIR/llm_kernels.csv
//
// The export costs, for every ML.ENERGY and LLM-Inference-Bench validation row
// (data/validation/llm_*.csv), the kernels of three phases with no serving constant applied
// (compute_s = FLOPs / nominal peak, memory_s = bytes / nominal bandwidth, repeat = layers of that
// kind): the decode step, the prefill of the whole batch, the prefill of one request.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "common/csv.h"
#include "graph/model_source.h"
#include "graph/transformer_graph.h"
#include "hardware/device_catalog.h"
#include "predict/llm_layers.h"
#include "predict/llm_parallel.h"
#include "predict/llm_serving.h"
#include "predict/llm_training.h"
#include "predict/roofline_calibration.h"

namespace {

using namespace perfcast;

const hardware::DeviceCatalog& catalog() {
  static const hardware::DeviceCatalog c = hardware::DeviceCatalog::load();
  return c;
}
const predict::RooflineCalibration& calib() {
  static const predict::RooflineCalibration c = predict::load_roofline_calibration();
  return c;
}
const graph::TransformerConfig& cfg(const std::string& id) {
  static std::map<std::string, graph::TransformerConfig> cache;
  auto it = cache.find(id);
  if (it == cache.end()) it = cache.emplace(id, graph::load_model_config(id)).first;
  return it->second;
}

void BM_Serving70B(benchmark::State& state) {
  const auto& config = cfg("llama-3.1-70b");
  const auto& device = catalog().get("a100-sxm4-80gb");
  predict::ServingRequest r;
  r.prompt_tokens = 1024;
  r.output_tokens = 256;
  r.batch = 16;
  r.tp = 4;
  for (auto _ : state) benchmark::DoNotOptimize(predict::predict_llm_serving(config, device, r, calib()));
}
BENCHMARK(BM_Serving70B)->Unit(benchmark::kMillisecond);

// 70B fp16 on one 40 GB GPU: does not fit, so every TP x format alternative is sized too.
void BM_Serving70BNotFitting(benchmark::State& state) {
  const auto& config = cfg("llama-3.1-70b");
  const auto& device = catalog().get("a100-sxm4-40gb");
  predict::ServingRequest r;
  r.prompt_tokens = 1024;
  r.output_tokens = 256;
  for (auto _ : state) benchmark::DoNotOptimize(predict::predict_llm_serving(config, device, r, calib()));
}
BENCHMARK(BM_Serving70BNotFitting)->Unit(benchmark::kMillisecond);

void BM_Training70B(benchmark::State& state) {
  const auto& config = cfg("llama-3.1-70b");
  const auto& device = catalog().get("a100-sxm4-80gb");
  predict::LlmTrainingRequest r;
  r.global_batch = 512;
  r.seq_len = 4096;
  r.dp = 8;
  r.tp = 8;
  r.pp = 4;
  r.zero = 1;
  r.activation_checkpointing = true;
  for (auto _ : state) benchmark::DoNotOptimize(predict::predict_llm_training(config, device, r, calib()));
}
BENCHMARK(BM_Training70B)->Unit(benchmark::kMillisecond);

// 10,000 (batch, prompt, output, device) points of llama-3.1-8b serving, one prediction each.
void BM_Sweep10k(benchmark::State& state) {
  const auto& config = cfg("llama-3.1-8b");
  const std::vector<std::string> devices = {"a100-sxm4-40gb", "a100-sxm4-80gb", "h100-sxm5-80gb", "l4", "mi300x"};
  const std::vector<int64_t> batches = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512};
  const std::vector<int64_t> prompts = {128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536};
  const std::vector<int64_t> outputs = {16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536,
                                        100000, 200, 300, 400, 600, 700, 800};
  for (auto _ : state) {
    int64_t n = 0;
    for (const auto& d : devices)
      for (int64_t b : batches)
        for (int64_t p : prompts)
          for (int64_t o : outputs) {
            predict::ServingRequest r;
            r.batch = b;
            r.prompt_tokens = p;
            r.output_tokens = o;
            r.suggest_when_not_fitting = false;
            benchmark::DoNotOptimize(predict::predict_llm_serving(config, catalog().get(d), r, calib()));
            ++n;
          }
    state.counters["points"] = static_cast<double>(n);
  }
}
BENCHMARK(BM_Sweep10k)->Unit(benchmark::kMillisecond)->Iterations(1);

// ---------------------------------------------------------------------------------------------
struct ExportRow {
  std::string dataset, model, device, split;
  int64_t tp = 1, batch = 1, prompt = 1, output = 1;
  std::string weights = "fp16";
  double measured_tpot_s = 0, measured_throughput = 0;
};

std::vector<ExportRow> validation_rows() {
  std::vector<ExportRow> out;
  const std::string dir = hardware::default_data_dir() + "/validation/";
  for (const CsvRow& row : read_csv(dir + "llm_mlenergy.csv").rows) {
    ExportRow e;
    e.dataset = "mlenergy";
    e.model = row.at("perfcast_model");
    e.device = row.at("device");
    // The fit subset (scripts/calibrate_llm_serving.py): Llama-3.1-8B and Mixtral-8x7B; the other
    // models are held out.
    e.split = e.model == "llama-3.1-8b" || e.model == "mixtral-8x7b" ? "fit" : "eval";
    e.tp = std::llround(row.number("TP"));
    e.batch = std::max<int64_t>(1, std::llround(row.number("Avg BS (reqs)")));
    e.prompt = 256;  // not in the data (ShareGPT prompts): stated assumption
    e.output = std::max<int64_t>(1, std::llround(row.number("Avg Output Tokens")));
    e.weights = "bf16";
    e.measured_tpot_s = row.number("Avg TPOT (s)");
    out.push_back(e);
  }
  for (const CsvRow& row : read_csv(dir + "llm_inference_bench.csv").rows) {
    ExportRow e;
    e.dataset = "llm-inference-bench";
    e.model = row.at("perfcast_model");
    e.device = row.at("device");
    e.split = "eval";
    e.tp = std::llround(row.number("perfcast_tp"));  // MI250: 2 GCDs per counted module
    e.batch = std::llround(row.number("Batch Size"));
    e.prompt = e.output = std::llround(row.number("Input Output Length"));
    e.measured_throughput = row.number("Throughput");
    out.push_back(e);
  }
  return out;
}

int export_kernels(const std::string& dir) {
  std::ofstream rows(dir + "/llm_rows.csv"), kernels(dir + "/llm_kernels.csv");
  if (!rows || !kernels) {
    std::cerr << "cannot write into " << dir << "\n";
    return 1;
  }
  rows << "row,dataset,split,model,device,tp,batch,prompt,output,measured_tpot_s,measured_throughput,"
          "decode_allreduce_ms,prefill_one_allreduce_ms,prefill_batch_allreduce_ms,predicted_tpot_ms_cb,"
          "predicted_ttft_ms_static,predicted_tpot_ms_static,running_batch,waves,predicted_latency_ms_static,requested_batch\n";
  kernels << "row,phase,class,repeat,compute_s,memory_s\n";
  const std::vector<ExportRow> all = validation_rows();
  for (size_t i = 0; i < all.size(); ++i) {
    const ExportRow& e = all[i];
    const auto& config = cfg(e.model);
    const auto& device = catalog().get(e.device);
    predict::ServingRequest r;
    r.prompt_tokens = e.prompt;
    r.output_tokens = e.output;
    r.batch = e.batch;
    r.tp = e.tp;
    r.weights = r.kv_cache = e.weights;
    r.suggest_when_not_fitting = false;
    r.continuous_batching = true;
    const predict::ServingPrediction cb = predict::predict_llm_serving(config, device, r, calib());
    // Static batches (LLM-Inference-Bench) run in waves when the KV cache cannot hold them all.
    const predict::StaticBatchPrediction sb = predict::predict_llm_static_batch(config, device, r, calib());
    const int64_t running = e.dataset == "mlenergy" || sb.running_batch == 0 ? e.batch : sb.running_batch;
    const int64_t waves = e.dataset == "mlenergy" || sb.running_batch == 0 ? 1 : sb.waves;
    const predict::ServingPrediction& st = sb.running_batch == 0 ? cb : sb.wave;
    rows << fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n", i, e.dataset, e.split, e.model,
                        e.device, e.tp, running, e.prompt, e.output, e.measured_tpot_s, e.measured_throughput,
                        cb.decode_allreduce_ms, cb.prefill_allreduce_ms, st.prefill_allreduce_ms, cb.tpot_ms.value,
                        st.ttft_ms.value, st.tpot_ms.value, running, waves, sb.latency_ms, e.batch);
    // The same phases predict_llm_serving costs (llm_serving.cpp make_phase).
    const graph::TransformerConfig shard = predict::shard_transformer_config(config, e.tp);
    const predict::LayerPlan plan = predict::plan_layers(shard);
    const hardware::Precision precision = st.compute_precision;
    auto phase = [&](const char* name, int64_t batch, int64_t seq, int64_t context) {
      graph::TransformerWorkload w;
      w.batch = batch;
      w.seq_len = seq;
      w.context_len = context;
      w.weight_dtype = w.activation_dtype = w.kv_dtype = graph::DType::kFloat32;
      w.lm_head_last_token_only = true;
      const predict::PhaseCost pc = predict::cost_phase(plan, w, device, precision, calib(), 0);
      for (const auto& k : pc.kernels)
        kernels << fmt::format("{},{},{},{},{},{}\n", i, name, predict::op_class_name(k.op_class), k.repeat, k.compute_s,
                               k.memory_s);
    };
    phase("decode", running, 1, e.prompt + e.output / 2);
    phase("prefill_batch", running, e.prompt, 0);
    phase("prefill_one", 1, e.prompt, 0);
  }
  std::cout << "wrote " << all.size() << " rows to " << dir << "/llm_rows.csv and llm_kernels.csv\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--export_kernels=", 0) == 0) {
      try {
        return export_kernels(arg.substr(17));
      } catch (const std::exception& e) {
        std::cerr << "llm_bench: " << e.what() << "\n";
        return 1;
      }
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
