#include "graph/transformer_graph.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "common/error.h"

namespace perfcast::graph {
namespace {

using Shape = std::vector<int64_t>;

int64_t mlp_params(const TransformerConfig& c, int64_t ff, bool bias) {
  const int64_t d = c.hidden_size;
  return (c.gated_mlp ? 3 : 2) * d * ff + (bias ? (c.gated_mlp ? 2 * ff : ff) + d : 0);
}

int64_t norm_params(const TransformerConfig& c, int64_t dim) { return dim * (c.norm_bias ? 2 : 1); }

int64_t attention_params(const TransformerConfig& c) {
  const int64_t d = c.hidden_size, H = c.num_heads, KV = c.num_kv_heads, hd = c.head_dim;
  if (c.mla) {
    const int64_t qk = c.qk_nope_head_dim + c.qk_rope_head_dim;
    const int64_t q = c.q_lora_rank > 0 ? d * c.q_lora_rank + c.q_lora_rank + c.q_lora_rank * H * qk : d * H * qk;
    return q + d * (c.kv_lora_rank + c.qk_rope_head_dim) + c.kv_lora_rank +
           c.kv_lora_rank * H * (c.qk_nope_head_dim + c.v_head_dim) + H * c.v_head_dim * d;
  }
  int64_t p = d * H * hd + 2 * d * KV * hd + H * hd * d;
  if (c.attention_bias) p += H * hd + 2 * KV * hd;
  if (c.o_bias) p += d;
  if (c.qk_norm) p += 2 * hd;
  if (c.attention_sinks) p += H;
  return p;
}

int64_t expert_params(const TransformerConfig& c) { return mlp_params(c, c.moe_intermediate_size, c.expert_bias); }

int64_t moe_params(const TransformerConfig& c) {
  int64_t p = c.hidden_size * c.num_experts + (c.expert_bias ? c.num_experts : 0) + c.num_experts * expert_params(c);
  if (c.shared_expert_intermediate_size > 0) p += mlp_params(c, c.shared_expert_intermediate_size, false);
  if (c.shared_expert_gate) p += c.hidden_size;
  return p;
}

// ---------------------------------------------------------------------------------------------
// Graph construction helpers.
class Builder {
 public:
  Builder(const TransformerConfig& c, const TransformerWorkload& w) : c_(c), w_(w) {
    wdt_ = w.weight_dtype != DType::kUnknown ? w.weight_dtype : c.torch_dtype;
    adt_ = w.activation_dtype != DType::kUnknown ? w.activation_dtype
                                                : (is_floating(wdt_) ? wdt_ : DType::kBFloat16);
    kvdt_ = w.kv_dtype != DType::kUnknown ? w.kv_dtype : adt_;
    b_ = w.batch;
    s_ = w.seq_len;
    g_.name = c.source;
    g_.opset_version = 17;
  }

  Graph finish() {
    g_.link();
    return std::move(g_);
  }

  TensorId tensor(const std::string& name, Shape shape, DType dtype, TensorKind kind) {
    Tensor t;
    t.name = name;
    t.shape = std::move(shape);
    t.shape_known = true;
    t.dtype = dtype;
    t.kind = kind;
    return g_.add_tensor(std::move(t));
  }
  TensorId param(const std::string& name, Shape shape) {
    return tensor(name, std::move(shape), wdt_, TensorKind::kParameter);
  }
  TensorId input(const std::string& name, Shape shape, DType dtype) {
    const TensorId id = tensor(name, std::move(shape), dtype, TensorKind::kInput);
    g_.inputs.push_back(id);
    return id;
  }
  TensorId constant(const std::string& name, Shape shape, std::vector<int64_t> values = {}) {
    const TensorId id = tensor(name, std::move(shape), DType::kInt64, TensorKind::kConstant);
    if (!values.empty()) g_.tensor(id).int_values = std::move(values);
    return id;
  }
  void output(TensorId id) { g_.outputs.push_back(id); }

  // One node with one output named like the node.
  TensorId op(const std::string& type, const std::string& name, std::vector<TensorId> inputs, Shape out_shape,
              DType out_dtype = DType::kUnknown, std::map<std::string, Attribute> attrs = {}) {
    const TensorId out = tensor(name, std::move(out_shape), out_dtype == DType::kUnknown ? adt_ : out_dtype,
                                TensorKind::kActivation);
    Node n;
    n.name = name;
    n.op_type = type;
    n.inputs = std::move(inputs);
    n.outputs = {out};
    n.attributes = std::move(attrs);
    g_.nodes.push_back(std::move(n));
    return out;
  }
  Node& last_node() { return g_.nodes.back(); }
  const Shape& shape(TensorId id) const { return g_.tensor(id).shape; }

