#pragma once
#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <vector>

#include "graph/model_source.h"
#include "graph/onnx_import.h"

namespace perfcast::cli {

// The flags that fix a model's input shapes, shared by every command that reads a model.
struct ModelFlags {
  std::optional<int64_t> batch;
  std::vector<std::string> inputs;  // NAME=DIMS
  std::vector<std::string> dims;    // SYMBOL=VALUE
  std::optional<int64_t> seq_len;   // transformers: tokens processed; ONNX: binds seq/sequence/sequence_length
};

void add_model_flags(CLI::App& cmd, ModelFlags& flags);
graph::ImportOptions to_import_options(const ModelFlags& flags);
graph::ModelLoadOptions to_model_load_options(const ModelFlags& flags);

}  // namespace perfcast::cli
