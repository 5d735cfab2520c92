#pragma once
// The NAS-Bench-201 experiment behind `perfcast fit|evaluate --predictor sage|gin|gae-sage --data
// nasbench201`: HELP's measured latencies as graph samples, split by architecture or by device,
// and the graph predictors compared with the roofline alone and XGBoost on the same rows.
//
// Rows: `architectures` NAS-Bench-201 cells drawn by `data_seed` (default 400) x the columns
// (default the five desktop GPUs at batch 32 and the four Xeons, whose batch the source does not
// state: 1 assumed, see nasbench201_dataset.h).
// Prior: the naive roofline of the graph's totals on the device (exp of the static feature
// ln_roof_ms). Every learned model predicts log(measured / prior) (the samples carry the prior).
// Splits:
//   arch:   a seeded 20% of the architectures held out with every device row;
//   device: the rows of `test_columns` (default titan_rtx_32, silver_4210r) held out; the seed
//           changes the validation split and the model seeds only.
// Validation (early stopping): a seeded 10% of the training architectures.
// gae-sage pre-trains on `pretrain_architectures` other unlabelled cells (batch 32), none of them a
// test architecture.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "hardware/device_catalog.h"
#include "learn/evaluation.h"
#include "learn/gnn/gnn_options.h"
#include "learn/graph_sample.h"

namespace perfcast::learn::gnn {

struct Nb201ExperimentOptions {
  std::string data_dir;  // folder holding help-nasbench201/; "" = default shared data
  int64_t architectures = 400;
  uint64_t data_seed = 0;  // which architectures
  std::vector<std::string> columns = {"1080ti_32", "2080ti_32", "titanx_32",  "titanxp_32",  "titan_rtx_32",
                                      "gold_6226", "gold_6240", "silver_4114", "silver_4210r"};
  std::string split = "arch";  // arch | device
  std::vector<std::string> test_columns = {"titan_rtx_32", "silver_4210r"};
  uint64_t seed = 0;  // split (arch), validation split and model seeds
  double test_fraction = 0.2;
  double val_fraction = 0.1;
  int64_t pretrain_architectures = 600;  // gae-sage only
};

struct Nb201Split {
  std::vector<GraphSample> train, val, test, unlabelled;
  std::vector<std::string> test_devices;  // catalog ids of the test rows
  size_t test_architectures = 0;
};

// Loads the rows and splits them. Throws perfcast::Error (missing data, unknown column or split).
Nb201Split load_nb201_split(const Nb201ExperimentOptions& options, const hardware::DeviceCatalog& catalog,
                            bool with_unlabelled);

struct Nb201Run {
  std::string predictor;  // "roofline-prior", "roofline-prior x scale", "xgb", "sage", ...
  Metrics metrics;        // on the test rows, ms per batch
  double train_seconds = 0;
  double global_scale = 1;  // roofline-prior x scale only
};

// The roofline prior alone and with one global scale fitted on the train rows.
std::vector<Nb201Run> roofline_runs(const Nb201Split& split);
// XGBoost (learn/xgb_model.h, default parameters, seed + `seed`) on the samples' static features
// (graph totals + device + roofline), target log(measured / prior).
Nb201Run xgb_run(const Nb201Split& split, uint64_t seed, int threads);

nlohmann::json to_json(const Nb201ExperimentOptions& options);
// The options a saved model's sidecar records ("data"), to rebuild its split. Throws perfcast::Error
// naming `origin` when a key is missing.
Nb201ExperimentOptions nb201_options_from_meta(const nlohmann::json& meta, const std::string& origin);
nlohmann::json to_json(const Nb201Run& run);

}  // namespace perfcast::learn::gnn
