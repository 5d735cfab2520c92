#include "carbon/price_table.h"

#include <gtest/gtest.h>

#include "common/error.h"

namespace perfcast::carbon {
namespace {

const PriceTable& prices() {
  static const PriceTable t = PriceTable::load();
  return t;
}

TEST(CarbonPrices, ByGpuCheapestPerGpuHourFirst) {
  EXPECT_EQ(prices().instances().size(), 42u);
  const auto a100 = prices().for_gpu("a100-sxm4-40gb");
  ASSERT_EQ(a100.size(), 7u);
  for (size_t i = 1; i < a100.size(); ++i) {
    EXPECT_LE(a100[i - 1].price_usd_per_gpu_hour(), a100[i].price_usd_per_gpu_hour());
  }
  EXPECT_EQ(a100.front().type, "gpu_8x_a100");
  EXPECT_DOUBLE_EQ(a100.front().price_usd_per_gpu_hour(), 15.92 / 8);
  EXPECT_TRUE(prices().for_gpu("mi300x").empty());
}

TEST(CarbonPrices, CheapestPerGpu) {
  const auto cheapest = prices().cheapest_per_gpu();
  ASSERT_TRUE(cheapest.count("h100-sxm5-80gb"));
  EXPECT_EQ(cheapest.at("h100-sxm5-80gb").type, "gpu_8x_h100_sxm5");
  EXPECT_DOUBLE_EQ(cheapest.at("h100-sxm5-80gb").price_usd_per_gpu_hour(), 3.99);
  ASSERT_TRUE(cheapest.count("t4"));
  EXPECT_EQ(cheapest.at("t4").type, "g4dn.xlarge");
  EXPECT_EQ(cheapest.at("t4").price_date, "2026-08-26");
}

TEST(CarbonPrices, CheapestInARegionPrefersItsCloudAndRegion) {
  const auto regions = RegionTable::load();
  // A grid zone: the cheapest anywhere (Lambda's 8x A100, 15.92 USD/h).
  const auto anywhere = prices().cheapest_in("a100-sxm4-40gb", regions.lookup("FR"));
  ASSERT_TRUE(anywhere.has_value());
  EXPECT_EQ(anywhere->instance.type, "gpu_8x_a100");
  EXPECT_EQ(anywhere->scope, "any provider");
  // An AWS region that lists the GPU: AWS's own instance there, although Lambda is cheaper.
  const auto aws = prices().cheapest_in("a100-sxm4-40gb", regions.lookup("aws:us-east-1"));
  ASSERT_TRUE(aws.has_value());
  EXPECT_EQ(aws->instance.provider, "aws");
  EXPECT_EQ(aws->instance.region, "us-east-1");
  EXPECT_EQ(aws->scope, "aws:us-east-1");
  EXPECT_GT(aws->instance.price_usd_per_gpu_hour(), anywhere->instance.price_usd_per_gpu_hour());
  // No listed instance at all: nothing.
  EXPECT_FALSE(prices().cheapest_in("mi300x", regions.lookup("aws:us-east-1")).has_value());
}

TEST(CarbonPrices, InstanceTypeLookup) {
  const auto p4d = prices().of_type("P4D.24XLARGE");
  ASSERT_EQ(p4d.size(), 2u);
  EXPECT_EQ(p4d[0].gpu_count, 8);
  try {
    prices().of_type("p4d.24xlarg");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("p4d.24xlarge"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace perfcast::carbon
