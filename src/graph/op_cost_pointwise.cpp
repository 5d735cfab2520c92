// Cost rules for elementwise operators, activations, normalisations, softmax, pooling and reductions.
// FLOPs per element are the usual approximations (one per arithmetic operation, a few for the
// transcendental activations); the table below is the single place they are set.
#include "graph/op_cost_rules.h"
#include "graph/op_kinds.h"

namespace perfcast::graph::cost_rules {
namespace {

double flops_per_element(const std::string& op_type) {
  static const std::unordered_map<std::string, double> kFlops = {
      {"Sigmoid", 4}, {"Tanh", 5}, {"Erf", 5}, {"Exp", 1}, {"Log", 1}, {"Gelu", 8}, {"HardSigmoid", 3},
      {"HardSwish", 4}, {"Softplus", 3}, {"Mish", 8}, {"Elu", 3}, {"Selu", 4}, {"Celu", 4}, {"LeakyRelu", 2},
      {"PRelu", 2}, {"Clip", 2}, {"Softsign", 3},
      // Movement-like unary ops that the elementwise family includes: no arithmetic.
      {"Cast", 0}, {"CastLike", 0}, {"Identity", 0}, {"Dropout", 0}, {"Not", 0}, {"IsNaN", 1}, {"IsInf", 1},
  };
  auto it = kFlops.find(op_type);
  return it == kFlops.end() ? 1 : it->second;
}

void unary(const Graph& g, const Node& n, OpCost& c) {
  c.flops = numel(output(g, n, 0)) * flops_per_element(n.op_type);
}

// Variadic Sum/Max/Min/Mean with k inputs do k-1 operations per output element.
void binary(const Graph& g, const Node& n, OpCost& c) {
  size_t operands = 0;
  for (TensorId in : n.inputs) operands += in != kNoTensor;
  c.flops = numel(output(g, n, 0)) * static_cast<double>(operands > 1 ? operands - 1 : 1);
}

double kernel_elements(const Node& n) {
  double k = 1;
  for (int64_t d : n.attr_ints("kernel_shape")) k *= static_cast<double>(d);
  return k;
}

}  // namespace

void add_pointwise_rules(RuleTable& table) {
  for (const char* op : {"Relu", "LeakyRelu", "PRelu", "Elu", "Selu", "Celu", "Gelu", "Sigmoid", "HardSigmoid",
                         "HardSwish", "Tanh", "Erf", "Exp", "Log", "Sqrt", "Reciprocal", "Neg", "Abs", "Floor",
                         "Ceil", "Round", "Sign", "Sin", "Cos", "Softplus", "Softsign", "Mish", "Clip", "Not",
                         "IsNaN", "IsInf", "ThresholdedRelu", "Shrink", "Asin", "Acos", "Atan", "Cast", "CastLike"}) {
    table[op] = unary;
  }
  for (const char* op : {"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Mean", "Sum", "Mod", "Equal", "Less",
                         "Greater", "LessOrEqual", "GreaterOrEqual", "And", "Or", "Xor", "BitShift"}) {
    table[op] = binary;
  }
  // Inference-mode normalisations: scale and shift per element after the statistics.
  table["BatchNormalization"] = [](const Graph& g, const Node& n, OpCost& c) { c.flops = 2 * numel(input(g, n, 0)); };
  // mean, centre, square, variance, normalise, scale, shift: ~7 per element (the decomposed
  // form exported by older opsets sums to the same through its ReduceMean/Sub/Pow/... nodes).
  for (const char* op : {"LayerNormalization", "InstanceNormalization", "GroupNormalization",
                         "MeanVarianceNormalization", "SimplifiedLayerNormalization"}) {
    table[op] = [](const Graph& g, const Node& n, OpCost& c) { c.flops = 7 * numel(input(g, n, 0)); };
  }
  table["LpNormalization"] = [](const Graph& g, const Node& n, OpCost& c) { c.flops = 3 * numel(input(g, n, 0)); };
  // max, subtract, exp, sum, divide
  for (const char* op : {"Softmax", "LogSoftmax", "Hardmax"}) {
    table[op] = [](const Graph& g, const Node& n, OpCost& c) { c.flops = 5 * numel(input(g, n, 0)); };
  }
  for (const char* op : {"MaxPool", "AveragePool", "LpPool", "MaxRoiPool"}) {
    table[op] = [](const Graph& g, const Node& n, OpCost& c) {
      c.flops = numel(output(g, n, 0)) * kernel_elements(n);
    };
  }
  for (const char* op : {"GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool", "ReduceMean", "ReduceSum", "ReduceMax",
                         "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp",
                         "ReduceSumSquare", "ArgMax", "ArgMin", "CumSum"}) {
    table[op] = [](const Graph& g, const Node& n, OpCost& c) { c.flops = numel(input(g, n, 0)); };
  }
  // Linear interpolation blends 2^rank neighbours; nearest only copies.
  table["Resize"] = [](const Graph& g, const Node& n, OpCost& c) {
    const std::string mode = n.attr_string("mode", "nearest");
    const double per_element = mode == "linear" ? 4 : mode == "cubic" ? 16 : 0;
    c.flops = numel(output(g, n, 0)) * per_element;
  };
  table["Upsample"] = table["Resize"];
  table["TopK"] = [](const Graph& g, const Node& n, OpCost& c) { c.flops = numel(input(g, n, 0)); };
}

}  // namespace perfcast::graph::cost_rules
