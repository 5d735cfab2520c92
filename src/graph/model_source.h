#pragma once
// One entry point for every way perfcast names a model: an ONNX file, a Hugging Face config.json
// or the id of a bundled config (data/models/hf/ID.json). Every predictor reads the Graph it returns.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "graph/onnx_import.h"
#include "graph/transformer_config.h"
#include "graph/transformer_graph.h"

namespace perfcast::graph {

struct ModelLoadOptions {
  ImportOptions import;                // ONNX: batch, input shapes, symbolic dims (import.batch also sets the transformer batch)
  std::optional<int64_t> seq_len;      // transformers: tokens processed now (default 128); ONNX: binds a dim named seq/sequence/sequence_length
  int64_t context_len = 0;             // transformers: tokens already in the KV cache
  DType weight_dtype = DType::kUnknown;
  DType activation_dtype = DType::kUnknown;
  DType kv_dtype = DType::kUnknown;
  bool include_lm_head = true;
};

enum class ModelSourceKind : uint8_t { kOnnx, kConfigFile, kBundled };

struct BundledModel {
  std::string id;
  std::string path;
};

// The bundled configs: $PERFCAST_DATA_DIR (else the source tree's data/) + "/models/hf/*.json", sorted by id.
std::vector<BundledModel> bundled_models(const std::string& data_dir = "");

// Which kind `model` is; throws perfcast::Error listing close matches for an unknown name.
ModelSourceKind resolve_model(const std::string& model, std::string* path = nullptr);

// The transformer config behind a config path or bundled id (throws for an ONNX file).
TransformerConfig load_model_config(const std::string& model);

TransformerWorkload to_workload(const ModelLoadOptions& options);

Graph load_model(const std::string& model, const ModelLoadOptions& options = {});

}  // namespace perfcast::graph
