// End-to-end checks of `perfcast measure` through the built binary.
#include <gtest/gtest.h>

#include "support/cli_runner.h"
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

namespace {

using perfcast::testing::CliRun;

CliRun run(const std::string& env, const std::string& args, bool merge_stderr = true) {
  return perfcast::testing::run_cli(args, env, merge_stderr);
}

TEST(MeasureCli, JsonForTrue) {
  const CliRun r = run("PERFCAST_NVML_LIBRARY=/nonexistent", "measure --json --region FR -- true", false);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto j = nlohmann::json::parse(r.output);
  EXPECT_EQ(j["command"], nlohmann::json::array({"true"}));
  EXPECT_EQ(j["exit_code"], 0);
  EXPECT_GT(j["duration_s"].get<double>(), 0);
  EXPECT_FALSE(j["gpu"]["available"].get<bool>());
  EXPECT_NE(j["gpu"]["reason"].get<std::string>().find("NVML not available: /nonexistent not found"),
            std::string::npos);
  EXPECT_TRUE(j["gpu"]["devices"].empty());
  // No RAPL in this VM/container: estimated and labelled so (a machine with readable RAPL measures).
  const auto& cpu = j["cpu"];
  if (cpu["method"] == "rapl") {
    EXPECT_FALSE(cpu["estimated"].get<bool>());
  } else {
    EXPECT_EQ(cpu["method"], "estimate_tdp_x_utilisation");
    EXPECT_TRUE(cpu["estimated"].get<bool>());
    EXPECT_EQ(cpu["device"], "generic-cpu");
    EXPECT_EQ(cpu["tdp_w"], 150.0);
  }
  EXPECT_GE(cpu["energy_j"].get<double>(), 0);
  EXPECT_NEAR(j["total_energy_kwh"].get<double>(), cpu["energy_j"].get<double>() / 3.6e6, 1e-15);
  const auto& f = j["footprint"];
  EXPECT_NEAR(f["it_energy_kwh"].get<double>(), j["total_energy_kwh"].get<double>(), 1e-15);
  EXPECT_GE(f["operational_kgco2e"].get<double>(), 0);
  EXPECT_NE(f.dump().find("FR"), std::string::npos);
}

TEST(MeasureCli, ForwardsTheChildsExitCodeAndPrintsText) {
  const CliRun r = run("PERFCAST_NVML_LIBRARY=/nonexistent", "measure -- sh -c 'echo child-output; exit 5'");
  EXPECT_EQ(r.exit_code, 5) << r.output;
  EXPECT_NE(r.output.find("child-output"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("no NVIDIA GPU visible: NVML not available"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("CO2e"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("exit code        5"), std::string::npos) << r.output;
}

TEST(MeasureCli, UnknownCommandAndBadDevice) {
  CliRun r = run("", "measure -- perfcast-no-such-command");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("command not found: 'perfcast-no-such-command'"), std::string::npos) << r.output;
  r = run("", "measure --cpu-device h100 -- true");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("not a CPU"), std::string::npos) << r.output;
  r = run("", "measure --region Frnce -- true");
  EXPECT_EQ(r.exit_code, 1) << r.output;
}

}  // namespace
