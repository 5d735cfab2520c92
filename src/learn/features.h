#pragma once
// Tabular features of one (model, batch, image size, device, precision) row for the learned
// predictors, and perfcast's roofline prior: an analytical estimate from the model's totals and the
// device's spec sheet that is both a feature and the base the learned model corrects
// (target = log(measured / t_roof), prediction = t_roof * exp(model output)).
//
// Roofline prior (totals only, no graph):
//   t_compute = 2 * GMACs * 1e9 * batch / peak(precision)
//   bytes     = params * b + macts * batch * b * 2      (b = precision_bytes: weights read once,
//                                                        every activation written then read)
//   t_memory  = bytes / memory bandwidth
//   t_roof    = max(t_compute, t_memory)
#include <cstdint>
#include <string>
#include <vector>

#include "hardware/device.h"

namespace perfcast::learn {

// One workload as timm's benchmark files describe it (per-sample totals, timm's units).
struct WorkloadRow {
  std::string model;             // timm model name
  double param_count_m = 0;      // parameters, millions
  double gmacs = 0;              // multiply-accumulates per sample, 1e9
  double macts_m = 0;            // activation count per sample, millions
  int64_t batch = 1;
  int64_t img_size = 224;        // square input side, pixels
  hardware::Precision precision = hardware::Precision::kFp16;
  bool channels_last = false;    // NHWC memory layout
  bool compiled = false;         // torch.compile (dynamo)
  double torch_version = 0;      // 2.4 for PyTorch 2.4.0 (major + minor / 10; 0 when unknown)
};

struct RooflinePrior {
  double compute_s = 0;
  double memory_s = 0;
  double bytes = 0;
  double time_s = 0;  // max(compute_s, memory_s)
};

// Throws perfcast::Error when the device lacks the precision.
RooflinePrior roofline_prior(const WorkloadRow& row, const hardware::Device& device);

// Names of the feature vector's columns, in order (stable: saved models depend on it).
const std::vector<std::string>& feature_names();
// The feature vector (feature_names().size() values). Throws like roofline_prior.
std::vector<float> make_features(const WorkloadRow& row, const hardware::Device& device);
// Appends the feature vector to `out` (no allocation per row).
void append_features(const WorkloadRow& row, const hardware::Device& device, std::vector<float>& out);

// The model family: the timm name's prefix before the first '_' or digit ("resnet50" -> "resnet",
// "vit_base_patch16_224" -> "vit", "mobilenetv3_large_100" -> "mobilenetv"). Lower-cased.
std::string model_family(const std::string& model_name);

}  // namespace perfcast::learn
