#include "predict/llm_parallel.h"

#include <fmt/format.h>

#include <algorithm>

#include "common/error.h"

namespace perfcast::predict {
namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

}  // namespace

graph::TransformerConfig shard_transformer_config(const graph::TransformerConfig& config, int64_t tp, int64_t pp) {
  if (tp < 1 || pp < 1) throw Error(fmt::format("tensor/pipeline parallel degrees must be >= 1 (got {} and {})", tp, pp));
  graph::TransformerConfig c = config;
  if (tp > 1) {
    if (c.num_heads % tp != 0) {
      throw Error(fmt::format("{}: {} attention heads cannot be split over tensor-parallel degree {}", c.source,
                              c.num_heads, tp));
    }
    c.num_heads /= tp;
    c.num_kv_heads = c.num_kv_heads >= tp ? ceil_div(c.num_kv_heads, tp) : 1;
    if (c.intermediate_size > 0) c.intermediate_size = ceil_div(c.intermediate_size, tp);
    if (c.moe_intermediate_size > 0) c.moe_intermediate_size = ceil_div(c.moe_intermediate_size, tp);
    if (c.shared_expert_intermediate_size > 0) {
      c.shared_expert_intermediate_size = ceil_div(c.shared_expert_intermediate_size, tp);
    }
    if (c.vocab_size > 0) c.vocab_size = ceil_div(c.vocab_size, tp);
    c.notes.push_back(fmt::format("tensor-parallel shard 1/{}: heads, MLP/expert columns and vocabulary divided", tp));
  }
  if (pp > 1) {
    if (pp > c.num_layers) throw Error(fmt::format("{}: pipeline degree {} exceeds {} layers", c.source, pp, c.num_layers));
    const int64_t layers = ceil_div(c.num_layers, pp);
    c.num_layers = layers;
    if (c.sliding_layers.size() > static_cast<size_t>(layers)) c.sliding_layers.resize(static_cast<size_t>(layers));
    if (c.moe_layers.size() > static_cast<size_t>(layers)) c.moe_layers.resize(static_cast<size_t>(layers));
    c.notes.push_back(fmt::format("pipeline stage: {} layers of {} (embedding and head kept)", layers, config.num_layers));
  }
  return c;
}

double interconnect_bytes_per_s(const hardware::Device& device) {
  if (device.nvlink_gb_s > 0) return device.nvlink_gb_s * 1e9 / 2;
  if (device.xgmi_gb_s > 0) return device.xgmi_gb_s * 1e9 / 2;
  if (device.pcie_gb_s > 0) return device.pcie_gb_s * 1e9 / 2;
  return 16e9;  // PCIe Gen3 x16, one direction, when the device file says nothing
}

std::string interconnect_name(const hardware::Device& device) {
  if (device.nvlink_gb_s > 0) return "NVLink";
  if (device.xgmi_gb_s > 0) return "xGMI";
  if (device.pcie_gb_s > 0) return "PCIe";
  return "PCIe (assumed Gen3)";
}

double ring_allreduce_seconds(double bytes, int64_t n, const hardware::Device& device) {
  if (n <= 1 || bytes <= 0) return 0;
  const double nn = static_cast<double>(n);
  return 2.0 * (nn - 1.0) / nn * bytes / interconnect_bytes_per_s(device) + kCollectiveLatencyS;
}

}  // namespace perfcast::predict
