#include "hardware/device_catalog.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <toml++/toml.h>

#include "common/error.h"
#include "common/suggest.h"

namespace perfcast::hardware {
namespace fs = std::filesystem;

namespace {

std::string lower(const std::string& s) {
  std::string out = s;
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool ends_with_toml(const std::string& s) {
  return s.size() > 5 && lower(s.substr(s.size() - 5)) == ".toml";
}

std::string type_name(toml::node_type type) {
  switch (type) {
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a number";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    default: return "a date or time";
  }
}

// Typed, error-reporting access to the keys of one parsed device file.
class Reader {
 public:
  Reader(const toml::table& table, std::string file) : table_(table), file_(std::move(file)) {}

  std::optional<double> number(const std::string& key, const toml::node_view<const toml::node>& view) const {
    if (!view) return std::nullopt;
    if (!view.is_number()) {
      throw Error(fmt::format("{}: key '{}' must be a number, got {}", file_, key, type_name(view.type())));
    }
    const double value = *view.value<double>();
    if (!std::isfinite(value)) throw Error(fmt::format("{}: key '{}' must be a finite number", file_, key));
    return value;
  }
  std::optional<double> number(const std::string& key) const { return number(key, table_.at_path(key)); }

  double required_number(const std::string& key) const {
    const auto value = number(key);
    if (!value) throw Error(fmt::format("{}: missing required key '{}'", file_, key));
    return *value;
  }

  double positive(const std::string& key, std::optional<double> value) const {
    if (value && *value <= 0) {
      throw Error(fmt::format("{}: key '{}' must be greater than 0, got {}", file_, key, *value));
    }
    return value.value_or(0);
  }

  double non_negative(const std::string& key, std::optional<double> value) const {
    if (value && *value < 0) throw Error(fmt::format("{}: key '{}' must not be negative, got {}", file_, key, *value));
    return value.value_or(0);
  }

  std::optional<int> integer(const std::string& key, const toml::node_view<const toml::node>& view) const {
    const auto value = number(key, view);
    if (!value) return std::nullopt;
    if (*value != std::floor(*value) || *value < 0 || *value > 1e9) {
      throw Error(fmt::format("{}: key '{}' must be a whole number of at least 0, got {}", file_, key, *value));
    }
    return static_cast<int>(*value);
  }

  std::optional<std::string> string(const std::string& key,
                                    const toml::node_view<const toml::node>& view) const {
    if (!view) return std::nullopt;
    if (!view.is_string()) {
      throw Error(fmt::format("{}: key '{}' must be a string, got {}", file_, key, type_name(view.type())));
    }
    return *view.value<std::string>();
  }
  std::optional<std::string> string(const std::string& key) const { return string(key, table_.at_path(key)); }

  std::string required_string(const std::string& key) const {
    const auto value = string(key);
    if (!value) throw Error(fmt::format("{}: missing required key '{}'", file_, key));
    if (value->empty()) throw Error(fmt::format("{}: key '{}' must not be empty", file_, key));
    return *value;
  }

  const std::string& file() const { return file_; }

 private:
  const toml::table& table_;
  std::string file_;
};

constexpr std::pair<Precision, const char*> kPrecisionKeys[] = {
    {Precision::kFp64, "compute.fp64_tflops"}, {Precision::kFp32, "compute.fp32_tflops"},
    {Precision::kTf32, "compute.tf32_tflops"}, {Precision::kFp16, "compute.fp16_tflops"},
    {Precision::kBf16, "compute.bf16_tflops"}, {Precision::kFp8, "compute.fp8_tflops"},
    {Precision::kInt8, "compute.int8_tops"},
};

Device parse_device(const toml::table& table, const std::string& file) {
  const Reader r(table, file);
  Device d;
  d.file = file;
  d.id = r.required_string("id");
  d.name = r.required_string("name");
  d.kind = r.required_string("kind");
  if (d.kind != "gpu" && d.kind != "cpu") {
    throw Error(fmt::format("{}: key 'kind' must be \"gpu\" or \"cpu\", got \"{}\"", file, d.kind));
  }
  d.vendor = r.string("vendor").value_or("");
  d.architecture = r.string("architecture").value_or("");
  d.chip = r.string("chip").value_or("");

  if (const auto aliases = table["aliases"]) {
    const toml::array* array = aliases.as_array();
    if (!array) throw Error(fmt::format("{}: key 'aliases' must be an array of strings", file));
    for (size_t i = 0; i < array->size(); ++i) {
      const auto* text = (*array)[i].as_string();
      if (!text || text->get().empty()) {
        throw Error(fmt::format("{}: aliases[{}] must be a non-empty string", file, i));
      }
      d.aliases.push_back(text->get());
    }
  }

  r.required_number("compute.fp32_tflops");
  for (const auto& [precision, key] : kPrecisionKeys) {
    // Absent means unsupported; a present figure must be a real peak, never 0.
    if (const auto value = r.number(key)) d.peak_tflops[precision] = r.positive(key, value);
  }
  d.sm_count = r.integer("compute.sm_count", table.at_path("compute.sm_count")).value_or(0);
  d.boost_clock_mhz = r.non_negative("compute.boost_clock_mhz", r.number("compute.boost_clock_mhz"));

  d.memory_gib = r.positive("memory.capacity_gib", r.required_number("memory.capacity_gib"));
  d.memory_bandwidth_gb_s = r.positive("memory.bandwidth_gb_s", r.required_number("memory.bandwidth_gb_s"));
  d.l2_cache_mib = r.non_negative("memory.l2_cache_mib", r.number("memory.l2_cache_mib"));

  d.tdp_w = r.positive("power.tdp_w", r.required_number("power.tdp_w"));
  d.idle_w = r.non_negative("power.idle_w", r.required_number("power.idle_w"));
  if (d.idle_w > d.tdp_w) {
    throw Error(fmt::format("{}: power.idle_w ({} W) is above power.tdp_w ({} W)", file, d.idle_w, d.tdp_w));
  }

  d.nvlink_gb_s = r.non_negative("interconnect.nvlink_gb_s", r.number("interconnect.nvlink_gb_s"));
  d.xgmi_gb_s = r.non_negative("interconnect.xgmi_gb_s", r.number("interconnect.xgmi_gb_s"));
  d.pcie_gb_s = r.non_negative("interconnect.pcie_gb_s", r.number("interconnect.pcie_gb_s"));

  const auto embodied = r.number("embodied.kgco2e");
  const auto lifetime = r.number("embodied.lifetime_years");
  if (embodied.has_value() != lifetime.has_value()) {
    throw Error(fmt::format("{}: [embodied] needs both kgco2e and lifetime_years, or neither", file));
  }
  if (embodied) {
    d.embodied_kgco2e = r.non_negative("embodied.kgco2e", embodied);
    d.lifetime_years = r.positive("embodied.lifetime_years", lifetime);
    d.embodied_known = true;
  }

  if (const auto profiles = table["mig_profiles"]) {
    const toml::array* array = profiles.as_array();
    if (!array) throw Error(fmt::format("{}: 'mig_profiles' must be an array of tables ([[mig_profiles]])", file));
    for (size_t i = 0; i < array->size(); ++i) {
      const toml::table* t = (*array)[i].as_table();
      if (!t) throw Error(fmt::format("{}: mig_profiles[{}] must be a table", file, i));
      const std::string at = fmt::format("mig_profiles[{}].", i);
      const toml::node_view<const toml::node> view{t};
      auto need_int = [&](const char* key) {
        const auto value = r.integer(at + key, view[key]);
        if (!value) throw Error(fmt::format("{}: missing required key '{}{}'", file, at, key));
        return *value;
      };
      MigProfile m;
      const auto name = r.string(at + "name", view["name"]);
      if (!name || name->empty()) throw Error(fmt::format("{}: missing required key '{}name'", file, at));
      m.name = *name;
      m.compute_slices = need_int("compute_slices");
      m.memory_slices = need_int("memory_slices");
      const auto gib = r.number(at + "memory_gib", view["memory_gib"]);
      if (!gib) throw Error(fmt::format("{}: missing required key '{}memory_gib'", file, at));
      m.memory_gib = r.positive(at + "memory_gib", gib);
      m.max_instances = need_int("max_instances");
      m.sm_count = r.integer(at + "sm_count", view["sm_count"]);
      d.mig_profiles.push_back(std::move(m));
    }
  }
  return d;
}

}  // namespace

std::string default_data_dir() {
  const char* env = std::getenv("PERFCAST_DATA_DIR");
  if (env && *env) return env;
  return PERFCAST_DATA_DIR;
}

Device load_device_file(const std::string& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) throw Error(fmt::format("device file '{}' does not exist", path));
  toml::table table;
  try {
    table = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    throw Error(fmt::format("{}:{}:{}: not valid TOML: {}", path, e.source().begin.line, e.source().begin.column,
                            e.description()));
  }
  return parse_device(table, path);
}

DeviceCatalog DeviceCatalog::load(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    throw Error(fmt::format("device catalog folder '{}' does not exist; set PERFCAST_DATA_DIR to the perfcast "
                            "data folder (the one holding devices/)", dir));
  }
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.is_regular_file() && entry.path().extension() == ".toml") files.push_back(entry.path());
  }
  if (ec) throw Error(fmt::format("cannot list device catalog folder '{}': {}", dir, ec.message()));
  if (files.empty()) throw Error(fmt::format("device catalog folder '{}' holds no .toml device files", dir));
  std::sort(files.begin(), files.end());

  DeviceCatalog catalog;
  catalog.dir_ = dir;
  for (const auto& path : files) {
    Device d = load_device_file(path.string());
    if (path.stem().string() != d.id) {
      throw Error(fmt::format("{}: the file of device '{}' must be named {}.toml", path.string(), d.id, d.id));
    }
    catalog.devices_.push_back(std::move(d));
  }
  std::sort(catalog.devices_.begin(), catalog.devices_.end(),
            [](const Device& a, const Device& b) { return a.id < b.id; });
  for (size_t i = 0; i < catalog.devices_.size(); ++i) {
    const Device& d = catalog.devices_[i];
    std::vector<std::string> keys = {d.id};
    keys.insert(keys.end(), d.aliases.begin(), d.aliases.end());
    for (const auto& key : keys) {
      const auto [it, inserted] = catalog.by_key_.emplace(lower(key), i);
      if (!inserted && it->second != i) {
        const Device& other = catalog.devices_[it->second];
        throw Error(fmt::format("{}: '{}' is already the id or an alias of '{}' ({}); ids and aliases must be "
                                "unique in the catalog (ignoring case)",
                                d.file, key, other.id, other.file));
      }
    }
  }
  return catalog;
}

