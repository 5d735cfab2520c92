#include "advise/ranking.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <cmath>
#include <nlohmann/json.hpp>

#include "advise/mig.h"
#include "common/error.h"

namespace perfcast::advise {
namespace {

constexpr double kMillion = 1e6;
constexpr double kHoursPerYear = 8760;

double objective_value(const Option& o, Objective objective) {
  switch (objective) {
    case Objective::kCost: return o.usd_per_million_samples.value_or(INFINITY);
    case Objective::kCarbon: return o.total_kgco2e_per_million();
    case Objective::kEnergy: return o.kwh_per_million_samples;
    case Objective::kLatency: return o.prediction.latency_ms.value;
  }
  return INFINITY;
}

Option evaluate(const predict::ModelWorkload& workload, const hardware::Device& card, const hardware::Device& unit,
                const std::string& mig_profile, int instances_per_gpu, const AdviseRequest& request,
                const carbon::PriceTable& prices, const predict::RooflineCalibration& calibration) {
  Option o;
  o.device_id = card.id;
  o.mig_profile = mig_profile;
  o.instances_per_gpu = instances_per_gpu;
  o.prediction = predict::predict_workload(workload, unit, {request.precision, predict::Mode::kInference, {}},
                                           calibration);
  const auto& p = o.prediction;
  o.samples_per_s_per_gpu = p.throughput_per_s.value * instances_per_gpu;
  o.fits_memory = p.fits_memory;
  o.meets_slo = !request.latency_slo_ms || p.latency_ms.value <= *request.latency_slo_ms;

  if (const auto offer = prices.cheapest_in(card.id, request.region)) {
    o.instance = offer->instance;
    o.usd_per_gpu_hour = o.instance->price_usd_per_gpu_hour();
    o.usd_per_million_samples = *o.usd_per_gpu_hour / (o.samples_per_s_per_gpu * 3600.0) * kMillion;
  }
  const double pue = request.pue.value_or(request.region.pue.value);
  const double intensity = request.carbon_intensity_g_per_kwh.value_or(request.region.carbon_intensity_g_per_kwh.value);
  const double seconds_per_million_per_instance = kMillion / p.throughput_per_s.value;
  const double it_kwh = p.avg_power_w.value * seconds_per_million_per_instance / 3.6e6;
  o.kwh_per_million_samples = it_kwh * pue;
  o.operational_kgco2e_per_million = o.kwh_per_million_samples * intensity / 1000.0;
  if (unit.lifetime_years > 0) {
    o.embodied_kgco2e_per_million =
        unit.embodied_kgco2e * (seconds_per_million_per_instance / 3600.0) / (unit.lifetime_years * kHoursPerYear);
  }
  o.water_l_per_million = o.kwh_per_million_samples * request.region.offsite_water_l_per_kwh.value;
  if (request.region.wue_l_per_kwh) o.water_l_per_million += it_kwh * request.region.wue_l_per_kwh->value;

  if (!o.fits_memory) {
    o.rejected_because = fmt::format("needs {:.0f} MiB, has {:.0f} MiB", p.peak_memory_mb.value, p.device_memory_mb);
  } else if (!o.meets_slo) {
    o.rejected_because = fmt::format("{:.2f} ms exceeds the {:.2f} ms target", p.latency_ms.value,
                                     *request.latency_slo_ms);
  }
  return o;
}

std::string label(const Option& o) {
  return o.mig_profile.empty() ? o.device_id : fmt::format("{} as {}x {}", o.device_id, o.instances_per_gpu,
                                                           o.mig_profile);
}

void mark_pareto_front(std::vector<Option>& options) {
  for (auto& a : options) {
    const double cost_a = a.usd_per_million_samples.value_or(INFINITY);
    a.pareto = std::none_of(options.begin(), options.end(), [&](const Option& b) {
      const double cost_b = b.usd_per_million_samples.value_or(INFINITY);
      const bool no_worse = cost_b <= cost_a && b.total_kgco2e_per_million() <= a.total_kgco2e_per_million();
      const bool better = cost_b < cost_a || b.total_kgco2e_per_million() < a.total_kgco2e_per_million();
      return no_worse && better;
    });
  }
}

std::string explain(const Option& best, const std::vector<Option>& ranked, Objective objective) {
  const auto& p = best.prediction;
  std::string why = fmt::format("{} wins on {}: {:.2f} ms per batch of {}, {:.0f} samples/s per GPU", label(best),
                                objective_name(objective), p.latency_ms.value, p.batch, best.samples_per_s_per_gpu);
  if (best.usd_per_million_samples) why += fmt::format(", ${:.3f} per million samples", *best.usd_per_million_samples);
  why += fmt::format(", {:.3f} kgCO2e per million samples", best.total_kgco2e_per_million());
  if (ranked.size() > 1) {
    const double a = objective_value(best, objective);
    const double b = objective_value(ranked[1], objective);
    if (std::isfinite(a) && std::isfinite(b) && a > 0) {
      why += fmt::format(" ({:.0f}% better than the runner-up, {})", 100.0 * (b - a) / b, label(ranked[1]));
    }
  }
  return why + ".";
}

// Smallest = least memory, then least compute: the slice that leaves the most of the GPU free.
std::vector<MigChoice> smallest_mig_choices(const std::vector<Option>& feasible) {
  std::map<std::string, const Option*> smallest;
  std::map<std::string, const Option*> whole;
  for (const Option& o : feasible) {
    if (o.mig_profile.empty()) {
      whole[o.device_id] = &o;
      continue;
    }
    const Option*& best = smallest[o.device_id];
    const auto key = [](const Option* x) {
      return std::make_pair(x->prediction.device_memory_mb, x->prediction.latency_ms.value * -1.0);
    };
    if (!best || key(&o) < key(best)) best = &o;
  }
  std::vector<MigChoice> choices;
  for (const auto& [device, o] : smallest) {
    MigChoice c{device, o->mig_profile, o->instances_per_gpu, o->samples_per_s_per_gpu, 0,
                o->usd_per_million_samples, std::nullopt};
    if (auto w = whole.find(device); w != whole.end()) {
      c.whole_card_samples_per_s = w->second->samples_per_s_per_gpu;
      c.whole_card_usd_per_million_samples = w->second->usd_per_million_samples;
    }
    choices.push_back(std::move(c));
  }
  return choices;
}

}  // namespace

Objective parse_objective(const std::string& text) {
  if (text == "cost") return Objective::kCost;
  if (text == "carbon") return Objective::kCarbon;
  if (text == "energy") return Objective::kEnergy;
  if (text == "latency") return Objective::kLatency;
  throw Error(fmt::format("unknown objective '{}'; choose cost, carbon, energy or latency", text));
}

std::string objective_name(Objective objective) {
  switch (objective) {
    case Objective::kCost: return "cost";
    case Objective::kCarbon: return "carbon";
    case Objective::kEnergy: return "energy";
    case Objective::kLatency: return "latency";
  }
  return "cost";
}

Advice advise(const predict::ModelWorkload& workload, const AdviseRequest& request,
              const hardware::DeviceCatalog& devices, const carbon::PriceTable& prices,
              const predict::RooflineCalibration& calibration) {
  Advice advice;
  std::vector<Option> all;
  for (const hardware::Device& card : devices.devices()) {
    if (card.kind != "gpu") {
      advice.skipped.push_back(fmt::format("{}: not a GPU", card.id));
      continue;
    }
    if (!card.supports(request.precision)) {
      advice.skipped.push_back(fmt::format("{}: no {} support", card.id, hardware::precision_name(request.precision)));
      continue;
    }
    all.push_back(evaluate(workload, card, card, "", 1, request, prices, calibration));
    for (const auto& profile : usable_mig_profiles(card)) {
      if (profile.max_instances == 1 && profile.compute_slices >= 7) continue;  // the whole card, already listed
      all.push_back(evaluate(workload, card, mig_instance_device(card, profile), profile.name, profile.max_instances,
                             request, prices, calibration));
    }
  }
  for (auto& o : all) (o.rejected_because.empty() ? advice.ranked : advice.infeasible).push_back(std::move(o));

  std::stable_sort(advice.ranked.begin(), advice.ranked.end(), [&](const Option& a, const Option& b) {
    return objective_value(a, request.objective) < objective_value(b, request.objective);
  });
  mark_pareto_front(advice.ranked);
  advice.mig = smallest_mig_choices(advice.ranked);
  // Nearest misses first: the smallest memory shortfall, then the smallest SLO overshoot.
  std::stable_sort(advice.infeasible.begin(), advice.infeasible.end(), [](const Option& a, const Option& b) {
    const double ra = a.fits_memory ? a.prediction.latency_ms.value : a.prediction.peak_memory_mb.value / a.prediction.device_memory_mb * 1e9;
    const double rb = b.fits_memory ? b.prediction.latency_ms.value : b.prediction.peak_memory_mb.value / b.prediction.device_memory_mb * 1e9;
    return ra < rb;
  });

  if (!advice.ranked.empty()) {
    advice.explanation = explain(advice.ranked.front(), advice.ranked, request.objective);
  } else if (!advice.infeasible.empty()) {
    const Option& nearest = advice.infeasible.front();
    advice.explanation = fmt::format("No device or MIG slice satisfies the request; the nearest is {} ({}).",
                                     label(nearest), nearest.rejected_because);
  } else {
    advice.explanation = "No GPU in the catalog supports this precision.";
  }
  advice.assumptions = request.region.assumptions();
  advice.assumptions.push_back(fmt::format(
      "cost per GPU-hour is the cheapest listed on-demand instance carrying that GPU (data/prices){}; a MIG slice's "
      "share is the GPU-hour divided by the instances packed on it",
      request.region.provider.empty()
          ? ", at any provider"
          : fmt::format(" in {} where listed there, else elsewhere in {}, else at any provider", request.region.key,
                        request.region.provider)));
  advice.assumptions.push_back("MIG instances are assumed to run concurrently without interfering (compute scales "
                               "with SMs, bandwidth with memory slices)");
  return advice;
}

nlohmann::json to_json(const Advice& advice) {
  auto option_json = [](const Option& o) {
    nlohmann::json j;
    j["device"] = o.device_id;
    j["mig_profile"] = o.mig_profile.empty() ? nlohmann::json(nullptr) : nlohmann::json(o.mig_profile);
    j["instances_per_gpu"] = o.instances_per_gpu;
    j["prediction"] = predict::to_json(o.prediction);
    j["samples_per_s_per_gpu"] = o.samples_per_s_per_gpu;
    j["instance"] = o.instance ? nlohmann::json(o.instance->provider + ":" + o.instance->type)
                               : nlohmann::json(nullptr);
    j["usd_per_gpu_hour"] = o.usd_per_gpu_hour ? nlohmann::json(*o.usd_per_gpu_hour) : nlohmann::json(nullptr);
    j["usd_per_million_samples"] =
        o.usd_per_million_samples ? nlohmann::json(*o.usd_per_million_samples) : nlohmann::json(nullptr);
    j["kwh_per_million_samples"] = o.kwh_per_million_samples;
    j["operational_kgco2e_per_million"] = o.operational_kgco2e_per_million;
    j["embodied_kgco2e_per_million"] = o.embodied_kgco2e_per_million;
    j["water_l_per_million"] = o.water_l_per_million;
    j["pareto"] = o.pareto;
    if (!o.rejected_because.empty()) j["rejected_because"] = o.rejected_because;
    return j;
  };
  nlohmann::json j;
  j["explanation"] = advice.explanation;
  j["ranked"] = nlohmann::json::array();
  for (const auto& o : advice.ranked) j["ranked"].push_back(option_json(o));
  j["infeasible"] = nlohmann::json::array();
  for (const auto& o : advice.infeasible) j["infeasible"].push_back(option_json(o));
  j["mig"] = nlohmann::json::array();
  for (const auto& m : advice.mig) {
    auto optional = [](const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
    j["mig"].push_back({{"device", m.device_id},
                        {"profile", m.profile},
                        {"instances_per_gpu", m.instances_per_gpu},
                        {"samples_per_s_per_gpu", m.samples_per_s_per_gpu},
                        {"whole_card_samples_per_s", m.whole_card_samples_per_s},
                        {"usd_per_million_samples", optional(m.usd_per_million_samples)},
                        {"whole_card_usd_per_million_samples", optional(m.whole_card_usd_per_million_samples)}});
  }
  j["skipped"] = advice.skipped;
  j["assumptions"] = advice.assumptions;
  return j;
}

}  // namespace perfcast::advise
