// perfcast calibrate: few-shot transfer of the learned latency predictor to a new device (fit a
// small correction from N measured rows and save it per device), its honest evaluation over timm's
// devices (--evaluate), and the held-out interval / OOD statistics a fitted model's sidecar needs
// (--annotate).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>

#include "commands.h"
#include "dataset/store.h"
#include "common/error.h"
#include "common/quantile.h"
#include "hardware/device_catalog.h"
#include "learn/few_shot.h"
#include "learn/learned_latency.h"
#include "learn/model_annotation.h"
#include "learn/predictor_registry.h"
#include "learn/reference_transfer.h"
#include "learn/timm_dataset.h"

namespace perfcast::cli {
namespace {

struct CalibrateArgs {
  std::string device;
  std::string data;
  std::string out;
  std::string model;
  bool evaluate = false;
  std::string annotate;
  std::string data_dir;
  std::string predict_out;
  std::vector<size_t> shots = {8, 16, 32};
  size_t seeds = 5;
  std::vector<std::string> devices;
  learn::XgbParams params;
  bool json = false;
};

std::string default_model() { return hardware::default_data_dir() + "/models/learned/xgb_latency.json"; }

void run_evaluate(const CalibrateArgs& a) {
  const auto catalog = hardware::DeviceCatalog::load();
  const std::string dir = a.data_dir.empty() ? learn::default_timm_dir() : a.data_dir;
  const learn::TimmDataset data = learn::load_timm_inference(dir, catalog);
  const auto rows = learn::evaluate_few_shot(data, catalog, a.params, a.shots, a.seeds, a.devices);
  if (a.json) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& r : rows) {
      j.push_back({{"device", r.device_id}, {"shots", r.shots}, {"seeds", r.seeds}, {"n_eval", r.n_eval},
                   {"roofline", learn::to_json(r.roofline)}, {"uncalibrated_xgb", learn::to_json(r.uncalibrated)},
                   {"prior_x_fitted_scale", learn::to_json(r.scale_only)}, {"calibrated", learn::to_json(r.calibrated)},
                   {"calibrated_interval_coverage_pct", r.coverage_pct}, {"chosen", r.chosen},
                   {"with_reference_transfer", learn::to_json(r.transfer)},
                   {"with_reference_transfer_interval_coverage_pct", r.transfer_coverage_pct},
                   {"rows_with_reference_pct", r.reference_share_pct},
                   {"rows_with_reference", {{"calibrated", learn::to_json(r.reference_rows)},
                                            {"with_reference_transfer", learn::to_json(r.reference_rows_transfer)}}},
                   {"reference_path_used_seeds", r.reference_used_seeds}});
    }
    std::cout << j.dump(2) << "\n";
    return;
  }
  std::cout << fmt::format("few-shot calibration on timm ({}): XGBoost trained without the device (leave-one-device-out),\n"
                           "N rows of the device drawn at random ({} seeds), metrics on the device's other rows, mean over "
                           "seeds.\nMAPE % / Acc(10%) %; kendall tau not computed here. Reference transfer: rows of the same "
                           "workload measured on the\nother GPUs (learn/reference_transfer.h), used when it wins on leave-one-out "
                           "error over the N rows.\n\n",
                           dir, a.seeds);
  std::cout << "| device | N | eval rows | roofline prior | prior x scale(N) | XGBoost uncalibrated | XGBoost + calibration "
               "| 80% band | + reference transfer | 80% band | rows with a reference | on them: calibration -> transfer "
               "| reference won |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& r : rows) {
    std::cout << fmt::format("| {} | {} | {} | {:.1f} / {:.1f} | {:.1f} / {:.1f} | {:.1f} / {:.1f} | {:.1f} / {:.1f} | {:.0f}% "
                             "| **{:.1f} / {:.1f}** | {:.0f}% | {:.0f}% | {:.1f} / {:.1f} -> {:.1f} / {:.1f} | {}/{} |\n",
                             r.device_id, r.shots, r.n_eval, r.roofline.mape, r.roofline.acc10, r.scale_only.mape,
                             r.scale_only.acc10, r.uncalibrated.mape, r.uncalibrated.acc10, r.calibrated.mape,
                             r.calibrated.acc10, r.coverage_pct, r.transfer.mape, r.transfer.acc10, r.transfer_coverage_pct,
                             r.reference_share_pct, r.reference_rows.mape, r.reference_rows.acc10,
                             r.reference_rows_transfer.mape, r.reference_rows_transfer.acc10, r.reference_used_seeds, r.seeds);
  }
}

