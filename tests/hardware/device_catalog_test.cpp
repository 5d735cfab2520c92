#include "hardware/device_catalog.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "common/error.h"
#include "support/test_helpers.h"

namespace perfcast::hardware {
namespace {
namespace fs = std::filesystem;

// The shipped catalog, loaded once for the whole suite.
const DeviceCatalog& catalog() {
  static const DeviceCatalog c = DeviceCatalog::load();
  return c;
}

using testing::error_of;

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A fresh folder under the system temp dir, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() /
            ("perfcast-catalog-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string write(const std::string& name, const std::string& text) const {
    const fs::path p = path_ / name;
    std::ofstream(p) << text;
    return p.string();
  }
  std::string str() const { return path_.string(); }

 private:
  fs::path path_;
};

const char* kMinimalDevice = R"(id = "my-accel"
name = "My Accelerator"
kind = "gpu"
aliases = ["myaccel"]
[compute]
fp32_tflops = 10
bf16_tflops = 80.5
[memory]
capacity_gib = 16
bandwidth_gb_s = 500
[power]
tdp_w = 200
idle_w = 20
)";

TEST(Catalog, LoadsEveryShippedFile) {
  size_t files = 0;
  for (const auto& entry : fs::directory_iterator(default_data_dir() + "/devices")) {
    files += entry.path().extension() == ".toml";
  }
  EXPECT_EQ(files, 43u);  // update with data/devices/SOURCES.md when a device is added
  ASSERT_EQ(catalog().devices().size(), files);
  for (size_t i = 1; i < catalog().devices().size(); ++i) {
    EXPECT_LT(catalog().devices()[i - 1].id, catalog().devices()[i].id) << "devices are sorted by id";
  }
  for (const Device& d : catalog().devices()) {
    EXPECT_TRUE(d.kind == "gpu" || d.kind == "cpu") << d.id;
    EXPECT_TRUE(d.supports(Precision::kFp32)) << d.id;
    EXPECT_GT(d.memory_gib, 0) << d.id;
    EXPECT_GT(d.tdp_w, d.idle_w) << d.id;
    EXPECT_TRUE(d.embodied_known) << d.id;
    EXPECT_EQ(fs::path(d.file).filename().string(), d.id + ".toml");
  }
}

TEST(Catalog, H100PeaksAreTheFilesDenseFigures) {
  const Device& h100 = catalog().get("h100-sxm5-80gb");
  EXPECT_DOUBLE_EQ(h100.peak_flops(Precision::kFp16), 989.4e12);
  EXPECT_TRUE(h100.supports(Precision::kBf16));
  EXPECT_DOUBLE_EQ(h100.peak_flops(Precision::kBf16), 989.4e12);
  EXPECT_DOUBLE_EQ(h100.peak_flops(Precision::kFp8), 1978.9e12);
  EXPECT_DOUBLE_EQ(h100.peak_flops(Precision::kInt8), 1978.9e12);  // int8 in OP/s
  EXPECT_EQ(h100.sm_count, 132);
  EXPECT_DOUBLE_EQ(h100.memory_gib, 80);
  EXPECT_DOUBLE_EQ(h100.bandwidth_bytes_per_s(), 3350e9);
  EXPECT_DOUBLE_EQ(h100.tdp_w, 700);
  EXPECT_DOUBLE_EQ(h100.idle_w, 70);
  EXPECT_DOUBLE_EQ(h100.nvlink_gb_s, 900);
  EXPECT_DOUBLE_EQ(h100.embodied_kgco2e, 46.65);
  EXPECT_DOUBLE_EQ(h100.lifetime_years, 5);
  ASSERT_EQ(h100.mig_profiles.size(), 7u);
  EXPECT_EQ(h100.mig_profiles.back().name, "7g.80gb");
  EXPECT_DOUBLE_EQ(h100.mig_profiles.back().memory_gib, 79.25);
  EXPECT_EQ(h100.mig_profiles.back().sm_count, 132);
}

TEST(Catalog, A100HasNoFp8AndTheErrorSaysSo) {
  const Device& a100 = catalog().get("a100-sxm4-40gb");
  EXPECT_FALSE(a100.supports(Precision::kFp8));
  const std::string message = error_of([&] { a100.peak_flops(Precision::kFp8); });
  EXPECT_NE(message.find("fp8"), std::string::npos) << message;
  EXPECT_NE(message.find("a100-sxm4-40gb"), std::string::npos) << message;
  EXPECT_NE(message.find("bf16"), std::string::npos) << "lists what is supported: " << message;
}

