#include "learn/model_annotation.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "common/error.h"
#include "learn/evaluation.h"
#include "learn/features.h"
#include "learn/ood.h"
#include "learn/xgb_model.h"

namespace perfcast::learn {

nlohmann::json annotate_sidecar(const std::string& model_path, const TimmDataset& data,
                                const hardware::DeviceCatalog& catalog, bool write) {
  if (model_path.size() < 6 || model_path.substr(model_path.size() - 5) != ".json")
    throw Error(fmt::format("'{}': --annotate takes an XGBoost model saved as .json by perfcast fit", model_path));
  const std::string meta_path = sidecar_path(model_path);
  nlohmann::json meta;
  {
    std::ifstream in(meta_path);
    if (!in) throw Error(fmt::format("no sidecar '{}' next to the model", meta_path));
    try {
      in >> meta;
    } catch (const nlohmann::json::exception& e) {
      throw Error(fmt::format("{}: not valid JSON: {}", meta_path, e.what()));
    }
  }
  if (meta.value("features", nlohmann::json::array()) != nlohmann::json(feature_names()))
    throw Error(fmt::format("{}: the model was trained on other features than this perfcast computes", meta_path));
  const auto& result = meta.at("result");
  const SplitKind kind = parse_split(result.at("split").get<std::string>());
  const uint64_t seed = result.at("seed").get<uint64_t>();
  const Split split = make_split(data, kind, seed);
  if (split.train.size() != result.at("n_train").get<size_t>() || split.test.size() != result.at("n_test").get<size_t>())
    throw Error(fmt::format("{}: the timm data in '{}' is not the data the model was fitted on ({} / {} rows now, {} / {} "
                            "recorded); re-run perfcast fit",
                            meta_path, data.dir, split.train.size(), split.test.size(), result.at("n_train").get<size_t>(),
                            result.at("n_test").get<size_t>()));
  const XgbModel model = XgbModel::load(model_path);
  const std::vector<double> prior = prior_ms(data, split.test, catalog);
  const std::vector<double> pred = corrected_ms(prior, model.predict(feature_matrix(data, split.test, catalog)));
  std::vector<double> resid;
  resid.reserve(pred.size());
  for (size_t k = 0; k < pred.size(); ++k) resid.push_back(std::log(data.rows[split.test[k]].step_time_ms / pred[k]));
  meta["interval"] = held_out_interval_json(
      resid, fmt::format("the {} split's held-out rows (seed {}), which the model never saw", split_name(kind), seed));

  std::vector<WorkloadRow> train_rows;
  std::vector<const hardware::Device*> train_devices;
  for (size_t i : split.train) {
    train_rows.push_back(data.rows[i].workload);
    train_devices.push_back(&catalog.get(data.rows[i].device_id));
  }
  meta["ood"] = to_json(fit_ood(train_rows, train_devices));
  meta["validated"] = {{"target", result.at("target")},
                       {"split", result.at("split")},
                       {"seed", seed},
                       {"n", result.at("xgb").at("n")},
                       {"mape_pct", result.at("xgb").at("mape_pct")},
                       {"acc10_pct", result.at("xgb").at("acc10_pct")},
                       {"baseline", "roofline_prior"},
                       {"baseline_mape_pct", result.at("roofline_prior").at("mape_pct")}};
  meta["applies_to"] = {{"task", "image-classification"},
                        {"mode", "inference"},
                        {"precisions", {"fp16", "bf16"}},
                        {"device_kind", "gpu"},
                        {"inputs", "timm totals: parameters, GMACs and activation count per sample, batch, image size"}};
  // The same trees in XGBoost's binary UBJSON format: it loads ~4x faster than the JSON (the
  // 50 ms load+predict goal). predict uses it only while the JSON keeps the size recorded here.
  std::string ubj = model_path;
  ubj.replace(ubj.size() - 5, 5, ".ubj");
  model.save(ubj);
  const XgbModel reloaded = XgbModel::load(ubj);
  if (reloaded.predict(feature_matrix(data, split.test, catalog)) != model.predict(feature_matrix(data, split.test, catalog)))
    throw Error(fmt::format("{}: the UBJSON copy predicts differently from the JSON model", ubj));
  meta["fast_load_copy"] = {{"file", std::filesystem::path(ubj).filename().string()},
                            {"format", "XGBoost UBJSON (XGBoosterSaveModel .ubj), same trees as model_file"},
                            {"model_file_bytes", std::filesystem::file_size(model_path)}};
  meta["annotated_by"] = fmt::format("perfcast calibrate --annotate {}", model_path);
  if (write) std::ofstream(meta_path) << meta.dump(2) << "\n";
  return meta;
}

}  // namespace perfcast::learn
