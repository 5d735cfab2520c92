// Transformers from Hugging Face config.json expand into a Graph that summarize() counts like any
// ONNX model: parameters against the published figures, MACs against the closed form, KV-cache bytes.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "graph/graph_summary.h"
#include "graph/model_source.h"
#include "graph/transformer_graph.h"

namespace perfcast::graph {
namespace {

TransformerConfig bundled(const std::string& id) { return load_model_config(id); }

GraphSummary summary_of(const TransformerConfig& c, TransformerWorkload w = {}) {
  return summarize(build_transformer_graph(c, w));
}

void expect_within(double value, double published, double tolerance, const std::string& what) {
  EXPECT_LT(std::fabs(value - published) / published, tolerance) << what << ": " << value << " vs " << published;
}

struct Published {
  const char* id;
  double total;
  double active;  // 0: dense
};

TEST(TransformerGraph, ParamsMatchPublishedFigures) {
  const Published models[] = {
      {"bert-base-uncased", 109'482'240, 0},  // BertModel incl. pooler
      {"bert-large-uncased", 335'141'888, 0},  // BertModel incl. pooler
      {"bert-large", 335'141'888, 0},
      {"gpt2", 124'439'808, 0},                 // tied head
      {"llama-3.1-8b", 8.03e9, 0},
      {"llama-3.1-70b", 70.6e9, 0},
      {"mixtral-8x7b", 46.7e9, 12.9e9},
      {"qwen3-30b-a3b", 30.5e9, 3.3e9},
  };
  for (const auto& m : models) {
    const TransformerConfig c = bundled(m.id);
    const TransformerParams p = transformer_params(c);
    expect_within(static_cast<double>(p.total), m.total, 0.005, std::string(m.id) + " total");
    // Active figures are published to two digits (Qwen3-30B-A3B: "3.3B"; exact count 3.353B).
    if (m.active > 0) expect_within(static_cast<double>(p.active), m.active, 0.02, std::string(m.id) + " active");
    TransformerWorkload w;
    w.seq_len = 16;
    const GraphSummary s = summary_of(c, w);
    EXPECT_EQ(s.params, p.total) << m.id << ": graph parameters equal the closed form";
    EXPECT_TRUE(s.unknown_ops.empty()) << m.id;
    EXPECT_TRUE(s.incomplete_nodes.empty()) << m.id;
  }
  // Exact figures where Hugging Face's count is known to the parameter.
  EXPECT_EQ(transformer_params(bundled("bert-base-uncased")).total, 109'482'240);
  EXPECT_EQ(transformer_params(bundled("gpt2")).total, 124'439'808);
}

TEST(TransformerGraph, EveryBundledConfigExpands) {
  for (const auto& m : bundled_models()) {
    const TransformerConfig c = load_transformer_config(m.path);
    TransformerWorkload w;
    w.seq_len = 8;
    const GraphSummary s = summary_of(c, w);
    EXPECT_EQ(s.params, transformer_params(c).total) << m.id;
    EXPECT_GT(s.macs, 0) << m.id;
    EXPECT_TRUE(s.unknown_ops.empty()) << m.id;
    EXPECT_TRUE(s.incomplete_nodes.empty()) << m.id;
  }
}

TEST(TransformerGraph, EncoderMacsMatchClosedForm) {
  for (const char* id : {"bert-base-uncased", "bert-large-uncased", "roberta-base", "distilbert-base-uncased"}) {
    const TransformerConfig c = bundled(id);
    TransformerWorkload w;
    w.batch = 1;
    w.seq_len = 128;
    const double s = 128, d = static_cast<double>(c.hidden_size), ff = static_cast<double>(c.intermediate_size);
    const double L = static_cast<double>(c.num_layers);
    const double per_layer = 4 * s * d * d + 2 * s * s * d + 2 * s * d * ff;
    const double pooler = c.pooler ? d * d : 0;
    const GraphSummary summary = summary_of(c, w);
    EXPECT_DOUBLE_EQ(summary.macs, L * per_layer + pooler) << id;
    w.batch = 8;
    EXPECT_DOUBLE_EQ(summary_of(c, w).macs, 8 * (L * per_layer + pooler)) << id;
  }
}

int64_t graph_kv_bytes(const Graph& g) {
  int64_t bytes = 0;
  for (TensorId in : g.inputs) {
    const Tensor& t = g.tensor(in);
    if (t.name.find(".past_") != std::string::npos) bytes += t.size_bytes();
  }
  return bytes;
}

TEST(TransformerGraph, DecodeKvCacheBytesGqa) {
  const TransformerConfig c = bundled("llama-3.1-8b");
  TransformerWorkload w;
  w.batch = 4;
  w.seq_len = 1;
  w.context_len = 2048;
  w.kv_dtype = DType::kFloat16;
  const int64_t expected = 2LL * 32 * 8 * 128 * 2048 * 4 * 2;
  EXPECT_EQ(kv_cache_bytes(c, w), expected);
  const Graph g = build_transformer_graph(c, w);
  EXPECT_EQ(graph_kv_bytes(g), expected);
  // Decode attention: Q·Kᵀ and P·V over context+1 keys per head.
  const GraphSummary s = summarize(g);
  double attention_macs = 0;
  for (size_t n = 0; n < g.nodes.size(); ++n)
    if (g.nodes[n].name.find(".scores") != std::string::npos || g.nodes[n].name.find(".context") != std::string::npos)
      attention_macs += s.node_costs[n].macs;
  EXPECT_DOUBLE_EQ(attention_macs, 32.0 * 2 * 4 * 32 * 128 * 2049);
}

TEST(TransformerGraph, SlidingWindowCapsTheCache) {
  nlohmann::json j = {{"model_type", "mistral"},        {"hidden_size", 4096},   {"num_hidden_layers", 32},
                      {"num_attention_heads", 32},      {"num_key_value_heads", 8}, {"intermediate_size", 14336},
                      {"vocab_size", 32000},            {"sliding_window", 4096}, {"torch_dtype", "bfloat16"}};
  const TransformerConfig c = parse_transformer_config(j, "mistral-7b-v0.1.json");
  TransformerWorkload w;
  w.seq_len = 1;
  w.context_len = 10000;
  const int64_t expected = 2LL * 32 * 8 * 128 * 4096 * 1 * 2;
  EXPECT_EQ(kv_cache_bytes(c, w), expected);
  EXPECT_EQ(graph_kv_bytes(build_transformer_graph(c, w)), expected);

  // gpt-oss alternates sliding (128) and full layers.
  const TransformerConfig oss = bundled("gpt-oss-20b");
  const int64_t mixed = (12LL * 128 + 12LL * 10000) * 2 * 8 * 64 * 2;
  EXPECT_EQ(kv_cache_bytes(oss, w), mixed);
  EXPECT_EQ(graph_kv_bytes(build_transformer_graph(oss, w)), mixed);
}

TEST(TransformerGraph, MoeCostsActiveExpertsOnly) {
  const TransformerConfig c = bundled("mixtral-8x7b");
  TransformerWorkload w;
  w.seq_len = 1;
  w.context_len = 0;
  const GraphSummary s = summary_of(c, w);
  // One token: 2 of 8 experts, 3 matrices of 4096 x 14336 each, in 32 layers.
  double expert_macs = 0;
  for (const auto& op : s.ops)
    if (op.op_type == "MatMul") expert_macs += op.macs;
  const double d = 4096, ff = 14336;
  const double dense = 32 * (d * 4096 + 2 * d * 1024 + 4096 * d + d * 8) + d * 32000;  // attn + router + head
  EXPECT_DOUBLE_EQ(expert_macs, dense + 32 * 2 * 3 * d * ff + 32 * (2 * 32 * 128 * 1));
  EXPECT_EQ(s.params, transformer_params(c).total);
}

TEST(TransformerGraph, BuildsLargeModelsQuickly) {
  const TransformerConfig c = bundled("llama-3.1-70b");
  TransformerWorkload w;
  w.seq_len = 1;
  w.context_len = 4096;
  const auto start = std::chrono::steady_clock::now();
  const Graph g = build_transformer_graph(c, w);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  EXPECT_GT(g.nodes.size(), 80u * 20);
  EXPECT_LT(ms, 50.0);  // < 5 ms in release builds; generous for debug/sanitizer builds
}

std::string error_of(const nlohmann::json& j) {
  try {
    parse_transformer_config(j, "bad/config.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(TransformerConfigErrors, MissingFieldAndUnmodelledArchitectures) {
  const std::string missing = error_of({{"model_type", "llama"}, {"num_hidden_layers", 2}});
  EXPECT_NE(missing.find("hidden_size"), std::string::npos) << missing;
  EXPECT_NE(missing.find("bad/config.json"), std::string::npos) << missing;
  const std::string mamba = error_of({{"model_type", "mamba"}, {"hidden_size", 768}});
  EXPECT_NE(mamba.find("state-space"), std::string::npos) << mamba;
  const std::string hybrid =
      error_of({{"model_type", "nemotron_h"}, {"hybrid_override_pattern", "M-M*"}, {"hidden_size", 8}});
  EXPECT_NE(hybrid.find("state-space"), std::string::npos) << hybrid;
  const std::string unknown = error_of({{"model_type", "frobnicator"}});
  EXPECT_NE(unknown.find("not modelled"), std::string::npos) << unknown;
  EXPECT_NE(error_of({{"hidden_size", 8}}).find("model_type"), std::string::npos);
}

TEST(ModelSource, UnknownIdSuggestsCloseMatches) {
  try {
    load_model("llama-3.1-8", {});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("llama-3.1-8b"), std::string::npos) << e.what();
  }
  ModelLoadOptions o;
  o.import.batch = 8;
  o.seq_len = 128;
  const GraphSummary s = summarize(load_model("bert-base-uncased", o));
  EXPECT_EQ(s.params, 109'482'240);
  EXPECT_EQ(s.inputs.at(0).shape, (std::vector<int64_t>{8, 128}));
}

}  // namespace
}  // namespace perfcast::graph
