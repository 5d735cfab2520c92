#pragma once
// A transformer described by a Hugging Face config.json: the architecture hyper-parameters
// perfcast needs to expand it into an operator Graph (transformer_graph.h).
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "graph/dtype.h"

namespace perfcast::graph {

enum class TransformerKind : uint8_t {
  kEncoder,         // bidirectional, no KV cache (BERT family)
  kDecoder,         // causal language model with a KV cache
  kEncoderDecoder,  // T5-style (switch_transformers)
};

enum class NormKind : uint8_t { kLayerNorm, kRMSNorm };
enum class MlpActivation : uint8_t { kGelu, kRelu, kSilu };

// The layout families perfcast knows how to expand. Everything else is refused.
enum class TransformerFamily : uint8_t {
  kBert,        // bert, roberta, xlm-roberta, distilbert: post-LN, learned positions, biases
  kDebertaV2,   // deberta-v2/v3: BERT layout + disentangled relative-position attention
  kGpt2,        // pre-LN, learned positions, fused biases, tied head
  kOpt,         // pre-LN, learned positions (+2 offset), optional embedding projections
  kGptJ,        // parallel attention+MLP, rotary, one LayerNorm per layer
  kGptNeoX,     // parallel (or sequential) residual, rotary, two LayerNorms per layer
  kLlama,       // llama/mistral/mixtral/qwen2/qwen3(+moe)/gemma/gpt_oss: RMSNorm, rotary, gated MLP
  kDeepseekV3,  // MLA attention + shared/routed experts (deepseek_v3, kimi_k2)
  kSwitch,      // switch_transformers: T5 encoder-decoder with top-1 MoE every k-th layer
};

struct TransformerConfig {
  std::string source;       // the file it was read from (for messages)
  std::string model_type;   // as written in the config
  TransformerFamily family = TransformerFamily::kLlama;
  TransformerKind kind = TransformerKind::kDecoder;

  int64_t hidden_size = 0;
  int64_t num_layers = 0;          // decoder layers for kEncoderDecoder are num_decoder_layers
  int64_t num_decoder_layers = 0;  // kEncoderDecoder only
  int64_t num_heads = 0;
  int64_t num_kv_heads = 0;        // GQA/MQA; = num_heads when the config does not say
  int64_t head_dim = 0;            // default hidden_size / num_heads
  int64_t intermediate_size = 0;   // dense MLP width
  bool gated_mlp = false;          // SwiGLU/GeGLU: gate_proj * act(up_proj)
  MlpActivation activation = MlpActivation::kGelu;
  int64_t vocab_size = 0;
  int64_t max_position_embeddings = 0;
  int64_t learned_positions = 0;   // rows of a learned position table (0: rotary/relative)
  int64_t type_vocab_size = 0;     // BERT token-type table rows
  bool tied_embeddings = false;
  bool lm_head = true;             // the model has an LM/output head (false: BERT-style backbone)
  bool pooler = false;             // BERT pooler (dense d x d + tanh)
  NormKind norm = NormKind::kLayerNorm;
  bool norm_bias = true;           // LayerNorm has beta
  bool attention_bias = false;     // q/k/v (and o, see o_bias) biases
  bool o_bias = false;
  bool mlp_bias = false;
  bool qk_norm = false;            // qwen3: RMSNorm over head_dim on q and k
  bool attention_sinks = false;    // gpt_oss: one learned logit per head
  bool parallel_residual = false;  // GPT-J / GPT-NeoX
  int64_t opt_embed_proj_dim = 0;  // OPT word_embed_proj_dim when it differs from hidden_size

  // Sliding-window attention: the window (0 = none) and which layers use it.
  int64_t sliding_window = 0;
  std::vector<bool> sliding_layers;  // size num_layers when sliding_window > 0

  // Mixture of experts (num_experts == 0: dense).
  int64_t num_experts = 0;
  int64_t experts_per_token = 0;
  int64_t moe_intermediate_size = 0;
  int64_t shared_experts = 0;                   // deepseek n_shared_experts
  int64_t shared_expert_intermediate_size = 0;  // total width of the shared expert MLP
  bool shared_expert_gate = false;              // qwen2_moe: sigmoid gate on the shared expert
  bool expert_bias = false;                     // gpt_oss: biases on expert projections and router
  bool router_sigmoid = false;                  // deepseek: sigmoid scoring instead of softmax
  std::vector<bool> moe_layers;                 // size num_layers (decoder layers for Switch)
  std::vector<bool> encoder_moe_layers;         // Switch encoder

  // Multi-head latent attention (deepseek_v3).
  bool mla = false;
  int64_t q_lora_rank = 0;  // 0: plain q_proj
  int64_t kv_lora_rank = 0;
  int64_t qk_nope_head_dim = 0;
  int64_t qk_rope_head_dim = 0;
  int64_t v_head_dim = 0;

  // T5 relative attention bias (Switch): buckets x heads in the first layer of each stack.
  int64_t relative_attention_buckets = 0;
  // DeBERTa: relative position table rows (2 x position_buckets) and whether it has a LayerNorm.
  int64_t relative_position_rows = 0;

  DType torch_dtype = DType::kBFloat16;  // weights dtype of the checkpoint
  std::string torch_dtype_name;
  std::string quantization;  // quantization_config.quant_method (+ fmt), "" when none; noted, not modelled
  std::vector<std::string> notes;  // approximations the expansion makes for this model

  bool is_moe() const { return num_experts > 0; }
  bool layer_is_sliding(int64_t layer) const;
  bool layer_is_moe(int64_t layer) const;
};

// Parses a config.json's JSON. `source` names the file in error messages. Throws perfcast::Error
// naming the missing field and the file, or saying the architecture is not modelled.
TransformerConfig parse_transformer_config(const nlohmann::json& config, const std::string& source);
TransformerConfig load_transformer_config(const std::string& path);

// "bfloat16" -> kBFloat16, ... ; kUnknown for anything else.
DType dtype_from_name(const std::string& name);

std::string family_name(TransformerFamily family);

}  // namespace perfcast::graph
