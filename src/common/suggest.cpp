#include "common/suggest.h"

#include <algorithm>
#include <cctype>
#include <tuple>

namespace perfcast {
namespace {

std::string lower(const std::string& s) {
  std::string out = s;
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Last row of the edit-distance table of a against b: row[j] = distance(a, b[0:j]).
std::vector<int> last_row(const std::string& a, const std::string& b) {
  std::vector<int> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = static_cast<int>(j);
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = static_cast<int>(i);
    for (size_t j = 1; j <= b.size(); ++j) {
      const int substitute = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, substitute});
    }
    std::swap(prev, cur);
  }
  return prev;
}

}  // namespace

int edit_distance(const std::string& a, const std::string& b) { return last_row(lower(a), lower(b)).back(); }

std::vector<std::string> close_matches(const std::string& query, const std::vector<std::string>& candidates,
                                       size_t limit) {
  const std::string q = lower(query);
  if (q.empty()) return {};
  const int threshold = static_cast<int>(q.size() / 4);
  // (score, full distance, text)
  std::vector<std::tuple<int, int, std::string>> scored;
  for (const auto& candidate : candidates) {
    const std::string c = lower(candidate);
    const std::vector<int> row = last_row(q, c);
    const int full = row.back();
    const int prefix = *std::min_element(row.begin(), row.end());
    int score = std::min(full, prefix);
    if (c.find(q) != std::string::npos) score = 0;
    if (score <= threshold) scored.emplace_back(score, full, candidate);
  }
  std::sort(scored.begin(), scored.end());
  std::vector<std::string> out;
  for (const auto& [score, full, text] : scored) {
    if (std::find(out.begin(), out.end(), text) != out.end()) continue;
    out.push_back(text);
    if (out.size() == limit) break;
  }
  return out;
}

}  // namespace perfcast
