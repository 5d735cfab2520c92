#include "learn/deepbench_evaluation.h"

#include <fmt/format.h>

#include <functional>

#include "common/quantile.h"
#include "dataset/importers.h"
#include "predict/roofline.h"

namespace perfcast::learn {
namespace {

struct Scored {
  std::string device_id, kernel, precision, pass;
  double measured_ms = 0, predicted_ms = 0;
};

using GroupKey = std::function<DeepBenchGroup(const Scored&)>;

// One group per distinct key, in key order.
std::vector<DeepBenchGroup> group_by(const std::vector<Scored>& scored, const GroupKey& key) {
  std::map<std::tuple<std::string, std::string, std::string, std::string>, std::vector<const Scored*>> members;
  std::map<std::tuple<std::string, std::string, std::string, std::string>, DeepBenchGroup> heads;
  for (const Scored& s : scored) {
    const DeepBenchGroup g = key(s);
    const auto k = std::make_tuple(g.device_id, g.kernel, g.precision, g.pass);
    members[k].push_back(&s);
    heads.emplace(k, g);
  }
  std::vector<DeepBenchGroup> out;
  for (auto& [k, rows] : members) {
    DeepBenchGroup g = heads.at(k);
    std::vector<double> measured, predicted, ratio;
    for (const Scored* s : rows) {
      measured.push_back(s->measured_ms);
      predicted.push_back(s->predicted_ms);
      ratio.push_back(s->predicted_ms / s->measured_ms);
    }
    g.metrics = compute_metrics(measured, predicted);
    g.median_predicted_over_measured = median(ratio);
    out.push_back(g);
  }
  return out;
}

}  // namespace

predict::KernelWork deepbench_work(const dataset::DeepBenchKernel& kernel) {
  predict::KernelWork w;
  w.costed = true;
  w.nodes = 1;
  if (!kernel.conv) {
    w.op_class = predict::OpClass::kGemm;
    w.flops = 2 * kernel.m * kernel.n * kernel.k;
    w.float_bytes = 4 * (kernel.m * kernel.k + kernel.k * kernel.n + kernel.m * kernel.n);
    w.gemm_batch = 1;
    w.gemm_rows = kernel.m;
    w.gemm_cols = kernel.n;
    return w;
  }
  w.op_class = predict::OpClass::kConv;
  const double outputs = kernel.batch * kernel.filters * kernel.out_h * kernel.out_w;
  w.flops = 2 * outputs * kernel.channels * kernel.filter_h * kernel.filter_w;
  w.float_bytes = 4 * (kernel.batch * kernel.channels * kernel.height * kernel.width +
                       kernel.filters * kernel.channels * kernel.filter_h * kernel.filter_w + outputs);
  return w;
}

DeepBenchEvaluation evaluate_deepbench(const dataset::DeepBenchData& data, const hardware::DeviceCatalog& catalog,
                                       const predict::RooflineCalibration& calibration) {
  DeepBenchEvaluation out;
  out.skipped = data.skipped;
  std::vector<Scored> scored;
  for (const dataset::DeepBenchKernel& kernel : data.kernels) {
    const hardware::Device* device = catalog.find(kernel.device);
    if (device == nullptr) {
      ++out.skipped[fmt::format("device {} is not in the catalog", kernel.device)];
      continue;
    }
    if (!device->supports(kernel.precision)) {
      ++out.skipped[fmt::format("{} has no {} peak in its device file", device->id,
                                hardware::precision_name(kernel.precision))];
      continue;
    }
    const predict::KernelWork work = deepbench_work(kernel);
    const predict::NodeTime t = kernel.pass == dataset::DeepBenchPass::kForward
                                    ? predict::time_kernel(work, *device, kernel.precision, calibration)
                                    : predict::time_backward_kernel(work, *device, kernel.precision, calibration);
    scored.push_back({device->id, kernel.conv ? "conv" : "gemm", hardware::precision_name(kernel.precision),
                      dataset::deepbench_pass_name(kernel.pass), kernel.measured_ms, t.kernel_s * 1e3});
  }
  out.rows_used = scored.size();
  if (scored.empty()) return out;
  out.groups = group_by(scored, [](const Scored& s) { return DeepBenchGroup{s.device_id, s.kernel, s.precision, s.pass}; });
  out.by_device = group_by(scored, [](const Scored& s) { return DeepBenchGroup{s.device_id, "all", "all", "all"}; });
  out.by_kind = group_by(scored, [](const Scored& s) { return DeepBenchGroup{"all", s.kernel, s.precision, s.pass}; });
  out.all = group_by(scored, [](const Scored&) { return DeepBenchGroup{"all", "all", "all", "all"}; }).front();
  return out;
}

std::string default_deepbench_dir() {
  const std::string shared = dataset::default_shared_data_dir();
  return shared.empty() ? "" : shared + "/deepbench";
}

}  // namespace perfcast::learn
