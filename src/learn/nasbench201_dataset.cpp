#include "learn/nasbench201_dataset.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <numeric>
#include <optional>
#include <random>

#include "common/csv.h"
#include "common/error.h"
#include "dataset/importers.h"
#include "dataset/nasbench201_network.h"
#include "graph/graph_summary.h"
#include "learn/graph_features.h"
#include "predict/roofline.h"
#include "predict/roofline_calibration.h"

namespace perfcast::learn {
namespace {

std::string latency_file(const NasBench201Options& o) {
  std::string dir = o.data_dir.empty() ? dataset::default_shared_data_dir() : o.data_dir;
  if (dir.empty())
    throw Error("no shared data folder found for NAS-Bench-201 (expected shared/data beside the repository); "
                "set NasBench201Options::data_dir to the folder that holds help-nasbench201/");
  const std::string file = dir + "/help-nasbench201/nasbench201_latency_ms.csv";
  if (!std::filesystem::exists(file))
    throw Error(fmt::format("NAS-Bench-201 latency file '{}' not found (HELP's table, see its SOURCE.md)", file));
  return file;
}

bool stated_batch(const std::string& suffix) {
  return suffix == "1" || suffix == "32" || suffix == "64" || suffix == "256";
}

// Every column with a catalog device, before filtering.
std::vector<NasBench201Column> describe_columns(const std::vector<std::string>& header, int64_t cpu_batch,
                                                const hardware::DeviceCatalog& catalog) {
  std::vector<NasBench201Column> out;
  for (const std::string& name : header) {
    if (name == "arch_index" || name == "arch_str") continue;
    const auto us = name.rfind('_');
    if (us != std::string::npos && stated_batch(name.substr(us + 1))) {
      if (const hardware::Device* d = catalog.find(name.substr(0, us))) {
        if (d->kind == "gpu") {
          out.push_back({name, d->id, std::stoll(name.substr(us + 1)), true});
          continue;
        }
      }
    }
    if (const hardware::Device* d = catalog.find(name)) out.push_back({name, d->id, cpu_batch, false});
  }
  return out;
}

std::vector<NasBench201Column> filter_columns(const std::vector<NasBench201Column>& all,
                                              const std::vector<std::string>& wanted) {
  if (wanted.empty()) return all;
  std::vector<bool> keep(all.size(), false);
  for (const std::string& w : wanted) {
    bool matched = false;
    for (size_t i = 0; i < all.size(); ++i) {
      const auto& c = all[i];
      const bool token = c.batch_stated ? c.column.substr(0, c.column.rfind('_')) == w : c.column == w;
      if (c.column == w || token || c.device_id == w) keep[i] = matched = true;
    }
    if (!matched) {
      std::vector<std::string> names;
      for (const auto& c : all) names.push_back(fmt::format("{} ({})", c.column, c.device_id));
      throw Error(fmt::format("NAS-Bench-201: no usable column matches '{}'; usable columns: {}", w,
                              fmt::join(names, ", ")));
    }
  }
  std::vector<NasBench201Column> out;
  for (size_t i = 0; i < all.size(); ++i)
    if (keep[i]) out.push_back(all[i]);
  return out;
}

// Row indices of the selected architectures, in file order.
std::vector<size_t> select_rows(size_t rows, const NasBench201Options& o) {
  if (o.max_architectures < 0)
    throw Error(fmt::format("NAS-Bench-201: max_architectures must be 0 (all) or positive, got {}", o.max_architectures));
  std::vector<size_t> idx(rows);
  std::iota(idx.begin(), idx.end(), 0);
  if (o.max_architectures == 0 || static_cast<size_t>(o.max_architectures) >= rows) return idx;
  std::mt19937_64 rng(o.seed);
  std::shuffle(idx.begin(), idx.end(), rng);
  idx.resize(static_cast<size_t>(o.max_architectures));
  std::sort(idx.begin(), idx.end());
  return idx;
}

GraphSample graph_part(const std::string& arch, int64_t batch) {
  const graph::Graph g = dataset::build_nasbench201_network(arch, batch);
  return make_graph_part(g, graph::summarize(g), batch);
}

// One (architecture, batch) graph with what every device column needs from it.
struct BuiltGraph {
  graph::Graph graph;
  graph::GraphSummary summary;
  GraphSample part;
};

}  // namespace

std::vector<NasBench201Column> nasbench201_columns(const NasBench201Options& o,
                                                   const hardware::DeviceCatalog& catalog) {
  const std::string file = latency_file(o);
  const CsvTable table = read_csv(file);
  table.require_columns({"arch_str"});
  return filter_columns(describe_columns(table.columns, o.cpu_batch, catalog), o.columns);
}

std::vector<GraphSample> load_nasbench201_samples(const NasBench201Options& o, const hardware::DeviceCatalog& catalog) {
  if (o.cpu_batch < 1) throw Error(fmt::format("NAS-Bench-201: cpu_batch must be at least 1, got {}", o.cpu_batch));
  const std::string file = latency_file(o);
  const CsvTable table = read_csv(file);
  table.require_columns({"arch_str"});
  const auto columns = filter_columns(describe_columns(table.columns, o.cpu_batch, catalog), o.columns);
  if (columns.empty())
    throw Error(fmt::format("NAS-Bench-201: no column of '{}' names a device of the catalog in '{}'", file,
                            catalog.dir()));
  std::vector<const hardware::Device*> devices;
  for (const auto& c : columns) devices.push_back(&catalog.get(c.device_id));
  std::optional<predict::RooflineCalibration> calibration;
  if (o.roofline_prior) calibration = predict::load_roofline_calibration();

  std::vector<GraphSample> samples;
  for (size_t r : select_rows(table.rows.size(), o)) {
    const CsvRow& row = table.rows[r];
    const std::string& arch = row.required("arch_str");
    std::map<int64_t, BuiltGraph> parts;  // one graph per batch, shared by the device columns
    for (size_t c = 0; c < columns.size(); ++c) {
      const std::optional<double> latency = row.optional_number(columns[c].column);
      if (!latency) continue;
      if (!(*latency > 0))
        throw Error(fmt::format("{} line {} column {}: latency {} ms is not positive", file, row.line(),
                                columns[c].column, *latency));
      auto it = parts.find(columns[c].batch);
      if (it == parts.end()) {
        try {
          BuiltGraph built;
          built.graph = dataset::build_nasbench201_network(arch, columns[c].batch);
          built.summary = graph::summarize(built.graph);
          built.part = make_graph_part(built.graph, built.summary, columns[c].batch);
          it = parts.emplace(columns[c].batch, std::move(built)).first;
        } catch (const Error& e) {
          throw Error(fmt::format("{} line {}: {}", file, row.line(), e.what()));
        }
      }
      GraphSample s = it->second.part;
      append_device_features(s, *devices[c]);
      if (calibration)
        s.prior = predict::predict_inference_latency(it->second.graph, it->second.summary, *devices[c],
                                                     hardware::Precision::kFp32, *calibration)
                      .latency_ms.value;
      s.target = *latency;
      s.group = arch;
      samples.push_back(std::move(s));
    }
  }
  return samples;
}

std::vector<GraphSample> load_nasbench201_samples(const NasBench201Options& o) {
  return load_nasbench201_samples(o, hardware::DeviceCatalog::load());
}

std::vector<std::string> nasbench201_architectures(const NasBench201Options& o) {
  const std::string file = latency_file(o);
  const CsvTable table = read_csv(file);
  table.require_columns({"arch_str"});
  std::vector<std::string> archs;
  for (size_t r : select_rows(table.rows.size(), o)) archs.push_back(table.rows[r].required("arch_str"));
  return archs;
}

std::vector<GraphSample> load_nasbench201_graphs(const NasBench201Options& o, int64_t batch) {
  if (batch < 1) throw Error(fmt::format("NAS-Bench-201: batch must be at least 1, got {}", batch));
  std::vector<GraphSample> samples;
  for (const std::string& arch : nasbench201_architectures(o)) {
    GraphSample s = graph_part(arch, batch);
    s.group = arch;
    samples.push_back(std::move(s));
  }
  return samples;
}

}  // namespace perfcast::learn
