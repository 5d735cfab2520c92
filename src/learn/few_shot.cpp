#include "learn/few_shot.h"

#include <algorithm>
#include <cstdlib>
#include <cmath>
#include <filesystem>
#include <map>
#include <random>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/csv.h"
#include "common/error.h"
#include "common/quantile.h"
#include "learn/reference_transfer.h"

namespace perfcast::learn {
namespace {

// The first of `names` the table has, or "".
std::string pick_column(const CsvTable& t, std::initializer_list<const char*> names) {
  for (const char* n : names)
    if (std::find(t.columns.begin(), t.columns.end(), n) != t.columns.end()) return n;
  return "";
}

double positive(const CsvRow& row, const std::string& column) {
  const double v = row.number(column);
  if (!(v > 0) || !std::isfinite(v))
    throw Error(fmt::format("{}:{}: column '{}' must be a positive number, got '{}'", row.origin(), row.line(),
                            column, row.at(column)));
  return v;
}

bool flag(const CsvRow& row, const std::string& column) {
  const std::string& v = row.at(column);
  if (v.empty() || v == "0" || v == "false" || v == "False") return false;
  if (v == "1" || v == "true" || v == "True") return true;
  throw Error(fmt::format("{}:{}: column '{}' must be 0 or 1, got '{}'", row.origin(), row.line(), column, v));
}

// Solves the small dense system a x = b (Gaussian elimination with partial pivoting).
std::vector<double> solve(std::vector<std::vector<double>> a, std::vector<double> b) {
  const size_t n = b.size();
  for (size_t c = 0; c < n; ++c) {
    size_t p = c;
    for (size_t r = c + 1; r < n; ++r)
      if (std::fabs(a[r][c]) > std::fabs(a[p][c])) p = r;
    std::swap(a[c], a[p]);
    std::swap(b[c], b[p]);
    if (std::fabs(a[c][c]) < 1e-12) a[c][c] = 1e-12;
    for (size_t r = c + 1; r < n; ++r) {
      const double f = a[r][c] / a[c][c];
      for (size_t k = c; k < n; ++k) a[r][k] -= f * a[c][k];
      b[r] -= f * b[c];
    }
  }
  std::vector<double> x(n);
  for (size_t i = n; i-- > 0;) {
    double s = b[i];
    for (size_t k = i + 1; k < n; ++k) s -= a[i][k] * x[k];
    x[i] = s / a[i][i];
  }
  return x;
}

double base_ms(const BaseRow& r, const std::string& base) { return base == "xgb" ? r.xgb_ms : r.prior_ms; }

std::vector<double> slope_features(const BaseRow& r, const std::string& base) {
  return {std::log(base_ms(r, base)), r.log_compute_over_memory};
}

// Fits the candidate on the rows in `idx`.
DeviceCalibration fit_candidate(const std::string& base, const std::string& form, const std::vector<BaseRow>& rows,
                                const std::vector<double>& measured, const std::vector<size_t>& idx) {
  DeviceCalibration cal;
  cal.base = base;
  cal.form = form;
  const double n = static_cast<double>(idx.size());
  std::vector<double> y;
  for (size_t i : idx) y.push_back(std::log(measured[i] / base_ms(rows[i], base)));
  if (form == "none") return cal;
  if (form == "scale") {
    // The median: a few rows dominated by launch overhead or a slow kernel must not set the factor.
    cal.intercept = median(y);
    return cal;
  }
  cal.ridge_lambda = kCalibrationRidgeLambda;
  const size_t k = 2;
  std::vector<std::vector<double>> f;
  for (size_t i : idx) f.push_back(slope_features(rows[i], base));
  cal.centers.assign(k, 0);
  std::vector<double> sd(k, 0);
  for (const auto& v : f)
    for (size_t j = 0; j < k; ++j) cal.centers[j] += v[j] / n;
  for (const auto& v : f)
    for (size_t j = 0; j < k; ++j) sd[j] += (v[j] - cal.centers[j]) * (v[j] - cal.centers[j]) / n;
  for (double& s : sd) s = std::max(std::sqrt(s), 1e-6);
  // Centered features: the intercept is the mean of y and the slopes decouple from it.
  std::vector<std::vector<double>> a(k, std::vector<double>(k, 0));
  std::vector<double> b(k, 0);
  double ymean = 0;
  for (double v : y) ymean += v / n;
  for (size_t r = 0; r < f.size(); ++r) {
    std::vector<double> z(k);
    for (size_t j = 0; j < k; ++j) z[j] = (f[r][j] - cal.centers[j]) / sd[j];
    for (size_t p = 0; p < k; ++p) {
      b[p] += z[p] * (y[r] - ymean);
      for (size_t q = 0; q < k; ++q) a[p][q] += z[p] * z[q];
    }
  }
  for (size_t p = 0; p < k; ++p) a[p][p] += cal.ridge_lambda;
  const std::vector<double> beta = solve(a, b);
  cal.intercept = ymean;
  cal.slopes.resize(k);
  for (size_t j = 0; j < k; ++j) cal.slopes[j] = beta[j] / sd[j];
  return cal;
}

double log_correction(const DeviceCalibration& cal, const BaseRow& r) {
  double c = cal.intercept;
  if (!cal.slopes.empty()) {
    const auto f = slope_features(r, cal.base);
    for (size_t j = 0; j < cal.slopes.size(); ++j) c += cal.slopes[j] * (f[j] - cal.centers[j]);
  }
  return c;
}


// MAPE and Acc(10%) without Kendall's tau (O(n^2), too slow for the repeated few-shot evaluation).
Metrics quick_metrics(const std::vector<double>& meas, const std::vector<double>& pred) {
  Metrics m;
  m.n = meas.size();
  double ape = 0, se = 0;
  size_t within = 0;
  for (size_t i = 0; i < meas.size(); ++i) {
    const double e = std::fabs(pred[i] - meas[i]) / meas[i];
    ape += e;
    se += (pred[i] - meas[i]) * (pred[i] - meas[i]);
    if (e <= 0.10) ++within;
  }
  m.mape = 100.0 * ape / static_cast<double>(m.n);
  m.rmse = std::sqrt(se / static_cast<double>(m.n));
  m.acc10 = 100.0 * static_cast<double>(within) / static_cast<double>(m.n);
  return m;
}

void accumulate(Metrics& sum, const Metrics& m, double w) {
  sum.n = m.n;
  sum.mape += w * m.mape;
  sum.rmse += w * m.rmse;
  sum.acc10 += w * m.acc10;
}

}  // namespace

std::vector<MeasuredRow> read_measured_rows(const std::string& path) {
  if (!std::filesystem::is_regular_file(path)) throw Error(fmt::format("no rows file '{}'", path));
  const CsvTable t = read_csv(path);
  const std::string c_params = pick_column(t, {"params_m", "param_count"});
  const std::string c_gmacs = pick_column(t, {"gmacs", "infer_gmacs"});
  const std::string c_macts = pick_column(t, {"macts_m", "infer_macts"});
  const std::string c_batch = pick_column(t, {"batch", "infer_batch_size"});
  const std::string c_img = pick_column(t, {"img_size", "infer_img_size"});
  const std::string c_ms = pick_column(t, {"latency_ms", "infer_step_time"});
  const std::string c_sps = pick_column(t, {"samples_per_s", "infer_samples_per_sec"});
  std::vector<std::string> missing;
  if (pick_column(t, {"model"}).empty()) missing.push_back("model");
  if (c_params.empty()) missing.push_back("params_m (or timm's param_count)");
  if (c_gmacs.empty()) missing.push_back("gmacs (or infer_gmacs)");
  if (c_macts.empty()) missing.push_back("macts_m (or infer_macts)");
  if (c_batch.empty()) missing.push_back("batch (or infer_batch_size)");
  if (c_img.empty()) missing.push_back("img_size (or infer_img_size)");
  if (c_ms.empty() && c_sps.empty()) missing.push_back("latency_ms (or infer_step_time, samples_per_s, infer_samples_per_sec)");
  if (!missing.empty()) {
    std::string list;
    for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
    throw Error(fmt::format("{}: missing column(s) {}; see `perfcast calibrate --help` for the rows format", path, list));
  }
  // A timm benchmark file's name fixes precision, layout, compile and PyTorch version.
  WorkloadRow defaults;
  {
    WorkloadRow from_name;
    std::string why;
    if (timm_file_settings(std::filesystem::path(path).filename().string(), from_name, nullptr, why)) defaults = from_name;
  }
  std::vector<MeasuredRow> out;
  for (const CsvRow& row : t.rows) {
    MeasuredRow m;
    m.line = row.line();
    m.workload = defaults;
    m.workload.model = row.required("model");
    m.workload.param_count_m = positive(row, c_params);
    m.workload.gmacs = positive(row, c_gmacs);
    m.workload.macts_m = positive(row, c_macts);
    const double batch = positive(row, c_batch);
    if (batch != std::floor(batch))
      throw Error(fmt::format("{}:{}: column '{}' must be a whole number, got '{}'", path, row.line(), c_batch, row.at(c_batch)));
    m.workload.batch = static_cast<int64_t>(batch);
    m.workload.img_size = static_cast<int64_t>(std::llround(positive(row, c_img)));
    if (!c_ms.empty() && !row.at(c_ms).empty()) {
      m.latency_ms = positive(row, c_ms);
    } else if (!c_sps.empty()) {
      m.latency_ms = batch * 1e3 / positive(row, c_sps);
    } else {
      throw Error(fmt::format("{}:{}: column '{}' is empty", path, row.line(), c_ms));
    }
    if (row.has("precision") && !row.at("precision").empty()) {
      const std::string& p = row.at("precision");
      if (p != "fp16" && p != "bf16")
        throw Error(fmt::format("{}:{}: precision '{}': the learned predictor covers fp16 and bf16 (AMP) only", path,
                                row.line(), p));
      m.workload.precision = hardware::parse_precision(p);
    }
    if (row.has("channels_last")) m.workload.channels_last = flag(row, "channels_last");
    if (row.has("compiled")) m.workload.compiled = flag(row, "compiled");
    if (row.has("torch_version") && !row.at("torch_version").empty()) m.workload.torch_version = row.number("torch_version");
    out.push_back(std::move(m));
  }
  if (out.empty()) throw Error(fmt::format("{}: no rows", path));
  return out;
}

BaseRow base_row(const WorkloadRow& row, const hardware::Device& device, const XgbModel& model) {
  BaseRow b;
  const RooflinePrior prior = roofline_prior(row, device);
  b.prior_ms = prior.time_s * 1e3;
  b.xgb_ms = b.prior_ms * std::exp(static_cast<double>(model.predict_one(make_features(row, device))));
  b.log_compute_over_memory = std::log(std::max(prior.compute_s, 1e-15) / std::max(prior.memory_s, 1e-15));
  return b;
}

DeviceCalibration fit_device_calibration(const std::string& device_id, const std::vector<BaseRow>& base,
                                         const std::vector<double>& measured, std::vector<nlohmann::json>* candidates) {
  if (base.size() != measured.size()) throw Error("calibration: as many base predictions as measurements needed");
  if (measured.size() < 3)
    throw Error(fmt::format("calibrating '{}' needs at least 3 measured rows, got {} (8 or more recommended)", device_id,
                            measured.size()));
  const size_t n = measured.size();
  struct Option {
    const char* base;
    const char* form;
  };
  std::vector<Option> options = {{"xgb", "none"}, {"xgb", "scale"}, {"roofline", "scale"}};
  if (n >= 6) {
    options.push_back({"xgb", "loglinear"});
    options.push_back({"roofline", "loglinear"});
  }
  DeviceCalibration best;
  double best_mape = std::numeric_limits<double>::infinity();
  std::vector<double> best_resid;
  for (const Option& o : options) {
    std::vector<double> resid;
    double ape = 0;
    for (size_t i = 0; i < n; ++i) {
      std::vector<size_t> idx;
      for (size_t k = 0; k < n; ++k)
        if (k != i) idx.push_back(k);
      const DeviceCalibration c = fit_candidate(o.base, o.form, base, measured, idx);
      const double pred = base_ms(base[i], o.base) * std::exp(log_correction(c, base[i]));
      resid.push_back(std::log(measured[i] / pred));
      ape += std::fabs(pred - measured[i]) / measured[i];
    }
    const double mape = 100.0 * ape / static_cast<double>(n);
    if (candidates) candidates->push_back({{"base", o.base}, {"form", o.form}, {"loo_mape_pct", mape}});
    if (mape < best_mape - 1e-9) {
      best_mape = mape;
      std::vector<size_t> all(n);
      for (size_t k = 0; k < n; ++k) all[k] = k;
      best = fit_candidate(o.base, o.form, base, measured, all);
      best_resid = resid;
    }
  }
  best.device_id = device_id;
  best.n_rows = n;
  best.loo_mape_pct = best_mape;
  const LogBand band = loo_log_band(best_resid);
  best.log_q_low = band.low;
  best.log_q_high = band.high;
  best.loo_log_residuals = std::move(best_resid);
  return best;
}

LogBand loo_log_band(const std::vector<double>& resid) {
  const size_t n = resid.size();
  if (n < 2) throw Error("an interval needs at least 2 leave-one-out residuals");
  double mean = 0, var = 0;
  for (double r : resid) mean += r / static_cast<double>(n);
  for (double r : resid) var += (r - mean) * (r - mean) / static_cast<double>(n - 1);
  const double df = static_cast<double>(n - 1);
  const double t90 = 1.2816 + 0.8466 / df;  // one-sided 90% Student t quantile (Cornish-Fisher, first order)
  const double half = t90 * std::sqrt(var) * std::sqrt(1.0 + 1.0 / static_cast<double>(n));
  return {std::min({0.0, quantile(resid, 0.1), mean - half}), std::max({0.0, quantile(resid, 0.9), mean + half})};
}

double apply_calibration(const DeviceCalibration& cal, const BaseRow& base) {
  return base_ms(base, cal.base) * std::exp(log_correction(cal, base));
}

nlohmann::json to_json(const DeviceCalibration& c) {
  return {{"device", c.device_id},
          {"base", c.base},
          {"form", c.form},
          {"intercept", c.intercept},
          {"slopes", c.slopes},
          {"centers", c.centers},
          {"slope_features", {"log(base ms)", "log(prior compute s / prior memory s)"}},
          {"ridge_lambda", c.ridge_lambda},
          {"log_residual_low", c.log_q_low},
          {"log_residual_high", c.log_q_high},
          {"interval_quantiles", {0.1, 0.9}},
          {"loo_mape_pct", c.loo_mape_pct},
          {"n_rows", c.n_rows},
          {"formula", "latency_ms = base_ms * exp(intercept + sum slopes[k] * (feature[k] - centers[k]))"}};
}

DeviceCalibration calibration_from_json(const nlohmann::json& j, const std::string& origin) {
  try {
    DeviceCalibration c;
    c.device_id = j.at("device").get<std::string>();
    c.base = j.at("base").get<std::string>();
    c.form = j.at("form").get<std::string>();
    if ((c.base != "xgb" && c.base != "roofline") || (c.form != "none" && c.form != "scale" && c.form != "loglinear"))
      throw Error(fmt::format("{}: unknown calibration base '{}' or form '{}'", origin, c.base, c.form));
    c.intercept = j.at("intercept").get<double>();
    c.slopes = j.at("slopes").get<std::vector<double>>();
    c.centers = j.at("centers").get<std::vector<double>>();
    if (c.slopes.size() != c.centers.size() || (c.form == "loglinear" && c.slopes.size() != 2))
      throw Error(fmt::format("{}: malformed calibration slopes", origin));
    c.ridge_lambda = j.value("ridge_lambda", 0.0);
    c.log_q_low = j.at("log_residual_low").get<double>();
    c.log_q_high = j.at("log_residual_high").get<double>();
    c.loo_mape_pct = j.value("loo_mape_pct", 0.0);
    c.n_rows = j.value("n_rows", size_t{0});
    return c;
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("{}: not a calibration file perfcast can read: {}", origin, e.what()));
  }
}

