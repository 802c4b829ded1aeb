// `watch [--workspace DIR] [--session ID] [--runs N]`: a live view of the builds in progress,
// from the daemon's Live.Watch stream.
//
// On a terminal, one block per running build, redrawn in place ten times a second, and one line
// that stays for each build that ended:
//   [=========>              ]  52/88 units, 2 running, 4.2s  cargo build in /ws/demo
//     compiling: demo-core@0.1.0 build-script (run), serde@1.0.1
//   completed: cargo build in /ws/demo, 88 units (3 compiled) in 6.1s
// Elsewhere (a pipe, a file, CI) one plain line per change, flushed at once:
//   run 20261123T062716161Z-28b99174ef2c2ad6 started: cargo build in /ws/demo
//   run 20261123T062716161Z-28b99174ef2c2ad6 finished demo-core@0.1.0 in 0.52s (86/88 units)
//   run 20261123T062716161Z-28b99174ef2c2ad6 ended: completed in 6.10s (88 units, 3 compiled)
// Units done counts fresh units too, as cargo's own progress bar does.
//
// Exit code: 0 when the daemon ends the stream (it stopped) or after --runs N builds ended; 1 if
// the daemon cannot be reached or the stream fails.
#include "client/client_context.hpp"
#include "shared/safe_text.hpp"

#include <fmt/format.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>

