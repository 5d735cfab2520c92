#include "graph/onnx_import.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>
#include <onnx/onnx_pb.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <unordered_set>

#include "common/error.h"
#include "graph/shape_folding.h"

namespace perfcast::graph {
namespace {

constexpr int64_t kMaxIntValuesKept = 64;  // Reshape targets, axes, pads: always tiny

onnx::ModelProto read_model(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(path, ec)) throw Error(fmt::format("'{}': no such file", path));
  if (!fs::is_regular_file(path, ec)) throw Error(fmt::format("'{}': not a regular file", path));
  if (fs::file_size(path, ec) == 0) throw Error(fmt::format("'{}': the file is empty, not an ONNX model", path));

  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(fmt::format("'{}': cannot open for reading", path));
  google::protobuf::io::IstreamInputStream raw(&in);
  google::protobuf::io::CodedInputStream coded(&raw);
  coded.SetTotalBytesLimit(INT32_MAX);
  onnx::ModelProto model;
  if (!model.ParseFromCodedStream(&coded) || !coded.ConsumedEntireMessage()) {
    throw Error(fmt::format("'{}': not a valid ONNX file (the protobuf is truncated or corrupt)", path));
  }
  if (!model.has_graph() || model.ir_version() <= 0 || model.opset_import_size() == 0) {
    throw Error(fmt::format("'{}': parsed as protobuf but is not an ONNX model (no graph, IR version or opset)",
                            path));
  }
  return model;
}

int64_t default_opset(const onnx::ModelProto& model) {
  for (const auto& opset : model.opset_import())
    if (opset.domain().empty() || opset.domain() == "ai.onnx") return opset.version();
  return 0;
}

std::string describe_dim(const onnx::TensorShapeProto_Dimension& dim) {
  if (dim.has_dim_value()) return std::to_string(dim.dim_value());
  if (dim.has_dim_param()) return dim.dim_param();
  return "?";
}

void bind_input(onnx::ValueInfoProto& input, const ImportOptions& options, int64_t batch) {
  auto* tensor_type = input.mutable_type()->mutable_tensor_type();
  if (auto it = options.input_shapes.find(input.name()); it != options.input_shapes.end()) {
    auto* shape = tensor_type->mutable_shape();
    shape->clear_dim();
    for (int64_t d : it->second) shape->add_dim()->set_dim_value(d);
    return;
  }
  if (!tensor_type->has_shape()) {
    throw Error(fmt::format("input '{}' has no shape in the model; give it with --input {}=DIMS", input.name(),
                            input.name()));
  }
  auto* shape = tensor_type->mutable_shape();
  for (int i = 0; i < shape->dim_size(); ++i) {
    auto* dim = shape->mutable_dim(i);
    if (dim->has_dim_param()) {
      if (auto named = options.dim_values.find(dim->dim_param()); named != options.dim_values.end()) {
        dim->set_dim_value(named->second);
        continue;
      }
    }
    if (dim->has_dim_value()) {
      if (i == 0 && options.batch && dim->dim_value() != *options.batch && shape->dim_size() > 1) {
        throw Error(fmt::format("input '{}' has a fixed batch dimension of {}, so --batch {} cannot be applied; "
                                "re-export the model with a dynamic batch axis",
                                input.name(), dim->dim_value(), *options.batch));
      }
      continue;
    }
    if (i == 0) {
      dim->set_dim_value(batch);
      continue;
    }
    std::vector<std::string> dims;
    for (const auto& d : shape->dim()) dims.push_back(describe_dim(d));
    throw Error(fmt::format("input '{}' has shape [{}] with symbolic dimension {} ('{}'); bind it with --dim {}=N "
                            "or --input {}=DIMS",
                            input.name(), fmt::join(dims, ", "), i, describe_dim(*dim),
                            dim->has_dim_param() ? dim->dim_param() : "NAME", input.name()));
  }
}

void validate_options(const ImportOptions& options) {
  if (options.batch && (*options.batch < 1 || *options.batch > kMaxBatch)) {
    throw Error(fmt::format("batch size {} is out of range (1 to {})", *options.batch, kMaxBatch));
  }
  for (const auto& [name, dims] : options.input_shapes) {
    for (int64_t d : dims)
      if (d < 1) throw Error(fmt::format("--input {}: every dimension must be a positive integer", name));
  }
  for (const auto& [name, value] : options.dim_values)
    if (value < 1) throw Error(fmt::format("--dim {}={}: dimensions must be positive", name, value));
}

void set_type(Tensor& tensor, const onnx::TypeProto& type) {
  if (!type.has_tensor_type()) return;
  const auto& tt = type.tensor_type();
  if (tensor.dtype == DType::kUnknown) tensor.dtype = dtype_from_onnx(tt.elem_type());
  if (!tt.has_shape() || tensor.shape_known) return;  // a complete shape is never replaced by a partial one
  std::vector<int64_t> dims;
  bool known = true;
  for (const auto& d : tt.shape().dim()) {
    if (d.has_dim_value() && d.dim_value() >= 0) {
      dims.push_back(d.dim_value());
    } else {
      dims.push_back(-1);
      known = false;
    }
  }
  tensor.shape = std::move(dims);
  tensor.shape_known = known;
}

std::optional<std::vector<int64_t>> small_int_values(const onnx::TensorProto& t) {
  int64_t count = 1;
  for (int64_t d : t.dims()) count *= d;
  if (count > kMaxIntValuesKept) return std::nullopt;
  std::vector<int64_t> values;
  if (t.data_type() == onnx::TensorProto::INT64) {
    if (t.int64_data_size() > 0) {
      values.assign(t.int64_data().begin(), t.int64_data().end());
    } else if (t.raw_data().size() == static_cast<size_t>(count) * 8) {
      values.resize(static_cast<size_t>(count));
      std::memcpy(values.data(), t.raw_data().data(), t.raw_data().size());
    }
  } else if (t.data_type() == onnx::TensorProto::INT32) {
    if (t.int32_data_size() > 0) {
      values.assign(t.int32_data().begin(), t.int32_data().end());
    } else if (t.raw_data().size() == static_cast<size_t>(count) * 4) {
      std::vector<int32_t> raw(static_cast<size_t>(count));
      std::memcpy(raw.data(), t.raw_data().data(), t.raw_data().size());
      values.assign(raw.begin(), raw.end());
    }
  }
  if (static_cast<int64_t>(values.size()) != count) return std::nullopt;
  return values;
}

// Floating-point weights are parameters; integer tensors and scalars are constants.
TensorKind classify_constant(const onnx::TensorProto& t) {
  int64_t count = 1;
  for (int64_t d : t.dims()) count *= d;
  return (is_floating(dtype_from_onnx(t.data_type())) && count > 1) ? TensorKind::kParameter
                                                                     : TensorKind::kConstant;
}

Tensor tensor_from_proto(const onnx::TensorProto& t) {
  Tensor tensor;
  tensor.name = t.name();
  tensor.dtype = dtype_from_onnx(t.data_type());
  tensor.shape.assign(t.dims().begin(), t.dims().end());
  tensor.shape_known = true;
  tensor.kind = classify_constant(t);
  tensor.int_values = small_int_values(t);
  return tensor;
}

Attribute attribute_from_proto(const onnx::AttributeProto& a) {
  Attribute attr;
  switch (a.type()) {
    case onnx::AttributeProto::INT: attr.i = a.i(); break;
    case onnx::AttributeProto::FLOAT: attr.f = a.f(); break;
    case onnx::AttributeProto::STRING: attr.s = a.s(); break;
    case onnx::AttributeProto::INTS: attr.ints.assign(a.ints().begin(), a.ints().end()); break;
    case onnx::AttributeProto::FLOATS: attr.floats.assign(a.floats().begin(), a.floats().end()); break;
    default: break;
  }
  return attr;
}

class GraphBuilder {
 public:
  explicit GraphBuilder(const onnx::GraphProto& proto) : proto_(proto) {}

