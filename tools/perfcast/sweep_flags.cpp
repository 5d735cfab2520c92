#include "sweep_flags.h"

namespace perfcast::cli {

void add_sweep_flags(CLI::App& cmd, SweepFlags& flags, const std::string& python_help) {
  cmd.add_option("--models", flags.models, "torchvision model names: resnet18,mobilenet_v2")->required()->delimiter(',');
  cmd.add_option("--batches", flags.batches, "Batch sizes (default 1)")->delimiter(',');
  cmd.add_option("--precisions", flags.precisions, "fp32,fp16,bf16 (default fp32; fp16 runs as bf16 on the CPU)")
      ->delimiter(',');
  cmd.add_option("--modes", flags.modes, "inference,training (default inference)")->delimiter(',');
  cmd.add_option("--device", flags.device, "cpu | cuda (default cpu)");
  cmd.add_option("--warmup", flags.warmup, "Untimed steps first (default 2)");
  cmd.add_option("--iterations", flags.iterations, "Timed steps (default 5)");
  cmd.add_option("--cooldown", flags.cooldown, "Seconds to idle before each job's warm-up (default 0)");
  cmd.add_option("--python", flags.options.python, python_help);
  cmd.add_option("--runner", flags.options.runner, "run_workload.py (default: the source tree's)");
  cmd.add_option("--cpu-device", flags.options.cpu_device, "Catalog CPU for the CPU energy estimate without RAPL");
}

std::vector<measure::ProfileJob> expand_sweep(const SweepFlags& flags) {
  return measure::expand_jobs(flags.models, flags.batches, flags.precisions, flags.modes, flags.device, flags.warmup,
                              flags.iterations, flags.cooldown);
}

}  // namespace perfcast::cli
