#include "workload_loader.h"

#include "graph/model_source.h"

namespace perfcast::cli {

predict::ModelWorkload load_workload(const std::string& model, const ModelFlags& flags) {
  graph::ModelLoadOptions options = to_model_load_options(flags);
  // The predictors re-size floating-point tensors from fp32 to the requested precision, as for an
  // ONNX export; a transformer config is therefore expanded in fp32 too.
  options.weight_dtype = graph::DType::kFloat32;
  options.activation_dtype = graph::DType::kFloat32;
  options.kv_dtype = graph::DType::kFloat32;
  return predict::make_workload(model, graph::load_model(model, options));
}

}  // namespace perfcast::cli
