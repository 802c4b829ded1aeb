#include "shared/render/sessions_text.hpp"

#include "shared/run_state.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace ca::render {

namespace v1 = cargo_analysis::v1;

namespace {

struct Style {
  bool on;
  std::string bold(const std::string& s) const { return on ? "\x1b[1m" + s + "\x1b[0m" : s; }
  std::string state(const std::string& s) const {
    if (!on) {
      return s;
    }
    const auto state = parse_run_state(s);
    const char* c = state == RunState::completed     ? "\x1b[32m"
                    : state == RunState::in_progress ? "\x1b[36m"
                    : state == RunState::failed      ? "\x1b[31m"
                                                     : "\x1b[33m";
    return c + s + "\x1b[0m";
  }
};

void render_run(std::string& out, const v1::RunSummary& r, const Style& st, bool nested) {
  std::string indent(nested ? 3 + 4 * r.depth() : 1, ' ');
  std::string bullet = nested ? "└─ " : "- ";
  std::string pad(indent.size() + bullet.size(), ' ');
  out += fmt::format("{}{}{}\n", indent, bullet, st.bold(r.run_id()));
  std::string when = r.start_time();
  if (!when.empty() && when.back() == 'Z') {
    when.pop_back();
  }
  std::replace(when.begin(), when.end(), 'T', ' ');
  std::string state_line = st.state(r.state());
  if (r.has_exit_code()) {
    state_line += fmt::format(" (exit code {})", r.exit_code());
  }
  out += fmt::format("{}started {} UTC, took {}, {}\n", pad, when,
                     format_duration(r.duration_secs()), state_line);
  out += fmt::format("{}command:   {}\n", pad, r.command_line().empty() ? "?" : r.command_line());
  out +=
      fmt::format("{}workspace: {}\n", pad, r.workspace_root().empty() ? "?" : r.workspace_root());
  out += fmt::format("{}profile:   {}\n", pad, r.profile().empty() ? "?" : r.profile());
  if (!r.machine().empty()) { // a team report: which machine built it
    out += fmt::format("{}machine:   {}{}\n", pad, r.machine(),
                       r.host().empty() || r.host() == r.machine() ? "" : " (" + r.host() + ")");
  }
  out += fmt::format("{}units:     {} new, {} dirty, {} fresh ({} in all)\n", pad, r.units_new(),
                     r.units_dirty(), r.units_fresh(), r.units_total());
  if (!r.parent_run_id().empty()) {
    out += fmt::format("{}nested in {} (evidence: {})\n", pad, r.parent_run_id(), r.link());
  }
}

void render_tree(std::string& out, const v1::Session& s, const Style& st) {
  bool first = true;
  for (const auto& r : s.runs()) {
    render_run(out, r, st, !first && r.depth() > 0);
    first = false;
  }
}

} // namespace

std::string format_duration(double secs) {
  if (secs < 60) {
    return fmt::format("{:.2f}s", secs);
  }
  auto total = static_cast<long long>(std::llround(secs));
  if (total < 3600) {
    return fmt::format("{}m {:02}s", total / 60, total % 60);
  }
  return fmt::format("{}h {:02}m", total / 3600, (total % 3600) / 60);
}

std::string format_bytes(uint64_t bytes) {
  if (bytes < 1024) {
    return fmt::format("{} B", bytes);
  }
  double v = static_cast<double>(bytes) / 1024;
  if (v < 1024) {
    return fmt::format("{:.1f} KiB", v);
  }
  v /= 1024;
  if (v < 1024) {
    return fmt::format("{:.1f} MiB", v);
  }
  return fmt::format("{:.2f} GiB", v / 1024);
}

std::string render_sessions(const v1::ListSessionsResponse& resp, bool color) {
  Style st{color};
  std::string out;
  if (!resp.workspace_root().empty()) {
    out += fmt::format("Session IDs for `{}` (most recent first):\n\n", resp.workspace_root());
  } else {
    out += "Session IDs (most recent first):\n\n";
  }
  for (const auto& s : resp.sessions()) {
    render_tree(out, s, st);
    if (s.runs_size() > 1) {
      out += fmt::format("   session {}: {} runs\n", s.session_id(), s.runs_size());
    }
  }
  if (resp.truncated()) {
    out += "\n... and more (use --limit N to see more)\n";
  }
  return out;
}

