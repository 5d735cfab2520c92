#include "learn/predictor_registry.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "common/error.h"
#include "hardware/device_catalog.h"

namespace perfcast::learn {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

RegisteredPredictor parse_registered_predictor(const nlohmann::json& meta, const std::string& meta_path) {
  try {
    RegisteredPredictor p;
    p.meta_path = meta_path;
    p.name = meta.at("predictor").get<std::string>();
    if (meta.contains("model_file")) {
      p.model_path = (std::filesystem::path(meta_path).parent_path() / meta.at("model_file").get<std::string>()).string();
    }
    if (meta.contains("validated")) {
      const auto& v = meta.at("validated");
      p.target = v.at("target").get<std::string>();
      p.split = v.value("split", "");
      p.mape_pct = v.at("mape_pct").get<double>();
      p.baseline = v.value("baseline", "");
      if (v.contains("baseline_mape_pct")) p.baseline_mape_pct = v.at("baseline_mape_pct").get<double>();
      p.n_validated = v.value("n", size_t{0});
    } else if (meta.contains("metrics") && meta.at("metrics").contains("model")) {
      // perfcast-gnn/1 sidecars: "metrics": {"model": {...}, "roofline_prior": {...}}, "split": {"kind": ...}.
      const auto& m = meta.at("metrics");
      p.mape_pct = m.at("model").at("mape_pct").get<double>();
      p.n_validated = m.at("model").value("n", size_t{0});
      if (m.contains("roofline_prior")) {
        p.baseline = "roofline_prior";
        p.baseline_mape_pct = m.at("roofline_prior").at("mape_pct").get<double>();
      }
      const auto& split = meta.value("split", nlohmann::json());
      p.split = split.is_object() ? split.value("kind", "") : split.is_string() ? split.get<std::string>() : "";
      std::string target = meta.value("target", "");
      if (target.empty() && meta.contains("data")) {
        const std::string described = meta.at("data").value("target", "");
        if (described.rfind("latency", 0) == 0) target = "latency";
      }
      if (target.empty()) throw Error(fmt::format("{}: the sidecar does not say what it predicts (\"target\")", meta_path));
      p.target = target;
    } else {
      const auto& r = meta.at("result");
      p.target = r.at("target").get<std::string>();
      p.split = r.value("split", "");
      p.mape_pct = r.at(p.name).at("mape_pct").get<double>();
      p.n_validated = r.at(p.name).value("n", size_t{0});
      if (r.contains("roofline_prior")) {
        p.baseline = "roofline_prior";
        p.baseline_mape_pct = r.at("roofline_prior").at("mape_pct").get<double>();
      }
    }
    if (meta.contains("applies_to")) {
      const auto& a = meta.at("applies_to");
      Applicability app;
      app.task = a.value("task", "");
      app.mode = a.value("mode", "");
      app.precisions = a.value("precisions", std::vector<std::string>{});
      app.device_kind = a.value("device_kind", "");
      app.inputs = a.value("inputs", "");
      p.applies_to = app;
    }
    p.meta = meta;
    return p;
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("{}: not a learned-predictor sidecar this perfcast can read: {}", meta_path, e.what()));
  }
}

std::string not_applicable_reason(const RegisteredPredictor& p, const RequestKind& r) {
  if (!p.applies_to) return fmt::format("{} does not state what it applies to (no \"applies_to\" in {})", p.name, p.meta_path);
  const Applicability& a = *p.applies_to;
  if (!a.task.empty() && a.task != r.task)
    return fmt::format("{} was trained on {} only; this request is {}", p.name, a.task,
                       r.task.empty() ? "not recognised as one" : r.task);
  if (!a.mode.empty() && a.mode != r.mode) return fmt::format("{} was trained on {} only, not {}", p.name, a.mode, r.mode);
  if (!a.precisions.empty() && std::find(a.precisions.begin(), a.precisions.end(), r.precision) == a.precisions.end()) {
    std::string list;
    for (const auto& x : a.precisions) list += (list.empty() ? "" : ", ") + x;
    return fmt::format("{} was trained on {} only, not {}", p.name, list, r.precision);
  }
  if (!a.device_kind.empty() && a.device_kind != r.device_kind)
    return fmt::format("{} was trained on {} devices only, not {}", p.name, a.device_kind, r.device_kind);
  return "";
}

PredictorRegistry PredictorRegistry::load(const std::string& dir_arg) {
  namespace fs = std::filesystem;
  const std::string dir = dir_arg.empty() ? hardware::default_data_dir() + "/models/learned" : dir_arg;
  PredictorRegistry reg;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return reg;
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && ends_with(name, ".meta.json")) files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    std::ifstream in(f);
    nlohmann::json meta;
    try {
      in >> meta;
      reg.predictors_.push_back(parse_registered_predictor(meta, f));
    } catch (const nlohmann::json::exception& e) {
      reg.skipped_.push_back(fmt::format("{}: not valid JSON: {}", f, e.what()));
    } catch (const Error& e) {
      reg.skipped_.push_back(e.what());
    }
  }
  return reg;
}

const RegisteredPredictor* PredictorRegistry::find(const std::string& name, const std::string& target) const {
  for (const auto& p : predictors_)
    if (p.name == name && p.target == target) return &p;
  return nullptr;
}

const RegisteredPredictor* PredictorRegistry::best_of(const std::vector<std::string>& names, const std::string& target,
                                                      const std::string& split) const {
  const RegisteredPredictor* best = nullptr;
  for (const auto& p : predictors_) {
    if (p.target != target || std::find(names.begin(), names.end(), p.name) == names.end()) continue;
    const bool better_split = best && p.split == split && best->split != split;
    const bool same_split = !best || (p.split == split) == (best->split == split);
    if (!best || better_split || (same_split && p.mape_pct < best->mape_pct)) best = &p;
  }
  return best;
}

PredictorRegistry::Choice PredictorRegistry::choose(const std::string& target, const RequestKind& request,
                                                    const std::vector<std::string>& runnable) const {
  Choice choice;
  std::vector<std::string> notes;
  for (const auto& p : predictors_) {
    if (p.target != target) continue;
    if (std::find(runnable.begin(), runnable.end(), p.name) == runnable.end()) {
      notes.push_back(fmt::format("{} (MAPE {:.1f}%) has no runner in this perfcast", p.name, p.mape_pct));
      continue;
    }
    if (const std::string why = not_applicable_reason(p, request); !why.empty()) {
      notes.push_back(why);
      continue;
    }
    if (p.baseline_mape_pct && p.mape_pct >= *p.baseline_mape_pct) {
      notes.push_back(fmt::format("{} did not beat {} on its held-out rows ({:.1f}% vs {:.1f}% MAPE)", p.name,
                                  p.baseline, p.mape_pct, *p.baseline_mape_pct));
      continue;
    }
    if (!choice.learned || p.mape_pct < choice.learned->mape_pct) choice.learned = &p;
  }
  if (choice.learned) {
    const auto& p = *choice.learned;
    choice.why = fmt::format("{}: lowest validated {} MAPE among applicable predictors, {:.1f}% on {}-held-out rows "
                             "(n={}){}",
                             p.name, target, p.mape_pct, p.split, p.n_validated,
                             p.baseline_mape_pct ? fmt::format(" vs {:.1f}% for the {} on the same rows", *p.baseline_mape_pct, p.baseline)
                                                 : std::string());
  } else {
    choice.why = "roofline: no applicable learned predictor validated better";
  }
  for (const auto& n : notes) choice.why += "; " + n;
  for (const auto& n : skipped_) choice.why += "; unreadable sidecar " + n;
  return choice;
}

}  // namespace perfcast::learn
