// Loading the device catalog happens on every CLI call that names a device.
#include <benchmark/benchmark.h>

#include "hardware/device_catalog.h"

static void LoadDeviceCatalog(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(perfcast::hardware::DeviceCatalog::load());
}
BENCHMARK(LoadDeviceCatalog)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
