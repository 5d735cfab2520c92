// Benchmarks of the graph neural network predictors (src/learn/gnn) on one CPU thread:
//   build/bench/gnn_bench [--model=data/models/learned/sage_nasbench201_arch]
// LoadAndPredictOne: load the archive + meta file and predict one NAS-Bench-201 graph (goal < 50 ms);
// PredictOne / PredictBatch64: predictions per second of a loaded model. The graphs are 72 NAS-Bench-201
// rows (8 architectures x the 9 default device columns) built by learn/nasbench201_dataset.h.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "learn/gnn/gnn_predictor.h"
#include "learn/gnn/nasbench201_experiment.h"
#include "learn/gnn/torch_threads.h"
#include "learn/graph_features.h"
#include "learn/nasbench201_dataset.h"

namespace {

using namespace perfcast;

std::string g_model = std::string(PERFCAST_DATA_DIR) + "/models/learned/sage_nasbench201_arch";

const std::vector<learn::GraphSample>& rows() {
  static const std::vector<learn::GraphSample> samples = [] {
    learn::NasBench201Options o;
    o.columns = learn::gnn::Nb201ExperimentOptions{}.columns;
    o.max_architectures = 8;
    o.seed = 99;
    auto s = learn::load_nasbench201_samples(o);
    const auto& names = learn::static_feature_names();
    const size_t roof = static_cast<size_t>(std::find(names.begin(), names.end(), "ln_roof_ms") - names.begin());
    for (auto& r : s) r.prior = std::exp(static_cast<double>(r.static_features.at(roof)));
    return s;
  }();
  return samples;
}

void LoadAndPredictOne(benchmark::State& state) {
  learn::gnn::set_torch_threads(1);
  const learn::GraphSample& row = rows().front();
  for (auto _ : state) {
    const auto model = learn::gnn::GnnPredictor::load(g_model);
    benchmark::DoNotOptimize(model.predict(row));
  }
}
BENCHMARK(LoadAndPredictOne)->Unit(benchmark::kMillisecond);

void PredictOne(benchmark::State& state) {
  learn::gnn::set_torch_threads(1);
  const auto model = learn::gnn::GnnPredictor::load(g_model);
  size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(model.predict(rows()[i++ % rows().size()]));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(PredictOne)->Unit(benchmark::kMillisecond);

void PredictBatch64(benchmark::State& state) {
  learn::gnn::set_torch_threads(1);
  const auto model = learn::gnn::GnnPredictor::load(g_model);
  std::vector<const learn::GraphSample*> batch;
  for (size_t i = 0; i < 64; ++i) batch.push_back(&rows()[i % rows().size()]);
  for (auto _ : state) benchmark::DoNotOptimize(model.predict(batch, 64));
  state.SetItemsProcessed(state.iterations() * 64);
}
BENCHMARK(PredictBatch64)->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (std::strncmp(argv[i], "--model=", 8) == 0) g_model = argv[i] + 8;
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
