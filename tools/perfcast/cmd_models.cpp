#include <fmt/format.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "common/error.h"
#include "graph/model_source.h"

namespace perfcast::cli {

void register_models(CLI::App& app) {
  auto json = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("models", "List the bundled transformer configs (data/models/hf) usable as model ids");
  cmd->add_flag("--json", *json, "Print machine-readable JSON");
  cmd->callback([json] {
    nlohmann::json rows = nlohmann::json::array();
    if (!*json) {
      std::cout << fmt::format("{:<24} {:<12} {:>6} {:>6} {:>9} {:>9} {:>11} {:>11}\n", "id", "family", "layers",
                               "hidden", "heads/kv", "experts", "params", "active");
    }
    for (const auto& m : graph::bundled_models()) {
      const graph::TransformerConfig c = graph::load_transformer_config(m.path);
      const graph::TransformerParams p = graph::transformer_params(c);
      const std::string experts =
          c.num_experts > 0 ? fmt::format("{}/{}", c.experts_per_token, c.num_experts) : std::string("-");
      if (*json) {
        rows.push_back({{"id", m.id},
                        {"model_type", c.model_type},
                        {"family", graph::family_name(c.family)},
                        {"layers", c.num_layers + c.num_decoder_layers},
                        {"hidden_size", c.hidden_size},
                        {"heads", c.num_heads},
                        {"kv_heads", c.num_kv_heads},
                        {"experts", c.num_experts},
                        {"experts_per_token", c.experts_per_token},
                        {"sliding_window", c.sliding_window},
                        {"params_total", p.total},
                        {"params_active", p.active},
                        {"torch_dtype", c.torch_dtype_name},
                        {"quantization", c.quantization},
                        {"notes", c.notes},
                        {"path", m.path}});
      } else {
        std::cout << fmt::format("{:<24} {:<12} {:>6} {:>6} {:>9} {:>9} {:>11} {:>11}\n", m.id, c.model_type,
                                 c.num_layers + c.num_decoder_layers, c.hidden_size,
                                 fmt::format("{}/{}", c.num_heads, c.num_kv_heads), experts,
                                 format_count(static_cast<double>(p.total)),
                                 format_count(static_cast<double>(p.active)));
      }
    }
    if (*json) std::cout << rows.dump(2) << "\n";
  });
}

}  // namespace perfcast::cli
