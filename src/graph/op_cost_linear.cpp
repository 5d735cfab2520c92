// Cost rules for the operators that do multiply-accumulates.
#include <fmt/format.h>

#include <map>
#include <set>

#include "common/error.h"
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
  const std::string equation = n.attr_string("equation", "");
  const auto arrow = equation.find("->");
  const std::string lhs = equation.substr(0, arrow);
  std::vector<std::string> terms;
  std::string term;
  for (char ch : lhs) {
    if (ch == ',') {
      terms.push_back(term);
      term.clear();
    } else if (ch != ' ') {
      term += ch;
    }
  }
  terms.push_back(term);

  std::map<char, int64_t> letter_size;
  std::map<char, int> letter_uses;
  for (size_t i = 0; i < terms.size(); ++i) {
    const Tensor& t = input(g, n, i);
    // Letters bind to the trailing dims after an ellipsis, leading dims before it.
    const std::string& spec = terms[i];
    const auto ellipsis = spec.find("...");
    std::string before = ellipsis == std::string::npos ? spec : spec.substr(0, ellipsis);
    std::string after = ellipsis == std::string::npos ? "" : spec.substr(ellipsis + 3);
    for (size_t d = 0; d < before.size() && d < t.shape.size(); ++d) letter_size[before[d]] = t.shape[d];
    for (size_t d = 0; d < after.size(); ++d) letter_size[after[d]] = t.shape[t.shape.size() - after.size() + d];
    for (char ch : before + after) ++letter_uses[ch];
  }
  std::set<char> output_letters;
  if (arrow != std::string::npos) {
    for (char ch : equation.substr(arrow + 2))
      if (std::isalpha(static_cast<unsigned char>(ch))) output_letters.insert(ch);
  } else {
    for (const auto& [ch, uses] : letter_uses)
      if (uses == 1) output_letters.insert(ch);
  }
  double contracted = 1;
  for (const auto& [ch, size] : letter_size)
    if (!output_letters.count(ch)) contracted *= static_cast<double>(size);

  const Tensor& y = output(g, n, 0);
  if (terms.size() >= 2) {
    c.macs = numel(y) * contracted;
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
