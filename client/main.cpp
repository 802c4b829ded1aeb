// cargo-analysis-client: the CLI of cargo-analysis. Cargo also runs it as
// `cargo analysis-client` (cargo passes "analysis-client" as the first argument then).
//
// Exit codes: 0 ok, 1 error (the message says what and why), 2 usage error.
#include "client/client_context.hpp"

#include <CLI/CLI.hpp>

#include <cstring>

int main(int argc, char** argv) {
  // `cargo analysis-client report ...` runs us as `cargo-analysis-client analysis-client ...`.
  std::vector<char*> args(argv, argv + argc);
  if (args.size() > 1 && std::strcmp(args[1], "analysis-client") == 0) {
    args.erase(args.begin() + 1);
  }

  ca::client::ClientContext ctx;
  CLI::App app{"cargo-analysis-client: build-analysis reports from cargo-analysisd",
               ca::client::k_program};
  app.require_subcommand(1);
  app.add_option("--runtime-dir", ctx.runtime_dir_flag,
                 "the daemon's runtime dir (default: $CARGO_ANALYSIS_RUNTIME_DIR, "
                 "$XDG_RUNTIME_DIR/cargo-analysis)");
  app.add_flag("--no-spawn", ctx.no_spawn,
               "do not start the daemon if it is not running (also CARGO_ANALYSIS_NO_SPAWN=1)");
  app.add_option("--color", ctx.color, "auto, always or never (NO_COLOR is honoured)")
      ->check(CLI::IsMember({"auto", "always", "never"}));
  app.set_version_flag("--version", CA_VERSION);

  ca::client::add_exec_command(app, ctx);
  ca::client::add_gc_command(app, ctx);
  ca::client::add_ingest_command(app, ctx);
  ca::client::add_recover_command(app, ctx);
  ca::client::add_report_command(app, ctx);
  ca::client::add_status_command(app, ctx);
  ca::client::add_stop_command(app, ctx);
  ca::client::add_team_command(app, ctx);
  ca::client::add_watch_command(app, ctx);

  try {
    app.parse(static_cast<int>(args.size()), args.data());
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? ca::client::k_exit_ok : ca::client::k_exit_usage;
  }
  return ctx.exit_code;
}
