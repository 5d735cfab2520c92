#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace perfcast::graph {

// An Einsum equation ("bhqd,bhkd->bhqk") bound to its operands' shapes.
struct EinsumBinding {
  std::map<char, int64_t> letter_size;
  std::vector<int64_t> output_shape;
  double contracted_size = 1;  // product of the sizes of letters summed over
};

// nullopt when the equation does not fit the shapes.
std::optional<EinsumBinding> bind_einsum(const std::string& equation,
                                         const std::vector<std::vector<int64_t>>& operand_shapes);

}  // namespace perfcast::graph
