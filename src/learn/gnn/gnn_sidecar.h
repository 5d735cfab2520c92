#pragma once
// What `perfcast predict` needs from a graph predictor's sidecar beyond the network, computed on the
// model's own NAS-Bench-201 split (by `perfcast fit`, or for a saved model by `perfcast evaluate
// --model NAME --annotate`, which rewrites the sidecar without retraining):
//   "interval": 10th / 90th percentile of log(measured / predicted) over the held-out test rows, and
//               the share of those rows the band covers (the same keys as the XGBoost sidecar)
//   "ood":      learn/ood.h statistics per device kind of the training + validation rows (NAS-Bench-201
//               cells at batch 32 on the GPUs, batch 1 on the Xeons)
#include <string>

#include <nlohmann/json.hpp>

#include "hardware/device_catalog.h"
#include "learn/gnn/gnn_predictor.h"
#include "learn/gnn/nasbench201_experiment.h"

namespace perfcast::learn::gnn {

// {"interval": ..., "ood": ...}. Throws perfcast::Error when a training graph cannot be rebuilt.
nlohmann::json gnn_sidecar_annotation(const GnnPredictor& predictor, const Nb201Split& split,
                                      const hardware::DeviceCatalog& catalog);

// Throws perfcast::Error naming `origin` when the model was trained on other graph features than
// this perfcast computes.
void require_current_features(const nlohmann::json& meta, const std::string& origin);

}  // namespace perfcast::learn::gnn