  Graph build() {
    graph_.name = proto_.name();
    std::unordered_set<std::string> initializer_names;
    for (const auto& init : proto_.initializer()) {
      initializer_names.insert(init.name());
      graph_.add_tensor(tensor_from_proto(init));
    }
    for (const auto& input : proto_.input()) {
      if (initializer_names.count(input.name())) continue;  // IR < 4 lists weights as inputs
      Tensor& t = tensor_named(input.name());
      t.kind = TensorKind::kInput;
      set_type(t, input.type());
      graph_.inputs.push_back(*graph_.find_tensor(input.name()));
    }
    for (const auto& info : proto_.value_info()) set_type(tensor_named(info.name()), info.type());
    for (const auto& output : proto_.output()) {
      set_type(tensor_named(output.name()), output.type());
      graph_.outputs.push_back(*graph_.find_tensor(output.name()));
    }
    for (const auto& node_proto : proto_.node()) add_node(node_proto);
    return std::move(graph_);
  }

 private:
  Tensor& tensor_named(const std::string& name) {
    if (auto id = graph_.find_tensor(name)) return graph_.tensor(*id);
    Tensor t;
    t.name = name;
    return graph_.tensor(graph_.add_tensor(std::move(t)));
  }

  void add_node(const onnx::NodeProto& proto) {
    Node node;
    node.name = proto.name().empty() ? fmt::format("{}_{}", proto.op_type(), graph_.nodes.size()) : proto.name();
    node.op_type = proto.op_type();
    node.domain = proto.domain() == "ai.onnx" ? "" : proto.domain();
    for (const auto& in : proto.input())
      node.inputs.push_back(in.empty() ? kNoTensor : *graph_.find_tensor(tensor_named(in).name));
    for (const auto& out : proto.output())
      node.outputs.push_back(out.empty() ? kNoTensor : *graph_.find_tensor(tensor_named(out).name));
    for (const auto& a : proto.attribute()) {
      if (a.type() == onnx::AttributeProto::GRAPH || a.type() == onnx::AttributeProto::GRAPHS) {
        node.has_subgraph = true;
      }
      if (a.type() == onnx::AttributeProto::TENSOR && node.op_type == "Constant" && !node.outputs.empty()) {
        Tensor& out = graph_.tensor(node.outputs[0]);
        Tensor value = tensor_from_proto(a.t());
        out.dtype = value.dtype;
        out.shape = value.shape;
        out.shape_known = true;
        out.kind = value.kind;
        out.int_values = value.int_values;
      }
      node.attributes.emplace(a.name(), attribute_from_proto(a));
    }
    graph_.nodes.push_back(std::move(node));
  }

