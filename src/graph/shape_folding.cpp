#include "graph/shape_folding.h"

#include <fmt/format.h>
#include <onnx/shape_inference/implementation.h>

#include <cstring>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "common/error.h"
#include "graph/einsum_equation.h"

namespace perfcast::graph {
namespace {

// A small integer tensor: row-major data and its dimensions.
struct Values {
  std::vector<int64_t> data;
  std::vector<int64_t> dims;

  Values() = default;
  Values(std::vector<int64_t> d) : data(std::move(d)), dims{static_cast<int64_t>(data.size())} {}  // NOLINT: 1-D
  Values(std::vector<int64_t> d, std::vector<int64_t> shape) : data(std::move(d)), dims(std::move(shape)) {}
  size_t size() const { return data.size(); }
  int64_t operator[](size_t i) const { return data[i]; }
};

std::vector<int64_t> strides_of(const std::vector<int64_t>& dims) {
  std::vector<int64_t> strides(dims.size(), 1);
  for (size_t i = dims.size(); i-- > 1;) strides[i - 1] = strides[i] * dims[i];
  return strides;
}

std::optional<Values> transpose(const Values& a, std::vector<int64_t> perm) {
  const size_t rank = a.dims.size();
  if (perm.empty())
    for (size_t i = rank; i-- > 0;) perm.push_back(static_cast<int64_t>(i));
  if (perm.size() != rank) return std::nullopt;
  std::vector<int64_t> out_dims(rank);
  for (size_t i = 0; i < rank; ++i) out_dims[i] = a.dims[static_cast<size_t>(perm[i])];
  const auto in_strides = strides_of(a.dims);
  const auto out_strides = strides_of(out_dims);
  std::vector<int64_t> out(a.size());
  for (size_t flat = 0; flat < out.size(); ++flat) {
    int64_t rest = static_cast<int64_t>(flat), src = 0;
    for (size_t i = 0; i < rank; ++i) {
      const int64_t idx = rest / out_strides[i];
      rest %= out_strides[i];
      src += idx * in_strides[static_cast<size_t>(perm[i])];
    }
    out[flat] = a.data[static_cast<size_t>(src)];
  }
  return Values(std::move(out), std::move(out_dims));
}
constexpr size_t kMaxFoldedElements = 64;
constexpr int kMaxRounds = 64;  // each round unlocks at least one more stage; stops when nothing folds

struct KnownTensor {
  std::vector<int64_t> dims;  // -1 for an unknown dimension
  bool rank_known = false;
};

std::optional<Values> proto_int_values(const onnx::TensorProto& t) {
  size_t count = 1;
  for (int64_t d : t.dims()) count *= static_cast<size_t>(d);
  if (count > kMaxFoldedElements) return std::nullopt;
  std::vector<int64_t> v;
  if (t.data_type() == onnx::TensorProto::INT64) {
    if (t.int64_data_size() > 0) v.assign(t.int64_data().begin(), t.int64_data().end());
    else if (t.raw_data().size() == count * 8) {
      v.resize(count);
      std::memcpy(v.data(), t.raw_data().data(), count * 8);
    }
  } else if (t.data_type() == onnx::TensorProto::INT32) {
    if (t.int32_data_size() > 0) v.assign(t.int32_data().begin(), t.int32_data().end());
    else if (t.raw_data().size() == count * 4) {
      std::vector<int32_t> raw(count);
      std::memcpy(raw.data(), t.raw_data().data(), count * 4);
      v.assign(raw.begin(), raw.end());
    }
  }
  if (v.size() != count) return std::nullopt;
  return Values(std::move(v), std::vector<int64_t>(t.dims().begin(), t.dims().end()));
}

int64_t attr_i(const onnx::NodeProto& n, const char* name, int64_t fallback) {
  for (const auto& a : n.attribute())
    if (a.name() == name) return a.i();
  return fallback;
}

const onnx::AttributeProto* attr(const onnx::NodeProto& n, const char* name) {
  for (const auto& a : n.attribute())
    if (a.name() == name) return &a;
  return nullptr;
}

int64_t normalize_index(int64_t i, int64_t size) { return i < 0 ? i + size : i; }

// Elementwise integer op with scalar broadcasting.
std::optional<Values> binary(const Values& a, const Values& b, int64_t (*op)(int64_t, int64_t)) {
  if (a.size() != b.size() && a.size() != 1 && b.size() != 1) return std::nullopt;
  const size_t n = std::max(a.size(), b.size());
  std::vector<int64_t> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = op(a[a.size() == 1 ? 0 : i], b[b.size() == 1 ? 0 : i]);
  return Values(std::move(out), a.size() >= b.size() ? a.dims : b.dims);
}

class Folder {
 public:
  explicit Folder(onnx::GraphProto& graph) : graph_(graph) {}

