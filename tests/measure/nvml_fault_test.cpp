// NVML failing in the middle of a measurement, through a stand-in libnvidia-ml built here with the
// system C compiler: one 100 W GPU with an energy counter, whose every call answers
// NVML_ERROR_GPU_IS_LOST once $FAKE_NVML_FAIL_FILE exists. Also `perfcast measure --json`, whose
// stdout must stay parseable JSON whatever the measured command prints.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "measure/energy_meter.h"
#include "measure/nvml_library.h"
#include "support/cli_runner.h"

namespace perfcast::measure {
namespace {

namespace fs = std::filesystem;

const char* kFakeNvml = R"C(
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
static int lost(void) { const char* f = getenv("FAKE_NVML_FAIL_FILE"); return f && access(f, F_OK) == 0; }
static double now_s(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
static int dev;
typedef struct { unsigned long long total, free, used; } mem_t;
typedef struct { unsigned gpu, memory; } util_t;
int nvmlInit_v2(void) { return 0; }
int nvmlShutdown(void) { return 0; }
int nvmlDeviceGetCount_v2(unsigned* n) { *n = 1; return 0; }
int nvmlDeviceGetHandleByIndex_v2(unsigned i, void** d) { (void)i; *d = &dev; return 0; }
int nvmlDeviceGetName(void* d, char* name, unsigned len) { (void)d; strncpy(name, "Fake GPU 100W", len); return 0; }
const char* nvmlErrorString(int r) { return r == 15 ? "GPU is lost" : "fake NVML error"; }
int nvmlDeviceGetTotalEnergyConsumption(void* d, unsigned long long* mj) {
  (void)d; if (lost()) return 15; *mj = (unsigned long long)(now_s() * 100000.0); return 0; }
int nvmlDeviceGetPowerUsage(void* d, unsigned* mw) { (void)d; if (lost()) return 15; *mw = 100000; return 0; }
int nvmlDeviceGetMemoryInfo(void* d, mem_t* m) {
  (void)d; if (lost()) return 15; m->total = 80ull << 30; m->used = 1ull << 30; m->free = m->total - m->used; return 0; }
int nvmlDeviceGetUtilizationRates(void* d, util_t* u) { (void)d; if (lost()) return 15; u->gpu = 50; u->memory = 10; return 0; }
)C";

class NvmlFault : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = (fs::temp_directory_path() / ("perfcast-nvml-fault-" + std::to_string(getpid()))).string();
    fs::create_directories(dir_);
    std::ofstream(dir_ + "/fake_nvml.c") << kFakeNvml;
    lib_ = dir_ + "/libfake-nvml.so";
    const std::string cc = "cc -shared -fPIC -O1 -o " + lib_ + " " + dir_ + "/fake_nvml.c 2>&1";
    compiled_ = std::system(cc.c_str()) == 0;
  }
  void SetUp() override {
    ASSERT_TRUE(compiled_) << "the C compiler 'cc' could not build the stand-in NVML (install build-essential)";
    fail_file_ = dir_ + "/lost-" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove(fail_file_);
    setenv("FAKE_NVML_FAIL_FILE", fail_file_.c_str(), 1);
  }
  void TearDown() override { unsetenv("FAKE_NVML_FAIL_FILE"); }

  static inline std::string dir_, lib_;
  static inline bool compiled_ = false;
  std::string fail_file_;
};

TEST_F(NvmlFault, HealthyStandInIsMeasuredByItsCounter) {
  auto nvml = std::make_shared<const NvmlLibrary>(lib_);
  ASSERT_TRUE(nvml->available()) << nvml->unavailable_reason();
  GpuEnergyMeter meter(nvml, std::chrono::milliseconds(20));
  meter.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  const GpuMeasurement m = meter.stop();
  ASSERT_EQ(m.gpus.size(), 1u);
  const GpuEnergy& g = m.gpus[0];
  EXPECT_EQ(g.method, "nvml_total_energy");
  EXPECT_TRUE(g.complete);
  EXPECT_NEAR(g.avg_power_w, 100, 2);
  EXPECT_NEAR(g.energy_j, 100 * m.duration_s, 1);
}