  static Attribute ints(std::vector<int64_t> v) {
    Attribute a;
    a.ints = std::move(v);
    return a;
  }
  static Attribute integer(int64_t v) {
    Attribute a;
    a.i = v;
    return a;
  }

  TensorId reshape(const std::string& name, TensorId x, Shape shape) {
    const TensorId target = constant(name + ".shape", {static_cast<int64_t>(shape.size())}, shape);
    return op("Reshape", name, {x, target}, std::move(shape), g_.tensor(x).dtype);
  }
  TensorId transpose(const std::string& name, TensorId x, std::vector<int64_t> perm) {
    Shape out;
    for (int64_t p : perm) out.push_back(shape(x)[static_cast<size_t>(p)]);
    return op("Transpose", name, {x}, out, g_.tensor(x).dtype, {{"perm", ints(std::move(perm))}});
  }
  TensorId binary(const std::string& type, const std::string& name, TensorId a, TensorId b) {
    Shape sa = shape(a), sb = shape(b);  // numpy broadcast
    const size_t rank = std::max(sa.size(), sb.size());
    Shape out(rank, 1);
    for (size_t i = 0; i < rank; ++i) {
      const int64_t da = i + sa.size() >= rank ? sa[i + sa.size() - rank] : 1;
      const int64_t db = i + sb.size() >= rank ? sb[i + sb.size() - rank] : 1;
      out[i] = std::max(da, db);
    }
    return op(type, name, {a, b}, out);
  }
  TensorId unary(const std::string& type, const std::string& name, TensorId x) {
    return op(type, name, {x}, shape(x));
  }

  // y = x·W (+ bias): W is [in, out] as in ONNX exports of nn.Linear.
  TensorId linear(const std::string& name, TensorId x, int64_t in, int64_t out, bool bias) {
    const TensorId w = param(name + ".weight", {in, out});
    Shape s = shape(x);
    s.back() = out;
    TensorId y = op("MatMul", name, {x, w}, s);
    if (bias) y = binary("Add", name + ".bias_add", y, param(name + ".bias", {out}));
    return y;
  }

  TensorId norm(const std::string& name, TensorId x, int64_t dim) {
    const auto axis = Attribute{.i = -1};
    if (c_.norm == NormKind::kRMSNorm)
      return op("SimplifiedLayerNormalization", name, {x, param(name + ".weight", {dim})}, shape(x), DType::kUnknown,
                {{"axis", axis}});
    std::vector<TensorId> in{x, param(name + ".weight", {dim})};
    if (c_.norm_bias) in.push_back(param(name + ".bias", {dim}));
    return op("LayerNormalization", name, in, shape(x), DType::kUnknown, {{"axis", axis}});
  }

  TensorId activation(const std::string& name, TensorId x) {
    switch (c_.activation) {
      case MlpActivation::kGelu: return unary("Gelu", name, x);
      case MlpActivation::kRelu: return unary("Relu", name, x);
      case MlpActivation::kSilu: return binary("Mul", name, x, unary("Sigmoid", name + ".sigmoid", x));
    }
    return x;
  }

  // Dense MLP of width ff on x [..., d].
  TensorId mlp(const std::string& name, TensorId x, int64_t ff, bool bias) {
    const int64_t d = c_.hidden_size;
    if (c_.gated_mlp) {
      const TensorId gate = linear(name + ".gate_proj", x, d, ff, bias);
      const TensorId up = linear(name + ".up_proj", x, d, ff, bias);
      const TensorId h = binary("Mul", name + ".gate_mul", activation(name + ".act", gate), up);
      return linear(name + ".down_proj", h, ff, d, bias);
    }
    const TensorId up = linear(name + ".fc1", x, d, ff, bias);
    return linear(name + ".fc2", activation(name + ".act", up), ff, d, bias);
  }

