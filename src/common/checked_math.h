#pragma once
#include <fmt/format.h>

#include <cstdint>
#include <string_view>

#include "common/error.h"

namespace perfcast {

// Shapes come from user files and command-line flags; an absurd batch must raise an error
// naming the tensor, not wrap around into a negative size.
inline int64_t checked_mul(int64_t a, int64_t b, std::string_view what) {
  int64_t result = 0;
  if (__builtin_mul_overflow(a, b, &result)) {
    throw Error(fmt::format("size of '{}' overflows 64 bits ({} x {}); the requested shape is too large", what, a, b));
  }
  return result;
}

}  // namespace perfcast
