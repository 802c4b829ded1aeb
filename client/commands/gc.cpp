// `gc`: asks the daemon to apply its retention policy now (Admin.Collect), optionally with
// other limits, a forced VACUUM, or as a dry run. The daemon does this by itself daily; this is
// for reclaiming space at once or previewing a tighter policy.
#include "client/client_context.hpp"
#include "shared/local_methods.hpp"
#include "shared/safe_text.hpp"

#include <fmt/format.h>

#include <cstdint>
#include <iostream>
#include <optional>

namespace ca::client {

namespace v1 = cargo_analysis::v1;

namespace {

struct GcOptions {
  std::optional<uint32_t> keep_days;
  std::optional<uint64_t> keep_sessions;
  std::optional<uint64_t> max_db_mb;
  bool vacuum = false;
  bool dry_run = false;
  std::string format = "human";
};

std::string megabytes(uint64_t bytes) {
  return fmt::format("{:.1f} MB", static_cast<double>(bytes) / 1e6);
}

// "removed 12 sessions (30 runs, 10412 events); database 48.2 MB -> 31.0 MB", then what is left.
std::string render_human(const v1::CollectResponse& r) {
  std::string out =
      fmt::format("{} {} sessions ({} runs, {} events); ", r.dry_run() ? "would remove" : "removed",
                  r.sessions_deleted(), r.runs_deleted(), r.events_deleted());
  if (r.dry_run()) {
    out += fmt::format("database {}, about {} of data left\n", megabytes(r.bytes_before()),
                       megabytes(r.bytes_after()));
  } else {
    out += fmt::format("database {} -> {}{}\n", megabytes(r.bytes_before()),
                       megabytes(r.bytes_after()), r.vacuumed() ? " (vacuumed)" : "");
  }
  out += fmt::format("{} sessions kept\n", r.sessions_kept());
  return out;
}

} // namespace

void add_gc_command(CLI::App& app, ClientContext& ctx) {
  auto opts = std::make_shared<GcOptions>();
  auto* cmd = app.add_subcommand(
      "gc", "delete old sessions now and reclaim space (the daemon also does it daily)");
  cmd->add_option("--keep-days", opts->keep_days,
                  "delete sessions whose newest build started more than N days ago "
                  "(default: the daemon's --keep-days; 0: no age limit)");
  cmd->add_option("--keep-sessions", opts->keep_sessions,
                  "keep only the newest N sessions (default: the daemon's --keep-sessions; "
                  "0: no limit)");
  cmd->add_option("--max-db-mb", opts->max_db_mb,
                  "delete the oldest sessions while the database holds more than N MiB "
                  "(default: the daemon's --max-db-mb; 0: no limit)");
  cmd->add_flag("--vacuum", opts->vacuum, "rewrite the database to give free space back");
  cmd->add_flag("--dry-run", opts->dry_run, "only report what would be deleted");
  cmd->add_option("--format", opts->format, "human or json")
      ->check(CLI::IsMember({"human", "json"}));
  cmd->callback([&ctx, opts] {
    v1::CollectRequest req;
    if (opts->keep_days) {
      req.set_keep_days(*opts->keep_days);
    }
    if (opts->keep_sessions) {
      req.set_keep_sessions(*opts->keep_sessions);
    }
    if (opts->max_db_mb) {
      req.set_max_db_mb(*opts->max_db_mb);
    }
    req.set_vacuum(opts->vacuum);
    req.set_dry_run(opts->dry_run);
    auto d = ctx.daemon();
    if (!d) {
      return ctx.fail(d.error());
    }
    // A VACUUM rewrites the whole database: allow it minutes on a large one.
    auto resp = (*d)->call<v1::CollectResponse>(methods::k_collect, req, std::chrono::minutes(30));
    if (!resp) {
      return ctx.fail(resp.error());
    }
    if (opts->format == "json") {
      ctx.print_json(*resp);
    } else {
      std::cout << safe_terminal_text(render_human(*resp), false);
    }
  });
}

} // namespace ca::client
