#include "predict/saved_activations.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "graph/graph_summary.h"
#include "graph/onnx_import.h"
#include "support/fixtures.h"

namespace perfcast::predict {
namespace {

using graph::Graph;
using graph::TensorId;
using graph::TensorKind;

TensorId add(Graph& g, const std::string& name, TensorKind kind, std::vector<int64_t> shape) {
  graph::Tensor t;
  t.name = name;
  t.kind = kind;
  t.dtype = graph::DType::kFloat32;
  t.shape = std::move(shape);
  t.shape_known = true;
  return g.add_tensor(t);
}

// x -> Conv -> c -> BN -> b -> Relu -> r -> MaxPool -> p -> Add(p, p2) -> s -> Dropout -> d
TEST(SavedActivations, EachOperatorKeepsWhatItsBackwardReads) {
  Graph g;
  const TensorId x = add(g, "x", TensorKind::kInput, {1, 4, 8, 8});  // 1,024 B
  const TensorId w = add(g, "w", TensorKind::kParameter, {4, 4, 3, 3});
  const TensorId c = add(g, "c", TensorKind::kActivation, {1, 4, 8, 8});
  const TensorId gamma = add(g, "gamma", TensorKind::kParameter, {4});
  const TensorId b = add(g, "b", TensorKind::kActivation, {1, 4, 8, 8});
  const TensorId r = add(g, "r", TensorKind::kActivation, {1, 4, 8, 8});
  const TensorId p = add(g, "p", TensorKind::kActivation, {1, 4, 4, 4});  // 64 elements
  const TensorId p2 = add(g, "p2", TensorKind::kInput, {1, 4, 4, 4});
  const TensorId s = add(g, "s", TensorKind::kActivation, {1, 4, 4, 4});
  const TensorId d = add(g, "d", TensorKind::kActivation, {1, 4, 4, 4});
  g.inputs = {x, p2};
  g.outputs = {d};
  g.nodes.push_back({.name = "conv", .op_type = "Conv", .inputs = {x, w}, .outputs = {c}});
  g.nodes.push_back({.name = "bn", .op_type = "BatchNormalization", .inputs = {c, gamma}, .outputs = {b}});
  g.nodes.push_back({.name = "relu", .op_type = "Relu", .inputs = {b}, .outputs = {r}});
  g.nodes.push_back({.name = "pool", .op_type = "MaxPool", .inputs = {r}, .outputs = {p}});
  g.nodes.push_back({.name = "add", .op_type = "Add", .inputs = {p, p2}, .outputs = {s}});
  g.nodes.push_back({.name = "drop", .op_type = "Dropout", .inputs = {s}, .outputs = {d}});
  g.link();
  const SavedActivations saved = saved_for_backward(g);
  // Conv keeps x, BN keeps c, Relu keeps r (MaxPool's input too, counted once); Add keeps nothing
  // and weights are not activations.
  EXPECT_EQ(saved.float_bytes, 3 * 1024);
  EXPECT_EQ(saved.fixed_bytes, 64 * 8 + 64);  // int64 pooling indices + a one-byte dropout mask
}

TEST(SavedActivations, RealResnetKeepsLessThanEveryActivation) {
  const std::string path = testing::fixture_path("resnet18.onnx");
  const Graph g = graph::import_onnx(path, {});
  const auto summary = graph::summarize(g);
  const SavedActivations saved = saved_for_backward(g);
  // Every Conv input, BN input and ReLU output is kept, the residual Adds' outputs are not.
  EXPECT_GT(saved.float_bytes, summary.peak_activation_bytes);
  EXPECT_LT(saved.float_bytes, summary.activation_bytes);
  EXPECT_GT(saved.float_bytes, summary.activation_bytes / 2);
}

}  // namespace
}  // namespace perfcast::predict
