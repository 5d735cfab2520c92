#include "measure/profiler.h"

#include <fmt/format.h>
#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/error.h"
#include "graph/graph_summary.h"
#include "graph/onnx_import.h"
#include "measure/energy_meter.h"
#include "measure/process_runner.h"

namespace perfcast::measure {
namespace fs = std::filesystem;

std::string default_runner_path() {
  const char* env = std::getenv("PERFCAST_RUNNER");
  if (env && *env) return env;
  return (fs::path(PERFCAST_DATA_DIR).parent_path() / "python/perfcast_runner/run_workload.py").string();
}

std::vector<ProfileJob> expand_jobs(const std::vector<std::string>& models, const std::vector<int64_t>& batches,
                                    const std::vector<std::string>& precisions, const std::vector<std::string>& modes,
                                    const std::string& device, int warmup, int iterations, double cooldown_s) {
  if (models.empty()) throw Error("no models to profile (--models resnet18,mobilenet_v2)");
  if (device != "cpu" && device != "cuda") throw Error(fmt::format("--device '{}' is not cpu or cuda", device));
  if (iterations < 1) throw Error("--iterations must be at least 1");
  if (warmup < 0 || cooldown_s < 0) throw Error("--warmup and --cooldown must not be negative");
  for (auto b : batches) {
    if (b < 1) throw Error(fmt::format("batch {} must be at least 1", b));
  }
  for (const auto& p : precisions) {
    if (p != "fp32" && p != "fp16" && p != "bf16") throw Error(fmt::format("precision '{}' is not fp32, fp16 or bf16", p));
  }
  for (const auto& m : modes) {
    if (m != "inference" && m != "training") throw Error(fmt::format("mode '{}' is not inference or training", m));
  }
  std::vector<ProfileJob> jobs;
  for (const auto& m : models)
    for (auto b : batches)
      for (const auto& p : precisions)
        for (const auto& mode : modes) jobs.push_back({m, b, p, mode, device, warmup, iterations, cooldown_s});
  return jobs;
}

std::string profile_device_name(const std::string& device) {
  if (device == "cuda") {
    NvmlLibrary nvml;
    if (nvml.available() && !nvml.gpus().empty()) return "cuda:" + nvml.gpus()[0].name;
    return "cuda:0";
  }
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      auto colon = line.find(':');
      std::string name = colon == std::string::npos ? line : line.substr(colon + 1);
      name.erase(0, name.find_first_not_of(" \t"));
      return "cpu:" + name;
    }
  }
  return "cpu:unknown";
}

namespace {

std::string who() {
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  std::string user;
  if (const char* env = std::getenv("USER"); env && *env) user = env;
  if (user.empty()) {
    if (const passwd* pw = getpwuid(geteuid())) user = pw->pw_name;  // batch jobs may run without $USER
  }
  return fmt::format("{}@{}", user.empty() ? "unknown" : user, host);
}

// "Slurm job 12_1 (array task of campaign shard 1)" inside a Slurm job, else "".
std::string slurm_job() {
  const char* job = std::getenv("SLURM_JOB_ID");
  if (!job || !*job) return "";
  const char* array_job = std::getenv("SLURM_ARRAY_JOB_ID");
  const char* task = std::getenv("SLURM_ARRAY_TASK_ID");
  if (array_job && *array_job && task && *task) return fmt::format("Slurm job {}_{}", array_job, task);
  return fmt::format("Slurm job {}", job);
}

std::optional<double> opt_number(const nlohmann::json& j, const char* key) {
  if (j.contains(key) && j[key].is_number()) return j[key].get<double>();
  return std::nullopt;
}

}  // namespace

