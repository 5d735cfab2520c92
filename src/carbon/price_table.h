#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "carbon/region_table.h"
#include "hardware/device_catalog.h"

namespace perfcast::carbon {

// One row of data/prices/cloud_instances.csv: a list on-demand price per instance-hour.
struct Instance {
  std::string provider;        // aws | gcp | azure | lambda
  std::string type;            // "p4d.24xlarge"
  std::string gpu_id;          // perfcast device id
  int gpu_count = 0;
  int vcpus = 0;
  double memory_gib = 0;
  std::string region;          // "us-east-1"; "all" when the price is the same everywhere
  double price_usd_per_hour = 0;
  std::string price_date;      // YYYY-MM-DD, when the source observed the price
  std::string source;

  double price_usd_per_gpu_hour() const { return price_usd_per_hour / gpu_count; }
};

// The instance a GPU-hour is priced at for a region, and where it was looked for.
struct RegionalOffer {
  Instance instance;
  // "aws:us-east-1" (listed in the cloud region), "aws (no price listed in us-east-1)", "any provider" (a grid
  // zone), or "any provider (azure lists none)".
  std::string scope;
};

class PriceTable {
 public:
  static PriceTable load(const std::string& path = hardware::default_data_dir() + "/prices/cloud_instances.csv");

  const std::vector<Instance>& instances() const { return instances_; }
  // Every instance carrying this GPU, cheapest per GPU-hour first.
  std::vector<Instance> for_gpu(const std::string& gpu_id) const;
  // The cheapest instance per GPU-hour carrying this GPU in the region's own cloud and region when listed there,
  // else anywhere in that cloud, else at any provider (also for a grid zone); nullopt when none is listed.
  std::optional<RegionalOffer> cheapest_in(const std::string& gpu_id, const Region& region) const;
  // gpu_id -> its cheapest instance per GPU-hour.
  std::map<std::string, Instance> cheapest_per_gpu() const;
  // Every row of an instance type (case-insensitive; several regions may be listed). Throws
  // perfcast::Error with close matches when there is none.
  std::vector<Instance> of_type(const std::string& type) const;

 private:
  std::vector<Instance> instances_;
};

}  // namespace perfcast::carbon
