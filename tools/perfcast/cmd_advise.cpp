#include <fmt/format.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "advise/ranking.h"
#include "commands.h"
#include "common/error.h"
#include "workload_loader.h"

namespace perfcast::cli {
namespace {

struct AdviseArgs {
  std::string model;
  ModelFlags model_flags;
  std::string precision = "fp16";
  std::optional<double> latency_slo_ms;
  std::string region;
  std::string objective = "cost";
  std::optional<double> pue;
  std::optional<double> carbon_intensity;
  int top = 15;
  bool json = false;
};

std::string option_label(const advise::Option& o) {
  return o.mig_profile.empty() ? o.device_id : fmt::format("{} {}x{}", o.device_id, o.instances_per_gpu, o.mig_profile);
}

// The cloud instance an option is priced as: "aws:p3.2xlarge", or "-" when no listed instance carries the GPU.
std::string instance_label(const advise::Option& o) {
  return o.instance ? o.instance->provider + ":" + o.instance->type : "-";
}

void print_rows(const std::vector<advise::Option>& options, int top, bool show_reason) {
  std::cout << fmt::format("{:<4} {:<34} {:>10} {:>12} {:>10} {:>12} {:>10} {:>7}  {}\n", "#", "option", "latency ms",
                           "samples/s/GPU", "$/1M", "kgCO2e/1M", "kWh/1M", "pareto", "priced as");
  int rank = 0;
  for (const auto& o : options) {
    if (++rank > top) break;
    std::cout << fmt::format("{:<4} {:<34} {:>10.3f} {:>12.0f} {:>10} {:>12.4f} {:>10.4f} {:>7}  {}", rank,
                             option_label(o), o.prediction.latency_ms.value, o.samples_per_s_per_gpu,
                             o.usd_per_million_samples ? fmt::format("{:.3f}", *o.usd_per_million_samples) : "n/a",
                             o.total_kgco2e_per_million(), o.kwh_per_million_samples, o.pareto ? "*" : "",
                             instance_label(o));
    if (show_reason) std::cout << "  " << o.rejected_because;
    std::cout << "\n";
  }
}

}  // namespace

void register_advise(CLI::App& app) {
  auto args = std::make_shared<AdviseArgs>();
  CLI::App* cmd = app.add_subcommand(
      "advise", "Rank every GPU and MIG slice for a model by cost, carbon, energy or latency");
  cmd->add_option("model", args->model, "ONNX file, Hugging Face config.json or bundled model id (perfcast models)")->required();
  add_model_flags(*cmd, args->model_flags);
  cmd->add_option("--precision,-p", args->precision, "fp32 tf32 fp16 bf16 fp8 int8")->capture_default_str();
  cmd->add_option("--latency-slo-ms", args->latency_slo_ms, "Latency target per batch");
  cmd->add_option("--region", args->region, "Cloud region (aws:us-east-1) or grid zone (FR); default: world average");
  cmd->add_option("--objective", args->objective, "cost, carbon, energy or latency")->capture_default_str();
  cmd->add_option("--pue", args->pue, "Override the region's PUE");
  cmd->add_option("--carbon-intensity", args->carbon_intensity, "Override the grid intensity, gCO2e/kWh");
  cmd->add_option("--top", args->top, "Rows to print")->capture_default_str();
  cmd->add_flag("--json", args->json, "Print machine-readable JSON");
  cmd->callback([args] {
    advise::AdviseRequest request;
    request.precision = hardware::parse_precision(args->precision);
    request.latency_slo_ms = args->latency_slo_ms;
    request.objective = advise::parse_objective(args->objective);
    request.region = carbon::RegionTable::load().lookup(args->region);
    request.pue = args->pue;
    request.carbon_intensity_g_per_kwh = args->carbon_intensity;
    if (request.latency_slo_ms && *request.latency_slo_ms <= 0) throw Error("--latency-slo-ms must be positive");

    const auto workload = load_workload(args->model, args->model_flags);
    const auto advice = advise::advise(workload, request, hardware::DeviceCatalog::load(), carbon::PriceTable::load(),
                                       predict::load_roofline_calibration());
    if (args->json) {
      nlohmann::json j = advise::to_json(advice);
      j["model"] = args->model;
      j["batch"] = workload.batch;
      j["objective"] = args->objective;
      j["region"] = request.region.key;
      std::cout << j.dump(2) << "\n";
      return;
    }
    std::cout << fmt::format("{} at batch {}, {}, objective {}, region {} ({})\n\n", args->model, workload.batch,
                             args->precision, args->objective, request.region.key, request.region.description);
    if (!advice.ranked.empty()) {
      print_rows(advice.ranked, args->top, false);
    } else {
      std::cout << "nothing satisfies the request; the nearest options:\n";
      print_rows(advice.infeasible, 5, true);
    }
    std::cout << "\n" << advice.explanation << "\n";
    if (!advice.mig.empty()) {
      std::cout << "\nMIG: the smallest profile that fits" << (args->latency_slo_ms ? " and meets the target" : "")
                << ", against the whole card\n";
      for (const auto& m : advice.mig) {
        auto usd = [](const std::optional<double>& v) { return v ? fmt::format("${:.3f}/1M", *v) : std::string("n/a"); };
        std::cout << fmt::format("  {:<16} {:>9} x{}  {:>8.0f} samples/s per GPU  {:>12}   whole card {:>8.0f} samples/s  {:>12}\n",
                                 m.device_id, m.profile, m.instances_per_gpu, m.samples_per_s_per_gpu,
                                 usd(m.usd_per_million_samples), m.whole_card_samples_per_s,
                                 usd(m.whole_card_usd_per_million_samples));
      }
    }
    std::cout << "\n* = on the Pareto front of cost vs CO2e. Per million samples: facility energy, operational + "
                 "embodied CO2e.\n";
    for (const auto& a : advice.assumptions) std::cout << "assumption: " << a << "\n";
    for (const auto& s : advice.skipped) std::cout << "skipped: " << s << "\n";
  });
}

}  // namespace perfcast::cli
