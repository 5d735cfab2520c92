#pragma once
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "carbon/price_table.h"
#include "carbon/region_table.h"
#include "hardware/device_catalog.h"
#include "predict/workload.h"

namespace perfcast::advise {

enum class Objective { kCost, kCarbon, kEnergy, kLatency };
Objective parse_objective(const std::string& text);
std::string objective_name(Objective objective);

struct AdviseRequest {
  hardware::Precision precision = hardware::Precision::kFp16;
  std::optional<double> latency_slo_ms;
  Objective objective = Objective::kCost;
  carbon::Region region;
  std::optional<double> pue;                         // overrides the region's
  std::optional<double> carbon_intensity_g_per_kwh;  // overrides the region's
};

// One way to serve the workload: a whole GPU, or one MIG profile packed `instances_per_gpu` times.
struct Option {
  std::string device_id;            // the card
  std::string mig_profile;          // empty for the whole card
  int instances_per_gpu = 1;
  predict::WorkloadPrediction prediction;  // of one instance
  double samples_per_s_per_gpu = 0;
  std::optional<carbon::Instance> instance;  // cheapest listed cloud instance with this GPU
  std::optional<double> usd_per_gpu_hour;
  std::optional<double> usd_per_million_samples;
  double kwh_per_million_samples = 0;        // facility energy (IT energy x PUE)
  double operational_kgco2e_per_million = 0;
  double embodied_kgco2e_per_million = 0;
  double water_l_per_million = 0;            // off-site (+ on-site where the region has a WUE)
  bool meets_slo = true;
  bool fits_memory = true;
  bool pareto = false;                       // on the cost vs CO2e front
  std::string rejected_because;              // empty when the option is feasible
  double total_kgco2e_per_million() const { return operational_kgco2e_per_million + embodied_kgco2e_per_million; }
};

// For one MIG-capable GPU: the smallest profile that fits the model and meets the latency
// target, against serving from the whole card.
struct MigChoice {
  std::string device_id;
  std::string profile;
  int instances_per_gpu = 0;
  double samples_per_s_per_gpu = 0;
  double whole_card_samples_per_s = 0;
  std::optional<double> usd_per_million_samples;
  std::optional<double> whole_card_usd_per_million_samples;
};

struct Advice {
  std::vector<Option> ranked;        // feasible options, best first for the objective
  std::vector<Option> infeasible;    // closest first: what nearly fits
  std::vector<MigChoice> mig;        // one per MIG-capable GPU where some profile qualifies
  std::string explanation;           // one sentence on the winner, or why nothing qualifies
  std::vector<std::string> skipped;  // devices not evaluated and why (no such precision, CPU, ...)
  std::vector<std::string> assumptions;
};

// Evaluates every GPU of the catalog, whole and as each usable MIG profile.
Advice advise(const predict::ModelWorkload& workload, const AdviseRequest& request,
              const hardware::DeviceCatalog& devices, const carbon::PriceTable& prices,
              const predict::RooflineCalibration& calibration);

nlohmann::json to_json(const Advice& advice);

}  // namespace perfcast::advise
