#include "common/json_file.h"

#include <fmt/format.h>

#include <cmath>
#include <fstream>

#include "common/error.h"

namespace perfcast {

nlohmann::json read_json_file(const std::string& path, const std::string& what) {
  std::ifstream in(path);
  if (!in) throw Error(fmt::format("{} '{}' cannot be read (set PERFCAST_DATA_DIR?)", what, path));
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("{}: not valid JSON: {}", path, e.what()));
  }
}

double json_number(const nlohmann::json& parent, const std::string& key, const std::string& file, double lo,
                   double hi, const std::string& name) {
  const std::string shown = name.empty() ? key : name;
  if (!parent.is_object() || !parent.contains(key)) throw Error(fmt::format("{}: missing key '{}'", file, shown));
  const auto& v = parent.at(key);
  if (!v.is_number()) throw Error(fmt::format("{}: key '{}' must be a number", file, shown));
  const double x = v.get<double>();
  if (!std::isfinite(x) || x < lo || x > hi)
    throw Error(fmt::format("{}: key '{}' = {} is outside [{}, {}]", file, shown, x, lo, hi));
  return x;
}

}  // namespace perfcast
