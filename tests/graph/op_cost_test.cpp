// Each cost rule on a model small enough to count by hand.
#include <gtest/gtest.h>

#include "graph/graph_summary.h"
#include "graph/onnx_import.h"
#include "support/onnx_builder.h"

namespace perfcast::graph {
namespace {

using testing::OnnxBuilder;

GraphSummary inspect(OnnxBuilder& b, const std::string& file, const ImportOptions& options = {}) {
  return summarize(import_onnx(b.save(file), options));
}

const OpTypeSummary& op(const GraphSummary& s, const std::string& type) {
  for (const auto& row : s.ops)
    if (row.op_type == type) return row;
  throw std::runtime_error("no op " + type);
}

TEST(OpCost, DepthwiseDilatedConv) {
  OnnxBuilder b;
  b.input("x", {1, 32, 56, 56}).weight("w", {32, 1, 3, 3});
  auto& conv = b.node("Conv", {"x", "w"}, {"y"});
  OnnxBuilder::integer(conv, "group", 32);
  OnnxBuilder::ints(conv, "dilations", {2, 2});
  OnnxBuilder::ints(conv, "pads", {2, 2, 2, 2});
  OnnxBuilder::ints(conv, "kernel_shape", {3, 3});
  b.output("y");
  const auto s = inspect(b, "dwconv.onnx");
  EXPECT_DOUBLE_EQ(s.macs, 32.0 * 56 * 56 * 9);
  EXPECT_DOUBLE_EQ(s.flops, 2 * s.macs);
  EXPECT_EQ(s.params, 32 * 9);
}

TEST(OpCost, GroupedConv3dWithBias) {
  OnnxBuilder b;
  b.input("x", {2, 8, 4, 16, 16}).weight("w", {16, 4, 3, 3, 3}).weight("bias", {16});
  auto& conv = b.node("Conv", {"x", "w", "bias"}, {"y"});
  OnnxBuilder::integer(conv, "group", 2);
  OnnxBuilder::ints(conv, "pads", {1, 1, 1, 1, 1, 1});
  b.output("y");
  const auto s = inspect(b, "conv3d.onnx");
  const double outputs = 2.0 * 16 * 4 * 16 * 16;
  EXPECT_DOUBLE_EQ(s.macs, outputs * 4 * 27);
  EXPECT_DOUBLE_EQ(s.flops, 2 * s.macs + outputs);
  EXPECT_EQ(s.params, 16 * 4 * 27 + 16);
}

TEST(OpCost, ConvTransposeScattersEachInput) {
  OnnxBuilder b;
  b.input("x", {1, 16, 8, 8}).weight("w", {16, 8, 4, 4});
  auto& deconv = b.node("ConvTranspose", {"x", "w"}, {"y"});
  OnnxBuilder::ints(deconv, "strides", {2, 2});
  OnnxBuilder::ints(deconv, "pads", {1, 1, 1, 1});
  b.output("y");
  const auto s = inspect(b, "deconv.onnx");
  EXPECT_DOUBLE_EQ(s.macs, 16.0 * 8 * 8 * 8 * 16);
}

TEST(OpCost, GemmWithTransposedWeight) {
  OnnxBuilder b;
  b.input("x", {4, 64}).weight("w", {10, 64}).weight("c", {10});
  auto& gemm = b.node("Gemm", {"x", "w", "c"}, {"y"});
  OnnxBuilder::integer(gemm, "transB", 1);
  b.output("y");
  const auto s = inspect(b, "gemm.onnx");
  EXPECT_DOUBLE_EQ(s.macs, 4.0 * 10 * 64);
  EXPECT_EQ(s.params, 10 * 64 + 10);
}

TEST(OpCost, BatchedMatMulAndEinsumAgree) {
  OnnxBuilder b;
  b.input("q", {2, 12, 128, 64}).input("k", {2, 12, 128, 64});
  auto& perm = b.node("Transpose", {"k"}, {"kt"});
  OnnxBuilder::ints(perm, "perm", {0, 1, 3, 2});
  b.node("MatMul", {"q", "kt"}, {"scores_matmul"});
  auto& ein = b.node("Einsum", {"q", "k"}, {"scores_einsum"});
  OnnxBuilder::text(ein, "equation", "bhqd,bhkd->bhqk");
  b.output("scores_matmul").output("scores_einsum");
  const auto s = inspect(b, "attention_scores.onnx");
  const double expected = 2.0 * 12 * 128 * 128 * 64;
  EXPECT_DOUBLE_EQ(op(s, "MatMul").macs, expected);
  EXPECT_DOUBLE_EQ(op(s, "Einsum").macs, expected);
  // Transpose moves bytes and does no arithmetic.
  EXPECT_DOUBLE_EQ(op(s, "Transpose").flops, 0);
  EXPECT_EQ(op(s, "Transpose").bytes_read, 2 * 12 * 128 * 64 * 4);
  EXPECT_EQ(op(s, "Transpose").bytes_written, 2 * 12 * 128 * 64 * 4);
}

TEST(OpCost, UnknownOperatorIsReportedNotZeroed) {
  OnnxBuilder b;
  b.input("x", {1, 64}).weight("w", {64, 32});
  b.node("MatMul", {"x", "w"}, {"h"});
  b.node("FancyOp", {"h"}, {"y"}, "com.example");
  b.output("y");
  auto& opset = *b.model().add_opset_import();
  opset.set_domain("com.example");
  opset.set_version(1);
  const auto s = inspect(b, "unknown_op.onnx");
  ASSERT_EQ(s.unknown_ops.size(), 1u);
  EXPECT_EQ(s.unknown_ops.at("com.example::FancyOp"), 1);
  EXPECT_DOUBLE_EQ(s.macs, 64.0 * 32);  // what is known is still counted
}

TEST(OpCost, SoftmaxLayerNormAndViews) {
  OnnxBuilder b;
  b.input("x", {8, 100}).weight("gamma", {100}).weight("beta", {100}).int_constant("shape", {800});
  b.node("LayerNormalization", {"x", "gamma", "beta"}, {"n"});
  b.node("Softmax", {"n"}, {"p"});
  b.node("Reshape", {"p", "shape"}, {"y"});
  b.output("y");
  const auto s = inspect(b, "norms.onnx");
  EXPECT_DOUBLE_EQ(op(s, "LayerNormalization").flops, 7.0 * 800);
  EXPECT_DOUBLE_EQ(op(s, "Softmax").flops, 5.0 * 800);
  EXPECT_EQ(op(s, "Reshape").bytes_read, 0);  // a view copies nothing
  EXPECT_EQ(s.params, 200);
  EXPECT_DOUBLE_EQ(s.macs, 0);
}

TEST(ActivationMemory, ChainKeepsTwoBuffersAliveAndViewsAlias) {
  OnnxBuilder b;
  b.input("x", {1, 1000}).int_constant("shape", {1000});
  b.node("Relu", {"x"}, {"a"});
  b.node("Reshape", {"a", "shape"}, {"a_flat"});  // aliases a: no new buffer
  b.node("Relu", {"a_flat"}, {"c"});
  b.node("Relu", {"c"}, {"d"});
  b.output("d");
  const auto s = inspect(b, "chain.onnx");
  EXPECT_EQ(s.peak_activation_bytes, 2 * 4000);
  EXPECT_EQ(s.activation_bytes, 4 * 4000);  // x, a, c, d
}

TEST(ActivationMemory, BranchKeepsSkipConnectionAlive) {
  OnnxBuilder b;
  b.input("x", {1, 1000});
  b.node("Relu", {"x"}, {"a"});
  b.node("Relu", {"a"}, {"b"});
  b.node("Relu", {"b"}, {"c"});
  b.node("Add", {"a", "c"}, {"y"});  // a lives until here
  b.output("y");
  const auto s = inspect(b, "skip.onnx");
  EXPECT_EQ(s.peak_activation_bytes, 3 * 4000);
}

}  // namespace
}  // namespace perfcast::graph
