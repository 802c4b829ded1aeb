// The CPU and memory samples of a run (daemon/store/resource_samples.hpp) as RunTimings fields.
// They are read at each request, never cached or stored with the precomputed report: a run in
// progress gains samples every few seconds, and the last chunk is stored after the run ended.
#pragma once

#include "cargo_analysis/v1/reports.pb.h"
#include "daemon/store/run_reader.hpp"

namespace ca::query {

// Sets `sampled`, `resource_usage` (t relative to the run's start) and `mem_total_bytes` of
// `out` from the samples stored with `run`. Returns the reader's error.
Result<void> attach_resource_usage(store::RunReader& reader,
                                   const cargo_analysis::v1::RunSummary& run,
                                   cargo_analysis::v1::RunTimings& out);

} // namespace ca::query