  // One pass: compute integer values where possible; substitute them into shape-consuming
  // inputs of nodes whose outputs still lack a shape. Returns how many inputs were replaced.
  int fold_round() {
    collect_shapes();
    values_.clear();
    for (const auto& init : graph_.initializer())
      if (auto v = proto_int_values(init)) values_[init.name()] = *v;
    for (const auto& node : graph_.node()) evaluate(node);

    std::unordered_set<std::string> produced_by_node;
    for (const auto& node : graph_.node())
      for (const auto& out : node.output()) produced_by_node.insert(out);

    int replaced = 0;
    for (auto& node : *graph_.mutable_node()) {
      if (node.output_size() == 0 || shape_known(node.output(0))) continue;
      if (node.op_type() == "Einsum" && infer_einsum(node)) {
        ++replaced;
        continue;
      }
      for (int i = 0; i < node.input_size(); ++i) {
        const std::string& in = node.input(i);
        if (in.empty() || !produced_by_node.count(in)) continue;
        auto v = values_.find(in);
        if (v == values_.end()) continue;
        const std::string folded = in + "__perfcast_folded";
        if (!added_.count(folded)) {
          auto* init = graph_.add_initializer();
          init->set_name(folded);
          init->set_data_type(onnx::TensorProto::INT64);
          for (int64_t d : v->second.dims) init->add_dims(d);
          for (int64_t x : v->second.data) init->add_int64_data(x);
          added_.insert(folded);
        }
        node.set_input(i, folded);
        ++replaced;
      }
    }
    return replaced;
  }

 private:
  bool shape_known(const std::string& name) const {
    auto it = shapes_.find(name);
    if (it == shapes_.end() || !it->second.rank_known) return false;
    for (int64_t d : it->second.dims)
      if (d < 0) return false;
    return true;
  }

  // ONNX 1.12 infers only the rank of an Einsum's output; perfcast binds the equation itself.
  bool infer_einsum(const onnx::NodeProto& node) {
    std::vector<std::vector<int64_t>> shapes;
    for (const auto& in : node.input()) {
      if (!shape_known(in)) return false;
      shapes.push_back(shapes_[in].dims);
    }
    const auto* equation = attr(node, "equation");
    if (!equation) return false;
    const auto binding = bind_einsum(equation->s(), shapes);
    if (!binding) return false;
    onnx::ValueInfoProto* info = nullptr;
    for (auto& vi : *graph_.mutable_output())
      if (vi.name() == node.output(0)) info = &vi;
    for (auto& vi : *graph_.mutable_value_info())
      if (!info && vi.name() == node.output(0)) info = &vi;
    if (!info) {
      info = graph_.add_value_info();
      info->set_name(node.output(0));
    }
    auto* tensor_type = info->mutable_type()->mutable_tensor_type();
    if (tensor_type->elem_type() == 0) tensor_type->set_elem_type(elem_type_of(node.input(0)));
    tensor_type->clear_shape();
    auto* shape = tensor_type->mutable_shape();
    for (int64_t d : binding->output_shape) shape->add_dim()->set_dim_value(d);
    return true;
  }

  int32_t elem_type_of(const std::string& name) const {
    auto it = elem_types_.find(name);
    return it == elem_types_.end() ? onnx::TensorProto::FLOAT : it->second;
  }

  void record(const onnx::ValueInfoProto& info) {
    if (info.type().has_tensor_type()) elem_types_[info.name()] = info.type().tensor_type().elem_type();
    if (!info.type().has_tensor_type() || !info.type().tensor_type().has_shape()) return;
    KnownTensor k;
    k.rank_known = true;
    for (const auto& d : info.type().tensor_type().shape().dim()) k.dims.push_back(d.has_dim_value() ? d.dim_value() : -1);
    shapes_[info.name()] = std::move(k);
  }

