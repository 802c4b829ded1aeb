// Decoded cargo logs for report tests.
#pragma once

#include "cargo_analysis/v1/events.pb.h"
#include "cargo_analysis/v1/reports.pb.h"

#include <string>
#include <vector>

namespace ca::test {

// Decodes every non-empty line of `text`; a line that does not decode fails the test, naming
// `source` and the line number.
std::vector<cargo_analysis::v1::Event> decode_lines(const std::string& text,
                                                    const std::string& source);

// What the store would know of the run: its id and workspace, from build-started.
cargo_analysis::v1::RunSummary summary_of(const std::vector<cargo_analysis::v1::Event>& events);

} // namespace ca::test
