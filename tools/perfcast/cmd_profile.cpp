#include <fmt/format.h>

#include <iostream>
#include <memory>
#include <sstream>

#include "commands.h"
#include "common/error.h"
#include "dataset/store.h"
#include "hardware/device_catalog.h"
#include "measure/profiler.h"

namespace perfcast::cli {
namespace {

struct ProfileArgs {
  std::string db = "perfcast.db";
  std::vector<std::string> models;
  std::vector<int64_t> batches = {1};
  std::vector<std::string> precisions = {"fp32"};
  std::vector<std::string> modes = {"inference"};
  std::string device = "cpu";
  int warmup = 2;
  int iterations = 5;
  double cooldown = 0;
  measure::ProfileOptions options;
};

std::string opt(const std::optional<double>& v, const char* f) {
  return v ? fmt::format(fmt::runtime(f), *v) : std::string("-");
}

}  // namespace

void register_profile(CLI::App& app) {
  auto args = std::make_shared<ProfileArgs>();
  CLI::App* cmd = app.add_subcommand(
      "profile",
      "Measure torchvision models with PyTorch (warm-up, timed steps, peak memory, energy) and store one row per job; "
      "jobs already stored are skipped, so an interrupted run resumes");
  cmd->add_option("--db", args->db, "Store file (default perfcast.db)");
  cmd->add_option("--models", args->models, "torchvision model names: resnet18,mobilenet_v2")->required()->delimiter(',');
  cmd->add_option("--batches", args->batches, "Batch sizes (default 1)")->delimiter(',');
  cmd->add_option("--precisions", args->precisions, "fp32,fp16,bf16 (default fp32; fp16 runs as bf16 on the CPU)")
      ->delimiter(',');
  cmd->add_option("--modes", args->modes, "inference,training (default inference)")->delimiter(',');
  cmd->add_option("--device", args->device, "cpu | cuda (default cpu)");
  cmd->add_option("--warmup", args->warmup, "Untimed steps first (default 2)");
  cmd->add_option("--iterations", args->iterations, "Timed steps (default 5)");
  cmd->add_option("--cooldown", args->cooldown, "Seconds to idle before each job's warm-up (default 0)");
  cmd->add_option("--python", args->options.python, "Python with torch + torchvision (default /usr/bin/python3)");
  cmd->add_option("--runner", args->options.runner, "run_workload.py (default: the source tree's)");
  cmd->add_option("--work-dir", args->options.work_dir, "Job files and exported ONNX (default DB.work)");
  cmd->add_option("--cpu-device", args->options.cpu_device, "Catalog CPU for the CPU energy estimate without RAPL");
  cmd->callback([args] {
    const auto jobs = measure::expand_jobs(args->models, args->batches, args->precisions, args->modes, args->device,
                                           args->warmup, args->iterations, args->cooldown);
    const auto catalog = hardware::DeviceCatalog::load();
    dataset::Store store(args->db);
    int measured = 0, skipped = 0, failed = 0;
    for (size_t i = 0; i < jobs.size(); ++i) {
      const auto& j = jobs[i];
      const auto o = measure::profile_job(store, j, args->options, catalog);
      std::string line = fmt::format("[{}/{}] {} batch {} {} {} on {}: ", i + 1, jobs.size(), j.model, j.batch,
                                     j.precision, j.mode, j.device);
      if (o.skipped) {
        ++skipped;
        line += fmt::format("already stored ({}), skipped", o.status);
      } else if (o.status == "ok") {
        ++measured;
        line += fmt::format("{} ms/step, {} samples/s, peak memory {}, {} J/step ({} W, {}), graph {}, run {:.1f} s",
                            opt(o.latency_ms, "{:.3f}"), opt(o.throughput_per_s, "{:.2f}"),
                            o.peak_memory_bytes ? format_bytes(*o.peak_memory_bytes) : "-", opt(o.energy_j, "{:.3g}"),
                            opt(o.avg_power_w, "{:.1f}"), o.energy_method, o.graph_hash, o.wall_s);
      } else {
        ++failed;
        line += fmt::format("{}: {}", o.status, o.error);
      }
      std::cout << line << std::endl;
    }
    std::cout << fmt::format("{} measured, {} skipped, {} failed; store {} has {} measurements\n", measured, skipped,
                             failed, args->db, store.count("measurements"));
  });
}

}  // namespace perfcast::cli