void run_annotate(const CalibrateArgs& a) {
  const auto catalog = hardware::DeviceCatalog::load();
  const std::string dir = a.data_dir.empty() ? learn::default_timm_dir() : a.data_dir;
  const learn::TimmDataset data = learn::load_timm_inference(dir, catalog);
  const nlohmann::json meta = learn::annotate_sidecar(a.annotate, data, catalog);
  const auto& i = meta.at("interval");
  std::cout << fmt::format("{}: interval x[{:.3f}, {:.3f}] covers {:.1f}% of {} held-out rows; OOD statistics from {} "
                           "distinct training workloads (nn 99th percentile {:.3f})\n",
                           learn::sidecar_path(a.annotate), i.at("factor_low").get<double>(),
                           i.at("factor_high").get<double>(), i.at("held_out_coverage_pct").get<double>(),
                           i.at("held_out_rows").get<size_t>(), meta.at("ood").at("points").size(),
                           meta.at("ood").at("nn_p99").get<double>());
}

// The reference measurements for `device_id`: every timm row of the other devices, or nullopt (with
// the reason in *why) when the timm folder is absent.
std::optional<learn::ReferenceTable> load_references(const CalibrateArgs& a, const hardware::DeviceCatalog& catalog,
                                                     const std::string& device_id, std::string* why) {
  const std::string dir = a.data_dir.empty() ? learn::default_timm_dir() : a.data_dir;
  if (!std::filesystem::is_directory(dir)) {
    *why = fmt::format("no reference measurements: timm folder '{}' not found (--data-dir)", dir);
    return std::nullopt;
  }
  return learn::ReferenceTable::from_timm(learn::load_timm_inference(dir, catalog), device_id);
}

// Writes the calibrated prediction of every workload in the reference table (CSV) at the PyTorch
// version of the calibration rows; returns rows written.
size_t write_reference_predictions(const std::string& path, const learn::ReferenceTable& references,
                                   const hardware::Device& device, const learn::XgbModel& model,
                                   const learn::DeviceCalibration& cal,
                                   const std::optional<learn::ReferenceCalibration>& ref_cal, double torch_version) {
  std::ofstream out(path);
  if (!out) throw Error(fmt::format("cannot write '{}'", path));
  out << "model,img_size,precision,channels_last,compiled,batch,torch_version,predicted_ms,low_ms,high_ms,"
         "predicted_samples_per_s,method\n";
  size_t n = 0;
  for (learn::WorkloadRow w : references.workloads()) {
    if (!device.supports(w.precision)) continue;
    w.torch_version = torch_version;
    const std::optional<double> by_reference =
        ref_cal && ref_cal->used ? learn::apply_reference(*ref_cal, references.lookup(w)) : std::nullopt;
    const double ms = by_reference ? *by_reference : learn::apply_calibration(cal, learn::base_row(w, device, model));
    const double lo = by_reference ? ref_cal->log_q_low : cal.log_q_low;
    const double hi = by_reference ? ref_cal->log_q_high : cal.log_q_high;
    out << fmt::format("{},{},{},{},{},{},{},{:.4f},{:.4f},{:.4f},{:.2f},{}\n", w.model, w.img_size,
                       hardware::precision_name(w.precision), w.channels_last ? 1 : 0, w.compiled ? 1 : 0, w.batch,
                       w.torch_version, ms, ms * std::exp(lo), ms * std::exp(hi),
                       static_cast<double>(w.batch) * 1e3 / ms, by_reference ? "reference" : "features");
    ++n;
  }
  return n;
}

double rows_torch_version(const std::vector<learn::MeasuredRow>& rows) {
  std::vector<double> versions;
  for (const auto& r : rows) versions.push_back(r.workload.torch_version);
  return median(versions);
}