const Device* DeviceCatalog::find(const std::string& id_or_alias) const {
  for (const Device& d : devices_) {
    if (d.id == id_or_alias) return &d;
  }
  const auto it = by_key_.find(lower(id_or_alias));
  return it == by_key_.end() ? nullptr : &devices_[it->second];
}

const Device& DeviceCatalog::get(const std::string& id_alias_or_path) const {
  if (const Device* d = find(id_alias_or_path)) return *d;

  std::error_code ec;
  if (ends_with_toml(id_alias_or_path) || fs::is_regular_file(id_alias_or_path, ec)) {
    if (!ends_with_toml(id_alias_or_path)) {
      throw Error(fmt::format("'{}' is a file but not a .toml device file", id_alias_or_path));
    }
    Device d = load_device_file(id_alias_or_path);
    std::lock_guard<std::mutex> lock(user_files_->mutex);
    user_files_->devices.push_back(std::move(d));
    return user_files_->devices.back();
  }

  std::vector<std::string> keys;
  std::map<std::string, std::string> id_of;
  for (const Device& d : devices_) {
    keys.push_back(d.id);
    id_of[d.id] = d.id;
    for (const auto& alias : d.aliases) {
      keys.push_back(alias);
      id_of.emplace(alias, d.id);
    }
  }
  std::vector<std::string> ids;
  for (const auto& key : close_matches(id_alias_or_path, keys, keys.size())) {
    const std::string& id = id_of[key];
    if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
    if (ids.size() == 5) break;
  }
  if (ids.empty()) {
    throw Error(fmt::format("unknown device '{}' (perfcast devices lists them; a path to your own .toml device "
                            "file also works)", id_alias_or_path));
  }
  throw Error(fmt::format("unknown device '{}'; did you mean: {}? (perfcast devices lists them)", id_alias_or_path,
                          fmt::join(ids, ", ")));
}