  const onnx::GraphProto& proto_;
  Graph graph_;
};

// Weights are never read for costing; dropping them before shape inference keeps a 100 MB
// model from being copied around. Small integer tensors stay: shape inference needs them.
void drop_weight_payloads(onnx::GraphProto& graph) {
  for (auto& init : *graph.mutable_initializer()) {
    if (classify_constant(init) == TensorKind::kParameter) {
      init.clear_raw_data();
      init.clear_float_data();
      init.clear_double_data();
      init.clear_int32_data();
    }
  }
}

// Exporters de-duplicate identical weights behind Identity nodes (torch does for layers cloned
// from one another), so each Identity of a weight stands for a distinct parameter of the model.
// BatchNorm running statistics are state, not trainable parameters (as torch counts them).
// Resize scales are constants even though they are floating-point tensors.
void mark_weight_roles(Graph& graph, const std::vector<NodeId>& order) {
  for (NodeId id : order) {
    const Node& node = graph.node(id);
    if (node.op_type == "Identity" && node.inputs.size() == 1 && node.inputs[0] != kNoTensor &&
        graph.tensor(node.inputs[0]).kind == TensorKind::kParameter && node.outputs[0] != kNoTensor) {
      graph.tensor(node.outputs[0]).kind = TensorKind::kParameter;
    }
    // Resize/Upsample scales and regions of interest are settings, not learned weights.
    if (node.op_type == "Resize" || node.op_type == "Upsample") {
      for (size_t i = 1; i < node.inputs.size(); ++i) {
        if (node.inputs[i] != kNoTensor && graph.tensor(node.inputs[i]).kind == TensorKind::kParameter) {
          graph.tensor(node.inputs[i]).kind = TensorKind::kConstant;
        }
      }
    }
    if (node.op_type == "BatchNormalization") {
      for (size_t i = 3; i < std::min<size_t>(node.inputs.size(), 5); ++i) {
        if (node.inputs[i] != kNoTensor && graph.tensor(node.inputs[i]).kind == TensorKind::kParameter) {
          graph.tensor(node.inputs[i]).kind = TensorKind::kBuffer;
        }
      }
    }
  }
}

}  // namespace

