#include "carbon/footprint.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "common/error.h"

namespace perfcast::carbon {
namespace {

void check_finite(const char* what, double value) {
  if (!std::isfinite(value)) throw Error(fmt::format("{} must be a finite number", what));
}

std::string describe(const Instance& i) {
  return fmt::format("{} {} ({}, {} x {}, {:.4g} USD/h listed {})", i.provider, i.type, i.region, i.gpu_count,
                     i.gpu_id, i.price_usd_per_hour, i.price_date);
}

void price_cost(const FootprintRequest& req, const hardware::Device& device, const PriceTable& prices,
                Footprint& f) {
  if (!req.instance_type.empty() && req.price_usd_per_device_hour) {
    throw Error("give either an instance type or a price per device-hour, not both");
  }
  if (!f.hours) {
    f.assumptions.push_back(
        "cost not computed: it needs the run time (--hours); an energy figure alone does not say how long the "
        "devices were paid for");
    return;
  }
  const double hours = *f.hours;
  if (req.price_usd_per_device_hour) {
    const double price = *req.price_usd_per_device_hour;
    check_finite("the price per device-hour", price);
    if (price < 0) throw Error("the price per device-hour must not be negative");
    f.cost_usd = price * f.device_count * hours;
    f.cost_basis = fmt::format("your price {} USD per device-hour x {} device(s) x {} h", price, f.device_count, hours);
    return;
  }
  if (!req.instance_type.empty()) {
    std::vector<Instance> rows = prices.of_type(req.instance_type);
    if (rows.front().gpu_id != device.id) {
      throw Error(fmt::format("instance {} carries {}, not {}; pick an instance with this device or change --device",
                              rows.front().type, rows.front().gpu_id, device.id));
    }
    std::stable_sort(rows.begin(), rows.end(), [](const Instance& a, const Instance& b) {
      return a.price_usd_per_hour < b.price_usd_per_hour;
    });
    const Instance* chosen = &rows.front();
    for (const Instance& i : rows) {
      if (i.provider == f.region.provider && i.region == f.region.cloud_region) chosen = &i;
    }
    if (rows.size() > 1 && !(chosen->provider == f.region.provider && chosen->region == f.region.cloud_region)) {
      f.assumptions.push_back(fmt::format("instance {} is listed in several regions; the cheapest ({}) is used",
                                          chosen->type, chosen->region));
    }
    const int instances = (f.device_count + chosen->gpu_count - 1) / chosen->gpu_count;
    if (instances * chosen->gpu_count != f.device_count) {
      f.assumptions.push_back(fmt::format("{} device(s) need {} whole {} instance(s) of {} GPUs; all are paid for",
                                          f.device_count, instances, chosen->type, chosen->gpu_count));
    }
    f.cost_usd = instances * chosen->price_usd_per_hour * hours;
    f.cost_basis = fmt::format("{} instance(s) x {} h of {}", instances, hours, describe(*chosen));
    return;
  }

  const std::optional<RegionalOffer> offer = prices.cheapest_in(device.id, f.region);
  if (!offer) {
    f.assumptions.push_back(fmt::format(
        "cost not computed: data/prices/cloud_instances.csv lists no instance with {}; pass --price-per-device-hour",
        device.id));
    return;
  }
  const Instance& best = offer->instance;
  const std::string& scope = offer->scope;
  const double per_gpu_hour = best.price_usd_per_gpu_hour();
  f.cost_usd = per_gpu_hour * f.device_count * hours;
  f.cost_basis = fmt::format("{:.4f} USD per GPU-hour x {} device(s) x {} h: the per-GPU share of {}", per_gpu_hour,
                             f.device_count, hours, describe(best));
  f.assumptions.push_back(fmt::format(
      "cost: per-GPU-hour share of the cheapest listed on-demand instance with {} ({}); list prices, no discounts, "
      "storage or egress; pass --instance or --price-per-device-hour to choose",
      device.id, scope));
}

}  // namespace

Footprint compute_footprint(const FootprintRequest& req, const hardware::DeviceCatalog& devices,
                            const RegionTable& regions, const PriceTable& prices) {
  if (req.device.empty()) throw Error("no device given; pass --device ID (perfcast devices lists them)");
  if (req.device_count < 1) throw Error(fmt::format("device count must be at least 1, got {}", req.device_count));
  if (!req.hours && !req.energy_kwh) {
    throw Error("a footprint needs the run time (--hours) or the energy used (--energy-kwh), or both");
  }
  if (req.hours) {
    check_finite("hours", *req.hours);
    if (*req.hours <= 0) throw Error(fmt::format("hours must be greater than 0, got {}", *req.hours));
  }
  if (req.energy_kwh) {
    check_finite("energy", *req.energy_kwh);
    if (*req.energy_kwh < 0) throw Error(fmt::format("energy must not be negative, got {} kWh", *req.energy_kwh));
  }

  const hardware::Device& device = devices.get(req.device);
  Footprint f;
  f.device_id = device.id;
  f.device_count = req.device_count;
  f.hours = req.hours;
  f.region = regions.lookup(req.region);
  Region& r = f.region;

  // A user's figure replaces the region's, its source and any default it stood on.
  auto override_with = [](Sourced& target, const std::optional<double>& value, const char* what) {
    if (!value) return;
    check_finite(what, *value);
    target = {*value, "given by the user", ""};
  };
  if (req.pue && *req.pue < 1.0) {
    throw Error(fmt::format("PUE must be at least 1.0 (facility energy / IT energy), got {}", *req.pue));
  }
  if (req.carbon_intensity_g_per_kwh && *req.carbon_intensity_g_per_kwh < 0) {
    throw Error("carbon intensity must not be negative");
  }
  if (req.wue_l_per_kwh && *req.wue_l_per_kwh < 0) throw Error("WUE must not be negative");
  override_with(r.pue, req.pue, "PUE");
  override_with(r.carbon_intensity_g_per_kwh, req.carbon_intensity_g_per_kwh, "carbon intensity");
  if (req.wue_l_per_kwh) {
    r.wue_l_per_kwh.emplace();
    override_with(*r.wue_l_per_kwh, req.wue_l_per_kwh, "WUE");
  }
  f.assumptions = r.assumptions();
  f.attributions = r.attributions();

  // Energy of the devices (IT energy).
  if (req.energy_kwh) {
    f.it_energy_kwh = *req.energy_kwh;
    if (req.utilization) f.assumptions.push_back("utilization ignored: the energy was given");
  } else {
    const double u = req.utilization.value_or(kDefaultUtilization);
    check_finite("utilization", u);
    if (u < 0 || u > 1) throw Error(fmt::format("utilization must be between 0 and 1, got {}", u));
    f.average_power_w = device.idle_w + u * (device.tdp_w - device.idle_w);
    f.it_energy_kwh = *f.average_power_w * f.device_count * *req.hours / 1000.0;
    f.assumptions.push_back(fmt::format(
        "energy from a power model: {:.1f} W per device = idle {} W + {} x (TDP {} W - idle){}", *f.average_power_w,
        device.idle_w, u, device.tdp_w,
        req.utilization ? "" : " (default utilization; pass --utilization or --energy-kwh)"));
  }
  f.assumptions.push_back("IT energy counts the devices only: no host CPU, memory, storage or network");

  // Facility overhead and operational carbon.
  f.pue = r.pue.value;
  f.facility_energy_kwh = f.it_energy_kwh * f.pue;
  f.carbon_intensity_g_per_kwh = r.carbon_intensity_g_per_kwh.value;
  f.operational_kgco2e = f.facility_energy_kwh * f.carbon_intensity_g_per_kwh / 1000.0;

  // Embodied carbon, amortised linearly over the device's lifetime.
  if (!device.embodied_known) {
    f.assumptions.push_back(fmt::format("embodied carbon not counted: {} has no [embodied] figures", device.id));
  } else if (!f.hours) {
    f.assumptions.push_back(
        "embodied carbon not counted: amortising it needs the run time (--hours); the total is operational only");
  } else {
    f.embodied_kgco2e = device.embodied_kgco2e * f.device_count * *f.hours / (device.lifetime_years * kHoursPerYear);
    f.assumptions.push_back(fmt::format(
        "embodied: {} kgCO2e per device (die and memory only, a lower bound) amortised linearly over {} years of "
        "{} h",
        device.embodied_kgco2e, device.lifetime_years, kHoursPerYear));
  }
  f.total_kgco2e = f.operational_kgco2e + f.embodied_kgco2e.value_or(0);

  // Water: WUE is litres per IT kWh (The Green Grid); generation water applies to every kWh drawn.
  if (r.wue_l_per_kwh) {
    f.wue_l_per_kwh = r.wue_l_per_kwh->value;
    f.water_onsite_l = *f.wue_l_per_kwh * f.it_energy_kwh;
  }
  f.offsite_water_l_per_kwh = r.offsite_water_l_per_kwh.value;
  f.water_offsite_l = f.facility_energy_kwh * f.offsite_water_l_per_kwh;

  price_cost(req, device, prices, f);
  return f;
}

nlohmann::json to_json(const Footprint& f) {
  auto opt = [](const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
  const Region& r = f.region;
  nlohmann::json region = {
      {"key", r.key},
      {"description", r.description},
      {"provider", r.provider},
      {"cloud_region", r.cloud_region},
      {"zone", r.zone},
      {"country_iso2", r.country_iso2},
      {"carbon_intensity_source", r.carbon_intensity_g_per_kwh.source},
      {"pue_source", r.pue.source},
      {"wue_source", r.wue_l_per_kwh ? nlohmann::json(r.wue_l_per_kwh->source) : nlohmann::json(nullptr)},
      {"offsite_water_source", r.offsite_water_l_per_kwh.source},
  };
  return {{"device", f.device_id},
          {"device_count", f.device_count},
          {"hours", opt(f.hours)},
          {"average_power_w", opt(f.average_power_w)},
          {"it_energy_kwh", f.it_energy_kwh},
          {"pue", f.pue},
          {"facility_energy_kwh", f.facility_energy_kwh},
          {"carbon_intensity_g_per_kwh", f.carbon_intensity_g_per_kwh},
          {"operational_kgco2e", f.operational_kgco2e},
          {"embodied_kgco2e", opt(f.embodied_kgco2e)},
          {"total_kgco2e", f.total_kgco2e},
          {"wue_l_per_kwh", opt(f.wue_l_per_kwh)},
          {"offsite_water_l_per_kwh", f.offsite_water_l_per_kwh},
          {"water_onsite_l", opt(f.water_onsite_l)},
          {"water_offsite_l", f.water_offsite_l},
          {"cost_usd", opt(f.cost_usd)},
          {"cost_basis", f.cost_basis},
          {"region", region},
          {"assumptions", f.assumptions},
          {"attributions", f.attributions}};
}

}  // namespace perfcast::carbon
