#pragma once
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "dataset/store.h"
#include "hardware/device_catalog.h"

namespace perfcast::measure {

// One profiling job (thesis Algorithm 2): a torchvision model at one batch, precision and mode.
struct ProfileJob {
  std::string model;
  int64_t batch = 1;
  std::string precision = "fp32";  // fp32 | fp16 | bf16 (fp16 runs as bf16 on the CPU)
  std::string mode = "inference";  // inference | training
  std::string device = "cpu";      // cpu | cuda
  int warmup = 2;
  int iterations = 5;
  double cooldown_s = 0;
};

struct ProfileOptions {
  std::string python = "/usr/bin/python3";
  std::string runner;     // run_workload.py; "" = default_runner_path()
  std::string work_dir;   // where job files and exported ONNX go; "" = DB path + ".work"
  std::string cpu_device = "generic-cpu";  // catalog CPU behind the CPU energy estimate without RAPL
};

struct ProfileOutcome {
  ProfileJob job;
  bool skipped = false;         // already in the store
  std::string status;           // ok | oom | error (the stored row's)
  std::optional<double> latency_ms, throughput_per_s, peak_memory_bytes, energy_j, avg_power_w;
  std::string energy_method;
  std::string graph_hash;
  std::string error;
  double wall_s = 0;            // the runner process, model build and ONNX export included
};

// $PERFCAST_RUNNER when set, else python/perfcast_runner/run_workload.py of the source tree.
std::string default_runner_path();

// Every combination, in model, batch, precision, mode order. Throws perfcast::Error on a bad value.
std::vector<ProfileJob> expand_jobs(const std::vector<std::string>& models, const std::vector<int64_t>& batches,
                                    const std::vector<std::string>& precisions, const std::vector<std::string>& modes,
                                    const std::string& device, int warmup, int iterations, double cooldown_s);

// The store's name for the measured device: "cpu:<model name from /proc/cpuinfo>" or the NVML
// name of GPU 0 ("cuda:NVIDIA H100 80GB HBM3"; "cuda:0" without NVML).
std::string profile_device_name(const std::string& device);

constexpr const char* kProfileSource = "perfcast profile";

// Runs one job unless the store already has an ok or oom row for it (an error row is retried):
// the runner in a child process, wrapped by the GPU (NVML) and CPU (RAPL or TDP estimate) energy
// meters; hashes and summarises the exported ONNX graph; stores one row (status ok, oom or error)
// in its own transaction. energy_j is per timed step: the meters' average power over the runner
// process x latency_ms (the process also builds the model and exports the ONNX).
ProfileOutcome profile_job(dataset::Store& store, const ProfileJob& job, const ProfileOptions& options,
                           const hardware::DeviceCatalog& catalog);

}  // namespace perfcast::measure
