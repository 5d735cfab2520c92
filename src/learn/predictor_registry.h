#pragma once
// The learned predictors on disk (data/models/learned/*.meta.json) and how `predict --predictor auto`
// chooses among them. Each sidecar says what it predicts (target), on which split it was validated
// and with what MAPE, the baseline's MAPE on the same held-out rows, and what it applies to. A new
// predictor (a GNN, say) plugs in by writing such a sidecar: no code here names it.
//
// Keys read from a sidecar (all optional except "predictor"):
//   "predictor": "xgb" | "gnn" | ...          "model_file": the model next to the sidecar
//   "validated": {"target", "split", "mape_pct", "baseline", "baseline_mape_pct", "n"}
//     else "result": {"target", "split", "<predictor>": {"mape_pct", "n"}, "roofline_prior": {"mape_pct"}}
//       (perfcast fit --predictor xgb)
//     else "metrics": {"model": {"mape_pct", "n"}, "roofline_prior": {"mape_pct"}}, "split": {"kind"},
//       "target" or "data": {"target": "latency..."} (perfcast-gnn/1 sidecars)
//   "applies_to": {"task", "mode", "precisions": [...], "device_kind", "inputs"}
//   "interval": {"log_residual_low", "log_residual_high", "quantiles": [0.1, 0.9], ...}
//   "ood": OOD statistics (learn/ood.h)
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace perfcast::learn {

struct Applicability {
  std::string task;                     // "image-classification"; empty = not stated
  std::string mode;                     // "inference" | "training"
  std::vector<std::string> precisions;  // "fp16", "bf16"
  std::string device_kind;              // "gpu"
  std::string inputs;                   // what the predictor reads, in words
};

struct RegisteredPredictor {
  std::string name;        // "xgb"
  std::string target;      // "latency"
  std::string meta_path;
  std::string model_path;  // empty when the sidecar names no model file
  std::string split;       // "family" | "device" | ...
  double mape_pct = 0;     // held-out MAPE of this predictor
  std::string baseline;    // what it was compared with on the same rows ("roofline_prior")
  std::optional<double> baseline_mape_pct;
  size_t n_validated = 0;
  std::optional<Applicability> applies_to;  // nullopt: the sidecar does not say; auto never picks it
  nlohmann::json meta;                      // the whole sidecar
};

// What a prediction request is, for the applicability check.
struct RequestKind {
  std::string task;         // "image-classification" or "" (unknown: e.g. an LLM config)
  std::string mode;         // "inference" | "training"
  std::string precision;    // "fp16"
  std::string device_kind;  // "gpu"
};

// Empty when the predictor applies; else why not (one sentence).
std::string not_applicable_reason(const RegisteredPredictor& p, const RequestKind& request);

class PredictorRegistry {
 public:
  // Reads every *.meta.json in `dir` (default data/models/learned). A missing folder is an empty
  // registry; a sidecar that cannot be read is listed in skipped() with the reason, not fatal.
  static PredictorRegistry load(const std::string& dir = "");
  const std::vector<RegisteredPredictor>& predictors() const { return predictors_; }
  const std::vector<std::string>& skipped() const { return skipped_; }
  // The predictor named `name` for `target`, or nullptr.
  const RegisteredPredictor* find(const std::string& name, const std::string& target) const;
  // Among the predictors named one of `names` for `target`, the one with the lowest validated MAPE,
  // preferring those validated on `split` (any split when none was); nullptr when none is named so.
  const RegisteredPredictor* best_of(const std::vector<std::string>& names, const std::string& target,
                                     const std::string& split) const;

  struct Choice {
    const RegisteredPredictor* learned = nullptr;  // nullptr: the roofline
    std::string why;
  };
  // The applicable learned predictor with the lowest validated MAPE for `target`, provided it beat
  // its baseline on the same held-out rows; else the roofline. `runnable` lists the predictor names
  // this build can run (others are listed in `why` but not chosen).
  Choice choose(const std::string& target, const RequestKind& request, const std::vector<std::string>& runnable) const;

 private:
  std::vector<RegisteredPredictor> predictors_;
  std::vector<std::string> skipped_;  // "file: reason"
};

// Parses one sidecar (exposed for tests). Throws perfcast::Error naming `meta_path`.
RegisteredPredictor parse_registered_predictor(const nlohmann::json& meta, const std::string& meta_path);

}  // namespace perfcast::learn
