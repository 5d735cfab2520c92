#include "carbon/footprint.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "common/csv.h"
#include "common/error.h"
#include "support/test_helpers.h"

namespace perfcast::carbon {
namespace {

struct Data {
  hardware::DeviceCatalog devices = hardware::DeviceCatalog::load();
  RegionTable regions = RegionTable::load();
  PriceTable prices = PriceTable::load();
};

const Data& data() {
  static const Data d;
  return d;
}

Footprint run(const FootprintRequest& req) {
  return compute_footprint(req, data().devices, data().regions, data().prices);
}

std::string error_of(const FootprintRequest& req) {
  try {
    run(req);
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a perfcast::Error";
  return "";
}

using testing::csv_value;

using testing::contains;

void expect_rel(double actual, double expected) {
  EXPECT_NEAR(actual, expected, 1e-9 * std::fabs(expected)) << "expected " << expected;
}

// a100-sxm4-40gb as in its file: TDP 400 W, idle 50 W, 29.22 kgCO2e over 5 years.
constexpr double kA100Tdp = 400, kA100Idle = 50, kA100Embodied = 29.22, kA100Life = 5;

TEST(Footprint, EightA100sForTenHoursInFrance) {
  FootprintRequest req;
  req.device = "a100-sxm4-40gb";
  req.device_count = 8;
  req.hours = 10;
  req.region = "FR";
  const Footprint f = run(req);

  const double intensity = csv_value("carbon/grid_intensity.csv", "zone", "FR", "carbon_intensity_g_per_kwh");
  const double pue = csv_value("carbon/pue_defaults.csv", "setting", "public_cloud_average", "pue");
  const double offsite = csv_value("carbon/water_intensity.csv", "country_iso2", "FR", "offsite_water_l_per_kwh");
  const double watts = kA100Idle + 0.7 * (kA100Tdp - kA100Idle);  // 295 W
  const double it_kwh = watts * 8 * 10 / 1000;                       // 23.6 kWh
  const double facility_kwh = it_kwh * pue;
  const double operational = facility_kwh * intensity / 1000;
  const double embodied = kA100Embodied * 8 * 10 / (kA100Life * 8760);

  expect_rel(*f.average_power_w, 295);
  expect_rel(f.it_energy_kwh, 23.6);
  expect_rel(f.facility_energy_kwh, facility_kwh);
  expect_rel(f.operational_kgco2e, operational);
  ASSERT_TRUE(f.embodied_kgco2e.has_value());
  expect_rel(*f.embodied_kgco2e, embodied);
  expect_rel(f.total_kgco2e, operational + embodied);
  expect_rel(f.water_offsite_l, facility_kwh * offsite);
  EXPECT_FALSE(f.water_onsite_l.has_value()) << "a grid zone has no WUE";
  EXPECT_TRUE(contains(f.assumptions, "on-site water not estimated"));
  EXPECT_TRUE(contains(f.assumptions, "0.7"));
  EXPECT_TRUE(contains(f.assumptions, "public_cloud_average"));
  EXPECT_TRUE(contains(f.attributions, "Electricity Maps")) << "FR intensity is Electricity Maps data (ODbL)";

  // Cheapest listed a100-sxm4-40gb per GPU-hour: Lambda 8x at 15.92 USD/h.
  ASSERT_TRUE(f.cost_usd.has_value());
  expect_rel(*f.cost_usd, 15.92 / 8 * 8 * 10);
  EXPECT_NE(f.cost_basis.find("gpu_8x_a100"), std::string::npos) << f.cost_basis;
}

TEST(Footprint, CloudRegionWaterUsesWuePerItKwh) {
  FootprintRequest req;
  req.device = "h100";
  req.device_count = 2;
  req.hours = 3;
  req.energy_kwh = 4.0;  // measured: replaces the power model
  req.region = "aws:eu-west-3";
  const Footprint f = run(req);
  EXPECT_FALSE(f.average_power_w.has_value());
  expect_rel(f.it_energy_kwh, 4.0);
  expect_rel(f.facility_energy_kwh, 4.0 * 1.15);
  expect_rel(f.operational_kgco2e, 4.0 * 1.15 * 33.44 / 1000);
  ASSERT_TRUE(f.water_onsite_l.has_value());
  expect_rel(*f.water_onsite_l, 0.15 * 4.0);  // IT energy, not facility energy
  const double offsite = csv_value("carbon/water_intensity.csv", "country_iso2", "FR", "offsite_water_l_per_kwh");
  expect_rel(f.water_offsite_l, 4.0 * 1.15 * offsite);
  expect_rel(*f.embodied_kgco2e, 46.65 * 2 * 3 / (5 * 8760));
  // aws has h100 in us-east-1 only, so the provider's price is used: p5 at 6.88 USD/GPU-h.
  expect_rel(*f.cost_usd, 6.88 * 2 * 3);
  EXPECT_TRUE(contains(f.assumptions, "no price listed in eu-west-3"));
}

TEST(Footprint, EmbodiedIsAmortisedLinearlyOverTheLifetime) {
  FootprintRequest req;
  req.device = "h100-sxm5-80gb";
  req.hours = 5 * 8760;  // the whole lifetime
  const Footprint whole = run(req);
  expect_rel(*whole.embodied_kgco2e, 46.65);
  req.device_count = 4;
  req.hours = 1000;
  expect_rel(*run(req).embodied_kgco2e, 46.65 * 4 * 1000 / (5 * 8760.0));
}

TEST(Footprint, EnergyWithoutHoursStatesWhatIsMissing) {
  FootprintRequest req;
  req.device = "a100-sxm4-40gb";
  req.device_count = 8;
  req.energy_kwh = 100;
  req.region = "DE";
  const Footprint f = run(req);
  EXPECT_FALSE(f.cost_usd.has_value());
  EXPECT_FALSE(f.embodied_kgco2e.has_value());
  EXPECT_TRUE(contains(f.assumptions, "cost not computed")) << "cost is not silently 0";
  EXPECT_TRUE(contains(f.assumptions, "--hours"));
  EXPECT_TRUE(contains(f.assumptions, "embodied carbon not counted"));
  expect_rel(f.total_kgco2e, f.operational_kgco2e);
  expect_rel(f.operational_kgco2e, 100 * 1.25 * 333.77 / 1000);
}

TEST(Footprint, OverridesReplaceRegionFiguresAndTheirAssumptions) {
  FootprintRequest req;
  req.device = "a100-sxm4-40gb";
  req.hours = 2;
  req.utilization = 1.0;  // full TDP
  req.pue = 1.5;
  req.carbon_intensity_g_per_kwh = 100;
  req.wue_l_per_kwh = 2;
  req.price_usd_per_device_hour = 1.25;
  const Footprint f = run(req);
  expect_rel(f.it_energy_kwh, 0.8);
  expect_rel(f.facility_energy_kwh, 1.2);
  expect_rel(f.operational_kgco2e, 0.12);
  expect_rel(*f.water_onsite_l, 1.6);
  expect_rel(*f.cost_usd, 2.5);
  EXPECT_FALSE(contains(f.assumptions, "no region given"));
  EXPECT_FALSE(contains(f.assumptions, "public_cloud_average"));
  EXPECT_FALSE(contains(f.assumptions, "on-site water not estimated"));
  EXPECT_FALSE(contains(f.attributions, "Electricity Maps")) << "no Electricity Maps figure was used";
  EXPECT_EQ(f.region.carbon_intensity_g_per_kwh.source, "given by the user");
}

TEST(Footprint, InstancePricingPaysForWholeInstances) {
  FootprintRequest req;
  req.device = "a100-sxm4-40gb";
  req.device_count = 12;
  req.hours = 3;
  req.region = "aws:eu-west-1";
  req.instance_type = "p4d.24xlarge";
  const Footprint f = run(req);
  expect_rel(*f.cost_usd, 2 * 23.71569 * 3);  // eu-west-1 price, 2 instances of 8
  EXPECT_TRUE(contains(f.assumptions, "2 whole p4d.24xlarge"));

  req.device = "t4";
  const std::string m = error_of(req);
  EXPECT_NE(m.find("a100-sxm4-40gb"), std::string::npos) << m;
}

TEST(Footprint, DefaultPriceFollowsTheCloudRegion) {
  FootprintRequest req;
  req.device = "a100-sxm4-40gb";
  req.device_count = 8;
  req.hours = 1;
  req.region = "aws:us-east-1";
  expect_rel(*run(req).cost_usd, 21.957642);
  req.device = "mi300x";  // no listed price
  const Footprint f = run(req);
  EXPECT_FALSE(f.cost_usd.has_value());
  EXPECT_TRUE(contains(f.assumptions, "--price-per-device-hour"));
}

TEST(Footprint, UserDeviceWithoutEmbodiedData) {
  const auto dir = std::filesystem::temp_directory_path() / "perfcast-footprint-user-device";
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "my-npu.toml").string();
  std::ofstream(path) << "id = \"my-npu\"\nname = \"My NPU\"\nkind = \"gpu\"\n[compute]\nfp32_tflops = 5\n"
                         "[memory]\ncapacity_gib = 8\nbandwidth_gb_s = 100\n[power]\ntdp_w = 100\nidle_w = 0\n";
  FootprintRequest req;
  req.device = path;
  req.hours = 10;
  const Footprint f = run(req);
  std::filesystem::remove_all(dir);
  EXPECT_EQ(f.device_id, "my-npu");
  expect_rel(f.it_energy_kwh, 0.7);
  EXPECT_FALSE(f.embodied_kgco2e.has_value());
  EXPECT_TRUE(contains(f.assumptions, "no [embodied]"));
}

TEST(Footprint, ImpossibleRequestsAreErrors) {
  FootprintRequest req;
  req.device = "a100";
  EXPECT_NE(error_of(req).find("--hours"), std::string::npos);
  req.hours = 1;
  req.device_count = 0;
  EXPECT_NE(error_of(req).find("at least 1"), std::string::npos);
  req.device_count = 1;
  req.pue = 0.9;
  EXPECT_NE(error_of(req).find("PUE"), std::string::npos);
  req.pue.reset();
  req.utilization = 1.5;
  EXPECT_NE(error_of(req).find("utilization"), std::string::npos);
  req.utilization.reset();
  req.hours = -1;
  EXPECT_NE(error_of(req).find("hours"), std::string::npos);
  req.hours = 1;
  req.instance_type = "p4d.24xlarge";
  req.price_usd_per_device_hour = 2;
  EXPECT_NE(error_of(req).find("not both"), std::string::npos);
}

TEST(Footprint, JsonCarriesFiguresAssumptionsAndAttribution) {
  FootprintRequest req;
  req.device = "a100";
  req.energy_kwh = 10;
  const nlohmann::json j = to_json(run(req));
  EXPECT_DOUBLE_EQ(j["it_energy_kwh"].get<double>(), 10);
  EXPECT_TRUE(j["cost_usd"].is_null());
  EXPECT_TRUE(j["embodied_kgco2e"].is_null());
  EXPECT_TRUE(j["water_onsite_l"].is_null());
  EXPECT_EQ(j["region"]["key"], "WORLD");
  EXPECT_FALSE(j["assumptions"].empty());
  EXPECT_NE(j["attributions"].dump().find("Electricity Maps"), std::string::npos);
}

}  // namespace
}  // namespace perfcast::carbon
