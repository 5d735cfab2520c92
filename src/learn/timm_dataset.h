#pragma once
// timm's measured GPU inference throughput (shared/data/timm beside the repository, benchmark-infer-*.csv) as
// rows for the learned predictors, and the train/test splits used to evaluate them.
//
// Files used: the GPU inference files whose device is in perfcast's catalog (rtx3090 -> rtx-3090,
// rtx4090 / 4090 -> rtx-4090). The RTX 5090 and RTX PRO 6000 files are skipped (no catalog entry),
// as are the CPU files. File-name tokens give the precision (amp -> fp16, amp_bf16/bf16 -> bf16),
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

}  // namespace perfcast::learn