  void collect_shapes() {
    shapes_.clear();
    for (const auto& i : graph_.input()) record(i);
    for (const auto& i : graph_.value_info()) record(i);
    for (const auto& i : graph_.output()) record(i);
    for (const auto& init : graph_.initializer()) {
      KnownTensor k;
      k.rank_known = true;
      k.dims.assign(init.dims().begin(), init.dims().end());
      shapes_[init.name()] = std::move(k);
    }
  }

  const Values* value(const onnx::NodeProto& n, int i) const {
    if (i >= n.input_size() || n.input(i).empty()) return nullptr;
    auto it = values_.find(n.input(i));
    return it == values_.end() ? nullptr : &it->second;
  }

  void evaluate(const onnx::NodeProto& n) {
    if (n.output_size() == 0) return;
    std::optional<Values> out = compute(n);
    if (out && out->size() <= kMaxFoldedElements) values_[n.output(0)] = std::move(*out);
  }

  // N-D Slice with negative indices and steps (exporters reverse pad lists this way).
  std::optional<Values> slice(const onnx::NodeProto& n, const Values& a) const {
    const Values* starts = value(n, 1);
    const Values* ends = value(n, 2);
    const Values* axes = value(n, 3);
    const Values* steps = value(n, 4);
    if (!starts || !ends || starts->size() != ends->size()) return std::nullopt;
    const size_t rank = a.dims.size();
    std::vector<int64_t> begin(rank, 0), step(rank, 1), count(a.dims);
    for (size_t k = 0; k < starts->size(); ++k) {
      const int64_t axis = normalize_index(axes ? (*axes)[k] : static_cast<int64_t>(k), static_cast<int64_t>(rank));
      if (axis < 0 || axis >= static_cast<int64_t>(rank)) return std::nullopt;
      const auto ax = static_cast<size_t>(axis);
      const int64_t dim = a.dims[ax];
      const int64_t st = steps ? (*steps)[k] : 1;
      if (st == 0) return std::nullopt;
      int64_t b = (*starts)[k], e = (*ends)[k];
      b = b < 0 ? b + dim : b;
      e = e < 0 ? e + dim : e;
      if (st > 0) {
        b = std::clamp<int64_t>(b, 0, dim);
        e = std::clamp<int64_t>(e, 0, dim);
        count[ax] = e > b ? (e - b + st - 1) / st : 0;
      } else {
        b = std::clamp<int64_t>(b, -1, dim - 1);
        e = std::clamp<int64_t>(e, -1, dim - 1);
        count[ax] = b > e ? (b - e - st - 1) / -st : 0;
      }
      begin[ax] = b;
      step[ax] = st;
    }
    const auto in_strides = strides_of(a.dims);
    const auto out_strides = strides_of(count);
    int64_t total = 1;
    for (int64_t c : count) total *= c;
    std::vector<int64_t> out(static_cast<size_t>(total));
    for (size_t flat = 0; flat < out.size(); ++flat) {
      int64_t rest = static_cast<int64_t>(flat), src = 0;
      for (size_t i = 0; i < rank; ++i) {
        const int64_t idx = rest / out_strides[i];
        rest %= out_strides[i];
        src += (begin[i] + idx * step[i]) * in_strides[i];
      }
      out[flat] = a.data[static_cast<size_t>(src)];
    }
    return Values(std::move(out), std::move(count));
  }

