// How long `perfcast inspect` takes against merely parsing the protobuf, on the models the
// issue names: resnet50 with weights, a >5,000-node transformer, a weight-stripped 10,000-node graph.
// Run with scripts/bench.sh (it exports the models first).
#include <benchmark/benchmark.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>
#include <onnx/onnx_pb.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "graph/graph_summary.h"
#include "graph/onnx_import.h"

namespace {

std::string model_path(const char* file) {
  const char* dir = std::getenv("PERFCAST_FIXTURE_DIR");
  return std::string(dir ? dir : "build/fixtures") + "/" + file;
}

void BareProtobufParse(benchmark::State& state, const char* file) {
  const std::string path = model_path(file);
  for (auto _ : state) {
    std::ifstream in(path, std::ios::binary);
    google::protobuf::io::IstreamInputStream raw(&in);
    google::protobuf::io::CodedInputStream coded(&raw);
    coded.SetTotalBytesLimit(INT32_MAX);
    onnx::ModelProto model;
    if (!model.ParseFromCodedStream(&coded)) state.SkipWithError("parse failed (run scripts/bench.sh)");
    benchmark::DoNotOptimize(model);
  }
}

void Inspect(benchmark::State& state, const char* file) {
  const std::string path = model_path(file);
  perfcast::graph::ImportOptions options;
  options.dim_values["seq"] = 128;
  for (auto _ : state) {
    try {
      const auto graph = perfcast::graph::import_onnx(path, options);
      benchmark::DoNotOptimize(perfcast::graph::summarize(graph));
    } catch (const std::exception& e) {
      state.SkipWithError(e.what());
      break;
    }
  }
}

}  // namespace

BENCHMARK_CAPTURE(BareProtobufParse, resnet50_full, "resnet50_full.onnx")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(Inspect, resnet50_full, "resnet50_full.onnx")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BareProtobufParse, bert_large_encoder_deep, "bert_large_encoder_deep.onnx")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(Inspect, bert_large_encoder_deep, "bert_large_encoder_deep.onnx")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BareProtobufParse, stripped_10k, "stripped_10k.onnx")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(Inspect, stripped_10k, "stripped_10k.onnx")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BareProtobufParse, swin_t, "swin_t.onnx")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(Inspect, swin_t, "swin_t.onnx")->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
