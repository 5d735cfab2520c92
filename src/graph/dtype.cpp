#include "graph/dtype.h"

namespace perfcast::graph {

int dtype_size_bits(DType dtype) {
  switch (dtype) {
    case DType::kFloat64: case DType::kInt64: case DType::kUInt64: case DType::kComplex64: return 64;
    case DType::kComplex128: return 128;
    case DType::kFloat32: case DType::kInt32: case DType::kUInt32: return 32;
    case DType::kFloat16: case DType::kBFloat16: case DType::kInt16: case DType::kUInt16: return 16;
    case DType::kFloat8: case DType::kInt8: case DType::kUInt8: case DType::kBool: return 8;
    case DType::kInt4: return 4;
    case DType::kString: case DType::kUnknown: return 0;
  }
  return 0;
}

std::string_view dtype_name(DType dtype) {
  switch (dtype) {
    case DType::kFloat32: return "float32";
    case DType::kFloat16: return "float16";
    case DType::kBFloat16: return "bfloat16";
    case DType::kFloat64: return "float64";
    case DType::kFloat8: return "float8";
    case DType::kInt4: return "int4";
    case DType::kInt8: return "int8";
    case DType::kUInt8: return "uint8";
    case DType::kInt16: return "int16";
    case DType::kUInt16: return "uint16";
    case DType::kInt32: return "int32";
    case DType::kUInt32: return "uint32";
    case DType::kInt64: return "int64";
    case DType::kUInt64: return "uint64";
    case DType::kBool: return "bool";
    case DType::kString: return "string";
    case DType::kComplex64: return "complex64";
    case DType::kComplex128: return "complex128";
    case DType::kUnknown: return "unknown";
  }
  return "unknown";
}

bool is_floating(DType dtype) {
  switch (dtype) {
    case DType::kFloat32: case DType::kFloat16: case DType::kBFloat16:
    case DType::kFloat64: case DType::kFloat8:
      return true;
    default:
      return false;
  }
}

DType dtype_from_onnx(int onnx_elem_type) {
  // Values of onnx.TensorProto.DataType (onnx.proto).
  switch (onnx_elem_type) {
    case 1: return DType::kFloat32;
    case 2: return DType::kUInt8;
    case 3: return DType::kInt8;
    case 4: return DType::kUInt16;
    case 5: return DType::kInt16;
    case 6: return DType::kInt32;
    case 7: return DType::kInt64;
    case 8: return DType::kString;
    case 9: return DType::kBool;
    case 10: return DType::kFloat16;
    case 11: return DType::kFloat64;
    case 12: return DType::kUInt32;
    case 13: return DType::kUInt64;
    case 14: return DType::kComplex64;
    case 15: return DType::kComplex128;
    case 16: return DType::kBFloat16;
    case 17: case 18: case 19: case 20: return DType::kFloat8;
    case 21: case 22: return DType::kInt4;
    default: return DType::kUnknown;
  }
}

}  // namespace perfcast::graph
