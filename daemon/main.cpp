// cargo-analysisd: the build-analysis daemon. Wiring only; each stage lives in its folder.
//
// Exit codes: 0 after a clean shutdown (SIGTERM, SIGINT, Admin.Shutdown, idle timeout),
// 1 when start-up fails (another daemon holds the lock, a directory or the database is unusable),
// 2 on a usage error (a bad flag, or a bad key or value in the configuration file).
#include "daemon/correlate/correlator.hpp"
#include "daemon/correlate/proc_reader.hpp"
#include "daemon/export/team_exporter.hpp"
#include "daemon/ingest/log_watcher.hpp"
#include "daemon/ingest/safe_log_formatter.hpp"
#include "daemon/ingest/socket_listener.hpp"
#include "daemon/ingest/source_stats.hpp"
#include "daemon/query/query_engine.hpp"
#include "daemon/query/report_precomputer.hpp"
#include "daemon/runtime/activity.hpp"
#include "daemon/runtime/fd_budget.hpp"
#include "daemon/server/grpc_server.hpp"
#include "daemon/server/resource_sampler.hpp"
#include "daemon/store/migrations.hpp"
#include "daemon/store/retention.hpp"
#include "daemon/store/run_reader.hpp"
#include "daemon/store/writer.hpp"
#include "shared/daemon_config.hpp"
#include "shared/paths.hpp"
#include "shared/run_id.hpp"
#include "shared/state_lock.hpp"

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fcntl.h>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <functional>
#include <mutex>
#include <thread>

namespace {

constexpr const char* k_program = "cargo-analysisd";

// Every flag, also a key of config.toml (shared/daemon_config.hpp); retention: 0 turns a limit off.
using Config = ca::DaemonConfig;
static_assert(Config{}.keep_days * 24 == ca::store::k_default_max_age.count());
static_assert(Config{}.keep_sessions == ca::store::k_default_max_sessions);
static_assert(Config{}.max_db_mb << 20 == ca::store::k_default_max_bytes);

// Test hook: the version Status reports instead of ours, so that a test can play a daemon left
// over from another release (tests/integration/version_check_test.cpp).
constexpr const char* k_test_version_env = "CARGO_ANALYSIS_TEST_REPORTED_VERSION";
// Benchmarks: `0` turns the CPU and memory sampling of builds in progress off.
constexpr const char* k_sampling_env = "CARGO_ANALYSIS_SAMPLING";

// The first automatic garbage collection waits for start-up (back-fill, the first reports) to
// settle; then it runs daily.
constexpr auto k_gc_first_delay = std::chrono::minutes(1);
constexpr auto k_gc_period = std::chrono::hours(24);

// Where a daemon that a client started writes why it could not start (its stderr is
// /dev/null): the client waiting for it reads the file and says so at once
// (client/daemon_connection.cpp). Empty when no client started us.
std::filesystem::path g_spawn_error_file;

[[noreturn]] void die(const std::string& what, const std::string& hint = {}) {
  std::string text = what + (hint.empty() ? "" : " (" + hint + ")");
  std::fprintf(stderr, "%s: error: %s\n", k_program, text.c_str());
  spdlog::error("{}", what);
  if (!g_spawn_error_file.empty()) {
    // Whole or not at all: the client reads the file as soon as it exists, so it is written
    // beside and renamed into place (a reader once saw it created and still empty).
    const std::string tmp = g_spawn_error_file.string() + ".tmp";
    if (FILE* f = std::fopen(tmp.c_str(), "w")) {
      std::fprintf(f, "%s\n", text.c_str());
      if (std::fclose(f) == 0) {
        std::rename(tmp.c_str(), g_spawn_error_file.c_str());
      }
    }
  }
  std::exit(1);
}

void setup_logging(const Config& cfg, const std::filesystem::path& state) {
  std::shared_ptr<spdlog::logger> logger;
  if (cfg.foreground || std::getenv("JOURNAL_STREAM") != nullptr) {
    logger = spdlog::stderr_color_mt("cargo-analysisd");
  } else {
    logger = spdlog::rotating_logger_mt("cargo-analysisd", (state / "daemon.log").string(),
                                        5 * 1024 * 1024, 3);
  }
  // journald adds its own timestamps. Each message is made safe: a file name can hold a newline.
  logger->set_formatter(
      ca::ingest::safe_log_formatter(std::getenv("JOURNAL_STREAM") != nullptr ? "%l: %v" : "%+"));
  logger->set_level(spdlog::level::from_str(cfg.log_level));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

// Takes the one-daemon-per-user lock: an flock on <runtime>/daemon.lock holding our pid. The
// file descriptor stays open (and the lock held) for the life of the process.
int take_pid_lock(const std::filesystem::path& runtime) {
  auto path = runtime / "daemon.lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    die("cannot open " + path.string() + ": " + std::strerror(errno));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    char buf[32] = {};
    ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    std::string pid = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "?";
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) {
      pid.pop_back();
    }
    die("another cargo-analysisd (pid " + pid + ") holds " + path.string(),
        "stop it with: cargo-analysis-client stop");
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    die("cannot write " + path.string() + ": " + std::strerror(errno));
  }
  return fd;
}

