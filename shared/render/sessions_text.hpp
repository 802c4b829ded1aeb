// Human rendering of `report sessions` and `status`.
#pragma once

#include "cargo_analysis/v1/admin.pb.h"
#include "cargo_analysis/v1/reports.pb.h"

#include <string>
#include <string_view>

namespace ca::render {

// Sessions newest first, each as its tree of runs, with cargo's heading
// ("Session IDs for `<ws>` (most recent first):") and its "... and more" line.
std::string render_sessions(const cargo_analysis::v1::ListSessionsResponse& resp, bool color);

// One session's tree (GetSession).
std::string render_session(const cargo_analysis::v1::Session& session, bool color);

// The daemon's status; `client_version` (ours) is compared with the daemon's, and the settings
// in effect end the text, each with where it came from.
std::string render_status(const cargo_analysis::v1::StatusResponse& status,
                          std::string_view client_version = {});

// "1.23s", "2m 05s", "1h 02m".
std::string format_duration(double secs);

// "812 B", "1.5 KiB", "3.2 MiB".
std::string format_bytes(uint64_t bytes);

} // namespace ca::render
