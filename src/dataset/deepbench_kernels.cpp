#include "dataset/deepbench_kernels.h"

#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <initializer_list>
#include <optional>

#include "common/csv.h"
#include "common/error.h"

namespace perfcast::dataset {
namespace {

using hardware::Precision;

// The workbooks label one column several ways ("S", "S (Fitler width)", "S (filter width)"): the text of the
// first of `names` the file has and the row fills.
std::string first_cell(const CsvRow& row, std::initializer_list<const char*> names) {
  for (const char* name : names)
    if (row.has(name) && !row.at(name).empty()) return row.at(name);
  return "";
}

std::optional<double> positive_number(const std::string& text) {
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || *end != '\0' || !std::isfinite(v) || v <= 0) return std::nullopt;
  return v;
}

double dimension(const CsvRow& row, std::initializer_list<const char*> names) {
  const std::string text = first_cell(row, names);
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !(v >= 0) || v != std::floor(v))
    throw Error(fmt::format("{}:{}: '{}' is not a whole dimension ({})", row.origin(), row.line(), text,
                            *names.begin()));
  return v;
}

// The sheet's precision line, or nullopt (with the reason) for a precision perfcast cannot time.
std::optional<Precision> precision_of(const std::string& text, std::string& why) {
  if (text == "Float") return Precision::kFp32;
  if (text.rfind("16 bit inputs, 16 bit multiplication", 0) == 0) return Precision::kFp16;  // tensor cores
  if (text.rfind("16 bit inputs, 32 bit multiplication", 0) == 0) {
    why = "fp16 storage with fp32 arithmetic (P100 'pseudo fp16'): no perfcast precision";
    return std::nullopt;
  }
  if (text.find("Int8 multiplication") != std::string::npos || text.rfind("Int8 inputs", 0) == 0)
    return Precision::kInt8;
  why = "unrecognised precision '" + text + "'";
  return std::nullopt;
}

// The precision of a row that holds a kernel, or nullopt with the reason counted in out.skipped (a sheet
// footnote: its first dimension cell `first_dimension` is empty; a precision perfcast cannot time).
std::optional<Precision> kernel_row_precision(const CsvRow& row, const std::string& first_dimension,
                                              DeepBenchData& out) {
  if (first_dimension.empty()) {
    ++out.skipped["note row without a kernel (a sheet footnote)"];
    return std::nullopt;
  }
  std::string why;
  const auto precision = precision_of(row.required("precision"), why);
  if (!precision) ++out.skipped[why];
  return precision;
}

void read_gemm(const std::string& path, bool training, DeepBenchData& out) {
  const CsvTable table = read_csv(path);
  table.require_columns({"device", "precision", "M", "N", "K", "Time (msec)"});
  for (const CsvRow& row : table.rows) {
    const auto precision = kernel_row_precision(row, row.at("M"), out);
    if (!precision) continue;
    const auto ms = positive_number(row.at("Time (msec)"));
    if (!ms) {
      ++out.skipped[fmt::format("gemm time '{}' is not a measurement", row.at("Time (msec)"))];
      continue;
    }
    DeepBenchKernel kernel;
    kernel.device = row.required("device");
    kernel.origin = fmt::format("{}:{}", path, row.line());
    kernel.training = training;
    kernel.precision = *precision;
    kernel.m = dimension(row, {"M"});
    kernel.n = dimension(row, {"N"});
    kernel.k = dimension(row, {"K"});
    kernel.measured_ms = *ms;
    out.kernels.push_back(kernel);
  }
}

double output_size(double input, double filter, double pad, double stride, const CsvRow& row) {
  if (!(stride > 0)) throw Error(fmt::format("{}:{}: convolution stride is 0", row.origin(), row.line()));
  const double size = std::floor((input + 2 * pad - filter) / stride) + 1;
  if (!(size > 0)) throw Error(fmt::format("{}:{}: the filter does not fit the padded input", row.origin(), row.line()));
  return size;
}

void read_conv(const std::string& path, bool training, DeepBenchData& out) {
  const CsvTable table = read_csv(path);
  table.require_columns({"device", "precision", "pad_h", "pad_w", "Forward (msec)"});
  for (const CsvRow& row : table.rows) {
    const auto precision = kernel_row_precision(row, first_cell(row, {"W", "W (input - time)"}), out);
    if (!precision) continue;
    DeepBenchKernel base;
    base.device = row.required("device");
    base.origin = fmt::format("{}:{}", path, row.line());
    base.conv = true;
    base.training = training;
    base.precision = *precision;
    base.width = dimension(row, {"W", "W (input - time)"});
    base.height = dimension(row, {"H", "H (input)"});
    base.channels = dimension(row, {"C", "C (channels)"});
    base.batch = dimension(row, {"N", "N (batch size)"});
    base.filters = dimension(row, {"K", "K  (number of filters)"});
    base.filter_h = dimension(row, {"R", "R (Filter height)", "R (filter height)"});
    base.filter_w = dimension(row, {"S", "S (Fitler width)", "S (Filter width)", "S (filter width)"});
    const double stride_h = dimension(row, {"Vertical stride", "Vertical Stride"});
    const double stride_w = dimension(row, {"Horizontal stride", "Horizontal Stride"});
    base.out_h = output_size(base.height, base.filter_h, dimension(row, {"pad_h"}), stride_h, row);
    base.out_w = output_size(base.width, base.filter_w, dimension(row, {"pad_w"}), stride_w, row);
    const std::pair<DeepBenchPass, const char*> passes[] = {{DeepBenchPass::kForward, "Forward (msec)"},
                                                            {DeepBenchPass::kBackwardData, "wrt Inputs (msec)"},
                                                            {DeepBenchPass::kBackwardWeights, "wrt Parameters (msec)"}};
    for (const auto& [pass, column] : passes) {
      if (!training && pass != DeepBenchPass::kForward) break;
      const std::string text = row.has(column) ? row.at(column) : "";
      const auto ms = positive_number(text);
      if (!ms) {
        ++out.skipped[fmt::format("conv {} time '{}' is not a measurement", deepbench_pass_name(pass), text)];
        continue;
      }
      DeepBenchKernel kernel = base;
      kernel.pass = pass;
      kernel.measured_ms = *ms;
      out.kernels.push_back(kernel);
    }
  }
}

}  // namespace

std::string deepbench_pass_name(DeepBenchPass pass) {
  switch (pass) {
    case DeepBenchPass::kForward: return "forward";
    case DeepBenchPass::kBackwardData: return "backward-data";
    case DeepBenchPass::kBackwardWeights: return "backward-weights";
  }
  return "forward";
}

DeepBenchData load_deepbench_kernels(const std::string& dir) {
  DeepBenchData out;
  for (const char* mode : {"train", "inference"}) {
    const bool training = std::string(mode) == "train";
    for (const char* kind : {"gemm", "conv"}) {
      const std::string path = fmt::format("{}/{}/{}.csv", dir, mode, kind);
      if (!std::filesystem::exists(path))
        throw Error(fmt::format("DeepBench file {} not found (expected shared/data/deepbench beside the repository)", path));
      if (std::string(kind) == "gemm") read_gemm(path, training, out);
      else read_conv(path, training, out);
      out.files.push_back(path);
    }
  }
  return out;
}

}  // namespace perfcast::dataset
