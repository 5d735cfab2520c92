#include <fmt/format.h>

#include <cmath>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "carbon/footprint.h"
#include "commands.h"
#include "common/error.h"
#include "measure/energy_meter.h"
#include "measure/process_runner.h"

namespace perfcast::cli {
namespace {

struct MeasureArgs {
  std::vector<std::string> command;
  std::string region;
  std::string cpu_device = "generic-cpu";
  std::string gpu_device;
  bool json = false;
};


std::string joined(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) s += (s.empty() ? "" : " ") + a;
  return s;
}

void print_text(const MeasureArgs& args, const measure::RunResult& run, const measure::GpuMeasurement& gpu,
                const measure::CpuEnergy& cpu, double total_kwh, const carbon::Footprint& f) {
  std::cout << "\nperfcast measure\n";
  std::cout << fmt::format("command          {}\n", joined(args.command));
  std::cout << fmt::format("exit code        {}{}\n", run.exit_code,
                           run.signaled ? fmt::format(" (signal {})", run.signal) : "");
  std::cout << fmt::format("duration         {} s\n", format_number(run.wall_s));
  if (!gpu.available) {
    std::cout << fmt::format("GPU              no NVIDIA GPU visible: {}\n", gpu.reason);
  }
  for (const auto& g : gpu.gpus) {
    std::cout << fmt::format("GPU {}            {}: {} J ({}), {} W average, peak memory used {}{}\n", g.index, g.name,
                             format_number(g.energy_j), g.method, format_number(g.avg_power_w), format_bytes(g.peak_memory_bytes),
                             g.avg_gpu_utilization_pct ? fmt::format(", {:.0f}% utilisation", *g.avg_gpu_utilization_pct)
                                                       : "");
    if (!g.note.empty()) std::cout << "                 note: " << g.note << "\n";
  }
  if (cpu.estimated) {
    std::cout << fmt::format("CPU              {} J ESTIMATED ({}): {} W TDP x {:.1f}% utilisation\n", format_number(cpu.energy_j),
                             cpu.method, cpu.tdp_w, 100 * cpu.utilisation.value_or(0));
  } else {
    std::cout << fmt::format("CPU              {} J measured (RAPL {}), {} W average\n", format_number(cpu.energy_j),
                             joined(cpu.domains), format_number(cpu.avg_power_w));
  }
  std::cout << "                 note: " << cpu.note << "\n";
  std::cout << fmt::format("energy           {} kWh IT, {} kWh facility (PUE {})\n", format_number(total_kwh),
                           format_number(f.facility_energy_kwh), f.pue);
  std::cout << fmt::format("region           {} ({}), {} gCO2e/kWh\n", f.region.key, f.region.description,
                           f.carbon_intensity_g_per_kwh);
  if (f.embodied_kgco2e) {
    std::cout << fmt::format("CO2e             {} kg operational + {} kg embodied ({} x {}) = {} kg total\n",
                             format_number(f.operational_kgco2e), format_number(*f.embodied_kgco2e), f.device_count, f.device_id,
                             format_number(f.total_kgco2e));
  } else {
    std::cout << fmt::format("CO2e             {} kg operational\n", format_number(f.operational_kgco2e));
  }
  std::cout << fmt::format("water            {} L off-site{}\n", format_number(f.water_offsite_l),
                           f.water_onsite_l ? fmt::format(", {} L on-site", format_number(*f.water_onsite_l)) : "");
  std::cout << fmt::format("cost             {}\n",
                           f.cost_usd ? fmt::format("{:.4f} USD ({})", *f.cost_usd, f.cost_basis)
                                      : std::string("not computed (see assumptions)"));
  std::cout << "\nassumptions\n";
  for (const auto& a : f.assumptions) std::cout << "  - " << a << "\n";
  if (!f.attributions.empty()) {
    std::cout << "\ndata attribution\n";
    for (const auto& a : f.attributions) std::cout << "  " << a << "\n";
  }
}

}  // namespace

