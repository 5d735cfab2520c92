#include <fmt/format.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "hardware/device_catalog.h"

namespace perfcast::cli {
namespace {

struct DevicesArgs {
  std::string kind;
  bool json = false;
};

std::string peak(const hardware::Device& d, hardware::Precision p) {
  const auto it = d.peak_tflops.find(p);
  return it == d.peak_tflops.end() ? "-" : fmt::format("{:.1f}", it->second);
}

std::string shorten(const std::string& text, size_t width) {
  return text.size() <= width ? text : text.substr(0, width - 3) + "...";
}

void print_table(const std::vector<const hardware::Device*>& devices) {
  using hardware::Precision;
  const std::string row = "{:<22} {:<36} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>8} {:>6} {:>4}\n";
  std::cout << fmt::format(fmt::runtime(row), "id", "name", "fp32", "tf32", "fp16", "fp8", "int8", "mem", "bw",
                           "TDP", "MIG");
  std::cout << fmt::format(fmt::runtime(row), "", "", "TFLOP/s", "TFLOP/s", "TFLOP/s", "TFLOP/s", "TOPS", "GiB",
                           "GB/s", "W", "");
  for (const hardware::Device* d : devices) {
    std::cout << fmt::format(fmt::runtime(row), d->id, shorten(d->name, 36), peak(*d, Precision::kFp32),
                             peak(*d, Precision::kTf32), peak(*d, Precision::kFp16), peak(*d, Precision::kFp8),
                             peak(*d, Precision::kInt8), fmt::format("{:g}", d->memory_gib),
                             fmt::format("{:g}", d->memory_bandwidth_gb_s), fmt::format("{:g}", d->tdp_w),
                             d->mig_profiles.empty() ? std::string("-") : std::to_string(d->mig_profiles.size()));
  }
  std::cout << fmt::format(
      "\n{} device(s). Peaks are dense (no sparsity); '-' = no such datapath. MIG = number of MIG profiles.\n"
      "Sources and assumptions: data/devices/SOURCES.md; perfcast devices --json prints every field.\n",
      devices.size());
}

}  // namespace

void register_devices(CLI::App& app) {
  auto args = std::make_shared<DevicesArgs>();
  CLI::App* cmd = app.add_subcommand("devices", "List the device catalog: peak throughput, memory, power, MIG");
  cmd->add_option("--kind", args->kind, "Only devices of this kind")->check(CLI::IsMember({"gpu", "cpu"}));
  cmd->add_flag("--json", args->json, "Print machine-readable JSON with every field");
  cmd->callback([args] {
    const auto catalog = hardware::DeviceCatalog::load();
    std::vector<const hardware::Device*> devices;
    for (const auto& d : catalog.devices()) {
      if (args->kind.empty() || d.kind == args->kind) devices.push_back(&d);
    }
    if (args->json) {
      nlohmann::json list = nlohmann::json::array();
      for (const auto* d : devices) list.push_back(hardware::to_json(*d));
      std::cout << nlohmann::json{{"catalog", catalog.dir()}, {"devices", list}}.dump(2) << "\n";
    } else {
      print_table(devices);
    }
  });
}

}  // namespace perfcast::cli
