#pragma once
#include <string>
#include <vector>

namespace perfcast {

// Case-insensitive Levenshtein distance.
int edit_distance(const std::string& a, const std::string& b);

// The candidates that look like `query` (case-insensitive), closest first, at most `limit`:
// a candidate that contains the query, or whose whole text or a prefix is within a few edits
// of it (about one edit per four characters of the query). Used for "did you mean" messages.
std::vector<std::string> close_matches(const std::string& query, const std::vector<std::string>& candidates,
                                       size_t limit = 5);

}  // namespace perfcast
