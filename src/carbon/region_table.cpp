#include "carbon/region_table.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "common/csv.h"
#include "common/error.h"
#include "common/suggest.h"

namespace perfcast::carbon {
namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(const std::string& s) {
  const auto begin = s.find_first_not_of(" \t");
  if (begin == std::string::npos) return "";
  return s.substr(begin, s.find_last_not_of(" \t") - begin + 1);
}

void add_unique(std::vector<std::string>& list, const std::vector<std::string>& items) {
  for (const auto& item : items) {
    if (std::find(list.begin(), list.end(), item) == list.end()) list.push_back(item);
  }
}

std::string provider_label(const std::string& provider) {
  if (provider == "aws") return "AWS";
  if (provider == "gcp") return "GCP";
  if (provider == "azure") return "Azure";
  return provider;
}

constexpr const char* kProviders[] = {"aws", "gcp", "azure"};

}  // namespace

std::vector<std::string> attributions_for(const std::string& source) {
  std::vector<std::string> out;
  if (source.find("Electricity Maps") != std::string::npos) out.push_back(kElectricityMapsAttribution);
  if (source.find("Our World in Data") != std::string::npos || source.find("CodeCarbon") != std::string::npos) {
    out.push_back("Carbon intensity from Our World in Data - Energy dataset, based on Ember (CC BY 4.0), via "
                  "CodeCarbon (MIT).");
  }
  if (source.find("Google region-carbon-info") != std::string::npos) {
    out.push_back("Carbon intensity from Google region-carbon-info (Apache-2.0).");
  }
  if (source.find("CCF") != std::string::npos) {
    out.push_back("Carbon intensity from Cloud Carbon Footprint ccf-coefficients (Apache-2.0).");
  }
  if (source.find("EcoLogits") != std::string::npos) {
    out.push_back("Off-site water intensity from EcoLogits (GenAI Impact) electricity_mixes.csv, MPL-2.0, modified "
                  "for perfcast; original at https://github.com/mlco2/ecologits.");
  }
  if (source.find("Green Algorithms") != std::string::npos) {
    out.push_back("PUE from Green Algorithms (Lannelongue, Grealey & Inouye, Adv. Sci. 2021), CC BY 4.0.");
  }
  return out;
}

RegionTable RegionTable::load(const std::string& carbon_dir) {
  RegionTable t;

  const CsvTable grid = read_csv(carbon_dir + "/grid_intensity.csv");
  grid.require_columns({"zone", "name", "country_iso2", "carbon_intensity_g_per_kwh", "year", "source"});
  for (const CsvRow& row : grid.rows) {
    GridZone z;
    z.zone = row.required("zone");
    z.name = row.at("name");
    z.country_iso2 = row.at("country_iso2");
    z.carbon_intensity_g_per_kwh = row.number("carbon_intensity_g_per_kwh");
    if (z.carbon_intensity_g_per_kwh < 0) {
      throw Error(fmt::format("{}:{}: carbon intensity must not be negative", grid.origin, row.line()));
    }
    z.year = static_cast<int>(row.optional_number("year").value_or(0));
    z.source = row.at("source");
    t.zones_.push_back(std::move(z));
  }

  const CsvTable clouds = read_csv(carbon_dir + "/cloud_regions.csv");
  clouds.require_columns(
      {"provider", "region", "location", "zone", "carbon_intensity_g_per_kwh", "pue", "wue_l_per_kwh", "source"});
  for (const CsvRow& row : clouds.rows) {
    CloudRegion c;
    c.provider = lower(row.required("provider"));
    c.region = row.required("region");
    c.location = row.at("location");
    c.zone = row.at("zone");
    c.carbon_intensity_g_per_kwh = row.number("carbon_intensity_g_per_kwh");
    c.pue = row.optional_number("pue");
    c.wue_l_per_kwh = row.optional_number("wue_l_per_kwh");
    if (c.pue && *c.pue < 1.0) {
      throw Error(fmt::format("{}:{}: PUE {} is below 1, which is impossible", clouds.origin, row.line(), *c.pue));
    }
    c.source = row.at("source");
    t.clouds_.push_back(std::move(c));
  }

  const CsvTable water = read_csv(carbon_dir + "/water_intensity.csv");
  water.require_columns({"country_iso2", "offsite_water_l_per_kwh", "source"});
  for (const CsvRow& row : water.rows) {
    t.water_[row.required("country_iso2")] = {row.number("offsite_water_l_per_kwh"), row.at("source"), ""};
  }

  const CsvTable pue = read_csv(carbon_dir + "/pue_defaults.csv");
  pue.require_columns({"setting", "pue", "source"});
  for (const CsvRow& row : pue.rows) t.pue_defaults_[row.required("setting")] = {row.number("pue"), row.at("source"), ""};

  // Fail at load, not at the first footprint, if the defaults this code relies on are gone.
  t.pue_default(kDefaultPueSetting);
  if (!t.offsite_water(kDefaultZone)) {
    throw Error(fmt::format("{}/water_intensity.csv: the {} row is missing", carbon_dir, kDefaultZone));
  }
  const bool has_world = std::any_of(t.zones_.begin(), t.zones_.end(),
                                     [](const GridZone& z) { return z.zone == kDefaultZone; });
  if (!has_world) throw Error(fmt::format("{}/grid_intensity.csv: the {} row is missing", carbon_dir, kDefaultZone));
  return t;
}