// Set once by whoever asks first (signal, Admin.Shutdown, idle timer); main waits for it.
class ShutdownLatch {
public:
  void request(const char* why) {
    std::lock_guard lock(m_mutex);
    if (!m_requested) {
      m_requested = true;
      m_why = why;
      m_cv.notify_all();
    }
  }
  std::string wait() {
    std::unique_lock lock(m_mutex);
    m_cv.wait(lock, [&] { return m_requested; });
    return m_why;
  }

private:
  std::mutex m_mutex;
  std::condition_variable m_cv;
  bool m_requested = false;
  std::string m_why;
};

cargo_analysis::v1::CorrelationStatus correlation_status(const ca::correlate::Correlator& c) {
  auto s = c.stats();
  cargo_analysis::v1::CorrelationStatus out;
  out.set_runs_seen(s.runs_seen);
  out.set_linked_by_ancestry(s.linked_by_ancestry);
  out.set_linked_by_environment(s.linked_by_environment);
  out.set_linked_explicitly(s.linked_explicitly);
  out.set_top_level(s.top_level);
  out.set_lost(s.lost);
  out.set_mean_lookup_us(s.runs_seen == 0 ? 0.0 : s.lookup_us_total / s.runs_seen);
  return out;
}

} // namespace

int main(int argc, char** argv) {
  // 1. Parse the configuration: defaults < config file < environment < flags.
  Config cfg; // the flags; then the effective configuration
  std::string config_flag;
  bool spawned_by_client = false;
  CLI::App app{"cargo-analysisd: collects cargo build-analysis events and answers reports",
               k_program};
  app.add_flag("--foreground", cfg.foreground, "log to stderr (the daemon never forks itself)");
  app.add_option("--runtime-dir", cfg.runtime_dir,
                 "sockets and lock (default: $CARGO_ANALYSIS_RUNTIME_DIR, "
                 "$XDG_RUNTIME_DIR/cargo-analysis, /tmp/cargo-analysis-$UID)");
  app.add_option("--state-dir", cfg.state_dir,
                 "database and log (default: $CARGO_ANALYSIS_STATE_DIR, "
                 "$XDG_STATE_HOME/cargo-analysis, ~/.local/state/cargo-analysis)");
  app.add_option("--watch-dir", cfg.watch_dirs,
                 "cargo log directory to watch, repeatable (default: $CARGO_HOME/log)");
  app.add_flag("--no-watch", cfg.no_watch, "do not watch any cargo log directory");
  app.add_option("--idle-timeout", cfg.idle_timeout,
                 "exit after this many idle seconds with no build in progress (0: never)");
  app.add_option("--log-level", cfg.log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}))
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.add_option("--keep-days", cfg.keep_days,
                 "delete sessions whose newest build started more than N days ago (default 90; "
                 "0: keep all)");
  app.add_option("--keep-sessions", cfg.keep_sessions,
                 "keep at most the newest N sessions (default 100000; 0: no limit)");
  app.add_option("--max-db-mb", cfg.max_db_mb,
                 "delete the oldest sessions while the database holds more than N MiB "
                 "(default 2048; 0: no limit)");
  app.add_option("--team-url", cfg.team_url,
                 "export ended runs to this ClickHouse (http://host:8123[/?database=D]); see "
                 "README for what is sent");
  app.add_option("--team-machine", cfg.team_machine,
                 "this machine's label in the team tables (default: the host name)");
  app.add_option("--config", config_flag,
                 "configuration file (default: $CARGO_ANALYSIS_CONFIG, "
                 "$XDG_CONFIG_HOME/cargo-analysis/config.toml, ~/.config/cargo-analysis/...)");
  // Hidden: set by cargo-analysis-client when it starts the daemon on demand, so that a client
  // of another version knows it may restart it.
  app.add_flag("--spawned-by-client", spawned_by_client)->group("");
  app.set_version_flag("--version", CA_VERSION);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  auto config = ca::load_config(config_flag, Config{}, ca::process_env);
  if (!config) {
    std::fprintf(stderr, "%s: error: %s\n", k_program, config.error().message.c_str());
    return config.error().code == ca::ErrorCode::io ? 1 : 2;
  }
  config->apply_flags(cfg, [&app](std::string_view flag) {
    const CLI::Option* o = app.get_option_no_throw(std::string(flag));
    return o != nullptr && o->count() > 0;
  });
  cfg = config->values();
  const auto runtime = ca::runtime_dir(cfg.runtime_dir);
  const auto state = ca::state_dir(cfg.state_dir);
  if (!cfg.no_watch && cfg.watch_dirs.empty()) {
    cfg.watch_dirs.push_back(ca::cargo_log_dir().string());
  }
  if (cfg.no_watch) {
    cfg.watch_dirs.clear();
  }
  config->values().runtime_dir = runtime.string(); // shown by `status` as resolved
  config->values().state_dir = state.string();
  config->values().watch_dirs = cfg.watch_dirs;

  // 2. Create the private runtime and state directories (0700, ours).
  for (const auto& dir : {runtime, state}) {
    if (auto r = ca::ensure_private_dir(dir); !r) {
      die(r.error().message);
    }
  }
  if (spawned_by_client) {
    g_spawn_error_file = ca::spawn_error_path(runtime);
  }
  if (auto r = ca::check_writable_dir(state); !r) {
    die(r.error().message, "give a writable --state-dir, or remount it read-write");
  }
  setup_logging(cfg, state);
  // 2b. Use every file descriptor we may: a connection flood must not starve the daemon of them
  // (each socket caps its connections at a share of the limit, daemon/ingest/fd_budget.hpp).
  const auto fds = ca::runtime::raise_fd_limit();
  spdlog::debug("file descriptors: soft limit {} -> {} (hard {})", fds.before, fds.now, fds.hard);

  // 3. Take the pid lock before anything that another daemon could be using, then the state
  // dir's own lock: another daemon may use this database through another runtime dir.
  int lock_fd = take_pid_lock(runtime);
  auto state_lock = ca::take_state_lock(state, runtime);
  if (!state_lock) {
    die(state_lock.error().message);
  }

  // 4. Open, check and migrate the database; start the one writer. A damaged file is left as
  // it is: the user chooses to move it aside (`recover`), nothing here deletes history.
  const auto db_path = state / "cargo-analysis.sqlite3";
  auto fail_on_database = [&](const ca::Error& e) {
    if (e.code == ca::ErrorCode::damaged) {
      die(e.message + "; nothing was changed",
          "`cargo-analysis-client recover` keeps the damaged file aside and rebuilds the history "
          "from cargo's logs");
    }
    die(e.message);
  };
  auto db = ca::store::Database::open(db_path, ca::store::Database::Mode::read_write_create);
  if (!db) {
    fail_on_database(db.error());
  }
  // A write lock that another process holds, or a file we may not write, would fail whichever
  // start-up write comes first: say so now, naming the file.
  if (auto r = (*db)->exec("BEGIN IMMEDIATE; ROLLBACK"); !r) {
    const std::string& why = r.error().message;
    die(db_path.string() + " cannot be written: " + why.substr(0, why.find(" (in: ")),
        "start the daemon again once that is fixed; nothing was changed");
  }
  if (auto r = (*db)->check_integrity(); !r) {
    fail_on_database(r.error());
  }
  if (auto r = ca::store::migrate(**db); !r) {
    fail_on_database(r.error());
  }
  ca::store::Writer writer(std::move(*db));
  ca::store::RetentionPolicy retention;
  retention.max_age = std::chrono::hours(24) * cfg.keep_days;
  retention.max_sessions = cfg.keep_sessions;
  retention.max_bytes = ca::store::mib_to_bytes(cfg.max_db_mb);
  ca::store::ReaderPool readers(db_path);
  // 4b. Team export (only if a url is configured): ended runs go through the outbox to
  // ClickHouse. Without a url, queueing is switched off (runs queued before stay queued).
  std::unique_ptr<ca::export_::TeamExporter> team;
  if (!cfg.team_url.empty()) {
    auto url = ca::team::parse_clickhouse_url(cfg.team_url);
    if (!url) {
      std::fprintf(stderr, "%s: error: team.url: %s\n", k_program, url.error().message.c_str());
      return 2;
    }
    ca::export_::TeamExporter::Options options;
    options.url = std::move(*url);
    options.machine = cfg.team_machine;
    options.db_path = db_path;
    team = std::make_unique<ca::export_::TeamExporter>(std::move(options), readers, writer);
    if (auto r = team->start(); !r) {
      die("team export: " + r.error().message);
    }
  } else if (auto r = ca::export_::disable_team_export(writer); !r) {
    die("team export: " + r.error().message);
  }
  ca::query::QueryEngine query(readers);
  // The live view (Live.Watch) learns of every commit; set before any source submits.
  ca::live::LiveHub live(readers);
  // Every commit is activity, whatever its source (the idle timeout counts from the last one).
  ca::runtime::ActivityMonitor activity;
  // Reports of every run that ends are computed then and stored with it, so that a report on
  // any stored run reads one row (daemon/query/report_precomputer.hpp).
  ca::query::ReportPrecomputer reports(query, writer);
  query.set_persist([&reports](ca::store::StoredReport r) { reports.store(std::move(r)); });
  // The event loop of the sockets and timers (run from step 7 on).
  boost::asio::io_context io;
  // Sample the machine's CPU and memory while a build is in progress (the timer runs only
  // then); CARGO_ANALYSIS_SAMPLING=0 turns it off (benchmarks compare the two).
  ca::server::ResourceSampler sampler(io, live, writer,
                                      ca::process_env(k_sampling_env).value_or("1") != "0");
  live.set_activity_observer([&sampler] { sampler.runs_became_active(); });
  writer.set_commit_observer([&live, &activity, &reports, &sampler,
                              &team](ca::store::Batch&& b, const ca::store::BatchOutcome& o) {
    activity.touch();
    for (const ca::store::RunFacts& f : b.facts) {
      if (f.ended) {
        reports.run_ended(f.run_id);
        sampler.run_ended(f.run_id);
        if (team) {
          team->notify();
        }
      }
    }
    live.on_commit(std::move(b), o);
  });
  ca::ingest::SourceStats stats;
  // Runs older than the retention window are not stored at ingest (gc would delete them).
  stats.set_max_age(std::chrono::duration_cast<std::chrono::milliseconds>(retention.max_age));
  ca::correlate::LinuxProcReader proc;
  ca::correlate::Correlator correlator(proc);
  ShutdownLatch shutdown;

  // 5. Bind the NDJSON ingest socket.
  ca::ingest::SocketListener listener(io, ca::ingest_socket_path(runtime), writer, stats, activity);
  if (auto r = listener.start(); !r) {
    die(r.error().message);
  }

  // 5b. Watch cargo's log directories (zero-config capture) on a thread of its own, back-filling
  // what was logged while we were down. A watcher that cannot start leaves the daemon degraded,
  // not dead: the socket and gRPC sources still work.
  std::unique_ptr<ca::ingest::LogWatcher> watcher;
  if (!cfg.watch_dirs.empty()) {
    ca::ingest::LogWatcher::Options options;
    options.dirs.assign(cfg.watch_dirs.begin(), cfg.watch_dirs.end());
    // The read positions committed before, read once on the watcher's thread at start.
    options.stored_checkpoints = [db_path]() -> ca::Result<std::vector<ca::store::WatchedFile>> {
      CA_TRY_ASSIGN(auto reader, ca::store::RunReader::open(db_path));
      return reader->watched_files();
    };
    // On IN_CREATE, while cargo still runs: find the writer and link its run into a session.
    options.on_new_file = [&](const std::filesystem::path& path, uint64_t /*inode*/) {
      auto run_id = path.stem().string();
      if (!ca::parse_run_id(run_id)) {
        return; // not named like a cargo log: nothing to link
      }
      sampler.run_announced(run_id);
      ca::store::Batch batch;
      batch.source = "correlator";
      batch.facts.push_back(correlator.on_new_log(path, run_id));
      writer.submit(std::move(batch));
    };
    watcher = std::make_unique<ca::ingest::LogWatcher>(std::move(options), writer, stats);
    if (auto r = watcher->start(); !r) {
      spdlog::warn("log watcher not started: {}", r.error().message);
      watcher.reset();
    }
  }

  // 6. Start gRPC on unix:<runtime>/grpc.sock.
  ca::server::DaemonSetup setup{ca::process_env(k_test_version_env).value_or(CA_VERSION),
                                spawned_by_client, config->file(), config->file_read(),
                                config->entries()};
  auto server = ca::server::GrpcServer::start(
      runtime,
      ca::server::ServerDeps{
          query, readers, writer, stats, correlator,
          ca::server::DaemonInfo{
              db_path, runtime, cfg.watch_dirs, std::chrono::steady_clock::now(),
              [&] { return correlation_status(correlator); },
              [&] {
                return watcher ? watcher->progress() : ca::ingest::WatcherProgress{0, 0, true};
              },
              [&]() -> std::pair<uint64_t, uint64_t> {
                auto r = reports.stats();
                return {r.pending, r.computed};
              },
              setup, team.get()},
          [&] { shutdown.request("Admin.Shutdown"); }, live, activity, retention});
  if (!server) {
    die(server.error().message);
  }

  // 6b. Reports of runs that ended before this daemon stored any, in the background.
  if (auto queued = reports.catch_up(readers); !queued) {
    spdlog::warn("stored reports not caught up: {}", queued.error().message);
  } else if (*queued > 0) {
    spdlog::info("computing the reports of {} ended runs in the background", *queued);
  }

  // 7. Run until signalled.
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (!ec) {
      shutdown.request(sig == SIGINT ? "SIGINT" : "SIGTERM");
    }
  });
  // 7b. The idle timeout: exit once nothing has happened for that long, no connection or call is
  // open, no build is in progress (the live hub follows no run) and no back-fill is under way.
  boost::asio::steady_timer idle_timer(io);
  std::function<void()> arm_idle_timer;
  if (cfg.idle_timeout > 0) {
    const auto limit = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(cfg.idle_timeout));
    // Checks are cheap; a quarter of the timeout (0.1 s to 5 s) keeps the exit close to it.
    const auto period = std::clamp<std::chrono::steady_clock::duration>(
        limit / 4, std::chrono::milliseconds(100), std::chrono::seconds(5));
    arm_idle_timer = [&, limit, period] {
      idle_timer.expires_after(period);
      idle_timer.async_wait([&](const boost::system::error_code& ec) {
        if (ec) {
          return;
        }
        bool backfilling = false;
        if (watcher) {
          auto p = watcher->progress();
          backfilling = p.files_done < p.files_total;
        }
        if (activity.idle_for() >= limit && live.stats().runs_active == 0 && !backfilling) {
          shutdown.request("idle timeout");
          return;
        }
        arm_idle_timer();
      });
    };
    arm_idle_timer();
  }
  // 7c. Retention: apply the policy a minute after start, then daily. The work runs on the
  // writer thread (between transactions), never on this io_context; the outcome is logged there.
  boost::asio::steady_timer gc_timer(io);
  std::function<void(std::chrono::steady_clock::duration)> arm_gc_timer =
      [&](std::chrono::steady_clock::duration delay) {
        gc_timer.expires_after(delay);
        gc_timer.async_wait([&](const boost::system::error_code& ec) {
          if (ec) {
            return;
          }
          // The future is dropped: a promise's future does not wait in its destructor.
          (void)writer.run_exclusive<ca::store::GcOutcome>(
              [retention](ca::store::Database& database) {
                auto r = ca::store::collect_garbage(database, retention);
                if (!r) {
                  spdlog::error("gc: {}", r.error().message);
                } else if (r->sessions_deleted > 0 || r->vacuumed) {
                  spdlog::info("gc: {}", ca::store::describe(*r));
                } else {
                  spdlog::debug("gc: nothing to delete ({} sessions kept)", r->sessions_kept);
                }
                return r;
              });
          arm_gc_timer(k_gc_period);
        });
      };
  arm_gc_timer(k_gc_first_delay);
  std::thread io_thread([&] { io.run(); });
  spdlog::info("cargo-analysisd {} ready: pid {}, runtime {}, database {}", CA_VERSION, ::getpid(),
               runtime.string(), db_path.string());
  std::string why = shutdown.wait();

  // 8. Drain: stop taking input, finish in-flight requests, commit what was received.
  spdlog::info("shutting down ({})", why);
  listener.stop();
  if (watcher) {
    watcher->stop(); // before the writer: its last batches still commit
    auto c = watcher->counters();
    auto p = watcher->progress();
    spdlog::info("watcher: {} log files read ({} of {} back-filled), {} runs ended, {} failed, "
                 "{} not cargo logs, {} deleted, {} replaced, {} written over",
                 c.files_seen, p.files_done, p.files_total, c.runs_ended, c.files_failed,
                 c.files_abandoned, c.files_deleted, c.files_replaced, c.files_rewritten);
  }
  (*server)->shutdown(std::chrono::seconds(2));
  io.stop();
  io_thread.join();
  sampler.stop(); // before the writer: the last samples still commit
  {
    auto st = sampler.stats();
    spdlog::info("sampler: {} wake-ups, {} samples, {} chunks stored ({} bytes)", st.ticks,
                 st.samples, st.chunks_stored, st.bytes_stored);
  }
  reports.stop(); // before the writer: the reports it computed still commit
  if (team) {
    team->stop(); // before the writer: it dequeues through it
  }
  writer.stop();
  live.stop(); // its thread calls the sampler, which is destroyed first (declared later)
  ::unlink(ca::ingest_socket_path(runtime).c_str());
  ::unlink(ca::grpc_socket_path(runtime).c_str());
  spdlog::info("stopped");
  ::close(*state_lock);
  ::close(lock_fd);
  return 0;
}