void run_calibrate(const CalibrateArgs& a) {
  if (a.device.empty() || a.data.empty()) throw Error("calibrate needs --device and --data (or --evaluate, or --annotate)");
  const auto catalog = hardware::DeviceCatalog::load();
  const hardware::Device& device = catalog.get(a.device);
  const std::string model_path = a.model.empty() ? default_model() : a.model;
  const std::string meta_path = learn::sidecar_path(model_path);
  nlohmann::json meta;
  {
    std::ifstream in(meta_path);
    if (!in) throw Error(fmt::format("no sidecar '{}' next to the model '{}'", meta_path, model_path));
    in >> meta;
  }
  const learn::LearnedLatencyModel m =
      learn::LearnedLatencyModel::load(learn::parse_registered_predictor(meta, meta_path));
  const auto rows = learn::read_measured_rows(a.data);
  std::vector<learn::BaseRow> base;
  std::vector<double> measured;
  for (const auto& r : rows) {
    if (!device.supports(r.workload.precision))
      throw Error(fmt::format("{}:{}: {} has no {} datapath", a.data, r.line, device.id,
                              hardware::precision_name(r.workload.precision)));
    base.push_back(learn::base_row(r.workload, device, m.model));
    measured.push_back(r.latency_ms);
  }
  std::vector<nlohmann::json> candidates;
  const learn::DeviceCalibration cal = learn::fit_device_calibration(device.id, base, measured, &candidates);
  std::string no_reference_why;
  const auto references = load_references(a, catalog, device.id, &no_reference_why);
  if (!a.predict_out.empty() && !references) throw Error(fmt::format("--predict-out: {}", no_reference_why));
  std::optional<learn::ReferenceCalibration> ref_cal;
  nlohmann::json reference_json = nullptr;
  if (references) {
    std::vector<learn::ReferenceLogMs> refs;
    for (const auto& r : rows) refs.push_back(references->lookup(r.workload));
    ref_cal = learn::fit_reference_calibration(refs, measured, cal);
    if (ref_cal) {
      reference_json = learn::to_json(*ref_cal);
      reference_json["reference_measurements"] = references->measurements();
    } else {
      no_reference_why = "fewer than 3 of the rows were measured on another known device: reference transfer not fitted";
    }
  }
  const std::string out = a.out.empty() ? learn::calibration_path(device.id) : a.out;
  const auto parent = std::filesystem::path(out).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
  const bool seen = m.ood && std::find(m.ood->devices.begin(), m.ood->devices.end(), device.id) != m.ood->devices.end();
  nlohmann::json j = {
      {"device", device.id},
      {"calibration", learn::to_json(cal)},
      {"candidates", candidates},
      {"reference_transfer", reference_json},
      {"base_model", {{"model_file", std::filesystem::path(model_path).filename().string()},
                      {"created_utc", m.created_utc},
                      {"device_in_training_data", seen}}},
      {"data", {{"file", std::filesystem::absolute(a.data).string()}, {"rows", rows.size()}}},
      {"created_utc", dataset::now_iso8601()},
      {"command", fmt::format("perfcast calibrate --device {} --data {}{}", device.id, a.data,
                              a.model.empty() ? "" : " --model " + a.model)}};
  if (!no_reference_why.empty()) j["reference_transfer_note"] = no_reference_why;
  std::ofstream(out) << j.dump(2) << "\n";
  const size_t predicted = a.predict_out.empty() || !references
                               ? 0
                               : write_reference_predictions(a.predict_out, *references, device, m.model, cal, ref_cal,
                                                             rows_torch_version(rows));
  if (a.json) {
    std::cout << j.dump(2) << "\n";
    return;
  }
  std::cout << fmt::format("{} rows of {} from {}\n", rows.size(), device.id, a.data);
  for (const auto& c : candidates)
    std::cout << fmt::format("  candidate {}/{}: leave-one-out MAPE {:.2f}%\n", c.at("base").get<std::string>(),
                             c.at("form").get<std::string>(), c.at("loo_mape_pct").get<double>());
  std::cout << fmt::format("chosen {}/{}: factor x{:.3f}{}, 80% band x[{:.3f}, {:.3f}]\n", cal.base, cal.form,
                           std::exp(cal.intercept), cal.slopes.empty() ? "" : fmt::format(", slopes {:.3f}", fmt::join(cal.slopes, " ")),
                           std::exp(cal.log_q_low), std::exp(cal.log_q_high));
  if (ref_cal) {
    std::cout << fmt::format("reference transfer: {} of the rows were measured on other known GPUs; leave-one-out MAPE "
                             "{:.2f}% (feature-based correction on the same rows {:.2f}%): {}\n",
                             ref_cal->n_rows, ref_cal->loo_mape_pct, ref_cal->feature_loo_mape_pct,
                             ref_cal->used ? "used for workloads measured elsewhere" : "not used");
    for (const auto& [label, offset] : ref_cal->log_offset)
      std::cout << fmt::format("  {}: x{:.3f} ({} rows)\n", label, std::exp(offset), ref_cal->rows_per_device.at(label));
    if (ref_cal->used)
      std::cout << fmt::format("  80% band x[{:.3f}, {:.3f}]\n", std::exp(ref_cal->log_q_low), std::exp(ref_cal->log_q_high));
  } else {
    std::cout << no_reference_why << "\n";
  }
  if (predicted) std::cout << fmt::format("wrote {} predictions for {} to {}\n", predicted, device.id, a.predict_out);
  if (seen) std::cout << fmt::format("note: {} was already in the model's training data\n", device.id);
  if (rows.size() < 8) std::cout << "warning: fewer than 8 rows; the correction and its band are uncertain\n";
  std::cout << fmt::format("saved {} (perfcast predict --device {} uses it)\n", out, device.id);
}

}  // namespace

