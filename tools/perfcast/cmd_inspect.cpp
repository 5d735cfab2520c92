#include <fmt/format.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "model_flags.h"
#include "common/error.h"
#include "graph/graph_summary.h"
#include "graph/model_source.h"

namespace perfcast::cli {
namespace {

struct InspectArgs {
  std::string model;
  ModelFlags shape_flags;
  bool json = false;
};

void print_table(const graph::GraphSummary& s, const std::string& model) {
  std::cout << fmt::format("model            {}\n", model);
  for (const auto& in : s.inputs) {
    std::string dims;
    for (size_t i = 0; i < in.shape.size(); ++i) dims += (i ? "x" : "") + std::to_string(in.shape[i]);
    std::cout << fmt::format("input            {} [{}] {}\n", in.name, dims, graph::dtype_name(in.dtype));
  }
  std::cout << fmt::format("nodes / edges    {} / {}\n", s.nodes, s.edges);
  std::cout << fmt::format("MACs             {}\n", format_count(s.macs));
  std::cout << fmt::format("FLOPs            {}\n", format_count(s.flops));
  std::cout << fmt::format("parameters       {} ({})\n", format_count(static_cast<double>(s.params)),
                           format_bytes(static_cast<double>(s.param_bytes)));
  std::cout << fmt::format("activations      {} in all, peak {} live (at {})\n",
                           format_bytes(static_cast<double>(s.activation_bytes)),
                           format_bytes(static_cast<double>(s.peak_activation_bytes)), s.peak_activation_node);
  std::cout << fmt::format("memory traffic   {} read, {} written\n\n", format_bytes(static_cast<double>(s.bytes_read)),
                           format_bytes(static_cast<double>(s.bytes_written)));
  std::cout << fmt::format("{:<24} {:>6} {:>12} {:>12} {:>12} {:>12} {:>12}\n", "operator", "count", "MACs", "FLOPs",
                           "params", "read", "written");
  for (const auto& op : s.ops) {
    std::cout << fmt::format("{:<24} {:>6} {:>12} {:>12} {:>12} {:>12} {:>12}\n", op.op_type, op.count,
                             format_count(op.macs), format_count(op.flops),
                             format_count(static_cast<double>(op.params)),
                             format_bytes(static_cast<double>(op.bytes_read)),
                             format_bytes(static_cast<double>(op.bytes_written)));
  }
  for (const auto& [type, count] : s.unknown_ops) {
    std::cout << fmt::format("warning: {} node(s) of operator '{}' have no cost rule and are NOT counted\n", count,
                             type);
  }
  for (const auto& node : s.incomplete_nodes) std::cout << fmt::format("warning: not costed: {}\n", node);
}

}  // namespace

void register_inspect(CLI::App& app) {
  auto args = std::make_shared<InspectArgs>();
  CLI::App* cmd = app.add_subcommand("inspect", "Count what a model does (ONNX file, config.json or bundled id): MACs, FLOPs, parameters, memory");
  cmd->add_option("model", args->model, "ONNX file, Hugging Face config.json or bundled model id (perfcast models)")->required();
  add_model_flags(*cmd, args->shape_flags);
  cmd->add_flag("--json", args->json, "Print machine-readable JSON");
  cmd->callback([args] {
    const graph::Graph g = graph::load_model(args->model, to_model_load_options(args->shape_flags));
    const graph::GraphSummary summary = graph::summarize(g);
    if (args->json) {
      nlohmann::json j = graph::to_json(summary);
      j["model"] = args->model;
      std::cout << j.dump(2) << "\n";
    } else {
      print_table(summary, args->model);
    }
  });
}

}  // namespace perfcast::cli
