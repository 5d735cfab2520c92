#include "graph/op_kinds.h"

#include <array>
#include <algorithm>

namespace perfcast::graph {

bool is_unary_elementwise(std::string_view op_type) {
  static constexpr std::array<std::string_view, 40> kOps = {
      "Relu", "LeakyRelu", "PRelu", "Elu", "Selu", "Celu", "Gelu", "Sigmoid", "HardSigmoid", "HardSwish",
      "Tanh", "Erf", "Exp", "Log", "Sqrt", "Reciprocal", "Neg", "Abs", "Floor", "Ceil",
      "Round", "Sign", "Sin", "Cos", "Softplus", "Softsign", "Mish", "Clip", "Not", "Cast",
      "Identity", "Dropout", "IsNaN", "IsInf", "ThresholdedRelu", "Shrink", "CastLike", "Asin", "Acos", "Atan"};
  return std::find(kOps.begin(), kOps.end(), op_type) != kOps.end();
}

bool is_binary_elementwise(std::string_view op_type) {
  static constexpr std::array<std::string_view, 17> kOps = {
      "Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Mean", "Sum", "Mod",
      "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "And", "Or"};
  return std::find(kOps.begin(), kOps.end(), op_type) != kOps.end();
}

}  // namespace perfcast::graph
