#include "dataset/nasbench201_network.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <unordered_map>
#include <vector>

#include "common/error.h"
#include "common/suggest.h"

namespace perfcast::dataset {
namespace {

using graph::Attribute;
using graph::DType;
using graph::Graph;
using graph::TensorId;
using graph::TensorKind;
using Shape = std::vector<int64_t>;

const std::vector<std::string> kOpNames = {"none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"};

// Index into NasBench201Cell::edges of the edge from -> to.
int edge_index(int from, int to) { return to * (to - 1) / 2 + from; }

Attribute ints(Shape v) {
  Attribute a;
  a.ints = std::move(v);
  return a;
}
Attribute integer(int64_t v) {
  Attribute a;
  a.i = v;
  return a;
}
Attribute real(double v) {
  Attribute a;
  a.f = v;
  return a;
}

class Builder {
 public:
  Builder(int64_t batch, bool as_exported) : b_(batch), merge_common_(as_exported), drop_dead_(as_exported) {
    g_.opset_version = 17;
  }

  TensorId tensor(const std::string& name, Shape shape, TensorKind kind) {
    graph::Tensor t;
    t.name = name;
    t.shape = std::move(shape);
    t.shape_known = true;
    t.dtype = DType::kFloat32;
    t.kind = kind;
    return g_.add_tensor(std::move(t));
  }
  // With merge_common set, an op equal to one already built (same type, inputs and attributes)
  // returns that one's output instead, as torch's exporter (common subexpression elimination) does.
  TensorId op(const std::string& type, const std::string& name, std::vector<TensorId> inputs, Shape out,
              std::map<std::string, Attribute> attrs = {}) {
    // Ops reading a weight (Conv, BN, Gemm) never repeat: each has its own weights.
    const bool mergeable = merge_common_ && (type == "Relu" || type == "AveragePool" || type == "Add" || type == "Mul");
    std::string key;
    if (mergeable) {
      key = type;
      for (TensorId in : inputs) (key += ',') += std::to_string(in);
      for (const auto& [k, a] : attrs) {
        (key += ';') += k;
        if (a.i) (key += '=') += std::to_string(*a.i);
        for (int64_t v : a.ints) (key += '.') += std::to_string(v);
      }
      if (auto it = built_.find(key); it != built_.end()) return it->second;
    }
    const TensorId y = tensor(name, std::move(out), TensorKind::kActivation);
    if (mergeable) built_.emplace(std::move(key), y);
    graph::Node n;
    n.name = name;
    n.op_type = type;
    n.inputs = std::move(inputs);
    n.outputs = {y};
    n.attributes = std::move(attrs);
    g_.nodes.push_back(std::move(n));
    return y;
  }
  const Shape& shape(TensorId id) const { return g_.tensor(id).shape; }

  TensorId input(int64_t size) {
    const TensorId x = tensor("input", {b_, 3, size, size}, TensorKind::kInput);
    g_.inputs.push_back(x);
    return x;
  }
  TensorId conv(const std::string& name, TensorId x, int64_t out_channels, int64_t k, int64_t stride) {
    const Shape s = shape(x);  // a copy: adding tensors may move the vector
    const int64_t pad = k / 2;
    const int64_t h = (s[2] + 2 * pad - k) / stride + 1, w = (s[3] + 2 * pad - k) / stride + 1;
    const TensorId weight = tensor(name + ".weight", {out_channels, s[1], k, k}, TensorKind::kParameter);
    return op("Conv", name, {x, weight}, {s[0], out_channels, h, w},
              {{"dilations", ints({1, 1})}, {"group", integer(1)}, {"kernel_shape", ints({k, k})},
               {"pads", ints({pad, pad, pad, pad})}, {"strides", ints({stride, stride})}});
  }
  TensorId batch_norm(const std::string& name, TensorId x) {
    const int64_t c = shape(x)[1];
    return op("BatchNormalization", name,
              {x, tensor(name + ".weight", {c}, TensorKind::kParameter), tensor(name + ".bias", {c}, TensorKind::kParameter),
               tensor(name + ".running_mean", {c}, TensorKind::kBuffer),
               tensor(name + ".running_var", {c}, TensorKind::kBuffer)},
              shape(x), {{"epsilon", real(1e-5)}, {"momentum", real(0.9)}});
  }
  TensorId relu(const std::string& name, TensorId x) { return op("Relu", name, {x}, shape(x)); }
  TensorId relu_conv_bn(const std::string& name, TensorId x, int64_t out_channels, int64_t k, int64_t stride) {
    const TensorId r = relu(name + ".relu", x);
    return batch_norm(name + ".bn", conv(name + ".conv", r, out_channels, k, stride));
  }
  TensorId avg_pool(const std::string& name, TensorId x, int64_t k, int64_t stride, int64_t pad,
                    bool count_include_pad) {
    const Shape s = shape(x);  // a copy: adding tensors may move the vector
    const int64_t h = (s[2] + 2 * pad - k) / stride + 1, w = (s[3] + 2 * pad - k) / stride + 1;
    return op("AveragePool", name, {x}, {s[0], s[1], h, w},
              {{"ceil_mode", integer(0)}, {"count_include_pad", integer(count_include_pad ? 1 : 0)},
               {"kernel_shape", ints({k, k})}, {"pads", ints({pad, pad, pad, pad})}, {"strides", ints({stride, stride})}});
  }
  TensorId add(const std::string& name, TensorId a, TensorId b) { return op("Add", name, {a, b}, shape(a)); }
  TensorId zero_like(const std::string& name, TensorId x) {
    if (zero_ == graph::kNoTensor || !merge_common_) zero_ = tensor(name + ".zero", {}, TensorKind::kConstant);
    return op("Mul", name, {x, zero_}, shape(x));
  }

