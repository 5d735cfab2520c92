#pragma once
// Node, edge and graph-level features of one model graph for the graph neural network predictors
// (DIPPM / TraPPM style), built from perfcast's own graph, cost model and device catalog.
//
// Node features (node_feature_names(), in this order):
//   op=<Type> one-hot over op_vocabulary() (every operator perfcast's cost model knows), then
//   op=other for anything else (custom domains included);
//   kernel_h, kernel_w      kernel_shape (or the Conv weight's spatial dims), 0 when none
//   stride_h, stride_w      strides, 1 for Conv/pooling without the attribute, 0 for other ops
//   pad_h, pad_w            begin + end padding
//   dilation                largest dilation, 1 for Conv/pooling without it, 0 for other ops
//   log2_groups             log2(group) of Conv/ConvTranspose, 0 otherwise
//   has_bias                Conv/ConvTranspose/Gemm with a bias input
//   log1p_in_channels, log1p_out_channels   dim 1 of input 0 / output 0 (channels in NCHW; the
//                           last dim for rank <= 2)
//   log1p_input_elements    activation elements read (weights and constants excluded)
//   log1p_output_elements   elements written
//   log1p_macs, log1p_flops, log1p_params (parameters + buffers read), log1p_bytes_read,
//   log1p_bytes_written     from graph::cost_node at the graph's own shapes (the batch is in them)
//   log1p_flops_per_byte    arithmetic intensity
//   cost_known              1 when the cost model costed the node, 0 (unknown op, missing shape)
// log1p_ is ln(1 + x). Edges: one per data-flow link producer -> consumer (Graph::edges(), so two
// tensors between the same pair give two edges).
//
// Static features (static_feature_names()): log1p of batch, nodes, edges, MACs, FLOPs, params,
// weight bytes, activation bytes (all buffers), peak live activation bytes, bytes moved; then the
// device: is_gpu, ln of peak fp32 / fp16 TFLOP/s (fp16 falls back to fp32 where the device has no
// fp16 path, e.g. CPUs), memory bandwidth GB/s, memory GiB, SM (CU, core) count, L2 (CPU: LLC) MiB,
// TDP W, boost clock MHz; then a naive roofline of the totals: ln of ridge FLOP/byte, fp32 compute
// ms, memory ms and their max.
#include <cstdint>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "graph/graph_summary.h"
#include "hardware/device.h"
#include "learn/graph_sample.h"

namespace perfcast::learn {

// Operator types with a one-hot slot, in slot order (stable: trained models depend on it).
const std::vector<std::string>& op_vocabulary();
// Slot of an operator type in the one-hot block: its index in op_vocabulary(), or
// op_vocabulary().size() ("other") for anything else, and for any non-default domain.
int64_t op_slot(const std::string& op_type, const std::string& domain = "");

const std::vector<std::string>& node_feature_names();
const std::vector<std::string>& static_feature_names();

// The graph as a sample for `device`: target, prior, group and device_id are left for the caller
// (device_id is set to device.id). `batch` is the batch the graph's shapes were built with.
// Throws perfcast::Error when the graph has a cycle.
GraphSample make_graph_sample(const graph::Graph& g, const hardware::Device& device, int64_t batch);

// The same from an existing summary of `g` (graph::summarize), to share it between devices.
GraphSample make_graph_sample(const graph::Graph& g, const graph::GraphSummary& summary,
                              const hardware::Device& device, int64_t batch);

// Device-independent part only: nodes, edges and the graph-level static features; the device
// features are appended by append_device_features. make_graph_sample = both.
GraphSample make_graph_part(const graph::Graph& g, const graph::GraphSummary& summary, int64_t batch);
// Appends the device features to a sample from make_graph_part (its static_features must hold
// exactly the graph-level block); throws perfcast::Error otherwise.
void append_device_features(GraphSample& sample, const hardware::Device& device);

// exp(ln_roof_ms): the naive roofline of a full sample's totals on its device, in ms (the prior the
// graph predictors correct). Throws perfcast::Error when the sample lacks the device features.
double naive_roofline_ms(const GraphSample& sample);

}  // namespace perfcast::learn
