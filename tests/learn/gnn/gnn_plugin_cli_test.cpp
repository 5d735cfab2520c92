// The CLI reaches the graph neural networks only through the plugin (libperfcast_gnn.so), so that
// the commands that do not use them do not load libtorch.
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>
#include <string>

#include "hardware/device_catalog.h"
#include "support/cli_runner.h"

namespace perfcast::testing {
namespace {

TEST(GnnPluginCli, PerfcastExecutableDoesNotLinkLibtorch) {
  const CliRun ldd = [] {
    CliRun r;
    FILE* pipe = popen(("ldd " + std::string(PERFCAST_CLI_PATH) + " 2>&1").c_str(), "r");
    char buf[4096];
    size_t n = 0;
    while (pipe && (n = fread(buf, 1, sizeof buf, pipe)) > 0) r.output.append(buf, n);
    r.exit_code = pipe ? pclose(pipe) : -1;
    return r;
  }();
  ASSERT_EQ(ldd.exit_code, 0) << ldd.output;
  EXPECT_EQ(ldd.output.find("libtorch"), std::string::npos) << ldd.output;
  EXPECT_EQ(ldd.output.find("libc10"), std::string::npos) << ldd.output;
}

TEST(GnnPluginCli, ShippedSageModelReproducesItsRecordedMapeThroughThePlugin) {
  const std::string model = hardware::default_data_dir() + "/models/learned/sage_nasbench201_arch";
  ASSERT_TRUE(std::filesystem::exists(model + ".pt")) << model;
  const CliRun r = run_cli("evaluate --model " + model + " --threads 1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.output, m, std::regex(R"(recorded MAPE ([0-9.]+)%, reproduced ([0-9.]+)%)")))
      << r.output;
  EXPECT_NEAR(std::stod(m[1]), std::stod(m[2]), 1e-3) << r.output;
}

TEST(GnnPluginCli, MissingPluginIsAnErrorNamingIt) {
  const CliRun r = run_cli("evaluate --model " + hardware::default_data_dir() + "/models/learned/sage_nasbench201_arch",
                           "PERFCAST_GNN_PLUGIN=/nonexistent/libperfcast_gnn.so");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("libperfcast_gnn.so"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("/nonexistent/libperfcast_gnn.so: not found"), std::string::npos) << r.output;
  // Commands without a graph predictor never open it.
  EXPECT_EQ(run_cli("devices", "PERFCAST_GNN_PLUGIN=/nonexistent/libperfcast_gnn.so").exit_code, 0);
}

}  // namespace
}  // namespace perfcast::testing