void register_calibrate(CLI::App& app) {
  auto args = std::make_shared<CalibrateArgs>();
  CLI::App* cmd = app.add_subcommand(
      "calibrate",
      "Adapt the learned latency predictor to a new device from a few measured rows (few-shot transfer)");
  cmd->footer(
      "Rows file (CSV with a header; timm's benchmark-infer-*.csv files are accepted as they are):\n"
      "  model, params_m|param_count (millions), gmacs|infer_gmacs (per sample), macts_m|infer_macts (millions per\n"
      "  sample), batch|infer_batch_size, img_size|infer_img_size, latency_ms|infer_step_time (ms per batch) or\n"
      "  samples_per_s|infer_samples_per_sec; optional precision (fp16|bf16), channels_last, compiled (0|1),\n"
      "  torch_version. 8 or more rows recommended.");
  cmd->add_option("--device,-d", args->device, "Device id or alias (must be in the catalog: the prior needs its spec sheet)");
  cmd->add_option("--data", args->data, "Measured rows on the device (CSV, see below)");
  cmd->add_option("--out", args->out, "Calibration file (default data/models/learned/calibration/<device>.json)");
  cmd->add_option("--model", args->model, "Learned model (default data/models/learned/xgb_latency.json)");
  cmd->add_flag("--evaluate", args->evaluate,
                "Leave-one-device-out evaluation on timm: MAPE and Acc(10%) vs N, against the uncalibrated model and the roofline");
  cmd->add_option("--annotate", args->annotate,
                  "Add held-out residual quantiles, OOD statistics and applicability to MODEL's sidecar");
  cmd->add_option("--data-dir", args->data_dir,
                  "timm results folder: --evaluate/--annotate data, and the reference measurements of other GPUs");
  cmd->add_option("--predict-out", args->predict_out,
                  "Write the calibrated prediction on --device of every workload measured on the other GPUs (CSV)");
  cmd->add_option("--shots", args->shots, "--evaluate: numbers of measured rows")->delimiter(',')->capture_default_str();
  cmd->add_option("--seeds", args->seeds, "--evaluate: random draws per N")->capture_default_str()->check(CLI::Range(1, 100));
  cmd->add_option("--devices", args->devices, "--evaluate: only these catalog ids")->delimiter(',');
  cmd->add_option("--rounds", args->params.rounds, "--evaluate: boosting rounds of the held-out models")->capture_default_str();
  cmd->add_flag("--json", args->json, "Print machine-readable JSON");
  cmd->callback([args] {
    if (args->evaluate) return run_evaluate(*args);
    if (!args->annotate.empty()) return run_annotate(*args);
    run_calibrate(*args);
  });
}

}  // namespace perfcast::cli
