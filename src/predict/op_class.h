#pragma once
#include <string_view>

#include "graph/graph.h"

namespace perfcast::predict {

// The operator families the calibrated roofline has one parameter set for.
enum class OpClass {
  kGemm,         // MatMul, Gemm, Einsum with two or more operands
  kConv,         // Conv, ConvTranspose and their quantized forms
  kDepthwiseConv,  // Conv with one input channel per group (MobileNet/EfficientNet): a streaming stencil
  // Conv with 1 < group and more than one input channel per group (ResNeXt, RegNet). Timed with conv's
  // parameters, its tensor-core efficiency scaled by the calibration's grouped_conv factor (cuDNN's
  // grouped kernels reach less of the peak); not a kTimedClasses entry of its own.
  kGroupedConv,
  kElementwise,  // unary/binary arithmetic, activations, Cast, inference BatchNormalization, Resize
  kReduction,    // normalisations, Softmax, pooling, Reduce*, ArgMax, CumSum, TopK
  kMovement,     // copies: Transpose, Concat, Gather, Slice, Pad, Expand, Where, ...
  kFree,         // no kernel: views (Reshape, Squeeze, ...), Shape/Size/Constant, host-side shape arithmetic
  kUnknown,      // no rule: perfcast cannot time it (reported as a warning)
};

// The single place an ONNX node is mapped to its class. Nodes outside the default ONNX domain
// are kUnknown. Besides the op type, a node whose every input and output is a small integer
// tensor (<= 64 elements: the Shape -> Gather -> Concat arithmetic of dynamic-shape exports) is
// kFree: an eager framework computes it on the host.
OpClass classify_node(const graph::Graph& graph, const graph::Node& node);

// By op type alone (default domain), without the shape-arithmetic rule.
OpClass classify_op_type(std::string_view op_type);

std::string_view op_class_name(OpClass op_class);

// The classes with parameters in the calibration file, in file order.
inline constexpr OpClass kTimedClasses[] = {OpClass::kGemm,      OpClass::kConv,     OpClass::kDepthwiseConv,
                                            OpClass::kElementwise, OpClass::kReduction, OpClass::kMovement};

// True for the classes that run on matrix units (tensor cores) at the precision's matrix peak.
inline bool is_matrix_class(OpClass c) {
  return c == OpClass::kGemm || c == OpClass::kConv || c == OpClass::kGroupedConv;
}

// The class whose calibration parameters a class uses: conv for grouped conv, else the class itself.
inline OpClass parameter_class(OpClass c) { return c == OpClass::kGroupedConv ? OpClass::kConv : c; }

}  // namespace perfcast::predict
