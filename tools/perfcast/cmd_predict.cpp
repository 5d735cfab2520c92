#include <fmt/format.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "advise/mig.h"
#include "commands.h"
#include "carbon/footprint.h"
#include "common/error.h"
#include "common/suggest.h"
#include "graph/model_source.h"
#include "learn/graph_latency.h"
#include "learn/graph_totals.h"
#include "learn/learned_latency.h"
#include "learn/predictor_registry.h"
#include "predict/llm_serving.h"
#include "predict/llm_training.h"
#include "workload_loader.h"

namespace perfcast::cli {
namespace {

struct PredictArgs {
  std::string model;
  ModelFlags model_flags;
  std::string device;
  std::string precision = "fp32";
  std::string mode = "inference";
  std::string optimizer = "adam";
  std::string layout = "nchw";
  bool json = false;
  // LLM serving (selected by --prompt-tokens / --output-tokens) and training (--global-batch).
  std::optional<int64_t> prompt_tokens, output_tokens, global_batch;
  std::optional<double> tokens;
  int64_t tp = 1, dp = 1, pp = 1, micro_batch = 1;
  int zero = 0;
  bool activation_checkpointing = false;
  std::string weights = "fp16", kv_cache = "fp16", region;
  std::string predictor = "auto";
  CLI::Option* precision_option = nullptr;
};

// Latency predictors this build can run (the graph ones through libperfcast_gnn.so); the registry
// may list more (their sidecars). auto never picks a graph predictor: their sidecars apply to
// NAS-Bench-201 cells, a task auto does not recognise.
const std::vector<std::string> kRunnableLearned = {"xgb", "sage", "gin", "gae-sage"};

bool is_graph_predictor(const std::string& name) {
  const auto& names = learn::graph_predictor_names();
  return name == "gnn" || std::find(names.begin(), names.end(), name) != names.end();
}

// The LLM paths have no learned predictor: --predictor auto says so, a learned name is an error.
nlohmann::json llm_predictor_choice(const std::string& requested, const char* what) {
  const std::string why = fmt::format("no learned predictor applies to {} (the learned ones were trained on image "
                                      "classification inference: timm models for xgb, NAS-Bench-201 cells for the "
                                      "graph predictors)",
                                      what);
  if (requested != "auto" && requested != "roofline")
    throw Error(fmt::format("--predictor {}: {}; use --predictor roofline or auto", requested, why));
  return {{"requested", requested}, {"used", "roofline"}, {"why", requested == "roofline" ? "requested" : "roofline: " + why}};
}

std::string llm_band(const predict::Interval& i, const char* unit, int decimals) {
  return fmt::format("{:.{}f} {}  [{:.{}f} - {:.{}f}]", i.value, decimals, unit, i.low, decimals, i.high, decimals);
}

void run_llm_serving(const PredictArgs& a, const hardware::Device& device) {
  predict::ServingRequest r;
  r.prompt_tokens = a.prompt_tokens.value_or(512);
  r.output_tokens = a.output_tokens.value_or(128);
  r.batch = a.model_flags.batch.value_or(1);
  r.tp = a.tp;
  r.weights = a.weights;
  r.kv_cache = a.kv_cache;
  const auto calibration = predict::load_roofline_calibration();
  const nlohmann::json choice = llm_predictor_choice(a.predictor, "LLM serving");
  const auto p = predict::predict_llm_serving(graph::load_model_config(a.model), device, r, calibration);
  if (a.json) {
    nlohmann::json j = predict::to_json(p);
    j["model"] = a.model;
    j["predictor"] = choice;
    j["calibration"] = calibration.file;
    std::cout << j.dump(2) << "\n";
    return;
  }
  constexpr double kMiB = 1024.0 * 1024.0;
  std::cout << fmt::format("model            {} serving: prompt {}, output {}, batch {}, TP {}\n", a.model,
                           r.prompt_tokens, r.output_tokens, r.batch, r.tp);
  std::cout << fmt::format("device           {} ({}), weights {}, KV cache {}, compute {}\n", device.id, device.name,
                           r.weights, r.kv_cache, hardware::precision_name(p.compute_precision));
  std::cout << fmt::format("TTFT             {}\n", llm_band(p.ttft_ms, "ms", 2));
  std::cout << fmt::format("TPOT             {}\n", llm_band(p.tpot_ms, "ms", 3));
  std::cout << fmt::format("throughput       {}\n", llm_band(p.tokens_per_s, "tokens/s", 1));
  std::cout << fmt::format("peak memory/GPU  {}{}\n", llm_band(p.peak_memory_mb, "MiB", 0),
                           p.fits ? "" : fmt::format("  DOES NOT FIT in {:.0f} MiB", p.device_memory_mb));
  std::cout << fmt::format("                 weights {:.0f}, KV cache {:.0f}, activations {:.0f}, workspace {:.0f}, "
                           "runtime {:.0f} MiB\n",
                           p.memory.weights_bytes / kMiB, p.memory.kv_cache_bytes / kMiB,
                           p.memory.activation_bytes / kMiB, p.memory.workspace_bytes / kMiB,
                           p.memory.runtime_bytes / kMiB);
  std::cout << fmt::format("max batch        {}\n", p.max_batch_that_fits);
  std::cout << fmt::format("energy/token     {}  (band not calibrated)\n", llm_band(p.energy_per_token_j, "J", 3));
  std::cout << fmt::format("energy/request   {}\n", llm_band(p.energy_per_request_j, "J", 2));
  for (const auto& o : p.fitting_options) {
    std::cout << fmt::format("fits with        --tp {} --weights {}  ({:.0f} MiB per GPU)\n", o.tp, o.weights, o.memory_mb);
  }
  for (const auto& n : p.notes) std::cout << "note: " << n << "\n";
  for (const auto& w : p.warnings) std::cout << "warning: " << w << "\n";
}

void run_llm_training(const PredictArgs& a, const hardware::Device& device) {
  predict::LlmTrainingRequest r;
  r.global_batch = *a.global_batch;
  r.seq_len = a.model_flags.seq_len.value_or(2048);
  r.micro_batch = a.micro_batch;
  r.dp = a.dp;
  r.tp = a.tp;
  r.pp = a.pp;
  r.zero = a.zero;
  r.activation_checkpointing = a.activation_checkpointing;
  r.precision = a.precision_option != nullptr && a.precision_option->count() > 0 ? hardware::parse_precision(a.precision)
                                                                                  : hardware::Precision::kBf16;
  if (!device.supports(r.precision) && r.precision == hardware::Precision::kBf16) r.precision = hardware::Precision::kFp16;
  r.tokens = a.tokens;
  const auto calibration = predict::load_roofline_calibration();
  const nlohmann::json choice = llm_predictor_choice(a.predictor, "LLM training");
  const auto p = predict::predict_llm_training(graph::load_model_config(a.model), device, r, calibration);
  std::optional<carbon::Footprint> footprint;
  if (r.tokens) {
    footprint = predict::llm_training_footprint(p, a.region, hardware::DeviceCatalog::load(), carbon::RegionTable::load(),
                                                carbon::PriceTable::load());
  }
  if (a.json) {
    nlohmann::json j = predict::to_json(p);
    j["model"] = a.model;
    j["predictor"] = choice;
    j["calibration"] = calibration.file;
    if (footprint) j["footprint"] = carbon::to_json(*footprint);
    std::cout << j.dump(2) << "\n";
    return;
  }
  constexpr double kMiB = 1024.0 * 1024.0;
  std::cout << fmt::format("model            {} training: global batch {}, seq {}, micro-batch {}\n", a.model,
                           r.global_batch, r.seq_len, r.micro_batch);
  std::cout << fmt::format("parallelism      DP {} x TP {} x PP {} = {} x {}, ZeRO-{}{}, {}\n", r.dp, r.tp, r.pp, p.gpus,
                           device.id, r.zero, r.activation_checkpointing ? ", activation checkpointing" : "",
                           hardware::precision_name(r.precision));
  std::cout << fmt::format("step time        {}\n", llm_band(p.step_ms, "ms", 1));
  std::cout << fmt::format("                 compute {:.1f}, TP all-reduce {:.1f}, DP all-reduce {:.1f}, optimizer {:.1f} "
                           "ms; pipeline bubble {:.1f}% ({} micro-batches)\n",
                           p.compute_ms, p.tp_comm_ms, p.dp_comm_ms, p.optimizer_ms, 100 * p.bubble_fraction,
                           p.micro_batches);
  std::cout << fmt::format("throughput       {:.0f} tokens/s\n", p.tokens_per_s);
  std::cout << fmt::format("memory/GPU       {}{}\n", llm_band(p.memory_mb, "MiB", 0),
                           p.fits ? "" : fmt::format("  DOES NOT FIT in {:.0f} MiB", p.device_memory_mb));
  std::cout << fmt::format("                 weights {:.0f}, gradients {:.0f}, optimizer {:.0f}, activations {:.0f}, "
                           "runtime {:.0f} MiB\n",
                           p.weights_bytes / kMiB, p.gradient_bytes / kMiB, p.optimizer_bytes / kMiB,
                           p.activation_bytes / kMiB, p.runtime_bytes / kMiB);
  std::cout << fmt::format("energy/step      {}  (band not calibrated)\n", llm_band(p.step_energy_j, "J", 0));
  if (r.tokens) {
    std::cout << fmt::format("run              {:.0f} steps, {:.1f} h, {:.0f} GPU-hours, {}\n", p.steps, p.hours,
                             p.gpu_hours, llm_band(p.energy_kwh, "kWh", 1));
    std::cout << fmt::format("footprint        {:.1f} kgCO2e{}\n", footprint->total_kgco2e,
                             footprint->cost_usd ? fmt::format(", ${:.0f}", *footprint->cost_usd) : "");
  }
  for (const auto& n : p.notes) std::cout << "note: " << n << "\n";
  for (const auto& w : p.warnings) std::cout << "warning: " << w << "\n";
}

std::string band(const predict::Interval& i, const char* unit, int decimals = 2) {
  return fmt::format("{:.{}f} {}  [{:.{}f} - {:.{}f}]", i.value, decimals, unit, i.low, decimals, i.high, decimals);
}

struct PredictorOutcome {
  nlohmann::json choice;                            // requested, used, why, model, validation
  std::optional<learn::LearnedPrediction> learned;  // when a learned predictor was used
};

// Picks the latency predictor (--predictor) and, when a learned one is used, replaces the
// roofline's latency, throughput and energy with it (power and memory stay the roofline's).
PredictorOutcome apply_predictor(const PredictArgs& a, const predict::ModelWorkload& workload,
                                 const hardware::Device& device, const predict::PredictRequest& request,
                                 predict::WorkloadPrediction& prediction) {
  PredictorOutcome out;
  out.choice = {{"requested", a.predictor}};
  if (a.predictor == "roofline") {
    out.choice["used"] = "roofline";
    out.choice["why"] = "requested";
    return out;
  }
  if (request.layout != predict::Layout::kNchw) {
    const std::string why = "the learned predictors were trained on NCHW (PyTorch default layout) measurements";
    if (a.predictor != "auto") throw Error(fmt::format("--predictor {} with --layout nhwc: {}; use --predictor roofline "
                                                       "or auto", a.predictor, why));
    out.choice["used"] = "roofline";
    out.choice["why"] = "roofline: layout nhwc: " + why;
    return out;
  }
  const auto registry = learn::PredictorRegistry::load();
  std::string row_why;
  const auto row = learn::workload_row_from_graph(workload.name, workload.graph, workload.summary, workload.batch,
                                                  request.precision, &row_why);
  learn::RequestKind kind;
  kind.task = row ? "image-classification" : "";
  kind.mode = request.mode == predict::Mode::kTraining ? "training" : "inference";
  kind.precision = hardware::precision_name(request.precision);
  kind.device_kind = device.kind;
  const learn::RegisteredPredictor* entry = nullptr;
  const bool graph_predictor = is_graph_predictor(a.predictor);
  if (a.predictor == "auto") {
    const auto choice = registry.choose("latency", kind, kRunnableLearned);
    entry = choice.learned;
    out.choice["why"] = choice.why + (row ? "" : "; model: " + row_why);
  } else if (graph_predictor) {
    entry = a.predictor == "gnn" ? registry.best_of(learn::graph_predictor_names(), "latency", "arch")
                                 : registry.best_of({a.predictor}, "latency", "arch");
    if (!entry)
      throw Error(fmt::format("--predictor {}: no {} latency sidecar in {}/models/learned (train one with `perfcast fit "
                              "--predictor {} --data nasbench201`)",
                              a.predictor, a.predictor == "gnn" ? "sage, gin or gae-sage" : a.predictor,
                              hardware::default_data_dir(), a.predictor == "gnn" ? "sage" : a.predictor));
    if (graph::resolve_model(a.model) != graph::ModelSourceKind::kOnnx)
      throw Error(fmt::format("--predictor {}: {} is a transformer config, and the graph predictors were trained on "
                              "NAS-Bench-201 CNN cells given as ONNX graphs; use --predictor roofline",
                              a.predictor, a.model));
    if (kind.mode != "inference")
      throw Error(fmt::format("--predictor {}: the graph predictors were trained on NAS-Bench-201 inference latencies, "
                              "not training steps; use --predictor roofline",
                              a.predictor));
    if (kind.precision != "fp32")
      throw Error(fmt::format("--predictor {}: the graph predictors were trained on fp32 NAS-Bench-201 latencies, not "
                              "{}; use --precision fp32 or --predictor roofline",
                              a.predictor, kind.precision));
    out.choice["why"] = a.predictor == "gnn" ? "requested gnn: lowest validated MAPE among the graph predictors on "
                                               "architecture-held-out rows"
                                             : "requested";
  } else {
    entry = registry.find(a.predictor, "latency");
    if (!entry) {
      std::vector<std::string> names = {"auto", "roofline", "gnn"};
      for (const auto& p : registry.predictors())
        if (p.target == "latency" && std::find(names.begin(), names.end(), p.name) == names.end()) names.push_back(p.name);
      const auto close = close_matches(a.predictor, names, 3);
      std::string list;
      for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
      throw Error(fmt::format("--predictor {}: no such latency predictor{}; choose one of: {}", a.predictor,
                              close.empty() ? "" : " (did you mean " + close.front() + "?)", list));
    }
    if (std::find(kRunnableLearned.begin(), kRunnableLearned.end(), entry->name) == kRunnableLearned.end())
      throw Error(fmt::format("--predictor {}: this perfcast cannot run it from predict yet; use auto, roofline, xgb or "
                              "gnn",
                              a.predictor));
    std::string why = learn::not_applicable_reason(*entry, kind);
    if (why.empty() && !row) why = row_why;
    if (!why.empty()) throw Error(fmt::format("--predictor {} does not apply: {}; use --predictor roofline or auto", a.predictor, why));
    out.choice["why"] = "requested";
  }
  if (!entry) {
    out.choice["used"] = "roofline";
    return out;
  }
  learn::LearnedPrediction lp;
  if (is_graph_predictor(entry->name)) {
    lp = learn::predict_graph_latency(*entry, workload.graph, workload.summary, workload.batch, device, row, row_why);
  } else {
    const auto model = learn::LearnedLatencyModel::load(*entry);
    std::string cal_why, cal_path;
    const auto cal = learn::load_device_calibration(model, device.id, &cal_why, &cal_path);
    lp = learn::predict_learned_latency(model, *row, device, cal, cal_path);
    if (!cal && cal_why.find("another model") != std::string::npos) lp.notes.push_back(cal_why);
  }
  out.choice["used"] = entry->name;
  out.choice["model"] = entry->model_path;
  out.choice["validated"] = {{"target", entry->target}, {"split", entry->split}, {"mape_pct", entry->mape_pct},
                             {"n", entry->n_validated}, {"baseline", entry->baseline}};
  if (entry->baseline_mape_pct) out.choice["validated"]["baseline_mape_pct"] = *entry->baseline_mape_pct;
  out.choice["roofline_latency_ms"] = predict::to_json(prediction.latency_ms);
  const double old_ms = prediction.latency_ms.value;
  prediction.latency_ms = {lp.latency_ms, lp.low_ms, lp.high_ms};
  const double b = static_cast<double>(prediction.batch);
  prediction.throughput_per_s = {b * 1e3 / lp.latency_ms, b * 1e3 / lp.high_ms, b * 1e3 / lp.low_ms};
  if (old_ms > 0) {
    const double f = lp.latency_ms / old_ms;
    prediction.energy_j = {prediction.energy_j.value * f, prediction.energy_j.low * f, prediction.energy_j.high * f};
  }
  if (lp.ood && lp.ood->out_of_distribution) {
    std::string reasons;
    for (const auto& r : lp.ood->reasons) reasons += (reasons.empty() ? "" : "; ") + r;
    prediction.warnings.push_back(fmt::format("out of distribution for {}: {}; latency interval widened x{:.0f} in log "
                                              "space",
                                              entry->name, reasons, learn::kOodIntervalWidening));
  }
  out.learned = std::move(lp);
  return out;
}

void print_text(const std::string& model, const predict::WorkloadPrediction& p, const std::string& device_name) {
  const auto& m = p.memory;
  constexpr double kMiB = 1024.0 * 1024.0;
  std::cout << fmt::format("model            {} (batch {})\n", model, p.batch);
  std::cout << fmt::format("device           {} ({}), {}, {}, layout {}\n", p.device_id, device_name,
                           hardware::precision_name(p.precision),
                           p.mode == predict::Mode::kTraining ? "training step" : "inference",
                           predict::layout_name(p.layout));
  std::cout << fmt::format("latency          {}\n", band(p.latency_ms, "ms", 3));
  std::cout << fmt::format("throughput       {}\n", band(p.throughput_per_s, "samples/s", 1));
  std::cout << fmt::format("peak memory      {}{}\n", band(p.peak_memory_mb, "MiB", 0),
                           p.fits_memory ? "" : fmt::format("  DOES NOT FIT in {:.0f} MiB", p.device_memory_mb));
  std::cout << fmt::format("                 weights {:.0f}, activations {:.0f}, workspace {:.0f}, runtime {:.0f}",
                           m.weights_bytes / kMiB, m.activation_bytes / kMiB, m.workspace_bytes / kMiB,
                           m.runtime_context_bytes / kMiB);
  if (p.mode == predict::Mode::kTraining) {
    std::cout << fmt::format(", gradients {:.0f}, optimizer {:.0f}", m.gradient_bytes / kMiB,
                             m.optimizer_state_bytes / kMiB);
  }
  std::cout << " MiB\n";
  std::cout << fmt::format("average power    {}  ({})\n", band(p.avg_power_w, "W", 0),
                           p.power_interval_calibrated ? "fitted on LLM-serving power; band holds for 90% of held-out rows"
                                                       : "band not calibrated");
  std::cout << fmt::format("energy           {} per batch\n", band(p.energy_j, "J", 3));
  std::cout << fmt::format("bound            {:.0f}% of kernel time compute-bound, device {:.0f}% busy\n",
                           100 * p.compute_bound_fraction, 100 * p.utilisation);
  for (const auto& w : p.warnings) std::cout << "warning: " << w << "\n";
}

void print_learned(const PredictorOutcome& outcome) {
  const auto& v = outcome.choice.at("validated");
  std::cout << fmt::format("model file       {}\n", outcome.choice.value("model", ""));
  std::cout << fmt::format("validated        {} split: MAPE {:.1f}% on {} held-out rows{}\n", v.value("split", ""),
                           v.value("mape_pct", 0.0), v.value("n", size_t{0}),
                           v.contains("baseline_mape_pct")
                               ? fmt::format(" ({} {:.1f}%)", v.value("baseline", ""), v.at("baseline_mape_pct").get<double>())
                               : std::string());
  const auto& ood = outcome.learned->ood;
  if (ood && !ood->out_of_distribution) {
    std::cout << fmt::format("distribution     in distribution (nearest training model {:.2f} standardised units away, "
                             "threshold {:.2f}{})\n",
                             ood->nn_distance, ood->nn_threshold, ood->device_seen ? "; device seen in training" : "");
  } else if (ood) {
    std::cout << "distribution     OUT OF DISTRIBUTION (see the warning above; interval widened)\n";
  }
  for (const auto& n : outcome.learned->notes) std::cout << "note: " << n << "\n";
}

}  // namespace

void register_predict(CLI::App& app) {
  auto args = std::make_shared<PredictArgs>();
  CLI::App* cmd = app.add_subcommand("predict", "Predict latency, throughput, memory, power and energy on a device");
  cmd->add_option("model", args->model, "ONNX file, Hugging Face config.json or bundled model id (perfcast models)")->required();
  add_model_flags(*cmd, args->model_flags);
  cmd->add_option("--device,-d", args->device, "Device id, alias or .toml file; ID:PROFILE for a MIG instance")
      ->required();
  args->precision_option =
      cmd->add_option("--precision,-p", args->precision, "fp32 tf32 fp16 bf16 fp8 int8")->capture_default_str();
  cmd->add_option("--mode", args->mode, "inference or training")->capture_default_str();
  cmd->add_option("--predictor", args->predictor,
                  "Latency predictor: auto (the applicable one that validated best, per data/models/learned/*.meta.json), "
                  "roofline, or a learned one: xgb, or a graph predictor sage|gin|gae-sage (gnn: the best validated of "
                  "them; trained on NAS-Bench-201 cells, fp32 inference)")
      ->capture_default_str();
  cmd->add_option("--optimizer", args->optimizer, "training: sgd, sgd-momentum, adam")->capture_default_str();
  cmd->add_option("--layout", args->layout,
                  "Activation memory layout of ONNX CNN graphs: nchw (PyTorch default) or nhwc (channels_last); nhwc "
                  "is modelled at tensor-core precisions on GPUs, elsewhere predicted as nchw with a warning")
      ->capture_default_str();
  cmd->add_flag("--json", args->json, "Print machine-readable JSON");
  cmd->add_option("--prompt-tokens", args->prompt_tokens, "LLM serving: prompt length (selects serving mode)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 24));
  cmd->add_option("--output-tokens", args->output_tokens, "LLM serving: generated tokens per request")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 24));
  cmd->add_option("--tp", args->tp, "LLM: tensor-parallel degree")->check(CLI::Range(int64_t{1}, int64_t{1024}));
  cmd->add_option("--weights", args->weights, "LLM serving: weight format fp16 bf16 fp8 int8 int4")->capture_default_str();
  cmd->add_option("--kv-cache", args->kv_cache, "LLM serving: KV cache format fp16 bf16 fp8 int8")->capture_default_str();
  cmd->add_option("--global-batch", args->global_batch, "LLM training: sequences per step (selects LLM training)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 30));
  cmd->add_option("--micro-batch", args->micro_batch, "LLM training: sequences per micro-batch per GPU")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20));
  cmd->add_option("--dp", args->dp, "LLM training: data-parallel degree")->check(CLI::Range(int64_t{1}, int64_t{1} << 20));
  cmd->add_option("--pp", args->pp, "LLM training: pipeline-parallel degree")->check(CLI::Range(int64_t{1}, int64_t{1024}));
  cmd->add_option("--zero", args->zero, "LLM training: ZeRO stage 0-3")->check(CLI::Range(0, 3));
  cmd->add_flag("--activation-checkpointing", args->activation_checkpointing, "LLM training: recompute activations");
  cmd->add_option("--tokens", args->tokens, "LLM training: training tokens (steps, GPU-hours, energy, CO2e, cost)");
  cmd->add_option("--region", args->region, "LLM training with --tokens: region for the footprint");
  cmd->callback([args] {
    if (args->mode != "inference" && args->mode != "training") {
      throw Error(fmt::format("--mode '{}': choose inference or training", args->mode));
    }
    const predict::Layout layout = predict::parse_layout(args->layout);
    const auto catalog = hardware::DeviceCatalog::load();
    const hardware::Device device = advise::device_or_mig_slice(catalog, args->device);
    const bool serving = args->prompt_tokens.has_value() || args->output_tokens.has_value();
    if ((serving || args->global_batch.has_value()) && layout != predict::Layout::kNchw)
      throw Error("--layout nhwc applies to ONNX CNN graphs; LLM serving and training have no NCHW/NHWC activations");
    if (serving && args->mode == "training") throw Error("--prompt-tokens/--output-tokens are for inference (serving)");
    if (serving) {
      run_llm_serving(*args, device);
      return;
    }
    if (args->global_batch.has_value()) {
      if (args->mode != "training") throw Error("--global-batch needs --mode training");
      run_llm_training(*args, device);
      return;
    }
    predict::PredictRequest request;
    request.precision = hardware::parse_precision(args->precision);
    request.mode = args->mode == "training" ? predict::Mode::kTraining : predict::Mode::kInference;
    request.optimizer = predict::parse_optimizer(args->optimizer);
    request.layout = layout;
    const auto workload = load_workload(args->model, args->model_flags);
    const auto calibration = predict::load_roofline_calibration();
    auto prediction = predict::predict_workload(workload, device, request, calibration);
    const PredictorOutcome outcome = apply_predictor(*args, workload, device, request, prediction);
    if (args->json) {
      nlohmann::json j = predict::to_json(prediction);
      j["model"] = args->model;
      j["calibration"] = calibration.file;
      j["predictor"] = outcome.choice;
      if (outcome.learned) {
        j["learned"] = learn::to_json(*outcome.learned);
        j["out_of_distribution"] = outcome.learned->ood && outcome.learned->ood->out_of_distribution;
      }
      std::cout << j.dump(2) << "\n";
    } else {
      print_text(args->model, prediction, device.name);
      std::cout << fmt::format("predictor        {} ({})\n", outcome.choice.at("used").get<std::string>(),
                               outcome.choice.value("why", ""));
      if (outcome.learned) print_learned(outcome);
    }
  });
}

}  // namespace perfcast::cli
