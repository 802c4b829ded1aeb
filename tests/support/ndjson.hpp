// A raw NDJSON producer for tests: connects to the daemon's ingest socket, sends bytes, shuts
// down its side and returns the daemon's summary line (parsed).
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>

namespace ca::test {

// Returns the summary object, or a JSON null (and a test failure) if there was none.
nlohmann::json send_ndjson(const std::filesystem::path& socket, const std::string& data);

} // namespace ca::test
