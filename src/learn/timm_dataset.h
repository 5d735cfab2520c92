#pragma once
// timm's measured GPU inference throughput (shared/data/timm beside the repository, benchmark-infer-*.csv) as
// rows for the learned predictors, and the train/test splits used to evaluate them.
//
// Files used: the GPU inference files whose device is in perfcast's catalog (rtx3090 -> rtx-3090,
// rtx4090 / 4090 -> rtx-4090, 5090 -> rtx-5090, pro6000maxq -> rtx-pro-6000-blackwell-max-q, through
// the catalog's aliases). CPU files are skipped. File-name tokens give the precision (amp -> fp16, amp_bf16/bf16 -> bf16),
// the layout (nhwc = channels_last), the PyTorch version (pt240 -> 2.4) and torch.compile (-dynamo).
// Rows with an empty step time, GMACs, activation count or parameter count are skipped (counted).
#include <cstdint>
#include <string>
#include <vector>

#include "hardware/device_catalog.h"
#include "learn/features.h"

namespace perfcast::learn {

struct TimmRow {
  WorkloadRow workload;
  std::string family;        // model_family(workload.model)
  std::string device_id;     // catalog id
  std::string file;          // file name (no folder)
  double step_time_ms = 0;   // measured time of one batch
  double samples_per_s = 0;  // measured throughput
};

struct TimmDataset {
  std::string dir;
  std::vector<TimmRow> rows;
  std::vector<std::string> files_used;
  std::vector<std::string> files_skipped;  // "name: reason"
  int64_t rows_skipped = 0;                // empty cells
};

// $PERFCAST_TIMM_DIR when set and not empty, else shared/data/timm beside the repository (dataset::default_shared_data_dir).
std::string default_timm_dir();

// Throws perfcast::Error when the folder holds no usable file.
TimmDataset load_timm_inference(const std::string& dir, const hardware::DeviceCatalog& catalog);

enum class SplitKind { kFamily, kDevice, kRandom };
std::string split_name(SplitKind kind);
// "family", "device", "random"; throws perfcast::Error.
SplitKind parse_split(const std::string& text);

struct Split {
  std::vector<size_t> train;  // row indices
  std::vector<size_t> test;
  std::vector<std::string> test_families;  // family split only
};

// family: a seeded shuffle of the sorted distinct families, the first round(test_fraction * n)
//         families are held out (every row of a family is on one side);
// device: train = rtx-3090 rows, test = rtx-4090 rows (the seed does not change it);
// random: each row held out with probability test_fraction (reference only: the same model
//         appears in both sides through its other files).
Split make_split(const TimmDataset& data, SplitKind kind, uint64_t seed, double test_fraction = 0.2);

// Leave-one-device-out: train = every row of the other devices, test = the rows of `device_id`.
// Throws perfcast::Error when either side is empty.
Split make_device_holdout(const TimmDataset& data, const std::string& device_id);
// Catalog ids of the devices with rows, sorted.
std::vector<std::string> dataset_devices(const TimmDataset& data);

// Settings a timm benchmark file name fixes (precision, layout, PyTorch version, torch.compile),
// written into `row`; the device token in *device_token. False (and `why`) when the name is not a
// GPU mixed-precision inference file name "benchmark-infer-<prec>-<layout>-pt<ver>-<cuda>-<device>[-dynamo].csv".
bool timm_file_settings(const std::string& file_name, WorkloadRow& row, std::string* device_token, std::string& why);

}  // namespace perfcast::learn
