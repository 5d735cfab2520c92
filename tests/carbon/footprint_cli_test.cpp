// End-to-end checks of `perfcast footprint` and `perfcast devices` through the built binary.
#include <gtest/gtest.h>

#include "support/cli_runner.h"

#include <array>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <sys/wait.h>

namespace {

using perfcast::testing::CliRun;

CliRun perfcast(const std::string& args) { return perfcast::testing::run_cli(args); }

TEST(FootprintCli, JsonForEightA100sInFrance) {
  const CliRun r = perfcast("footprint --device a100 --count 8 --hours 10 --region FR --json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto j = nlohmann::json::parse(r.output);
  EXPECT_EQ(j["device"], "a100-sxm4-40gb");
  EXPECT_NEAR(j["it_energy_kwh"].get<double>(), 23.6, 1e-9);
  EXPECT_GT(j["total_kgco2e"].get<double>(), j["operational_kgco2e"].get<double>());
}

TEST(FootprintCli, TextShowsAssumptionsAndAttribution) {
  const CliRun r = perfcast("footprint -d h100 --energy-kwh 5 -r aws:us-east-1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("assumptions"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("cost not computed"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Open Database License"), std::string::npos) << r.output;
}

TEST(FootprintCli, UserErrorsExitOneWithAMessage) {
  CliRun r = perfcast("footprint --device h1000 --hours 1");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("did you mean: h100"), std::string::npos) << r.output;
  r = perfcast("footprint --device a100 --hours 1 --region Frnce");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("FR (France)"), std::string::npos) << r.output;
}

TEST(CatalogCli, DevicesTableAndJson) {
  CliRun r = perfcast("devices");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("h100-sxm5-80gb"), std::string::npos);
  EXPECT_NE(r.output.find("989.4"), std::string::npos);
  r = perfcast("devices --kind cpu --json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto j = nlohmann::json::parse(r.output);
  ASSERT_EQ(j["devices"].size(), 11u);  // data/devices: 10 CPUs + generic-cpu
  for (const auto& d : j["devices"]) EXPECT_EQ(d["kind"], "cpu");
  r = perfcast("devices --kind gpu --json");
  const auto g = nlohmann::json::parse(r.output);
  EXPECT_EQ(g["devices"].size(), 32u);
  bool has_mig = false;
  for (const auto& d : g["devices"]) has_mig = has_mig || !d["mig_profiles"].empty();
  EXPECT_TRUE(has_mig);
}

}  // namespace
