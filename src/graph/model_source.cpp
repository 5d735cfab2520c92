#include "graph/model_source.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

#include "common/error.h"
#include "common/suggest.h"
#include "hardware/device_catalog.h"

namespace perfcast::graph {
namespace {

namespace fs = std::filesystem;

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

std::vector<BundledModel> bundled_models(const std::string& data_dir) {
  const std::string dir = (data_dir.empty() ? hardware::default_data_dir() : data_dir) + "/models/hf";
  std::vector<BundledModel> models;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return models;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (!entry.is_regular_file() || entry.path().extension() != ".json") continue;
    models.push_back({entry.path().stem().string(), entry.path().string()});
  }
  std::sort(models.begin(), models.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return models;
}

ModelSourceKind resolve_model(const std::string& model, std::string* path) {
  std::error_code ec;
  if (fs::is_regular_file(model, ec)) {
    if (path) *path = model;
    return ends_with(model, ".json") ? ModelSourceKind::kConfigFile : ModelSourceKind::kOnnx;
  }
  const auto models = bundled_models();
  std::vector<std::string> ids;
  for (const auto& m : models) {
    if (m.id == model) {
      if (path) *path = m.path;
      return ModelSourceKind::kBundled;
    }
    ids.push_back(m.id);
  }
  if (ends_with(model, ".onnx") || ends_with(model, ".json") || model.find('/') != std::string::npos) {
    throw Error(fmt::format("model '{}' does not exist (give an .onnx file, a config.json or a bundled id; "
                            "`perfcast models` lists the bundled ids)",
                            model));
  }
  const auto close = close_matches(model, ids);
  std::string hint = close.empty() ? "" : " Did you mean: ";
  for (size_t i = 0; i < close.size(); ++i) hint += (i ? ", " : "") + close[i];
  if (!close.empty()) hint += "?";
  throw Error(fmt::format("unknown model '{}': not a file and not a bundled model id.{} (`perfcast models` lists "
                          "the {} bundled ids)",
                          model, hint, ids.size()));
}

TransformerConfig load_model_config(const std::string& model) {
  std::string path;
  if (resolve_model(model, &path) == ModelSourceKind::kOnnx)
    throw Error(fmt::format("'{}' is an ONNX model, not a transformer config", model));
  return load_transformer_config(path);
}

TransformerWorkload to_workload(const ModelLoadOptions& o) {
  TransformerWorkload w;
  w.batch = o.import.batch.value_or(1);
  w.seq_len = o.seq_len.value_or(128);
  w.context_len = o.context_len;
  w.weight_dtype = o.weight_dtype;
  w.activation_dtype = o.activation_dtype;
  w.kv_dtype = o.kv_dtype;
  w.include_lm_head = o.include_lm_head;
  return w;
}

Graph load_model(const std::string& model, const ModelLoadOptions& options) {
  std::string path;
  if (resolve_model(model, &path) == ModelSourceKind::kOnnx) {
    ImportOptions import = options.import;
    if (options.seq_len) {
      for (const char* name : {"seq", "sequence", "sequence_length", "seq_len"})
        import.dim_values.emplace(name, *options.seq_len);
    }
    return import_onnx(path, import);
  }
  if (!options.import.input_shapes.empty() || !options.import.dim_values.empty())
    throw Error(fmt::format("'{}' is a transformer config: give --seq-len/--batch, not --input/--dim", model));
  Graph g = build_transformer_graph(load_transformer_config(path), to_workload(options));
  return g;
}

}  // namespace perfcast::graph
