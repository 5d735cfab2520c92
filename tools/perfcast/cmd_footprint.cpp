#include <fmt/format.h>

#include <cmath>
#include <iostream>
#include <nlohmann/json.hpp>

#include "carbon/footprint.h"
#include "commands.h"

namespace perfcast::cli {
namespace {

struct FootprintArgs {
  carbon::FootprintRequest request;
  bool json = false;
};


void print_text(const carbon::Footprint& f) {
  const carbon::Region& r = f.region;
  std::cout << fmt::format("device           {} x {}\n", f.device_count, f.device_id);
  std::cout << fmt::format("duration         {}\n", f.hours ? format_number(*f.hours) + " h" : "not given");
  std::cout << fmt::format("region           {} ({})\n", r.key, r.description);
  if (f.average_power_w) {
    std::cout << fmt::format("average power    {} W per device (power model)\n", format_number(*f.average_power_w));
  }
  std::cout << fmt::format("energy           {} kWh IT (devices), {} kWh facility (PUE {})\n", format_number(f.it_energy_kwh),
                           format_number(f.facility_energy_kwh), f.pue);
  std::cout << fmt::format("grid intensity   {} gCO2e/kWh\n", f.carbon_intensity_g_per_kwh);
  if (f.embodied_kgco2e) {
    std::cout << fmt::format("CO2e             {} kg operational + {} kg embodied = {} kg total\n",
                             format_number(f.operational_kgco2e), format_number(*f.embodied_kgco2e), format_number(f.total_kgco2e));
  } else {
    std::cout << fmt::format("CO2e             {} kg operational (embodied not counted, see assumptions)\n",
                             format_number(f.operational_kgco2e));
  }
  std::cout << fmt::format("water on-site    {}\n",
                           f.water_onsite_l ? fmt::format("{} L (WUE {} L/kWh x IT energy)", format_number(*f.water_onsite_l),
                                                          *f.wue_l_per_kwh)
                                            : std::string("not estimated (no WUE known; --wue)"));
  std::cout << fmt::format("water off-site   {} L ({} L/kWh x facility energy, power generation)\n",
                           format_number(f.water_offsite_l), f.offsite_water_l_per_kwh);
  std::cout << fmt::format("cost             {}\n",
                           f.cost_usd ? fmt::format("{:.2f} USD ({})", *f.cost_usd, f.cost_basis)
                                      : std::string("not computed (see assumptions)"));
  std::cout << "\nassumptions\n";
  for (const auto& a : f.assumptions) std::cout << "  - " << a << "\n";
  std::cout << "\nsources\n";
  std::cout << "  grid intensity: " << r.carbon_intensity_g_per_kwh.source << "\n";
  std::cout << "  PUE: " << r.pue.source << "\n";
  if (r.wue_l_per_kwh) std::cout << "  WUE: " << r.wue_l_per_kwh->source << "\n";
  std::cout << "  off-site water: " << r.offsite_water_l_per_kwh.source << "\n";
  if (!f.attributions.empty()) {
    std::cout << "\ndata attribution\n";
    for (const auto& a : f.attributions) std::cout << "  " << a << "\n";
  }
}

}  // namespace

void register_footprint(CLI::App& app) {
  auto args = std::make_shared<FootprintArgs>();
  carbon::FootprintRequest& req = args->request;
  CLI::App* cmd = app.add_subcommand(
      "footprint", "Turn device time or energy into energy, CO2e (operational + embodied), water and cost");
  cmd->add_option("--device,-d", req.device, "Device id, alias or .toml file (perfcast devices lists them)")
      ->required();
  cmd->add_option("--count,-n", req.device_count, "Number of devices")->check(CLI::PositiveNumber);
  cmd->add_option("--hours", req.hours, "Run time in hours");
  cmd->add_option("--energy-kwh", req.energy_kwh,
                                 "Measured or predicted energy of all the devices together, kWh");
  cmd->add_option("--utilization", req.utilization,
                  fmt::format("Average power as a share of the way from idle to TDP, 0-1 (default {})",
                              carbon::kDefaultUtilization));
  cmd->add_option("--region,-r", req.region,
                  "aws:us-east-1, gcp:europe-west4, azure:westeurope, or a grid zone / country: FR, US-CAL-CISO, "
                  "WORLD (default: WORLD averages)");
  cmd->add_option("--pue", req.pue, "Override the data-centre PUE (>= 1)");
  cmd->add_option("--carbon-intensity", req.carbon_intensity_g_per_kwh, "Override the grid intensity, gCO2e/kWh");
  cmd->add_option("--wue", req.wue_l_per_kwh, "Override the on-site water use, litres per IT kWh");
  auto* instance = cmd->add_option("--instance", req.instance_type, "Price as this cloud instance type (p4d.24xlarge)");
  auto* price = cmd->add_option("--price-per-device-hour", req.price_usd_per_device_hour,
                                "Price as this many USD per device-hour");
  instance->excludes(price);
  cmd->add_flag("--json", args->json, "Print machine-readable JSON");
  cmd->callback([args] {
    const auto devices = hardware::DeviceCatalog::load();
    const auto regions = carbon::RegionTable::load();
    const auto prices = carbon::PriceTable::load();
    const carbon::Footprint f = carbon::compute_footprint(args->request, devices, regions, prices);
    if (args->json) {
      std::cout << carbon::to_json(f).dump(2) << "\n";
    } else {
      print_text(f);
    }
  });
}

}  // namespace perfcast::cli
