// The calibrated roofline on synthetic graphs whose answer is known by hand, plus the calibration
// loader, the operator classes, the kernel plan, training, memory and power.
#include "hardware/device_catalog.h"
#include "predict/roofline.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "graph/graph_summary.h"
#include "predict/kernel_plan.h"
#include "predict/memory.h"
#include "predict/saved_activations.h"
#include "predict/op_class.h"
#include "predict/power.h"
#include "predict/roofline_calibration.h"
#include "support/test_helpers.h"

namespace perfcast::predict {
namespace {

using graph::DType;
using graph::Graph;
using graph::Node;
using graph::Tensor;
using graph::TensorId;
using graph::TensorKind;
using hardware::Precision;

constexpr double kN = 1024;

TensorId add(Graph& g, const std::string& name, TensorKind kind, std::vector<int64_t> shape,
             DType dtype = DType::kFloat32) {
  Tensor t;
  t.name = name;
  t.kind = kind;
  t.dtype = dtype;
  t.shape = std::move(shape);
  t.shape_known = true;
  return g.add_tensor(t);
}

// Every class: a = 0.5, f = 0, b = 0.8, g = 0, t0 = 10 us; no per-node overhead; multipliers 1.
RooflineCalibration simple_calibration() {
  RooflineCalibration c;
  for (auto& p : c.classes) p = {0.5, 0.0, 0.8, 0.0, 10e-6};
  c.per_node_overhead_s = 0;
  c.interval_low_factor = 0.5;
  c.interval_high_factor = 1.5;
  c.runtime_context_bytes = {{"nvidia", 500.0 * 1024 * 1024}, {"cpu", 0}};
  c.workspace_fraction = 1.0;
  c.workspace_cap_bytes = 1e12;
  return c;
}

// 10 TFLOP/s fp32, 40 TFLOP/s fp16, 100 GB/s, 300 W TDP, 50 W idle.
hardware::Device simple_device() {
  hardware::Device d;
  d.id = "toy";
  d.kind = "gpu";
  d.vendor = "nvidia";
  d.peak_tflops = {{Precision::kFp32, 10.0}, {Precision::kFp16, 40.0}};
  d.memory_bandwidth_gb_s = 100.0;
  d.tdp_w = 300;
  d.idle_w = 50;
  return d;
}

// Y = X[1024x1024] @ W[1024x1024] (compute bound); Z = Y + R (memory bound); O = reshape(Z).
Graph gemm_then_add() {
  Graph g;
  const TensorId x = add(g, "x", TensorKind::kInput, {1024, 1024});
  const TensorId w = add(g, "w", TensorKind::kParameter, {1024, 1024});
  const TensorId r = add(g, "r", TensorKind::kInput, {1024, 1024});
  const TensorId y = add(g, "y", TensorKind::kActivation, {1024, 1024});
  const TensorId z = add(g, "z", TensorKind::kActivation, {1024, 1024});
  const TensorId shape = add(g, "shape", TensorKind::kConstant, {1}, DType::kInt64);
  const TensorId o = add(g, "o", TensorKind::kActivation, {1024 * 1024});
  g.inputs = {x, r};
  g.outputs = {o};
  g.nodes.push_back({.name = "mm", .op_type = "MatMul", .inputs = {x, w}, .outputs = {y}});
  g.nodes.push_back({.name = "add", .op_type = "Add", .inputs = {y, r}, .outputs = {z}});
  g.nodes.push_back({.name = "flat", .op_type = "Reshape", .inputs = {z, shape}, .outputs = {o}});
  g.link();
  return g;
}

const double kMatBytes = kN * kN * 4;                 // one 1024x1024 fp32 matrix
const double kGemmFlops = 2 * kN * kN * kN;
const double kGemmS = kGemmFlops / (10e12 * 0.5);     // 429.5 us, above the memory term
const double kAddS = 3 * kMatBytes / (100e9 * 0.8);   // 157.3 us, above the compute term

TEST(RooflineSynthetic, ComputeBoundGemmAndMemoryBoundAddHaveTheirHandTimes) {
  const Graph g = gemm_then_add();
  const auto s = graph::summarize(g);
  const auto p = predict_inference_latency(g, s, simple_device(), Precision::kFp32, simple_calibration());
  ASSERT_EQ(p.node_time_s.size(), 3u);
  EXPECT_NEAR(p.node_time_s[0], kGemmS + 10e-6, 1e-12);
  EXPECT_TRUE(p.nodes[0].compute_bound);
  EXPECT_NEAR(p.node_time_s[1], kAddS + 10e-6, 1e-12);
  EXPECT_FALSE(p.nodes[1].compute_bound);
  EXPECT_EQ(p.node_time_s[2], 0.0);  // a view: no time, no launch
  EXPECT_FALSE(p.nodes[2].launched);
  EXPECT_EQ(p.launched_nodes, 2);
  const double total = kGemmS + kAddS + 20e-6;
  EXPECT_NEAR(p.latency_ms.value, total * 1e3, 1e-9);
  EXPECT_NEAR(p.latency_ms.low, 0.5 * total * 1e3, 1e-9);
  EXPECT_NEAR(p.latency_ms.high, 1.5 * total * 1e3, 1e-9);
  EXPECT_NEAR(p.compute_bound_fraction, (kGemmS + 10e-6) / total, 1e-12);
  EXPECT_NEAR(p.flops_per_s_achieved, (kGemmFlops + kN * kN) / total, 1e3);
  // busy: gemm FLOPs / peak + add bytes / bandwidth
  EXPECT_NEAR(p.utilisation, (kGemmFlops / 10e12 + 3 * kMatBytes / 100e9) / total, 1e-9);
  EXPECT_TRUE(p.warnings.empty());
}

TEST(RooflineSynthetic, Fp16HalvesBytesAndUsesTheFp16PeakForGemmOnly) {
  const Graph g = gemm_then_add();
  const auto s = graph::summarize(g);
  const auto p = predict_inference_latency(g, s, simple_device(), Precision::kFp16, simple_calibration());
  EXPECT_NEAR(p.node_time_s[0], kGemmFlops / (40e12 * 0.5) + 10e-6, 1e-12);
  EXPECT_NEAR(p.node_time_s[1], kAddS / 2 + 10e-6, 1e-12);
}

TEST(RooflineSynthetic, MultipliersAndOverheadApply) {
  const Graph g = gemm_then_add();
  const auto s = graph::summarize(g);
  auto c = simple_calibration();
  c.tensor_core_multiplier_gemm = 4.0;  // 0.5 x 4 is capped at 1
  c.low_precision_memory_multiplier = 1.1;
  c.per_node_overhead_s = 5e-6;
  const auto fp16 = predict_inference_latency(g, s, simple_device(), Precision::kFp16, c);
  const double fp16_memory = 3 * kMatBytes / 2 / (100e9 * 0.88);  // b = 0.8 x 1.1
  EXPECT_NEAR(fp16.node_time_s[0], std::max(kGemmFlops / 40e12, fp16_memory) + 15e-6, 1e-12);
  EXPECT_NEAR(fp16.node_time_s[1], fp16_memory + 15e-6, 1e-12);
  EXPECT_DOUBLE_EQ(class_peak_flops(simple_device(), Precision::kFp16, OpClass::kGemm, c), 40e12);
  EXPECT_DOUBLE_EQ(class_peak_flops(simple_device(), Precision::kFp16, OpClass::kGemm, c, true), 40e12);  // capped
  EXPECT_DOUBLE_EQ(class_peak_flops(simple_device(), Precision::kFp16, OpClass::kElementwise, c, true), 5e12);
  EXPECT_NEAR(fp16.overhead_s, 10e-6, 1e-15);
  const auto fp32 = predict_inference_latency(g, s, simple_device(), Precision::kFp32, c);
  EXPECT_NEAR(fp32.node_time_s[0], kGemmS + 15e-6, 1e-12);  // fp32: no tensor-core multiplier
  EXPECT_NEAR(fp32.node_time_s[1], kAddS + 15e-6, 1e-12);   // nor memory multiplier
}

TEST(RooflineSynthetic, ConvHasItsOwnLowPrecisionMemoryMultiplier) {
  auto c = simple_calibration();
  c.low_precision_memory_multiplier = 1.1;
  c.low_precision_memory_multiplier_conv = 0.5;
  KernelWork w;
  w.costed = true;
  w.flops = 1e3;  // memory bound
  w.float_bytes = 4e6;
  const auto time_of = [&](OpClass op_class, Precision p) {
    w.op_class = op_class;
    return time_kernel(w, simple_device(), p, c).kernel_s;
  };
  EXPECT_NEAR(time_of(OpClass::kConv, Precision::kFp16), 2e6 / (100e9 * 0.8 * 0.5) + 10e-6, 1e-12);
  EXPECT_NEAR(time_of(OpClass::kGroupedConv, Precision::kFp16), 2e6 / (100e9 * 0.8 * 0.5) + 10e-6, 1e-12);
  EXPECT_NEAR(time_of(OpClass::kElementwise, Precision::kFp16), 2e6 / (100e9 * 0.88) + 10e-6, 1e-12);
  EXPECT_NEAR(time_of(OpClass::kDepthwiseConv, Precision::kFp16), 2e6 / (100e9 * 0.88) + 10e-6, 1e-12);
  EXPECT_NEAR(time_of(OpClass::kConv, Precision::kFp32), 4e6 / (100e9 * 0.8) + 10e-6, 1e-12);  // fp32: neither
}

TEST(RooflineSynthetic, GemmDeviceScaleAppliesToItsDeviceAtFp32Only) {
  const Graph g = gemm_then_add();
  const auto s = graph::summarize(g);
  auto c = simple_calibration();
  c.gemm_device_scale = {{"toy", 1.5}, {"other", 0.5}};
  const auto fp32 = predict_inference_latency(g, s, simple_device(), Precision::kFp32, c);
  EXPECT_NEAR(fp32.node_time_s[0], kGemmFlops / (10e12 * 0.75) + 10e-6, 1e-12);  // a = 0.5 x 1.5
  EXPECT_NEAR(fp32.node_time_s[1], kAddS + 10e-6, 1e-12);                         // gemm only
  EXPECT_DOUBLE_EQ(class_peak_flops(simple_device(), Precision::kFp32, OpClass::kGemm, c, true), 7.5e12);
  c.gemm_device_scale["toy"] = 3.0;  // a x scale is capped at 1
  EXPECT_DOUBLE_EQ(class_peak_flops(simple_device(), Precision::kFp32, OpClass::kGemm, c, true), 10e12);
  // Fitted on fp32 GEMMs: tensor-core precisions keep the tensor-core multiplier alone.
  const auto fp16 = predict_inference_latency(g, s, simple_device(), Precision::kFp16, c);
  EXPECT_NEAR(fp16.node_time_s[0], kGemmFlops / (40e12 * 0.5) + 10e-6, 1e-12);
  auto unknown_device = simple_device();
  unknown_device.id = "not-fitted";
  const auto other = predict_inference_latency(g, s, unknown_device, Precision::kFp32, c);
  EXPECT_NEAR(other.node_time_s[0], kGemmS + 10e-6, 1e-12);  // no entry: 1
}

TEST(RooflineSynthetic, UnsupportedPrecisionIsAnError) {
  const Graph g = gemm_then_add();
  const auto s = graph::summarize(g);
  EXPECT_THROW(predict_inference_latency(g, s, simple_device(), Precision::kFp8, simple_calibration()), Error);
}

TEST(RooflineSynthetic, UnknownOperatorIsAWarningAndALaunch) {
  Graph g = gemm_then_add();
  const TensorId z = *g.find_tensor("z");
  const TensorId q = add(g, "q", TensorKind::kActivation, {1024, 1024});
  g.nodes.push_back({.name = "custom", .op_type = "FusedThing", .domain = "com.example", .inputs = {z}, .outputs = {q}});
  g.link();
  const auto s = graph::summarize(g);
  const auto p = predict_inference_latency(g, s, simple_device(), Precision::kFp32, simple_calibration());
  ASSERT_EQ(p.warnings.size(), 1u);
  EXPECT_NE(p.warnings[0].find("com.example::FusedThing"), std::string::npos) << p.warnings[0];
  EXPECT_NE(p.warnings[0].find("lower bound"), std::string::npos);
  EXPECT_TRUE(p.nodes[3].launched);
  EXPECT_NEAR(p.node_time_s[3], 10e-6, 1e-15);
}

TEST(RooflineSynthetic, MissingShapeIsAWarning) {
  Graph g = gemm_then_add();
  g.tensor(*g.find_tensor("z")).shape_known = false;
  g.tensor(*g.find_tensor("o")).shape_known = false;
  const auto s = graph::summarize(g);
  const auto p = predict_inference_latency(g, s, simple_device(), Precision::kFp32, simple_calibration());
  ASSERT_FALSE(p.warnings.empty());
  EXPECT_NE(p.warnings[0].find("'add'"), std::string::npos) << p.warnings[0];
}

TEST(RooflineSynthetic, CpuDeviceIsAWarning) {
  const Graph g = gemm_then_add();
  const auto s = graph::summarize(g);
  auto cpu = simple_device();
  cpu.kind = "cpu";
  const auto p = predict_inference_latency(g, s, cpu, Precision::kFp32, simple_calibration());
  ASSERT_EQ(p.warnings.size(), 1u);
  EXPECT_NE(p.warnings[0].find("GPU"), std::string::npos);
}

TEST(RooflineSynthetic, TrainingStepIsForwardBackwardAndOptimizer) {
  const Graph g = gemm_then_add();
  const auto s = graph::summarize(g);
  const auto t = predict_training_step(g, s, simple_device(), Precision::kFp32, Optimizer::kAdam,
                                       simple_calibration());
  const double forward = kGemmS + kAddS + 20e-6;
  EXPECT_NEAR(t.forward_s, forward, 1e-12);
  // gemm: 2 kernels with the forward FLOPs and bytes; add: 1 kernel with 2x bytes
  EXPECT_NEAR(t.backward_s, 2 * (kGemmS + 10e-6) + (2 * kAddS + 10e-6), 1e-12);
  // Adam: 1M params x 7 fp32 tensors, memory bound
  const double params = kN * kN;
  EXPECT_EQ(s.params, static_cast<int64_t>(params));
  EXPECT_NEAR(t.optimizer_s, params * 7 * 4 / (100e9 * 0.8) + 10e-6, 1e-12);
  EXPECT_NEAR(t.step.latency_ms.value, (t.forward_s + t.backward_s + t.optimizer_s) * 1e3, 1e-9);
  EXPECT_EQ(t.step.launched_nodes, 2 + 3 + 1);
  const auto sgd = predict_training_step(g, s, simple_device(), Precision::kFp32, Optimizer::kSgd,
                                         simple_calibration());
  EXPECT_NEAR(sgd.optimizer_s, params * 3 * 4 / (100e9 * 0.8) + 10e-6, 1e-12);
  EXPECT_EQ(parse_optimizer("AdamW"), Optimizer::kAdam);
  EXPECT_THROW(parse_optimizer("lion"), Error);
}

// Y = depthwise 3x3 Conv(X[64x32x56x56]) (one input channel per group).
Graph depthwise_conv() {
  Graph g;
  const TensorId x = add(g, "x", TensorKind::kInput, {64, 32, 56, 56});
  const TensorId w = add(g, "w", TensorKind::kParameter, {32, 1, 3, 3});
  const TensorId y = add(g, "y", TensorKind::kActivation, {64, 32, 56, 56});
  g.inputs = {x};
  g.outputs = {y};
  Node conv{.name = "dw", .op_type = "Conv", .inputs = {x, w}, .outputs = {y}};
  conv.attributes["group"].i = 32;
  g.nodes.push_back(conv);
  g.link();
  return g;
}

TEST(RooflineSynthetic, DepthwiseConvBackwardHasItsOwnMultiplierAtTensorPrecisions) {
  const Graph g = depthwise_conv();
  const auto s = graph::summarize(g);
  const RooflineCalibration unit = simple_calibration();
  RooflineCalibration fitted = unit;
  fitted.training.backward_multiplier = 1.5;
  fitted.training.depthwise_conv_backward_multiplier = 4;
  for (Precision precision : {Precision::kFp16, Precision::kFp32}) {
    const auto base = predict_training_step(g, s, simple_device(), precision, Optimizer::kNone, unit);
    const auto t = predict_training_step(g, s, simple_device(), precision, Optimizer::kNone, fitted);
    ASSERT_GT(base.backward_s, 0);
    EXPECT_NEAR(t.forward_s, base.forward_s, 1e-15);
    // fp16 (the AMP rows the multipliers were fitted on): the depthwise one, not the general one;
    // fp32 keeps the first-principles backward.
    const double expected = precision == Precision::kFp16 ? 4 * base.backward_s : base.backward_s;
    EXPECT_NEAR(t.backward_s, expected, 1e-12) << hardware::precision_name(precision);
  }
}

// x -> Div(x, c) -> Erf -> Add(., 1) -> Mul(x, .) -> Mul(., 0.5) -> gelu ; gelu -> Sigmoid -> Mul(gelu, s)
Graph gelu_silu() {
  Graph g;
  const TensorId x = add(g, "x", TensorKind::kInput, {1024, 1024});
  const TensorId c = add(g, "c", TensorKind::kConstant, {});
  const TensorId one = add(g, "one", TensorKind::kConstant, {});
  const TensorId half = add(g, "half", TensorKind::kConstant, {});
  std::vector<TensorId> t;
  for (const char* name : {"d", "e", "a", "m", "gelu", "s", "silu"})
    t.push_back(add(g, name, TensorKind::kActivation, {1024, 1024}));
  g.inputs = {x};
  g.outputs = {t[6]};
  g.nodes.push_back({.name = "div", .op_type = "Div", .inputs = {x, c}, .outputs = {t[0]}});
  g.nodes.push_back({.name = "erf", .op_type = "Erf", .inputs = {t[0]}, .outputs = {t[1]}});
  g.nodes.push_back({.name = "add", .op_type = "Add", .inputs = {t[1], one}, .outputs = {t[2]}});
  g.nodes.push_back({.name = "mul", .op_type = "Mul", .inputs = {x, t[2]}, .outputs = {t[3]}});
  g.nodes.push_back({.name = "half", .op_type = "Mul", .inputs = {t[3], half}, .outputs = {t[4]}});
  g.nodes.push_back({.name = "sig", .op_type = "Sigmoid", .inputs = {t[4]}, .outputs = {t[5]}});
  g.nodes.push_back({.name = "silu", .op_type = "Mul", .inputs = {t[4], t[5]}, .outputs = {t[6]}});
  g.link();
  return g;
}

TEST(RooflineKernelPlan, ExportedGeluAndSiluRunAsOneKernelEach) {
  const Graph g = gelu_silu();
  const auto plan = plan_kernels(g);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(plan.kernel_of[i], 0) << i;
  EXPECT_EQ(plan.kernel_of[5], 5);
  EXPECT_EQ(plan.kernel_of[6], 5);
  const auto s = graph::summarize(g);
  const auto work = kernel_work(g, s, plan);
  ASSERT_EQ(work.size(), 2u);
  EXPECT_EQ(work[0].nodes, 5);
  // one read of x (+ the scalar c) and one write of the output
  EXPECT_DOUBLE_EQ(work[0].float_bytes, 2 * kMatBytes + 4);
  EXPECT_DOUBLE_EQ(work[0].flops, kN * kN * (1 + 5 + 1 + 1 + 1));  // Div, Erf (5), Add, Mul, Mul
  EXPECT_DOUBLE_EQ(work[1].float_bytes, 2 * kMatBytes);
  const auto p = predict_inference_latency(g, s, simple_device(), Precision::kFp32, simple_calibration());
  EXPECT_EQ(p.launched_nodes, 2);
  EXPECT_GT(p.node_time_s[0], 0);
  EXPECT_EQ(p.node_time_s[1], 0);
  EXPECT_EQ(p.nodes[1].kernel, 0);
}

TEST(RooflineKernelPlan, ResidualAddIsNotMerged) {
  const Graph g = gemm_then_add();
  const auto plan = plan_kernels(g);
  EXPECT_EQ(plan.kernel_of[0], 0);
  EXPECT_EQ(plan.kernel_of[1], 1);
  EXPECT_EQ(plan.kernel_of[2], graph::kNoNode);
}

TEST(RooflineOpClass, OneClassPerOperatorFamily) {
  EXPECT_EQ(classify_op_type("MatMul"), OpClass::kGemm);
  EXPECT_EQ(classify_op_type("Gemm"), OpClass::kGemm);
  EXPECT_EQ(classify_op_type("Conv"), OpClass::kConv);
  EXPECT_EQ(classify_op_type("Relu"), OpClass::kElementwise);
  EXPECT_EQ(classify_op_type("Add"), OpClass::kElementwise);
  EXPECT_EQ(classify_op_type("BatchNormalization"), OpClass::kElementwise);
  EXPECT_EQ(classify_op_type("LayerNormalization"), OpClass::kReduction);
  EXPECT_EQ(classify_op_type("Softmax"), OpClass::kReduction);
  EXPECT_EQ(classify_op_type("MaxPool"), OpClass::kReduction);
  EXPECT_EQ(classify_op_type("Transpose"), OpClass::kMovement);
  EXPECT_EQ(classify_op_type("Gather"), OpClass::kMovement);
  EXPECT_EQ(classify_op_type("Reshape"), OpClass::kFree);
  EXPECT_EQ(classify_op_type("Shape"), OpClass::kFree);
  EXPECT_EQ(classify_op_type("Constant"), OpClass::kFree);
  EXPECT_EQ(classify_op_type("NoSuchOp"), OpClass::kUnknown);
  EXPECT_EQ(op_class_name(OpClass::kDepthwiseConv), "depthwise_conv");
}

TEST(RooflineOpClass, DepthwiseConvAndShapeArithmetic) {
  Graph g;
  const TensorId x = add(g, "x", TensorKind::kInput, {1, 32, 56, 56});
  const TensorId w = add(g, "w", TensorKind::kParameter, {32, 1, 3, 3});
  const TensorId y = add(g, "y", TensorKind::kActivation, {1, 32, 56, 56});
  const TensorId a = add(g, "a", TensorKind::kConstant, {4}, DType::kInt64);
  const TensorId b = add(g, "b", TensorKind::kActivation, {4}, DType::kInt64);
  Node conv{.name = "dw", .op_type = "Conv", .inputs = {x, w}, .outputs = {y}};
  conv.attributes["group"].i = 32;
  g.nodes.push_back(conv);
  g.nodes.push_back({.name = "shape_math", .op_type = "Mul", .inputs = {a, a}, .outputs = {b}});
  g.link();
  EXPECT_EQ(classify_node(g, g.nodes[0]), OpClass::kDepthwiseConv);
  EXPECT_EQ(classify_node(g, g.nodes[1]), OpClass::kFree);  // host-side shape arithmetic
}

using testing::write_temp;

TEST(RooflineCalibrationFile, ShippedFileLoadsWithEveryClass) {
  const auto c = load_roofline_calibration();
  EXPECT_NE(c.file.find("calibration/roofline.json"), std::string::npos);
  for (OpClass cls : kTimedClasses) {
    const auto& p = c.params(cls);
    EXPECT_GT(p.a, 0);
    EXPECT_LE(p.a, 1);
    EXPECT_GT(p.b, 0);
    EXPECT_LE(p.b, 1);
    EXPECT_GE(p.t0_s, 0);
    EXPECT_LT(p.t0_s, 1e-3);
  }
  EXPECT_LT(c.interval_low_factor, 1);
  EXPECT_GT(c.interval_high_factor, 1);
  EXPECT_GT(c.gemm_scale_for("v100-pcie-32gb"), 1);  // sustains more of its peak than the typical device
  EXPECT_LT(c.gemm_scale_for("t4"), 1);              // 70 W: clock-limited
  EXPECT_EQ(c.gemm_scale_for("no-such-device"), 1);
  // A GPU without GEMM rows takes the scale of a measured one with the same die; its own entry wins.
  const auto catalog = hardware::DeviceCatalog::load();
  for (const char* id : {"a100-sxm4-80gb", "a100-sxm4-40gb", "a100-pcie-80gb"}) {
    const auto& d = catalog.get(id);
    EXPECT_EQ(d.chip, "GA100") << id;
    EXPECT_EQ(c.gemm_scale_for(d.id, d.chip), c.gemm_scale_for("a100-pcie-40gb")) << id;
  }
  EXPECT_EQ(c.gemm_scale_for("v100-sxm2-16gb", "GV100"), c.gemm_scale_for("v100-pcie-32gb"));
  EXPECT_EQ(c.gemm_scale_for("t4", "GA100"), c.gemm_scale_for("t4"));
  EXPECT_EQ(c.gemm_scale_for("rtx-3090", catalog.get("rtx-3090").chip), 1);  // no measured GA102
  EXPECT_GT(c.runtime_context_for("nvidia"), 100e6);
  EXPECT_EQ(c.runtime_context_for("no-such-vendor"), c.runtime_context_for("nvidia"));
  EXPECT_FALSE(c.fitted_on.empty());
}

TEST(RooflineCalibrationFile, ErrorsNameTheFileAndTheKey) {
  nlohmann::json j;
  {
    std::ifstream in(default_calibration_path());
    j = nlohmann::json::parse(in);
  }
  j["classes"]["gemm"].erase("a");
  const std::string path = write_temp("perfcast_roofline_missing.json", j.dump());
  try {
    load_roofline_calibration(path);
    FAIL() << "a missing key must be an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("classes.gemm.a"), std::string::npos) << e.what();
  }
  j["classes"]["gemm"]["a"] = 1.5;
  const std::string bad = write_temp("perfcast_roofline_range.json", j.dump());
  EXPECT_THROW(load_roofline_calibration(bad), Error);
  EXPECT_THROW(load_roofline_calibration(write_temp("perfcast_roofline_text.json", "not json")), Error);
  EXPECT_THROW(load_roofline_calibration("/no/such/roofline.json"), Error);
  j["classes"]["gemm"]["a"] = 0.5;
  j["gemm_device_scale"]["values"]["t4"] = -1;
  try {
    load_roofline_calibration(write_temp("perfcast_roofline_scale.json", j.dump()));
    FAIL() << "a negative device scale must be an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("gemm_device_scale.values.t4"), std::string::npos) << e.what();
  }
}

TEST(RooflineCalibrationFile, DepthwiseConvBackwardMultiplierDefaultsToTheGeneralOne) {
  nlohmann::json j;
  {
    std::ifstream in(default_calibration_path());
    j = nlohmann::json::parse(in);
  }
  j["training"]["backward_multiplier"] = 1.25;
  j["training"]["depthwise_conv_backward_multiplier"] = 6.5;
  const auto both = load_roofline_calibration(write_temp("perfcast_roofline_depthwise.json", j.dump()));
  EXPECT_EQ(both.training.backward_multiplier, 1.25);
  EXPECT_EQ(both.training.depthwise_conv_backward_multiplier, 6.5);
  j["training"].erase("depthwise_conv_backward_multiplier");  // a file written before the key existed
  const auto general = load_roofline_calibration(write_temp("perfcast_roofline_no_depthwise.json", j.dump()));
  EXPECT_EQ(general.training.depthwise_conv_backward_multiplier, 1.25);
  j["training"]["depthwise_conv_backward_multiplier"] = 0;
  EXPECT_THROW(load_roofline_calibration(write_temp("perfcast_roofline_bad_depthwise.json", j.dump())), Error);
}

TEST(RooflineCalibrationFile, ConvMemoryMultiplierDefaultsToTheGeneralOne) {
  nlohmann::json j;
  {
    std::ifstream in(default_calibration_path());
    j = nlohmann::json::parse(in);
  }
  j["low_precision_memory_multiplier"]["value"] = 1.5;
  j["low_precision_memory_multiplier"]["conv"] = 0.6;
  const auto both = load_roofline_calibration(write_temp("perfcast_roofline_conv_memory.json", j.dump()));
  EXPECT_EQ(both.low_precision_memory_multiplier_for(OpClass::kConv), 0.6);
  EXPECT_EQ(both.low_precision_memory_multiplier_for(OpClass::kGroupedConv), 0.6);
  EXPECT_EQ(both.low_precision_memory_multiplier_for(OpClass::kGemm), 1.5);
  j["low_precision_memory_multiplier"].erase("conv");  // a file written before the key existed
  const auto general = load_roofline_calibration(write_temp("perfcast_roofline_no_conv_memory.json", j.dump()));
  EXPECT_EQ(general.low_precision_memory_multiplier_for(OpClass::kConv), 1.5);
  j["low_precision_memory_multiplier"]["conv"] = 0;
  EXPECT_THROW(load_roofline_calibration(write_temp("perfcast_roofline_bad_conv_memory.json", j.dump())), Error);
}

TEST(RooflineMemory, InferenceIsWeightsActivationsWorkspaceAndContext) {
  const Graph g = gemm_then_add();
  const auto s = graph::summarize(g);
  const auto c = simple_calibration();
  const auto m = estimate_peak_memory(g, s, Precision::kFp16, Mode::kInference, Optimizer::kNone, 0, c, "nvidia");
  EXPECT_DOUBLE_EQ(m.weights_bytes, kMatBytes / 2);
  EXPECT_DOUBLE_EQ(m.activation_bytes, static_cast<double>(s.peak_activation_bytes) / 2);
  EXPECT_DOUBLE_EQ(m.workspace_bytes, kMatBytes / 2);  // largest MatMul operand, in fp16
  EXPECT_DOUBLE_EQ(m.runtime_context_bytes, 500.0 * 1024 * 1024);
  EXPECT_DOUBLE_EQ(m.gradient_bytes + m.optimizer_state_bytes, 0);
  EXPECT_DOUBLE_EQ(m.total_bytes, m.weights_bytes + m.activation_bytes + m.workspace_bytes + m.runtime_context_bytes);
  // twice the batch (the summary's is 1024, the leading dim of x): twice the activations
  const auto m2 = estimate_peak_memory(g, s, Precision::kFp16, Mode::kInference, Optimizer::kNone, 2048, c, "nvidia");
  EXPECT_DOUBLE_EQ(m2.activation_bytes, 2 * m.activation_bytes);
  EXPECT_DOUBLE_EQ(m2.weights_bytes, m.weights_bytes);
  EXPECT_DOUBLE_EQ(peak_memory_bytes(g, s, Precision::kFp16, Mode::kInference, Optimizer::kNone, 0, c, "cpu"),
                   m.total_bytes - m.runtime_context_bytes);
}

TEST(RooflineMemory, TrainingAddsGradientsOptimizerStateAndStoredActivations) {
  const Graph g = gemm_then_add();
  const auto s = graph::summarize(g);
  const auto c = simple_calibration();
  const double params = kN * kN;
  const auto adam = estimate_peak_memory(g, s, Precision::kBf16, Mode::kTraining, Optimizer::kAdam, 0, c, "nvidia");
  EXPECT_DOUBLE_EQ(adam.weights_bytes, kMatBytes + kMatBytes / 2);  // fp32 master + bf16 copy
  EXPECT_DOUBLE_EQ(adam.gradient_bytes, params * 4);
  EXPECT_DOUBLE_EQ(adam.optimizer_state_bytes, params * 8);
  // Autograd keeps the MatMul's input x (w is a parameter; Add and Reshape keep nothing), plus the
  // forward's peak live set, all at bf16.
  EXPECT_EQ(saved_for_backward(g).float_bytes, static_cast<int64_t>(kMatBytes));
  EXPECT_DOUBLE_EQ(adam.activation_bytes, (kMatBytes + static_cast<double>(s.peak_activation_bytes)) / 2);
  const auto sgd = estimate_peak_memory(g, s, Precision::kFp32, Mode::kTraining, Optimizer::kSgdMomentum, 0, c, "nvidia");
  EXPECT_DOUBLE_EQ(sgd.weights_bytes, kMatBytes);
  EXPECT_DOUBLE_EQ(sgd.optimizer_state_bytes, params * 4);
}

TEST(RooflinePower, IdlePlusFittedShareOfTheDynamicRangeCappedAtTdp) {
  LatencyPrediction p;
  p.latency_ms = {10.0, 5.0, 20.0};
  p.compute_utilisation = 0.5;
  p.memory_utilisation = 0.25;
  const auto d = simple_device();  // idle 50 W, TDP 300 W
  PowerCalibration c;
  c.active = 0.1;
  c.compute = 0.6;
  c.memory = 0.4;
  c.interval_low_factor = 0.9;
  c.interval_high_factor = 1.2;
  c.calibrated = true;
  const auto e = estimate_power(p, d, c);
  const double share = 0.1 + 0.6 * 0.5 + 0.4 * 0.25;
  EXPECT_DOUBLE_EQ(e.average_w, 50 + 250 * share);
  EXPECT_DOUBLE_EQ(e.power_w.low, e.average_w * 0.9);
  EXPECT_DOUBLE_EQ(e.power_w.high, e.average_w * 1.2);
  EXPECT_TRUE(e.calibrated);
  EXPECT_DOUBLE_EQ(e.energy_j.value, e.average_w * 0.010);
  // Energy band: power and latency log widths in quadrature, so wider than either alone.
  EXPECT_NEAR(e.energy_j.low, e.energy_j.value * std::exp(-std::hypot(std::log(0.9), std::log(0.5))), 1e-12);
  EXPECT_NEAR(e.energy_j.high, e.energy_j.value * std::exp(std::hypot(std::log(1.2), std::log(2.0))), 1e-12);
  p.compute_utilisation = 3.0;
  p.memory_utilisation = 3.0;
  const auto capped = estimate_power(p, d, c);
  EXPECT_DOUBLE_EQ(capped.average_w, 300);  // capped at TDP
  EXPECT_DOUBLE_EQ(capped.power_w.high, 300);  // and so is the band
  EXPECT_DOUBLE_EQ(capped.power_w.low, 300 * 0.9);
  // From a real prediction and the shipped calibration: between idle and TDP.
  const Graph g = gemm_then_add();
  const auto s = graph::summarize(g);
  const auto pred = predict_inference_latency(g, s, d, Precision::kFp32, simple_calibration());
  EXPECT_GT(pred.compute_utilisation, 0);
  EXPECT_GT(pred.memory_utilisation, 0);
  EXPECT_LE(pred.compute_utilisation, 1);
  EXPECT_LE(pred.memory_utilisation, 1);
  const auto est = estimate_power(pred, d);
  EXPECT_GE(est.average_w, d.idle_w);
  EXPECT_LE(est.average_w, d.tdp_w);
}

TEST(RooflinePower, CalibrationFileErrorsNameTheKey) {
  EXPECT_THROW(load_power_calibration("/nonexistent/power.json"), Error);
  const auto c = load_power_calibration();
  EXPECT_GE(c.interval_high_factor, 1);
  EXPECT_LE(c.interval_low_factor, 1);
}

}  // namespace
}  // namespace perfcast::predict
