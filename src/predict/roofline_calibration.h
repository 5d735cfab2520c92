#pragma once
#include <array>
#include <iterator>
#include <map>
#include <memory>
#include <string>

#include "predict/op_class.h"

namespace perfcast::predict {

// Parameters of one operator class in
//   t = max((F + f) / (P * a), (B + g) / (W * b)) + t0_s
// F FLOPs, B bytes read + written, P peak FLOP/s, W memory bandwidth in B/s.
struct ClassParams {
  double a = 1;     // achievable fraction of peak FLOP/s, (0, 1]
  double f = 0;     // FLOPs at which half of a * P is reached, >= 0
  double b = 1;     // achievable fraction of the memory bandwidth, (0, 1]
  double g = 0;     // bytes at which half of b * W is reached, >= 0
  double t0_s = 0;  // fixed time per kernel (launch, tail), >= 0
};

// Training-step constants (scripts/calibrate_training.py, fitted on timm training throughput).
struct TrainingCalibration {
  double backward_multiplier = 1;   // scales the first-principles backward time
  // Scales the backward of depthwise convolutions instead (their weight gradient runs far below the
  // streaming roof); the file may omit it: then backward_multiplier.
  double depthwise_conv_backward_multiplier = 1;
  double optimizer_multiplier = 1;  // scales the optimizer pass
  double interval_low_factor = 0;   // measured / predicted, 10th percentile; 0: use the inference band
  double interval_high_factor = 0;  // 90th percentile; 0: use the inference band
};

// Channels-last (NHWC) constants (roofline.json "layout", scripts/calibrate_layout.py): at tensor-core
// precisions on a GPU, a kernel's NHWC time is its NCHW time x the factor of its class.
struct LayoutCalibration {
  std::array<double, std::size(kTimedClasses)> nhwc_time_factor{1, 1, 1, 1, 1, 1};  // indexed like kTimedClasses
  bool fitted = false;  // the file has a "layout" key
};

// CPU constants (roofline.json "cpu", scripts/calibrate_cpu.py; fitted on timm's torch.compile fp32
// batch-1 CPU latencies): devices of kind "cpu" are timed with these instead of the GPU classes.
struct CpuCalibration {
  bool fitted = false;  // the file has a "cpu" key; false: CPUs use the GPU constants
  std::array<ClassParams, std::size(kTimedClasses)> classes{};  // indexed like kTimedClasses
  double per_node_overhead_s = 0;
  double interval_low_factor = 1;   // measured / predicted, 10th percentile of the fit rows
  double interval_high_factor = 1;  // 90th percentile
  // The compute roof at the max-turbo clock (fp32 peak x boost / base clock of the device file), as
  // GPU datasheet peaks are quoted; the CPU files give peaks at base clock.
  bool peak_at_boost_clock = false;
};

// data/calibration/roofline.json, written by scripts/calibrate_roofline.py.
struct RooflineCalibration {
  std::string file;         // where it was loaded from
  std::string fitted_on;
  std::string date;
  std::array<ClassParams, std::size(kTimedClasses)> classes{};  // indexed like kTimedClasses
  // Relative fp32 gemm throughput of the devices with gemm measurements, by device id (1 = the typical
  // device; a of gemm is multiplied by it, capped at 1, at non-tensor precisions). Others: 1.
  std::map<std::string, double> gemm_device_scale;
  // The same by GPU die (roofline.json gemm_device_scale.by_chip): a device without its own entry whose
  // hardware::Device::chip is listed gets its die's scale (A100 SXM4 that of the measured A100 PCIe).
  std::map<std::string, double> gemm_chip_scale;
  TrainingCalibration training;
  LayoutCalibration layout;
  // gemm wave quantisation: output tiles of this many rows and columns are spread over the SMs; the
  // FLOP term counts whole waves, F x ceil(tiles / SMs) / (tiles / SMs). 0: off.
  double gemm_wave_tile = 0;
  double per_node_overhead_s = 0;        // eager-framework time per launched node, on top of t0_s
  // Scale a of gemm / conv at the tf32/fp16/bf16/fp8/int8 (tensor-core) peaks; a * multiplier <= 1.
  double tensor_core_multiplier_gemm = 1;
  double tensor_core_multiplier_conv = 1;
  // Scales a of grouped convolutions (OpClass::kGroupedConv) at tensor-core precisions, on top of conv's a
  // and multiplier, capped at 1 (roofline.json grouped_conv.compute_efficiency_vs_conv,
  // scripts/calibrate_grouped_conv.py). A file without the key: 1 (grouped convs timed as conv).
  double grouped_conv_compute_factor = 1;
  // Scales b of every class (capped at 1) when data is stored in < 4 bytes per element; conv and grouped
  // conv use their own (roofline.json low_precision_memory_multiplier.conv; absent: the general one): eager
  // NCHW tensor-core convolutions move extra bytes in layout conversions that the bare convolution kernels
  // conv's constants were fitted on do not.
  double low_precision_memory_multiplier = 1;
  double low_precision_memory_multiplier_conv = 1;
  double low_precision_memory_multiplier_for(OpClass op_class) const;
  // The end-to-end latency band, measured / predicted: exp(mean -+ 1.28 sd) of the timm fit rows' log
  // residuals (an 80% band; roofline.json interval).
  double interval_low_factor = 1;
  double interval_high_factor = 1;
  std::map<std::string, double> runtime_context_bytes;  // by device vendor ("nvidia", "amd", "cpu")
  double workspace_fraction = 1;         // of the largest gemm/conv operand
  double workspace_cap_bytes = 0;
  CpuCalibration cpu;
  // Set on the copy that for_device() returns for CPUs: compute roofs at the boost clock.
  bool peak_at_boost_clock = false;

  const ClassParams& params(OpClass op_class) const;
  // gemm_device_scale's entry for the device, else gemm_chip_scale's for its chip, else 1.
  double gemm_scale_for(const std::string& device_id, const std::string& chip = "") const;
  double tensor_core_multiplier(OpClass op_class) const;
  // layout.nhwc_time_factor of the class (1 for classes without one: free, unknown).
  double nhwc_time_factor(OpClass op_class) const;
  // The vendor's entry, else the largest of all (unknown vendors get the conservative figure).
  double runtime_context_for(const std::string& vendor) const;
  // The constants a device kind is timed with: for "cpu" with a fitted "cpu" key, a copy whose classes,
  // per-node overhead and band are cpu's (no gemm wave quantisation, no per-device gemm scale); else *this.
  const RooflineCalibration& for_device(const std::string& device_kind) const;
  std::shared_ptr<const RooflineCalibration> cpu_variant;  // that copy, built by load_roofline_calibration
};

// $PERFCAST_DATA_DIR (else the source tree's data/) + "/calibration/roofline.json".
std::string default_calibration_path();

// Throws perfcast::Error naming the file and the missing or invalid key.
RooflineCalibration load_roofline_calibration(const std::string& path = default_calibration_path());

}  // namespace perfcast::predict
