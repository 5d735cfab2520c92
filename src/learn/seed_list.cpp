#include "learn/seed_list.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "common/error.h"

namespace perfcast::learn {

std::vector<uint64_t> parse_seeds(const std::string& text) {
  std::vector<uint64_t> out;
  try {
    if (text.find(',') == std::string::npos) {
      const int n = std::stoi(text);
      if (n < 1 || n > 100) throw Error("--seeds N must be 1 to 100");
      for (int i = 0; i < n; ++i) out.push_back(static_cast<uint64_t>(i));
      return out;
    }
    size_t start = 0;
    while (start <= text.size()) {
      const size_t comma = std::min(text.find(',', start), text.size());
      out.push_back(std::stoull(text.substr(start, comma - start)));
      start = comma + 1;
    }
  } catch (const std::logic_error&) {
    throw Error("--seeds takes a count N (seeds 0..N-1) or a list such as 0,1,2; got '" + text + "'");
  }
  return out;
}

std::string seeds_label(const std::vector<uint64_t>& seeds) {
  if (seeds.size() == 1) return std::to_string(seeds.front());
  bool consecutive = true;
  for (size_t i = 0; i < seeds.size(); ++i) consecutive = consecutive && seeds[i] == seeds.front() + i;
  if (consecutive) return fmt::format("{}-{}", seeds.front(), seeds.back());
  std::string out;
  for (uint64_t s : seeds) out += (out.empty() ? "" : ",") + std::to_string(s);
  return out;
}

std::string MetricsOverSeeds::cell(double Metrics::*field, int decimals) const {
  if (runs.empty()) return "-";
  double mean = 0, sq = 0;
  for (const auto& m : runs) mean += m.*field;
  mean /= static_cast<double>(runs.size());
  for (const auto& m : runs) sq += (m.*field - mean) * (m.*field - mean);
  const double sd = runs.size() > 1 ? std::sqrt(sq / static_cast<double>(runs.size() - 1)) : 0.0;
  return runs.size() > 1 ? fmt::format("{:.{}f}±{:.{}f}", mean, decimals, sd, decimals)
                         : fmt::format("{:.{}f}", mean, decimals);
}

}  // namespace perfcast::learn