Sourced RegionTable::pue_default(const std::string& setting) const {
  const auto it = pue_defaults_.find(setting);
  if (it != pue_defaults_.end()) return it->second;
  std::vector<std::string> names;
  for (const auto& [name, value] : pue_defaults_) names.push_back(name);
  throw Error(fmt::format("no PUE default '{}' in pue_defaults.csv; it has: {}", setting, fmt::join(names, ", ")));
}

std::optional<Sourced> RegionTable::offsite_water(const std::string& country_iso2) const {
  const auto it = water_.find(country_iso2);
  if (it == water_.end()) return std::nullopt;
  return it->second;
}

void RegionTable::fill_offsite_water(Region& region) const {
  if (const auto water = offsite_water(region.country_iso2)) {
    region.offsite_water_l_per_kwh = {water->value,
                                      fmt::format("water_intensity.csv {}: {}", region.country_iso2, water->source), ""};
  } else {
    const Sourced world = *offsite_water(kDefaultZone);
    region.offsite_water_l_per_kwh = {world.value, fmt::format("water_intensity.csv WORLD: {}", world.source), ""};
    if (region.key != kDefaultZone) {
      region.offsite_water_l_per_kwh.assumption =
          region.country_iso2.empty()
              ? fmt::format("off-site water: the country of {} is not known, so the WORLD average {} L/kWh is used",
                            region.key, world.value)
              : fmt::format("off-site water: no figure for country {}, so the WORLD average {} L/kWh is used",
                            region.country_iso2, world.value);
    }
  }
}

std::vector<std::string> Region::assumptions() const {
  std::vector<std::string> out;
  for (const Sourced* s : {&carbon_intensity_g_per_kwh, &pue}) {
    if (!s->assumption.empty()) out.push_back(s->assumption);
  }
  if (wue_l_per_kwh) {
    if (!wue_l_per_kwh->assumption.empty()) out.push_back(wue_l_per_kwh->assumption);
  } else if (!wue_missing.empty()) {
    out.push_back(wue_missing);
  }
  if (!offsite_water_l_per_kwh.assumption.empty()) out.push_back(offsite_water_l_per_kwh.assumption);
  return out;
}

std::vector<std::string> Region::attributions() const {
  std::vector<std::string> out;
  add_unique(out, attributions_for(carbon_intensity_g_per_kwh.source));
  add_unique(out, attributions_for(pue.source));
  if (wue_l_per_kwh) add_unique(out, attributions_for(wue_l_per_kwh->source));
  add_unique(out, attributions_for(offsite_water_l_per_kwh.source));
  return out;
}

Region RegionTable::from_zone(const GridZone& z) const {
  Region r;
  r.key = z.zone;
  r.description = z.name;
  r.zone = z.zone;
  r.country_iso2 = z.country_iso2;
  r.carbon_intensity_g_per_kwh = {
      z.carbon_intensity_g_per_kwh,
      fmt::format("grid_intensity.csv {} ({}): {}", z.zone, z.year, z.source), ""};
  const Sourced pue = pue_default(kDefaultPueSetting);
  r.pue = {pue.value, fmt::format("pue_defaults.csv {}: {}", kDefaultPueSetting, pue.source),
           fmt::format("PUE {} ({} in pue_defaults.csv): a grid zone does not say which data-centre; pass --pue "
                       "to set it",
                       pue.value, kDefaultPueSetting)};
  r.wue_missing = fmt::format(
      "on-site water not estimated: no WUE is known for grid zone {} (cloud fleet figures: AWS 0.15, Azure 0.30, "
      "GCP 1.06 L/kWh); pass --wue to set one",
      z.zone);
  fill_offsite_water(r);
  return r;
}

