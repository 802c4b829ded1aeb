// `report sessions|rebuilds|timings|critical-path|diff|trends|slowest-crates|thrash`: ask the
// daemon, render here.
#include "client/client_context.hpp"
#include "shared/cargo_workspace.hpp"
#include "shared/local_methods.hpp"
#include "shared/package_id_spec.hpp"
#include "shared/render/analysis_text.hpp"
#include "shared/render/rebuilds_text.hpp"
#include "shared/render/session_timeline.hpp"
#include "shared/render/sessions_text.hpp"
#include "shared/render/slowest_crates_text.hpp"
#include "shared/render/thrash_text.hpp"
#include "shared/render/timings_report.hpp"
#include "shared/render/timings_trace.hpp"
#include "shared/safe_text.hpp"
#include "shared/time_range.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>

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

// Prints a message of several lines as cargo does: the first as the error, the rest (cargo's
// `help:` lines, the specs to choose from) below it as they are.
void fail_multiline(ClientContext& ctx, const Error& e) {
  auto nl = e.message.find('\n');
  ctx.fail(Error{e.code, e.message.substr(0, nl)});
  std::string_view rest = std::string_view(e.message).substr(nl + 1);
  while (!rest.empty()) {
    auto end = rest.find('\n');
    std::cerr << safe_text(rest.substr(0, end)) << '\n';
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
  }
}

// Reports a failed call: cargo's wording plus a note on what to do.
void report_failure(ClientContext& ctx, const Error& e) {
  if (e.message.find('\n') != std::string::npos) {
    return fail_multiline(ctx, e);
  }
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

// A usage error found before asking the daemon: exit code 2.
void usage_error(ClientContext& ctx, const std::string& message, const std::string& hint = {}) {
  ctx.fail(message, hint);
  ctx.exit_code = k_exit_usage;
}

// `--since` / `--until` as given, and the range they name.
struct RangeFlags {
  std::string since;
  std::string until;

  // Sets the request's range; false (after a usage error) when a value is no time or the range
  // is empty. Ages count back from now, here, so that every report of one command agrees.
  template <class Request> bool apply(ClientContext& ctx, Request& req) const {
    const int64_t now = now_unix_ms();
    std::optional<int64_t> from, to;
    if (!since.empty()) {
      auto t = parse_time_bound(since, TimeBound::since, now);
      if (!t) {
        usage_error(ctx, "--since: " + t.error().message);
        return false;
      }
      from = *t;
      req.set_since_unix_ms(*t);
    }
    if (!until.empty()) {
      auto t = parse_time_bound(until, TimeBound::until, now);
      if (!t) {
        usage_error(ctx, "--until: " + t.error().message);
        return false;
      }
      to = *t;
      req.set_until_unix_ms(*t);
    }
    if (auto ok = check_time_range(from, to); !ok) {
      usage_error(ctx, ok.error().message);
      return false;
    }
    return true;
  }

  bool given() const { return !since.empty() || !until.empty(); }

  // The flags again, for a command line to copy (`--since 2h --until '2026-11-20 10:00'`).
  std::string as_flags() const {
    auto quoted = [](const std::string& v) {
      bool plain = std::all_of(v.begin(), v.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 ||
               std::string_view("-:.+_").find(c) != std::string_view::npos;
      });
      return plain ? v : "'" + v + "'";
    };
    std::string out;
    if (!since.empty()) {
      out += " --since " + quoted(since);
    }
    if (!until.empty()) {
      out += " --until " + quoted(until);
    }
    return out;
  }

  void add_to(CLI::App* cmd) {
    cmd->add_option("--since", since,
                    "only runs that started since: RFC 3339, a date (local) or an age (2h, 7d)");
    cmd->add_option("--until", until, "only runs that started before this time (same forms)");
  }
};

// `-p/--package` specs: checked here (a malformed spec is a usage error) and sent as written.
bool apply_packages(ClientContext& ctx,
                    const std::vector<std::string>& packages,
                    google::protobuf::RepeatedPtrField<std::string>& out) {
  for (const std::string& p : packages) {
    if (auto spec = parse_package_id_spec(p); !spec) {
      usage_error(ctx, spec.error().message);
      return false;
    }
    *out.Add() = p;
  }
  return true;
}

// With no `--id` and several runs in the range, the report is of the newest: says so on stderr
// (stdout stays the report, as cargo prints it) with how to list the others.
void note_other_runs(const RangeFlags& range, const std::string& workspace, uint32_t others) {
  if (others == 0) {
    return;
  }
  std::string list = "cargo-analysis-client report sessions" + range.as_flags();
  if (!workspace.empty()) {
    list += " --workspace " + workspace;
  }
  std::cerr << fmt::format("note: reported the newest run; {} other run{} started in the range "
                           "(list them with `{}`, pick one with --id)\n",
                           others, others == 1 ? "" : "s", list);
}

