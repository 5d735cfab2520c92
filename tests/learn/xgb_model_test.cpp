#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <random>
#include <unistd.h>

#include "common/error.h"
#include "learn/xgb_model.h"

namespace perfcast::learn {
namespace {

// y = 2x + noise, x uniform in [0, 10): `rows` rows of one feature.
void synthetic(size_t rows, uint64_t seed, DenseMatrix& x, std::vector<float>& y) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> ux(0.f, 10.f);
  std::normal_distribution<float> noise(0.f, 0.5f);
  x = DenseMatrix{{}, rows, 1};
  y.clear();
  for (size_t i = 0; i < rows; ++i) {
    const float v = ux(rng);
    x.values.push_back(v);
    y.push_back(2.f * v + noise(rng));
  }
}

XgbParams small_params() {
  XgbParams p;
  p.rounds = 100;
  p.max_depth = 4;
  p.eta = 0.1;
  return p;
}

double rmse(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += (a[i] - b[i]) * (a[i] - b[i]);
  return std::sqrt(s / static_cast<double>(a.size()));
}

TEST(XgbModel, LearnsLinearFunctionBetterThanTheMean) {
  DenseMatrix xtr, xte;
  std::vector<float> ytr, yte;
  synthetic(400, 1, xtr, ytr);
  synthetic(200, 2, xte, yte);
  const XgbModel model = XgbModel::train(xtr, ytr, small_params());
  EXPECT_EQ(model.num_features(), 1u);
  double mean = 0;
  for (float v : ytr) mean += v;
  mean /= static_cast<double>(ytr.size());
  const std::vector<float> mean_pred(yte.size(), static_cast<float>(mean));
  const double model_rmse = rmse(model.predict(xte), yte);
  const double mean_rmse = rmse(mean_pred, yte);  // ~ 2 * 10 / sqrt(12) = 5.8
  EXPECT_LT(model_rmse, 0.25 * mean_rmse);
  EXPECT_LT(model_rmse, 1.0);  // noise sd is 0.5
}

TEST(XgbModel, SaveLoadRoundTripGivesIdenticalPredictions) {
  DenseMatrix x;
  std::vector<float> y;
  synthetic(300, 3, x, y);
  const XgbModel model = XgbModel::train(x, y, small_params());
  const auto path = std::filesystem::temp_directory_path() /
                    ("perfcast_xgb_roundtrip_" + std::to_string(::getpid()) + ".json");
  model.save(path.string());
  const XgbModel loaded = XgbModel::load(path.string());
  std::filesystem::remove(path);
  EXPECT_EQ(model.predict(x), loaded.predict(x));
  EXPECT_EQ(model.predict_one({4.5f}), loaded.predict_one({4.5f}));
}

TEST(XgbModel, TrainingIsDeterministicWithFixedSeedAndThreads) {
  DenseMatrix x;
  std::vector<float> y;
  synthetic(300, 4, x, y);
  const XgbModel a = XgbModel::train(x, y, small_params());
  const XgbModel b = XgbModel::train(x, y, small_params());
  EXPECT_EQ(a.predict(x), b.predict(x));
}

TEST(XgbModel, ErrorsAreReported) {
  DenseMatrix x{{1.f, 2.f}, 2, 1};
  EXPECT_THROW(XgbModel::train(x, {1.f}, small_params()), Error);  // label count
  EXPECT_THROW(XgbModel::load("/nonexistent/model.json"), Error);
  const XgbModel model = XgbModel::train(x, {1.f, 2.f}, small_params());
  EXPECT_THROW(model.predict(DenseMatrix{{1.f, 2.f}, 1, 2}), Error);  // feature count
  EXPECT_THROW(XgbModel().predict(x), Error);
}

}  // namespace
}  // namespace perfcast::learn
