#include "carbon/region_table.h"

#include <gtest/gtest.h>

#include <functional>

#include "common/csv.h"
#include "common/error.h"
#include "support/test_helpers.h"

namespace perfcast::carbon {
namespace {

const RegionTable& regions() {
  static const RegionTable t = RegionTable::load();
  return t;
}

using testing::error_of;

using testing::csv_value;

using testing::contains;

TEST(CarbonRegion, AwsUsEast1) {
  const Region r = regions().lookup("aws:us-east-1");
  EXPECT_EQ(r.key, "aws:us-east-1");
  EXPECT_EQ(r.provider, "aws");
  EXPECT_EQ(r.zone, "US");
  EXPECT_EQ(r.country_iso2, "US");
  EXPECT_DOUBLE_EQ(r.carbon_intensity_g_per_kwh.value,
                   csv_value("carbon/cloud_regions.csv", "region", "us-east-1", "carbon_intensity_g_per_kwh", "aws"));
  EXPECT_DOUBLE_EQ(r.pue.value, 1.15);
  ASSERT_TRUE(r.wue_l_per_kwh.has_value());
  EXPECT_DOUBLE_EQ(r.wue_l_per_kwh->value, 0.15);
  EXPECT_DOUBLE_EQ(r.offsite_water_l_per_kwh.value,
                   csv_value("carbon/water_intensity.csv", "country_iso2", "US", "offsite_water_l_per_kwh"));
  EXPECT_TRUE(contains(r.attributions(), "Electricity Maps")) << "AWS rows carry Electricity Maps figures";
  EXPECT_TRUE(contains(r.attributions(), "EcoLogits"));
  // The same region without the provider prefix, and in capitals.
  EXPECT_EQ(regions().lookup("us-east-1").key, "aws:us-east-1");
  EXPECT_EQ(regions().lookup("AWS:US-EAST-1").key, "aws:us-east-1");
}

TEST(CarbonRegion, GcpAndAzureRegions) {
  const Region gcp = regions().lookup("gcp:europe-west4");
  EXPECT_EQ(gcp.zone, "NL");
  EXPECT_DOUBLE_EQ(gcp.carbon_intensity_g_per_kwh.value,
                   csv_value("carbon/cloud_regions.csv", "region", "europe-west4", "carbon_intensity_g_per_kwh"));
  EXPECT_DOUBLE_EQ(gcp.pue.value, 1.1);
  EXPECT_FALSE(contains(gcp.attributions(), "Electricity Maps")) << "GCP intensities are Google's";
  const Region az = regions().lookup("azure:westeurope");
  EXPECT_DOUBLE_EQ(az.carbon_intensity_g_per_kwh.value, 390);
  EXPECT_DOUBLE_EQ(az.wue_l_per_kwh->value, 0.30);
  // A sub-national zone maps to its country for water.
  EXPECT_EQ(regions().lookup("gcp:us-central1").country_iso2, "US");
}

TEST(CarbonRegion, GridZoneFr) {
  const Region fr = regions().lookup("FR");
  EXPECT_EQ(fr.key, "FR");
  EXPECT_TRUE(fr.provider.empty());
  EXPECT_DOUBLE_EQ(fr.carbon_intensity_g_per_kwh.value,
                   csv_value("carbon/grid_intensity.csv", "zone", "FR", "carbon_intensity_g_per_kwh"));
  EXPECT_DOUBLE_EQ(fr.pue.value, csv_value("carbon/pue_defaults.csv", "setting", kDefaultPueSetting, "pue"));
  EXPECT_FALSE(fr.wue_l_per_kwh.has_value());
  EXPECT_TRUE(contains(fr.assumptions(), "on-site water not estimated"));
  EXPECT_TRUE(contains(fr.assumptions(), "PUE 1.25"));
  EXPECT_DOUBLE_EQ(fr.offsite_water_l_per_kwh.value,
                   csv_value("carbon/water_intensity.csv", "country_iso2", "FR", "offsite_water_l_per_kwh"));
  EXPECT_EQ(regions().lookup("fr").key, "FR");
  EXPECT_EQ(regions().lookup("France").key, "FR");
  const Region caiso = regions().lookup("US-CAL-CISO");
  EXPECT_DOUBLE_EQ(caiso.carbon_intensity_g_per_kwh.value, 227.14);
  EXPECT_EQ(caiso.country_iso2, "US");
}

TEST(CarbonRegion, DefaultsAreWorldAndStated) {
  const Region d = regions().lookup("");
  EXPECT_EQ(d.key, "WORLD");
  EXPECT_DOUBLE_EQ(d.carbon_intensity_g_per_kwh.value,
                   csv_value("carbon/grid_intensity.csv", "zone", "WORLD", "carbon_intensity_g_per_kwh"));
  EXPECT_DOUBLE_EQ(d.pue.value, csv_value("carbon/pue_defaults.csv", "setting", "public_cloud_average", "pue"));
  EXPECT_DOUBLE_EQ(d.offsite_water_l_per_kwh.value,
                   csv_value("carbon/water_intensity.csv", "country_iso2", "WORLD", "offsite_water_l_per_kwh"));
  EXPECT_TRUE(contains(d.assumptions(), "no region given"));
  EXPECT_TRUE(contains(d.assumptions(), "public_cloud_average"));
  EXPECT_FALSE(contains(regions().lookup("WORLD").assumptions(), "no region given"));
}

TEST(CarbonRegion, WaterFallsBackToWorldAndSaysSo) {
  const double world = csv_value("carbon/water_intensity.csv", "country_iso2", "WORLD", "offsite_water_l_per_kwh");
  const Region ae = regions().lookup("AE");  // no EcoLogits figure for the UAE
  EXPECT_DOUBLE_EQ(ae.offsite_water_l_per_kwh.value, world);
  EXPECT_TRUE(contains(ae.assumptions(), "no figure for country AE"));
  const Region cn = regions().lookup("aws:cn-north-1");  // no zone in cloud_regions.csv
  EXPECT_DOUBLE_EQ(cn.offsite_water_l_per_kwh.value, world);
  EXPECT_TRUE(contains(cn.assumptions(), "not known"));
}

TEST(CarbonRegion, UnknownRegionSuggestsCloseMatches) {
  std::string m = error_of([] { regions().lookup("aws:us-east-9"); });
  EXPECT_NE(m.find("unknown region 'aws:us-east-9'"), std::string::npos) << m;
  EXPECT_NE(m.find("aws:us-east-1"), std::string::npos) << m;
  m = error_of([] { regions().lookup("Germny"); });
  EXPECT_NE(m.find("DE (Germany)"), std::string::npos) << m;
  m = error_of([] { regions().lookup("europe-west44"); });
  EXPECT_NE(m.find("gcp:europe-west4"), std::string::npos) << m;
  m = error_of([] { regions().lookup("ibm:us-south"); });
  EXPECT_NE(m.find("aws:"), std::string::npos) << m;
}

}  // namespace
}  // namespace perfcast::carbon
