#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "graph/dtype.h"

namespace perfcast::graph {

using TensorId = int32_t;
using NodeId = int32_t;
constexpr TensorId kNoTensor = -1;
constexpr NodeId kNoNode = -1;

enum class TensorKind : uint8_t {
  kInput,       // a graph input fed at run time
  kParameter,   // a trained weight (floating-point initializer or large constant)
  kBuffer,      // non-trainable state stored with the weights (BatchNorm running statistics)
  kConstant,    // a small constant: shapes, axes, scalars
  kActivation,  // produced by a node at run time
};

struct Tensor {
  std::string name;
  DType dtype = DType::kUnknown;
  std::vector<int64_t> shape;  // empty with shape_known == true means a scalar
  bool shape_known = false;
  TensorKind kind = TensorKind::kActivation;
  NodeId producer = kNoNode;
  std::vector<NodeId> consumers;
  std::optional<std::vector<int64_t>> int_values;  // small integer constants (Reshape targets, axes)

  // -1 when the shape is unknown.
  int64_t element_count() const;
  // -1 when the shape is unknown.
  int64_t size_bytes() const;
};

struct Attribute {
  std::optional<int64_t> i;
  std::optional<double> f;
  std::optional<std::string> s;
  std::vector<int64_t> ints;
  std::vector<double> floats;
};

struct Node {
  std::string name;
  std::string op_type;
  std::string domain;               // "" for the default ONNX domain
  std::vector<TensorId> inputs;     // kNoTensor marks an omitted optional input
  std::vector<TensorId> outputs;
  std::map<std::string, Attribute> attributes;
  bool has_subgraph = false;        // If/Loop/Scan bodies are not expanded

  int64_t attr_int(const std::string& key, int64_t fallback) const;
  std::vector<int64_t> attr_ints(const std::string& key) const;
  std::string attr_string(const std::string& key, const std::string& fallback) const;
};

// One data-flow edge: tensor `tensor` flows from `from` to `to`.
struct Edge {
  NodeId from;
  NodeId to;
  TensorId tensor;
};

// The operator graph every predictor reads: nodes, the tensors between them and their real
// producer/consumer relations (not a chain in visit order).
class Graph {
 public:
  std::string name;
  int64_t opset_version = 0;      // of the default ONNX domain
  std::vector<Node> nodes;
  std::vector<Tensor> tensors;
  std::vector<TensorId> inputs;   // run-time inputs, parameters excluded
  std::vector<TensorId> outputs;

  TensorId add_tensor(Tensor tensor);
  std::optional<TensorId> find_tensor(const std::string& name) const;
  const Tensor& tensor(TensorId id) const { return tensors.at(static_cast<size_t>(id)); }
  Tensor& tensor(TensorId id) { return tensors.at(static_cast<size_t>(id)); }
  const Node& node(NodeId id) const { return nodes.at(static_cast<size_t>(id)); }

  // Fills producer/consumers of every tensor from the nodes. Call after editing nodes.
  void link();
  std::vector<Edge> edges() const;
  // Kahn's algorithm; throws perfcast::Error naming a node on the cycle if there is one.
  std::vector<NodeId> topological_order() const;

 private:
  std::unordered_map<std::string, TensorId> tensor_by_name_;
};

}  // namespace perfcast::graph