namespace ca::client {

namespace v1 = cargo_analysis::v1;

namespace {

constexpr std::chrono::milliseconds k_redraw{100};
constexpr size_t k_bar_width = 24;

struct WatchOptions {
  std::string workspace;
  std::string session;
  uint64_t runs = 0; // exit after this many runs ended (0: never)
};

struct RunView {
  v1::LiveRun run;
  v1::RunProgress progress;
  std::vector<v1::LiveUnit> running;
  std::chrono::steady_clock::time_point progress_at; // when `progress` arrived
};

// Seconds since the run started: cargo's elapsed at the newest event, plus the time since it
// arrived (so the clock ticks between events, also for a log replayed later).
double elapsed_of(const RunView& v) {
  return v.progress.elapsed() +
         std::chrono::duration<double>(std::chrono::steady_clock::now() - v.progress_at).count();
}

uint32_t done_of(const v1::RunProgress& p) {
  return p.units_fresh() + p.units_finished();
}

std::string where(const v1::LiveRun& run) {
  std::string cmd = run.command_line().empty() ? "cargo" : run.command_line();
  return run.workspace_root().empty() ? cmd : cmd + " in " + run.workspace_root();
}

// A thrash as it happens: `run R thrash: thr@0.1.0 thr "bin" rebuilt back to THR_FLAVOR=<unset>
// as 2 builds ago (environment variable THR_FLAVOR flips); fix: ...`.
std::string thrash_line(const std::string& run_id, const v1::ThrashDetected& t) {
  std::string back = t.to().empty() ? std::string("rebuilt again for the same cause")
                                    : "rebuilt back to " + t.to();
  std::string ago = t.builds_ago() == 0   ? std::string()
                    : t.builds_ago() == 1 ? std::string(" as 1 build ago")
                                          : fmt::format(" as {} builds ago", t.builds_ago());
  return fmt::format("run {} thrash: {} {}{} ({}); fix: {}", run_id, t.unit().description(), back,
                     ago, t.cause_text(), t.fix());
}

// The plain line for one update, or "" for updates not worth a line.
std::string plain_line(const v1::WatchUpdate& u, const std::map<std::string, RunView>& runs) {
  auto done = [&](const v1::RunProgress& p) {
    return fmt::format("{}/{} units", done_of(p), p.units_total());
  };
  switch (u.change_case()) {
  case v1::WatchUpdate::kSnapshot: {
    std::string out;
    for (const auto& r : u.snapshot().runs()) {
      out += fmt::format("{}run {} in progress: {} ({})", out.empty() ? "" : "\n", r.run().run_id(),
                         where(r.run()), done(r.progress()));
    }
    return out;
  }
  case v1::WatchUpdate::kRunStarted:
    return fmt::format("run {} started: {}", u.run_id(), where(u.run_started().run()));
  case v1::WatchUpdate::kUnitStarted:
    return fmt::format("run {} compiling {}", u.run_id(), u.unit_started().unit().description());
  case v1::WatchUpdate::kUnitFinished:
    return fmt::format("run {} finished {} in {:.2f}s ({})", u.run_id(),
                       u.unit_finished().unit().description(), u.unit_finished().duration(),
                       done(u.progress()));
  case v1::WatchUpdate::kRunEnded: {
    const auto& e = u.run_ended();
    std::string code = e.has_exit_code() ? fmt::format(", exit code {}", e.exit_code()) : "";
    auto it = runs.find(u.run_id());
    std::string units;
    if (it != runs.end()) {
      const auto& p = it->second.progress;
      units = fmt::format(" ({} units, {} compiled)", p.units_total(), p.units_finished());
    }
    return fmt::format("run {} ended: {} in {:.2f}s{}{}", u.run_id(), e.state(), e.duration_secs(),
                       units, code);
  }
  case v1::WatchUpdate::kDropped:
    return fmt::format("watch: {} updates dropped (read too slowly), {} in total",
                       u.dropped().count(), u.dropped().total());
  case v1::WatchUpdate::kThrash:
    return thrash_line(u.run_id(), u.thrash());
  case v1::WatchUpdate::kProgressChanged:
  case v1::WatchUpdate::CHANGE_NOT_SET:
    break;
  }
  return {};
}

// What the stream told so far; the reader thread updates it, the drawing thread reads it.
class WatchState {
public:
  // Applies one update; returns the permanent line to print for it on a terminal ("" if none).
  std::string apply(const v1::WatchUpdate& u) {
    auto replace_all = [&](const v1::LiveSnapshot& snap) {
      m_runs.clear();
      for (const auto& r : snap.runs()) {
        RunView& v = m_runs[r.run().run_id()];
        v.run = r.run();
        v.progress = r.progress();
        v.running.assign(r.running().begin(), r.running().end());
        v.progress_at = std::chrono::steady_clock::now();
      }
    };
    switch (u.change_case()) {
    case v1::WatchUpdate::kSnapshot:
      replace_all(u.snapshot());
      return {};
    case v1::WatchUpdate::kDropped:
      replace_all(u.dropped().snapshot());
      return plain_line(u, m_runs);
    case v1::WatchUpdate::kThrash:
      return plain_line(u, m_runs);
    case v1::WatchUpdate::kRunStarted:
      m_runs[u.run_id()].run = u.run_started().run();
      break;
    case v1::WatchUpdate::kProgressChanged:
      m_runs[u.run_id()].run = u.progress_changed().run();
      break;
    case v1::WatchUpdate::kUnitStarted:
      m_runs[u.run_id()].running.push_back(u.unit_started().unit());
      break;
    case v1::WatchUpdate::kUnitFinished: {
      auto& running = m_runs[u.run_id()].running;
      uint32_t index = u.unit_finished().unit().index();
      std::erase_if(running, [&](const v1::LiveUnit& x) { return x.index() == index; });
      break;
    }
    case v1::WatchUpdate::kRunEnded: {
      auto it = m_runs.find(u.run_id());
      if (it == m_runs.end()) {
        return {};
      }
      if (u.has_progress()) {
        it->second.progress = u.progress();
      }
      const auto& p = it->second.progress;
      const auto& e = u.run_ended();
      std::string line =
          fmt::format("{}: {}, {} units ({} compiled) in {:.1f}s", e.state(), where(it->second.run),
                      p.units_total(), p.units_finished(), e.duration_secs());
      if (e.has_exit_code()) {
        line += fmt::format(", exit code {}", e.exit_code());
      }
      m_runs.erase(it);
      ++m_ended;
      return line;
    }
    case v1::WatchUpdate::CHANGE_NOT_SET:
      return {};
    }
    if (u.has_progress()) {
      RunView& v = m_runs[u.run_id()];
      v.progress = u.progress();
      v.progress_at = std::chrono::steady_clock::now();
    }
    return {};
  }