  std::optional<Values> compute(const onnx::NodeProto& n) {
    const std::string& op = n.op_type();
    if (op == "Constant") {
      if (const auto* a = attr(n, "value")) return proto_int_values(a->t());
      if (const auto* a = attr(n, "value_ints")) return Values(std::vector<int64_t>(a->ints().begin(), a->ints().end()));
      if (const auto* a = attr(n, "value_int")) return Values(std::vector<int64_t>{a->i()});
      return std::nullopt;
    }
    if (op == "Shape") {
      if (!shape_known(n.input(0))) return std::nullopt;
      const auto& dims = shapes_[n.input(0)].dims;
      const auto rank = static_cast<int64_t>(dims.size());
      int64_t start = std::clamp(normalize_index(attr_i(n, "start", 0), rank), int64_t{0}, rank);
      int64_t end = std::clamp(normalize_index(attr_i(n, "end", rank), rank), int64_t{0}, rank);
      if (end < start) end = start;
      return Values(std::vector<int64_t>(dims.begin() + start, dims.begin() + end));
    }
    if (op == "Size") {
      if (!shape_known(n.input(0))) return std::nullopt;
      int64_t p = 1;
      for (int64_t d : shapes_[n.input(0)].dims) p *= d;
      return Values(std::vector<int64_t>{p}, {});
    }
    const Values* a = value(n, 0);
    if (op == "ConstantOfShape") {
      if (!a) return std::nullopt;
      int64_t count = 1;
      for (int64_t d : a->data) count *= d;
      if (count < 0 || count > static_cast<int64_t>(kMaxFoldedElements)) return std::nullopt;
      int64_t fill = 0;
      if (const auto* v = attr(n, "value")) {
        auto filled = proto_int_values(v->t());
        if (!filled || filled->size() != 1) return std::nullopt;
        fill = (*filled)[0];
      }
      return Values(std::vector<int64_t>(static_cast<size_t>(count), fill), a->data);
    }
    if (op == "Concat") {
      if (attr_i(n, "axis", 0) != 0) return std::nullopt;
      std::vector<int64_t> out;
      std::vector<int64_t> dims;
      for (int i = 0; i < n.input_size(); ++i) {
        const Values* v = value(n, i);
        if (!v) return std::nullopt;
        out.insert(out.end(), v->data.begin(), v->data.end());
        if (dims.empty()) dims = v->dims.empty() ? std::vector<int64_t>{1} : v->dims;
        else dims[0] += v->dims.empty() ? 1 : v->dims[0];
      }
      return Values(std::move(out), std::move(dims));
    }
    if (!a) return std::nullopt;
    if (op == "Identity") return *a;
    if (op == "Unsqueeze" || op == "Squeeze" || op == "Flatten") {
      auto it = shapes_.find(n.output(0));
      if (it != shapes_.end() && shape_known(n.output(0))) return Values(a->data, it->second.dims);
      return op == "Squeeze" && a->size() == 1 ? Values(a->data, {}) : Values(a->data);
    }
    if (op == "Reshape") {
      const Values* target = value(n, 1);
      if (!target) return std::nullopt;
      std::vector<int64_t> dims = target->data;
      int64_t known = 1, infer = -1;
      for (size_t i = 0; i < dims.size(); ++i) {
        if (dims[i] == 0 && i < a->dims.size()) dims[i] = a->dims[i];
        if (dims[i] == -1) infer = static_cast<int64_t>(i);
        else known *= dims[i];
      }
      if (infer >= 0 && known > 0) dims[static_cast<size_t>(infer)] = static_cast<int64_t>(a->size()) / known;
      return Values(a->data, std::move(dims));
    }
    if (op == "Transpose") {
      const auto* perm = attr(n, "perm");
      return transpose(*a, perm ? std::vector<int64_t>(perm->ints().begin(), perm->ints().end()) : std::vector<int64_t>{});
    }
    if (op == "Cast") {
      const int64_t to = attr_i(n, "to", 0);
      if (to == onnx::TensorProto::INT64 || to == onnx::TensorProto::INT32) return *a;
      return std::nullopt;
    }
    if (op == "Neg") {
      Values out = *a;
      for (auto& x : out.data) x = -x;
      return out;
    }
    if (op == "ReduceProd") {
      int64_t p = 1;
      for (int64_t x : a->data) p *= x;
      return Values(std::vector<int64_t>{p}, {});
    }
    if (op == "Gather") {
      const Values* idx = value(n, 1);
      if (!idx || attr_i(n, "axis", 0) != 0) return std::nullopt;
      if (a->dims.size() > 1) return std::nullopt;
      std::vector<int64_t> out;
      for (int64_t i : idx->data) {
        const int64_t k = normalize_index(i, static_cast<int64_t>(a->size()));
        if (k < 0 || k >= static_cast<int64_t>(a->size())) return std::nullopt;
        out.push_back((*a)[static_cast<size_t>(k)]);
      }
      return Values(std::move(out), idx->dims);
    }
    if (op == "Slice") return slice(n, *a);
    if (op == "Range") {
      const Values* limit = value(n, 1);
      const Values* delta = value(n, 2);
      if (!limit || !delta || a->size() != 1 || (*delta)[0] == 0) return std::nullopt;
      std::vector<int64_t> out;
      for (int64_t x = (*a)[0]; ((*delta)[0] > 0 ? x < (*limit)[0] : x > (*limit)[0]) && out.size() <= kMaxFoldedElements;
           x += (*delta)[0]) {
        out.push_back(x);
      }
      return Values(std::move(out));
    }
    const Values* b = value(n, 1);
    if (op == "Where") {
      const Values* c = value(n, 2);
      if (!b || !c) return std::nullopt;
      const size_t size = std::max({a->size(), b->size(), c->size()});
      std::vector<int64_t> out(size);
      for (size_t i = 0; i < size; ++i) {
        const bool cond = (*a)[a->size() == 1 ? 0 : i] != 0;
        out[i] = cond ? (*b)[b->size() == 1 ? 0 : i] : (*c)[c->size() == 1 ? 0 : i];
      }
      return Values(std::move(out), a->size() == size ? a->dims : b->size() == size ? b->dims : c->dims);
    }
    if (!b) return std::nullopt;
    if (op == "Add") return binary(*a, *b, [](int64_t x, int64_t y) { return x + y; });
    if (op == "Sub") return binary(*a, *b, [](int64_t x, int64_t y) { return x - y; });
    if (op == "Mul") return binary(*a, *b, [](int64_t x, int64_t y) { return x * y; });
    if (op == "Div") {
      for (int64_t y : b->data)
        if (y == 0) return std::nullopt;
      return binary(*a, *b, [](int64_t x, int64_t y) { return x / y; });
    }
    if (op == "Mod") {
      for (int64_t y : b->data)
        if (y == 0) return std::nullopt;
      return binary(*a, *b, [](int64_t x, int64_t y) { return ((x % y) + y) % y; });
    }
    if (op == "Equal") return binary(*a, *b, [](int64_t x, int64_t y) -> int64_t { return x == y; });
    if (op == "Less") return binary(*a, *b, [](int64_t x, int64_t y) -> int64_t { return x < y; });
    if (op == "Greater") return binary(*a, *b, [](int64_t x, int64_t y) -> int64_t { return x > y; });
    if (op == "Max") return binary(*a, *b, [](int64_t x, int64_t y) { return std::max(x, y); });
    if (op == "Min") return binary(*a, *b, [](int64_t x, int64_t y) { return std::min(x, y); });
    return std::nullopt;
  }

