#include "learn/gnn/feature_scaler.h"

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

#include "common/error.h"

namespace perfcast::learn::gnn {

float squash(float v) { return v < 0 ? -std::log1p(-v) : std::log1p(v); }

void ScalerFit::add_rows(const float* values, size_t rows) {
  const size_t dim = sum_.size();
  for (size_t r = 0; r < rows; ++r) {
    for (size_t c = 0; c < dim; ++c) {
      const double v = squash_ ? squash(values[r * dim + c]) : values[r * dim + c];
      sum_[c] += v;
      sq_[c] += v * v;
    }
  }
  rows_ += rows;
}

FeatureScaler ScalerFit::finish() const {
  const size_t dim = sum_.size();
  FeatureScaler s;
  s.log_squash = squash_;
  s.mean.assign(dim, 0.f);
  s.inv_std.assign(dim, 1.f);
  if (rows_ == 0) return s;
  for (size_t c = 0; c < dim; ++c) {
    const double m = sum_[c] / static_cast<double>(rows_);
    const double var = std::max(0.0, sq_[c] / static_cast<double>(rows_) - m * m);
    s.mean[c] = static_cast<float>(m);
    s.inv_std[c] = var > 1e-10 ? static_cast<float>(1.0 / std::sqrt(var)) : 1.f;
  }
  return s;
}

FeatureScaler FeatureScaler::fit(const std::vector<float>& values, size_t dim, bool log_squash) {
  ScalerFit fit(dim, log_squash);
  if (dim > 0) fit.add_rows(values.data(), values.size() / dim);
  return fit.finish();
}

void FeatureScaler::apply(const float* row, std::vector<float>& out) const {
  for (size_t c = 0; c < mean.size(); ++c)
    out.push_back(((log_squash ? squash(row[c]) : row[c]) - mean[c]) * inv_std[c]);
}

nlohmann::json to_json(const FeatureScaler& s) {
  return {{"log_squash", s.log_squash}, {"mean", s.mean}, {"inv_std", s.inv_std}};
}

FeatureScaler scaler_from_json(const nlohmann::json& j) {
  FeatureScaler s;
  try {
    s.mean = j.at("mean").get<std::vector<float>>();
    s.inv_std = j.at("inv_std").get<std::vector<float>>();
    s.log_squash = j.at("log_squash").get<bool>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("model meta file: bad feature standardisation: ") + e.what());
  }
  if (s.mean.size() != s.inv_std.size()) throw Error("model meta file: standardisation mean and std differ in length");
  return s;
}

}  // namespace perfcast::learn::gnn
