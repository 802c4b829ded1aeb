#include "daemon/query/slowest_crates.hpp"

#include "daemon/query/run_selection.hpp"

#include <algorithm>

namespace ca::query {

namespace v1 = cargo_analysis::v1;

namespace {

constexpr uint32_t k_default_limit = 10;

} // namespace

v1::SlowestCratesResponse
rank_slowest_crates(std::vector<store::CrateTotal> crates, uint64_t runs, uint32_t limit) {
  if (limit == 0) {
    limit = k_default_limit;
  }
  v1::SlowestCratesResponse out;
  double total = 0;
  uint64_t compiles = 0;
  for (const store::CrateTotal& c : crates) {
    total += c.total_secs;
    compiles += c.compiles;
  }
  std::sort(crates.begin(), crates.end(), [](const auto& a, const auto& b) {
    if (a.total_secs != b.total_secs) {
      return a.total_secs > b.total_secs;
    }
    if (a.name != b.name) {
      return a.name < b.name;
    }
    return a.version != b.version ? a.version < b.version : a.package_id < b.package_id;
  });
  out.set_runs(static_cast<uint32_t>(runs));
  out.set_compiles(static_cast<uint32_t>(compiles));
  out.set_total_secs(total);
  out.set_crates(static_cast<uint32_t>(crates.size()));
  for (size_t i = 0; i < crates.size() && i < limit; ++i) {
    store::CrateTotal& c = crates[i];
    v1::CrateTime* t = out.add_slowest();
    t->set_package_id(c.package_id);
    t->set_name(c.name);
    t->set_version(c.version);
    t->set_runs(static_cast<uint32_t>(c.runs));
    t->set_compiles(static_cast<uint32_t>(c.compiles));
    t->set_total_secs(c.total_secs);
    t->set_mean_secs(c.runs > 0 ? c.total_secs / static_cast<double>(c.runs) : 0.0);
    t->set_share(total > 0 ? c.total_secs / total : 0.0);
    std::sort(c.machines.begin(), c.machines.end());
    for (std::string& m : c.machines) {
      t->add_machines(std::move(m));
    }
  }
  return out;
}

Result<v1::SlowestCratesResponse> local_slowest_crates(store::RunReader& reader,
                                                       const v1::SlowestCratesRequest& req) {
  CA_TRY_ASSIGN(auto range, TimeRange::of(req));
  CA_TRY_ASSIGN(uint64_t runs, reader.runs_in_range(range.lower(), range.upper()));
  CA_TRY_ASSIGN(auto crates, reader.crate_totals(range.lower(), range.upper()));
  return rank_slowest_crates(std::move(crates), runs, req.limit());
}

} // namespace ca::query
