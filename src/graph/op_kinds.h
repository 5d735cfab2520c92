#pragma once
#include <string_view>

namespace perfcast::graph {

// Operator families shared by the cost model and the fallback shape inference.
bool is_unary_elementwise(std::string_view op_type);
bool is_binary_elementwise(std::string_view op_type);

}  // namespace perfcast::graph
