#include <fmt/format.h>

#include <chrono>
#include <iostream>
#include <memory>

#include "commands.h"
#include "common/error.h"
#include "dataset/importers.h"
#include "dataset/store.h"

namespace perfcast::cli {
namespace {
struct StoreArgs {
  std::string db = "perfcast.db";
  std::string dataset;
  std::string from;
  std::string csv;
};
}  // namespace

void register_store(CLI::App& app) {
  auto args = std::make_shared<StoreArgs>();
  CLI::App* cmd = app.add_subcommand("store", "The measurement store (SQLite): import public datasets, export CSV");
  cmd->require_subcommand(1);

  CLI::App* imp = cmd->add_subcommand("import", "Import a shared dataset: timm, nasbench201 or neusight");
  imp->add_option("--db", args->db, "Store file (default perfcast.db)");
  imp->add_option("--dataset", args->dataset, "timm | nasbench201 | neusight")->required();
  imp->add_option("--from", args->from, "The shared data folder (default: PERFCAST_DATA_DIR/../../shared/data)");
  imp->callback([args] {
    std::string root = args->from.empty() ? dataset::default_shared_data_dir() : args->from;
    if (root.empty()) throw Error("no shared data folder found next to the perfcast data folder; pass --from PATH");
    dataset::Store store(args->db);
    const auto t0 = std::chrono::steady_clock::now();
    const dataset::ImportReport r = dataset::import_dataset(store, args->dataset, root);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::cout << fmt::format("imported {} from {}: {} file(s), {} new rows, {} already present, {} rejected ({:.1f} s)\n",
                             r.dataset, root, r.files, r.inserted, r.duplicates, r.rejected, s);
    for (const auto& why : r.reasons) std::cout << "  rejected: " << why << "\n";
    std::cout << fmt::format("store {}: {} devices, {} configurations, {} measurements\n", args->db,
                             store.count("devices"), store.count("configurations"), store.count("measurements"));
  });

  CLI::App* exp = cmd->add_subcommand("export", "Write every measurement (with configuration, graph, device) as CSV");
  exp->add_option("--db", args->db, "Store file (default perfcast.db)");
  exp->add_option("--csv", args->csv, "Output CSV file")->required();
  exp->callback([args] {
    dataset::Store store(args->db);
    const int64_t n = store.export_csv(args->csv);
    std::cout << fmt::format("wrote {} measurement rows to {}\n", n, args->csv);
  });
}

}  // namespace perfcast::cli