struct SessionsOptions {
  RangeFlags range;
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
  if (!o.range.apply(ctx, req)) {
    return;
  }
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
  RangeFlags range;
  std::vector<std::string> packages;
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
  if (!o.range.apply(ctx, req) || !apply_packages(ctx, o.packages, *req.mutable_packages())) {
    return;
  }
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
  note_other_runs(o.range, o.workspace, r->other_runs_in_range());
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
  RangeFlags range;
  std::vector<std::string> packages;
  std::string id;
  std::string workspace;
  std::string format = "html";
  std::string output;
  bool open = false;
  bool session = false;
};

// The timings of every run of `session` with timing data, in the session's tree order.
Result<v1::GetTimingsResponse> session_timings(ClientContext& ctx, const std::string& session) {
  v1::GetSessionRequest req;
  req.set_id(session);
  CA_TRY_ASSIGN(auto tree, call<v1::Session>(ctx, methods::k_get_session, req));
  v1::GetTimingsResponse out;
  for (const v1::RunSummary& run : tree.runs()) {
    v1::GetTimingsRequest one;
    one.set_id(run.run_id());
    auto timings = call<v1::GetTimingsResponse>(ctx, methods::k_get_timings, one);
    if (!timings) {
      if (timings.error().code == ErrorCode::not_found) {
        continue; // a run without units (cargo: "no timing data found")
      }
      return unexpected(timings.error());
    }
    for (v1::RunTimings& t : *timings->mutable_runs()) {
      t.mutable_run()->set_depth(run.depth());
      *out.add_runs() = std::move(t);
    }
  }
  return out;
}

