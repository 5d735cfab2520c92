// Benchmarks of the calibrated roofline predictor (src/predict), plus the exporter that feeds the
// end-to-end part of scripts/calibrate_roofline.py:
//
//   build/bench/predict_bench                         # Google Benchmark, resnet50 from the fixtures
//   build/bench/predict_bench --export_nodes=data/validation/timm_node_costs.csv
//       [--rows=data/validation/timm_rows.csv] [--fixtures=build/fixtures]
//   build/bench/predict_bench --export_predictions=PATH [--rows=...] [--fixtures=...]
//       # the C++ end-to-end prediction (ms, AMP fp16, NCHW) of every timm row: the latency band's input
//
// The fixtures folder is $PERFCAST_FIXTURE_DIR, else <source>/build/fixtures (export them with
// tests/fixtures/export_models.py).
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "common/csv.h"
#include "graph/graph_summary.h"
#include "graph/onnx_import.h"
#include "hardware/device_catalog.h"
#include "predict/memory.h"
#include "predict/kernel_plan.h"
#include "predict/op_class.h"
#include "predict/power.h"
#include "predict/roofline.h"
#include "predict/roofline_calibration.h"

namespace {

using namespace perfcast;

std::string fixture_dir() {
  const char* env = std::getenv("PERFCAST_FIXTURE_DIR");
  if (env && *env) return env;
  return std::string(PERFCAST_DATA_DIR) + "/../build/fixtures";
}

struct Loaded {
  graph::Graph graph;
  graph::GraphSummary summary;
  hardware::Device device;
  predict::RooflineCalibration calibration;
};

const Loaded* resnet50(int64_t batch) {
  static std::map<int64_t, std::unique_ptr<Loaded>> cache;
  auto& slot = cache[batch];
  if (!slot) {
    auto l = std::make_unique<Loaded>();
    graph::ImportOptions options;
    options.batch = batch;
    l->graph = graph::import_onnx(fixture_dir() + "/resnet50.onnx", options);
    l->summary = graph::summarize(l->graph);
    l->device = hardware::DeviceCatalog::load().get("a100-sxm4-80gb");
    l->calibration = predict::load_roofline_calibration();
    slot = std::move(l);
  }
  return slot.get();
}

void BM_PredictInferenceResnet50(benchmark::State& state) {
  const Loaded* l = nullptr;
  try {
    l = resnet50(state.range(0));
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  for (auto _ : state) {
    auto p = predict::predict_inference_latency(l->graph, l->summary, l->device, hardware::Precision::kFp16,
                                                l->calibration);
    benchmark::DoNotOptimize(p.latency_ms.value);
  }
  state.counters["nodes"] = static_cast<double>(l->graph.nodes.size());
}
BENCHMARK(BM_PredictInferenceResnet50)->Arg(1)->Arg(256);

void BM_PredictTrainingMemoryPowerResnet50(benchmark::State& state) {
  const Loaded* l = nullptr;
  try {
    l = resnet50(32);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  for (auto _ : state) {
    auto t = predict::predict_training_step(l->graph, l->summary, l->device, hardware::Precision::kBf16,
                                            predict::Optimizer::kAdam, l->calibration);
    auto m = predict::peak_memory_bytes(l->graph, l->summary, hardware::Precision::kBf16, predict::Mode::kTraining,
                                        predict::Optimizer::kAdam, 32, l->calibration, l->device.vendor);
    auto p = predict::estimate_power(t.step, l->device);
    benchmark::DoNotOptimize(t.step.latency_ms.value + m + p.average_w);
  }
}
BENCHMARK(BM_PredictTrainingMemoryPowerResnet50);

void BM_ImportSummarizePredictResnet50(benchmark::State& state) {
  const std::string path = fixture_dir() + "/resnet50.onnx";
  hardware::Device device;
  predict::RooflineCalibration calibration;
  try {
    device = hardware::DeviceCatalog::load().get("a100-sxm4-80gb");
    calibration = predict::load_roofline_calibration();
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  for (auto _ : state) {
    graph::ImportOptions options;
    options.batch = 1;
    const graph::Graph g = graph::import_onnx(path, options);
    const graph::GraphSummary s = graph::summarize(g);
    auto p = predict::predict_inference_latency(g, s, device, hardware::Precision::kFp16, calibration);
    benchmark::DoNotOptimize(p.latency_ms.value);
  }
}
BENCHMARK(BM_ImportSummarizePredictResnet50)->Unit(benchmark::kMillisecond);

// --export_nodes: one row per launched node of every (model, batch) of the timm rows, with the
// class, FLOPs and bytes the C++ roofline times, bytes split into floating-point tensors (which
// scale with the precision) and the rest.
std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream ss(line);
  std::string cell;
  while (std::getline(ss, cell, ',')) out.push_back(cell);
  return out;
}

int export_nodes(const std::string& out_path, const std::string& rows_path, const std::string& fixtures) {
  std::ifstream rows(rows_path);
  if (!rows) {
    std::cerr << "cannot read " << rows_path << "\n";
    return 1;
  }
  std::string line;
  std::getline(rows, line);
  const auto header = split_csv_line(line);
  size_t model_col = header.size(), batch_col = header.size();
  for (size_t i = 0; i < header.size(); ++i) {
    if (header[i] == "perfcast_model") model_col = i;
    if (header[i] == "infer_batch_size") batch_col = i;
  }
  if (model_col == header.size() || batch_col == header.size()) {
    std::cerr << rows_path << ": needs columns perfcast_model and infer_batch_size\n";
    return 1;
  }
  std::set<std::pair<std::string, int64_t>> wanted;
  while (std::getline(rows, line)) {
    const auto cells = split_csv_line(line);
    if (cells.size() > std::max(model_col, batch_col))
      wanted.insert({cells[model_col], static_cast<int64_t>(std::stod(cells[batch_col]))});
  }
  std::ofstream out(out_path);
  out << "model,batch,node,class,flops,float_bytes,other_bytes\n";
  for (const auto& [model, batch] : wanted) {
    graph::ImportOptions options;
    options.batch = batch;
    const graph::Graph g = graph::import_onnx(fixtures + "/" + model + ".onnx", options);
    const graph::GraphSummary s = graph::summarize(g);
    const predict::KernelPlan plan = predict::plan_kernels(g);
    const auto work = predict::kernel_work(g, s, plan);
    const size_t launched = work.size();
    for (const auto& w : work) {
      // Grouped convs under conv's name: scripts/calibrate_roofline.py has parameters for kTimedClasses only.
      const auto c =
          w.costed ? predict::op_class_name(predict::parameter_class(w.op_class)) : std::string_view("unknown");
      out << fmt::format("{},{},{},{},{:.17g},{:.17g},{:.17g}\n", model, batch, w.head, c, w.flops, w.float_bytes,
                         w.other_bytes);
    }
    std::cerr << fmt::format("{} batch {}: {} nodes, {} launched, {} unknown op types, {} incomplete\n", model, batch,
                             g.nodes.size(), launched, s.unknown_ops.size(), s.incomplete_nodes.size());
  }
  return 0;
}

// --export_predictions: perfcast's own end-to-end prediction (predict_inference_latency, AMP fp16,
// NCHW, the shipped calibration) for every timm row, so that scripts/calibrate_roofline.py fits the
// latency band on the residuals of what `perfcast predict` outputs rather than on a Python mirror.
int export_predictions(const std::string& out_path, const std::string& rows_path, const std::string& fixtures) {
  const CsvTable rows = read_csv(rows_path);
  rows.require_columns({"perfcast_model", "file", "device", "split", "infer_batch_size", "infer_step_time"});
  const auto catalog = hardware::DeviceCatalog::load();
  const predict::RooflineCalibration calibration = predict::load_roofline_calibration();
  std::map<std::pair<std::string, int64_t>, std::pair<graph::Graph, graph::GraphSummary>> models;
  std::ofstream out(out_path);
  out << "perfcast_model,file,device,split,batch,measured_ms,predicted_ms\n";
  for (const CsvRow& row : rows.rows) {
    const std::string name = row.required("perfcast_model");
    const int64_t batch = row.integer("infer_batch_size");
    auto it = models.find({name, batch});
    if (it == models.end()) {
      graph::ImportOptions options;
      options.batch = batch;
      graph::Graph g = graph::import_onnx(fixtures + "/" + name + ".onnx", options);
      graph::GraphSummary s = graph::summarize(g);
      it = models.emplace(std::make_pair(name, batch), std::make_pair(std::move(g), std::move(s))).first;
    }
    const auto p = predict::predict_inference_latency(it->second.first, it->second.second,
                                                      catalog.get(row.required("device")), hardware::Precision::kFp16,
                                                      calibration);
    out << fmt::format("{},{},{},{},{},{:.17g},{:.17g}\n", name, row.required("file"), row.required("device"),
                       row.required("split"), batch, row.number("infer_step_time"), p.latency_ms.value);
  }
  std::cerr << fmt::format("wrote {} predictions to {}\n", rows.rows.size(), out_path);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string export_path, rows_path = std::string(PERFCAST_DATA_DIR) + "/validation/timm_rows.csv";
  std::string fixtures = fixture_dir();
  std::string predictions_path;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--export_nodes=", 0) == 0) export_path = arg.substr(15);
    if (arg.rfind("--export_predictions=", 0) == 0) predictions_path = arg.substr(21);
    if (arg.rfind("--rows=", 0) == 0) rows_path = arg.substr(7);
    if (arg.rfind("--fixtures=", 0) == 0) fixtures = arg.substr(11);
  }
  if (!predictions_path.empty()) {
    try {
      return export_predictions(predictions_path, rows_path, fixtures);
    } catch (const std::exception& e) {
      std::cerr << "error: " << e.what() << "\n";
      return 1;
    }
  }
  if (!export_path.empty()) {
    try {
      return export_nodes(export_path, rows_path, fixtures);
    } catch (const std::exception& e) {
      std::cerr << "error: " << e.what() << "\n";
      return 1;
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
