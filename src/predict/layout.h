#pragma once
// The memory layout of a CNN's activations: PyTorch's default NCHW or channels_last (NHWC).
// The roofline is fitted on NCHW runs; NHWC scales each kernel class's time by a factor fitted on
// timm's channels_last measurements (roofline.json "layout", scripts/calibrate_layout.py).
#include <string>

namespace perfcast::predict {

enum class Layout { kNchw, kNhwc };

std::string layout_name(Layout layout);  // "nchw", "nhwc"
// "nchw" or "nhwc" (also "channels_last"), case-insensitive; throws perfcast::Error otherwise.
Layout parse_layout(const std::string& text);

}  // namespace perfcast::predict
