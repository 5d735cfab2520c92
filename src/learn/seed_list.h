#pragma once
// Seeds of a Monte-Carlo evaluation ("5" = 0..4, or "0,2,7") and the mean±sd table cells the
// evaluate commands print over them.
#include <cstdint>
#include <string>
#include <vector>

#include "learn/evaluation.h"

namespace perfcast::learn {

// A count N (seeds 0..N-1, 1 <= N <= 100) or a comma-separated list. Throws perfcast::Error.
std::vector<uint64_t> parse_seeds(const std::string& text);
// "3", "0-4" or "0,2,7".
std::string seeds_label(const std::vector<uint64_t>& seeds);

// One predictor's metrics over the seeds.
struct MetricsOverSeeds {
  std::vector<Metrics> runs;
  // "mean±sd" of one field (just the mean for one run).
  std::string cell(double Metrics::*field, int decimals) const;
};

}  // namespace perfcast::learn
