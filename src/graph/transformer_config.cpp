#include "graph/transformer_config.h"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "common/error.h"

namespace perfcast::graph {
namespace {

using nlohmann::json;

// Reads fields of one config, naming the file and the field in every error.
class Fields {
 public:
  Fields(const json& j, const std::string& source, const std::string& model_type)
      : j_(j), source_(source), model_type_(model_type) {}

  bool has(const char* key) const { return j_.contains(key) && !j_.at(key).is_null(); }

  // The first of `keys` present; throws naming them all when none is.
  int64_t integer(std::initializer_list<const char*> keys) const {
    for (const char* key : keys) {
      if (!has(key)) continue;
      const json& v = j_.at(key);
      if (!v.is_number_integer() && !(v.is_number() && v.get<double>() == static_cast<double>(v.get<int64_t>()))) {
        throw Error(fmt::format("config '{}': field '{}' must be an integer", source_, key));
      }
      const auto value = v.get<int64_t>();
      if (value < 0) throw Error(fmt::format("config '{}': field '{}' must not be negative", source_, key));
      return value;
    }
    std::string names;
    for (const char* key : keys) names += (names.empty() ? "'" : " or '") + std::string(key) + "'";
    throw Error(fmt::format("config '{}': missing field {} (needed to model a {} transformer)", source_, names,
                            model_type_));
  }
  int64_t integer_or(std::initializer_list<const char*> keys, int64_t fallback) const {
    for (const char* key : keys)
      if (has(key)) return integer({key});
    return fallback;
  }
  bool boolean_or(const char* key, bool fallback) const {
    if (!has(key)) return fallback;
    if (!j_.at(key).is_boolean()) throw Error(fmt::format("config '{}': field '{}' must be true or false", source_, key));
    return j_.at(key).get<bool>();
  }
  std::string string_or(std::initializer_list<const char*> keys, const std::string& fallback) const {
    for (const char* key : keys)
      if (has(key) && j_.at(key).is_string()) return j_.at(key).get<std::string>();
    return fallback;
  }

