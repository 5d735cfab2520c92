#include "learn/graph_features.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "common/error.h"
#include "graph/op_cost.h"

namespace perfcast::learn {
namespace {

// Every operator with a cost rule in src/graph/op_cost_{linear,pointwise,movement}.cpp, in the
// order of those files. Appending is safe for new models; reordering breaks saved ones.
const std::vector<std::string> kVocabulary = {
    // linear
    "Conv", "ConvInteger", "QLinearConv", "ConvTranspose", "Gemm", "MatMul", "MatMulInteger", "QLinearMatMul",
    "Einsum",
    // unary elementwise
    "Relu", "LeakyRelu", "PRelu", "Elu", "Selu", "Celu", "Gelu", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh",
    "Erf", "Exp", "Log", "Sqrt", "Reciprocal", "Neg", "Abs", "Floor", "Ceil", "Round", "Sign", "Sin", "Cos",
    "Softplus", "Softsign", "Mish", "Clip", "Not", "IsNaN", "IsInf", "ThresholdedRelu", "Shrink", "Asin", "Acos",
    "Atan", "Cast", "CastLike",
    // binary elementwise
    "Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Mean", "Sum", "Mod", "Equal", "Less", "Greater",
    "LessOrEqual", "GreaterOrEqual", "And", "Or", "Xor", "BitShift",
    // normalisation, softmax, pooling, reductions
    "BatchNormalization", "LayerNormalization", "InstanceNormalization", "GroupNormalization",
    "MeanVarianceNormalization", "SimplifiedLayerNormalization", "LpNormalization", "Softmax", "LogSoftmax",
    "Hardmax", "MaxPool", "AveragePool", "LpPool", "MaxRoiPool", "GlobalAveragePool", "GlobalMaxPool",
    "GlobalLpPool", "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
    "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare", "ArgMax", "ArgMin", "CumSum", "Resize", "Upsample",
    "TopK",
    // movement and views
    "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Dropout", "Transpose", "Concat", "Where", "Split",
    "Expand", "Tile", "Pad", "DepthToSpace", "SpaceToDepth", "ScatterND", "ScatterElements", "Scatter", "Trilu",
    "ReverseSequence", "Compress", "ConstantOfShape", "Range", "NonZero", "OneHot", "EyeLike",
    "SequenceConstruct", "SplitToSequence", "ConcatFromSequence", "Gather", "GatherElements", "GatherND", "Slice",
    "Shape", "Size", "Constant"};

const std::vector<std::string> kNodeNumeric = {
    "kernel_h",          "kernel_w",           "stride_h",          "stride_w",
    "pad_h",             "pad_w",              "dilation",          "log2_groups",
    "has_bias",          "log1p_in_channels",  "log1p_out_channels", "log1p_input_elements",
    "log1p_output_elements", "log1p_macs",     "log1p_flops",       "log1p_params",
    "log1p_bytes_read",  "log1p_bytes_written", "log1p_flops_per_byte", "cost_known"};

const std::vector<std::string> kGraphStatic = {
    "log1p_batch",           "log1p_nodes",          "log1p_edges",      "log1p_macs",
    "log1p_flops",           "log1p_params",         "log1p_weight_bytes", "log1p_activation_bytes",
    "log1p_peak_activation_bytes", "log1p_bytes_moved"};
constexpr size_t kStaticFlops = 4;
constexpr size_t kStaticBytesMoved = 9;

const std::vector<std::string> kDeviceStatic = {
    "is_gpu",           "ln_peak_fp32_tflops", "ln_peak_fp16_tflops", "ln_bandwidth_gb_s", "ln_memory_gib",
    "ln_sm_count",      "ln_l2_mib",           "ln_tdp_w",            "ln_boost_clock_mhz", "ln_ridge_flop_per_byte",
    "ln_roof_compute_ms", "ln_roof_memory_ms", "ln_roof_ms"};

float l1p(double x) { return static_cast<float>(std::log1p(std::max(x, 0.0))); }
float ln_pos(double x) { return static_cast<float>(std::log(std::max(x, 1e-9))); }

bool is_conv_or_pool(const std::string& op) {
  return op == "Conv" || op == "ConvTranspose" || op == "ConvInteger" || op == "QLinearConv" || op == "MaxPool" ||
         op == "AveragePool" || op == "LpPool";
}

int64_t channels(const graph::Tensor& t) {
  if (!t.shape_known || t.shape.empty()) return 0;
  const int64_t c = t.shape.size() >= 3 ? t.shape[1] : t.shape.back();
  return std::max<int64_t>(c, 0);
}

void node_numeric(const graph::Graph& g, const graph::Node& n, const graph::OpCost& cost, float* out) {
  const std::string& op = n.op_type;
  const bool spatial = n.domain.empty() && is_conv_or_pool(op);
  std::vector<int64_t> kernel = n.attr_ints("kernel_shape");
  const bool conv = op == "Conv" || op == "ConvTranspose" || op == "ConvInteger";
  if (kernel.empty() && conv && n.inputs.size() > 1 && n.inputs[1] != graph::kNoTensor) {
    const graph::Tensor& w = g.tensor(n.inputs[1]);
    if (w.shape_known && w.shape.size() > 2) kernel.assign(w.shape.begin() + 2, w.shape.end());
  }
  const auto at = [](const std::vector<int64_t>& v, size_t i, double fallback) {
    return i < v.size() ? static_cast<double>(v[i]) : fallback;
  };
  const std::vector<int64_t> strides = n.attr_ints("strides");
  const std::vector<int64_t> pads = n.attr_ints("pads");
  const std::vector<int64_t> dilations = n.attr_ints("dilations");
  const double unit = spatial ? 1.0 : 0.0;
  out[0] = static_cast<float>(at(kernel, 0, 0));
  out[1] = static_cast<float>(at(kernel, 1, kernel.size() == 1 ? at(kernel, 0, 0) : 0));
  out[2] = static_cast<float>(at(strides, 0, unit));
  out[3] = static_cast<float>(at(strides, 1, strides.size() == 1 ? at(strides, 0, unit) : unit));
  const size_t half = pads.size() / 2;
  out[4] = static_cast<float>(half >= 1 ? pads[0] + pads[half] : 0);
  out[5] = static_cast<float>(half >= 2 ? pads[1] + pads[half + 1] : 0);
  double dil = dilations.empty() ? unit : 0;
  for (int64_t d : dilations) dil = std::max(dil, static_cast<double>(d));
  out[6] = static_cast<float>(dil);
  const int64_t groups = (op == "Conv" || op == "ConvTranspose") ? n.attr_int("group", 1) : 1;
  out[7] = static_cast<float>(std::log2(static_cast<double>(std::max<int64_t>(groups, 1))));
  const bool biased = (conv || op == "Gemm") && n.inputs.size() > 2 && n.inputs[2] != graph::kNoTensor;
  out[8] = biased ? 1.f : 0.f;

  double in_elements = 0, params = 0;
  int64_t in_channels = 0;
  bool first_activation = true;
  for (graph::TensorId id : n.inputs) {
    if (id == graph::kNoTensor) continue;
    const graph::Tensor& t = g.tensor(id);
    const int64_t count = std::max<int64_t>(t.element_count(), 0);
    if (t.kind == graph::TensorKind::kParameter || t.kind == graph::TensorKind::kBuffer) {
      params += static_cast<double>(count);
    } else if (t.kind != graph::TensorKind::kConstant) {
      in_elements += static_cast<double>(count);
      if (first_activation) in_channels = channels(t);
      first_activation = false;
    }
  }
  double out_elements = 0;
  int64_t out_channels = 0;
  for (size_t i = 0; i < n.outputs.size(); ++i) {
    if (n.outputs[i] == graph::kNoTensor) continue;
    const graph::Tensor& t = g.tensor(n.outputs[i]);
    out_elements += static_cast<double>(std::max<int64_t>(t.element_count(), 0));
    if (i == 0) out_channels = channels(t);
  }
  out[9] = l1p(static_cast<double>(in_channels));
  out[10] = l1p(static_cast<double>(out_channels));
  out[11] = l1p(in_elements);
  out[12] = l1p(out_elements);
  out[13] = l1p(cost.macs);
  out[14] = l1p(cost.flops);
  out[15] = l1p(params);
  out[16] = l1p(static_cast<double>(cost.bytes_read));
  out[17] = l1p(static_cast<double>(cost.bytes_written));
  const double bytes = static_cast<double>(cost.bytes_read + cost.bytes_written);
  out[18] = l1p(bytes > 0 ? cost.flops / bytes : 0.0);
  out[19] = cost.status == graph::CostStatus::kCosted ? 1.f : 0.f;
}

}  // namespace

const std::vector<std::string>& op_vocabulary() { return kVocabulary; }

int64_t op_slot(const std::string& op_type, const std::string& domain) {
  static const std::unordered_map<std::string, int64_t> index = [] {
    std::unordered_map<std::string, int64_t> m;
    for (size_t i = 0; i < kVocabulary.size(); ++i) m.emplace(kVocabulary[i], static_cast<int64_t>(i));
    return m;
  }();
  if (!domain.empty() && domain != "ai.onnx") return static_cast<int64_t>(kVocabulary.size());
  auto it = index.find(op_type);
  return it == index.end() ? static_cast<int64_t>(kVocabulary.size()) : it->second;
}

const std::vector<std::string>& node_feature_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const auto& op : kVocabulary) v.push_back("op=" + op);
    v.push_back("op=other");
    v.insert(v.end(), kNodeNumeric.begin(), kNodeNumeric.end());
    return v;
  }();
  return names;
}