  // Mixture of experts on x [b, s, d]: returns [b, s, d] (to be added to the residual).
  TensorId moe(const std::string& name, TensorId x) {
    const int64_t d = c_.hidden_size, E = c_.num_experts, k = c_.experts_per_token, fe = c_.moe_intermediate_size;
    const int64_t T = b_ * s_;
    const TensorId x2 = reshape(name + ".tokens", x, {T, d});
    TensorId logits = op("MatMul", name + ".router", {x2, param(name + ".router.weight", {d, E})}, {T, E});
    if (c_.expert_bias) logits = binary("Add", name + ".router.bias_add", logits, param(name + ".router.bias", {E}));
    const TensorId scores = c_.router_sigmoid ? unary("Sigmoid", name + ".router.scores", logits)
                                              : op("Softmax", name + ".router.scores", {logits}, {T, E},
                                                   DType::kUnknown, {{"axis", integer(-1)}});
    const TensorId kk = constant(name + ".top_k", {1}, {k});
    const TensorId topk_values = op("TopK", name + ".router.topk", {scores, kk}, {T, k});
    const TensorId topk_indices = tensor(name + ".router.topk.indices", {T, k}, DType::kInt64, TensorKind::kActivation);
    last_node().outputs.push_back(topk_indices);
    last_node().attributes["axis"] = integer(-1);

    // Distinct experts hit by T tokens each choosing k of E (uniform routing), and the token slots each gets.
    const double expected = static_cast<double>(E) *
                            (1.0 - std::pow(1.0 - static_cast<double>(k) / static_cast<double>(E),
                                            static_cast<double>(T)));
    const int64_t A = std::clamp<int64_t>(static_cast<int64_t>(std::ceil(expected - 1e-9)), std::min(k, E), E);
    const int64_t n = (T * k + A - 1) / A;

    const TensorId dispatched = op("Gather", name + ".dispatch", {x2, topk_indices}, {A, n, d}, DType::kUnknown,
                                   {{"axis", integer(0)}});
    std::vector<TensorId> idle;
    auto expert_weight = [&](const std::string& w, Shape per_expert) {
      Shape active{A}, rest{E - A};
      active.insert(active.end(), per_expert.begin(), per_expert.end());
      rest.insert(rest.end(), per_expert.begin(), per_expert.end());
      if (E > A) idle.push_back(param(name + ".experts.idle." + w, rest));
      return param(name + ".experts.active." + w, active);
    };
    auto expert_linear = [&](const std::string& w, TensorId in, int64_t fin, int64_t fout) {
      TensorId y = op("MatMul", name + ".experts." + w, {in, expert_weight(w + ".weight", {fin, fout})}, {A, n, fout});
      if (c_.expert_bias)
        y = binary("Add", name + ".experts." + w + ".bias_add", y, expert_weight(w + ".bias", {1, fout}));
      return y;
    };
    TensorId h;
    if (c_.gated_mlp) {
      const TensorId gate = expert_linear("gate_proj", dispatched, d, fe);
      const TensorId up = expert_linear("up_proj", dispatched, d, fe);
      h = binary("Mul", name + ".experts.gate_mul", activation(name + ".experts.act", gate), up);
    } else {
      h = activation(name + ".experts.act", expert_linear("fc1", dispatched, d, fe));
    }
    const TensorId down = expert_linear(c_.gated_mlp ? "down_proj" : "fc2", h, fe, d);
    if (!idle.empty()) {
      // Resident but untouched this step: a view node that reads nothing (0 bytes) and carries them.
      op("Reshape", name + ".experts.idle", idle, {0});
    }

    TensorId base;
    if (c_.shared_expert_intermediate_size > 0) {
      base = mlp(name + ".shared_expert", x2, c_.shared_expert_intermediate_size, false);
      if (c_.shared_expert_gate) {
        const TensorId g = op("MatMul", name + ".shared_expert_gate", {x2, param(name + ".shared_expert_gate.weight", {d, 1})},
                              {T, 1});
        base = binary("Mul", name + ".shared_expert_gated", base, unary("Sigmoid", name + ".shared_expert_gate.sigmoid", g));
      }
    } else {
      base = op("ConstantOfShape", name + ".zeros", {constant(name + ".zeros.shape", {2}, {T, d})}, {T, d});
    }
    // Weighted sum of the top-k expert outputs back into token order.
    const TensorId combined = op("ScatterND", name + ".combine", {base, topk_indices, down, topk_values}, {T, d},
                                 DType::kUnknown, {{"reduction", Attribute{.s = std::string("add")}}});
    return reshape(name + ".out", combined, {b_, s_, d});
  }

