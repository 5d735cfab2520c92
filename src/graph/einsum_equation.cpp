#include "graph/einsum_equation.h"

#include <cctype>
#include <set>

namespace perfcast::graph {
namespace {

std::string strip(const std::string& s) {
  std::string out;
  for (char c : s)
    if (c != ' ') out += c;
  return out;
}

std::vector<std::string> split_terms(const std::string& lhs) {
  std::vector<std::string> terms(1);
  for (char c : lhs) {
    if (c == ',') terms.emplace_back();
    else terms.back() += c;
  }
  return terms;
}

}  // namespace

std::optional<EinsumBinding> bind_einsum(const std::string& raw_equation,
                                         const std::vector<std::vector<int64_t>>& operand_shapes) {
  const std::string equation = strip(raw_equation);
  const auto arrow = equation.find("->");
  const auto terms = split_terms(equation.substr(0, arrow));
  if (terms.size() != operand_shapes.size()) return std::nullopt;

  EinsumBinding binding;
  std::map<char, int> uses;
  std::vector<int64_t> ellipsis_dims;
  for (size_t i = 0; i < terms.size(); ++i) {
    const auto& shape = operand_shapes[i];
    const auto dots = terms[i].find("...");
    const std::string head = dots == std::string::npos ? terms[i] : terms[i].substr(0, dots);
    const std::string tail = dots == std::string::npos ? "" : terms[i].substr(dots + 3);
    if (head.size() + tail.size() > shape.size()) return std::nullopt;
    if (dots == std::string::npos && head.size() != shape.size()) return std::nullopt;
    for (size_t d = 0; d < head.size(); ++d) binding.letter_size[head[d]] = shape[d];
    for (size_t d = 0; d < tail.size(); ++d) binding.letter_size[tail[d]] = shape[shape.size() - tail.size() + d];
    if (dots != std::string::npos) {
      std::vector<int64_t> middle(shape.begin() + static_cast<long>(head.size()),
                                  shape.end() - static_cast<long>(tail.size()));
      if (middle.size() > ellipsis_dims.size()) ellipsis_dims = middle;
    }
    for (char c : head + tail) ++uses[c];
  }

  std::string output_letters;
  bool output_has_ellipsis = false;
  if (arrow != std::string::npos) {
    const std::string rhs = equation.substr(arrow + 2);
    output_has_ellipsis = rhs.find("...") != std::string::npos;
    for (char c : rhs)
      if (std::isalpha(static_cast<unsigned char>(c))) output_letters += c;
  } else {
    output_has_ellipsis = !ellipsis_dims.empty();
    for (const auto& [c, n] : uses)
      if (n == 1) output_letters += c;
  }
  const std::set<char> kept(output_letters.begin(), output_letters.end());
  if (output_has_ellipsis) binding.output_shape = ellipsis_dims;
  for (char c : output_letters) {
    auto it = binding.letter_size.find(c);
    if (it == binding.letter_size.end()) return std::nullopt;
    binding.output_shape.push_back(it->second);
  }
  for (const auto& [c, size] : binding.letter_size)
    if (!kept.count(c)) binding.contracted_size *= static_cast<double>(size);
  return binding;
}

}  // namespace perfcast::graph