const std::vector<std::string>& static_feature_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v = kGraphStatic;
    v.insert(v.end(), kDeviceStatic.begin(), kDeviceStatic.end());
    return v;
  }();
  return names;
}

GraphSample make_graph_part(const graph::Graph& g, const graph::GraphSummary& summary, int64_t batch) {
  if (summary.node_costs.size() != g.nodes.size())
    throw Error(fmt::format("graph summary has {} node costs for a graph of {} nodes; summarize this graph first",
                            summary.node_costs.size(), g.nodes.size()));
  GraphSample s;
  const size_t one_hot = kVocabulary.size() + 1;
  const size_t dim = one_hot + kNodeNumeric.size();
  s.num_nodes = static_cast<int64_t>(g.nodes.size());
  s.node_feature_dim = static_cast<int64_t>(dim);
  s.node_features.assign(g.nodes.size() * dim, 0.f);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const graph::Node& n = g.nodes[i];
    float* row = s.node_features.data() + i * dim;
    row[op_slot(n.op_type, n.domain)] = 1.f;
    node_numeric(g, n, summary.node_costs[i], row + one_hot);
  }
  const auto edges = g.edges();
  s.edges.reserve(edges.size());
  for (const auto& e : edges) s.edges.emplace_back(e.from, e.to);

  s.static_features = {l1p(static_cast<double>(batch)),
                       l1p(static_cast<double>(summary.nodes)),
                       l1p(static_cast<double>(summary.edges)),
                       l1p(summary.macs),
                       l1p(summary.flops),
                       l1p(static_cast<double>(summary.params)),
                       l1p(static_cast<double>(summary.param_bytes)),
                       l1p(static_cast<double>(summary.activation_bytes)),
                       l1p(static_cast<double>(summary.peak_activation_bytes)),
                       l1p(static_cast<double>(summary.bytes_read + summary.bytes_written))};
  return s;
}