  const std::map<std::string, RunView>& runs() const { return m_runs; }
  uint64_t ended() const { return m_ended; }

private:
  std::map<std::string, RunView> m_runs;
  uint64_t m_ended = 0;
};

size_t terminal_width() {
  winsize ws{};
  if (::ioctl(1, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 10) {
    return ws.ws_col;
  }
  return 80;
}

std::string fit(std::string line, size_t width) {
  if (line.size() >= width) {
    line.resize(width - 1); // never wrap: the redraw counts lines
  }
  return line;
}

// The live block of every running build.
std::vector<std::string> live_lines(const std::map<std::string, RunView>& runs, size_t width) {
  std::vector<std::string> lines;
  if (runs.empty()) {
    lines.push_back("waiting for builds... (Ctrl-C to quit)");
  }
  for (const auto& [id, v] : runs) {
    const auto& p = v.progress;
    uint32_t done = std::min(done_of(p), p.units_total());
    size_t filled = p.units_total() == 0 ? 0 : k_bar_width * done / p.units_total();
    std::string bar(filled, '=');
    if (filled < k_bar_width) {
      bar += '>';
      bar.append(k_bar_width - filled - 1, ' ');
    }
    // The machine's CPU and memory while the daemon samples them (RunProgress.cpu_percent).
    std::string machine;
    if (p.has_cpu_percent()) {
      machine = fmt::format(", cpu {:.0f}%", p.cpu_percent());
      if (p.has_mem_used_bytes()) {
        machine += fmt::format(", mem {:.1f} GiB",
                               static_cast<double>(p.mem_used_bytes()) / (1024.0 * 1024 * 1024));
      }
    }
    lines.push_back(
        fit(fmt::format("[{}] {:>4}/{} units, {} running{}, {:.1f}s  {}", bar, done,
                        p.units_total(), v.running.size(), machine, elapsed_of(v), where(v.run)),
            width));
    if (!v.running.empty()) {
      std::string names;
      for (const auto& u : v.running) {
        names += (names.empty() ? "" : ", ") +
                 (u.description().empty() ? "unit " + std::to_string(u.index()) : u.description());
      }
      lines.push_back(fit("  compiling: " + names, width));
    }
  }
  return lines;
}

// Redraws the live area in place: the permanent lines go above it and stay.
class Screen {
public:
  void draw(const std::vector<std::string>& permanent, const std::vector<std::string>& live) {
    std::string out;
    if (m_lines != 0) {
      out += fmt::format("\x1b[{}F", m_lines); // to the start of the live area
    }
    for (const auto& l : permanent) {
      out += safe_terminal_text(l, true, false) + "\x1b[K\n";
    }
    for (const auto& l : live) {
      out += safe_terminal_text(l, true, false) + "\x1b[K\n";
    }
    out += "\x1b[J"; // whatever the last frame had below
    std::cout << out << std::flush;
    m_lines = live.size();
  }

private:
  size_t m_lines = 0;
};

void run_watch(ClientContext& ctx, const WatchOptions& o) {
  auto d = ctx.daemon();
  if (!d) {
    return ctx.fail(d.error());
  }
  v1::WatchRequest req;
  if (!o.workspace.empty()) {
    std::error_code ec;
    auto p = std::filesystem::weakly_canonical(std::filesystem::absolute(o.workspace), ec);
    req.set_workspace(ec ? o.workspace : p.string());
  }
  req.set_session_id(o.session);
  grpc::ClientContext cctx; // no deadline: the stream lasts as long as the user watches
  auto stream = (*d)->live().Watch(&cctx, req);

  const bool tty = ::isatty(1) != 0;
  std::mutex mutex;
  std::condition_variable changed;
  WatchState state;
  std::vector<std::string> permanent; // lines to print above the live area (terminal only)
  bool over = false;

  std::thread reader([&] {
    v1::WatchResponse resp;
    bool enough = false;
    while (!enough && stream->Read(&resp)) {
      std::lock_guard lock(mutex);
      for (const auto& u : resp.updates()) {
        if (tty) {
          if (auto line = state.apply(u); !line.empty()) {
            permanent.push_back(std::move(line));
          }
        } else {
          if (auto line = plain_line(u, state.runs()); !line.empty()) {
            std::cout << safe_terminal_text(line, false, false) << '\n';
          }
          state.apply(u);
        }
        if (o.runs != 0 && state.ended() >= o.runs) {
          cctx.TryCancel(); // enough: the stream ends
          enough = true;
          break;
        }
      }
      std::cout << std::flush;
    }
    std::lock_guard lock(mutex);
    over = true;
    changed.notify_all();
  });

  if (tty) {
    Screen screen;
    std::unique_lock lock(mutex);
    for (;;) {
      bool done = over;
      screen.draw(permanent,
                  done ? std::vector<std::string>{} : live_lines(state.runs(), terminal_width()));
      permanent.clear();
      if (done) {
        break;
      }
      changed.wait_for(lock, k_redraw);
    }
  }
  reader.join();
  grpc::Status st = stream->Finish();
  if (o.runs != 0 && state.ended() >= o.runs) {
    return; // we cancelled
  }
  if (!st.ok() && st.error_code() != grpc::StatusCode::CANCELLED) {
    ctx.fail(from_status(st));
  }
}

} // namespace

void add_watch_command(CLI::App& app, ClientContext& ctx) {
  auto o = std::make_shared<WatchOptions>();
  auto* cmd = app.add_subcommand("watch", "live view of the builds in progress");
  cmd->add_option("--workspace", o->workspace,
                  "only builds of this workspace (a directory in it, or one holding several)");
  cmd->add_option("--session", o->session, "only builds of this session");
  cmd->add_option("--runs", o->runs, "exit after this many builds ended (default: never)");
  cmd->callback([&ctx, o] { run_watch(ctx, *o); });
}

} // namespace ca::client
