#include "learn/gnn_plugin.h"

#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include "common/error.h"

namespace perfcast::learn {
namespace {

constexpr const char* kPluginFile = "libperfcast_gnn.so";

std::vector<std::string> candidate_paths() {
  if (const char* env = std::getenv("PERFCAST_GNN_PLUGIN"); env && *env) return {env};
  std::vector<std::string> paths;
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    paths.push_back((exe.parent_path() / kPluginFile).string());
    paths.push_back((exe.parent_path().parent_path() / kPluginFile).string());  // tests/ and bench/ sit one below
  }
#ifdef PERFCAST_GNN_PLUGIN_DIR
  paths.push_back(std::string(PERFCAST_GNN_PLUGIN_DIR) + "/" + kPluginFile);
#endif
  return paths;
}

const gnn::GnnCommands* open_plugin() {
  std::string tried;
  for (const auto& path : candidate_paths()) {
    if (!std::filesystem::exists(path)) {
      tried += "\n  " + path + ": not found";
      continue;
    }
    // RTLD_LOCAL: the plugin carries its own copy of the perfcast code it uses.
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      tried += "\n  " + path + ": " + dlerror();
      continue;
    }
    using Entry = const gnn::GnnCommands* (*)();
    auto entry = reinterpret_cast<Entry>(dlsym(handle, "perfcast_gnn_commands"));
    if (!entry) {
      tried += "\n  " + path + ": no perfcast_gnn_commands symbol";
      continue;
    }
    const gnn::GnnCommands* commands = entry();
    if (commands->abi_version != gnn::kGnnCommandsAbiVersion) {
      tried += "\n  " + path + ": built from another perfcast version (ABI " + std::to_string(commands->abi_version) +
               ", expected " + std::to_string(gnn::kGnnCommandsAbiVersion) + ")";
      continue;
    }
    return commands;
  }
  throw Error("the graph neural network predictors need " + std::string(kPluginFile) +
              " (built with libtorch beside the perfcast executable); could not load it:" + tried +
              "\nRebuild perfcast (bash scripts/build.sh) or set PERFCAST_GNN_PLUGIN to the file.");
}

}  // namespace

const gnn::GnnCommands& gnn_commands() {
  static std::once_flag once;
  static const gnn::GnnCommands* commands = nullptr;
  std::call_once(once, [] { commands = open_plugin(); });
  return *commands;
}

}  // namespace perfcast::learn
