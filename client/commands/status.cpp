// `status` and `stop`.
#include "client/client_context.hpp"
#include "shared/local_methods.hpp"
#include "shared/render/sessions_text.hpp"
#include "shared/safe_text.hpp"

#include <iostream>

namespace ca::client {

namespace v1 = cargo_analysis::v1;

void add_status_command(CLI::App& app, ClientContext& ctx) {
  auto format = std::make_shared<std::string>("human");
  auto* cmd = app.add_subcommand("status", "the daemon's health and counters");
  cmd->add_option("--format", *format, "human or json")->check(CLI::IsMember({"human", "json"}));
  cmd->callback([&ctx, format] {
    auto d = ctx.daemon();
    if (!d) {
      return ctx.fail(d.error());
    }
    v1::StatusRequest req;
    req.set_client_version(CA_VERSION);
    auto resp = (*d)->call<v1::StatusResponse>(methods::k_status, req, std::chrono::seconds(10));
    if (!resp) {
      return ctx.fail(resp.error());
    }
    if (*format == "json") {
      ctx.print_json(*resp);
    } else {
      std::cout << safe_terminal_text(render::render_status(*resp, CA_VERSION), false);
    }
  });
}

void add_stop_command(CLI::App& app, ClientContext& ctx) {
  auto* cmd = app.add_subcommand("stop", "stop the daemon (after it commits what it received)");
  cmd->callback([&ctx] {
    ctx.no_spawn = true;       // never start a daemon just to stop it
    ctx.check_version = false; // stopping a daemon of another version is the fix, not a fault
    auto d = ctx.daemon();
    if (!d) {
      std::cerr << "cargo-analysisd is not running\n";
      return;
    }
    auto resp = (*d)->call<v1::ShutdownResponse>(methods::k_shutdown, v1::ShutdownRequest(),
                                                 std::chrono::seconds(10));
    if (!resp) {
      return ctx.fail(resp.error());
    }
    std::cerr << "cargo-analysisd stopped\n";
  });
}

} // namespace ca::client
