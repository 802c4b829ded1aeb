// A cargo build-analysis log folded into the row `team push` sends, without a daemon: the run's
// summary and its units, as the daemon's store would give them for a run of its own.
#pragma once

#include "shared/error.hpp"
#include "shared/team/team_schema.hpp"

#include <filesystem>

namespace ca::team {

// Reads the log at `path` (one cargo run). The run is its own session (a CI runner's runs are
// not correlated); the state is `completed` when every started unit finished, `failed` when one
// did not, `interrupted` when the log ends mid-line. Lines that do not decode are skipped and
// counted in `*skipped_lines`. Fails with io when the file cannot be read, with invalid_argument
// when no line of it is a cargo log line, and with failed_precondition when cargo still writes
// it (it holds the log's lock).
Result<TeamRun> fold_log_file(const std::filesystem::path& path, uint64_t* skipped_lines = nullptr);

} // namespace ca::team
