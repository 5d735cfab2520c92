#pragma once
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "carbon/price_table.h"
#include "carbon/region_table.h"
#include "hardware/device_catalog.h"

namespace perfcast::carbon {

// Share of the way from idle to TDP a device averages when only the run time is known:
// average power = idle + kDefaultUtilization x (TDP - idle). Deep-learning jobs rarely hold TDP
// for hours (data loading, communication, optimizer steps); 0.7 is a middle estimate and 1.0
// (full TDP) the upper bound. Pass FootprintRequest::utilization to change it.
inline constexpr double kDefaultUtilization = 0.7;
inline constexpr double kHoursPerYear = 8760.0;

struct FootprintRequest {
  std::string device;                     // id, alias or path to a .toml device file
  int device_count = 1;
  std::optional<double> hours;            // wall-clock run time
  std::optional<double> energy_kwh;       // measured or predicted energy of all the devices together
  std::optional<double> utilization;      // 0..1, for the power model when energy_kwh is absent
  std::string region;                     // see RegionTable::lookup; empty = WORLD defaults
  std::optional<double> pue;              // overrides
  std::optional<double> carbon_intensity_g_per_kwh;
  std::optional<double> wue_l_per_kwh;
  std::optional<double> price_usd_per_device_hour;  // your own price per device-hour
  std::string instance_type;              // or a listed cloud instance ("p4d.24xlarge")
};

struct Footprint {
  std::string device_id;
  int device_count = 1;
  std::optional<double> hours;
  std::optional<double> average_power_w;  // per device, when the energy came from the power model

  double it_energy_kwh = 0;               // the devices only (no host CPU, memory, network)
  double pue = 1;
  double facility_energy_kwh = 0;         // it_energy_kwh x PUE
  double carbon_intensity_g_per_kwh = 0;
  double operational_kgco2e = 0;          // facility kWh x intensity
  std::optional<double> embodied_kgco2e;  // nullopt without hours or without embodied data
  double total_kgco2e = 0;                // operational + embodied (when known)

  std::optional<double> wue_l_per_kwh;
  double offsite_water_l_per_kwh = 0;
  std::optional<double> water_onsite_l;   // WUE x IT kWh; nullopt when no WUE is known
  double water_offsite_l = 0;             // facility kWh x off-site water intensity

  std::optional<double> cost_usd;         // nullopt without hours or without a price
  std::string cost_basis;                 // how cost_usd was priced

  Region region;                          // where each figure came from
  std::vector<std::string> assumptions;   // every default used, in words
  std::vector<std::string> attributions;  // notices the data sources require
};

// Throws perfcast::Error for impossible requests (no hours and no energy, count < 1, PUE < 1, ...).
// Cost: with instance_type, whole instances (ceil(count / GPUs per instance)) x price x hours;
// with price_usd_per_device_hour, that x count x hours; otherwise the per-GPU-hour share of the
// cheapest listed instance carrying this device (same provider/region as a cloud region when
// listed there) x count x hours.
Footprint compute_footprint(const FootprintRequest& request, const hardware::DeviceCatalog& devices,
                            const RegionTable& regions, const PriceTable& prices);

nlohmann::json to_json(const Footprint& footprint);

}  // namespace perfcast::carbon
