#include "common/json_file.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/error.h"
#include "support/test_helpers.h"

namespace perfcast {
namespace {

using testing::write_temp;

TEST(JsonFile, ReadsAndChecksNumbers) {
  const std::string path = write_temp("perfcast_json_file_ok.json", R"({"a": 0.5, "s": "x", "big": 1e9})");
  const nlohmann::json j = read_json_file(path, "test calibration");
  EXPECT_DOUBLE_EQ(json_number(j, "a", path, 0, 1), 0.5);
  EXPECT_NE(testing::error_of([&] { json_number(j, "missing", path, 0, 1); }).find("missing key 'missing'"),
            std::string::npos);
  EXPECT_NE(testing::error_of([&] { json_number(j, "s", path, 0, 1); }).find("key 's' must be a number"),
            std::string::npos);
  const std::string range = testing::error_of([&] { json_number(j, "big", path, 0, 1, "section.big"); });
  EXPECT_NE(range.find("'section.big' = 1000000000 is outside [0, 1]"), std::string::npos) << range;
  EXPECT_NE(range.find(path), std::string::npos) << range;
}

TEST(JsonFile, MissingAndCorruptFilesAreErrorsNamingThem) {
  const std::string missing = testing::error_of([] { read_json_file("/nonexistent/x.json", "power calibration"); });
  EXPECT_NE(missing.find("power calibration '/nonexistent/x.json' cannot be read"), std::string::npos) << missing;
  const std::string path = write_temp("perfcast_json_file_bad.json", "{\"a\": ");
  const std::string bad = testing::error_of([&] { read_json_file(path, "power calibration"); });
  EXPECT_NE(bad.find("not valid JSON"), std::string::npos) << bad;
}

}  // namespace
}  // namespace perfcast
