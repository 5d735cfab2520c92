// Liveness of activations: last-reader (a graph runtime) and eager PyTorch's module-scope rule.
#include "graph/activation_memory.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "graph/graph_summary.h"
#include "graph/module_scope.h"
#include "graph/onnx_import.h"
#include "support/onnx_builder.h"

namespace perfcast::graph {
namespace {

using testing::OnnxBuilder;

constexpr int64_t kBuffer = 1000 * 4;  // one [1, 1000] fp32 activation

// x -> stem -> a block of three ops -> head -> y. With `scoped`, the node names carry module scopes
// as torch.onnx.export writes them.
Graph stem_block_head(bool scoped, bool file_order_reversed = false) {
  OnnxBuilder b;
  b.input("x", {1, 1000});
  struct Op {
    const char* name;
    const char* in;
    const char* out;
  };
  std::vector<Op> ops = {{"/stem/Relu", "x", "a"},
                         {"/block/conv1/Relu", "a", "b"},
                         {"/block/conv2/Relu", "b", "c"},
                         {"/block/conv3/Relu", "c", "d"},
                         {"/head/Relu", "d", "y"}};
  if (file_order_reversed) std::reverse(ops.begin(), ops.end());
  for (const Op& op : ops) {
    auto& n = b.node("Relu", {op.in}, {op.out});
    if (scoped) n.set_name(op.name);
  }
  b.output("y");
  return import_onnx(b.save(scoped ? "scoped_chain.onnx" : "unscoped_chain.onnx"));
}

TEST(ModuleScope, EnclosingScopesOutermostFirst) {
  using V = std::vector<std::string_view>;
  EXPECT_EQ(enclosing_scopes("/layer1/layer1.0/conv1/Conv"), (V{"/layer1/", "/layer1/layer1.0/", "/layer1/layer1.0/conv1/"}));
  EXPECT_EQ(enclosing_scopes("/layer1/layer1.0/relu_1/Relu"), (V{"/layer1/", "/layer1/layer1.0/", "/layer1/layer1.0/relu_1/"}));
  EXPECT_TRUE(enclosing_scopes("/Flatten").empty());  // top level
  EXPECT_TRUE(enclosing_scopes("Conv_3").empty());    // not scoped
  EXPECT_TRUE(is_scoped_name("/Flatten"));
  EXPECT_FALSE(is_scoped_name("Identity_0"));
}

TEST(ActivationMemory, LastReaderFreesEachBufferAfterItsReader) {
  const Graph g = stem_block_head(false);
  EXPECT_FALSE(names_carry_module_scopes(g));
  const GraphSummary s = summarize(g);
  EXPECT_EQ(s.peak_activation_liveness, "last-reader");
  EXPECT_EQ(s.peak_activation_bytes, 2 * kBuffer);
}

// A tensor made outside a module call and read inside it lives until the call returns (the
// caller's frame holds it); the graph input lives to the end (the caller of the model holds it).
TEST(ActivationMemory, EagerModuleScopeKeepsArgumentsUntilTheModuleReturns) {
  const Graph g = stem_block_head(true);
  EXPECT_TRUE(names_carry_module_scopes(g));
  const GraphSummary s = summarize(g);
  EXPECT_EQ(s.peak_activation_liveness, "eager-module-scope");
  // In /block/conv2: x (input), a (the block's argument), b and c.
  EXPECT_EQ(s.peak_activation_bytes, 4 * kBuffer);
  EXPECT_EQ(s.peak_activation_node, "/block/conv2/Relu");
  // The same graph under last-reader liveness, asked for explicitly.
  EXPECT_EQ(activation_memory(g, g.topological_order(), Liveness::kLastReader).peak_bytes, 2 * kBuffer);
}

TEST(ActivationMemory, EagerLivenessUsesATopologicalOrderWhenTheFileIsNotOne) {
  const Graph g = stem_block_head(true, /*file_order_reversed=*/true);
  const std::vector<NodeId> order = execution_order(g);
  ASSERT_EQ(order.size(), 5u);
  EXPECT_EQ(g.node(order.front()).name, "/stem/Relu");
  EXPECT_EQ(g.node(order.back()).name, "/head/Relu");
}

}  // namespace
}  // namespace perfcast::graph