 private:
  const json& j_;
  const std::string& source_;
  const std::string& model_type_;
};

const std::set<std::string> kStateSpace = {"mamba",  "mamba2",   "nemotron_h", "jamba",      "falcon_h1",
                                           "zamba",  "zamba2",   "rwkv",       "rwkv5",      "rwkv6",
                                           "bamba",  "granitemoehybrid", "lfm2", "recurrent_gemma", "xlstm"};

MlpActivation activation_from(const std::string& name, const std::string& source) {
  if (name.rfind("gelu", 0) == 0) return MlpActivation::kGelu;
  if (name == "relu") return MlpActivation::kRelu;
  if (name == "silu" || name == "swish") return MlpActivation::kSilu;
  throw Error(fmt::format("config '{}': activation '{}' is not modelled (gelu*, relu, silu are)", source, name));
}

std::vector<bool> every(int64_t n, bool value) { return std::vector<bool>(static_cast<size_t>(n), value); }

void parse_bert(const Fields& f, const json& j, const std::string& type, TransformerConfig& c) {
  c.family = type == "deberta-v2" ? TransformerFamily::kDebertaV2 : TransformerFamily::kBert;
  c.kind = TransformerKind::kEncoder;
  c.lm_head = false;
  if (type == "distilbert") {
    c.hidden_size = f.integer({"dim"});
    c.num_layers = f.integer({"n_layers"});
    c.num_heads = f.integer({"n_heads"});
    c.intermediate_size = f.integer({"hidden_dim"});
    c.activation = activation_from(f.string_or({"activation"}, "gelu"), c.source);
    c.max_position_embeddings = f.integer({"max_position_embeddings"});
    c.learned_positions = f.boolean_or("sinusoidal_pos_embds", false) ? 0 : c.max_position_embeddings;
    c.type_vocab_size = 0;
    c.pooler = false;
  } else {
    c.hidden_size = f.integer({"hidden_size"});
    c.num_layers = f.integer({"num_hidden_layers"});
    c.num_heads = f.integer({"num_attention_heads"});
    c.intermediate_size = f.integer({"intermediate_size"});
    c.activation = activation_from(f.string_or({"hidden_act"}, "gelu"), c.source);
    c.max_position_embeddings = f.integer({"max_position_embeddings"});
    c.type_vocab_size = f.integer_or({"type_vocab_size"}, type == "deberta-v2" ? 0 : 2);
    if (type == "deberta-v2") {
      c.learned_positions = f.boolean_or("position_biased_input", true) ? c.max_position_embeddings : 0;
      c.pooler = false;  // DebertaV2Model has no pooler
      if (f.boolean_or("relative_attention", false)) {
        const int64_t buckets = f.integer_or({"position_buckets"}, -1);
        const json& mr = j.contains("max_relative_positions") ? j.at("max_relative_positions") : json();
        const int64_t max_rel = mr.is_number_integer() ? mr.get<int64_t>() : -1;  // -1: max_position_embeddings
        const int64_t span = buckets > 0 ? buckets : (max_rel > 0 ? max_rel : c.max_position_embeddings);
        c.relative_position_rows = 2 * span;
        c.notes.push_back(
            "DeBERTa disentangled attention: content-to-position and position-to-content scores are two extra "
            "MatMuls against the projected relative-position table; their gathers are not modelled");
      }
    } else {
      c.learned_positions = c.max_position_embeddings;
      c.pooler = true;  // BertModel / RobertaModel include the pooler
    }
  }
  c.norm = NormKind::kLayerNorm;
  c.attention_bias = c.o_bias = c.mlp_bias = true;
  c.vocab_size = f.integer({"vocab_size"});
}

void parse_gpt2(const Fields& f, TransformerConfig& c) {
  c.family = TransformerFamily::kGpt2;
  c.hidden_size = f.integer({"n_embd", "hidden_size"});
  c.num_layers = f.integer({"n_layer", "num_hidden_layers"});
  c.num_heads = f.integer({"n_head", "num_attention_heads"});
  c.intermediate_size = f.integer_or({"n_inner"}, 4 * c.hidden_size);
  c.activation = activation_from(f.string_or({"activation_function"}, "gelu_new"), c.source);
  c.max_position_embeddings = f.integer({"n_positions", "max_position_embeddings"});
  c.learned_positions = c.max_position_embeddings;
  c.vocab_size = f.integer({"vocab_size"});
  c.tied_embeddings = f.boolean_or("tie_word_embeddings", true);
  c.attention_bias = c.o_bias = c.mlp_bias = true;
}

void parse_opt(const Fields& f, TransformerConfig& c) {
  c.family = TransformerFamily::kOpt;
  c.hidden_size = f.integer({"hidden_size"});
  c.num_layers = f.integer({"num_hidden_layers"});
  c.num_heads = f.integer({"num_attention_heads"});
  c.intermediate_size = f.integer({"ffn_dim"});
  c.activation = activation_from(f.string_or({"activation_function"}, "relu"), c.source);
  c.max_position_embeddings = f.integer({"max_position_embeddings"});
  c.learned_positions = c.max_position_embeddings + 2;  // OPTLearnedPositionalEmbedding offset
  c.vocab_size = f.integer({"vocab_size"});
  const int64_t proj = f.integer_or({"word_embed_proj_dim"}, c.hidden_size);
  c.opt_embed_proj_dim = proj == c.hidden_size ? 0 : proj;
  c.tied_embeddings = f.boolean_or("tie_word_embeddings", true);
  c.attention_bias = c.o_bias = c.mlp_bias = f.boolean_or("enable_bias", true);
  if (!f.boolean_or("do_layer_norm_before", true)) c.notes.push_back("OPT post-LN layout counted like pre-LN");
}

void parse_gptj_neox(const Fields& f, const std::string& type, TransformerConfig& c) {
  if (type == "gptj") {
    c.family = TransformerFamily::kGptJ;
    c.hidden_size = f.integer({"n_embd"});
    c.num_layers = f.integer({"n_layer"});
    c.num_heads = f.integer({"n_head"});
    c.intermediate_size = f.integer_or({"n_inner"}, 4 * c.hidden_size);
    c.activation = activation_from(f.string_or({"activation_function"}, "gelu_new"), c.source);
    c.max_position_embeddings = f.integer_or({"n_positions"}, 2048);
    c.parallel_residual = true;
    c.attention_bias = c.o_bias = false;
    c.mlp_bias = true;
    c.tied_embeddings = false;
    c.notes.push_back("GPT-J lm_head bias is counted");
  } else {
    c.family = TransformerFamily::kGptNeoX;
    c.hidden_size = f.integer({"hidden_size"});
    c.num_layers = f.integer({"num_hidden_layers"});
    c.num_heads = f.integer({"num_attention_heads"});
    c.intermediate_size = f.integer({"intermediate_size"});
    c.activation = activation_from(f.string_or({"hidden_act"}, "gelu"), c.source);
    c.max_position_embeddings = f.integer({"max_position_embeddings"});
    c.parallel_residual = f.boolean_or("use_parallel_residual", true);
    c.attention_bias = c.o_bias = f.boolean_or("attention_bias", true);
    c.mlp_bias = true;
    c.tied_embeddings = f.boolean_or("tie_word_embeddings", false);
  }
  c.vocab_size = f.integer({"vocab_size"});
}

void parse_sliding(const Fields& f, const json& j, TransformerConfig& c) {
  const int64_t window = f.integer_or({"sliding_window"}, 0);
  if (window == 0) return;
  if (j.contains("use_sliding_window") && !f.boolean_or("use_sliding_window", false)) return;
  c.sliding_window = window;
  if (j.contains("layer_types") && j.at("layer_types").is_array()) {
    const auto& types = j.at("layer_types");
    if (static_cast<int64_t>(types.size()) != c.num_layers) {
      throw Error(fmt::format("config '{}': layer_types has {} entries for {} layers", c.source, types.size(),
                              c.num_layers));
    }
    for (const auto& t : types) c.sliding_layers.push_back(t.get<std::string>() == "sliding_attention");
  } else if (j.contains("max_window_layers") && j.contains("use_sliding_window")) {
    // Qwen2/Qwen3: layers at index >= max_window_layers use the sliding window.
    const int64_t full = f.integer({"max_window_layers"});
    for (int64_t l = 0; l < c.num_layers; ++l) c.sliding_layers.push_back(l >= full);
  } else {
    c.sliding_layers = every(c.num_layers, true);  // Mistral: every layer
  }
  if (std::none_of(c.sliding_layers.begin(), c.sliding_layers.end(), [](bool b) { return b; })) c.sliding_window = 0;
}

void parse_llama(const Fields& f, const json& j, const std::string& type, TransformerConfig& c) {
  c.family = TransformerFamily::kLlama;
  c.hidden_size = f.integer({"hidden_size"});
  c.num_layers = f.integer({"num_hidden_layers"});
  c.num_heads = f.integer({"num_attention_heads"});
  c.num_kv_heads = f.integer_or({"num_key_value_heads"}, c.num_heads);
  c.head_dim = f.integer_or({"head_dim"}, 0);
  c.max_position_embeddings = f.integer_or({"max_position_embeddings"}, 0);
  c.vocab_size = f.integer({"vocab_size"});
  c.norm = NormKind::kRMSNorm;
  c.norm_bias = false;
  c.gated_mlp = true;
  c.activation = activation_from(f.string_or({"hidden_activation", "hidden_act"}, "silu"), c.source);
  c.tied_embeddings = f.boolean_or("tie_word_embeddings", type == "gemma");
  c.attention_bias = f.boolean_or("attention_bias", type == "qwen2" || type == "qwen2_moe");
  c.o_bias = type == "gpt_oss" ? c.attention_bias : (type.rfind("qwen2", 0) == 0 ? false : c.attention_bias);
  c.mlp_bias = f.boolean_or("mlp_bias", false);
  c.qk_norm = type == "qwen3" || type == "qwen3_moe";
  c.attention_sinks = type == "gpt_oss";
  parse_sliding(f, j, c);

  const int64_t experts = f.integer_or({"num_local_experts", "num_experts", "n_routed_experts"}, 0);
  if (experts > 0) {
    c.num_experts = experts;
    c.experts_per_token = f.integer({"num_experts_per_tok", "experts_per_token"});
    c.moe_intermediate_size = f.integer_or({"moe_intermediate_size"}, 0);
    if (c.moe_intermediate_size == 0) c.moe_intermediate_size = f.integer({"intermediate_size"});
    c.expert_bias = type == "gpt_oss";
    c.moe_layers = every(c.num_layers, true);
    const int64_t step = f.integer_or({"decoder_sparse_step"}, 1);
    std::set<int64_t> mlp_only;
    if (j.contains("mlp_only_layers") && j.at("mlp_only_layers").is_array())
      for (const auto& l : j.at("mlp_only_layers")) mlp_only.insert(l.get<int64_t>());
    for (int64_t l = 0; l < c.num_layers; ++l)
      c.moe_layers[static_cast<size_t>(l)] = !mlp_only.count(l) && step > 0 && (l + 1) % step == 0;
    if (type == "qwen2_moe") {
      c.shared_expert_intermediate_size = f.integer_or({"shared_expert_intermediate_size"}, 0);
      c.shared_experts = c.shared_expert_intermediate_size > 0 ? 1 : 0;
      c.shared_expert_gate = c.shared_experts > 0;
    }
    if (std::find(c.moe_layers.begin(), c.moe_layers.end(), false) != c.moe_layers.end())
      c.intermediate_size = f.integer({"intermediate_size"});
    else
      c.intermediate_size = f.integer_or({"intermediate_size"}, c.moe_intermediate_size);
  } else {
    c.intermediate_size = f.integer({"intermediate_size"});
  }
}

void parse_deepseek(const Fields& f, const TransformerConfig& base, TransformerConfig& c) {
  (void)base;
  c.family = TransformerFamily::kDeepseekV3;
  c.hidden_size = f.integer({"hidden_size"});
  c.num_layers = f.integer({"num_hidden_layers"});
  c.num_heads = f.integer({"num_attention_heads"});
  c.num_kv_heads = 1;  // the latent cache is shared by all heads
  c.intermediate_size = f.integer({"intermediate_size"});
  c.vocab_size = f.integer({"vocab_size"});
  c.max_position_embeddings = f.integer_or({"max_position_embeddings"}, 0);
  c.norm = NormKind::kRMSNorm;
  c.norm_bias = false;
  c.gated_mlp = true;
  c.activation = activation_from(f.string_or({"hidden_act"}, "silu"), c.source);
  c.tied_embeddings = f.boolean_or("tie_word_embeddings", false);
  c.mla = true;
  c.q_lora_rank = f.integer_or({"q_lora_rank"}, 0);
  c.kv_lora_rank = f.integer({"kv_lora_rank"});
  c.qk_nope_head_dim = f.integer({"qk_nope_head_dim"});
  c.qk_rope_head_dim = f.integer({"qk_rope_head_dim"});
  c.v_head_dim = f.integer({"v_head_dim"});
  c.head_dim = c.qk_nope_head_dim + c.qk_rope_head_dim;
  c.num_experts = f.integer_or({"n_routed_experts"}, 0);
  if (c.num_experts > 0) {
    c.experts_per_token = f.integer({"num_experts_per_tok"});
    c.moe_intermediate_size = f.integer({"moe_intermediate_size"});
    c.shared_experts = f.integer_or({"n_shared_experts"}, 0);
    c.shared_expert_intermediate_size = c.shared_experts * c.moe_intermediate_size;
    c.router_sigmoid = f.string_or({"scoring_func"}, "softmax") == "sigmoid";
    const int64_t first_dense = f.integer_or({"first_k_dense_replace"}, 0);
    const int64_t freq = std::max<int64_t>(1, f.integer_or({"moe_layer_freq"}, 1));
    for (int64_t l = 0; l < c.num_layers; ++l) c.moe_layers.push_back(l >= first_dense && l % freq == 0);
  }
  c.notes.push_back(
      "MLA approximated: the KV cache holds the compressed latent (kv_lora_rank + qk_rope_head_dim per token, "
      "shared by all heads) and every step decompresses it with kv_b_proj for all cached tokens (the "
      "un-absorbed form of the Hugging Face implementation; absorbed kernels do fewer MACs at decode)");
  if (f.integer_or({"num_nextn_predict_layers"}, 0) > 0)
    c.notes.push_back("the multi-token-prediction (MTP) layer is not counted (as in the 671B figure)");
}

void parse_switch(const Fields& f, TransformerConfig& c) {
  c.family = TransformerFamily::kSwitch;
  c.kind = TransformerKind::kEncoderDecoder;
  c.hidden_size = f.integer({"d_model"});
  c.num_layers = f.integer({"num_layers"});
  c.num_decoder_layers = f.integer_or({"num_decoder_layers"}, c.num_layers);
  c.num_heads = f.integer({"num_heads"});
  c.num_kv_heads = c.num_heads;
  c.head_dim = f.integer({"d_kv"});
  c.intermediate_size = f.integer({"d_ff"});
  c.moe_intermediate_size = c.intermediate_size;
  c.vocab_size = f.integer({"vocab_size"});
  c.num_experts = f.integer({"num_experts"});
  c.experts_per_token = 1;  // Switch routing is top-1
  c.norm = NormKind::kRMSNorm;
  c.norm_bias = false;
  c.gated_mlp = f.boolean_or("is_gated_act", false);
  c.activation = activation_from(f.string_or({"dense_act_fn"}, "relu"), c.source);
  c.tied_embeddings = f.boolean_or("tie_word_embeddings", true);
  c.relative_attention_buckets = f.integer_or({"relative_attention_num_buckets"}, 32);
  const int64_t enc_step = f.integer_or({"encoder_sparse_step"}, 1);
  const int64_t dec_step = f.integer_or({"decoder_sparse_step"}, 1);
  // SwitchTransformersStack: layer i is sparse when i % sparse_step == 1 (step > 1), every layer when step == 1.
  for (int64_t l = 0; l < c.num_layers; ++l)
    c.encoder_moe_layers.push_back(enc_step <= 1 || l % enc_step == 1);
  for (int64_t l = 0; l < c.num_decoder_layers; ++l) c.moe_layers.push_back(dec_step <= 1 || l % dec_step == 1);
  c.notes.push_back(
      "Switch: one forward pass of encoder and decoder over seq_len tokens each (teacher-forced, no KV cache), "
      "top-1 routing without capacity limits; T5 relative-position buckets are counted as parameters only");
}

}  // namespace

bool TransformerConfig::layer_is_sliding(int64_t layer) const {
  return sliding_window > 0 && layer >= 0 && static_cast<size_t>(layer) < sliding_layers.size() &&
         sliding_layers[static_cast<size_t>(layer)];
}

bool TransformerConfig::layer_is_moe(int64_t layer) const {
  return num_experts > 0 && layer >= 0 && static_cast<size_t>(layer) < moe_layers.size() &&
         moe_layers[static_cast<size_t>(layer)];
}

DType dtype_from_name(const std::string& name) {
  if (name == "bfloat16") return DType::kBFloat16;
  if (name == "float16" || name == "half") return DType::kFloat16;
  if (name == "float32" || name == "float") return DType::kFloat32;
  if (name == "float8" || name == "fp8" || name == "float8_e4m3fn") return DType::kFloat8;
  if (name == "int8") return DType::kInt8;
  if (name == "int4") return DType::kInt4;
  return DType::kUnknown;
}

std::string family_name(TransformerFamily family) {
  switch (family) {
    case TransformerFamily::kBert: return "bert";
    case TransformerFamily::kDebertaV2: return "deberta-v2";
    case TransformerFamily::kGpt2: return "gpt2";
    case TransformerFamily::kOpt: return "opt";
    case TransformerFamily::kGptJ: return "gptj";
    case TransformerFamily::kGptNeoX: return "gpt-neox";
    case TransformerFamily::kLlama: return "llama";
    case TransformerFamily::kDeepseekV3: return "deepseek-v3";
    case TransformerFamily::kSwitch: return "switch";
  }
  return "?";
}

TransformerConfig parse_transformer_config(const json& j, const std::string& source) {
  if (!j.is_object()) throw Error(fmt::format("config '{}': not a JSON object", source));
  if (!j.contains("model_type") || !j.at("model_type").is_string()) {
    throw Error(fmt::format("config '{}': missing field 'model_type'; perfcast cannot tell which architecture "
                            "this is and does not guess",
                            source));
  }
  TransformerConfig c;
  c.source = source;
  c.model_type = j.at("model_type").get<std::string>();
  const std::string& type = c.model_type;
  const Fields f(j, source, type);

  if (kStateSpace.count(type) || j.contains("hybrid_override_pattern") || j.contains("ssm_state_size") ||
      j.contains("state_size")) {
    throw Error(fmt::format("config '{}': model_type '{}' has state-space (Mamba-style) layers, which perfcast "
                            "does not model",
                            source, type));
  }
  if (j.contains("text_config") || j.contains("vision_config")) {
    throw Error(fmt::format("config '{}': model_type '{}' is a multimodal model (text_config/vision_config); "
                            "perfcast models text-only transformers",
                            source, type));
  }
  if (j.contains("layer_types") && j.at("layer_types").is_array()) {
    for (const auto& t : j.at("layer_types")) {
      const std::string name = t.is_string() ? t.get<std::string>() : "?";
      if (name != "full_attention" && name != "sliding_attention") {
        throw Error(fmt::format("config '{}': layer type '{}' is not modelled (full_attention and "
                                "sliding_attention are)",
                                source, name));
      }
    }
  }

  if (type == "bert" || type == "roberta" || type == "xlm-roberta" || type == "camembert" || type == "distilbert" ||
      type == "deberta-v2") {
    parse_bert(f, j, type, c);
  } else if (type == "gpt2") {
    parse_gpt2(f, c);
  } else if (type == "opt") {
    parse_opt(f, c);
  } else if (type == "gptj" || type == "gpt_neox") {
    parse_gptj_neox(f, type, c);
  } else if (type == "llama" || type == "mistral" || type == "mixtral" || type == "qwen2" || type == "qwen2_moe" ||
             type == "qwen3" || type == "qwen3_moe" || type == "gemma" || type == "gpt_oss") {
    parse_llama(f, j, type, c);
  } else if (type == "deepseek_v3" || type == "kimi_k2") {
    parse_deepseek(f, c, c);
  } else if (type == "switch_transformers") {
    parse_switch(f, c);
  } else {
    throw Error(fmt::format("config '{}': model_type '{}' is not modelled by perfcast (known: bert, roberta, "
                            "xlm-roberta, distilbert, deberta-v2, gpt2, opt, gptj, gpt_neox, llama, mistral, "
                            "mixtral, qwen2, qwen2_moe, qwen3, qwen3_moe, gemma, gpt_oss, deepseek_v3, kimi_k2, "
                            "switch_transformers)",
                            source, type));
  }
  if (c.num_kv_heads == 0) c.num_kv_heads = c.num_heads;
  if (c.num_heads == 0 || c.hidden_size == 0 || c.num_layers == 0)
    throw Error(fmt::format("config '{}': hidden size, layers and heads must be positive", source));
  if (c.head_dim == 0) {
    if (c.hidden_size % c.num_heads != 0)
      throw Error(fmt::format("config '{}': hidden_size {} is not a multiple of the {} heads; give head_dim", source,
                              c.hidden_size, c.num_heads));
    c.head_dim = c.hidden_size / c.num_heads;
  }
  if (c.num_heads % c.num_kv_heads != 0)
    throw Error(fmt::format("config '{}': {} attention heads are not a multiple of {} key/value heads", source,
                            c.num_heads, c.num_kv_heads));

  c.torch_dtype_name = f.string_or({"torch_dtype", "dtype"}, "");
  const DType dt = dtype_from_name(c.torch_dtype_name);
  c.torch_dtype = dt == DType::kUnknown ? (c.kind == TransformerKind::kEncoder ? DType::kFloat32 : DType::kBFloat16)
                                        : dt;
  if (j.contains("quantization_config") && j.at("quantization_config").is_object()) {
    const auto& q = j.at("quantization_config");
    c.quantization = q.value("quant_method", std::string("unknown"));
    if (q.contains("fmt") && q.at("fmt").is_string()) c.quantization += " " + q.at("fmt").get<std::string>();
    c.notes.push_back(fmt::format("checkpoint is quantized ({}); weights are costed at the workload's weight dtype",
                                  c.quantization));
  }
  return c;
}

TransformerConfig load_transformer_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(fmt::format("config '{}' cannot be read", path));
  json j;
  try {
    j = json::parse(in);
  } catch (const json::exception& e) {
    throw Error(fmt::format("config '{}' is not valid JSON: {}", path, e.what()));
  }
  return parse_transformer_config(j, path);
}

}  // namespace perfcast::graph
