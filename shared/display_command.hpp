// How a run's command is shown: one rule for the daemon's reports and for `team push`, which
// runs in the client, so that a run reads the same wherever it was stored from.
#pragma once

#include <string>
#include <vector>

namespace ca {

// Shortens cargo's argv for display: `cargo build --release` (the program's base name, with
// `-Zbuild-analysis` and `--config build.analysis.enabled=true` dropped as they are ours).
std::string display_command(const std::vector<std::string>& argv);

} // namespace ca