  // Multi-head attention of q_in [b, s, d] over keys/values from kv_in [b, s_kv, d] (self: kv_in == q_in).
  // past: cached tokens (0: no cache inputs); cache_out: present K/V become graph outputs.
  TensorId attention(const std::string& name, TensorId q_in, TensorId kv_in, int64_t past, int64_t attended,
                     bool cache_out, TensorId position_bias = kNoTensor) {
    const int64_t d = c_.hidden_size, H = c_.num_heads, KV = c_.num_kv_heads, hd = c_.head_dim, grp = H / KV;
    const int64_t s_kv = shape(kv_in)[1];
    TensorId q = linear(name + ".q_proj", q_in, d, H * hd, c_.attention_bias);
    TensorId k = linear(name + ".k_proj", kv_in, d, KV * hd, c_.attention_bias);
    const TensorId v = linear(name + ".v_proj", kv_in, d, KV * hd, c_.attention_bias);
    if (c_.qk_norm) {
      q = norm(name + ".q_norm", reshape(name + ".q_heads", q, {b_, s_, H, hd}), hd);
      k = norm(name + ".k_norm", reshape(name + ".k_heads", k, {b_, s_kv, KV, hd}), hd);
    }
    // Keys transposed to [b, KV, hd, s] so that scores are a plain MatMul.
    const TensorId k4 = reshape(name + ".k_split", k, {b_, s_kv, KV, hd});
    TensorId kT = transpose(name + ".k_transpose", k4, {0, 2, 3, 1});
    const TensorId v4 = reshape(name + ".v_split", v, {b_, s_kv, KV, hd});
    TensorId vt = transpose(name + ".v_transpose", v4, {0, 2, 1, 3});
    if (past > 0) {
      const TensorId pk = input(name + ".past_key", {b_, KV, hd, past}, kvdt_);
      const TensorId pv = input(name + ".past_value", {b_, KV, past, hd}, kvdt_);
      kT = op("Concat", name + ".present_key", {pk, kT}, {b_, KV, hd, past + s_kv}, kvdt_, {{"axis", integer(3)}});
      vt = op("Concat", name + ".present_value", {pv, vt}, {b_, KV, past + s_kv, hd}, kvdt_, {{"axis", integer(2)}});
    }
    if (cache_out) {
      output(kT);
      output(vt);
    }
    const TensorId q5 = reshape(name + ".q_split", q, {b_, s_, KV, grp, hd});
    const TensorId qt = transpose(name + ".q_transpose", q5, {0, 2, 3, 1, 4});
    const TensorId q4 = reshape(name + ".q_grouped", qt, {b_, KV, grp * s_, hd});
    TensorId scores = op("MatMul", name + ".scores", {q4, kT}, {b_, KV, grp * s_, attended});
    scores = binary("Mul", name + ".scale", scores, tensor(name + ".scale.value", {}, adt_, TensorKind::kConstant));
    if (c_.family == TransformerFamily::kDebertaV2 && c_.relative_position_rows > 0) scores = deberta(name, scores, q4, kT);
    if (position_bias != kNoTensor) scores = binary("Add", name + ".position_bias", scores, position_bias);
    std::vector<TensorId> softmax_in{scores};
    if (c_.attention_sinks) softmax_in.push_back(param(name + ".sinks", {H}));
    const TensorId probs = op("Softmax", name + ".softmax", softmax_in, shape(scores), DType::kUnknown,
                              {{"axis", integer(-1)}});
    const TensorId ctx = op("MatMul", name + ".context", {probs, vt}, {b_, KV, grp * s_, hd});
    const TensorId c5 = reshape(name + ".context_split", ctx, {b_, KV, grp, s_, hd});
    const TensorId ct = transpose(name + ".context_transpose", c5, {0, 3, 1, 2, 4});
    const TensorId merged = reshape(name + ".context_merge", ct, {b_, s_, H * hd});
    return linear(name + ".o_proj", merged, H * hd, d, c_.o_bias);
  }

  // DeBERTa disentangled attention: c2p and p2c scores against the shared relative-position table.
  TensorId deberta(const std::string& name, TensorId scores, TensorId q4, TensorId kT) {
    const int64_t H = c_.num_heads, hd = c_.head_dim, d = c_.hidden_size, R = c_.relative_position_rows;
    const TensorId rel = relative_table();
    // share_att_key: the table goes through this layer's key and query projections.
    const TensorId wk = *g_.find_tensor(name + ".k_proj.weight");
    const TensorId wq = *g_.find_tensor(name + ".q_proj.weight");
    const TensorId pos_k = op("MatMul", name + ".pos_key", {rel, wk}, {R, d});
    const TensorId pos_q = op("MatMul", name + ".pos_query", {rel, wq}, {R, d});
    const TensorId pos_kT = transpose(name + ".pos_key_t", reshape(name + ".pos_key_heads", pos_k, {R, H, hd}), {1, 2, 0});
    const TensorId pos_qh = transpose(name + ".pos_query_t", reshape(name + ".pos_query_heads", pos_q, {R, H, hd}), {1, 0, 2});
    const TensorId c2p = op("MatMul", name + ".c2p", {q4, pos_kT}, {b_, H, s_, R});
    const TensorId p2c = op("MatMul", name + ".p2c", {pos_qh, kT}, {b_, H, R, s_});
    const TensorId idx = constant(name + ".rel_index", {1, 1, s_, s_});
    const TensorId c2p_g = op("GatherElements", name + ".c2p_gather", {c2p, idx}, {b_, H, s_, s_}, DType::kUnknown,
                              {{"axis", integer(3)}});
    const TensorId p2c_g = op("GatherElements", name + ".p2c_gather", {p2c, idx}, {b_, H, s_, s_}, DType::kUnknown,
                              {{"axis", integer(2)}});
    return binary("Add", name + ".p2c_add", binary("Add", name + ".c2p_add", scores, c2p_g), p2c_g);
  }

