#include "measure/characterize.h"

#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>
#include <unistd.h>

#include "common/error.h"
#include "dataset/store.h"
#include "measure/nvml_library.h"
#include "measure/process_runner.h"
#include "measure/profiler.h"

namespace perfcast::measure {
namespace fs = std::filesystem;

namespace {
std::string toml_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') { out += "\\n"; continue; }
    out += c;
  }
  return out + "\"";
}
}  // namespace

Characterization characterization_from_json(const nlohmann::json& r) {
  if (r.value("status", std::string()) != "ok") {
    throw Error(fmt::format("characterisation failed: {}", r.value("error", std::string("no result"))));
  }
  Characterization c;
  c.device = r.value("device", std::string("cpu"));
  c.device_name = r.value("device_name", std::string("unknown"));
  c.host = r.value("host", std::string());
  c.torch_version = r.value("framework_version", std::string());
  c.compute_units = r.value("compute_units", 0);
  c.threads = r.value("threads", 0);
  c.memory_bytes = r.value("memory_bytes", 0.0);
  c.bandwidth_bytes_per_s = r.value("bandwidth_bytes_per_s", 0.0);
  if (r.contains("gemm")) {
    for (const auto& [p, v] : r["gemm"].items()) {
      const double f = v.value("best_flops", 0.0);
      if (f > 0) c.peak_flops[p] = f;
    }
  }
  if (c.peak_flops.count("fp32") == 0) throw Error("characterisation failed: no fp32 GEMM rate measured");
  if (c.bandwidth_bytes_per_s <= 0) throw Error("characterisation failed: no memory bandwidth measured");
  c.date = dataset::now_iso8601().substr(0, 10);
  return c;
}

Characterization characterize(const CharacterizeOptions& options) {
  if (options.device != "cpu" && options.device != "cuda") {
    throw Error(fmt::format("--device '{}' is not cpu or cuda", options.device));
  }
  std::optional<double> idle;
  std::string idle_note;
  if (options.device == "cuda") {
    NvmlLibrary nvml;
    if (nvml.available() && !nvml.gpus().empty()) {
      double sum = 0;
      int n = 0;
      for (int i = 0; i < 10; ++i) {
        if (auto mw = nvml.power_mw(0)) {
          sum += *mw / 1000.0;
          ++n;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      if (n) idle = sum / n;
      else idle_note = "NVML reports no power for GPU 0";
    } else {
      idle_note = nvml.unavailable_reason();
    }
  } else {
    idle_note = "CPU idle power is not measured (RAPL would include other load)";
  }
  const fs::path dir = fs::temp_directory_path() / fmt::format("perfcast-characterize-{}", getpid());
  fs::create_directories(dir);
  const std::string job = (dir / "job.json").string(), result = (dir / "result.json").string();
  {
    std::ofstream f(job);
    f << nlohmann::json{{"task", "characterize"}, {"device", options.device}, {"quick", options.quick}}.dump();
  }
  const RunResult run =
      run_command({options.python, options.runner.empty() ? default_runner_path() : options.runner, job, result});
  nlohmann::json r;
  std::ifstream in(result);
  if (!in) {
    fs::remove_all(dir);
    throw Error(fmt::format("characterisation runner exited with code {} and wrote no result", run.exit_code));
  }
  r = nlohmann::json::parse(in, nullptr, false);
  fs::remove_all(dir);
  Characterization c = characterization_from_json(r);
  c.idle_power_w = idle;
  c.idle_power_note = idle_note;
  return c;
}

std::string characterization_toml(const Characterization& c, const std::string& id, double fallback_tdp_w,
                                  double fallback_idle_w) {
  const std::string source = fmt::format("measured by perfcast characterize on {}, {}, torch {}", c.date,
                                         c.host.empty() ? "unknown host" : c.host, c.torch_version);
  const bool gpu = c.device == "cuda";
  std::string t;
  t += "schema_version = 1\n";
  t += fmt::format("id = {}\n", toml_string(id));
  t += fmt::format("name = {}\n", toml_string(c.device_name + (gpu ? "" : " (this machine)")));
  t += fmt::format("kind = \"{}\"\n", gpu ? "gpu" : "cpu");
  std::string vendor = "unknown";
  for (const char* v : {"nvidia", "amd", "intel"}) {
    std::string lower = c.device_name;
    for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (lower.find(v) != std::string::npos) vendor = v;
  }
  if (gpu && vendor == "unknown") vendor = "nvidia";
  t += fmt::format("vendor = \"{}\"\n", vendor == "unknown" ? (gpu ? "nvidia" : "intel") : vendor);
  t += "architecture = \"measured\"\n";
  t += fmt::format("source = {}\n", toml_string(source));
  t += fmt::format("notes = {}\n\n",
                   toml_string(fmt::format("Measured with {} torch thread(s); the rates are what PyTorch reached "
                                           "(best GEMM of several sizes), not the datasheet peak.",
                                           c.threads)));
  t += "[compute]\n";
  for (const auto& [p, f] : c.peak_flops) t += fmt::format("{}_tflops = {:.6g}\n", p, f / 1e12);
  if (c.compute_units > 0) t += fmt::format("sm_count = {}\n", c.compute_units);
  std::string per;
  for (const auto& [p, f] : c.peak_flops) per += fmt::format("{}{} {:.4g} TFLOP/s", per.empty() ? "" : ", ", p, f / 1e12);
  t += fmt::format("source = {}\n\n", toml_string(source + ": best torch.matmul of square sizes: " + per));
  t += "[memory]\n";
  t += fmt::format("capacity_gib = {:.4g}\n", c.memory_bytes > 0 ? c.memory_bytes / (1024.0 * 1024 * 1024) : 1.0);
  t += fmt::format("bandwidth_gb_s = {:.4g}\n", c.bandwidth_bytes_per_s / 1e9);
  t += fmt::format("source = {}\n\n",
                   toml_string(source + ": bandwidth = (bytes read + bytes written) / time of a large tensor copy; "
                                        "capacity from " + (gpu ? "torch.cuda device properties" : "sysconf physical pages")));
  t += "[power]\n";
  t += fmt::format("tdp_w = {:.4g}\n", fallback_tdp_w);
  const double idle = c.idle_power_w ? std::min(*c.idle_power_w, fallback_tdp_w) : fallback_idle_w;
  t += fmt::format("idle_w = {:.4g}\n", idle);
  t += fmt::format("source = {}\n",
                   toml_string((c.idle_power_w ? source + ": idle_w = NVML power averaged over 1 s before the run. "
                                               : "idle_w ASSUMED (not measured: " + c.idle_power_note + "). ") +
                               "tdp_w ASSUMED (not measurable), copied from the fallback catalog device."));
  return t;
}

}  // namespace perfcast::measure
