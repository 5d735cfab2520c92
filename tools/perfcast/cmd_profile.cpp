#include <fmt/format.h>

#include <iostream>
#include <memory>
#include <sstream>

#include "commands.h"
#include "sweep_flags.h"
#include "common/error.h"
#include "dataset/store.h"
#include "hardware/device_catalog.h"
#include "measure/profiler.h"

namespace perfcast::cli {
namespace {

struct ProfileArgs {
  std::string db = "perfcast.db";
  SweepFlags sweep;
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
  add_sweep_flags(*cmd, args->sweep, "Python with torch + torchvision (default /usr/bin/python3)");
  cmd->add_option("--work-dir", args->sweep.options.work_dir, "Job files and exported ONNX (default DB.work)");
  cmd->callback([args] {
    const auto jobs = expand_sweep(args->sweep);
    const auto catalog = hardware::DeviceCatalog::load();
    dataset::Store store(args->db);
    int measured = 0, skipped = 0, failed = 0;
    for (size_t i = 0; i < jobs.size(); ++i) {
      const auto& j = jobs[i];
      const auto o = measure::profile_job(store, j, args->sweep.options, catalog);
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