void append_device_features(GraphSample& s, const hardware::Device& d) {
  if (s.static_features.size() != kGraphStatic.size())
    throw Error(fmt::format("append_device_features: the sample has {} static features, expected the {} "
                            "graph-level ones of make_graph_part (device features already appended?)",
                            s.static_features.size(), kGraphStatic.size()));
  const double fp32 = d.peak_flops(hardware::Precision::kFp32);
  const double fp16 = d.supports(hardware::Precision::kFp16) ? d.peak_flops(hardware::Precision::kFp16) : fp32;
  const double bw = d.bandwidth_bytes_per_s();
  const double flops = std::expm1(static_cast<double>(s.static_features[kStaticFlops]));
  const double bytes = std::expm1(static_cast<double>(s.static_features[kStaticBytesMoved]));
  const double compute_ms = flops / fp32 * 1e3;
  const double memory_ms = bw > 0 ? bytes / bw * 1e3 : 0.0;
  const float values[] = {d.kind == "gpu" ? 1.f : 0.f,
                          ln_pos(fp32 / 1e12),
                          ln_pos(fp16 / 1e12),
                          ln_pos(d.memory_bandwidth_gb_s),
                          ln_pos(d.memory_gib),
                          ln_pos(static_cast<double>(d.sm_count)),
                          ln_pos(d.l2_cache_mib),
                          ln_pos(d.tdp_w),
                          ln_pos(d.boost_clock_mhz),
                          ln_pos(bw > 0 ? fp32 / bw : 0.0),
                          ln_pos(compute_ms),
                          ln_pos(memory_ms),
                          ln_pos(std::max(compute_ms, memory_ms))};
  s.static_features.insert(s.static_features.end(), std::begin(values), std::end(values));
  s.device_id = d.id;
}

GraphSample make_graph_sample(const graph::Graph& g, const graph::GraphSummary& summary,
                              const hardware::Device& device, int64_t batch) {
  GraphSample s = make_graph_part(g, summary, batch);
  append_device_features(s, device);
  return s;
}

GraphSample make_graph_sample(const graph::Graph& g, const hardware::Device& device, int64_t batch) {
  return make_graph_sample(g, graph::summarize(g), device, batch);
}

double naive_roofline_ms(const GraphSample& sample) {
  const auto& names = static_feature_names();
  const size_t roof = static_cast<size_t>(std::find(names.begin(), names.end(), "ln_roof_ms") - names.begin());
  if (sample.static_features.size() != names.size())
    throw Error(fmt::format("graph sample has {} static features, {} with the device's; no roofline prior",
                            sample.static_features.size(), names.size()));
  return std::exp(static_cast<double>(sample.static_features[roof]));
}

}  // namespace perfcast::learn