nlohmann::json to_json(const Device& d) {
  nlohmann::json peaks = nlohmann::json::object();
  for (const auto& [precision, tflops] : d.peak_tflops) peaks[precision_name(precision)] = tflops;
  nlohmann::json mig = nlohmann::json::array();
  for (const auto& m : d.mig_profiles) {
    mig.push_back({{"name", m.name},
                   {"compute_slices", m.compute_slices},
                   {"memory_slices", m.memory_slices},
                   {"memory_gib", m.memory_gib},
                   {"max_instances", m.max_instances},
                   {"sm_count", m.sm_count ? nlohmann::json(*m.sm_count) : nlohmann::json(nullptr)}});
  }
  return {{"id", d.id},
          {"name", d.name},
          {"kind", d.kind},
          {"vendor", d.vendor},
          {"architecture", d.architecture},
          {"chip", d.chip},
          {"aliases", d.aliases},
          {"file", d.file},
          {"peak_tflops", peaks},
          {"sm_count", d.sm_count},
          {"boost_clock_mhz", d.boost_clock_mhz},
          {"memory_gib", d.memory_gib},
          {"memory_bandwidth_gb_s", d.memory_bandwidth_gb_s},
          {"l2_cache_mib", d.l2_cache_mib},
          {"tdp_w", d.tdp_w},
          {"idle_w", d.idle_w},
          {"nvlink_gb_s", d.nvlink_gb_s},
          {"xgmi_gb_s", d.xgmi_gb_s},
          {"pcie_gb_s", d.pcie_gb_s},
          {"embodied_kgco2e", d.embodied_kgco2e},
          {"lifetime_years", d.lifetime_years},
          {"embodied_known", d.embodied_known},
          {"mig_profiles", mig}};
}

}  // namespace perfcast::hardware
