#pragma once
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "hardware/device.h"
#include "measure/nvml_library.h"

namespace perfcast::measure {

// Energy of (time s, power W) samples by the trapezoidal rule, in joules. Samples in time order.
double integrate_trapezoid(const std::vector<std::pair<double, double>>& samples);

// ---------------------------------------------------------------- GPU

struct GpuEnergy {
  unsigned index = 0;
  std::string name;
  double energy_j = 0;
  std::string method;           // "nvml_total_energy" | "nvml_power_sampling" | "unavailable"
  double avg_power_w = 0;
  double peak_memory_bytes = 0; // highest memory used seen (whole GPU, all processes)
  double memory_total_bytes = 0;
  int samples = 0;              // background samples taken
  std::optional<double> avg_gpu_utilization_pct;  // nullopt when not reported (MIG)
  std::optional<double> max_sm_clock_mhz;
  std::optional<double> max_memory_clock_mhz;
  bool mig_enabled = false;
  std::string note;             // MIG: "whole GPU, shared by all MIG instances"; why unavailable
  // False when NVML stopped answering during the run (GPU lost, driver failure): energy_j then
  // covers only the first covered_s seconds (a lower bound) and avg_power_w is over that span.
  bool complete = true;
  double covered_s = 0;
};

struct GpuMeasurement {
  bool available = false;
  std::string reason;  // why no GPU was measured, when none was
  double duration_s = 0;
  std::vector<GpuEnergy> gpus;
  double total_energy_j() const;
};

// Measures every GPU NVML enumerates between start() and stop(): from the total energy counter
// where the GPU has one (Volta and newer), otherwise by integrating power samples taken by a
// background thread every `interval` (trapezoidal rule). Memory used, utilisation and clocks are
// sampled either way. Without NVML, stop() returns available = false and the reason.
class GpuEnergyMeter {
 public:
  explicit GpuEnergyMeter(std::shared_ptr<const NvmlLibrary> nvml = nullptr,
                          std::chrono::milliseconds interval = std::chrono::milliseconds(100));
  ~GpuEnergyMeter();
  GpuEnergyMeter(const GpuEnergyMeter&) = delete;
  GpuEnergyMeter& operator=(const GpuEnergyMeter&) = delete;

  bool available() const { return nvml_->available(); }
  const std::string& unavailable_reason() const { return nvml_->unavailable_reason(); }

  void start();
  GpuMeasurement stop();

 private:
  struct Track {
    std::optional<std::uint64_t> energy_start_mj;
    std::vector<std::pair<double, double>> power;  // (s since start, W)
    double peak_memory = 0, memory_total = 0;
    double utilization_sum = 0;
    int utilization_samples = 0;
    std::optional<double> max_sm_clock, max_mem_clock;
    int samples = 0;
  };
  void sample(double t);
  void loop();

  std::shared_ptr<const NvmlLibrary> nvml_;
  std::chrono::milliseconds interval_;
  std::chrono::steady_clock::time_point start_;
  std::vector<Track> tracks_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool running_ = false;
};

// ---------------------------------------------------------------- CPU

// Package energy counters of the Linux powercap RAPL interface:
// ROOT/intel-rapl:N/{name,energy_uj,max_energy_range_uj} (AMD CPUs use the same names). Only the
// top-level "package-*" domains are read; their subdomains (core, uncore, dram) and psys are not
// added, so nothing is counted twice.
class RaplReader {
 public:
  explicit RaplReader(std::string powercap_root = "/sys/class/powercap");

  bool available() const { return !domains_.empty(); }
  const std::string& unavailable_reason() const { return reason_; }

  struct Domain {
    std::string dir;   // ROOT/intel-rapl:0
    std::string name;  // package-0
    std::uint64_t max_energy_range_uj = 0;
  };
  const std::vector<Domain>& domains() const { return domains_; }

  // energy_uj of each domain, in domains() order. Throws perfcast::Error when one is unreadable.
  std::vector<std::uint64_t> read() const;

 private:
  std::string root_;
  std::vector<Domain> domains_;
  std::string reason_;
};

// after - before of a counter that wraps to 0 past max_range (max_energy_range_uj).
std::uint64_t rapl_delta_uj(std::uint64_t before, std::uint64_t after, std::uint64_t max_range);

struct CpuEnergy {
  double energy_j = 0;
  std::string method;  // "rapl" | "estimate_tdp_x_utilisation"
  bool estimated = false;
  double avg_power_w = 0;
  double duration_s = 0;
  std::vector<std::string> domains;       // RAPL domains read
  std::string device_id;                  // catalog CPU behind an estimate
  double tdp_w = 0;
  std::optional<double> utilisation;      // estimate: CPU time of the children / wall / cores
  double cpu_time_s = 0;                  // user + system time of the waited-for children
  int cores = 0;
  std::string note;                       // why RAPL was not used, how the estimate was made
};

// CPU energy between start() and stop(): RAPL package energy when readable, otherwise an
// estimate: the catalog CPU's TDP x the utilisation of this process's waited-for children
// (getrusage(RUSAGE_CHILDREN) user + system time / wall time / cores), marked estimated = true.
class CpuEnergyMeter {
 public:
  // cores = 0: std::thread::hardware_concurrency().
  explicit CpuEnergyMeter(hardware::Device cpu, std::string powercap_root = "/sys/class/powercap", int cores = 0);

  bool rapl_available() const { return rapl_.available(); }
  const std::string& rapl_unavailable_reason() const { return rapl_.unavailable_reason(); }

  void start();
  CpuEnergy stop();

 private:
  hardware::Device cpu_;
  RaplReader rapl_;
  int cores_;
  std::chrono::steady_clock::time_point start_;
  std::vector<std::uint64_t> rapl_start_;
  double children_cpu_start_s_ = 0;
  bool use_rapl_ = false;
  std::string rapl_failure_;
};

nlohmann::json to_json(const GpuMeasurement& m);
nlohmann::json to_json(const CpuEnergy& e);

}  // namespace perfcast::measure
