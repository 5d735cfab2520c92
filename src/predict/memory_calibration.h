#pragma once
// The band of a peak-memory prediction (memory.h), from data/calibration/memory.json:
//  * tensor part (weights, activations, gradients, optimizer state): measured / predicted tensor
//    bytes on PyTorch CPU fp32 rows (data/validation/tensor_memory_rows.csv), 5th..95th percentile
//    per mode over every model; its coverage with each model left out of the fit is stored with it
//    (both computed by tests/predict/memory_validation_test.cpp).
//  * GPU runtime context: a documented byte range per vendor, not measured here (cpu: none).
//  * workspace: 0 .. its predicted value, not measured.
//  * LLM memory (serving, training: KV cache, ZeRO sharding, pipeline micro-batches): not covered
//    by those rows, so its tensor band is an assumption, reported with calibrated = false.
// band = tensor x [low, high] + runtime context range + workspace range.
#include <map>
#include <string>

#include "hardware/device.h"
#include "predict/interval.h"
#include "predict/memory.h"

namespace perfcast::predict {

struct FactorBand {
  double low = 1;   // <= 1
  double high = 1;  // >= 1
};

struct ByteRange {
  double low_bytes = 0;
  double high_bytes = 0;
};

// The tensor band of one mode. The fitted factors are shipped (calibrated) when, fitted without a
// model, they hold for at least 70% of that model's rows over all models; otherwise the file ships a
// stated assumption (calibrated = false), still checked against the measured rows.
struct MeasuredTensorBand {
  FactorBand factors;                   // the band used
  bool calibrated = false;              // factors are the fitted ones
  double held_out_coverage_pct = 0;     // rows inside `factors` (fitted: each with its model left out)
  double fitted_coverage_pct = 0;       // rows inside the band fitted without their model
  int held_out_rows = 0;
};

struct MemoryCalibration {
  std::string file;
  std::string measured_on;  // what the tensor rows are, for the band's basis text
  MeasuredTensorBand inference;
  MeasuredTensorBand training;
  std::map<std::string, ByteRange> runtime_context_by_vendor;  // "nvidia", "amd", "cpu"
  FactorBand llm_assumed;  // LLM tensor part: a stated assumption

  // The vendor's range; an unknown vendor gets the widest GPU range.
  ByteRange runtime_context_range(const std::string& vendor) const;
};

// $PERFCAST_DATA_DIR (else the source tree's data/) + "/calibration/memory.json".
std::string default_memory_calibration_path();
// Throws perfcast::Error naming the file and the missing or out-of-range key.
MemoryCalibration load_memory_calibration(const std::string& path = default_memory_calibration_path());
// The default file, loaded once per process.
const MemoryCalibration& default_memory_calibration();

struct MemoryBand {
  Interval bytes;           // value = the point estimate's total
  bool calibrated = false;  // the tensor band rests on measurements of this setting
  std::string basis;        // what is measured and what is assumed

  Interval mib() const { return {bytes.value / (1024.0 * 1024.0), bytes.low / (1024.0 * 1024.0), bytes.high / (1024.0 * 1024.0)}; }
};

// Band of an ONNX-model prediction. `vendor` as given to estimate_peak_memory ("cpu" on a CPU);
// `activation_liveness` is GraphSummary::peak_activation_liveness. Calibrated when the setting is
// the measured one: fp32 (or tf32, stored as fp32) and, for inference, eager module-scope liveness.
MemoryBand memory_band(const MemoryEstimate& estimate, Mode mode, hardware::Precision precision,
                       const std::string& vendor, const std::string& activation_liveness,
                       const MemoryCalibration& calibration);

// Band of an LLM prediction (llm_serving.h, llm_training.h): the tensor part under the assumed
// factors, plus the runtime context and workspace ranges. Never calibrated.
MemoryBand llm_memory_band(double tensor_bytes, double workspace_bytes, double runtime_context_bytes,
                           const std::string& vendor, const MemoryCalibration& calibration);

}  // namespace perfcast::predict
