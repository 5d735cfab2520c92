#pragma once
// Shared pieces of the LLM serving and training predictors (llm_serving.h, llm_training.h):
// the per-GPU shard of a transformer under tensor / pipeline parallelism, and the time of the
// collectives they add.
//
// Tensor parallelism N (Megatron layout): every attention layer keeps 1/N of the query heads and
// of the KV heads (at least one KV head: GQA models with fewer KV heads than N replicate them), every
// MLP (and every expert) 1/N of its columns, the embedding and LM head 1/N of the vocabulary. The
// norms, residual adds and the hidden size stay whole on every GPU. The per-GPU graph is the
// graph of that smaller config, so the same builder and predictor cost it.
// Pipeline parallelism P: a stage holds ceil(layers / P) layers; the embedding and the LM head are
// kept on the stage that is costed (the last stage, the slowest, sets the pace).
#include <cstdint>
#include <string>

#include "graph/transformer_config.h"
#include "hardware/device.h"

namespace perfcast::predict {

// Throws perfcast::Error when tp or pp < 1, heads are not divisible by tp, or pp > layers.
graph::TransformerConfig shard_transformer_config(const graph::TransformerConfig& config, int64_t tp, int64_t pp = 1);

// One-direction bandwidth (B/s) GPUs of this device exchange data over: NVLink, else AMD
// Infinity Fabric (xGMI), else PCIe; the device files give totals in both directions, halved here.
double interconnect_bytes_per_s(const hardware::Device& device);
std::string interconnect_name(const hardware::Device& device);

// Fixed cost of one collective call (launch + NCCL/RCCL protocol latency), an assumption.
inline constexpr double kCollectiveLatencyS = 10e-6;

// Ring all-reduce of `bytes` over n GPUs: 2 (n - 1) / n * bytes / bandwidth + kCollectiveLatencyS;
// 0 for n <= 1.
double ring_allreduce_seconds(double bytes, int64_t n, const hardware::Device& device);

}  // namespace perfcast::predict
