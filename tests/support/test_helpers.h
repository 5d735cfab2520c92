#pragma once
// Helpers every test folder uses: the message of an expected perfcast::Error, a value read
// straight from a shipped CSV (independently of the code under test), substring search, scratch
// folders and whole-file reads.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "common/csv.h"
#include "common/error.h"
#include "hardware/device_catalog.h"

namespace perfcast::testing {

inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a perfcast::Error";
  return "";
}

inline double csv_value(const std::string& file, const std::string& key_column, const std::string& key,
                        const std::string& column, const std::string& provider = "") {
  for (const CsvRow& row : read_csv(hardware::default_data_dir() + "/" + file).rows) {
    if (row.at(key_column) == key && (provider.empty() || row.at("provider") == provider)) return row.number(column);
  }
  ADD_FAILURE() << key << " not in " << file;
  return 0;
}

// An empty folder <tmp>/<prefix>-<pid>/<name>, created afresh.
inline std::string fresh_temp_dir(const std::string& prefix, const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / (prefix + "-" + std::to_string(getpid())) / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

// <tmp>/perfcast_tests-<pid>, created: per process, because ctest runs tests in parallel processes and two
// writing one path truncate each other's file.
inline std::filesystem::path process_temp_dir() {
  const auto dir = std::filesystem::temp_directory_path() / ("perfcast_tests-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  return dir;
}

// Writes `text` to process_temp_dir()/<name> and returns the path.
inline std::string write_temp(const std::string& name, const std::string& text) {
  const auto path = process_temp_dir() / name;
  std::ofstream(path) << text;
  return path.string();
}

inline std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline bool contains(const std::vector<std::string>& list, const std::string& needle) {
  for (const auto& s : list)
    if (s.find(needle) != std::string::npos) return true;
  return false;
}

}  // namespace perfcast::testing
