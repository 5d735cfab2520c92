// Machine characterisation: the device TOML it writes loads through DeviceCatalog::get(path).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "hardware/device_catalog.h"
#include "measure/characterize.h"
#include "support/test_helpers.h"

using namespace perfcast;

namespace {
std::filesystem::path temp_dir() {
  const auto dir = std::filesystem::temp_directory_path() / ("perfcast-characterize-test-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  return dir;
}
}  // namespace

TEST(Characterize, TomlLoadsAsACatalogDevice) {
  const nlohmann::json result = {
      {"status", "ok"},         {"device", "cpu"},  {"device_name", "AMD EPYC"}, {"host", "vm"},
      {"framework_version", "1.13.0"}, {"threads", 2}, {"compute_units", 2}, {"memory_bytes", 25e9},
      {"bandwidth_bytes_per_s", 1.2e10},
      {"gemm", {{"fp32", {{"best_flops", 5.0e10}}}, {"bf16", {{"best_flops", 3.0e10}}}}}};
  const measure::Characterization c = measure::characterization_from_json(result);
  const auto path = temp_dir() / "my-device.toml";
  std::ofstream(path) << measure::characterization_toml(c, "my-device", 150, 22);
  const auto catalog = hardware::DeviceCatalog::load();
  const hardware::Device& d = catalog.get(path.string());
  EXPECT_EQ(d.id, "my-device");
  EXPECT_EQ(d.kind, "cpu");
  EXPECT_NEAR(d.peak_tflops.at(hardware::Precision::kFp32), 0.05, 1e-9);
  EXPECT_NEAR(d.peak_tflops.at(hardware::Precision::kBf16), 0.03, 1e-9);
  EXPECT_NEAR(d.memory_bandwidth_gb_s, 12, 1e-9);
  EXPECT_EQ(d.tdp_w, 150);
  std::ifstream in(path);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("source = \"measured by perfcast characterize on "), std::string::npos);
  EXPECT_NE(text.find("idle_w ASSUMED"), std::string::npos);
}

TEST(Characterize, FailedRunnerResultIsAnError) {
  EXPECT_NE(perfcast::testing::error_of([] {
              measure::characterization_from_json({{"status", "error"}, {"error", "boom"}});
            }).find("boom"),
            std::string::npos);
}

TEST(CharacterizeCli, QuickCpuRunWritesALoadableFile) {
  const auto out = temp_dir() / "this-cpu.toml";
  const std::string cmd = "PERFCAST_NVML_LIBRARY=/nonexistent " + std::string(PERFCAST_CLI_PATH) +
                          " characterize --device cpu --quick --out " + out.string() + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  std::array<char, 4096> buf{};
  size_t n = 0;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) output.append(buf.data(), n);
  const int status = pclose(pipe);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << output;
  const auto catalog = hardware::DeviceCatalog::load();
  const hardware::Device& d = catalog.get(out.string());
  EXPECT_EQ(d.id, "this-cpu");
  EXPECT_GT(d.peak_tflops.at(hardware::Precision::kFp32), 0);
  EXPECT_GT(d.memory_bandwidth_gb_s, 0);
}