  TensorId cell(const std::string& name, TensorId x, const NasBench201Cell& c) {
    // Liveness: node 3 is the output; a node is built only when a live node reads it.
    std::array<bool, 4> live{false, false, false, true};
    if (!drop_dead_) live = {true, true, true, true};
    for (int j = 3; j >= 1; --j) {
      if (!live[j]) continue;
      for (int i = 0; i < j; ++i)
        if (c.op(i, j) != Nb201Op::kNone) live[i] = true;
    }
    std::array<TensorId, 4> node{x, graph::kNoTensor, graph::kNoTensor, graph::kNoTensor};
    const int64_t channels = shape(x)[1];
    for (int j = 1; j <= 3; ++j) {
      if (!live[j]) continue;
      TensorId sum = graph::kNoTensor;
      for (int i = 0; i < j; ++i) {
        const std::string edge = fmt::format("{}.edge{}to{}", name, i, j);
        TensorId term = graph::kNoTensor;
        switch (c.op(i, j)) {
          case Nb201Op::kNone: continue;
          case Nb201Op::kSkipConnect: term = node[i]; break;
          case Nb201Op::kConv1x1: term = relu_conv_bn(edge, node[i], channels, 1, 1); break;
          case Nb201Op::kConv3x3: term = relu_conv_bn(edge, node[i], channels, 3, 1); break;
          case Nb201Op::kAvgPool3x3: term = avg_pool(edge + ".pool", node[i], 3, 1, 1, false); break;
        }
        sum = sum == graph::kNoTensor ? term : add(fmt::format("{}.node{}.add{}", name, j, i), sum, term);
      }
      node[j] = sum != graph::kNoTensor ? sum : zero_like(fmt::format("{}.node{}.zero", name, j), x);
    }
    return node[3];
  }

  TensorId reduction(const std::string& name, TensorId x, int64_t out_channels) {
    const TensorId a = relu_conv_bn(name + ".conv_a", x, out_channels, 3, 2);
    const TensorId b = relu_conv_bn(name + ".conv_b", a, out_channels, 3, 1);
    const TensorId pooled = avg_pool(name + ".downsample.pool", x, 2, 2, 0, true);
    const TensorId shortcut = conv(name + ".downsample.conv", pooled, out_channels, 1, 1);
    return add(name + ".add", shortcut, b);
  }

  TensorId head(TensorId x, int64_t classes) {
    const TensorId act = relu("lastact.relu", batch_norm("lastact.bn", x));
    const Shape s = shape(act);
    const TensorId pooled = op("GlobalAveragePool", "global_pooling", {act}, {s[0], s[1], 1, 1});
    const TensorId flat = op("Flatten", "flatten", {pooled}, {s[0], s[1]}, {{"axis", integer(1)}});
    const TensorId w = tensor("classifier.weight", {classes, s[1]}, TensorKind::kParameter);
    const TensorId bias = tensor("classifier.bias", {classes}, TensorKind::kParameter);
    return op("Gemm", "classifier", {flat, w, bias}, {s[0], classes},
              {{"alpha", real(1.0)}, {"beta", real(1.0)}, {"transB", integer(1)}});
  }

  Graph finish(TensorId output) {
    g_.outputs.push_back(output);
    g_.link();
    return std::move(g_);
  }

