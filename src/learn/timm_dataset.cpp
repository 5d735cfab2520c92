#include "learn/timm_dataset.h"

#include "dataset/importers.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <set>

#include <fmt/format.h>

#include "common/csv.h"
#include "common/error.h"

namespace perfcast::learn {
namespace {

struct FileInfo {
  std::string device_id;
  hardware::Precision precision = hardware::Precision::kFp16;
  bool channels_last = false;
  bool compiled = false;
  double torch_version = 0;
};

std::vector<std::string> split_tokens(const std::string& text, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const size_t pos = text.find(sep, start);
    out.push_back(text.substr(start, pos == std::string::npos ? std::string::npos : pos - start));
    if (pos == std::string::npos) break;
    start = pos + 1;
  }
  return out;
}

bool parse_file_name(const std::string& name, const hardware::DeviceCatalog& catalog, FileInfo& info,
                     std::string& why) {
  WorkloadRow settings;
  std::string device;
  if (!timm_file_settings(name, settings, &device, why)) return false;
  info.precision = settings.precision;
  info.channels_last = settings.channels_last;
  info.compiled = settings.compiled;
  info.torch_version = settings.torch_version;
  const hardware::Device* d = catalog.find(device);
  if (!d) d = catalog.find("rtx" + device);
  if (!d) {
    why = "device '" + device + "' is not in the device catalog";
    return false;
  }
  if (d->kind != "gpu") {
    why = "not a GPU";
    return false;
  }
  info.device_id = d->id;
  return true;
}

}  // namespace

// benchmark-infer-<prec>-<layout>-pt<ver>-<cuda|cpu>-<device>[-dynamo].csv
bool timm_file_settings(const std::string& name, WorkloadRow& row, std::string* device_token, std::string& why) {
  const std::string prefix = "benchmark-infer-";
  if (name.rfind(prefix, 0) != 0 || name.size() < 4 || name.substr(name.size() - 4) != ".csv") {
    why = "not an inference benchmark file";
    return false;
  }
  auto tokens = split_tokens(name.substr(prefix.size(), name.size() - prefix.size() - 4), '-');
  row.compiled = false;
  if (!tokens.empty() && tokens.back() == "dynamo") {
    row.compiled = true;
    tokens.pop_back();
  }
  if (tokens.size() != 5) {
    why = "unexpected file name";
    return false;
  }
  const std::string& prec = tokens[0];
  if (prec == "amp") {
    row.precision = hardware::Precision::kFp16;
  } else if (prec == "amp_bf16" || prec == "bf16") {
    row.precision = hardware::Precision::kBf16;
  } else {
    why = "precision " + prec + " (GPU mixed-precision files only)";
    return false;
  }
  row.channels_last = tokens[1] == "nhwc";
  row.torch_version = 0;
  if (tokens[2].rfind("pt", 0) == 0 && tokens[2].size() >= 4) {
    const std::string digits = tokens[2].substr(2);
    row.torch_version = (digits[0] - '0') + (digits[1] - '0') / 10.0;
  }
  if (tokens[3] == "cpu") {
    why = "CPU file";
    return false;
  }
  if (device_token) *device_token = tokens[4];
  return true;
}

std::string default_timm_dir() {
  const char* env = std::getenv("PERFCAST_TIMM_DIR");
  if (env && *env) return env;
  const std::string shared = dataset::default_shared_data_dir();
  return shared.empty() ? std::string("shared/data/timm (not found beside the repository)") : shared + "/timm";
}