std::string render_session(const v1::Session& session, bool color) {
  Style st{color};
  std::string out = fmt::format("Session {} ({} run{}):\n\n", session.session_id(),
                                session.runs_size(), session.runs_size() == 1 ? "" : "s");
  render_tree(out, session, st);
  return out;
}

std::string render_status(const v1::StatusResponse& s, std::string_view client_version) {
  std::string out;
  out += fmt::format("cargo-analysisd {} (pid {}), up {}{}\n", s.version(), s.pid(),
                     format_duration(s.uptime_secs()),
                     s.started_by_client() ? ", started on demand by the client" : "");
  if (!client_version.empty() && client_version != s.version()) {
    out += fmt::format("client:     {}: another version (restart the daemon: "
                       "cargo-analysis-client stop, or systemctl --user restart "
                       "cargo-analysisd)\n",
                       client_version);
  }
  out += fmt::format("database:   {} ({})\n", s.db_path(), format_bytes(s.db_size_bytes()));
  out += fmt::format("runtime:    {}\n", s.runtime_dir());
  out += fmt::format("stored:     {} events, {} runs, {} sessions ({} in progress)\n",
                     s.events_stored(), s.runs_stored(), s.sessions_stored(), s.runs_in_progress());
  out += fmt::format("rejected:   {} lines\n", s.lines_rejected());
  if (s.store_failures() != 0) {
    out += fmt::format("store:      {}; {} batches not stored, the last {} ago: {}\n",
                       s.store_writing() ? "writing again" : "NOT WRITING", s.store_failures(),
                       format_duration(s.store_last_error_age_secs()), s.store_last_error());
  }
  for (const auto& d : s.watched_dirs()) {
    out += fmt::format("watching:   {}\n", d);
  }
  if (s.has_correlation()) {
    const auto& c = s.correlation();
    out += fmt::format("sessions:   {} runs seen live: {} nested by ancestry, {} by environment, "
                       "{} explicit, {} top-level, {} lost (mean /proc look-up {:.0f} us)\n",
                       c.runs_seen(), c.linked_by_ancestry(), c.linked_by_environment(),
                       c.linked_explicitly(), c.top_level(), c.lost(), c.mean_lookup_us());
  }
  if (s.backfill_files_total() != 0) {
    out += fmt::format("back-fill:  {} of {} log files\n", s.backfill_files_done(),
                       s.backfill_files_total());
  }
  out += fmt::format("reports:    {} runs analysed and stored since start, {} waiting\n",
                     s.reports_computed(), s.reports_pending());
  for (const auto& src : s.sources()) {
    out += fmt::format("source {}: {} accepted, {} rejected, {} producers cut off\n", src.name(),
                       src.lines_accepted(), src.lines_rejected(), src.producers_disconnected());
    if (!src.last_error().empty()) {
      out += fmt::format("  last error: {}\n", src.last_error());
    }
  }
  if (s.has_team()) {
    const auto& t = s.team();
    out += fmt::format("team:       {} as `{}`: {} runs waiting, {} runs ({} units) sent since "
                       "start{}\n",
                       t.url(), t.machine(), t.backlog(), t.runs_sent(), t.units_sent(),
                       t.last_success_time().empty() ? "" : ", last at " + t.last_success_time());
    if (!t.last_error().empty()) {
      out += fmt::format("  last error ({}, {} failed attempts in a row): {}\n",
                         t.last_error_time(), t.consecutive_failures(), t.last_error());
    }
  }
  if (!s.config_file().empty()) {
    out += fmt::format("config:     {} ({})\n", s.config_file(),
                       s.config_file_read() ? "read" : "not found: defaults");
  }
  size_t width = 0;
  for (const auto& c : s.config()) {
    width = std::max(width, c.key().size() + 3 + c.value().size());
  }
  for (const auto& c : s.config()) {
    out += fmt::format("  {:<{}}  ({})\n", c.key() + " = " + c.value(), width, c.source());
  }
  return out;
}

} // namespace ca::render
