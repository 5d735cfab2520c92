#include "predict/llm_layers.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <string>
#include <string_view>
#include <utility>

#include "graph/dtype.h"
#include "predict/kernel_plan.h"
#include "predict/roofline.h"

namespace perfcast::predict {
namespace {

// "layers.12.attn.q_proj" -> 12; -1 when the node is not in a decoder layer.
int64_t layer_of(std::string_view name) {
  constexpr std::string_view kPrefix = "layers.";
  if (name.substr(0, kPrefix.size()) != kPrefix) return -1;
  name.remove_prefix(kPrefix.size());
  int64_t layer = -1;
  const auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), layer);
  if (ec != std::errc() || end == name.data() + name.size() || *end != '.') return -1;
  return layer;
}

bool name_ends_with(const std::string& name, std::string_view suffix) {
  return name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

LayerPlan plan_layers(const graph::TransformerConfig& config) {
  LayerPlan plan;
  plan.reduced = config;
  if (config.kind != graph::TransformerKind::kDecoder || config.family == graph::TransformerFamily::kSwitch ||
      config.num_layers <= 1) {
    plan.repeat.assign(static_cast<size_t>(std::max<int64_t>(config.num_layers, 0)), 1);
    return plan;
  }
  std::vector<std::pair<bool, bool>> kinds;  // (sliding, moe), in order of first appearance
  for (int64_t l = 0; l < config.num_layers; ++l) {
    const std::pair<bool, bool> key{config.layer_is_sliding(l), config.layer_is_moe(l)};
    auto it = std::find(kinds.begin(), kinds.end(), key);
    if (it == kinds.end()) {
      kinds.push_back(key);
      plan.repeat.push_back(1);
    } else {
      ++plan.repeat[static_cast<size_t>(it - kinds.begin())];
    }
  }
  plan.reduced.num_layers = static_cast<int64_t>(kinds.size());
  if (config.sliding_window > 0) {
    plan.reduced.sliding_layers.clear();
    for (const auto& k : kinds) plan.reduced.sliding_layers.push_back(k.first);
  }
  if (config.num_experts > 0) {
    plan.reduced.moe_layers.clear();
    for (const auto& k : kinds) plan.reduced.moe_layers.push_back(k.second);
  }
  return plan;
}

PhaseCost cost_phase(const LayerPlan& plan, const graph::TransformerWorkload& workload, const hardware::Device& device,
                     hardware::Precision precision, const RooflineCalibration& calibration,
                     double weight_bytes_per_element, bool append_kv_in_place) {
  PhaseCost out;
  out.graph = graph::build_transformer_graph(plan.reduced, workload);
  out.summary = graph::summarize(out.graph);
  const KernelPlan kp = plan_kernels(out.graph);
  const std::vector<KernelWork> work = kernel_work(out.graph, out.summary, kp);
  const double p_bytes = hardware::precision_bytes(precision);
  const double w_bytes = weight_bytes_per_element > 0 ? weight_bytes_per_element : p_bytes;
  const double bandwidth = device.bandwidth_bytes_per_s();
  std::map<OpClass, double> peak;
  out.kernels.reserve(work.size());
  for (const KernelWork& w : work) {
    PhaseKernel k;
    k.head = w.head;
    k.op_class = w.op_class;
    k.costed = w.costed;
    const int64_t layer = layer_of(out.graph.nodes[static_cast<size_t>(w.head)].name);
    k.repeat = layer >= 0 && static_cast<size_t>(layer) < plan.repeat.size()
                   ? static_cast<double>(plan.repeat[static_cast<size_t>(layer)])
                   : 1.0;
    KernelWork adjusted = w;
    if (w_bytes != p_bytes && w.costed) {
      double weight_elements = 0;
      for (graph::NodeId n : kp.chain[static_cast<size_t>(w.head)]) {
        for (graph::TensorId id : out.graph.nodes[static_cast<size_t>(n)].inputs) {
          if (id == graph::kNoTensor) continue;
          const graph::Tensor& t = out.graph.tensor(id);
          if (t.kind == graph::TensorKind::kParameter && graph::is_floating(t.dtype))
            weight_elements += static_cast<double>(t.element_count());
        }
      }
      const double moved = std::min(adjusted.float_bytes, 4.0 * weight_elements);
      adjusted.float_bytes -= moved;
      adjusted.other_bytes += moved / 4.0 * w_bytes;
    }
    const graph::Node& head = out.graph.nodes[static_cast<size_t>(w.head)];
    if (append_kv_in_place && head.op_type == "Concat" && head.inputs.size() == 2 &&
        (name_ends_with(head.name, ".present_key") || name_ends_with(head.name, ".present_value"))) {
      // Paged KV cache: the new keys/values are written into their slots; the past is not copied.
      const graph::Tensor& t = out.graph.tensor(head.inputs[1]);
      const bool fp = graph::is_floating(t.dtype);
      adjusted.float_bytes = fp ? 2.0 * 4.0 * static_cast<double>(t.element_count()) : 0.0;
      adjusted.other_bytes = fp ? 0.0 : 2.0 * static_cast<double>(std::max<int64_t>(0, t.size_bytes()));
    }
    const NodeTime nt = time_kernel(adjusted, device, precision, calibration);
    k.roofline_s = nt.kernel_s;
    if (w.costed) {
      k.flops = nt.flops;
      k.bytes = nt.bytes;
      auto it = peak.find(w.op_class);
      if (it == peak.end()) it = peak.emplace(w.op_class, class_peak_flops(device, precision, w.op_class, calibration)).first;
      k.compute_s = it->second > 0 ? k.flops / it->second : 0;
      k.memory_s = bandwidth > 0 ? k.bytes / bandwidth : 0;
    }
    out.kernels.push_back(k);
  }
  return out;
}

}  // namespace perfcast::predict
