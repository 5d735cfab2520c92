#include <fmt/format.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "advise/mig.h"
#include "commands.h"
#include "common/error.h"
#include "workload_loader.h"

namespace perfcast::cli {
namespace {

struct PredictArgs {
  std::string model;
  ModelFlags model_flags;
  std::string device;
  std::string precision = "fp32";
  std::string mode = "inference";
  std::string optimizer = "adam";
  bool json = false;
};

std::string band(const predict::Interval& i, const char* unit, int decimals = 2) {
  return fmt::format("{:.{}f} {}  [{:.{}f} - {:.{}f}]", i.value, decimals, unit, i.low, decimals, i.high, decimals);
}

void print_text(const std::string& model, const predict::WorkloadPrediction& p, const std::string& device_name) {
  const auto& m = p.memory;
  constexpr double kMiB = 1024.0 * 1024.0;
  std::cout << fmt::format("model            {} (batch {})\n", model, p.batch);
  std::cout << fmt::format("device           {} ({}), {}, {}\n", p.device_id, device_name,
                           hardware::precision_name(p.precision),
                           p.mode == predict::Mode::kTraining ? "training step" : "inference");
  std::cout << fmt::format("latency          {}\n", band(p.latency_ms, "ms", 3));
  std::cout << fmt::format("throughput       {}\n", band(p.throughput_per_s, "samples/s", 1));
  std::cout << fmt::format("peak memory      {}{}\n", band(p.peak_memory_mb, "MiB", 0),
                           p.fits_memory ? "" : fmt::format("  DOES NOT FIT in {:.0f} MiB", p.device_memory_mb));
  std::cout << fmt::format("                 weights {:.0f}, activations {:.0f}, workspace {:.0f}, runtime {:.0f}",
                           m.weights_bytes / kMiB, m.activation_bytes / kMiB, m.workspace_bytes / kMiB,
                           m.runtime_context_bytes / kMiB);
  if (p.mode == predict::Mode::kTraining) {
    std::cout << fmt::format(", gradients {:.0f}, optimizer {:.0f}", m.gradient_bytes / kMiB,
                             m.optimizer_state_bytes / kMiB);
  }
  std::cout << " MiB\n";
  std::cout << fmt::format("average power    {}  (first-principles estimate, band not calibrated)\n",
                           band(p.avg_power_w, "W", 0));
  std::cout << fmt::format("energy           {} per batch\n", band(p.energy_j, "J", 3));
  std::cout << fmt::format("bound            {:.0f}% of kernel time compute-bound, device {:.0f}% busy\n",
                           100 * p.compute_bound_fraction, 100 * p.utilisation);
  for (const auto& w : p.warnings) std::cout << "warning: " << w << "\n";
}

}  // namespace

void register_predict(CLI::App& app) {
  auto args = std::make_shared<PredictArgs>();
  CLI::App* cmd = app.add_subcommand("predict", "Predict latency, throughput, memory, power and energy on a device");
  cmd->add_option("model", args->model, "ONNX file, Hugging Face config.json or bundled model id (perfcast models)")->required();
  add_model_flags(*cmd, args->model_flags);
  cmd->add_option("--device,-d", args->device, "Device id, alias or .toml file; ID:PROFILE for a MIG instance")
      ->required();
  cmd->add_option("--precision,-p", args->precision, "fp32 tf32 fp16 bf16 fp8 int8")->capture_default_str();
  cmd->add_option("--mode", args->mode, "inference or training")->capture_default_str();
  cmd->add_option("--optimizer", args->optimizer, "training: sgd, sgd-momentum, adam")->capture_default_str();
  cmd->add_flag("--json", args->json, "Print machine-readable JSON");
  cmd->callback([args] {
    if (args->mode != "inference" && args->mode != "training") {
      throw Error(fmt::format("--mode '{}': choose inference or training", args->mode));
    }
    const auto catalog = hardware::DeviceCatalog::load();
    const hardware::Device device = advise::device_or_mig_slice(catalog, args->device);
    predict::PredictRequest request;
    request.precision = hardware::parse_precision(args->precision);
    request.mode = args->mode == "training" ? predict::Mode::kTraining : predict::Mode::kInference;
    request.optimizer = predict::parse_optimizer(args->optimizer);
    const auto workload = load_workload(args->model, args->model_flags);
    const auto calibration = predict::load_roofline_calibration();
    const auto prediction = predict::predict_workload(workload, device, request, calibration);
    if (args->json) {
      nlohmann::json j = predict::to_json(prediction);
      j["model"] = args->model;
      j["calibration"] = calibration.file;
      std::cout << j.dump(2) << "\n";
    } else {
      print_text(args->model, prediction, device.name);
    }
  });
}

}  // namespace perfcast::cli