ProfileOutcome profile_job(dataset::Store& store, const ProfileJob& job, const ProfileOptions& options,
                           const hardware::DeviceCatalog& catalog) {
  ProfileOutcome out;
  out.job = job;
  const std::string device_name = profile_device_name(job.device);
  const nlohmann::json spec = {{"host", who()}, {"cores", static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN))}};
  const int64_t device_id = store.upsert_device({device_name, job.device == "cuda" ? "gpu" : "cpu", "", spec.dump()});
  dataset::ConfigurationRecord conf;
  conf.model = job.model;
  conf.batch = job.batch;
  conf.precision = job.precision;
  conf.mode = job.mode;
  const int64_t conf_id = store.upsert_configuration(conf);
  if (auto status = store.measurement_status(conf_id, device_id, kProfileSource, "")) {
    if (*status != "error") {
      out.skipped = true;
      out.status = *status;
      return out;
    }
    store.delete_measurement(conf_id, device_id, kProfileSource, "");  // retry a failed job
  }

  const std::string work = options.work_dir.empty() ? store.path() + ".work" : options.work_dir;
  fs::create_directories(work);
  const std::string stem = fmt::format("{}-b{}-{}-{}-{}", job.model, job.batch, job.precision, job.mode, job.device);
  const std::string job_path = work + "/" + stem + ".job.json";
  const std::string result_path = work + "/" + stem + ".result.json";
  const std::string onnx_path = work + "/" + job.model + ".onnx";
  fs::remove(result_path);
  {
    const nlohmann::json j = {{"task", "workload"}, {"model", job.model},         {"batch", job.batch},
                              {"precision", job.precision}, {"mode", job.mode}, {"device", job.device},
                              {"warmup", job.warmup}, {"iterations", job.iterations},
                              {"cooldown_s", job.cooldown_s}, {"onnx_path", onnx_path}};
    std::ofstream f(job_path);
    f << j.dump(2) << "\n";
    if (!f) throw Error(fmt::format("cannot write '{}'", job_path));
  }

  const hardware::Device& cpu_device = catalog.get(options.cpu_device);
  GpuEnergyMeter gpu_meter;
  CpuEnergyMeter cpu_meter(cpu_device);
  gpu_meter.start();
  cpu_meter.start();
  RunResult run;
  try {
    run = run_command({options.python, options.runner.empty() ? default_runner_path() : options.runner, job_path,
                       result_path});
  } catch (...) {
    gpu_meter.stop();
    throw;
  }
  const CpuEnergy cpu = cpu_meter.stop();
  const GpuMeasurement gpu = gpu_meter.stop();
  out.wall_s = run.wall_s;
  if (run.forwarded_signal) {
    // Ctrl-C or scancel, not a failure of the workload: store nothing for this job and stop the sweep.
    throw Error(fmt::format("interrupted by signal {} while profiling {} batch {}: that job was not stored; every "
                            "finished job is, and running the same command again resumes",
                            run.forwarded_signal, job.model, job.batch));
  }

  nlohmann::json result;
  {
    std::ifstream f(result_path);
    if (f) {
      try {
        result = nlohmann::json::parse(f);
      } catch (const std::exception& e) {
        result = {{"status", "error"}, {"error", fmt::format("unreadable runner result: {}", e.what())}};
      }
    } else {
      result = {{"status", "error"},
                {"error", fmt::format("runner exited with code {}{} and wrote no result", run.exit_code,
                                      run.signaled ? fmt::format(" (signal {})", run.signal) : "")}};
    }
  }

  dataset::MeasurementRecord m;
  m.configuration_id = conf_id;
  m.device_id = device_id;
  m.status = result.value("status", std::string("error"));
  if (m.status != "ok" && m.status != "oom") m.status = "error";
  m.error = result.value("error", std::string());
  if (m.status == "oom") m.error = fmt::format("out of memory at batch {}: {}", job.batch, m.error);
  if (m.status != "ok" && m.error.empty()) m.error = "runner reported failure without a message";
  std::vector<std::string> notes;
  if (m.status == "ok") {
    m.latency_ms = opt_number(result, "latency_ms");
    m.throughput_per_s = opt_number(result, "throughput_per_s");
    m.peak_memory_bytes = opt_number(result, "peak_memory_bytes");
    if (result.value("precision", job.precision) != job.precision) {
      notes.push_back(fmt::format("ran as {} (requested {})", result.value("precision", std::string()), job.precision));
    }
    notes.push_back(fmt::format("{} warm-up + {} timed steps; peak memory: {}", job.warmup, job.iterations,
                                result.value("peak_memory_method", std::string("?"))));
  }
  // Power: the GPU (NVML) for cuda jobs, the CPU package (RAPL or estimate) for cpu jobs.
  double power = 0;
  if (job.device == "cuda" && gpu.available && !gpu.gpus.empty()) {
    power = gpu.gpus[0].avg_power_w;
    out.energy_method = gpu.gpus[0].method;
  } else {
    power = cpu.avg_power_w > 0 ? cpu.avg_power_w : (run.wall_s > 0 ? cpu.energy_j / run.wall_s : 0);
    out.energy_method = cpu.method + (cpu.estimated ? " (ESTIMATED)" : "");
  }
  if (job.device == "cuda" && gpu.available && !gpu.gpus.empty() && !gpu.gpus[0].complete) {
    notes.push_back(gpu.gpus[0].note);
  }
  if (const std::string slurm = slurm_job(); !slurm.empty()) notes.push_back(slurm);
  if (power > 0) {
    m.avg_power_w = power;
    if (m.latency_ms) m.energy_j = power * *m.latency_ms / 1000.0;
  }
  notes.push_back(fmt::format("energy: {}, average over the runner process ({:.1f} s) x step latency",
                              out.energy_method, run.wall_s));
  for (size_t i = 0; i < notes.size(); ++i) m.notes += (i ? "; " : "") + notes[i];
  m.provenance = {kProfileSource, "", who(), dataset::now_iso8601(), "pytorch",
                  result.value("framework_version", std::string()),
                  job.device == "cuda" ? result.value("device_name", std::string()) : "", dataset::perfcast_version()};

  dataset::Store::Transaction tx(store);
  if (m.status == "ok" && fs::exists(onnx_path)) {
    dataset::GraphRecord g;
    g.hash = dataset::hash_file(onnx_path);
    g.onnx_path = onnx_path;
    try {
      graph::ImportOptions io;
      io.batch = 1;
      const graph::GraphSummary s = graph::summarize(graph::import_onnx(onnx_path, io));
      g.nodes = s.nodes;
      g.macs = s.macs;
      g.params = s.params;
    } catch (const Error& e) {
      m.notes += fmt::format("; graph not summarised: {}", e.what());
    }
    out.graph_hash = g.hash;
    store.set_configuration_graph(conf_id, store.upsert_graph(g));
  }
  store.add_measurement(m);
  tx.commit();
  out.status = m.status;
  out.latency_ms = m.latency_ms;
  out.throughput_per_s = m.throughput_per_s;
  out.peak_memory_bytes = m.peak_memory_bytes;
  out.energy_j = m.energy_j;
  out.avg_power_w = m.avg_power_w;
  out.error = m.error;
  return out;
}

}  // namespace perfcast::measure
