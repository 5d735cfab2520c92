#include "model_flags.h"

#include <fmt/format.h>

#include "common/error.h"

namespace perfcast::cli {
namespace {

std::pair<std::string, std::string> split_assignment(const std::string& text, const char* flag) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size()) {
    throw Error(fmt::format("{} '{}': expected NAME=VALUE", flag, text));
  }
  return {text.substr(0, eq), text.substr(eq + 1)};
}

}  // namespace

void add_model_flags(CLI::App& cmd, ModelFlags& flags) {
  cmd.add_option("--batch,-b", flags.batch, "Batch size bound to the leading symbolic dimension of every input");
  cmd.add_option("--input", flags.inputs, "Full shape of a named input, e.g. --input input=1x3x224x224");
  cmd.add_option("--dim", flags.dims, "Value of a named symbolic dimension, e.g. --dim seq=128");
  cmd.add_option("--seq-len", flags.seq_len,
                 "Tokens per sequence: for a transformer config (default 128), or binds an ONNX dimension named "
                 "seq/sequence/sequence_length")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 24));
}

graph::ImportOptions to_import_options(const ModelFlags& flags) {
  graph::ImportOptions options;
  options.batch = flags.batch;
  for (const auto& text : flags.inputs) {
    auto [name, dims] = split_assignment(text, "--input");
    options.input_shapes[name] = graph::parse_dims(dims);
  }
  for (const auto& text : flags.dims) {
    auto [name, value] = split_assignment(text, "--dim");
    const auto parsed = graph::parse_dims(value);
    if (parsed.size() != 1) throw Error(fmt::format("--dim {}: expected one positive integer", text));
    options.dim_values[name] = parsed[0];
  }
  return options;
}

graph::ModelLoadOptions to_model_load_options(const ModelFlags& flags) {
  graph::ModelLoadOptions options;
  options.import = to_import_options(flags);
  options.seq_len = flags.seq_len;
  return options;
}

}  // namespace perfcast::cli
