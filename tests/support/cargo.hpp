// Real cargo for end-to-end tests: a private CARGO_HOME, build analysis switched on by the
// environment, and copies of the workspaces in tests/fixtures/workspaces.
#pragma once

#include "tests/support/process.hpp"

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace ca::test {

// The environment that makes a stable cargo log its builds.
std::map<std::string, std::string> build_analysis_env(const std::filesystem::path& cargo_home);

// Copies tests/fixtures/workspaces/<name> to `dest` (created), without any target dir.
void copy_workspace(const std::string& name, const std::filesystem::path& dest);

// Runs `cargo args...` in `cwd` with build analysis on and CARGO_HOME=`cargo_home` (plus
// `extra_env`), offline. Times out after 10 minutes.
CommandResult run_cargo(const std::filesystem::path& cargo_home,
                        const std::filesystem::path& cwd,
                        const std::vector<std::string>& args,
                        const std::map<std::string, std::string>& extra_env = {});

} // namespace ca::test
