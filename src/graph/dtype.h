#pragma once
#include <cstdint>
#include <string_view>

namespace perfcast::graph {

enum class DType : uint8_t {
  kUnknown, kFloat32, kFloat16, kBFloat16, kFloat64, kFloat8,
  kInt4, kInt8, kUInt8, kInt16, kUInt16, kInt32, kUInt32, kInt64, kUInt64,
  kBool, kString, kComplex64, kComplex128,
};

// Bytes per element; kInt4 packs two elements per byte and reports 0.5 through bits.
int dtype_size_bits(DType dtype);
std::string_view dtype_name(DType dtype);
bool is_floating(DType dtype);

// ONNX TensorProto.DataType enum value -> DType.
DType dtype_from_onnx(int onnx_elem_type);

}  // namespace perfcast::graph