  TensorId relative_table() {
    if (rel_table_ == kNoTensor) {
      const TensorId table = param("encoder.rel_embeddings.weight", {c_.relative_position_rows, c_.hidden_size});
      rel_table_ = op("LayerNormalization", "encoder.rel_embeddings.norm",
                      {table, param("encoder.rel_embeddings.norm.weight", {c_.hidden_size}),
                       param("encoder.rel_embeddings.norm.bias", {c_.hidden_size})},
                      shape(table), DType::kUnknown, {{"axis", integer(-1)}});
    }
    return rel_table_;
  }

  // MLA (deepseek_v3), un-absorbed: latent cache, decompressed for every cached token each step.
  TensorId mla_attention(const std::string& name, TensorId x, int64_t past) {
    const int64_t d = c_.hidden_size, H = c_.num_heads, nope = c_.qk_nope_head_dim, rope = c_.qk_rope_head_dim;
    const int64_t vd = c_.v_head_dim, kvl = c_.kv_lora_rank, qk = nope + rope, L = past + s_;
    TensorId q;
    if (c_.q_lora_rank > 0) {
      const TensorId qa = norm(name + ".q_a_layernorm", linear(name + ".q_a_proj", x, d, c_.q_lora_rank, false),
                               c_.q_lora_rank);
      q = linear(name + ".q_b_proj", qa, c_.q_lora_rank, H * qk, false);
    } else {
      q = linear(name + ".q_proj", x, d, H * qk, false);
    }
    const TensorId qt = transpose(name + ".q_transpose", reshape(name + ".q_split", q, {b_, s_, H, qk}), {0, 2, 1, 3});
    const TensorId kv_a = linear(name + ".kv_a_proj_with_mqa", x, d, kvl + rope, false);
    TensorId latent = reshape(name + ".latent", kv_a, {b_, 1, s_, kvl + rope});
    if (past > 0) {
      const TensorId pl = input(name + ".past_latent", {b_, 1, past, kvl + rope}, kvdt_);
      latent = op("Concat", name + ".present_latent", {pl, latent}, {b_, 1, L, kvl + rope}, kvdt_, {{"axis", integer(2)}});
    }
    output(latent);
    const TensorId c_kv = op("Split", name + ".latent_split", {latent}, {b_, 1, L, kvl}, DType::kUnknown,
                             {{"axis", integer(3)}});
    const TensorId k_pe = tensor(name + ".latent_split.rope", {b_, 1, L, rope}, adt_, TensorKind::kActivation);
    last_node().outputs.push_back(k_pe);
    const TensorId kv = linear(name + ".kv_b_proj", norm(name + ".kv_a_layernorm", c_kv, kvl), kvl, H * (nope + vd), false);
    const TensorId kvt = transpose(name + ".kv_transpose", reshape(name + ".kv_heads", kv, {b_, L, H, nope + vd}), {0, 2, 1, 3});
    const TensorId k_nope = op("Split", name + ".kv_split", {kvt}, {b_, H, L, nope}, DType::kUnknown, {{"axis", integer(3)}});
    const TensorId v = tensor(name + ".kv_split.value", {b_, H, L, vd}, adt_, TensorKind::kActivation);
    last_node().outputs.push_back(v);
    const TensorId k_pe_h = op("Expand", name + ".k_pe_expand", {k_pe, constant(name + ".k_pe_expand.shape", {4}, {b_, H, L, rope})},
                               {b_, H, L, rope});
    const TensorId key = op("Concat", name + ".key", {k_nope, k_pe_h}, {b_, H, L, qk}, DType::kUnknown, {{"axis", integer(3)}});
    const TensorId kT = transpose(name + ".key_transpose", key, {0, 1, 3, 2});
    TensorId scores = op("MatMul", name + ".scores", {qt, kT}, {b_, H, s_, L});
    scores = binary("Mul", name + ".scale", scores, tensor(name + ".scale.value", {}, adt_, TensorKind::kConstant));
    const TensorId probs = op("Softmax", name + ".softmax", {scores}, shape(scores), DType::kUnknown, {{"axis", integer(-1)}});
    const TensorId ctx = op("MatMul", name + ".context", {probs, v}, {b_, H, s_, vd});
    const TensorId merged = reshape(name + ".context_merge", transpose(name + ".context_transpose", ctx, {0, 2, 1, 3}),
                                    {b_, s_, H * vd});
    return linear(name + ".o_proj", merged, H * vd, d, false);
  }

