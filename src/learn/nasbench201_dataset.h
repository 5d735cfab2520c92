#pragma once
// HELP's NAS-Bench-201 latency table (shared/data/help-nasbench201/nasbench201_latency_ms.csv,
// see its SOURCE.md) as graph samples for the graph neural network predictors: one sample per
// (architecture, device column) whose device is in perfcast's catalog.
//
// Columns used: <gpu>_<batch> for 1080ti, 2080ti, titanx, titanxp, titan_rtx (batch 1, 32, 256;
// _64 too if present) and the Xeon columns gold_6226, gold_6240, silver_4114, silver_4210r. The
// device is found by the column's device token as a catalog alias ("1080ti" -> gtx-1080ti,
// "titanx" -> titan-x-pascal, "gold_6226" -> xeon-gold-6226, ...). Phones, Raspberry Pi, FPGA and
// the Eyeriss simulator have no catalog entry and are skipped.
// CPU columns state no batch; cpu_batch (default 1) is an assumption: at batch 256 the measured
// gold_6226 time of the all-conv3x3 cell (18.2 ms for ~113 GFLOP) would exceed the CPU's peak
// 2.07 TFLOP/s three times over, while batch 1 (0.44 GFLOP) fits.
// Sample: the network graph at the column's batch (dataset/nasbench201_network.h), features from
// learn/graph_features.h, target = latency_ms (the time of one whole batch), prior = perfcast's
// roofline latency for the same graph and device (roofline_prior), group = arch string
// (held-out splits by architecture), device_id = catalog id. One graph is built per (arch, batch)
// and shared by every device column with that batch.
// Memory: a sample holds num_nodes x node_feature_dim floats (~30-300 nodes x 157 features, about
// 20-190 KB); all 15,625 architectures x 19 columns would need tens of GB, so use
// max_architectures or columns for anything but a streaming consumer.
#include <cstdint>
#include <string>
#include <vector>

#include "hardware/device_catalog.h"
#include "learn/graph_sample.h"

namespace perfcast::learn {

struct NasBench201Options {
  // Folder that holds help-nasbench201/; "" = dataset::default_shared_data_dir().
  std::string data_dir;
  // Columns to use: a full column name ("1080ti_32") or a device token ("1080ti", "gold_6226") or
  // a catalog id ("gtx-1080ti"); empty = every column with a catalog device. Unknown entries are
  // an error listing the usable columns.
  std::vector<std::string> columns;
  // Architectures to use: 0 = all; otherwise this many rows drawn without replacement by `seed`
  // (the same seed gives the same architectures, in file order).
  int64_t max_architectures = 0;
  uint64_t seed = 0;
  int64_t cpu_batch = 1;  // batch assumed for the CPU columns (see above)
  // Fill GraphSample::prior with perfcast's calibrated roofline latency (predict/roofline.h, fp32,
  // the same graph and device), in ms like the target.
  bool roofline_prior = true;
};

struct NasBench201Column {
  std::string column;     // CSV header
  std::string device_id;  // catalog id
  int64_t batch = 1;
  bool batch_stated = false;  // false: the source states no batch (CPU columns; cpu_batch used)
};

// The usable columns of the file's header, in header order (columns without a catalog device are
// left out). Throws perfcast::Error when the file is missing or has no arch_str column.
std::vector<NasBench201Column> nasbench201_columns(const NasBench201Options& options,
                                                   const hardware::DeviceCatalog& catalog);

// The labelled samples, ordered by architecture (file order) then column (header order). Empty
// latency cells are skipped; a cell that is not a number, or not positive, is an error naming the
// line and column. Throws perfcast::Error for a missing file or a bad filter.
std::vector<GraphSample> load_nasbench201_samples(const NasBench201Options& options,
                                                  const hardware::DeviceCatalog& catalog);
std::vector<GraphSample> load_nasbench201_samples(const NasBench201Options& options = {});

// Unlabelled graphs for autoencoder pre-training: one sample per selected architecture at
// `batch`, target NaN, device_id empty, static_features = the graph-level block only (the first
// entries of static_feature_names(), no device features). Uses data_dir, max_architectures, seed.
std::vector<GraphSample> load_nasbench201_graphs(const NasBench201Options& options = {}, int64_t batch = 1);

// Architecture strings of the file (arch_str column), in file order, after the max_architectures
// selection.
std::vector<std::string> nasbench201_architectures(const NasBench201Options& options = {});

}  // namespace perfcast::learn
