#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#include "commands.h"
#include "common/error.h"
#include "hardware/device_catalog.h"
#include "measure/characterize.h"

namespace perfcast::cli {
namespace {
struct CharacterizeArgs {
  measure::CharacterizeOptions options;
  std::string out;
  std::string fallback;
};
}  // namespace

void register_characterize(CLI::App& app) {
  auto args = std::make_shared<CharacterizeArgs>();
  CLI::App* cmd = app.add_subcommand(
      "characterize",
      "Measure this machine's GEMM FLOP/s per precision, memory bandwidth and (GPU, NVML) idle power with PyTorch, "
      "and write a device TOML that --device PATH accepts");
  cmd->add_option("--device", args->options.device, "cpu | cuda (default cpu)");
  cmd->add_option("--out", args->out, "Device file to write, e.g. my-device.toml (its stem becomes the id)")->required();
  cmd->add_option("--fallback", args->fallback,
                  "Catalog device whose TDP (and idle power without NVML) is copied, marked ASSUMED "
                  "(default generic-cpu / h100-sxm5-80gb)");
  cmd->add_option("--python", args->options.python, "Python with torch (default /usr/bin/python3)");
  cmd->add_option("--runner", args->options.runner, "run_workload.py (default: the source tree's)");
  cmd->add_flag("--quick", args->options.quick, "Smaller GEMMs and copies (seconds, less accurate)");
  cmd->callback([args] {
    const auto catalog = hardware::DeviceCatalog::load();
    const std::string fb = !args->fallback.empty() ? args->fallback
                           : args->options.device == "cuda" ? "h100-sxm5-80gb" : "generic-cpu";
    const hardware::Device& fallback = catalog.get(fb);
    const measure::Characterization c = measure::characterize(args->options);
    const std::string id = std::filesystem::path(args->out).stem().string();
    const std::string toml = measure::characterization_toml(c, id, fallback.tdp_w, fallback.idle_w);
    {
      std::ofstream f(args->out);
      f << toml;
      if (!f) throw Error(fmt::format("cannot write '{}'", args->out));
    }
    const hardware::Device& d = catalog.get(args->out);  // the file must load as a catalog device
    std::cout << fmt::format("{} ({}), {} compute units, torch {}\n", c.device_name, c.device, c.compute_units,
                             c.torch_version);
    for (const auto& [p, f] : c.peak_flops) std::cout << fmt::format("  {} GEMM   {:.4g} TFLOP/s\n", p, f / 1e12);
    std::cout << fmt::format("  bandwidth   {:.4g} GB/s (copy, read + write)\n", c.bandwidth_bytes_per_s / 1e9);
    std::cout << (c.idle_power_w ? fmt::format("  idle power  {:.1f} W (NVML)\n", *c.idle_power_w)
                                 : fmt::format("  idle power  not measured: {}\n", c.idle_power_note));
    std::cout << fmt::format("wrote {} (device id {}; TDP{} assumed from {})\n", args->out, d.id,
                             c.idle_power_w ? "" : " and idle power", fallback.id);
  });
}

}  // namespace perfcast::cli
