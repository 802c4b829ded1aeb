// `report sessions|rebuilds|timings|critical-path|diff|trends|thrash`: ask the daemon, render here.
#include "client/client_context.hpp"
#include "shared/local_methods.hpp"
#include "shared/render/analysis_text.hpp"
#include "shared/render/rebuilds_text.hpp"
#include "shared/render/sessions_text.hpp"
#include "shared/render/thrash_text.hpp"
#include "shared/render/timings_report.hpp"
#include "shared/safe_text.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

namespace ca::client {

namespace v1 = cargo_analysis::v1;

namespace {

constexpr const char* k_no_sessions_note =
    "run build commands with `-Z build-analysis` to generate log files, or through "
    "`cargo-analysis-client exec -- cargo build`";
constexpr const char* k_unknown_id_note =
    "run `cargo-analysis-client report sessions` to list available sessions";

std::string current_dir() {
  std::error_code ec;
  auto p = std::filesystem::current_path(ec);
  return ec ? std::string() : p.string();
}

std::string absolute(const std::string& dir) {
  if (dir.empty()) {
    return dir;
  }
  std::error_code ec;
  auto p = std::filesystem::weakly_canonical(std::filesystem::absolute(dir), ec);
  return ec ? dir : p.string();
}

// The root of the cargo workspace `cargo` finds from the current directory, as cargo's reports
// name it; "" when there is none (or no cargo). Runs `$CARGO` (set when cargo runs us as
// `cargo analysis-client`) or `cargo` from PATH: `cargo locate-project --workspace`.
std::string cargo_workspace_root() {
  const char* env = std::getenv("CARGO");
  std::string cargo = env != nullptr && *env != '\0' ? env : "cargo";
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) {
    return {};
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  std::string a0 = cargo, a1 = "locate-project", a2 = "--workspace", a3 = "--message-format",
              a4 = "plain";
  char* argv[] = {a0.data(), a1.data(), a2.data(), a3.data(), a4.data(), nullptr};
  pid_t pid = 0;
  int rc = ::posix_spawnp(&pid, cargo.c_str(), &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  std::string text;
  if (rc == 0) {
    char buf[4096];
    for (ssize_t n; (n = ::read(out[0], buf, sizeof buf)) != 0;) {
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n < 0) {
        break;
      }
      text.append(buf, static_cast<size_t>(n));
    }
  }
  ::close(out[0]);
  int status = 0;
  if (rc != 0 || ::waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
      WEXITSTATUS(status) != 0) {
    return {};
  }
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
    text.pop_back();
  }
  std::filesystem::path manifest(text);
  return manifest.is_absolute() ? manifest.parent_path().string() : std::string();
}

// Reports a failed call: cargo's wording plus a note on what to do.
void report_failure(ClientContext& ctx, const Error& e) {
  if (e.code == ErrorCode::not_found) {
    // Nothing stored for the current directory: the daemon can only name that directory; cargo
    // names the workspace it is in, found from its manifests. Ask cargo, only now.
    const std::string here = "no sessions found for workspace at `" + current_dir() + "`";
    if (e.message == here) {
      if (std::string root = cargo_workspace_root(); !root.empty()) {
        return ctx.fail(Error{e.code, "no sessions found for workspace at `" + root + "`"},
                        k_no_sessions_note);
      }
    }
    bool unknown_id = e.message.rfind("session `", 0) == 0;
    if (e.message.rfind("no timing data", 0) == 0) {
      ctx.fail(e); // the run is known; it just built nothing
    } else {
      ctx.fail(e, unknown_id ? k_unknown_id_note : k_no_sessions_note);
    }
  } else if (e.code == ErrorCode::unavailable) {
    ctx.fail(e);
  } else {
    ctx.fail(e);
  }
}

template <class Resp> Result<Resp> call(ClientContext& ctx, const char* method, const auto& req) {
  CA_TRY_ASSIGN(DaemonConnection * d, ctx.daemon());
  return d->call<Resp>(method, req);
}

struct SessionsOptions {
  bool all = false;
  std::string workspace;
  uint32_t limit = 10;
  std::string format = "human";
  bool team = false;
  std::string machine;
};

void run_sessions(ClientContext& ctx, const SessionsOptions& o) {
  v1::ListSessionsRequest req;
  req.set_all(o.all);
  req.set_workspace(absolute(o.workspace));
  req.set_limit(o.limit);
  req.set_cwd(current_dir());
  req.set_team(o.team);
  req.set_machine(o.machine);
  auto r = call<v1::ListSessionsResponse>(ctx, methods::k_list_sessions, req);
  if (!r) {
    return report_failure(ctx, r.error());
  }
  if (o.format == "json") {
    ctx.print_json(*r);
  } else {
    std::cout << safe_terminal_text(render::render_sessions(*r, ctx.use_color()), ctx.use_color());
  }
}

struct RebuildsOptions {
  std::string id;
  std::string workspace;
  int verbose = 0;
  std::string format = "human";
};

void run_rebuilds(ClientContext& ctx, const RebuildsOptions& o) {
  auto verbosity = o.verbose >= 2   ? render::Verbosity::extra_verbose
                   : o.verbose == 1 ? render::Verbosity::verbose
                                    : render::Verbosity::normal;
  v1::GetRebuildsRequest req;
  req.set_id(o.id);
  req.set_workspace(absolute(o.workspace));
  req.set_cwd(current_dir());
  if (o.format != "json") {
    // Only what the text shows: without -vv a clean build's full result is mostly lists of
    // affected units, nearly the whole build once per root.
    req.set_max_roots(static_cast<uint32_t>(render::roots_shown(verbosity)));
    req.set_omit_affected(!render::lists_affected(verbosity));
  }
  auto r = call<v1::GetRebuildsResponse>(ctx, methods::k_get_rebuilds, req);
  if (!r) {
    return report_failure(ctx, r.error());
  }
  if (o.format == "json") {
    ctx.print_json(*r);
    return;
  }
  bool first = true;
  for (const auto& run : r->runs()) {
    if (!first) {
      std::cout << '\n';
    }
    first = false;
    std::cout << safe_terminal_text(render::render_rebuilds(run, verbosity, ctx.use_color()),
                                    ctx.use_color());
  }
}

struct TimingsOptions {
  std::string id;
  std::string workspace;
  std::string format = "html";
  std::string output;
  bool open = false;
};

void run_timings(ClientContext& ctx, const TimingsOptions& o) {
  v1::GetTimingsRequest req;
  req.set_id(o.id);
  req.set_workspace(absolute(o.workspace));
  req.set_cwd(current_dir());
  // A report of a few hundred units is some ten thousand strings: parsed onto an arena.
  google::protobuf::ArenaOptions arena_options;
  arena_options.start_block_size = 256 * 1024;
  arena_options.max_block_size = 1024 * 1024;
  google::protobuf::Arena arena(arena_options);
  auto connected = ctx.daemon();
  if (!connected) {
    return report_failure(ctx, connected.error());
  }
  auto r = (*connected)->call<v1::GetTimingsResponse>(arena, methods::k_get_timings, req);
  if (!r) {
    return report_failure(ctx, r.error());
  }
  const v1::GetTimingsResponse& resp = **r;
  if (o.format == "json") {
    ctx.print_json(resp);
    return;
  }
  if (o.format == "text") {
    for (const auto& run : resp.runs()) {
      std::cout << safe_terminal_text(render::render_timings_text(run, ctx.use_color()),
                                      ctx.use_color());
    }
    return;
  }
  for (const auto& run : resp.runs()) {
    std::filesystem::path path = o.output;
    if (path.empty() || resp.runs_size() > 1) {
      std::filesystem::path dir = std::filesystem::current_path();
      std::error_code ec;
      if (!run.run().target_dir().empty() &&
          std::filesystem::is_directory(run.run().target_dir(), ec)) {
        dir = std::filesystem::path(run.run().target_dir()) / "cargo-timings";
      }
      if (!o.output.empty()) {
        dir = std::filesystem::path(o.output).parent_path();
      }
      std::filesystem::create_directories(dir, ec);
      path = dir / ("cargo-timing-" + run.run().run_id() + ".html");
    }
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << render::render_timings_html(run);
    out.close();
    if (!out) {
      ctx.fail(fmt::format("cannot write {}: {}", path.string(), std::strerror(errno)));
      return;
    }
    std::cerr << "      Timing report saved to " << path.string() << '\n';
    if (o.open) {
      std::string cmd = "xdg-open '" + path.string() + "' >/dev/null 2>&1 &";
      if (std::system(cmd.c_str()) != 0) {
        ctx.fail("cannot open " + path.string(), "open it in a browser yourself");
      }
    }
  }
}

struct CriticalPathOptions {
  std::string id;
  std::string workspace;
  std::string format = "human";
};

void run_critical_path(ClientContext& ctx, const CriticalPathOptions& o) {
  v1::GetCriticalPathRequest req;
  req.set_id(o.id);
  req.set_workspace(absolute(o.workspace));
  req.set_cwd(current_dir());
  auto r = call<v1::GetCriticalPathResponse>(ctx, methods::k_get_critical_path, req);
  if (!r) {
    return report_failure(ctx, r.error());
  }
  if (o.format == "json") {
    ctx.print_json(*r);
    return;
  }
  bool first = true;
  for (const auto& run : r->runs()) {
    std::cout << (first ? "" : "\n")
              << safe_terminal_text(render::render_critical_path(run, ctx.use_color()),
                                    ctx.use_color());
    first = false;
  }
}

struct DiffOptions {
  std::string a;
  std::string b;
  bool verbose = false;
  std::string format = "human";
};

constexpr size_t k_diff_rows = 30;

void run_diff(ClientContext& ctx, const DiffOptions& o) {
  v1::DiffRequest req;
  req.set_a(o.a);
  req.set_b(o.b);
  auto r = call<v1::DiffResponse>(ctx, methods::k_diff, req);
  if (!r) {
    return report_failure(ctx, r.error());
  }
  if (o.format == "json") {
    ctx.print_json(*r);
    return;
  }
  std::cout << safe_terminal_text(
      render::render_diff(*r, ctx.use_color(), o.verbose ? 0 : k_diff_rows), ctx.use_color());
}

struct TrendsOptions {
  std::string workspace;
  bool all = false;
  uint32_t last = 0;
  uint32_t limit = 10;
  std::string format = "human";
};

void run_trends(ClientContext& ctx, const TrendsOptions& o) {
  v1::TrendsRequest req;
  req.set_workspace(absolute(o.workspace));
  req.set_all(o.all);
  req.set_last(o.last);
  req.set_limit(o.limit);
  req.set_cwd(current_dir());
  auto r = call<v1::TrendsResponse>(ctx, methods::k_trends, req);
  if (!r) {
    return report_failure(ctx, r.error());
  }
  if (o.format == "json") {
    ctx.print_json(*r);
    return;
  }
  std::cout << safe_terminal_text(render::render_trends(*r, ctx.use_color()), ctx.use_color());
}

struct ThrashOptions {
  std::string workspace;
  uint32_t last = 0;
  std::string format = "human";
};

void run_thrash(ClientContext& ctx, const ThrashOptions& o) {
  v1::ThrashRequest req;
  req.set_workspace(absolute(o.workspace));
  req.set_last(o.last);
  req.set_cwd(current_dir());
  auto r = call<v1::ThrashResponse>(ctx, methods::k_thrash, req);
  if (!r) {
    return report_failure(ctx, r.error());
  }
  if (o.format == "json") {
    ctx.print_json(*r);
    return;
  }
  std::cout << render::render_thrash(*r, ctx.use_color());
}

} // namespace

