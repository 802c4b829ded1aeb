#include "tests/support/cargo.hpp"

#include "tests/support/temp_dir.hpp"

namespace ca::test {

std::map<std::string, std::string> build_analysis_env(const std::filesystem::path& cargo_home) {
  return {{"CARGO_HOME", cargo_home.string()},
          {"__CARGO_TEST_CHANNEL_OVERRIDE_DO_NOT_USE_THIS", "nightly"},
          {"CARGO_UNSTABLE_BUILD_ANALYSIS", "true"},
          {"CARGO_BUILD_ANALYSIS_ENABLED", "true"},
          {"CARGO_NET_OFFLINE", "true"},
          {"CARGO_TERM_COLOR", "never"}};
}

void copy_workspace(const std::string& name, const std::filesystem::path& dest) {
  std::filesystem::create_directories(dest);
  std::filesystem::copy(fixture_path("workspaces/" + name), dest,
                        std::filesystem::copy_options::recursive |
                            std::filesystem::copy_options::overwrite_existing);
  std::filesystem::remove_all(dest / "target");
}

CommandResult run_cargo(const std::filesystem::path& cargo_home,
                        const std::filesystem::path& cwd,
                        const std::vector<std::string>& args,
                        const std::map<std::string, std::string>& extra_env) {
  CommandOptions opts;
  opts.cwd = cwd;
  opts.env = build_analysis_env(cargo_home);
  for (const auto& [k, v] : extra_env) {
    opts.env[k] = v;
  }
  // Our own session variables must not leak in from whoever runs the tests.
  opts.unset_env = {"CARGO_ANALYSIS_SESSION_ID", "TRACEPARENT", "CARGO_TARGET_DIR"};
  opts.timeout = std::chrono::seconds(600);
  std::vector<std::string> argv = {"cargo"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, opts);
}

} // namespace ca::test
