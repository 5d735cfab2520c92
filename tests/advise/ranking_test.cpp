// advise over the whole catalog for a real model (ResNet-50 exported from torchvision).
#include "advise/ranking.h"

#include <gtest/gtest.h>

#include "graph/onnx_import.h"
#include "support/fixtures.h"

namespace perfcast::advise {
namespace {

const predict::ModelWorkload& resnet50_batch32() {
  static const predict::ModelWorkload w = [] {
    graph::ImportOptions options;
    options.batch = 32;
    return predict::make_workload("resnet50", graph::import_onnx(testing::fixture_path("resnet50.onnx"), options));
  }();
  return w;
}

Advice run(AdviseRequest request) {
  if (request.region.key.empty()) request.region = carbon::RegionTable::load().lookup("FR");
  return advise(resnet50_batch32(), request, hardware::DeviceCatalog::load(), carbon::PriceTable::load(),
                predict::load_roofline_calibration());
}

TEST(Advise, RanksFeasibleOptionsByTheObjective) {
  for (const Objective objective : {Objective::kCost, Objective::kCarbon, Objective::kEnergy, Objective::kLatency}) {
    AdviseRequest request;
    request.objective = objective;
    const Advice advice = run(request);
    ASSERT_GT(advice.ranked.size(), 10u);
    bool any_mig = false, any_pareto = false;
    for (size_t i = 0; i < advice.ranked.size(); ++i) {
      const Option& o = advice.ranked[i];
      EXPECT_TRUE(o.fits_memory && o.meets_slo);
      any_mig |= !o.mig_profile.empty();
      any_pareto |= o.pareto;
      if (i == 0) continue;
      const Option& prev = advice.ranked[i - 1];
      switch (objective) {
        case Objective::kCost:
          if (o.usd_per_million_samples && prev.usd_per_million_samples)
            EXPECT_LE(*prev.usd_per_million_samples, *o.usd_per_million_samples);
          break;
        case Objective::kCarbon: EXPECT_LE(prev.total_kgco2e_per_million(), o.total_kgco2e_per_million()); break;
        case Objective::kEnergy: EXPECT_LE(prev.kwh_per_million_samples, o.kwh_per_million_samples); break;
        case Objective::kLatency:
          EXPECT_LE(prev.prediction.latency_ms.value, o.prediction.latency_ms.value);
          break;
      }
    }
    EXPECT_TRUE(any_mig);
    EXPECT_TRUE(any_pareto);
    EXPECT_NE(advice.explanation.find("wins on " + objective_name(objective)), std::string::npos);
  }
}

TEST(Advise, ParetoFrontHasNoDominatedOption) {
  const Advice advice = run({});
  for (const Option& a : advice.ranked) {
    if (!a.pareto || !a.usd_per_million_samples) continue;
    for (const Option& b : advice.ranked) {
      if (!b.usd_per_million_samples) continue;
      EXPECT_FALSE(*b.usd_per_million_samples < *a.usd_per_million_samples &&
                   b.total_kgco2e_per_million() < a.total_kgco2e_per_million());
    }
  }
}

TEST(Advise, ImpossibleTargetSaysSoAndShowsTheNearest) {
  AdviseRequest request;
  request.latency_slo_ms = 0.01;
  const Advice advice = run(request);
  EXPECT_TRUE(advice.ranked.empty());
  ASSERT_FALSE(advice.infeasible.empty());
  EXPECT_NE(advice.explanation.find("No device or MIG slice satisfies"), std::string::npos);
  // the nearest miss is the fastest option
  for (const Option& o : advice.infeasible)
    EXPECT_LE(advice.infeasible.front().prediction.latency_ms.value, o.prediction.latency_ms.value);
}

TEST(Advise, CleanerGridLowersOperationalCarbonOnly) {
  AdviseRequest coal;
  coal.carbon_intensity_g_per_kwh = 800;
  AdviseRequest clean;
  clean.carbon_intensity_g_per_kwh = 20;
  const Option a = run(coal).ranked.front();
  const Option b = run(clean).ranked.front();
  EXPECT_EQ(a.device_id, b.device_id);  // cost ranking does not depend on the grid
  EXPECT_NEAR(a.operational_kgco2e_per_million / b.operational_kgco2e_per_million, 40.0, 1e-9);
  EXPECT_DOUBLE_EQ(a.embodied_kgco2e_per_million, b.embodied_kgco2e_per_million);
}

}  // namespace
}  // namespace perfcast::advise