std::string calibration_path(const std::string& device_id) {
  const char* env = std::getenv("PERFCAST_CALIBRATION_DIR");
  if (env && *env) return std::string(env) + "/" + device_id + ".json";
  return hardware::default_data_dir() + "/models/learned/calibration/" + device_id + ".json";
}

std::vector<FewShotRow> evaluate_few_shot(const TimmDataset& data, const hardware::DeviceCatalog& catalog,
                                          const XgbParams& params, const std::vector<size_t>& shots, size_t seeds,
                                          const std::vector<std::string>& only) {
  std::vector<FewShotRow> out;
  for (const std::string& device_id : dataset_devices(data)) {
    if (!only.empty() && std::find(only.begin(), only.end(), device_id) == only.end()) continue;
    const Split split = make_device_holdout(data, device_id);
    const std::vector<double> prior_train = prior_ms(data, split.train, catalog);
    const XgbModel model =
        XgbModel::train(feature_matrix(data, split.train, catalog), residual_targets(data, split.train, prior_train), params);
    const hardware::Device& device = catalog.get(device_id);
    const DenseMatrix x_test = feature_matrix(data, split.test, catalog);
    const std::vector<float> out_test = model.predict(x_test);
    std::vector<BaseRow> base(split.test.size());
    std::vector<double> meas(split.test.size());
    for (size_t k = 0; k < split.test.size(); ++k) {
      const TimmRow& r = data.rows[split.test[k]];
      const RooflinePrior prior = roofline_prior(r.workload, device);
      base[k].prior_ms = prior.time_s * 1e3;
      base[k].xgb_ms = base[k].prior_ms * std::exp(static_cast<double>(out_test[k]));
      base[k].log_compute_over_memory = std::log(std::max(prior.compute_s, 1e-15) / std::max(prior.memory_s, 1e-15));
      meas[k] = r.step_time_ms;
    }
    const ReferenceTable references = ReferenceTable::from_timm(data, device_id);
    std::vector<ReferenceLogMs> refs(split.test.size());
    for (size_t k = 0; k < split.test.size(); ++k) refs[k] = references.lookup(data.rows[split.test[k]].workload);
    for (size_t n_shots : shots) {
      if (n_shots >= split.test.size()) continue;
      FewShotRow row;
      row.device_id = device_id;
      row.shots = n_shots;
      row.seeds = seeds;
      std::map<std::string, int> chosen;
      const double w = 1.0 / static_cast<double>(seeds);
      double coverage = 0, transfer_coverage = 0, reference_share = 0;
      for (size_t seed = 0; seed < seeds; ++seed) {
        std::vector<size_t> order(split.test.size());
        for (size_t k = 0; k < order.size(); ++k) order[k] = k;
        std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ULL + n_shots);
        for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng() % i]);
        std::vector<BaseRow> fit_base;
        std::vector<double> fit_meas;
        std::vector<ReferenceLogMs> fit_refs;
        for (size_t k = 0; k < n_shots; ++k) {
          fit_base.push_back(base[order[k]]);
          fit_meas.push_back(meas[order[k]]);
          fit_refs.push_back(refs[order[k]]);
        }
        const DeviceCalibration cal = fit_device_calibration(device_id, fit_base, fit_meas);
        ++chosen[cal.base + "/" + cal.form];
        const auto ref_cal = fit_reference_calibration(fit_refs, fit_meas, cal);
        const bool use_ref = ref_cal && ref_cal->used;
        row.reference_used_seeds += use_ref;
        double log_scale = 0;
        for (size_t k = 0; k < n_shots; ++k) log_scale += std::log(fit_meas[k] / fit_base[k].prior_ms) / static_cast<double>(n_shots);
        std::vector<double> m, p_roof, p_xgb, p_scale, p_cal, p_transfer, m_ref, p_cal_ref, p_transfer_ref;
        size_t inside = 0, inside_transfer = 0;
        const auto inside_band = [](double measured, double pred, double log_low, double log_high) {
          return measured >= pred * std::exp(log_low) && measured <= pred * std::exp(log_high);
        };
        for (size_t k = n_shots; k < order.size(); ++k) {
          const BaseRow& b = base[order[k]];
          m.push_back(meas[order[k]]);
          p_roof.push_back(b.prior_ms);
          p_xgb.push_back(b.xgb_ms);
          p_scale.push_back(b.prior_ms * std::exp(log_scale));
          const double pc = apply_calibration(cal, b);
          p_cal.push_back(pc);
          inside += inside_band(m.back(), pc, cal.log_q_low, cal.log_q_high);
          const auto pr = ref_cal ? apply_reference(*ref_cal, refs[order[k]]) : std::nullopt;
          if (pr) {
            m_ref.push_back(m.back());
            p_cal_ref.push_back(pc);
            p_transfer_ref.push_back(use_ref ? *pr : pc);
          }
          if (use_ref && pr) {
            p_transfer.push_back(*pr);
            inside_transfer += inside_band(m.back(), *pr, ref_cal->log_q_low, ref_cal->log_q_high);
          } else {
            p_transfer.push_back(pc);
            inside_transfer += inside_band(m.back(), pc, cal.log_q_low, cal.log_q_high);
          }
        }
        row.n_eval = m.size();
        accumulate(row.roofline, quick_metrics(m, p_roof), w);
        accumulate(row.uncalibrated, quick_metrics(m, p_xgb), w);
        accumulate(row.scale_only, quick_metrics(m, p_scale), w);
        accumulate(row.calibrated, quick_metrics(m, p_cal), w);
        accumulate(row.transfer, quick_metrics(m, p_transfer), w);
        if (!m_ref.empty()) {
          accumulate(row.reference_rows, quick_metrics(m_ref, p_cal_ref), w);
          accumulate(row.reference_rows_transfer, quick_metrics(m_ref, p_transfer_ref), w);
        }
        coverage += w * 100.0 * static_cast<double>(inside) / static_cast<double>(m.size());
        transfer_coverage += w * 100.0 * static_cast<double>(inside_transfer) / static_cast<double>(m.size());
        reference_share += w * 100.0 * static_cast<double>(m_ref.size()) / static_cast<double>(m.size());
      }
      row.coverage_pct = coverage;
      row.transfer_coverage_pct = transfer_coverage;
      row.reference_share_pct = reference_share;
      int best = -1;
      for (const auto& [name, count] : chosen)
        if (count > best) {
          best = count;
          row.chosen = fmt::format("{} ({}/{})", name, count, seeds);
        }
      out.push_back(row);
    }
  }
  return out;
}

}  // namespace perfcast::learn
