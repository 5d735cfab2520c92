#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "hardware/device_catalog.h"

namespace perfcast::carbon {

// The setting of data/carbon/pue_defaults.csv used when the data-centre is not known: the IDC
// public-cloud average (1.25). It sits between the hyperscalers' own fleet figures (1.10-1.18)
// and the all-industry averages (1.56-1.58), and is the only row that describes "some cloud".
inline constexpr const char* kDefaultPueSetting = "public_cloud_average";
// The grid zone used when no region is given.
inline constexpr const char* kDefaultZone = "WORLD";

// Attribution required by the ODbL for outputs built from Electricity Maps figures (SOURCE.md).
inline constexpr const char* kElectricityMapsAttribution =
    "Contains information from Electricity Maps 2024 Yearly Carbon Intensity Data (Version January 27, 2025), "
    "\u00a9 Electricity Maps, https://www.electricitymaps.com, made available under the Open Database License "
    "(ODbL) 1.0.";

// A figure and where it came from (a data file's source column, a default, or the user).
struct Sourced {
  double value = 0;
  std::string source;
  std::string assumption;  // non-empty when the figure is a default, not one for this place
};

// Everything about where the electricity is used that turns kWh into CO2e and water.
struct Region {
  std::string key;            // canonical: "aws:us-east-1", "FR", "WORLD"
  std::string description;    // "AWS us-east-1, US East (N. Virginia)", "France"
  std::string provider;       // aws | gcp | azure; empty for a grid zone
  std::string cloud_region;   // empty for a grid zone
  std::string zone;           // Electricity Maps zone; may be empty for a cloud region
  std::string country_iso2;   // country of the zone; empty when not known

  Sourced carbon_intensity_g_per_kwh;    // grams CO2e per kWh drawn from the grid
  Sourced pue;                           // facility kWh per IT kWh
  std::optional<Sourced> wue_l_per_kwh;  // on-site litres per IT kWh; unknown outside the clouds
  std::string wue_missing;               // why there is no WUE, when there is none
  Sourced offsite_water_l_per_kwh;       // litres consumed generating one kWh (country, else WORLD)

  // Each default this region relies on, in words.
  std::vector<std::string> assumptions() const;
  // The notices the data sources behind these figures require in outputs.
  std::vector<std::string> attributions() const;
};

struct GridZone {
  std::string zone;
  std::string name;
  std::string country_iso2;
  double carbon_intensity_g_per_kwh = 0;
  int year = 0;
  std::string source;
};

struct CloudRegion {
  std::string provider;
  std::string region;
  std::string location;
  std::string zone;  // may be empty
  double carbon_intensity_g_per_kwh = 0;
  std::optional<double> pue;
  std::optional<double> wue_l_per_kwh;
  std::string source;
};

// data/carbon: grid_intensity.csv, cloud_regions.csv, water_intensity.csv, pue_defaults.csv.
class RegionTable {
 public:
  static RegionTable load(const std::string& carbon_dir = hardware::default_data_dir() + "/carbon");

  // "aws:us-east-1", "gcp:europe-west4", "azure:westeurope", a bare cloud region ("us-east-1") when
  // only one provider has it, or an Electricity Maps zone / country ("FR", "US-CAL-CISO", "WORLD";
  // case-insensitive; a zone's name such as "France" works too). Empty = default_region().
  // Unknown or ambiguous → perfcast::Error with the closest matches.
  Region lookup(const std::string& query) const;
  // WORLD intensity, the kDefaultPueSetting PUE, no on-site WUE, WORLD off-site water.
  Region default_region() const;

  const std::vector<GridZone>& zones() const { return zones_; }
  const std::vector<CloudRegion>& cloud_regions() const { return clouds_; }
  // A row of pue_defaults.csv; throws perfcast::Error naming the settings when unknown.
  Sourced pue_default(const std::string& setting) const;
  // Off-site water for a country (ISO alpha-2); nullopt when the table has none.
  std::optional<Sourced> offsite_water(const std::string& country_iso2) const;

 private:
  Region from_zone(const GridZone& zone) const;
  Region from_cloud(const CloudRegion& cloud) const;
  void fill_offsite_water(Region& region) const;

  std::vector<GridZone> zones_;
  std::vector<CloudRegion> clouds_;
  std::map<std::string, Sourced> water_;  // country -> L/kWh
  std::map<std::string, Sourced> pue_defaults_;
};

// The notices a source string calls for (Electricity Maps ODbL, EcoLogits MPL-2.0, ...).
std::vector<std::string> attributions_for(const std::string& source);

}  // namespace perfcast::carbon
