// GnnPredictor: validated inference, and the archive + meta file on disk.
#include "learn/gnn/gnn_predictor.h"

#include <cmath>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "common/error.h"
#include "learn/gnn/gnn_internal.h"
#include "learn/gnn/sample_check.h"

namespace perfcast::learn::gnn {
namespace {

constexpr const char* kFormat = "perfcast-gnn/1";

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string stem(const std::string& path) { return ends_with(path, ".pt") ? path.substr(0, path.size() - 3) : path; }

// The modules whose weights go into the archive, under stable names.
std::shared_ptr<torch::nn::Module> weight_root(const GnnPredictor::Impl& impl) {
  auto root = std::make_shared<torch::nn::Module>("GnnPredictor");
  root->register_module("regressor", impl.net);
  if (impl.gae) root->register_module("gae_encoder", impl.gae->encoder);
  return root;
}

nlohmann::json options_json(const GnnOptions& o) {
  return {{"hidden", o.hidden},
          {"layers", o.layers},
          {"mlp_hidden", o.mlp_hidden},
          {"max_epochs", o.max_epochs},
          {"patience", o.patience},
          {"batch_graphs", o.batch_graphs},
          {"lr", o.lr},
          {"weight_decay", o.weight_decay},
          {"seed", o.seed},
          {"threads", o.threads},
          {"optimizer", "Adam"},
          {"loss", "MSE of the standardised log target"},
          {"readout", "mean + max over nodes"},
          {"log_squash", o.log_squash},
          {"gae",
           {{"hidden", o.gae.hidden},
            {"embedding", o.gae.embedding},
            {"layers", o.gae.layers},
            {"epochs", o.gae.epochs},
            {"batch_graphs", o.gae.batch_graphs},
            {"lr", o.gae.lr},
            {"negatives_per_edge", o.gae.negatives_per_edge}}}};
}

}  // namespace

std::string archive_path(const std::string& path) { return stem(path) + ".pt"; }
std::string meta_path(const std::string& path) { return stem(path) + ".meta.json"; }

detail::GraphTensors GnnPredictor::Impl::tensors(const GraphSample& s, bool need_target,
                                                 detail::GraphInterner& graphs) const {
  check_sample(s, config.node_dim, config.static_dim, need_target);
  if (residual && !(std::isfinite(s.prior) && s.prior > 0))
    throw Error(fmt::format("graph sample '{}': this {} model predicts a correction of the roofline prior, and the "
                            "sample has no prior",
                            s.group, kind_name(kind)));
  detail::GraphTensors t = graphs.graph(s);
  std::vector<float> stat;
  static_scaler.apply(s.static_features.data(), stat);
  t.stat = torch::from_blob(stat.data(), {static_cast<int64_t>(stat.size())}, torch::kFloat32).clone();
  if (gae) {
    torch::Tensor& slot = graphs.extra_slot(s);
    if (!slot.defined()) slot = gae->embed_tensor(s);
    t.extra = slot;
  }
  if (need_target) {
    const double y = std::log(s.target) - (residual ? std::log(s.prior) : 0.0);
    t.y = static_cast<float>((y - y_mean) / y_std);
  }
  return t;
}

std::vector<double> GnnPredictor::Impl::predict(const std::vector<const GraphSample*>& samples,
                                                int batch_graphs) const {
  std::vector<double> out;
  out.reserve(samples.size());
  torch::NoGradGuard no_grad;
  net.ptr()->eval();
  const size_t step = static_cast<size_t>(std::max(1, batch_graphs));
  detail::GraphInterner graphs(node_scaler);
  for (size_t start = 0; start < samples.size(); start += step) {
    const size_t end = std::min(samples.size(), start + step);
    std::vector<detail::GraphTensors> rows;
    rows.reserve(end - start);
    for (size_t k = start; k < end; ++k) rows.push_back(tensors(*samples[k], false, graphs));
    std::vector<const detail::GraphTensors*> ptrs;
    for (const auto& t : rows) ptrs.push_back(&t);
    const torch::Tensor y = net.ptr()->forward(detail::collate(ptrs)).to(torch::kFloat64).contiguous();
    const double* p = y.data_ptr<double>();
    for (size_t k = start; k < end; ++k) {
      const double log_value = p[k - start] * y_std + y_mean;
      out.push_back(std::exp(log_value) * (residual ? samples[k]->prior : 1.0));
    }
  }
  return out;
}

nlohmann::json GnnPredictor::Impl::meta_json() const {
  nlohmann::json j = extra.is_object() ? extra : nlohmann::json::object();
  j["format"] = kFormat;
  j["predictor"] = kind_name(kind);
  j["node_feature_dim"] = config.node_dim;
  j["static_feature_dim"] = config.static_dim;
  j["node_feature_names"] = options.node_feature_names;
  j["static_feature_names"] = options.static_feature_names;
  j["hyperparameters"] = options_json(options);
  j["residual"] = residual;
  j["target_transform"] =
      residual ? "network output o = (log(target / prior) - mean) / std; prediction = prior * exp(o * std + mean)"
               : "network output o = (log(target) - mean) / std; prediction = exp(o * std + mean)";
  j["target_log_mean"] = y_mean;
  j["target_log_std"] = y_std;
  j["standardisation"] = {{"node", to_json(node_scaler)}, {"static", to_json(static_scaler)}};
  if (gae) j["standardisation"]["gae_node"] = to_json(gae->scaler);
  size_t n = 0;
  for (const auto& p : weight_root(*this)->parameters()) n += static_cast<size_t>(p.numel());
  j["num_parameters"] = n;
  return j;
}

GnnPredictor::GnnPredictor() = default;
GnnPredictor::~GnnPredictor() = default;
GnnPredictor::GnnPredictor(GnnPredictor&&) noexcept = default;
GnnPredictor& GnnPredictor::operator=(GnnPredictor&&) noexcept = default;
GnnPredictor::GnnPredictor(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

GnnKind GnnPredictor::kind() const { return impl_->kind; }
bool GnnPredictor::residual() const { return impl_->residual; }
int64_t GnnPredictor::node_feature_dim() const { return impl_->config.node_dim; }
int64_t GnnPredictor::static_feature_dim() const { return impl_->config.static_dim; }
nlohmann::json GnnPredictor::meta() const { return impl_->meta_json(); }
size_t GnnPredictor::num_parameters() const { return impl_->meta_json().at("num_parameters").get<size_t>(); }

double GnnPredictor::predict(const GraphSample& sample) const {
  if (!impl_) throw Error("graph predictor is empty (not trained or loaded)");
  return impl_->predict({&sample}, 1).front();
}

std::vector<double> GnnPredictor::predict(const std::vector<GraphSample>& samples, int batch_graphs) const {
  std::vector<const GraphSample*> ptrs;
  ptrs.reserve(samples.size());
  for (const auto& s : samples) ptrs.push_back(&s);
  return predict(ptrs, batch_graphs);
}

std::vector<double> GnnPredictor::predict(const std::vector<const GraphSample*>& samples, int batch_graphs) const {
  if (!impl_) throw Error("graph predictor is empty (not trained or loaded)");
  return impl_->predict(samples, batch_graphs);
}

void GnnPredictor::save(const std::string& path, const nlohmann::json& extra_meta) const {
  if (!impl_) throw Error("graph predictor is empty (not trained or loaded)");
  const std::string archive = archive_path(path);
  const auto parent = std::filesystem::path(archive).parent_path();
  std::error_code ec;
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (extra_meta.is_object())
    for (const auto& [key, value] : extra_meta.items()) impl_->extra[key] = value;
  impl_->extra["model_file"] = std::filesystem::path(archive).filename().string();
  try {
    torch::serialize::OutputArchive out;
    weight_root(*impl_)->save(out);
    out.save_to(archive);
  } catch (const c10::Error& e) {
    throw Error(fmt::format("cannot write graph model '{}': {}", archive, e.what_without_backtrace()));
  }
  std::ofstream meta(meta_path(path));
  if (!meta) throw Error(fmt::format("cannot write '{}'", meta_path(path)));
  meta << impl_->meta_json().dump(2) << "\n";
}

GnnPredictor GnnPredictor::load(const std::string& path) {
  const std::string archive = archive_path(path), meta_file = meta_path(path);
  if (!std::filesystem::exists(archive))
    throw Error(fmt::format("no graph model '{}' (train one with `perfcast fit --predictor sage|gin|gae-sage`)",
                            archive));
  std::ifstream in(meta_file);
  if (!in) throw Error(fmt::format("no meta file '{}' next to the graph model", meta_file));
  auto impl = std::make_unique<Impl>();
  try {
    const nlohmann::json j = nlohmann::json::parse(in);
    if (j.value("format", "") != kFormat)
      throw Error(fmt::format("{}: not a perfcast graph model meta file (format '{}', expected '{}')", meta_file,
                              j.value("format", ""), kFormat));
    impl->kind = parse_kind(j.at("predictor").get<std::string>());
    const auto& h = j.at("hyperparameters");
    GnnOptions& o = impl->options;
    o.hidden = h.at("hidden").get<int>();
    o.layers = h.at("layers").get<int>();
    o.mlp_hidden = h.at("mlp_hidden").get<int>();
    o.max_epochs = h.at("max_epochs").get<int>();
    o.patience = h.at("patience").get<int>();
    o.batch_graphs = h.at("batch_graphs").get<int>();
    o.lr = h.at("lr").get<double>();
    o.weight_decay = h.at("weight_decay").get<double>();
    o.seed = h.at("seed").get<uint64_t>();
    o.threads = h.at("threads").get<int>();
    o.log_squash = h.at("log_squash").get<bool>();
    const auto& g = h.at("gae");
    o.gae.hidden = g.at("hidden").get<int>();
    o.gae.embedding = g.at("embedding").get<int>();
    o.gae.layers = g.at("layers").get<int>();
    o.gae.epochs = g.at("epochs").get<int>();
    o.gae.batch_graphs = g.at("batch_graphs").get<int>();
    o.gae.lr = g.at("lr").get<double>();
    o.gae.negatives_per_edge = g.at("negatives_per_edge").get<int>();
    o.node_feature_names = j.at("node_feature_names").get<std::vector<std::string>>();
    o.static_feature_names = j.at("static_feature_names").get<std::vector<std::string>>();
    impl->residual = j.at("residual").get<bool>();
    impl->y_mean = j.at("target_log_mean").get<double>();
    impl->y_std = j.at("target_log_std").get<double>();
    impl->node_scaler = scaler_from_json(j.at("standardisation").at("node"));
    impl->static_scaler = scaler_from_json(j.at("standardisation").at("static"));
    detail::RegressorConfig& c = impl->config;
    c.kind = impl->kind;
    c.node_dim = j.at("node_feature_dim").get<int64_t>();
    c.static_dim = j.at("static_feature_dim").get<int64_t>();
    c.hidden = o.hidden;
    c.layers = o.layers;
    c.mlp_hidden = o.mlp_hidden;
    if (static_cast<int64_t>(impl->node_scaler.dim()) != c.node_dim ||
        static_cast<int64_t>(impl->static_scaler.dim()) != c.static_dim)
      throw Error(meta_file + ": standardisation and feature dimensions disagree");
    if (impl->kind == GnnKind::kGaeSage) {
      impl->gae = std::make_shared<GraphAutoencoder::Impl>();
      impl->gae->options = o.gae;
      impl->gae->scaler = scaler_from_json(j.at("standardisation").at("gae_node"));
      impl->gae->encoder = detail::SageEncoder(c.node_dim, o.gae.hidden, o.gae.embedding, o.gae.layers);
      impl->gae->encoder->eval();
      c.extra_dim = 2 * o.gae.embedding;
    }
    impl->net = detail::Regressor(c);
    impl->extra = nlohmann::json::object();
    for (const char* key : {"data", "split", "metrics", "created_utc", "command", "training", "model_file"})
      if (j.contains(key)) impl->extra[key] = j.at(key);
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("{}: incomplete graph model meta file: {}", meta_file, e.what()));
  }
  try {
    torch::serialize::InputArchive ar;
    ar.load_from(archive);
    weight_root(*impl)->load(ar);
  } catch (const c10::Error& e) {
    throw Error(fmt::format("cannot read graph model '{}' (corrupt, or it does not match {}): {}", archive, meta_file,
                            e.what_without_backtrace()));
  }
  impl->net->eval();
  return GnnPredictor(std::move(impl));
}

}  // namespace perfcast::learn::gnn
