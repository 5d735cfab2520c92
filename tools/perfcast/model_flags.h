#pragma once
#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <vector>

#include "graph/onnx_import.h"

namespace perfcast::cli {

// The flags that fix a model's input shapes, shared by every command that reads a model.
struct ModelFlags {
  std::optional<int64_t> batch;
  std::vector<std::string> inputs;  // NAME=DIMS
  std::vector<std::string> dims;    // SYMBOL=VALUE
};

void add_model_flags(CLI::App& cmd, ModelFlags& flags);
graph::ImportOptions to_import_options(const ModelFlags& flags);

}  // namespace perfcast::cli
