#include "measure/energy_meter.h"

#include <fmt/format.h>
#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "common/error.h"

namespace perfcast::measure {

double integrate_trapezoid(const std::vector<std::pair<double, double>>& samples) {
  double joules = 0;
  for (size_t i = 1; i < samples.size(); ++i) {
    const double dt = samples[i].first - samples[i - 1].first;
    if (dt > 0) joules += 0.5 * (samples[i].second + samples[i - 1].second) * dt;
  }
  return joules;
}

// ---------------------------------------------------------------- GPU

double GpuMeasurement::total_energy_j() const {
  double j = 0;
  for (const auto& g : gpus) j += g.energy_j;
  return j;
}

GpuEnergyMeter::GpuEnergyMeter(std::shared_ptr<const NvmlLibrary> nvml, std::chrono::milliseconds interval)
    : nvml_(nvml ? std::move(nvml) : std::make_shared<const NvmlLibrary>()),
      interval_(interval.count() > 0 ? interval : std::chrono::milliseconds(100)) {}

GpuEnergyMeter::~GpuEnergyMeter() {
  if (thread_.joinable()) {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }
}

void GpuEnergyMeter::sample(double t) {
  for (size_t i = 0; i < tracks_.size(); ++i) {
    Track& tr = tracks_[i];
    const auto index = static_cast<unsigned>(i);
    if (auto mw = nvml_->power_mw(index)) tr.power.emplace_back(t, *mw / 1000.0);
    if (auto m = nvml_->memory(index)) {
      tr.peak_memory = std::max(tr.peak_memory, static_cast<double>(m->used));
      tr.memory_total = static_cast<double>(m->total);
    }
    if (auto u = nvml_->utilization(index)) {
      tr.utilization_sum += u->gpu;
      ++tr.utilization_samples;
    }
    if (auto c = nvml_->clock_mhz(index, NvmlLibrary::Clock::kSm)) {
      tr.max_sm_clock = std::max(tr.max_sm_clock.value_or(0), static_cast<double>(*c));
    }
    if (auto c = nvml_->clock_mhz(index, NvmlLibrary::Clock::kMemory)) {
      tr.max_mem_clock = std::max(tr.max_mem_clock.value_or(0), static_cast<double>(*c));
    }
    ++tr.samples;
  }
}

void GpuEnergyMeter::loop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    if (wake_.wait_for(lock, interval_, [this] { return stopping_; })) break;
    lock.unlock();
    sample(std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
    lock.lock();
  }
}

void GpuEnergyMeter::start() {
  if (running_) throw Error("GpuEnergyMeter::start called twice without stop");
  running_ = true;
  tracks_.assign(nvml_->available() ? nvml_->gpus().size() : 0, Track{});
  if (tracks_.empty()) return;
  for (size_t i = 0; i < tracks_.size(); ++i) {
    if (nvml_->gpus()[i].energy_counter) tracks_[i].energy_start_mj = nvml_->total_energy_mj(static_cast<unsigned>(i));
  }
  start_ = std::chrono::steady_clock::now();
  sample(0);
  stopping_ = false;
  thread_ = std::thread([this] { loop(); });
}