void register_measure(CLI::App& app) {
  auto args = std::make_shared<MeasureArgs>();
  CLI::App* cmd = app.add_subcommand(
      "measure",
      "Run a command and report its duration, energy per device (NVIDIA GPUs through NVML, CPU through RAPL or a "
      "TDP estimate), CO2e, water and cost: perfcast measure [options] -- COMMAND ARGS...");
  cmd->add_option("--region,-r", args->region,
                  "aws:us-east-1, gcp:europe-west4, azure:westeurope, or a grid zone / country (default: WORLD)");
  cmd->add_option("--cpu-device", args->cpu_device,
                  "Catalog CPU whose TDP the CPU estimate uses when RAPL is not readable (default generic-cpu)");
  cmd->add_option("--gpu-device", args->gpu_device,
                  "Catalog id of the measured GPUs, for embodied carbon and cost (default: the CPU device is used)");
  cmd->add_flag("--json", args->json,
                "Print machine-readable JSON on stdout; the command's own stdout then goes to stderr");
  cmd->add_option("command", args->command, "The command and its arguments, after '--'")->required();
  cmd->callback([args] {
    const auto devices = hardware::DeviceCatalog::load();
    const auto regions = carbon::RegionTable::load();
    const auto prices = carbon::PriceTable::load();
    const hardware::Device& cpu_device = devices.get(args->cpu_device);
    if (cpu_device.kind != "cpu") {
      throw perfcast::Error(fmt::format("--cpu-device {} is a {}, not a CPU", cpu_device.id, cpu_device.kind));
    }
    if (!args->gpu_device.empty() && devices.get(args->gpu_device).kind != "gpu") {
      throw perfcast::Error(fmt::format("--gpu-device {} is not a GPU", args->gpu_device));
    }
    if (!args->region.empty()) regions.lookup(args->region);  // a typo fails before the run, not after

    measure::GpuEnergyMeter gpu_meter;
    measure::CpuEnergyMeter cpu_meter(cpu_device);
    gpu_meter.start();
    cpu_meter.start();
    measure::RunResult run;
    try {
      // With --json, stdout carries only the JSON report: the child's stdout goes to stderr.
      measure::RunOptions run_options;
      if (args->json) run_options.stdout_fd = STDERR_FILENO;
      run = measure::run_command(args->command, run_options);
    } catch (...) {
      gpu_meter.stop();
      throw;
    }
    const measure::CpuEnergy cpu = cpu_meter.stop();
    const measure::GpuMeasurement gpu = gpu_meter.stop();

    const double total_kwh = (gpu.total_energy_j() + cpu.energy_j) / 3.6e6;
    carbon::FootprintRequest req;
    const bool gpu_priced = !args->gpu_device.empty() && !gpu.gpus.empty();
    req.device = gpu_priced ? args->gpu_device : cpu_device.id;
    req.device_count = gpu_priced ? static_cast<int>(gpu.gpus.size()) : 1;
    req.energy_kwh = total_kwh;
    req.hours = std::max(run.wall_s, 1e-6) / 3600.0;
    req.region = args->region;
    carbon::Footprint f = carbon::compute_footprint(req, devices, regions, prices);
    // compute_footprint's own note about IT energy does not fit here: the CPU is counted.
    std::erase_if(f.assumptions,
                  [](const std::string& a) { return a.rfind("IT energy counts the devices only", 0) == 0; });
    f.assumptions.insert(f.assumptions.begin(),
                         "IT energy = the measured GPUs + the CPU package; host memory, storage and network are not "
                         "counted");
    f.assumptions.push_back(
        fmt::format("energy measured by perfcast measure: {} J GPU + {} J CPU{}", format_number(gpu.total_energy_j()),
                    format_number(cpu.energy_j), cpu.estimated ? " (CPU ESTIMATED from TDP x utilisation)" : ""));
    if (!gpu_priced) {
      f.assumptions.push_back(fmt::format(
          "embodied carbon and cost are for the CPU device {}{}", cpu_device.id,
          gpu.gpus.empty() ? "" : "; pass --gpu-device ID to count the GPUs' embodied carbon and price"));
    }

    if (args->json) {
      nlohmann::json j = {{"command", args->command},
                          {"exit_code", run.exit_code},
                          {"signaled", run.signaled},
                          {"duration_s", run.wall_s},
                          {"command_stdout", "stderr"},
                          {"gpu", measure::to_json(gpu)},
                          {"cpu", measure::to_json(cpu)},
                          {"total_energy_kwh", total_kwh},
                          {"footprint", carbon::to_json(f)}};
      std::cout << j.dump(2) << "\n";
    } else {
      print_text(*args, run, gpu, cpu, total_kwh, f);
    }
    std::cout.flush();
    if (run.exit_code != 0) throw CLI::RuntimeError(run.exit_code);
  });
}

}  // namespace perfcast::cli