  TensorId embed_tokens(const std::string& ids_name, TensorId table, int64_t width) {
    const TensorId ids = input(ids_name, {b_, s_}, DType::kInt64);
    return op("Gather", "embed_tokens", {table, ids}, {b_, s_, width}, DType::kUnknown, {{"axis", integer(0)}});
  }

  TensorId add_learned_positions(TensorId x) {
    if (c_.learned_positions == 0) return x;
    const TensorId table = param("embed_positions.weight", {c_.learned_positions, c_.hidden_size});
    const TensorId pos_ids = constant("position_ids", {1, s_});
    const TensorId pos = op("Gather", "embed_positions", {table, pos_ids}, {1, s_, c_.hidden_size}, DType::kUnknown,
                            {{"axis", integer(0)}});
    return binary("Add", "embeddings.add_positions", x, pos);
  }

  // Output projection to the vocabulary; tied weights reuse the embedding table through Gemm(transB).
  void lm_head(TensorId x, TensorId embed_table, int64_t width) {
    const int64_t V = c_.vocab_size;
    int64_t tokens = s_;
    if (w_.lm_head_last_token_only && s_ > 1) {  // serving prefill: only the last position is sampled
      x = op("Gather", "lm_head.last_token", {x, constant("lm_head.last_index", {1}, {s_ - 1})}, {b_, 1, width},
             DType::kUnknown, {{"axis", integer(1)}});
      tokens = 1;
    }
    TensorId logits;
    if (c_.tied_embeddings) {
      const TensorId x2 = reshape("lm_head.tokens", x, {b_ * tokens, width});
      logits = op("Gemm", "lm_head", {x2, embed_table}, {b_ * tokens, V}, DType::kUnknown, {{"transB", integer(1)}});
    } else {
      logits = linear("lm_head", x, width, V, c_.family == TransformerFamily::kGptJ);
    }
    output(logits);
  }

  int64_t past_for(int64_t layer) const {
    return c_.layer_is_sliding(layer) ? std::min(w_.context_len, c_.sliding_window) : w_.context_len;
  }
  int64_t attended_for(int64_t layer) const {
    const int64_t keys = past_for(layer) + s_;
    return c_.layer_is_sliding(layer) ? std::min(keys, c_.sliding_window) : keys;
  }

  // ------------------------------------------------------------------------------------------
  void build_bert() {
    const int64_t d = c_.hidden_size;
    const TensorId table = param("embed_tokens.weight", {c_.vocab_size, d});
    TensorId x = add_learned_positions(embed_tokens("input_ids", table, d));
    if (c_.type_vocab_size > 0) {
      const TensorId types = input("token_type_ids", {b_, s_}, DType::kInt64);
      const TensorId t = op("Gather", "embed_token_types", {param("embed_token_types.weight", {c_.type_vocab_size, d}), types},
                            {b_, s_, d}, DType::kUnknown, {{"axis", integer(0)}});
      x = binary("Add", "embeddings.add_token_types", x, t);
    }
    x = norm("embeddings.norm", x, d);
    for (int64_t l = 0; l < c_.num_layers; ++l) {
      const std::string p = fmt::format("layers.{}", l);
      const TensorId a = attention(p + ".attn", x, x, 0, s_, false);
      x = norm(p + ".attn_norm", binary("Add", p + ".attn_residual", x, a), d);
      const TensorId m = mlp(p + ".mlp", x, c_.intermediate_size, c_.mlp_bias);
      x = norm(p + ".mlp_norm", binary("Add", p + ".mlp_residual", x, m), d);
    }
    output(x);
    if (c_.pooler) {
      const TensorId first = op("Gather", "pooler.first_token", {x, constant("pooler.index", {}, {0})}, {b_, d},
                                DType::kUnknown, {{"axis", integer(1)}});
      output(unary("Tanh", "pooler.tanh", linear("pooler.dense", first, d, d, true)));
    }
  }

