// CPU roofline: a benchmark of one CPU prediction, plus the exporter that feeds
// scripts/calibrate_cpu.py:
//
//   build/bench/roofline_cpu_bench                    # Google Benchmark, resnet50 at 224 and 288 px on i9-10940x
//   build/bench/roofline_cpu_bench --export_nodes=data/validation/timm_cpu_node_costs.csv
//       [--rows=data/validation/timm_cpu_rows.csv] [--fixtures=build/fixtures]
//   build/bench/roofline_cpu_bench --export_predictions=FILE [--rows=...]   # C++ fp32 latency per row
//
// Unlike predict_bench's exporter, the fixtures are imported at every image size of the rows
// (input "input" bound to batch x 3 x size x size): timm's CPU files hold several sizes per model.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <tuple>

#include "common/csv.h"
#include "graph/graph_summary.h"
#include "graph/onnx_import.h"
#include "hardware/device_catalog.h"
#include "predict/kernel_plan.h"
#include "predict/op_class.h"
#include "predict/roofline.h"
#include "predict/roofline_calibration.h"

namespace {

using namespace perfcast;

std::string fixture_dir() {
  const char* env = std::getenv("PERFCAST_FIXTURE_DIR");
  if (env && *env) return env;
  return std::string(PERFCAST_DATA_DIR) + "/../build/fixtures";
}

// A torchvision fixture (one image input named "input") at batch x 3 x size x size.
graph::Graph import_at_size(const std::string& fixtures, const std::string& model, int64_t batch, int64_t size_px) {
  graph::ImportOptions options;
  options.input_shapes["input"] = {batch, 3, size_px, size_px};
  return graph::import_onnx(fixtures + "/" + model + ".onnx", options);
}

struct Loaded {
  graph::Graph graph;
  graph::GraphSummary summary;
  hardware::Device device;
  predict::RooflineCalibration calibration;
};

const Loaded* resnet50_at(int64_t size_px) {
  static std::map<int64_t, std::unique_ptr<Loaded>> cache;
  auto& slot = cache[size_px];
  if (!slot) {
    auto l = std::make_unique<Loaded>();
    l->graph = import_at_size(fixture_dir(), "resnet50", 1, size_px);
    l->summary = graph::summarize(l->graph);
    l->device = hardware::DeviceCatalog::load().get("i9-10940x");
    l->calibration = predict::load_roofline_calibration();
    slot = std::move(l);
  }
  return slot.get();
}

void BM_PredictInferenceResnet50Cpu(benchmark::State& state) {
  const Loaded* l = nullptr;
  try {
    l = resnet50_at(state.range(0));
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  for (auto _ : state) {
    auto p = predict::predict_inference_latency(l->graph, l->summary, l->device, hardware::Precision::kFp32,
                                                l->calibration);
    benchmark::DoNotOptimize(p.latency_ms.value);
  }
}
BENCHMARK(BM_PredictInferenceResnet50Cpu)->Arg(224)->Arg(288);

// One row per launched kernel of every (model, image size, batch) of the rows, with the class,
// FLOPs and bytes the C++ roofline times (bytes split into floating-point tensors and the rest).
int export_nodes(const std::string& out_path, const std::string& rows_path, const std::string& fixtures) {
  const CsvTable rows = read_csv(rows_path);
  rows.require_columns({"fixture", "image_size_px", "batch"});
  std::set<std::tuple<std::string, int64_t, int64_t>> wanted;
  for (const CsvRow& row : rows.rows)
    wanted.insert({row.required("fixture"), row.integer("image_size_px"), row.integer("batch")});
  std::ofstream out(out_path);
  if (!out) {
    std::cerr << "cannot write " << out_path << "\n";
    return 1;
  }
  out << "model,image_size_px,batch,node,class,flops,float_bytes,other_bytes\n";
  for (const auto& [model, size_px, batch] : wanted) {
    const graph::Graph g = import_at_size(fixtures, model, batch, size_px);
    const graph::GraphSummary s = graph::summarize(g);
    const predict::KernelPlan plan = predict::plan_kernels(g);
    const auto work = predict::kernel_work(g, s, plan);
    for (const auto& w : work) {
      // Grouped convs under conv's name: the calibration has parameters for kTimedClasses only.
      const auto c =
          w.costed ? predict::op_class_name(predict::parameter_class(w.op_class)) : std::string_view("unknown");
      out << fmt::format("{},{},{},{},{},{:.17g},{:.17g},{:.17g}\n", model, size_px, batch, w.head, c, w.flops,
                         w.float_bytes, w.other_bytes);
    }
    std::cerr << fmt::format("{} {} px batch {}: {} nodes, {} launched, {} unknown op types, {} incomplete\n", model,
                             size_px, batch, g.nodes.size(), work.size(), s.unknown_ops.size(),
                             s.incomplete_nodes.size());
  }
  return 0;
}

// --export_predictions: the C++ fp32 latency of every row with the shipped calibration (the
// script's mirror of it is checked against this, and it measures the calibration as shipped).
int export_predictions(const std::string& out_path, const std::string& rows_path, const std::string& fixtures) {
  const CsvTable rows = read_csv(rows_path);
  rows.require_columns({"fixture", "image_size_px", "batch", "file", "device", "split", "measured_ms"});
  const auto catalog = hardware::DeviceCatalog::load();
  const predict::RooflineCalibration calibration = predict::load_roofline_calibration();
  std::map<std::tuple<std::string, int64_t, int64_t>, std::pair<graph::Graph, graph::GraphSummary>> models;
  std::ofstream out(out_path);
  if (!out) {
    std::cerr << "cannot write " << out_path << "\n";
    return 1;
  }
  out << "fixture,image_size_px,batch,file,device,split,measured_ms,predicted_ms,low_ms,high_ms\n";
  for (const CsvRow& row : rows.rows) {
    const auto key = std::make_tuple(row.required("fixture"), row.integer("image_size_px"), row.integer("batch"));
    auto it = models.find(key);
    if (it == models.end()) {
      graph::Graph g = import_at_size(fixtures, std::get<0>(key), std::get<2>(key), std::get<1>(key));
      graph::GraphSummary s = graph::summarize(g);
      it = models.emplace(key, std::make_pair(std::move(g), std::move(s))).first;
    }
    const auto p = predict::predict_inference_latency(it->second.first, it->second.second,
                                                      catalog.get(row.required("device")), hardware::Precision::kFp32,
                                                      calibration);
    out << fmt::format("{},{},{},{},{},{},{:.17g},{:.17g},{:.17g},{:.17g}\n", std::get<0>(key), std::get<1>(key),
                       std::get<2>(key), row.required("file"), row.required("device"), row.required("split"),
                       row.number("measured_ms"), p.latency_ms.value, p.latency_ms.low, p.latency_ms.high);
  }
  std::cerr << fmt::format("wrote {} predictions to {}\n", rows.rows.size(), out_path);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string export_path, rows_path = std::string(PERFCAST_DATA_DIR) + "/validation/timm_cpu_rows.csv";
  std::string fixtures = fixture_dir();
  std::string predictions_path;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--export_nodes=", 0) == 0) export_path = arg.substr(15);
    if (arg.rfind("--export_predictions=", 0) == 0) predictions_path = arg.substr(21);
    if (arg.rfind("--rows=", 0) == 0) rows_path = arg.substr(7);
    if (arg.rfind("--fixtures=", 0) == 0) fixtures = arg.substr(11);
  }
  if (!export_path.empty() || !predictions_path.empty()) {
    try {
      if (!export_path.empty() && export_nodes(export_path, rows_path, fixtures) != 0) return 1;
      return predictions_path.empty() ? 0 : export_predictions(predictions_path, rows_path, fixtures);
    } catch (const std::exception& e) {
      std::cerr << "error: " << e.what() << "\n";
      return 1;
    }
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
