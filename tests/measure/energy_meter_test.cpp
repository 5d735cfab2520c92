// The energy meter without NVIDIA hardware: the missing-NVML path, RAPL against a fake powercap
// tree, the TDP x utilisation estimate, and trapezoidal integration.
#include "measure/energy_meter.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "hardware/device_catalog.h"
#include "measure/nvml_library.h"
#include "measure/process_runner.h"
#include "support/test_helpers.h"

namespace perfcast::measure {
namespace {

namespace fs = std::filesystem;

TEST(MeasureNvml, MissingLibraryGivesTheReason) {
  NvmlLibrary nvml("/nonexistent/libnvidia-ml.so.1");
  EXPECT_FALSE(nvml.available());
  EXPECT_NE(nvml.unavailable_reason().find("NVML not available: /nonexistent/libnvidia-ml.so.1 not found"),
            std::string::npos)
      << nvml.unavailable_reason();
  EXPECT_TRUE(nvml.gpus().empty());
  EXPECT_FALSE(nvml.total_energy_mj(0));
  EXPECT_FALSE(nvml.power_mw(0));
  EXPECT_FALSE(nvml.memory(0));
  EXPECT_FALSE(nvml.utilization(0));
  EXPECT_FALSE(nvml.clock_mhz(0, NvmlLibrary::Clock::kSm));
  EXPECT_EQ(nvml.error_string(3), "NVML error 3");
}

TEST(MeasureNvml, EnvironmentVariableOverridesThePath) {
  const char* old = std::getenv("PERFCAST_NVML_LIBRARY");
  const std::string saved = old ? old : "";
  setenv("PERFCAST_NVML_LIBRARY", "/nonexistent", 1);
  EXPECT_EQ(NvmlLibrary::default_path(), "/nonexistent");
  GpuEnergyMeter meter;  // opens NvmlLibrary::default_path()
  EXPECT_FALSE(meter.available());
  meter.start();
  const GpuMeasurement m = meter.stop();
  EXPECT_FALSE(m.available);
  EXPECT_TRUE(m.gpus.empty());
  EXPECT_EQ(m.total_energy_j(), 0);
  EXPECT_NE(m.reason.find("NVML not available: /nonexistent not found"), std::string::npos) << m.reason;
  if (old) {
    setenv("PERFCAST_NVML_LIBRARY", saved.c_str(), 1);
  } else {
    unsetenv("PERFCAST_NVML_LIBRARY");
  }
  EXPECT_EQ(NvmlLibrary::default_path(), old ? saved : std::string("libnvidia-ml.so.1"));
}

TEST(MeasureNvml, LibraryWithoutNvmlSymbolsIsRejected) {
  NvmlLibrary nvml("libc.so.6");  // loads, but is not NVML
  EXPECT_FALSE(nvml.available());
  EXPECT_NE(nvml.unavailable_reason().find("has no nvmlInit_v2"), std::string::npos) << nvml.unavailable_reason();
}

TEST(EnergyMeter, TrapezoidalIntegration) {
  EXPECT_EQ(integrate_trapezoid({}), 0);
  EXPECT_EQ(integrate_trapezoid({{0, 100}}), 0);
  // 100 W for 1 s, then a ramp 100 -> 300 W over 2 s: 100 + 400 J.
  EXPECT_DOUBLE_EQ(integrate_trapezoid({{0, 100}, {1, 100}, {3, 300}}), 500);
  EXPECT_DOUBLE_EQ(integrate_trapezoid({{0.0, 50}, {0.1, 70}, {0.25, 70}}), 0.1 * 60 + 0.15 * 70);
}

TEST(EnergyMeter, StopWithoutStartIsAnError) {
  GpuEnergyMeter meter(std::make_shared<const NvmlLibrary>("/nonexistent"));
  EXPECT_NE(testing::error_of([&] { meter.stop(); }).find("without start"), std::string::npos);
}

// A fake /sys/class/powercap: two packages, a core subdomain listed at top level (as sysfs does)
// and psys, which must not be counted.
class RaplTree : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("perfcast_rapl_" + std::to_string(getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    domain("intel-rapl:0", "package-0", 1000000, 262143328850);
    domain("intel-rapl:0:0", "core", 500000, 262143328850);
    domain("intel-rapl:1", "psys", 7000000, 262143328850);
    domain("intel-rapl:2", "package-1", 262143000000, 262143328850);
  }
  void TearDown() override { fs::remove_all(root_); }

  void domain(const std::string& dir, const std::string& name, std::uint64_t energy, std::uint64_t range) {
    fs::create_directories(root_ / dir);
    std::ofstream(root_ / dir / "name") << name << "\n";
    std::ofstream(root_ / dir / "max_energy_range_uj") << range << "\n";
    set_energy(dir, energy);
  }
  void set_energy(const std::string& dir, std::uint64_t energy) {
    std::ofstream(root_ / dir / "energy_uj") << energy << "\n";
  }

  fs::path root_;
};

TEST_F(RaplTree, ReadsPackageDomainsOnly) {
  RaplReader rapl(root_.string());
  ASSERT_TRUE(rapl.available()) << rapl.unavailable_reason();
  ASSERT_EQ(rapl.domains().size(), 2u);
  EXPECT_EQ(rapl.domains()[0].name, "package-0");
  EXPECT_EQ(rapl.domains()[1].name, "package-1");
  EXPECT_EQ(rapl.domains()[1].max_energy_range_uj, 262143328850u);
  EXPECT_EQ(rapl.read(), (std::vector<std::uint64_t>{1000000, 262143000000}));
}

TEST_F(RaplTree, CpuMeterAddsPackagesAcrossAWrapAround) {
  const auto catalog = hardware::DeviceCatalog::load();
  CpuEnergyMeter meter(catalog.get("generic-cpu"), root_.string(), 2);
  ASSERT_TRUE(meter.rapl_available());
  meter.start();
  set_energy("intel-rapl:0", 3500000);      // +2.5 J
  set_energy("intel-rapl:0:0", 9000000);    // subdomain: not counted
  set_energy("intel-rapl:1", 99000000);     // psys: not counted
  set_energy("intel-rapl:2", 1000000);      // wrapped: 328850 + 1000000 uJ = 1.32885 J
  const CpuEnergy e = meter.stop();
  EXPECT_EQ(e.method, "rapl");
  EXPECT_FALSE(e.estimated);
  EXPECT_NEAR(e.energy_j, 2.5 + 1.32885, 1e-9);
  EXPECT_EQ(e.domains, (std::vector<std::string>{"package-0", "package-1"}));
  EXPECT_FALSE(e.utilisation);
}

TEST(RaplReader, DeltaHandlesWrapAround) {
  EXPECT_EQ(rapl_delta_uj(100, 250, 1000), 150u);
  EXPECT_EQ(rapl_delta_uj(900, 50, 1000), 150u);
  EXPECT_EQ(rapl_delta_uj(900, 50, 0), 50u);  // range unknown
}

TEST(RaplReader, MissingPowercapSaysWhy) {
  RaplReader rapl("/nonexistent/powercap");
  EXPECT_FALSE(rapl.available());
  EXPECT_NE(rapl.unavailable_reason().find("no powercap interface at /nonexistent/powercap"), std::string::npos)
      << rapl.unavailable_reason();
}

TEST_F(RaplTree, NoPackageDomainSaysWhy) {
  fs::remove_all(root_ / "intel-rapl:0");
  fs::remove_all(root_ / "intel-rapl:2");
  RaplReader rapl(root_.string());
  EXPECT_FALSE(rapl.available());
  EXPECT_NE(rapl.unavailable_reason().find("no package domain"), std::string::npos) << rapl.unavailable_reason();
}

TEST(MeasureCpuEstimate, BusyChildGivesTdpTimesUtilisation) {
  const auto catalog = hardware::DeviceCatalog::load();
  const hardware::Device& cpu = catalog.get("generic-cpu");
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  CpuEnergyMeter meter(cpu, "/nonexistent/powercap", cores);
  EXPECT_FALSE(meter.rapl_available());
  meter.start();
  const RunResult run =
      run_command({"sh", "-c", "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done"});
  const CpuEnergy e = meter.stop();
  ASSERT_EQ(run.exit_code, 0);
  EXPECT_EQ(e.method, "estimate_tdp_x_utilisation");
  EXPECT_TRUE(e.estimated);
  EXPECT_EQ(e.device_id, "generic-cpu");
  EXPECT_EQ(e.tdp_w, cpu.tdp_w);
  EXPECT_EQ(e.cores, cores);
  ASSERT_TRUE(e.utilisation);
  EXPECT_GT(*e.utilisation, 0);
  EXPECT_LE(*e.utilisation, 1.0);
  EXPECT_GT(e.cpu_time_s, 0.05);  // 300k shell iterations take well over 50 ms of CPU
  EXPECT_NEAR(*e.utilisation, std::min(1.0, e.cpu_time_s / e.duration_s / cores), 1e-12);
  EXPECT_NEAR(e.energy_j, cpu.tdp_w * *e.utilisation * e.duration_s, 1e-9);
  // The meter's window encloses the child's run; a single-threaded child uses at most one core.
  EXPECT_GE(e.duration_s, run.wall_s);
  EXPECT_LE(*e.utilisation, 1.0 / cores + 0.05);
  EXPECT_NE(e.note.find("ESTIMATE"), std::string::npos) << e.note;
}

}  // namespace
}  // namespace perfcast::measure