GpuMeasurement GpuEnergyMeter::stop() {
  if (!running_) throw Error("GpuEnergyMeter::stop called without start");
  running_ = false;
  GpuMeasurement result;
  result.available = nvml_->available();
  result.reason = nvml_->unavailable_reason();
  if (tracks_.empty()) return result;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  const double duration = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  sample(duration);
  result.duration_s = duration;

  for (size_t i = 0; i < tracks_.size(); ++i) {
    const Track& tr = tracks_[i];
    const NvmlLibrary::GpuInfo& info = nvml_->gpus()[i];
    GpuEnergy g;
    g.index = info.index;
    g.name = info.name;
    g.peak_memory_bytes = tr.peak_memory;
    g.memory_total_bytes = tr.memory_total;
    g.samples = tr.samples;
    g.mig_enabled = info.mig_enabled;
    if (tr.utilization_samples > 0) g.avg_gpu_utilization_pct = tr.utilization_sum / tr.utilization_samples;
    g.max_sm_clock_mhz = tr.max_sm_clock;
    g.max_memory_clock_mhz = tr.max_mem_clock;
    std::vector<std::string> notes;
    std::optional<std::uint64_t> end_mj;
    if (tr.energy_start_mj) end_mj = nvml_->total_energy_mj(static_cast<unsigned>(i));
    if (tr.energy_start_mj && end_mj && *end_mj >= *tr.energy_start_mj) {
      g.method = "nvml_total_energy";
      g.covered_s = duration;
      g.energy_j = static_cast<double>(*end_mj - *tr.energy_start_mj) / 1000.0;
      g.avg_power_w = duration > 0 ? g.energy_j / duration : 0;
    } else if (tr.power.size() >= 2) {
      g.method = "nvml_power_sampling";
      g.energy_j = integrate_trapezoid(tr.power);
      // stop() samples at `duration`: a last power sample before it means NVML stopped answering.
      const double covered = tr.power.back().first - tr.power.front().first;
      g.covered_s = covered;
      g.complete = tr.power.back().first >= duration;
      g.avg_power_w = covered > 0 ? g.energy_j / covered : tr.power.back().second;
      if (tr.energy_start_mj) {
        notes.push_back(fmt::format("the total energy counter could not be read at the end; energy integrated from {} "
                                    "power samples every {} ms",
                                    tr.power.size(), interval_.count()));
      } else {
        notes.push_back(fmt::format(
            "no total energy counter ({}); energy integrated from {} power samples every {} ms",
            info.energy_counter_error.empty() ? "counter read failed" : info.energy_counter_error, tr.power.size(),
            interval_.count()));
      }
      if (!g.complete) {
        notes.push_back(fmt::format("NVML stopped answering {:.2f} s into the {:.2f} s run (GPU lost or driver "
                                    "failure): energy covers only those {:.2f} s (a lower bound), average power is "
                                    "over them",
                                    tr.power.back().first, duration, covered));
      }
    } else {
      g.complete = !tr.energy_start_mj;  // a counter that answered at start and not at the end failed mid-run
      g.method = "unavailable";
      notes.push_back(fmt::format("neither the energy counter ({}) nor power ({}) could be read",
                                  info.energy_counter_error.empty() ? "read failed" : info.energy_counter_error,
                                  info.power_error.empty() ? "read failed" : info.power_error));
    }
    if (info.mig_enabled) {
      notes.push_back(
          "MIG is enabled: energy, power and memory are read on the parent GPU, so they are for the whole GPU, "
          "shared by all MIG instances (not only this command's); utilisation is not reported per MIG instance");
    }
    for (size_t n = 0; n < notes.size(); ++n) g.note += (n ? "; " : "") + notes[n];
    result.gpus.push_back(std::move(g));
  }
  return result;
}

// ---------------------------------------------------------------- CPU

namespace {

std::optional<std::string> read_line(const std::filesystem::path& file, std::string* error = nullptr) {
  std::ifstream in(file);
  if (!in) {
    if (error) *error = std::strerror(errno);
    return std::nullopt;
  }
  std::string line;
  if (!std::getline(in, line)) {
    if (error) *error = "empty or unreadable";
    return std::nullopt;
  }
  return line;
}

std::optional<std::uint64_t> read_u64(const std::filesystem::path& file, std::string* error = nullptr) {
  auto line = read_line(file, error);
  if (!line) return std::nullopt;
  try {
    size_t used = 0;
    const std::uint64_t v = std::stoull(*line, &used);
    return v;
  } catch (const std::exception&) {
    if (error) *error = "not a number: '" + *line + "'";
    return std::nullopt;
  }
}

double children_cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_CHILDREN, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

}  // namespace

RaplReader::RaplReader(std::string powercap_root) : root_(std::move(powercap_root)) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(root_, ec)) {
    reason_ = fmt::format("RAPL not readable: no powercap interface at {} (usual in VMs and containers)", root_);
    return;
  }
  static const std::regex top_level(R"(intel-rapl:\d+)");
  std::vector<Domain> found;
  for (const auto& entry : fs::directory_iterator(root_, ec)) {
    const std::string dir_name = entry.path().filename().string();
    if (!std::regex_match(dir_name, top_level)) continue;  // skips subdomains intel-rapl:0:0
    const auto name = read_line(entry.path() / "name");
    if (!name || name->rfind("package", 0) != 0) continue;  // psys and others overlap the packages
    std::string error;
    if (!read_u64(entry.path() / "energy_uj", &error)) {
      reason_ = fmt::format("RAPL not readable: {}/energy_uj: {} (since Linux 5.10 only root may read it)",
                            entry.path().string(), error);
      return;
    }
    Domain d;
    d.dir = entry.path().string();
    d.name = *name;
    d.max_energy_range_uj = read_u64(entry.path() / "max_energy_range_uj").value_or(0);
    found.push_back(std::move(d));
  }
  if (found.empty()) {
    reason_ = fmt::format("RAPL not readable: no package domain (intel-rapl:N with name package-*) under {}", root_);
    return;
  }
  std::sort(found.begin(), found.end(), [](const Domain& a, const Domain& b) { return a.dir < b.dir; });
  domains_ = std::move(found);
}

std::vector<std::uint64_t> RaplReader::read() const {
  std::vector<std::uint64_t> values;
  for (const Domain& d : domains_) {
    std::string error;
    auto v = read_u64(std::filesystem::path(d.dir) / "energy_uj", &error);
    if (!v) throw Error(fmt::format("cannot read {}/energy_uj: {}", d.dir, error));
    values.push_back(*v);
  }
  return values;
}

