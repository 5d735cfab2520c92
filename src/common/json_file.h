#pragma once
// Reading perfcast's own JSON data files (calibrations, manifests) with errors that name the file
// and the key at fault.
#include <nlohmann/json.hpp>
#include <string>

namespace perfcast {

// The parsed file. `what` names it in errors ("power calibration"). Throws perfcast::Error when the
// file cannot be read or is not JSON.
nlohmann::json read_json_file(const std::string& path, const std::string& what);

// parent[key] as a finite number in [lo, hi]; `name` is how the key is shown in errors (default: key).
// Throws perfcast::Error naming `file` and the key when it is missing, not a number or out of range.
double json_number(const nlohmann::json& parent, const std::string& key, const std::string& file, double lo,
                   double hi, const std::string& name = "");

}  // namespace perfcast
