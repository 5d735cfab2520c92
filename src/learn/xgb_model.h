#pragma once
// RAII wrapper around the XGBoost C API (libxgboost 1.7): a booster trained on a dense float
// matrix, prediction, JSON save/load. Every XGBoost failure becomes a perfcast::Error carrying
// XGBGetLastError()'s message.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace perfcast::learn {

struct XgbParams {
  int rounds = 300;
  int max_depth = 6;
  double eta = 0.05;
  double subsample = 0.8;
  double colsample_bytree = 0.8;
  double min_child_weight = 1.0;
  double lambda = 1.0;
  int nthread = 2;          // fixed: with the seed, training is deterministic
  uint64_t seed = 0;
};

// A dense row-major float matrix (rows x cols).
struct DenseMatrix {
  std::vector<float> values;
  size_t rows = 0;
  size_t cols = 0;
};

class XgbModel {
 public:
  XgbModel() = default;
  ~XgbModel();
  XgbModel(XgbModel&& other) noexcept;
  XgbModel& operator=(XgbModel&& other) noexcept;
  XgbModel(const XgbModel&) = delete;
  XgbModel& operator=(const XgbModel&) = delete;

  // Regression (squared error, hist tree method). Throws perfcast::Error on bad shapes or when
  // XGBoost fails.
  static XgbModel train(const DenseMatrix& x, const std::vector<float>& y, const XgbParams& params);
  // A model saved by save(). Throws perfcast::Error naming the file.
  static XgbModel load(const std::string& path);
  // ".json" -> XGBoost's JSON format. Throws perfcast::Error.
  void save(const std::string& path) const;

  std::vector<float> predict(const DenseMatrix& x) const;
  float predict_one(const std::vector<float>& features) const;

  // Threads used to predict (the training value until changed).
  void set_nthread(int nthread);
  size_t num_features() const;
  bool empty() const { return booster_ == nullptr; }

 private:
  void* booster_ = nullptr;  // BoosterHandle
};

}  // namespace perfcast::learn
