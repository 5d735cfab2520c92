#include "learn/graph_totals.h"

#include <algorithm>
#include <cmath>

namespace perfcast::learn {

std::optional<WorkloadRow> workload_row_from_graph(const std::string& name, const graph::Graph& graph,
                                                   const graph::GraphSummary& summary, int64_t batch,
                                                   hardware::Precision precision, std::string* why) {
  auto fail = [&](const std::string& reason) -> std::optional<WorkloadRow> {
    if (why) *why = reason;
    return std::nullopt;
  };
  if (graph.inputs.empty()) return fail("the graph has no inputs");
  const graph::Tensor& in = graph.tensor(graph.inputs.front());
  if (!in.shape_known || in.shape.size() != 4 || in.shape[1] < 1 || in.shape[1] > 4 || in.shape[2] < 8 || in.shape[3] < 8)
    return fail("the first input is not an image batch [N, C, H, W] with C <= 4 (the learned predictors were trained on "
                "image models)");
  if (summary.macs <= 0 || summary.params <= 0) return fail("the graph has no costed MACs or parameters");
  const double b = static_cast<double>(std::max<int64_t>(batch, 1));
  double act = 0;
  for (const graph::Node& node : graph.nodes) {
    if (!node.domain.empty()) continue;
    const std::string& op = node.op_type;
    if (op != "Conv" && op != "ConvTranspose" && op != "Gemm" && op != "MatMul" && op != "Einsum") continue;
    for (graph::TensorId t : node.outputs) {
      if (t == graph::kNoTensor) continue;
      const int64_t n = graph.tensor(t).element_count();
      if (n > 0) act += static_cast<double>(n);
    }
  }
  if (act <= 0) return fail("no Conv/Gemm/MatMul outputs with known shapes (activation count unknown)");
  WorkloadRow row;
  row.model = name;
  row.param_count_m = static_cast<double>(summary.params) / 1e6;
  row.gmacs = summary.macs / b / 1e9;
  row.macts_m = act / b / 1e6;
  row.batch = batch;
  row.img_size = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(in.shape[2] * in.shape[3]))));
  row.precision = precision;
  return row;
}

}  // namespace perfcast::learn