void add_report_command(CLI::App& app, ClientContext& ctx) {
  auto* report = app.add_subcommand("report", "build-analysis reports");
  report->require_subcommand(1);

  auto sessions = std::make_shared<SessionsOptions>();
  auto* s = report->add_subcommand("sessions", "list build sessions, newest first, as run trees");
  auto* all = s->add_flag("--all", sessions->all, "every workspace");
  s->add_option("--workspace", sessions->workspace, "only this workspace (default: the current)")
      ->excludes(all);
  s->add_option("--limit", sessions->limit, "at most N sessions")->check(CLI::PositiveNumber);
  s->add_option("--format", sessions->format, "human or json")
      ->check(CLI::IsMember({"human", "json"}));
  auto* team = s->add_flag("--team", sessions->team,
                           "every machine's sessions, from the team's ClickHouse (through the "
                           "daemon's [team] url)");
  s->add_option("--machine", sessions->machine, "with --team: only this machine label")
      ->needs(team);
  s->callback([&ctx, sessions] { run_sessions(ctx, *sessions); });

  auto rebuilds = std::make_shared<RebuildsOptions>();
  auto* r = report->add_subcommand("rebuilds", "why units were rebuilt (cargo's report rebuilds)");
  r->add_option("--id", rebuilds->id, "run id or session id (default: newest of the workspace)");
  r->add_option("--workspace", rebuilds->workspace, "workspace (default: the current)");
  r->add_flag("-v,--verbose", rebuilds->verbose, "-v: all root rebuilds; -vv: affected units");
  r->add_option("--format", rebuilds->format, "human or json")
      ->check(CLI::IsMember({"human", "json"}));
  r->callback([&ctx, rebuilds] { run_rebuilds(ctx, *rebuilds); });

  auto timings = std::make_shared<TimingsOptions>();
  auto* t = report->add_subcommand("timings", "unit timings (cargo's report timings)");
  t->add_option("--id", timings->id, "run id or session id (default: newest of the workspace)");
  t->add_option("--workspace", timings->workspace, "workspace (default: the current)");
  t->add_option("--format", timings->format, "html, json or text")
      ->check(CLI::IsMember({"html", "json", "text"}));
  t->add_option("-o,--output", timings->output, "HTML file to write");
  t->add_flag("--open", timings->open, "open the HTML report in a browser");
  t->callback([&ctx, timings] { run_timings(ctx, *timings); });

  auto critical = std::make_shared<CriticalPathOptions>();
  auto* c = report->add_subcommand("critical-path", "the chain of units that bounded a build");
  c->add_option("--id", critical->id, "run id or session id (default: newest of the workspace)");
  c->add_option("--workspace", critical->workspace, "workspace (default: the current)");
  c->add_option("--format", critical->format, "human or json")
      ->check(CLI::IsMember({"human", "json"}));
  c->callback([&ctx, critical] { run_critical_path(ctx, *critical); });

  auto diff = std::make_shared<DiffOptions>();
  auto* d = report->add_subcommand("diff", "compare two runs or sessions unit by unit");
  d->add_option("A", diff->a, "baseline: run id or session id")->required();
  d->add_option("B", diff->b, "compared build: run id or session id")->required();
  d->add_flag("-v,--verbose", diff->verbose, "list every unit that changed");
  d->add_option("--format", diff->format, "human or json")->check(CLI::IsMember({"human", "json"}));
  d->callback([&ctx, diff] { run_diff(ctx, *diff); });

  auto trends = std::make_shared<TrendsOptions>();
  auto* tr = report->add_subcommand("trends",
                                    "build times, slowest units and rebuild causes across history");
  auto* trends_all = tr->add_flag("--all", trends->all, "every workspace");
  tr->add_option("--workspace", trends->workspace, "only this workspace (default: the current)")
      ->excludes(trends_all);
  tr->add_option("--last", trends->last, "only the newest N sessions (default: all)")
      ->check(CLI::PositiveNumber);
  tr->add_option("--limit", trends->limit, "length of the ranked lists")
      ->check(CLI::PositiveNumber);
  tr->add_option("--format", trends->format, "human or json")
      ->check(CLI::IsMember({"human", "json"}));
  tr->callback([&ctx, trends] { run_trends(ctx, *trends); });

  auto thrash = std::make_shared<ThrashOptions>();
  auto* th = report->add_subcommand("thrash", "units rebuilt back and forth, why, and the fix");
  th->add_option("--workspace", thrash->workspace, "workspace (default: the current)");
  th->add_option("--last", thrash->last, "only the newest N runs (default: 50)")
      ->check(CLI::PositiveNumber);
  th->add_option("--format", thrash->format, "human or json")
      ->check(CLI::IsMember({"human", "json"}));
  th->callback([&ctx, thrash] { run_thrash(ctx, *thrash); });
}

} // namespace ca::client
