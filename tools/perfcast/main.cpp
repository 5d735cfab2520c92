#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <iostream>

#include "commands.h"
#include "common/error.h"

namespace perfcast::cli {

std::string format_count(double value) {
  const char* units[] = {"", "K", "M", "G", "T", "P"};
  int u = 0;
  while (std::fabs(value) >= 1000 && u < 5) {
    value /= 1000;
    ++u;
  }
  return u == 0 ? fmt::format("{:.0f}", value) : fmt::format("{:.2f} {}", value, units[u]);
}

std::string format_bytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (std::fabs(bytes) >= 1024 && u < 4) {
    bytes /= 1024;
    ++u;
  }
  return u == 0 ? fmt::format("{:.0f} B", bytes) : fmt::format("{:.1f} {}", bytes, units[u]);
}

std::string format_number(double value) {
  const double a = std::fabs(value);
  if (a >= 1000) return fmt::format("{:.0f}", value);
  if (a >= 10) return fmt::format("{:.2f}", value);
  if (a >= 0.01 || a == 0) return fmt::format("{:.3f}", value);
  return fmt::format("{:.3g}", value);
}

}  // namespace perfcast::cli

int main(int argc, char** argv) {
  CLI::App app{"perfcast: predict how a deep-learning workload behaves on a machine before running it"};
  app.require_subcommand(1);
  perfcast::cli::register_inspect(app);
  perfcast::cli::register_devices(app);
  perfcast::cli::register_footprint(app);
  perfcast::cli::register_measure(app);
  perfcast::cli::register_models(app);
  perfcast::cli::register_predict(app);
  perfcast::cli::register_advise(app);
  perfcast::cli::register_store(app);
  perfcast::cli::register_profile(app);
  perfcast::cli::register_characterize(app);
  perfcast::cli::register_fit(app);
  perfcast::cli::register_evaluate(app);
  perfcast::cli::register_calibrate(app);
  perfcast::cli::register_campaign(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const perfcast::Error& e) {
    std::cerr << "perfcast: error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "perfcast: internal error: " << e.what() << "\n";
    return 2;
  }
  return 0;
}