  void build_decoder() {
    const int64_t d = c_.hidden_size;
    const bool opt_proj = c_.family == TransformerFamily::kOpt && c_.opt_embed_proj_dim > 0;
    const int64_t ew = opt_proj ? c_.opt_embed_proj_dim : d;
    const TensorId table = param("embed_tokens.weight", {c_.vocab_size, ew});
    TensorId x = embed_tokens("input_ids", table, ew);
    if (opt_proj) x = linear("project_in", x, ew, d, false);
    x = add_learned_positions(x);
    const bool parallel = c_.parallel_residual;
    const bool single_norm = c_.family == TransformerFamily::kGptJ;
    for (int64_t l = 0; l < c_.num_layers; ++l) {
      const std::string p = fmt::format("layers.{}", l);
      const TensorId n1 = norm(p + ".input_norm", x, d);
      const TensorId a = c_.mla ? mla_attention(p + ".attn", n1, w_.context_len)
                                : attention(p + ".attn", n1, n1, past_for(l), attended_for(l), true);
      if (parallel) {
        const TensorId n2 = single_norm ? n1 : norm(p + ".post_attention_norm", x, d);
        const TensorId m = mlp(p + ".mlp", n2, c_.intermediate_size, c_.mlp_bias);
        x = binary("Add", p + ".mlp_residual", binary("Add", p + ".attn_residual", x, a), m);
        continue;
      }
      x = binary("Add", p + ".attn_residual", x, a);
      const TensorId n2 = norm(p + ".post_attention_norm", x, d);
      const TensorId m = c_.layer_is_moe(l) ? moe(p + ".moe", n2) : mlp(p + ".mlp", n2, c_.intermediate_size, c_.mlp_bias);
      x = binary("Add", p + ".mlp_residual", x, m);
    }
    x = norm("final_norm", x, d);
    if (opt_proj) x = linear("project_out", x, d, ew, false);
    if (w_.include_lm_head) lm_head(x, table, ew);
    else output(x);
  }

  // T5-style relative position bias of one stack: Gather(table [buckets, H], bucket ids) -> [1, H, s, L].
  TensorId position_bias(const std::string& stack, int64_t keys) {
    const int64_t H = c_.num_heads;
    const TensorId table = param(stack + ".relative_attention_bias.weight", {c_.relative_attention_buckets, H});
    const TensorId buckets = constant(stack + ".relative_buckets", {s_, keys});
    const TensorId g = op("Gather", stack + ".position_bias", {table, buckets}, {s_, keys, H}, DType::kUnknown,
                          {{"axis", integer(0)}});
    return reshape(stack + ".position_bias_heads", transpose(stack + ".position_bias_t", g, {2, 0, 1}), {1, H, s_, keys});
  }

  void build_switch() {
    const int64_t d = c_.hidden_size;
    const TensorId table = param("shared.weight", {c_.vocab_size, d});
    // Encoder.
    TensorId x = embed_tokens("input_ids", table, d);
    TensorId bias = position_bias("encoder", s_);
    for (int64_t l = 0; l < c_.num_layers; ++l) {
      const std::string p = fmt::format("encoder.layers.{}", l);
      const TensorId n1 = norm(p + ".attn_norm", x, d);
      x = binary("Add", p + ".attn_residual", x, attention(p + ".attn", n1, n1, 0, s_, false, bias));
      const TensorId n2 = norm(p + ".ff_norm", x, d);
      const bool sparse = c_.encoder_moe_layers[static_cast<size_t>(l)];
      x = binary("Add", p + ".ff_residual", x, sparse ? moe(p + ".moe", n2) : mlp(p + ".mlp", n2, c_.intermediate_size, false));
    }
    const TensorId enc = norm("encoder.final_norm", x, d);
    // Decoder (teacher-forced over seq_len tokens).
    const TensorId ids = input("decoder_input_ids", {b_, s_}, DType::kInt64);
    x = op("Gather", "decoder.embed_tokens", {table, ids}, {b_, s_, d}, DType::kUnknown, {{"axis", integer(0)}});
    bias = position_bias("decoder", s_);
    for (int64_t l = 0; l < c_.num_decoder_layers; ++l) {
      const std::string p = fmt::format("decoder.layers.{}", l);
      const TensorId n1 = norm(p + ".self_attn_norm", x, d);
      x = binary("Add", p + ".self_attn_residual", x, attention(p + ".self_attn", n1, n1, 0, s_, false, bias));
      const TensorId n2 = norm(p + ".cross_attn_norm", x, d);
      x = binary("Add", p + ".cross_attn_residual", x, attention(p + ".cross_attn", n2, enc, 0, s_, false));
      const TensorId n3 = norm(p + ".ff_norm", x, d);
      x = binary("Add", p + ".ff_residual", x, c_.layer_is_moe(l) ? moe(p + ".moe", n3) : mlp(p + ".mlp", n3, c_.intermediate_size, false));
    }
    x = norm("decoder.final_norm", x, d);
    if (w_.include_lm_head) lm_head(x, table, d);
    else output(x);
  }

