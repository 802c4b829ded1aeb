// What a row of `run_reports` holds: the kind of report and the version of the analysis that
// computed it. QueryEngine writes and reads the rows, ReportPrecomputer finds the runs that
// lack them; neither needs the other for these.
#pragma once

namespace ca::query {

// What `run_reports.kind` holds.
enum class StoredKind : int {
  rebuild_roots = 1, // RunRebuilds with every root, affected units counted but not listed
  timings = 2,       // RunTimings, whole
};
inline constexpr int k_stored_kinds = 2;

// The version of the analysis code whose results are stored. Bump it whenever a change to the
// rebuilds or timings analysis (daemon/query) changes what they compute: rows of other formats
// are then ignored and recomputed.
inline constexpr int k_report_format = 1;

} // namespace ca::query
