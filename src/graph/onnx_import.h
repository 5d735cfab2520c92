#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace perfcast::graph {

struct ImportOptions {
  // Binds the leading symbolic dimension of every input. Unset: 1.
  std::optional<int64_t> batch;
  // Full shapes for named inputs, e.g. {"input_ids": {8, 128}}.
  std::map<std::string, std::vector<int64_t>> input_shapes;
  // Values for named symbolic dimensions, e.g. {"seq": 128}.
  std::map<std::string, int64_t> dim_values;
};

constexpr int64_t kMaxBatch = 1'000'000;

// Loads an ONNX file (weights may be external or stripped: only their shapes are read), binds
// symbolic dimensions, runs ONNX shape inference with data propagation and builds the Graph.
// Throws perfcast::Error with a one-line reason for anything that is not a usable ONNX model.
Graph import_onnx(const std::string& path, const ImportOptions& options = {});

// Parses "1x3x224x224" (also "1,3,224,224") into dimensions; throws on anything else.
std::vector<int64_t> parse_dims(const std::string& text);

}  // namespace perfcast::graph
