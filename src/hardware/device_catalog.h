#pragma once
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "hardware/device.h"

namespace perfcast::hardware {

// The perfcast data folder: $PERFCAST_DATA_DIR when set and not empty, else the data/ folder of
// the source tree this binary was built from.
std::string default_data_dir();

// Reads one device file (schema in data/devices/SOURCES.md). Throws perfcast::Error naming the
// file and the missing or invalid key. Required: id, name, kind (gpu|cpu), compute.fp32_tflops,
// memory.capacity_gib, memory.bandwidth_gb_s, power.tdp_w, power.idle_w. Without [embodied] the
// device's embodied_kgco2e and lifetime_years stay 0 and embodied_known is false.
Device load_device_file(const std::string& path);

// Every device of a catalog folder (one ID.toml per device), sorted by id.
class DeviceCatalog {
 public:
  // Throws perfcast::Error when the folder is missing or empty, when a file is malformed, when a
  // file name is not its id plus ".toml", or when an id or alias appears twice (case-insensitive).
  static DeviceCatalog load(const std::string& dir = default_data_dir() + "/devices");

  // By exact id, then by id or alias ignoring case, then, when the argument names an existing
  // .toml file, by loading that file (a user's own device). Otherwise throws perfcast::Error
  // with the closest ids ("unknown device 'h1000'; did you mean: h100-sxm5-80gb, ...?").
  const Device& get(const std::string& id_alias_or_path) const;
  // By id or alias only (no files); nullptr when unknown.
  const Device* find(const std::string& id_or_alias) const;

  const std::vector<Device>& devices() const { return devices_; }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  std::vector<Device> devices_;
  std::map<std::string, size_t> by_key_;  // lower-cased id or alias -> index
  struct UserFiles {
    std::mutex mutex;
    std::deque<Device> devices;  // deque: references stay valid as it grows
  };
  // Devices loaded through get(path), kept alive here (shared by copies of the catalog).
  std::shared_ptr<UserFiles> user_files_ = std::make_shared<UserFiles>();
};

// Every field of a device, MIG profiles included. peak_tflops is keyed by precision name
// ("fp16"); its int8 entry is in TOPS.
nlohmann::json to_json(const Device& device);

}  // namespace perfcast::hardware
