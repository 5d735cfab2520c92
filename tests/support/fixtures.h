#pragma once
// Access to the ONNX models exported from torchvision by tests/fixtures/export_models.py
// (the `export_fixtures` CTest fixture runs it before the suite) and to their manifest.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

namespace perfcast::testing {

inline std::string fixture_path(const std::string& file) { return std::string(PERFCAST_FIXTURE_DIR) + "/" + file; }

inline const nlohmann::json& fixture_manifest() {
  static const nlohmann::json manifest = [] {
    std::ifstream in(fixture_path("manifest.json"));
    if (!in) return nlohmann::json();
    return nlohmann::json::parse(in);
  }();
  return manifest;
}

// The manifest entry of a model; fails the test (not skips) when the fixtures were not exported.
inline const nlohmann::json& fixture_model(const std::string& name) {
  const auto& models = fixture_manifest()["models"];
  if (!models.contains(name)) {
    ADD_FAILURE() << "fixture '" << name << "' missing from " << fixture_path("manifest.json")
                  << "; run: /usr/bin/python3 tests/fixtures/export_models.py " << PERFCAST_FIXTURE_DIR;
    static const nlohmann::json empty = nlohmann::json::object();
    return empty;
  }
  return models[name];
}

}  // namespace perfcast::testing
