// Loading, binding symbolic dimensions and rejecting bad input with a clear message.
#include "graph/onnx_import.h"

#include <gtest/gtest.h>

#include <fstream>

#include "common/error.h"
#include "graph/graph_summary.h"
#include "support/onnx_builder.h"
#include "support/test_helpers.h"

namespace perfcast::graph {
namespace {

using testing::OnnxBuilder;

std::string error_of(const std::string& path, const ImportOptions& options = {}) {
  try {
    import_onnx(path, options);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::string symbolic_model() {
  OnnxBuilder b;
  b.input("tokens", {-1, -1, 64}, {"batch", "seq"}).weight("w", {64, 64});
  b.node("MatMul", {"tokens", "w"}, {"y"});
  b.output("y");
  return b.save("symbolic.onnx");
}

TEST(OnnxImport, BatchDefaultsToOneAndOtherSymbolsMustBeBound) {
  const std::string path = symbolic_model();
  const std::string message = error_of(path);
  EXPECT_NE(message.find("'seq'"), std::string::npos) << message;
  EXPECT_NE(message.find("--dim seq=N"), std::string::npos) << message;

  ImportOptions options;
  options.dim_values["seq"] = 128;
  const Graph g = import_onnx(path, options);
  EXPECT_EQ(g.tensor(g.inputs[0]).shape, (std::vector<int64_t>{1, 128, 64}));

  options.batch = 8;
  EXPECT_DOUBLE_EQ(summarize(import_onnx(path, options)).macs, 8.0 * 128 * 64 * 64);
}

TEST(OnnxImport, ExplicitInputShapeWins) {
  ImportOptions options;
  options.input_shapes["tokens"] = {3, 10, 64};
  const Graph g = import_onnx(symbolic_model(), options);
  EXPECT_EQ(g.tensor(g.inputs[0]).shape, (std::vector<int64_t>{3, 10, 64}));

  options.input_shapes = {{"nope", {1}}};
  EXPECT_NE(error_of(symbolic_model(), options).find("no input named 'nope'"), std::string::npos);
}

TEST(OnnxImport, AbsurdBatchIsRejected) {
  ImportOptions options;
  options.dim_values["seq"] = 8;
  options.batch = 0;
  EXPECT_NE(error_of(symbolic_model(), options).find("out of range"), std::string::npos);
  options.batch = 50'000'000;
  EXPECT_NE(error_of(symbolic_model(), options).find("out of range"), std::string::npos);
}

TEST(OnnxImport, FixedBatchCannotBeRebound) {
  OnnxBuilder b;
  b.input("x", {1, 16});
  b.node("Relu", {"x"}, {"y"});
  b.output("y");
  ImportOptions options;
  options.batch = 4;
  EXPECT_NE(error_of(b.save("fixed_batch.onnx"), options).find("fixed batch dimension of 1"), std::string::npos);
}

TEST(OnnxImport, MissingFileEmptyFileAndGarbage) {
  EXPECT_NE(error_of("/nonexistent/model.onnx").find("no such file"), std::string::npos);

  const std::filesystem::path dir = testing::fresh_temp_dir("perfcast_tests", "import_errors");
  const auto empty = (dir / "empty.onnx").string();
  std::ofstream(empty).close();
  EXPECT_NE(error_of(empty).find("empty"), std::string::npos);

  const auto text = (dir / "text.onnx").string();
  std::ofstream(text) << "this is not a protobuf at all, just text\n";
  EXPECT_NE(error_of(text).find("not"), std::string::npos);
  EXPECT_NE(error_of(dir.string()).find("not a regular file"), std::string::npos);
}

TEST(OnnxImport, DanglingInputIsNamed) {
  OnnxBuilder b;
  b.input("x", {1, 16});
  b.node("Add", {"x", "ghost"}, {"y"});
  b.output("y");
  EXPECT_NE(error_of(b.save("dangling.onnx")).find("'ghost'"), std::string::npos);
}

TEST(OnnxImport, CycleIsRejected) {
  OnnxBuilder b;
  b.input("x", {1, 16});
  b.node("Add", {"x", "b"}, {"a"});
  b.node("Relu", {"a"}, {"b"});
  b.output("b");
  EXPECT_NE(error_of(b.save("cycle.onnx")).find("cycle"), std::string::npos);
}

TEST(OnnxImport, ParseDims) {
  EXPECT_EQ(parse_dims("1x3x224x224"), (std::vector<int64_t>{1, 3, 224, 224}));
  EXPECT_EQ(parse_dims("[2, 128]"), (std::vector<int64_t>{2, 128}));
  EXPECT_THROW(parse_dims("1xax3"), Error);
  EXPECT_THROW(parse_dims("0x3"), Error);
  EXPECT_THROW(parse_dims(""), Error);
}

}  // namespace
}  // namespace perfcast::graph