TEST(Catalog, AmdAndCpuFilesLoad) {
  const Device& mi250x = catalog().get("mi250x");
  EXPECT_DOUBLE_EQ(mi250x.xgmi_gb_s, 800);
  EXPECT_DOUBLE_EQ(mi250x.nvlink_gb_s, 0);
  EXPECT_FALSE(mi250x.supports(Precision::kTf32));
  EXPECT_TRUE(mi250x.mig_profiles.empty());
  const Device& xeon = catalog().get("xeon-platinum-8480plus");
  EXPECT_EQ(xeon.kind, "cpu");
  EXPECT_DOUBLE_EQ(xeon.peak_flops(Precision::kBf16), 114.7e12);
  EXPECT_EQ(xeon.sm_count, 56);
}

TEST(Catalog, AliasLookupIgnoresCase) {
  EXPECT_EQ(catalog().get("A100-SXM4-40GB").id, "a100-sxm4-40gb");
  EXPECT_EQ(catalog().get("a100-sxm4-40gb").id, "a100-sxm4-40gb");
  EXPECT_EQ(catalog().get("nvidia a100-sxm4-40gb").id, "a100-sxm4-40gb");
  EXPECT_EQ(catalog().get("H100").id, "h100-sxm5-80gb");
  EXPECT_EQ(catalog().get("Intel(R) Xeon(R) Platinum 8480+").id, "xeon-platinum-8480plus");
  EXPECT_EQ(catalog().find("no-such-thing"), nullptr);
}

TEST(Catalog, UnknownDeviceSuggestsCloseIds) {
  const std::string message = error_of([] { catalog().get("h1000"); });
  EXPECT_NE(message.find("unknown device 'h1000'"), std::string::npos) << message;
  EXPECT_NE(message.find("h100-sxm5-80gb"), std::string::npos) << message;
  EXPECT_NE(message.find("h100"), std::string::npos) << message;
  EXPECT_NE(message.find("perfcast devices"), std::string::npos) << message;
  const std::string far = error_of([] { catalog().get("zzzzzzzz"); });
  EXPECT_EQ(far.find("did you mean"), std::string::npos) << far;
}

TEST(Catalog, UserTomlPathLoads) {
  TempDir dir;
  const std::string path = dir.write("my-accel.toml", kMinimalDevice);
  const Device& d = catalog().get(path);
  EXPECT_EQ(d.id, "my-accel");
  EXPECT_EQ(d.file, path);
  EXPECT_DOUBLE_EQ(d.peak_flops(Precision::kBf16), 80.5e12);
  EXPECT_FALSE(d.supports(Precision::kFp16));
  EXPECT_FALSE(d.embodied_known);
  EXPECT_DOUBLE_EQ(d.embodied_kgco2e, 0);
  EXPECT_EQ(catalog().find("my-accel"), nullptr) << "a user file does not join the catalog";
  const std::string missing = error_of([&] { catalog().get(dir.str() + "/nope.toml"); });
  EXPECT_NE(missing.find("does not exist"), std::string::npos) << missing;
}

TEST(Catalog, MalformedFileNamesFileAndKey) {
  TempDir dir;
  const std::string shipped = read_text(default_data_dir() + "/devices/a100-sxm4-40gb.toml");
  const std::string no_bandwidth = std::regex_replace(shipped, std::regex("bandwidth_gb_s = 1555\n"), "");
  ASSERT_NE(no_bandwidth, shipped);
  const std::string path = dir.write("a100-sxm4-40gb.toml", no_bandwidth);
  std::string message = error_of([&] { load_device_file(path); });
  EXPECT_NE(message.find("memory.bandwidth_gb_s"), std::string::npos) << message;
  EXPECT_NE(message.find(path), std::string::npos) << message;
  message = error_of([&] { DeviceCatalog::load(dir.str()); });
  EXPECT_NE(message.find("memory.bandwidth_gb_s"), std::string::npos) << message;

  const std::string text_capacity =
      std::regex_replace(std::string(kMinimalDevice), std::regex("capacity_gib = 16"), "capacity_gib = \"16\"");
  message = error_of([&] { load_device_file(dir.write("a.toml", text_capacity)); });
  EXPECT_NE(message.find("memory.capacity_gib"), std::string::npos) << message;
  EXPECT_NE(message.find("must be a number"), std::string::npos) << message;

  const std::string no_id = std::regex_replace(std::string(kMinimalDevice), std::regex("id = \"my-accel\"\n"), "");
  message = error_of([&] { load_device_file(dir.write("b.toml", no_id)); });
  EXPECT_NE(message.find("'id'"), std::string::npos) << message;

  const std::string zero_peak =
      std::regex_replace(std::string(kMinimalDevice), std::regex("bf16_tflops = 80.5"), "bf16_tflops = 0");
  message = error_of([&] { load_device_file(dir.write("c.toml", zero_peak)); });
  EXPECT_NE(message.find("compute.bf16_tflops"), std::string::npos) << message;

  message = error_of([&] { load_device_file(dir.write("d.toml", "id = \"x\"\nname = [\n")); });
  EXPECT_NE(message.find("d.toml:"), std::string::npos) << message;
  EXPECT_NE(message.find("not valid TOML"), std::string::npos) << message;

  const std::string bad_kind = std::regex_replace(std::string(kMinimalDevice), std::regex("kind = \"gpu\""),
                                                  "kind = \"tpu\"");
  message = error_of([&] { load_device_file(dir.write("e.toml", bad_kind)); });
  EXPECT_NE(message.find("'kind'"), std::string::npos) << message;
}

