#include "predict/layout.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "common/error.h"

namespace perfcast::predict {

std::string layout_name(Layout layout) { return layout == Layout::kNhwc ? "nhwc" : "nchw"; }

Layout parse_layout(const std::string& text) {
  std::string t = text;
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  if (t == "nchw") return Layout::kNchw;
  if (t == "nhwc" || t == "channels_last" || t == "channels-last") return Layout::kNhwc;
  throw Error(fmt::format("unknown layout '{}'; expected nchw (PyTorch's default) or nhwc (channels_last)", text));
}

}  // namespace perfcast::predict
