#pragma once
// What `perfcast predict` needs beyond the model, added to a fitted XGBoost model's sidecar from
// the same timm data and split the model was fitted on (`perfcast calibrate --annotate MODEL`):
//   "validated":  target, split, held-out MAPE of the model and of the roofline prior (registry)
//   "interval":   10th / 90th percentile of log(measured / predicted) over the held-out rows, and the
//                 share of held-out rows the band covers
//   "ood":        OOD statistics of the training rows (learn/ood.h)
//   "applies_to": what the model was trained on (timm image classification, inference, fp16/bf16, GPU)
//   "fast_load_copy": MODEL.ubj, the same trees in XGBoost's UBJSON format (loads ~4x faster)
#include <string>

#include <nlohmann/json.hpp>

#include "hardware/device_catalog.h"
#include "learn/timm_dataset.h"

namespace perfcast::learn {

// Returns the updated sidecar (and writes it when `write`). Throws perfcast::Error when the sidecar
// is missing or its split cannot be rebuilt.
nlohmann::json annotate_sidecar(const std::string& model_path, const TimmDataset& data,
                                const hardware::DeviceCatalog& catalog, bool write = true);

}  // namespace perfcast::learn
