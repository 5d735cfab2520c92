#pragma once
// Feature standardisation for the graph predictors, fitted on the training set and saved with the
// model: (v - mean) / std per column. Optionally each value is first squashed with
// sign(v) * log1p(|v|), for raw counts (FLOPs, bytes) that span many decades; perfcast's own graph
// features are already logarithms, so the predictors leave it off by default. Plain C++.
#include <cstdint>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace perfcast::learn::gnn {

float squash(float v);

struct FeatureScaler {
  std::vector<float> mean;     // of the squashed values, per column
  std::vector<float> inv_std;  // 1 / std (1 for constant columns)
  bool log_squash = false;     // squash before standardising

  size_t dim() const { return mean.size(); }
  // Fits over rows of `dim` columns, row-major. No rows -> identity of that dim.
  static FeatureScaler fit(const std::vector<float>& values, size_t dim, bool log_squash = false);
  // Appends the standardised `row` (dim() values) to `out`.
  void apply(const float* row, std::vector<float>& out) const;
};

// Streaming fit, for matrices too large to concatenate.
class ScalerFit {
 public:
  ScalerFit(size_t dim, bool log_squash) : sum_(dim, 0.0), sq_(dim, 0.0), squash_(log_squash) {}
  void add_rows(const float* values, size_t rows);
  FeatureScaler finish() const;

 private:
  std::vector<double> sum_, sq_;
  size_t rows_ = 0;
  bool squash_ = false;
};

nlohmann::json to_json(const FeatureScaler& scaler);
// Throws perfcast::Error when the JSON is not a scaler written by to_json.
FeatureScaler scaler_from_json(const nlohmann::json& j);

}  // namespace perfcast::learn::gnn
