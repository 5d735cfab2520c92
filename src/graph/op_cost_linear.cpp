// Cost rules for the operators that do multiply-accumulates.
#include <fmt/format.h>


#include "common/error.h"
#include "graph/einsum_equation.h"
#include "graph/op_cost_rules.h"

namespace perfcast::graph::cost_rules {
namespace {

double product(const std::vector<int64_t>& dims, size_t from = 0) {
  double p = 1;
  for (size_t i = from; i < dims.size(); ++i) p *= static_cast<double>(dims[i]);
  return p;
}

// Y[N, M, out...] = X[N, C, in...] * W[M, C/group, k...]: each output element takes C/group * prod(k) MACs.
void conv(const Graph& g, const Node& n, OpCost& c) {
  const Tensor& w = input(g, n, 1);
  const Tensor& y = output(g, n, 0);
  c.macs = numel(y) * product(w.shape, 1);
  c.flops = 2 * c.macs + (has_input(n, 2) ? numel(y) : 0);
}

// ConvTranspose scatters every input element over W[C, M/group, k...].
void conv_transpose(const Graph& g, const Node& n, OpCost& c) {
  const Tensor& x = input(g, n, 0);
  const Tensor& w = input(g, n, 1);
  const Tensor& y = output(g, n, 0);
  c.macs = numel(x) * product(w.shape, 1);
  c.flops = 2 * c.macs + (has_input(n, 2) ? numel(y) : 0);
}

void gemm(const Graph& g, const Node& n, OpCost& c) {
  const Tensor& a = input(g, n, 0);
  const Tensor& y = output(g, n, 0);
  if (a.shape.size() != 2) throw Error(fmt::format("Gemm '{}': input A must be 2-D", n.name));
  const double k = static_cast<double>(n.attr_int("transA", 0) ? a.shape[0] : a.shape[1]);
  c.macs = numel(y) * k;
  c.flops = 2 * c.macs + (has_input(n, 2) ? numel(y) : 0);
}

// Batched and broadcast MatMul: every output element is a dot product over K.
void matmul(const Graph& g, const Node& n, OpCost& c) {
  const Tensor& a = input(g, n, 0);
  const Tensor& y = output(g, n, 0);
  const double k = a.shape.empty() ? 1 : static_cast<double>(a.shape.back());
  c.macs = numel(y) * k;
  c.flops = 2 * c.macs;
}

// Einsum with two or more operands: output elements x sizes of the contracted letters.
void einsum(const Graph& g, const Node& n, OpCost& c) {
  std::vector<std::vector<int64_t>> shapes;
  for (size_t i = 0; i < n.inputs.size(); ++i) shapes.push_back(input(g, n, i).shape);
  const auto binding = bind_einsum(n.attr_string("equation", ""), shapes);
  if (!binding) throw MissingShape{fmt::format("operands of Einsum '{}' (equation does not fit)", n.name)};
  if (shapes.size() >= 2) {
    c.macs = numel(output(g, n, 0)) * binding->contracted_size;
    c.flops = 2 * c.macs;
  } else {
    c.flops = numel(input(g, n, 0));  // a single-operand einsum is a transpose or a reduction
  }
}

}  // namespace

void add_linear_rules(RuleTable& table) {
  table["Conv"] = conv;
  table["ConvInteger"] = conv;
  table["QLinearConv"] = [](const Graph& g, const Node& n, OpCost& c) {
    const Tensor& w = input(g, n, 3);
    c.macs = numel(output(g, n, 0)) * product(w.shape, 1);
    c.flops = 2 * c.macs;
  };
  table["ConvTranspose"] = conv_transpose;
  table["Gemm"] = gemm;
  table["MatMul"] = matmul;
  table["MatMulInteger"] = matmul;
  table["QLinearMatMul"] = matmul;
  table["Einsum"] = einsum;
}

}  // namespace perfcast::graph::cost_rules
