#include "carbon/price_table.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "common/csv.h"
#include "common/error.h"
#include "common/suggest.h"

namespace perfcast::carbon {
namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

void sort_by_gpu_hour(std::vector<Instance>& list) {
  std::stable_sort(list.begin(), list.end(), [](const Instance& a, const Instance& b) {
    return a.price_usd_per_gpu_hour() < b.price_usd_per_gpu_hour();
  });
}

}  // namespace

PriceTable PriceTable::load(const std::string& path) {
  const CsvTable csv = read_csv(path);
  csv.require_columns({"provider", "instance_type", "gpu_id", "gpu_count", "vcpus", "memory_gib", "region",
                       "price_usd_per_hour", "price_date", "source"});
  PriceTable t;
  for (const CsvRow& row : csv.rows) {
    Instance i;
    i.provider = row.required("provider");
    i.type = row.required("instance_type");
    i.gpu_id = row.required("gpu_id");
    i.gpu_count = static_cast<int>(row.integer("gpu_count"));
    if (i.gpu_count < 1) throw Error(fmt::format("{}:{}: gpu_count must be at least 1", path, row.line()));
    i.vcpus = static_cast<int>(row.optional_number("vcpus").value_or(0));
    i.memory_gib = row.optional_number("memory_gib").value_or(0);
    i.region = row.at("region");
    i.price_usd_per_hour = row.number("price_usd_per_hour");
    if (i.price_usd_per_hour <= 0) {
      throw Error(fmt::format("{}:{}: price_usd_per_hour must be greater than 0", path, row.line()));
    }
    i.price_date = row.at("price_date");
    i.source = row.at("source");
    t.instances_.push_back(std::move(i));
  }
  return t;
}

std::vector<Instance> PriceTable::for_gpu(const std::string& gpu_id) const {
  std::vector<Instance> out;
  for (const Instance& i : instances_) {
    if (i.gpu_id == gpu_id) out.push_back(i);
  }
  sort_by_gpu_hour(out);
  return out;
}

std::optional<RegionalOffer> PriceTable::cheapest_in(const std::string& gpu_id, const Region& region) const {
  const std::vector<Instance> offers = for_gpu(gpu_id);  // cheapest per GPU-hour first
  if (offers.empty()) return std::nullopt;
  if (region.provider.empty()) return RegionalOffer{offers.front(), "any provider"};
  const auto first = [&](auto pred) {
    const auto it = std::find_if(offers.begin(), offers.end(), pred);
    return it == offers.end() ? nullptr : &*it;
  };
  if (const Instance* i = first([&](const Instance& o) {
        return o.provider == region.provider && o.region == region.cloud_region;
      }))
    return RegionalOffer{*i, region.key};
  if (const Instance* i = first([&](const Instance& o) { return o.provider == region.provider; }))
    return RegionalOffer{*i, region.provider + " (no price listed in " + region.cloud_region + ")"};
  return RegionalOffer{offers.front(), "any provider (" + region.provider + " lists none)"};
}

std::map<std::string, Instance> PriceTable::cheapest_per_gpu() const {
  std::map<std::string, Instance> out;
  for (const Instance& i : instances_) {
    const auto it = out.find(i.gpu_id);
    if (it == out.end() || i.price_usd_per_gpu_hour() < it->second.price_usd_per_gpu_hour()) out[i.gpu_id] = i;
  }
  return out;
}

std::vector<Instance> PriceTable::of_type(const std::string& type) const {
  std::vector<Instance> out;
  for (const Instance& i : instances_) {
    if (lower(i.type) == lower(type)) out.push_back(i);
  }
  if (!out.empty()) return out;
  std::vector<std::string> types;
  for (const Instance& i : instances_) {
    if (std::find(types.begin(), types.end(), i.type) == types.end()) types.push_back(i.type);
  }
  const auto close = close_matches(type, types);
  throw Error(fmt::format("no price for instance type '{}' in data/prices/cloud_instances.csv{}", type,
                          close.empty() ? std::string("; pass --price-per-device-hour instead")
                                        : fmt::format("; did you mean: {}?", fmt::join(close, ", "))));
}

}  // namespace perfcast::carbon
