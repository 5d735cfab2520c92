#pragma once
// Expands a TransformerConfig into the same operator Graph an ONNX export would give: real
// Gather / (Simplified)LayerNormalization / MatMul / Softmax / Concat / ... nodes with shapes and
// dtypes, so summarize() and the op_cost rules count it with no special case.
//
// Conventions (see transformer_graph.cpp for the node layout):
//  - KV cache: per attention layer two graph inputs (TensorKind::kInput)
//      layers.N.past_key   [batch, kv_heads, head_dim, past]   (stored transposed so Q·Kᵀ is a MatMul)
//      layers.N.past_value [batch, kv_heads, past, head_dim]
//    with past = context_len, or min(context_len, sliding_window) on sliding-window layers; they are
//    concatenated with the new keys/values, and the results are graph outputs (present_*).
//    MLA (deepseek_v3) caches one latent per token: past_latent [batch, 1, past, kv_lora_rank + rope_dim].
//  - Mixture of experts: the router (MatMul + Softmax/Sigmoid + TopK) picks experts; the expert
//    MatMuls run on the active experts only (batch·seq·top_k token slots spread over them), while
//    the weights of the idle experts are parameters read by a zero-cost "idle experts" Reshape node,
//    so the summary's params are the model's total and its MACs/bytes the active work.
#include <cstdint>

#include "graph/graph.h"
#include "graph/transformer_config.h"

namespace perfcast::graph {

struct TransformerWorkload {
  int64_t batch = 1;
  int64_t seq_len = 128;       // tokens processed now (prompt for prefill, 1 for a decode step)
  int64_t context_len = 0;     // tokens already in the KV cache (0 for prefill and encoders)
  DType weight_dtype = DType::kUnknown;      // kUnknown: the config's torch_dtype
  DType activation_dtype = DType::kUnknown;  // kUnknown: the weight dtype
  DType kv_dtype = DType::kUnknown;          // kUnknown: the activation dtype
  bool include_lm_head = true;               // decoders: the output projection to the vocabulary
  bool lm_head_last_token_only = false;      // serving prefill: logits of the last position only
};

struct TransformerParams {
  int64_t total = 0;   // every weight, all experts included
  int64_t active = 0;  // the weights one token uses (top-k routed experts + shared + dense parts)
};

// Closed form from the config (independent of the graph; tests check they agree).
TransformerParams transformer_params(const TransformerConfig& config);

// Bytes of the KV cache read by one step: the past tensors of every attention layer.
int64_t kv_cache_bytes(const TransformerConfig& config, const TransformerWorkload& workload);

// Throws perfcast::Error for a workload that does not fit (non-positive sizes, context beyond
// max_position_embeddings is allowed but a KV cache on an encoder is not).
Graph build_transformer_graph(const TransformerConfig& config, const TransformerWorkload& workload);

}  // namespace perfcast::graph