 private:
  const TransformerConfig& c_;
  const TransformerWorkload& w_;
  Graph g_;
  DType wdt_, adt_, kvdt_;
  int64_t b_ = 1, s_ = 1;
  TensorId rel_table_ = kNoTensor;
};

void check_workload(const TransformerConfig& c, const TransformerWorkload& w) {
  if (w.batch <= 0 || w.seq_len <= 0)
    throw Error(fmt::format("'{}': batch ({}) and seq_len ({}) must be positive", c.source, w.batch, w.seq_len));
  if (w.context_len < 0) throw Error(fmt::format("'{}': context_len must not be negative", c.source));
  if (w.context_len > 0 && c.kind != TransformerKind::kDecoder)
    throw Error(fmt::format("'{}': a {} model has no KV cache; context_len must be 0", c.source,
                            c.kind == TransformerKind::kEncoder ? "encoder" : "encoder-decoder"));
  if (c.learned_positions > 0 && w.context_len + w.seq_len > c.max_position_embeddings)
    throw Error(fmt::format("'{}': {} tokens exceed the model's {} learned positions", c.source,
                            w.context_len + w.seq_len, c.max_position_embeddings));
}

}  // namespace

TransformerParams transformer_params(const TransformerConfig& c) {
  const int64_t d = c.hidden_size, V = c.vocab_size;
  TransformerParams p;
  int64_t total = 0, idle = 0;
  const int64_t inactive_experts = c.num_experts - c.experts_per_token;
  if (c.family == TransformerFamily::kSwitch) {
    total += V * d;  // shared embedding (tied head)
    if (!c.tied_embeddings) total += V * d;
    total += 2 * c.relative_attention_buckets * c.num_heads + 2 * d;  // biases of both stacks, final norms
    const int64_t dense = mlp_params(c, c.intermediate_size, false);
    for (int64_t l = 0; l < c.num_layers; ++l) {
      total += 2 * d + attention_params(c);
      const bool sparse = c.encoder_moe_layers[static_cast<size_t>(l)];
      total += sparse ? moe_params(c) : dense;
      if (sparse) idle += inactive_experts * expert_params(c);
    }
    for (int64_t l = 0; l < c.num_decoder_layers; ++l) {
      total += 3 * d + 2 * attention_params(c);
      total += c.layer_is_moe(l) ? moe_params(c) : dense;
      if (c.layer_is_moe(l)) idle += inactive_experts * expert_params(c);
    }
    return {total, total - idle};
  }
  const int64_t ew = c.opt_embed_proj_dim > 0 ? c.opt_embed_proj_dim : d;
  total += V * ew + c.learned_positions * d + c.type_vocab_size * d;
  if (c.opt_embed_proj_dim > 0) total += 2 * ew * d;
  const int64_t layer_norms = c.family == TransformerFamily::kGptJ ? 1 : 2;
  for (int64_t l = 0; l < c.num_layers; ++l) {
    total += layer_norms * norm_params(c, d) + attention_params(c);
    if (c.layer_is_moe(l)) {
      total += moe_params(c);
      idle += inactive_experts * expert_params(c);
    } else {
      total += mlp_params(c, c.intermediate_size, c.mlp_bias);
    }
  }
  total += norm_params(c, d);  // final norm (BERT: the embedding norm)
  if (c.pooler) total += d * d + d;
  if (c.relative_position_rows > 0) total += c.relative_position_rows * d + 2 * d;
  if (c.lm_head && !c.tied_embeddings) total += V * ew + (c.family == TransformerFamily::kGptJ ? V : 0);
  p.total = total;
  p.active = total - idle;
  return p;
}

int64_t kv_cache_bytes(const TransformerConfig& c, const TransformerWorkload& w) {
  if (c.kind != TransformerKind::kDecoder || w.context_len == 0) return 0;
  DType wdt = w.weight_dtype != DType::kUnknown ? w.weight_dtype : c.torch_dtype;
  DType adt = w.activation_dtype != DType::kUnknown ? w.activation_dtype : (is_floating(wdt) ? wdt : DType::kBFloat16);
  DType kvdt = w.kv_dtype != DType::kUnknown ? w.kv_dtype : adt;
  int64_t elements = 0;
  for (int64_t l = 0; l < c.num_layers; ++l) {
    const int64_t past = c.layer_is_sliding(l) ? std::min(w.context_len, c.sliding_window) : w.context_len;
    elements += c.mla ? w.batch * past * (c.kv_lora_rank + c.qk_rope_head_dim)
                      : 2 * w.batch * c.num_kv_heads * c.head_dim * past;
  }
  return elements * dtype_size_bits(kvdt) / 8;
}

Graph build_transformer_graph(const TransformerConfig& config, const TransformerWorkload& workload) {
  check_workload(config, workload);
  Builder b(config, workload);
  switch (config.family) {
    case TransformerFamily::kBert:
    case TransformerFamily::kDebertaV2: b.build_bert(); break;
    case TransformerFamily::kSwitch: b.build_switch(); break;
    default: b.build_decoder(); break;
  }
  return b.finish();
}

}  // namespace perfcast::graph