  onnx::GraphProto& graph_;
  std::unordered_map<std::string, KnownTensor> shapes_;
  std::unordered_map<std::string, int32_t> elem_types_;
  std::unordered_map<std::string, Values> values_;
  std::unordered_set<std::string> added_;
};

void run_onnx_inference(onnx::ModelProto& model) {
  try {
    onnx::ShapeInferenceOptions options(/*check_type=*/false, /*error_mode=*/0, /*data_prop=*/true);
    onnx::shape_inference::InferShapes(model, onnx::OpSchemaRegistry::Instance(), options);
  } catch (const std::exception& e) {
    std::string reason = e.what();
    if (auto nl = reason.find('\n'); nl != std::string::npos) reason.resize(nl);
    throw Error(fmt::format("ONNX shape inference failed: {}", reason));
  }
}

bool all_shapes_known(const onnx::GraphProto& graph) {
  std::unordered_set<std::string> known;
  auto complete = [](const onnx::ValueInfoProto& info) {
    if (!info.type().has_tensor_type() || !info.type().tensor_type().has_shape()) return false;
    for (const auto& d : info.type().tensor_type().shape().dim())
      if (!d.has_dim_value()) return false;
    return true;
  };
  for (const auto& i : graph.value_info())
    if (complete(i)) known.insert(i.name());
  for (const auto& i : graph.output())
    if (complete(i)) known.insert(i.name());
  for (const auto& node : graph.node())
    for (const auto& out : node.output())
      if (!out.empty() && !known.count(out)) return false;
  return true;
}

}  // namespace

void infer_shapes_with_folding(onnx::ModelProto& model) {
  run_onnx_inference(model);
  if (all_shapes_known(model.graph())) return;

  onnx::ModelProto work = model;  // folded copy; weights were dropped by the caller, so this is cheap
  Folder folder(*work.mutable_graph());
  for (int round = 0; round < kMaxRounds; ++round) {
    if (folder.fold_round() == 0) break;
    run_onnx_inference(work);
    if (all_shapes_known(work.graph())) break;
  }
  *model.mutable_graph()->mutable_value_info() = work.graph().value_info();
  *model.mutable_graph()->mutable_output() = work.graph().output();
}

}  // namespace perfcast::graph
