#include "predict/memory.h"

#include <algorithm>

#include "common/error.h"
#include "graph/dtype.h"
#include "predict/op_class.h"
#include "predict/saved_activations.h"

namespace perfcast::predict {
namespace {

int64_t summary_batch(const graph::GraphSummary& summary) {
  if (summary.inputs.empty() || summary.inputs.front().shape.empty()) return 1;
  return std::max<int64_t>(1, summary.inputs.front().shape.front());
}

// Parameters and buffers as counted by summarize() (each distinct tensor once, at the operator that
// reads it): floating-point elements, which are re-sized to the precision, and the bytes of
// integer (quantised: int8 1 B, int4 0.5 B) tensors, which keep their stored size.
struct ParamSplit {
  double float_elements = 0;
  double other_bytes = 0;
};
ParamSplit split_params(const graph::Graph& graph) {
  ParamSplit s;
  std::vector<bool> seen(graph.tensors.size(), false);
  for (const graph::Node& node : graph.nodes) {
    if (node.op_type == "Identity") continue;
    for (graph::TensorId id : node.inputs) {
      if (id == graph::kNoTensor || seen[static_cast<size_t>(id)]) continue;
      const graph::Tensor& t = graph.tensor(id);
      if (t.kind != graph::TensorKind::kParameter && t.kind != graph::TensorKind::kBuffer) continue;
      seen[static_cast<size_t>(id)] = true;
      if (t.size_bytes() < 0) continue;
      if (graph::is_floating(t.dtype)) s.float_elements += static_cast<double>(t.element_count());
      else s.other_bytes += static_cast<double>(t.size_bytes());
    }
  }
  return s;
}

}  // namespace

MemoryEstimate estimate_peak_memory(const graph::Graph& graph, const graph::GraphSummary& summary,
                                    hardware::Precision precision, Mode mode, Optimizer optimizer, int64_t batch,
                                    const RooflineCalibration& calibration, const std::string& vendor) {
  if (batch < 0) throw Error("batch must be positive");
  const double element = hardware::precision_bytes(precision);
  const double scale = element / 4.0;  // the graph is exported in fp32
  const double batch_ratio = batch == 0 ? 1.0 : static_cast<double>(batch) / static_cast<double>(summary_batch(summary));
  const double master = std::max(4.0, element);

  MemoryEstimate m;
  // Floating-point weights at the precision (whatever the file stores them in); quantised integer
  // weights at their own size.
  const ParamSplit params_split = split_params(graph);
  if (mode == Mode::kInference) {
    m.weights_bytes = params_split.float_elements * element + params_split.other_bytes;
    m.activation_bytes = static_cast<double>(summary.peak_activation_bytes) * scale * batch_ratio;
  } else {
    m.weights_bytes = params_split.float_elements * (master + (element < 4.0 ? element : 0.0)) + params_split.other_bytes;
    // The saved-for-backward tensors with the activations or gradients alive beside them, at the step
    // where their sum peaks; the new weight gradient computed there is added to the gradients.
    const TrainingActivationPeak peak = training_activation_peak(graph);
    m.activation_bytes =
        (static_cast<double>(peak.float_bytes) * scale + static_cast<double>(peak.fixed_bytes)) * batch_ratio;
    const double params = static_cast<double>(summary.params);
    m.gradient_bytes = params * master + static_cast<double>(peak.weight_gradient_bytes) / 4.0 * master;
    const double states = optimizer == Optimizer::kSgdMomentum ? 1 : optimizer == Optimizer::kAdam ? 2 : 0;
    m.optimizer_state_bytes = params * states * master;
  }

  double largest = 0;
  for (const graph::Node& node : graph.nodes) {
    const OpClass c = classify_node(graph, node);
    if (!is_matrix_class(c)) continue;
    for (const auto* ids : {&node.inputs, &node.outputs}) {
      for (graph::TensorId id : *ids) {
        if (id == graph::kNoTensor) continue;
        const graph::Tensor& t = graph.tensor(id);
        if (t.size_bytes() < 0) continue;
        const bool per_sample = t.kind == graph::TensorKind::kActivation || t.kind == graph::TensorKind::kInput;
        const double bytes = (graph::is_floating(t.dtype) ? static_cast<double>(t.element_count()) * element
                                                          : static_cast<double>(t.size_bytes())) *
                             (per_sample ? batch_ratio : 1.0);
        largest = std::max(largest, bytes);
      }
    }
  }
  m.workspace_bytes = std::min(largest * calibration.workspace_fraction, calibration.workspace_cap_bytes);
  m.runtime_context_bytes = calibration.runtime_context_for(vendor);
  m.total_bytes = m.weights_bytes + m.activation_bytes + m.workspace_bytes + m.runtime_context_bytes +
                  m.gradient_bytes + m.optimizer_state_bytes;
  return m;
}

double peak_memory_bytes(const graph::Graph& graph, const graph::GraphSummary& summary,
                         hardware::Precision precision, Mode mode, Optimizer optimizer, int64_t batch,
                         const RooflineCalibration& calibration, const std::string& vendor) {
  return estimate_peak_memory(graph, summary, precision, mode, optimizer, batch, calibration, vendor).total_bytes;
}

}  // namespace perfcast::predict
