#include "common/csv.h"

#include <gtest/gtest.h>

#include <functional>

#include "common/error.h"
#include "support/test_helpers.h"
#include "hardware/device_catalog.h"

namespace perfcast {
namespace {

using testing::error_of;

TEST(CarbonCsv, QuotedFieldsKeepCommasQuotesAndLineBreaks) {
  const CsvTable t = parse_csv(
      "\xEF\xBB\xBF" "a,b,c\r\n1,\"x, y\",\"say \"\"hi\"\"\"\r\n\n2,\"two\nlines\",\r\n", "mem.csv");
  ASSERT_EQ(t.columns, (std::vector<std::string>{"a", "b", "c"}));
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(t.rows[0].at("b"), "x, y");
  EXPECT_EQ(t.rows[0].at("c"), "say \"hi\"");
  EXPECT_DOUBLE_EQ(t.rows[0].number("a"), 1);
  EXPECT_EQ(t.rows[1].at("b"), "two\nlines");
  EXPECT_EQ(t.rows[1].at("c"), "");
  EXPECT_EQ(t.rows[1].line(), 4);
  EXPECT_FALSE(t.rows[1].optional_number("c").has_value());
}

TEST(CarbonCsv, ErrorsNameFileLineAndColumn) {
  std::string m = error_of([] { parse_csv("a,b\n1,2\n3\n", "f.csv"); });
  EXPECT_NE(m.find("f.csv:3"), std::string::npos) << m;
  m = error_of([] { parse_csv("a,b\n1,\"open\n", "f.csv"); });
  EXPECT_NE(m.find("never closed"), std::string::npos) << m;
  const CsvTable t = parse_csv("a,b\nx,2.5\n", "f.csv");
  m = error_of([&] { t.rows[0].number("a"); });
  EXPECT_NE(m.find("f.csv:2"), std::string::npos) << m;
  EXPECT_NE(m.find("'a'"), std::string::npos) << m;
  m = error_of([&] { t.rows[0].at("zzz"); });
  EXPECT_NE(m.find("zzz"), std::string::npos) << m;
  m = error_of([&] { t.rows[0].integer("b"); });
  EXPECT_NE(m.find("whole number"), std::string::npos) << m;
  m = error_of([&] { t.require_columns({"a", "price"}); });
  EXPECT_NE(m.find("price"), std::string::npos) << m;
  m = error_of([] { read_csv("/nonexistent/x.csv"); });
  EXPECT_NE(m.find("/nonexistent/x.csv"), std::string::npos) << m;
}

TEST(CarbonCsv, ReadsTheShippedTables) {
  const std::string dir = hardware::default_data_dir();
  EXPECT_EQ(read_csv(dir + "/carbon/grid_intensity.csv").rows.size(), 367u);
  EXPECT_EQ(read_csv(dir + "/carbon/cloud_regions.csv").rows.size(), 106u);
  EXPECT_EQ(read_csv(dir + "/carbon/water_intensity.csv").rows.size(), 50u);
  EXPECT_EQ(read_csv(dir + "/carbon/pue_defaults.csv").rows.size(), 14u);
  EXPECT_EQ(read_csv(dir + "/prices/cloud_instances.csv").rows.size(), 42u);
}

}  // namespace
}  // namespace perfcast