TEST(Catalog, MigProfileMissingKeyIsNamed) {
  TempDir dir;
  const std::string text = std::string(kMinimalDevice) +
                           "[[mig_profiles]]\nname = \"1g.2gb\"\ncompute_slices = 1\nmemory_slices = 1\n"
                           "memory_gib = 2\n";
  const std::string message = error_of([&] { load_device_file(dir.write("m.toml", text)); });
  EXPECT_NE(message.find("mig_profiles[0].max_instances"), std::string::npos) << message;
}

TEST(Catalog, DuplicateIdsOrAliasesAcrossFilesAreErrors) {
  TempDir dir;
  dir.write("my-accel.toml", kMinimalDevice);
  const std::string other = std::regex_replace(
      std::regex_replace(std::string(kMinimalDevice), std::regex("id = \"my-accel\""), "id = \"other\""),
      std::regex("\\[\"myaccel\"\\]"), "[\"MYACCEL\"]");
  dir.write("other.toml", other);
  const std::string message = error_of([&] { DeviceCatalog::load(dir.str()); });
  EXPECT_NE(message.find("MYACCEL"), std::string::npos) << message;
  EXPECT_NE(message.find("unique"), std::string::npos) << message;
}

TEST(Catalog, FileNameMustBeTheId) {
  TempDir dir;
  dir.write("wrong-name.toml", kMinimalDevice);
  const std::string message = error_of([&] { DeviceCatalog::load(dir.str()); });
  EXPECT_NE(message.find("my-accel.toml"), std::string::npos) << message;
}

TEST(Catalog, MissingFolderSaysHowToFixIt) {
  const std::string message = error_of([] { DeviceCatalog::load("/nonexistent/perfcast/devices"); });
  EXPECT_NE(message.find("PERFCAST_DATA_DIR"), std::string::npos) << message;
}

TEST(Catalog, PrecisionNamesRoundTrip) {
  for (const char* name : {"fp64", "fp32", "tf32", "fp16", "bf16", "fp8", "int8"}) {
    EXPECT_EQ(precision_name(parse_precision(name)), name);
  }
  EXPECT_EQ(parse_precision("BF16"), Precision::kBf16);
  EXPECT_DOUBLE_EQ(precision_bytes(Precision::kFp64), 8);
  EXPECT_DOUBLE_EQ(precision_bytes(Precision::kTf32), 4);
  EXPECT_DOUBLE_EQ(precision_bytes(Precision::kBf16), 2);
  EXPECT_DOUBLE_EQ(precision_bytes(Precision::kFp8), 1);
  EXPECT_DOUBLE_EQ(precision_bytes(Precision::kInt8), 1);
  const std::string message = error_of([] { parse_precision("fp4"); });
  EXPECT_NE(message.find("fp16"), std::string::npos) << message;
}

TEST(Catalog, JsonHasEveryFieldAndMigProfiles) {
  const nlohmann::json j = to_json(catalog().get("a100-sxm4-40gb"));
  EXPECT_EQ(j["id"], "a100-sxm4-40gb");
  EXPECT_DOUBLE_EQ(j["peak_tflops"]["tf32"].get<double>(), 156.0);
  EXPECT_FALSE(j["peak_tflops"].contains("fp8"));
  EXPECT_DOUBLE_EQ(j["memory_bandwidth_gb_s"].get<double>(), 1555);
  ASSERT_EQ(j["mig_profiles"].size(), 7u);
  EXPECT_EQ(j["mig_profiles"][0]["name"], "1g.5gb");
  EXPECT_EQ(j["mig_profiles"][0]["sm_count"], 14);
  for (const char* key : {"name", "kind", "vendor", "architecture", "aliases", "file", "sm_count", "boost_clock_mhz",
                          "memory_gib", "l2_cache_mib", "tdp_w", "idle_w", "nvlink_gb_s", "xgmi_gb_s", "pcie_gb_s",
                          "embodied_kgco2e", "lifetime_years", "embodied_known"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
}

}  // namespace
}  // namespace perfcast::hardware