std::uint64_t rapl_delta_uj(std::uint64_t before, std::uint64_t after, std::uint64_t max_range) {
  if (after >= before) return after - before;
  if (max_range >= before) return (max_range - before) + after;  // wrapped once
  return after;                                                  // range unknown: count from 0
}

CpuEnergyMeter::CpuEnergyMeter(hardware::Device cpu, std::string powercap_root, int cores)
    : cpu_(std::move(cpu)), rapl_(std::move(powercap_root)) {
  cores_ = cores > 0 ? cores : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

void CpuEnergyMeter::start() {
  use_rapl_ = false;
  rapl_failure_.clear();
  if (rapl_.available()) {
    try {
      rapl_start_ = rapl_.read();
      use_rapl_ = true;
    } catch (const Error& e) {
      rapl_failure_ = e.what();
    }
  }
  children_cpu_start_s_ = children_cpu_seconds();
  start_ = std::chrono::steady_clock::now();
}

CpuEnergy CpuEnergyMeter::stop() {
  CpuEnergy e;
  e.duration_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  e.cpu_time_s = std::max(0.0, children_cpu_seconds() - children_cpu_start_s_);
  e.cores = cores_;
  if (use_rapl_) {
    try {
      const auto end = rapl_.read();
      std::uint64_t uj = 0;
      for (size_t i = 0; i < end.size(); ++i) {
        uj += rapl_delta_uj(rapl_start_[i], end[i], rapl_.domains()[i].max_energy_range_uj);
        e.domains.push_back(rapl_.domains()[i].name);
      }
      e.method = "rapl";
      e.estimated = false;
      e.energy_j = static_cast<double>(uj) / 1e6;
      e.avg_power_w = e.duration_s > 0 ? e.energy_j / e.duration_s : 0;
      e.note = "RAPL package energy of the whole machine (every process, not only this command); a counter wrapping "
               "more than once during the run is not detected";
      return e;
    } catch (const Error& err) {
      rapl_failure_ = err.what();
      e.domains.clear();
    }
  }
  e.method = "estimate_tdp_x_utilisation";
  e.estimated = true;
  e.device_id = cpu_.id;
  e.tdp_w = cpu_.tdp_w;
  const double util = e.duration_s > 0 ? std::clamp(e.cpu_time_s / e.duration_s / cores_, 0.0, 1.0) : 0.0;
  e.utilisation = util;
  e.avg_power_w = cpu_.tdp_w * util;
  e.energy_j = e.avg_power_w * e.duration_s;
  e.note = fmt::format(
      "ESTIMATE, not a measurement ({}): {} TDP {} W x utilisation {:.3f} (CPU time {:.3f} s of the command's "
      "processes / {:.3f} s wall / {} cores)",
      rapl_failure_.empty() ? rapl_.unavailable_reason() : rapl_failure_, cpu_.id, cpu_.tdp_w, util, e.cpu_time_s,
      e.duration_s, cores_);
  return e;
}

nlohmann::json to_json(const GpuMeasurement& m) {
  auto opt = [](const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
  nlohmann::json gpus = nlohmann::json::array();
  for (const auto& g : m.gpus) {
    gpus.push_back({{"index", g.index},
                    {"name", g.name},
                    {"energy_j", g.energy_j},
                    {"method", g.method},
                    {"avg_power_w", g.avg_power_w},
                    {"peak_memory_bytes", g.peak_memory_bytes},
                    {"memory_total_bytes", g.memory_total_bytes},
                    {"samples", g.samples},
                    {"avg_gpu_utilization_pct", opt(g.avg_gpu_utilization_pct)},
                    {"max_sm_clock_mhz", opt(g.max_sm_clock_mhz)},
                    {"max_memory_clock_mhz", opt(g.max_memory_clock_mhz)},
                    {"mig_enabled", g.mig_enabled},
                    {"complete", g.complete},
                    {"covered_s", g.covered_s},
                    {"note", g.note}});
  }
  return {{"available", m.available},
          {"reason", m.reason},
          {"duration_s", m.duration_s},
          {"energy_j", m.total_energy_j()},
          {"devices", gpus}};
}

nlohmann::json to_json(const CpuEnergy& e) {
  return {{"energy_j", e.energy_j},
          {"method", e.method},
          {"estimated", e.estimated},
          {"avg_power_w", e.avg_power_w},
          {"duration_s", e.duration_s},
          {"domains", e.domains},
          {"device", e.device_id},
          {"tdp_w", e.tdp_w},
          {"utilisation", e.utilisation ? nlohmann::json(*e.utilisation) : nlohmann::json(nullptr)},
          {"cpu_time_s", e.cpu_time_s},
          {"cores", e.cores},
          {"note", e.note}};
}

}  // namespace perfcast::measure
