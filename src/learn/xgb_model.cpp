#include "learn/xgb_model.h"

#include <xgboost/c_api.h>

#include <filesystem>
#include <limits>
#include <string>
#include <utility>

#include <fmt/format.h>

#include "common/error.h"

namespace perfcast::learn {
namespace {

void check(int rc, const std::string& what) {
  if (rc != 0) throw Error(fmt::format("XGBoost: {} failed: {}", what, XGBGetLastError()));
}

class DMatrix {
 public:
  explicit DMatrix(const DenseMatrix& x) {
    if (x.rows == 0 || x.cols == 0 || x.values.size() != x.rows * x.cols)
      throw Error(fmt::format("XGBoost: a {} x {} matrix needs {} values, got {}", x.rows, x.cols, x.rows * x.cols,
                              x.values.size()));
    check(XGDMatrixCreateFromMat(x.values.data(), x.rows, x.cols, std::numeric_limits<float>::quiet_NaN(), &handle_),
          "creating a DMatrix");
  }
  ~DMatrix() {
    if (handle_) XGDMatrixFree(handle_);
  }
  DMatrix(const DMatrix&) = delete;
  DMatrix& operator=(const DMatrix&) = delete;
  DMatrixHandle get() const { return handle_; }

 private:
  DMatrixHandle handle_ = nullptr;
};

void quiet_xgboost() {
  static const bool done = [] {
    XGBSetGlobalConfig(R"({"verbosity": 0})");
    return true;
  }();
  (void)done;
}

void set_param(BoosterHandle booster, const std::string& name, const std::string& value) {
  check(XGBoosterSetParam(booster, name.c_str(), value.c_str()), "setting " + name + "=" + value);
}

}  // namespace

XgbModel::~XgbModel() {
  if (booster_) XGBoosterFree(booster_);
}

XgbModel::XgbModel(XgbModel&& other) noexcept : booster_(std::exchange(other.booster_, nullptr)) {}

XgbModel& XgbModel::operator=(XgbModel&& other) noexcept {
  if (this != &other) {
    if (booster_) XGBoosterFree(booster_);
    booster_ = std::exchange(other.booster_, nullptr);
  }
  return *this;
}

XgbModel XgbModel::train(const DenseMatrix& x, const std::vector<float>& y, const XgbParams& params) {
  quiet_xgboost();
  if (y.size() != x.rows) throw Error(fmt::format("XGBoost: {} rows but {} labels", x.rows, y.size()));
  if (params.rounds <= 0) throw Error("XGBoost: rounds must be positive");
  DMatrix dtrain(x);
  check(XGDMatrixSetFloatInfo(dtrain.get(), "label", y.data(), y.size()), "setting labels");
  XgbModel model;
  DMatrixHandle handles[] = {dtrain.get()};
  check(XGBoosterCreate(handles, 1, &model.booster_), "creating a booster");
  set_param(model.booster_, "objective", "reg:squarederror");
  set_param(model.booster_, "tree_method", "hist");
  set_param(model.booster_, "max_depth", std::to_string(params.max_depth));
  set_param(model.booster_, "eta", fmt::format("{}", params.eta));
  set_param(model.booster_, "subsample", fmt::format("{}", params.subsample));
  set_param(model.booster_, "colsample_bytree", fmt::format("{}", params.colsample_bytree));
  set_param(model.booster_, "min_child_weight", fmt::format("{}", params.min_child_weight));
  set_param(model.booster_, "lambda", fmt::format("{}", params.lambda));
  set_param(model.booster_, "nthread", std::to_string(params.nthread));
  set_param(model.booster_, "seed", std::to_string(params.seed));
  set_param(model.booster_, "verbosity", "0");
  for (int i = 0; i < params.rounds; ++i) check(XGBoosterUpdateOneIter(model.booster_, i, dtrain.get()), "training");
  return model;
}

XgbModel XgbModel::load(const std::string& path) {
  quiet_xgboost();
  if (!std::filesystem::is_regular_file(path)) throw Error(fmt::format("no model file '{}'", path));
  XgbModel model;
  check(XGBoosterCreate(nullptr, 0, &model.booster_), "creating a booster");
  check(XGBoosterLoadModel(model.booster_, path.c_str()), "loading '" + path + "'");
  return model;
}

void XgbModel::save(const std::string& path) const {
  if (!booster_) throw Error("XGBoost: cannot save an empty model");
  check(XGBoosterSaveModel(booster_, path.c_str()), "saving '" + path + "'");
}

void XgbModel::set_nthread(int nthread) {
  if (!booster_) throw Error("XGBoost: empty model");
  set_param(booster_, "nthread", std::to_string(nthread));
}

size_t XgbModel::num_features() const {
  if (!booster_) return 0;
  bst_ulong n = 0;
  check(XGBoosterGetNumFeature(booster_, &n), "reading the feature count");
  return static_cast<size_t>(n);
}

std::vector<float> XgbModel::predict(const DenseMatrix& x) const {
  if (!booster_) throw Error("XGBoost: cannot predict with an empty model");
  const size_t expected = num_features();
  if (x.cols != expected)
    throw Error(fmt::format("XGBoost: the model takes {} features, got {}", expected, x.cols));
  DMatrix dmat(x);
  const char* config = R"({"type": 0, "training": false, "iteration_begin": 0, "iteration_end": 0, "strict_shape": false})";
  const bst_ulong* shape = nullptr;
  bst_ulong dim = 0;
  const float* result = nullptr;
  check(XGBoosterPredictFromDMatrix(booster_, dmat.get(), config, &shape, &dim, &result), "predicting");
  return std::vector<float>(result, result + x.rows);
}


float XgbModel::predict_one(const std::vector<float>& features) const {
  DenseMatrix x{features, 1, features.size()};
  return predict(x).at(0);
}

}  // namespace perfcast::learn