std::vector<int64_t> parse_dims(const std::string& text) {
  std::vector<int64_t> dims;
  std::string token;
  auto flush = [&] {
    if (token.empty()) throw Error(fmt::format("'{}' is not a shape; write it like 1x3x224x224", text));
    size_t used = 0;
    int64_t value = 0;
    try {
      value = std::stoll(token, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != token.size() || value < 1) {
      throw Error(fmt::format("'{}' is not a shape: '{}' is not a positive integer", text, token));
    }
    dims.push_back(value);
    token.clear();
  };
  for (char c : text) {
    if (c == 'x' || c == 'X' || c == ',') {
      flush();
    } else if (c != ' ' && c != '[' && c != ']') {
      token += c;
    }
  }
  flush();
  return dims;
}

Graph import_onnx(const std::string& path, const ImportOptions& options) {
  validate_options(options);
  onnx::ModelProto model = read_model(path);
  auto* graph_proto = model.mutable_graph();
  if (graph_proto->node_size() == 0) throw Error(fmt::format("'{}': the ONNX graph has no nodes", path));

  std::set<std::string> initializer_names;
  for (const auto& init : graph_proto->initializer()) initializer_names.insert(init.name());
  for (const auto& [name, dims] : options.input_shapes) {
    bool found = false;
    for (const auto& input : graph_proto->input()) found |= input.name() == name;
    if (!found) throw Error(fmt::format("--input {}: the model has no input named '{}'", name, name));
  }
  const int64_t batch = options.batch.value_or(1);
  for (auto& input : *graph_proto->mutable_input()) {
    if (!initializer_names.count(input.name())) bind_input(input, options, batch);
  }

  drop_weight_payloads(*graph_proto);
  try {
    infer_shapes_with_folding(model);
  } catch (const Error& e) {
    throw Error(fmt::format("'{}': {}", path, e.what()));
  }

  Graph graph = GraphBuilder(model.graph()).build();
  graph.opset_version = default_opset(model);
  graph.link();
  const auto order = graph.topological_order();
  for (TensorId in : graph.inputs) {
    const Tensor& t = graph.tensor(in);
    if (!t.shape_known) {
      throw Error(fmt::format("input '{}' has no complete shape; give it with --input {}=DIMS", t.name, t.name));
    }
  }
  for (const Node& node : graph.nodes) {
    for (TensorId in : node.inputs) {
      if (in != kNoTensor && graph.tensor(in).producer == kNoNode && graph.tensor(in).kind == TensorKind::kActivation) {
        throw Error(fmt::format("'{}': node '{}' ({}) reads tensor '{}', which no node, input or initializer defines",
                                path, node.name, node.op_type, graph.tensor(in).name));
      }
    }
  }
  mark_weight_roles(graph, order);
  return graph;
}

}  // namespace perfcast::graph