Region RegionTable::from_cloud(const CloudRegion& c) const {
  Region r;
  r.key = c.provider + ":" + c.region;
  r.description = fmt::format("{} {}, {}", provider_label(c.provider), c.region, c.location);
  r.provider = c.provider;
  r.cloud_region = c.region;
  r.zone = c.zone;
  for (const GridZone& z : zones_) {
    if (!c.zone.empty() && z.zone == c.zone) r.country_iso2 = z.country_iso2;
  }
  if (r.country_iso2.empty() && !c.zone.empty()) r.country_iso2 = c.zone.substr(0, c.zone.find('-'));
  r.carbon_intensity_g_per_kwh = {c.carbon_intensity_g_per_kwh,
                                  fmt::format("cloud_regions.csv {}: {}", r.key, c.source), ""};
  if (c.pue) {
    r.pue = {*c.pue, fmt::format("cloud_regions.csv {}: {} fleet average", r.key, provider_label(c.provider)),
             fmt::format("PUE {}: the {} fleet average, not a figure for this site", *c.pue,
                         provider_label(c.provider))};
  } else {
    const Sourced pue = pue_default(kDefaultPueSetting);
    r.pue = {pue.value, fmt::format("pue_defaults.csv {}: {}", kDefaultPueSetting, pue.source),
             fmt::format("PUE {} ({}): cloud_regions.csv has none for {}", pue.value, kDefaultPueSetting, r.key)};
  }
  if (c.wue_l_per_kwh) {
    r.wue_l_per_kwh = Sourced{*c.wue_l_per_kwh,
                              fmt::format("cloud_regions.csv {}: {} fleet average", r.key, provider_label(c.provider)),
                              fmt::format("WUE {} L/kWh: the {} fleet average{}", *c.wue_l_per_kwh,
                                          provider_label(c.provider),
                                          c.provider == "gcp" ? " (derived; Google publishes no WUE)" : "")};
  } else {
    r.wue_missing =
        fmt::format("on-site water not estimated: cloud_regions.csv has no WUE for {}; pass --wue to set one", r.key);
  }
  fill_offsite_water(r);
  return r;
}

Region RegionTable::default_region() const {
  for (const GridZone& z : zones_) {
    if (z.zone == kDefaultZone) {
      Region r = from_zone(z);
      r.carbon_intensity_g_per_kwh.assumption = fmt::format(
          "no region given: the WORLD average grid intensity ({} g/kWh) is used; pass --region (aws:us-east-1, FR, "
          "...) for a real location",
          z.carbon_intensity_g_per_kwh);
      return r;
    }
  }
  throw Error("grid_intensity.csv has no WORLD row");
}

Region RegionTable::lookup(const std::string& query_in) const {
  const std::string query = trim(query_in);
  if (query.empty()) return default_region();
  const std::string q = lower(query);

  const auto colon = q.find(':');
  if (colon != std::string::npos) {
    const std::string provider = q.substr(0, colon);
    const std::string region = q.substr(colon + 1);
    if (std::find(std::begin(kProviders), std::end(kProviders), provider) == std::end(kProviders)) {
      throw Error(fmt::format("unknown cloud provider '{}' in region '{}'; use aws:, gcp: or azure:",
                              query.substr(0, colon), query));
    }
    for (const CloudRegion& c : clouds_) {
      if (c.provider == provider && lower(c.region) == region) return from_cloud(c);
    }
  } else {
    for (const GridZone& z : zones_) {
      if (lower(z.zone) == q) return from_zone(z);
    }
    std::vector<const CloudRegion*> bare;
    for (const CloudRegion& c : clouds_) {
      if (lower(c.region) == q) bare.push_back(&c);
    }
    if (bare.size() == 1) return from_cloud(*bare.front());
    if (bare.size() > 1) {
      std::vector<std::string> keys;
      for (const auto* c : bare) keys.push_back(c->provider + ":" + c->region);
      throw Error(fmt::format("region '{}' exists at several providers; say which: {}", query, fmt::join(keys, ", ")));
    }
    std::vector<const GridZone*> named;
    for (const GridZone& z : zones_) {
      if (lower(z.name) == q) named.push_back(&z);
    }
    if (named.size() == 1) return from_zone(*named.front());
  }

  // Not found: suggest cloud regions and zones that look alike.
  std::vector<std::string> candidates;
  std::map<std::string, std::string> display;
  for (const CloudRegion& c : clouds_) {
    const std::string key = c.provider + ":" + c.region;
    candidates.push_back(key);
    display[key] = key;
    if (colon == std::string::npos) {
      candidates.push_back(c.region);
      display.emplace(c.region, key);
    }
  }
  if (colon == std::string::npos) {
    for (const GridZone& z : zones_) {
      const std::string label = z.zone == z.name ? z.zone : fmt::format("{} ({})", z.zone, z.name);
      candidates.push_back(z.zone);
      display[z.zone] = label;
      candidates.push_back(z.name);
      display.emplace(z.name, label);
    }
  }
  std::vector<std::string> shown;
  for (const auto& match : close_matches(query, candidates, candidates.size())) {
    add_unique(shown, {display[match]});
    if (shown.size() == 6) break;
  }
  const std::string hint =
      "a region is a cloud region (aws:us-east-1, gcp:europe-west4, azure:westeurope) or an Electricity Maps "
      "zone / country code (FR, DE, US-CAL-CISO, WORLD); data/carbon/*.csv lists them";
  if (shown.empty()) throw Error(fmt::format("unknown region '{}'; {}", query, hint));
  throw Error(fmt::format("unknown region '{}'; did you mean: {}? ({})", query, fmt::join(shown, ", "), hint));
}

}  // namespace perfcast::carbon
