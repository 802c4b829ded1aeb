// The unary methods served on the client's local call socket (proto/cargo_analysis/v1/local.proto),
// by their gRPC full names: the daemon registers them, the client calls them.
#pragma once

namespace ca::methods {

inline constexpr const char* k_list_sessions = "/cargo_analysis.v1.Reports/ListSessions";
inline constexpr const char* k_get_session = "/cargo_analysis.v1.Reports/GetSession";
inline constexpr const char* k_get_rebuilds = "/cargo_analysis.v1.Reports/GetRebuilds";
inline constexpr const char* k_get_timings = "/cargo_analysis.v1.Reports/GetTimings";
inline constexpr const char* k_get_critical_path = "/cargo_analysis.v1.Reports/GetCriticalPath";
inline constexpr const char* k_diff = "/cargo_analysis.v1.Reports/Diff";
inline constexpr const char* k_trends = "/cargo_analysis.v1.Reports/Trends";
inline constexpr const char* k_slowest_crates = "/cargo_analysis.v1.Reports/SlowestCrates";
inline constexpr const char* k_thrash = "/cargo_analysis.v1.Reports/Thrash";
inline constexpr const char* k_status = "/cargo_analysis.v1.Admin/Status";
inline constexpr const char* k_shutdown = "/cargo_analysis.v1.Admin/Shutdown";
inline constexpr const char* k_collect = "/cargo_analysis.v1.Admin/Collect";
inline constexpr const char* k_announce = "/cargo_analysis.v1.Ingest/Announce";

} // namespace ca::methods