TimmDataset load_timm_inference(const std::string& dir, const hardware::DeviceCatalog& catalog) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(dir))
    throw Error(fmt::format("no timm data folder '{}' (set PERFCAST_TIMM_DIR or pass --data-dir)", dir));
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("benchmark-infer-", 0) == 0) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  TimmDataset data;
  data.dir = dir;
  for (const std::string& name : names) {
    FileInfo info;
    std::string why;
    if (!parse_file_name(name, catalog, info, why)) {
      data.files_skipped.push_back(name + ": " + why);
      continue;
    }
    const CsvTable table = read_csv((fs::path(dir) / name).string());
    table.require_columns({"model", "infer_img_size", "infer_batch_size", "infer_step_time", "infer_samples_per_sec",
                           "param_count", "infer_gmacs", "infer_macts"});
    data.files_used.push_back(name);
    for (const CsvRow& row : table.rows) {
      const auto step = row.optional_number("infer_step_time");
      const auto batch = row.optional_number("infer_batch_size");
      const auto params = row.optional_number("param_count");
      const auto gmacs = row.optional_number("infer_gmacs");
      const auto macts = row.optional_number("infer_macts");
      const auto img = row.optional_number("infer_img_size");
      const auto sps = row.optional_number("infer_samples_per_sec");
      if (!step || !batch || !params || !gmacs || !macts || !img || !sps || *step <= 0 || *batch < 1 ||
          *params <= 0 || *gmacs <= 0 || *macts <= 0) {
        ++data.rows_skipped;
        continue;
      }
      TimmRow r;
      r.workload.model = row.required("model");
      r.workload.param_count_m = *params;
      r.workload.gmacs = *gmacs;
      r.workload.macts_m = *macts;
      r.workload.batch = static_cast<int64_t>(std::llround(*batch));
      r.workload.img_size = static_cast<int64_t>(std::llround(*img));
      r.workload.precision = info.precision;
      r.workload.channels_last = info.channels_last;
      r.workload.compiled = info.compiled;
      r.workload.torch_version = info.torch_version;
      r.family = model_family(r.workload.model);
      r.device_id = info.device_id;
      r.file = name;
      r.step_time_ms = *step;
      r.samples_per_s = *sps;
      data.rows.push_back(std::move(r));
    }
  }
  if (data.rows.empty()) throw Error(fmt::format("no usable timm GPU inference rows in '{}'", dir));
  return data;
}

std::string split_name(SplitKind kind) {
  switch (kind) {
    case SplitKind::kFamily: return "family";
    case SplitKind::kDevice: return "device";
    case SplitKind::kRandom: return "random";
  }
  return "?";
}

SplitKind parse_split(const std::string& text) {
  if (text == "family") return SplitKind::kFamily;
  if (text == "device") return SplitKind::kDevice;
  if (text == "random") return SplitKind::kRandom;
  throw Error("unknown split '" + text + "'; expected family, device or random");
}

Split make_device_holdout(const TimmDataset& data, const std::string& device_id) {
  Split split;
  for (size_t i = 0; i < data.rows.size(); ++i) (data.rows[i].device_id == device_id ? split.test : split.train).push_back(i);
  if (split.test.empty()) throw Error(fmt::format("the timm data has no rows of device '{}'", device_id));
  if (split.train.empty()) throw Error(fmt::format("holding out '{}' leaves no training rows", device_id));
  return split;
}

std::vector<std::string> dataset_devices(const TimmDataset& data) {
  std::set<std::string> ids;
  for (const auto& r : data.rows) ids.insert(r.device_id);
  return {ids.begin(), ids.end()};
}

Split make_split(const TimmDataset& data, SplitKind kind, uint64_t seed, double test_fraction) {
  Split split;
  // Fisher-Yates with raw mt19937_64 draws: the same on every standard library.
  std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ULL + 0x1234567ULL);
  if (kind == SplitKind::kFamily) {
    std::set<std::string> families;
    for (const auto& r : data.rows) families.insert(r.family);
    std::vector<std::string> order(families.begin(), families.end());
    for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng() % i]);
    const size_t n_test = static_cast<size_t>(std::llround(test_fraction * static_cast<double>(order.size())));
    std::set<std::string> held(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n_test));
    split.test_families.assign(held.begin(), held.end());
    for (size_t i = 0; i < data.rows.size(); ++i) (held.count(data.rows[i].family) ? split.test : split.train).push_back(i);
  } else if (kind == SplitKind::kDevice) {
    // Leave one GPU out: seed s holds out the s-th device in name order (wrapping around).
    const std::vector<std::string> devices = dataset_devices(data);
    if (devices.size() < 2) throw Error("the device split needs rows of at least two devices");
    return make_device_holdout(data, devices[seed % devices.size()]);
  } else {
    const uint64_t threshold = static_cast<uint64_t>(test_fraction * 18446744073709551615.0);
    for (size_t i = 0; i < data.rows.size(); ++i) (rng() < threshold ? split.test : split.train).push_back(i);
  }
  if (split.train.empty() || split.test.empty())
    throw Error(fmt::format("the {} split leaves an empty train or test set", split_name(kind)));
  return split;
}

}  // namespace perfcast::learn
