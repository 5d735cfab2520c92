#include "workload_loader.h"

#include "graph/onnx_import.h"

namespace perfcast::cli {

predict::ModelWorkload load_workload(const std::string& model, const ModelFlags& flags) {
  return predict::make_workload(model, graph::import_onnx(model, to_import_options(flags)));
}

}  // namespace perfcast::cli