TEST_F(NvmlFault, GpuLostMidRunIsAPartialMeasurementSaidSo) {
  auto nvml = std::make_shared<const NvmlLibrary>(lib_);
  ASSERT_TRUE(nvml->available()) << nvml->unavailable_reason();
  GpuEnergyMeter meter(nvml, std::chrono::milliseconds(20));
  meter.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::ofstream(fail_file_) << "lost";
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  GpuMeasurement m;
  ASSERT_NO_THROW(m = meter.stop());
  ASSERT_TRUE(m.available);
  ASSERT_EQ(m.gpus.size(), 1u);
  const GpuEnergy& g = m.gpus[0];
  // The counter could not be read at the end: power samples up to the failure, flagged incomplete.
  EXPECT_EQ(g.method, "nvml_power_sampling");
  EXPECT_FALSE(g.complete);
  EXPECT_GT(g.covered_s, 0.2);
  EXPECT_LT(g.covered_s, 0.45);
  EXPECT_GT(m.duration_s, 0.55);
  EXPECT_NEAR(g.avg_power_w, 100, 1);  // not diluted over the time NVML was silent
  EXPECT_NEAR(g.energy_j, 100 * g.covered_s, 1);
  EXPECT_NE(g.note.find("NVML stopped answering"), std::string::npos) << g.note;
  EXPECT_NE(g.note.find("lower bound"), std::string::npos) << g.note;
  const auto j = to_json(m);
  EXPECT_FALSE(j["devices"][0]["complete"].get<bool>());
}

TEST_F(NvmlFault, MeasureJsonStaysParseableAndReportsTheLostGpu) {
  const std::string env = "PERFCAST_NVML_LIBRARY=" + lib_ + " FAKE_NVML_FAIL_FILE=" + fail_file_;
  const perfcast::testing::CliRun r = perfcast::testing::run_cli(
      "measure --json -- sh -c 'echo child-output; echo \"{not json\"; sleep 0.3; touch " + fail_file_ +
          "; sleep 0.3'",
      env, /*merge_stderr=*/false);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.find("child-output\n"), std::string::npos) << r.output;  // went to stderr
  nlohmann::json j;
  ASSERT_NO_THROW(j = nlohmann::json::parse(r.output)) << r.output;
  EXPECT_EQ(j["command_stdout"], "stderr");
  ASSERT_TRUE(j["gpu"]["available"].get<bool>());
  const auto& g = j["gpu"]["devices"][0];
  EXPECT_EQ(g["name"], "Fake GPU 100W");
  EXPECT_FALSE(g["complete"].get<bool>());
  EXPECT_NE(g["note"].get<std::string>().find("NVML stopped answering"), std::string::npos) << g.dump();
  // The child's output is on stderr.
  const perfcast::testing::CliRun both = perfcast::testing::run_cli(
      "measure --json -- sh -c 'echo child-output'", "PERFCAST_NVML_LIBRARY=/nonexistent", /*merge_stderr=*/true);
  EXPECT_NE(both.output.find("child-output"), std::string::npos) << both.output;
}

TEST_F(NvmlFault, LostBeforeTheRunLeavesNoGpuFiguresButAReason) {
  std::ofstream(fail_file_) << "lost";
  auto nvml = std::make_shared<const NvmlLibrary>(lib_);
  ASSERT_TRUE(nvml->available());  // init and enumeration still answer
  GpuEnergyMeter meter(nvml, std::chrono::milliseconds(20));
  meter.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const GpuMeasurement m = meter.stop();
  ASSERT_EQ(m.gpus.size(), 1u);
  EXPECT_EQ(m.gpus[0].method, "unavailable");
  EXPECT_EQ(m.gpus[0].energy_j, 0);
  EXPECT_NE(m.gpus[0].note.find("could be read"), std::string::npos) << m.gpus[0].note;
}

}  // namespace
}  // namespace perfcast::measure
