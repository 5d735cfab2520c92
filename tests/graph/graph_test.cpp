#include "graph/graph.h"

#include <gtest/gtest.h>

#include "common/error.h"

namespace perfcast::graph {
namespace {

// a -> [Relu r1] -> b -> [Add add] -> d ; a -> [Relu r2] -> c -> add
Graph diamond() {
  Graph g;
  auto tensor = [&](const char* name, TensorKind kind) {
    Tensor t;
    t.name = name;
    t.kind = kind;
    t.dtype = DType::kFloat32;
    t.shape = {2, 3};
    t.shape_known = true;
    return g.add_tensor(t);
  };
  const TensorId a = tensor("a", TensorKind::kInput);
  const TensorId b = tensor("b", TensorKind::kActivation);
  const TensorId c = tensor("c", TensorKind::kActivation);
  const TensorId d = tensor("d", TensorKind::kActivation);
  g.inputs = {a};
  g.outputs = {d};
  g.nodes.push_back({.name = "add", .op_type = "Add", .inputs = {b, c}, .outputs = {d}});
  g.nodes.push_back({.name = "r1", .op_type = "Relu", .inputs = {a}, .outputs = {b}});
  g.nodes.push_back({.name = "r2", .op_type = "Relu", .inputs = {a}, .outputs = {c}});
  g.link();
  return g;
}

TEST(Graph, EdgesFollowDataFlowNotListOrder) {
  const Graph g = diamond();
  const auto edges = g.edges();
  ASSERT_EQ(edges.size(), 2u);
  for (const Edge& e : edges) EXPECT_EQ(e.to, 0);  // both Relus feed the Add listed first
  EXPECT_EQ(g.tensor(*g.find_tensor("a")).consumers.size(), 2u);
}

TEST(Graph, TopologicalOrderPutsProducersFirst) {
  const Graph g = diamond();
  const auto order = g.topological_order();
  ASSERT_EQ(order.size(), 3u);
  EXPECT_EQ(order.back(), 0);
}

TEST(Graph, CycleIsAnErrorNamingANode) {
  Graph g = diamond();
  // make r1 read the Add's output: add -> r1 -> add
  g.nodes[1].inputs = {*g.find_tensor("d")};
  g.link();
  try {
    g.topological_order();
    FAIL() << "a cycle must be reported";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cycle"), std::string::npos);
  }
}

TEST(Graph, ElementCountAndBytes) {
  Tensor t;
  t.dtype = DType::kFloat16;
  t.shape = {4, 5};
  t.shape_known = true;
  EXPECT_EQ(t.element_count(), 20);
  EXPECT_EQ(t.size_bytes(), 40);
  t.shape = {1LL << 40, 1LL << 40};
  EXPECT_THROW(t.element_count(), Error);
}

}  // namespace
}  // namespace perfcast::graph
