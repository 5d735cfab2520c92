// Load + predict one row with the learned latency predictor (issue goal: under 50 ms), split into
// its parts: the device catalog, the predictor registry (sidecars), the XGBoost model file, one
// prediction (features, OOD check, interval).
//
//   build/bench/learned_bench
#include <benchmark/benchmark.h>

#include "hardware/device_catalog.h"
#include "learn/learned_latency.h"
#include "learn/predictor_registry.h"

namespace {

using namespace perfcast;

learn::WorkloadRow resnet50_row() {
  learn::WorkloadRow row;  // timm's resnet50 at 224 px
  row.model = "resnet50";
  row.param_count_m = 25.56;
  row.gmacs = 4.11;
  row.macts_m = 11.11;
  row.batch = 256;
  row.img_size = 224;
  row.precision = hardware::Precision::kFp16;
  return row;
}

void BM_CatalogLoad(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(hardware::DeviceCatalog::load());
}
BENCHMARK(BM_CatalogLoad)->Unit(benchmark::kMillisecond);

void BM_RegistryLoad(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(learn::PredictorRegistry::load());
}
BENCHMARK(BM_RegistryLoad)->Unit(benchmark::kMillisecond);

void BM_XgbModelLoad(benchmark::State& state) {
  const auto registry = learn::PredictorRegistry::load();
  const auto* entry = registry.find("xgb", "latency");
  if (!entry) {
    state.SkipWithError("no xgb latency model in data/models/learned");
    return;
  }
  for (auto _ : state) benchmark::DoNotOptimize(learn::LearnedLatencyModel::load(*entry));
}
BENCHMARK(BM_XgbModelLoad)->Unit(benchmark::kMillisecond);

void BM_PredictOneRow(benchmark::State& state) {
  const auto catalog = hardware::DeviceCatalog::load();
  const auto registry = learn::PredictorRegistry::load();
  const auto* entry = registry.find("xgb", "latency");
  if (!entry) {
    state.SkipWithError("no xgb latency model in data/models/learned");
    return;
  }
  const auto model = learn::LearnedLatencyModel::load(*entry);
  const auto& device = catalog.get("rtx-4090");
  const auto row = resnet50_row();
  for (auto _ : state) benchmark::DoNotOptimize(learn::predict_learned_latency(model, row, device, std::nullopt));
}
BENCHMARK(BM_PredictOneRow)->Unit(benchmark::kMicrosecond);

// What `perfcast predict --predictor xgb` does beyond the graph: everything from disk, one row.
void BM_LoadAndPredictOneRow(benchmark::State& state) {
  const auto row = resnet50_row();
  for (auto _ : state) {
    const auto catalog = hardware::DeviceCatalog::load();
    const auto registry = learn::PredictorRegistry::load();
    const auto* entry = registry.find("xgb", "latency");
    if (!entry) {
      state.SkipWithError("no xgb latency model in data/models/learned");
      return;
    }
    const auto model = learn::LearnedLatencyModel::load(*entry);
    const auto& device = catalog.get("rtx-4090");
    std::string why;
    const auto cal = learn::load_device_calibration(model, device.id, &why);
    benchmark::DoNotOptimize(learn::predict_learned_latency(model, row, device, cal));
  }
}
BENCHMARK(BM_LoadAndPredictOneRow)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