void run_timings(ClientContext& ctx, const TimingsOptions& o) {
  v1::GetTimingsRequest req;
  req.set_id(o.id);
  req.set_workspace(absolute(o.workspace));
  req.set_cwd(current_dir());
  if (!o.range.apply(ctx, req) || !apply_packages(ctx, o.packages, *req.mutable_packages())) {
    return;
  }
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
  v1::GetTimingsResponse session_resp;
  if (o.session && (*r)->runs_size() > 0) {
    // The whole session of the run asked for, in tree order: a top-level run's id is also its
    // session's id, which names the run alone to the daemon (as to cargo).
    auto whole = session_timings(ctx, (*r)->runs(0).run().session_id());
    if (!whole) {
      return report_failure(ctx, whole.error());
    }
    session_resp = std::move(*whole);
  }
  const v1::GetTimingsResponse& resp = o.session ? session_resp : **r;
  note_other_runs(o.range, o.workspace, (*r)->other_runs_in_range());
  if (o.format == "json") {
    ctx.print_json(resp);
    return;
  }
  if (o.format == "trace") {
    // One trace for every run asked for (a session's runs on one time axis): to -o, else stdout.
    std::string trace = render::render_timings_trace(resp);
    if (o.output.empty()) {
      std::cout << trace;
      return;
    }
    std::ofstream out(o.output, std::ios::binary | std::ios::trunc);
    out << trace;
    out.close();
    if (!out) {
      ctx.fail(fmt::format("cannot write {}: {}", o.output, std::strerror(errno)));
      return;
    }
    std::cerr << "      Trace saved to " << o.output
              << " (open it in https://ui.perfetto.dev or chrome://tracing)\n";
    return;
  }
  if (o.format == "text") {
    for (const auto& run : resp.runs()) {
      std::cout << safe_terminal_text(render::render_timings_text(run, ctx.use_color()),
                                      ctx.use_color());
    }
    return;
  }
  // Cargo, run from a directory in no workspace, writes the page to a new temporary directory
  // (`$TMPDIR/cargo-timings-XXXXXX`); so do we, there, unless told where.
  std::filesystem::path temp_dir;
  if (o.output.empty() && outside_any_cargo_workspace(current_dir())) {
    std::error_code ec;
    std::string pattern =
        (std::filesystem::temp_directory_path(ec) / "cargo-timings-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      ctx.fail(fmt::format("cannot create a directory {}: {}", pattern, std::strerror(errno)));
      return;
    }
    temp_dir = pattern;
  }
  if (resp.runs_size() > 1) {
    // A session: its runs on one time axis (to -o, else beside the runs' pages), then a page
    // per run as before.
    const std::string& session = resp.runs(0).run().session_id();
    std::filesystem::path path = o.output;
    if (path.empty()) {
      std::filesystem::path dir = temp_dir.empty() ? std::filesystem::current_path() : temp_dir;
      std::error_code ec;
      const std::string& target = resp.runs(0).run().target_dir();
      if (temp_dir.empty() && !target.empty() && std::filesystem::is_directory(target, ec)) {
        dir = std::filesystem::path(target) / "cargo-timings";
      }
      std::filesystem::create_directories(dir, ec);
      path = dir / ("cargo-timing-session-" + session + ".html");
    }
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << render::render_session_timeline_html(resp, session);
    out.close();
    if (!out) {
      ctx.fail(fmt::format("cannot write {}: {}", path.string(), std::strerror(errno)));
      return;
    }
    std::cerr << "      Session timeline saved to " << path.string() << '\n';
    if (o.open) {
      std::string cmd = "xdg-open '" + path.string() + "' >/dev/null 2>&1 &";
      if (std::system(cmd.c_str()) != 0) {
        ctx.fail("cannot open " + path.string(), "open it in a browser yourself");
      }
    }
  }
  for (const auto& run : resp.runs()) {
    std::filesystem::path path = o.output;
    if (path.empty() || resp.runs_size() > 1) {
      std::filesystem::path dir = std::filesystem::current_path();
      std::error_code ec;
      if (!temp_dir.empty()) {
        dir = temp_dir;
      } else if (!run.run().target_dir().empty() &&
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
    if (o.open && resp.runs_size() == 1) {
      std::string cmd = "xdg-open '" + path.string() + "' >/dev/null 2>&1 &";
      if (std::system(cmd.c_str()) != 0) {
        ctx.fail("cannot open " + path.string(), "open it in a browser yourself");
      }
    }
  }
}

struct CriticalPathOptions {
  RangeFlags range;
  std::vector<std::string> packages;
  std::string id;
  std::string workspace;
  std::string format = "human";
};

void run_critical_path(ClientContext& ctx, const CriticalPathOptions& o) {
  v1::GetCriticalPathRequest req;
  req.set_id(o.id);
  req.set_workspace(absolute(o.workspace));
  req.set_cwd(current_dir());
  if (!o.range.apply(ctx, req) || !apply_packages(ctx, o.packages, *req.mutable_packages())) {
    return;
  }
  auto r = call<v1::GetCriticalPathResponse>(ctx, methods::k_get_critical_path, req);
  if (!r) {
    return report_failure(ctx, r.error());
  }
  note_other_runs(o.range, o.workspace, r->other_runs_in_range());
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
  RangeFlags range;
  std::string workspace;
  std::string a;
  std::string b;
  bool verbose = false;
  std::string format = "human";
};

constexpr size_t k_diff_rows = 30;

void run_diff(ClientContext& ctx, const DiffOptions& o) {
  if (o.a.empty() != o.b.empty() || (o.a.empty() && !o.range.given())) {
    return usage_error(ctx, "a diff needs two ids (A and B), or --since/--until without ids",
                       "run `cargo-analysis-client report sessions` to list available sessions");
  }
  v1::DiffRequest req;
  req.set_a(o.a);
  req.set_b(o.b);
  req.set_workspace(absolute(o.workspace));
  req.set_cwd(current_dir());
  if (!o.range.apply(ctx, req)) {
    return;
  }
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
  RangeFlags range;
  std::vector<std::string> packages;
  std::string workspace;
  bool all = false;
  uint32_t last = 0;
  uint32_t limit = 10;
  std::string format = "human";
  bool team = false;
  std::string machine;
};

void run_trends(ClientContext& ctx, const TrendsOptions& o) {
  v1::TrendsRequest req;
  req.set_workspace(absolute(o.workspace));
  req.set_all(o.all);
  req.set_last(o.last);
  req.set_limit(o.limit);
  req.set_cwd(current_dir());
  if (!o.range.apply(ctx, req) || !apply_packages(ctx, o.packages, *req.mutable_packages())) {
    return;
  }
  req.set_team(o.team);
  req.set_machine(o.machine);
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

struct SlowestCratesOptions {
  RangeFlags range;
  uint32_t limit = 10;
  std::string format = "human";
  bool team = false;
  std::string machine;
};

void run_slowest_crates(ClientContext& ctx, const SlowestCratesOptions& o) {
  v1::SlowestCratesRequest req;
  req.set_limit(o.limit);
  if (!o.range.apply(ctx, req)) {
    return;
  }
  req.set_team(o.team);
  req.set_machine(o.machine);
  auto r = call<v1::SlowestCratesResponse>(ctx, methods::k_slowest_crates, req);
  if (!r) {
    return report_failure(ctx, r.error());
  }
  if (o.format == "json") {
    ctx.print_json(*r);
    return;
  }
  std::cout << safe_terminal_text(render::render_slowest_crates(*r, ctx.use_color()),
                                  ctx.use_color());
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
  sessions->range.add_to(s);
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
  rebuilds->range.add_to(r);
  r->add_option("-p,--package", rebuilds->packages,
                "only this package (cargo's package ID spec; repeatable)")
      ->take_all()
      ->allow_extra_args(false);

  r->add_option("--format", rebuilds->format, "human or json")
      ->check(CLI::IsMember({"human", "json"}));
  r->callback([&ctx, rebuilds] { run_rebuilds(ctx, *rebuilds); });

  auto timings = std::make_shared<TimingsOptions>();
  auto* t = report->add_subcommand("timings", "unit timings (cargo's report timings)");
  t->add_option("--id", timings->id, "run id or session id (default: newest of the workspace)");
  t->add_option("--workspace", timings->workspace, "workspace (default: the current)");
  t->add_option("--format", timings->format,
                "html, json, text, or trace (Chrome/Perfetto trace events)")
      ->check(CLI::IsMember({"html", "json", "text", "trace"}));
  t->add_option("-o,--output", timings->output, "HTML (or trace) file to write");
  t->add_flag("--open", timings->open, "open the HTML report in a browser");
  t->add_flag("--session", timings->session,
              "every run of the run's session (nested cargo calls) on one timeline");
  timings->range.add_to(t);
  t->add_option("-p,--package", timings->packages,
                "only this package (cargo's package ID spec; repeatable)")
      ->take_all()
      ->allow_extra_args(false);

  t->callback([&ctx, timings] { run_timings(ctx, *timings); });

  auto critical = std::make_shared<CriticalPathOptions>();
  auto* c = report->add_subcommand("critical-path", "the chain of units that bounded a build");
  c->add_option("--id", critical->id, "run id or session id (default: newest of the workspace)");
  c->add_option("--workspace", critical->workspace, "workspace (default: the current)");
  critical->range.add_to(c);
  c->add_option("-p,--package", critical->packages,
                "only this package (cargo's package ID spec; repeatable)")
      ->take_all()
      ->allow_extra_args(false);

  c->add_option("--format", critical->format, "human or json")
      ->check(CLI::IsMember({"human", "json"}));
  c->callback([&ctx, critical] { run_critical_path(ctx, *critical); });

  auto diff = std::make_shared<DiffOptions>();
  auto* d = report->add_subcommand("diff", "compare two runs or sessions unit by unit");
  d->add_option("A", diff->a,
                "baseline: run id or session id (default, with a range: the "
                "oldest session in it)");
  d->add_option("B", diff->b,
                "compared build: run id or session id (default, with a range: the "
                "newest session in it)");
  diff->range.add_to(d);
  d->add_option("--workspace", diff->workspace,
                "with a range and no ids: the workspace (default: the current)");
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
  trends->range.add_to(tr);
  tr->add_option("-p,--package", trends->packages,
                 "only this package (cargo's package ID spec; repeatable)")
      ->take_all()
      ->allow_extra_args(false);

  tr->add_option("--format", trends->format, "human or json")
      ->check(CLI::IsMember({"human", "json"}));
  auto* trends_team = tr->add_flag("--team", trends->team,
                                   "every machine's runs, from the team's ClickHouse (through the "
                                   "daemon's [team] url)");
  tr->add_option("--machine", trends->machine, "with --team: only this machine label")
      ->needs(trends_team);
  tr->callback([&ctx, trends] { run_trends(ctx, *trends); });

  auto crates = std::make_shared<SlowestCratesOptions>();
  auto* sc = report->add_subcommand(
      "slowest-crates", "crates by total compile time over the runs in a range (default: all)");
  crates->range.add_to(sc);
  sc->add_option("--limit", crates->limit, "at most N crates")->check(CLI::PositiveNumber);
  sc->add_option("--format", crates->format, "human or json")
      ->check(CLI::IsMember({"human", "json"}));
  auto* crates_team = sc->add_flag("--team", crates->team,
                                   "every machine's runs, from the team's ClickHouse (through the "
                                   "daemon's [team] url)");
  sc->add_option("--machine", crates->machine, "with --team: only this machine label")
      ->needs(crates_team);
  sc->callback([&ctx, crates] { run_slowest_crates(ctx, *crates); });

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
