#include "daemon/query/resource_usage.hpp"

namespace ca::query {

Result<void> attach_resource_usage(store::RunReader& reader,
                                   const cargo_analysis::v1::RunSummary& run,
                                   cargo_analysis::v1::RunTimings& out) {
  CA_TRY_ASSIGN(auto samples, reader.resource_samples(run.run_id()));
  out.set_sampled(!samples.empty());
  out.clear_resource_usage();
  out.mutable_resource_usage()->Reserve(static_cast<int>(samples.size()));
  for (const store::ResourceSample& s : samples) {
    auto* r = out.add_resource_usage();
    r->set_t(static_cast<double>(s.unix_ms - run.start_unix_ms()) / 1000.0);
    r->set_cpu_percent(s.cpu_percent);
    r->set_mem_used_bytes(s.mem_used_kib * 1024);
    out.set_mem_total_bytes(s.mem_total_kib * 1024);
  }
  return {};
}

} // namespace ca::query