 private:
  Graph g_;
  int64_t b_;
  bool merge_common_;
  bool drop_dead_;
  TensorId zero_ = graph::kNoTensor;  // the scalar 0 of every Mul(x, 0)
  std::unordered_map<std::string, TensorId> built_;
};

}  // namespace

std::string nb201_op_name(Nb201Op op) { return kOpNames.at(static_cast<size_t>(op)); }

Nb201Op NasBench201Cell::op(int from, int to) const {
  if (from < 0 || to > 3 || from >= to) throw Error(fmt::format("NAS-Bench-201 cell has no edge {} -> {}", from, to));
  return edges[static_cast<size_t>(edge_index(from, to))];
}

std::string NasBench201Cell::str() const {
  std::string s;
  for (int to = 1; to <= 3; ++to) {
    if (to > 1) s += "+";
    s += "|";
    for (int from = 0; from < to; ++from) s += fmt::format("{}~{}|", nb201_op_name(op(from, to)), from);
  }
  return s;
}

NasBench201Cell parse_nasbench201_arch(const std::string& arch) {
  const auto fail = [&](const std::string& why) {
    return Error(fmt::format("bad NAS-Bench-201 architecture '{}': {} (expected the form "
                             "'|op~0|+|op~0|op~1|+|op~0|op~1|op~2|' with op one of none, skip_connect, "
                             "nor_conv_1x1, nor_conv_3x3, avg_pool_3x3)",
                             arch, why));
  };
  if (arch.empty()) throw fail("the string is empty");
  std::vector<std::string> groups;
  size_t start = 0;
  while (true) {
    const size_t plus = arch.find('+', start);
    groups.push_back(arch.substr(start, plus == std::string::npos ? std::string::npos : plus - start));
    if (plus == std::string::npos) break;
    start = plus + 1;
  }
  if (groups.size() != 3) throw fail(fmt::format("it has {} node groups separated by '+', a cell has 3", groups.size()));
  NasBench201Cell cell;
  for (int to = 1; to <= 3; ++to) {
    const std::string& group = groups[static_cast<size_t>(to - 1)];
    if (group.size() < 2 || group.front() != '|' || group.back() != '|')
      throw fail(fmt::format("node {} '{}' must start and end with '|'", to, group));
    std::vector<std::string> items;
    size_t pos = 1;
    while (pos < group.size()) {
      const size_t bar = group.find('|', pos);
      items.push_back(group.substr(pos, bar - pos));
      pos = bar + 1;
    }
    if (static_cast<int>(items.size()) != to)
      throw fail(fmt::format("node {} has {} input edge(s), it must have {}", to, items.size(), to));
    std::array<bool, 3> seen{};
    for (const std::string& item : items) {
      const size_t tilde = item.find('~');
      if (tilde == std::string::npos) throw fail(fmt::format("edge '{}' of node {} has no '~input'", item, to));
      const std::string name = item.substr(0, tilde), index = item.substr(tilde + 1);
      if (index.size() != 1 || index[0] < '0' || index[0] >= '0' + to)
        throw fail(fmt::format("edge '{}' of node {} reads node '{}'; node {} can read nodes 0 to {}", item, to, index,
                               to, to - 1));
      const int from = index[0] - '0';
      if (seen[static_cast<size_t>(from)]) throw fail(fmt::format("node {} reads node {} twice", to, from));
      seen[static_cast<size_t>(from)] = true;
      size_t op = 0;
      while (op < kOpNames.size() && kOpNames[op] != name) ++op;
      if (op == kOpNames.size()) {
        const auto close = close_matches(name, kOpNames, 2);
        throw fail(fmt::format("unknown op '{}'{}", name,
                               close.empty() ? "" : fmt::format("; did you mean {}?", fmt::join(close, " or "))));
      }
      cell.edges[static_cast<size_t>(edge_index(from, to))] = static_cast<Nb201Op>(op);
    }
  }
  return cell;
}

graph::Graph build_nasbench201_network(const NasBench201Cell& cell, const NasBench201NetworkOptions& o) {
  if (o.batch < 1 || o.channels < 1 || o.cells_per_stage < 0 || o.num_classes < 1)
    throw Error(fmt::format("NAS-Bench-201 network: batch ({}), channels ({}) and classes ({}) must be at least 1 "
                            "and cells per stage ({}) at least 0",
                            o.batch, o.channels, o.num_classes, o.cells_per_stage));
  if (o.image_size < 4)
    throw Error(fmt::format("NAS-Bench-201 network: image size {} is too small for two stride-2 reductions (at least 4)",
                            o.image_size));
  Builder b(o.batch, o.as_exported);
  TensorId x = b.input(o.image_size);
  x = b.batch_norm("stem.bn", b.conv("stem.conv", x, o.channels, 3, 1));
  int index = 0;
  for (int stage = 0; stage < 3; ++stage) {
    const int64_t channels = o.channels << stage;
    if (stage > 0) x = b.reduction(fmt::format("cells.{}", index++), x, channels);
    for (int64_t n = 0; n < o.cells_per_stage; ++n) x = b.cell(fmt::format("cells.{}", index++), x, cell);
  }
  Graph g = b.finish(b.head(x, o.num_classes));
  g.name = "nasbench201:" + cell.str();
  return g;
}

graph::Graph build_nasbench201_network(const std::string& arch, int64_t batch) {
  NasBench201NetworkOptions o;
  o.batch = batch;
  return build_nasbench201_network(parse_nasbench201_arch(arch), o);
}

}  // namespace perfcast::dataset
