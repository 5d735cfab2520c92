#include "hardware/device.h"

#include <fmt/format.h>

#include <cctype>

#include "common/error.h"

namespace perfcast::hardware {
namespace {

constexpr Precision kAllPrecisions[] = {Precision::kFp64, Precision::kFp32, Precision::kTf32, Precision::kFp16,
                                        Precision::kBf16, Precision::kFp8,  Precision::kInt8};

}  // namespace

std::string precision_name(Precision p) {
  switch (p) {
    case Precision::kFp64: return "fp64";
    case Precision::kFp32: return "fp32";
    case Precision::kTf32: return "tf32";
    case Precision::kFp16: return "fp16";
    case Precision::kBf16: return "bf16";
    case Precision::kFp8: return "fp8";
    case Precision::kInt8: return "int8";
  }
  return "unknown";
}

Precision parse_precision(const std::string& text) {
  std::string key;
  for (char c : text) key += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (Precision p : kAllPrecisions) {
    if (precision_name(p) == key) return p;
  }
  std::vector<std::string> names;
  for (Precision p : kAllPrecisions) names.push_back(precision_name(p));
  throw Error(fmt::format("unknown precision '{}'; use one of: {}", text, fmt::join(names, ", ")));
}

double precision_bytes(Precision p) {
  switch (p) {
    case Precision::kFp64: return 8;
    case Precision::kFp32: case Precision::kTf32: return 4;
    case Precision::kFp16: case Precision::kBf16: return 2;
    case Precision::kFp8: case Precision::kInt8: return 1;
  }
  return 0;
}

double Device::peak_flops(Precision p) const {
  const auto it = peak_tflops.find(p);
  if (it != peak_tflops.end()) return it->second * 1e12;
  std::vector<std::string> supported;
  for (const auto& [precision, tflops] : peak_tflops) supported.push_back(precision_name(precision));
  throw Error(fmt::format("{} has no {} support; it supports: {}", id, precision_name(p),
                          supported.empty() ? std::string("nothing") : fmt::format("{}", fmt::join(supported, ", "))));
}

}  // namespace perfcast::hardware
