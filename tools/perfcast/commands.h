#pragma once
#include <CLI/CLI.hpp>

namespace perfcast::cli {

// Each subcommand lives in its own cmd_NAME.cpp and registers itself on the app.
void register_inspect(CLI::App& app);
void register_devices(CLI::App& app);
void register_footprint(CLI::App& app);
void register_measure(CLI::App& app);
void register_models(CLI::App& app);
void register_predict(CLI::App& app);
void register_advise(CLI::App& app);
void register_store(CLI::App& app);
void register_profile(CLI::App& app);
void register_characterize(CLI::App& app);
void register_fit(CLI::App& app);
void register_evaluate(CLI::App& app);
void register_calibrate(CLI::App& app);
void register_campaign(CLI::App& app);

// Human-readable quantities: 4.09 G, 97.5 MiB.
std::string format_count(double value);
std::string format_bytes(double bytes);
// 3 decimals for small figures, fewer for large ones: 0.986, 23.60, 1421.
std::string format_number(double value);

}  // namespace perfcast::cli
