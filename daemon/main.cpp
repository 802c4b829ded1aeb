// cargo-analysisd: the build-analysis daemon. Wiring only; each stage lives in its folder, and the
// small parts that only join stages together live in daemon/app/.
//
// main() reads like mold's: parse the options, start the daemon step by step, run until asked
// to stop, drain. A start-up step that fails returns why; main reports it once and returns 1, after
// stopping what earlier steps started (never std::exit while a thread may be writing).
//
// Exit codes: 0 after a clean shutdown (SIGTERM, SIGINT, Admin.Shutdown, idle timeout),
// 1 when start-up fails (another daemon holds the lock, a directory or the database is unusable),
// 2 on a usage error (a bad flag, or a bad key or value in the configuration file).
#include "daemon/app/commit_fan_out.hpp"
#include "daemon/app/gc_scheduler.hpp"
#include "daemon/app/idle_monitor.hpp"
#include "daemon/app/pid_lock.hpp"
#include "daemon/app/session_linker.hpp"
#include "daemon/app/shutdown_latch.hpp"
#include "daemon/app/startup_error.hpp"
#include "daemon/app/status_source.hpp"
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
#include "shared/state_lock.hpp"

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <memory>
#include <optional>
#include <thread>
#include <variant>

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
// Test hook: the writer's queue limit in events, so that a test can fill it with a few producers
// (tests/integration/latency_test.cpp).
constexpr const char* k_test_writer_queue_env = "CARGO_ANALYSIS_TEST_WRITER_QUEUE";
// Benchmarks: `0` turns the CPU and memory sampling of builds in progress off.
constexpr const char* k_sampling_env = "CARGO_ANALYSIS_SAMPLING";

// The effective configuration, with its directories resolved.
struct Options {
  Config cfg;
  ca::LoadedConfig loaded; // every value with its source, for `status`
  bool spawned_by_client = false;
  std::filesystem::path runtime;
  std::filesystem::path state;
};

// Parses the configuration: defaults < config file < environment < flags. Returns the exit code
// instead when there is nothing to run (--help, --version) or the configuration is unusable.
std::variant<Options, int> parse_options(int argc, char** argv) {
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
  Options o{cfg, std::move(*config), spawned_by_client, ca::runtime_dir(cfg.runtime_dir),
            ca::state_dir(cfg.state_dir)};
  if (!o.cfg.no_watch && o.cfg.watch_dirs.empty()) {
    o.cfg.watch_dirs.push_back(ca::cargo_log_dir().string());
  }
  if (o.cfg.no_watch) {
    o.cfg.watch_dirs.clear();
  }
  o.loaded.values().runtime_dir = o.runtime.string(); // shown by `status` as resolved
  o.loaded.values().state_dir = o.state.string();
  o.loaded.values().watch_dirs = o.cfg.watch_dirs;
  return o;
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

using ca::app::StartupError;
using ca::app::StartupFailure;

// The daemon's parts, built by the start-up steps in this order and stopped by stop() in the
// order that lets each finish its work (sources first, the writer last but one).
class Daemon {
public:
  explicit Daemon(Options options) : m_opt(std::move(options)) {}
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;
  ~Daemon() { stop(); }

  // Runs the start-up steps in order; stops at the first that fails and returns why.
  StartupFailure start() {
    using Step = StartupFailure (Daemon::*)();
    static constexpr Step k_steps[] = {
        &Daemon::make_runtime_dir,   // 1. the runtime dir (0700, ours)
        &Daemon::take_pid_lock,      // 2. one daemon per user, before anything shared is touched
        &Daemon::make_state_dir,     // 3. the state dir (0700, ours, writable)
        &Daemon::start_logging,      // 4. the log, and every file descriptor we may use
        &Daemon::take_state_lock,    // 5. one daemon per database, whatever its runtime dir
        &Daemon::open_database,      // 6. check and migrate; start the one writer
        &Daemon::start_team_export,  // 7. ended runs to ClickHouse, if configured
        &Daemon::build_pipeline,     // 8. queries, stored reports, live view, commit fan-out
        &Daemon::bind_ingest_socket, // 9. NDJSON on <runtime>/ingest.sock
        &Daemon::watch_log_dirs,     // 10. cargo's log dirs, back-filled
        &Daemon::start_grpc,         // 11. gRPC on <runtime>/grpc.sock and client.sock
        &Daemon::catch_up_reports,   // 12. reports of runs that ended while we were down
        &Daemon::start_event_loop,   // 13. signals, idle timeout, retention; the io thread
    };
    for (Step step : k_steps) {
      if (auto failed = (this->*step)()) {
        return failed;
      }
    }
    spdlog::info("cargo-analysisd {} ready: pid {}, runtime {}, database {}", CA_VERSION,
                 ::getpid(), m_opt.runtime.string(), m_db_path.string());
    return std::nullopt;
  }

  // Blocks until a signal, Admin.Shutdown or the idle timeout asks for the shutdown.
  void run_until_shutdown() { spdlog::info("shutting down ({})", m_shutdown.wait()); }

  // Drains: stops taking input, finishes in-flight requests, commits what was received.
  // Stops only what start() built; idempotent.
  void stop();

  // Where a client that started us waits for the reason we could not start (empty: none did).
  const std::filesystem::path& spawn_error_file() const { return m_spawn_error_file; }

private:
  StartupFailure make_runtime_dir();
  StartupFailure take_pid_lock();
  StartupFailure make_state_dir();
  StartupFailure start_logging();
  StartupFailure take_state_lock();
  StartupFailure open_database();
  StartupFailure start_team_export();
  StartupFailure build_pipeline();
  StartupFailure bind_ingest_socket();
  StartupFailure watch_log_dirs();
  StartupFailure start_grpc();
  StartupFailure catch_up_reports();
  StartupFailure start_event_loop();

  Options m_opt;
  std::filesystem::path m_spawn_error_file;
  std::optional<ca::app::PidLock> m_pid_lock;
  int m_state_lock = -1;
  std::filesystem::path m_db_path;
  ca::store::RetentionPolicy m_retention;
  std::unique_ptr<ca::store::Writer> m_writer;
  std::unique_ptr<ca::store::ReaderPool> m_readers;
  std::unique_ptr<ca::export_::TeamExporter> m_team;
  std::unique_ptr<ca::query::QueryEngine> m_query;
  std::unique_ptr<ca::live::LiveHub> m_live;
  ca::runtime::ActivityMonitor m_activity;
  std::unique_ptr<ca::query::ReportPrecomputer> m_reports;
  boost::asio::io_context m_io; // the sockets' and timers' event loop
  std::unique_ptr<ca::server::ResourceSampler> m_sampler;
  std::unique_ptr<ca::app::CommitFanOut> m_fan_out;
  ca::ingest::SourceStats m_stats;
  ca::correlate::LinuxProcReader m_proc;
  ca::correlate::Correlator m_correlator{m_proc};
  ca::app::ShutdownLatch m_shutdown;
  std::unique_ptr<ca::ingest::SocketListener> m_listener;
  std::unique_ptr<ca::app::SessionLinker> m_linker;
  std::unique_ptr<ca::ingest::LogWatcher> m_watcher;
  std::unique_ptr<ca::app::StatusSource> m_status;
  std::unique_ptr<ca::server::GrpcServer> m_server;
  std::unique_ptr<boost::asio::signal_set> m_signals;
  std::unique_ptr<ca::app::IdleMonitor> m_idle;
  std::unique_ptr<ca::app::GcScheduler> m_gc;
  std::thread m_io_thread;
  bool m_stopped = false;
};

StartupFailure Daemon::make_runtime_dir() {
  if (auto r = ca::ensure_private_dir(m_opt.runtime); !r) {
    return StartupError{r.error().message};
  }
  if (m_opt.spawned_by_client) {
    m_spawn_error_file = ca::spawn_error_path(m_opt.runtime);
  }
  return std::nullopt;
}

StartupFailure Daemon::take_pid_lock() {
  auto lock = ca::app::PidLock::take(m_opt.runtime);
  if (!lock) {
    const bool held = lock.error().code == ca::ErrorCode::failed_precondition;
    return StartupError{lock.error().message,
                        held ? "stop it with: cargo-analysis-client stop" : ""};
  }
  m_pid_lock.emplace(std::move(*lock));
  return std::nullopt;
}

StartupFailure Daemon::make_state_dir() {
  if (auto r = ca::ensure_private_dir(m_opt.state); !r) {
    return StartupError{r.error().message};
  }
  if (auto r = ca::check_writable_dir(m_opt.state); !r) {
    return StartupError{r.error().message, "give a writable --state-dir, or remount it read-write"};
  }
  return std::nullopt;
}

StartupFailure Daemon::start_logging() {
  setup_logging(m_opt.cfg, m_opt.state);
  // Use every file descriptor we may: a connection flood must not starve the daemon of them
  // (each socket caps its connections at a share of the limit, daemon/runtime/fd_budget.hpp).
  const auto fds = ca::runtime::raise_fd_limit();
  spdlog::debug("file descriptors: soft limit {} -> {} (hard {})", fds.before, fds.now, fds.hard);
  return std::nullopt;
}

StartupFailure Daemon::take_state_lock() {
  // Another daemon may use this database through another runtime dir.
  auto lock = ca::take_state_lock(m_opt.state, m_opt.runtime);
  if (!lock) {
    return StartupError{lock.error().message};
  }
  m_state_lock = *lock;
  return std::nullopt;
}

StartupFailure Daemon::open_database() {
  // A damaged file is left as it is: the user chooses to move it aside (`recover`), nothing
  // here deletes history.
  m_db_path = m_opt.state / "cargo-analysis.sqlite3";
  auto database_error = [](const ca::Error& e) {
    if (e.code == ca::ErrorCode::damaged) {
      return StartupError{
          e.message + "; nothing was changed",
          "`cargo-analysis-client recover` keeps the damaged file aside and rebuilds the history "
          "from cargo's logs"};
    }
    return StartupError{e.message};
  };
  auto db = ca::store::Database::open(m_db_path, ca::store::Database::Mode::read_write_create);
  if (!db) {
    return database_error(db.error());
  }
  // A write lock that another process holds, or a file we may not write, would fail whichever
  // start-up write comes first: say so now, naming the file.
  if (auto r = (*db)->exec("BEGIN IMMEDIATE; ROLLBACK"); !r) {
    const std::string& why = r.error().message;
    return StartupError{m_db_path.string() +
                            " cannot be written: " + why.substr(0, why.find(" (in: ")),
                        "start the daemon again once that is fixed; nothing was changed"};
  }
  if (auto r = (*db)->check_integrity(); !r) {
    return database_error(r.error());
  }
  if (auto r = ca::store::migrate(**db); !r) {
    return database_error(r.error());
  }
  ca::store::Writer::Options writer_options;
  if (auto queue = ca::process_env(k_test_writer_queue_env)) {
    writer_options.max_pending_events = std::strtoull(queue->c_str(), nullptr, 10);
  }
  m_writer = std::make_unique<ca::store::Writer>(std::move(*db), writer_options);
  m_retention.max_age = std::chrono::hours(24) * m_opt.cfg.keep_days;
  m_retention.max_sessions = m_opt.cfg.keep_sessions;
  m_retention.max_bytes = ca::store::mib_to_bytes(m_opt.cfg.max_db_mb);
  m_readers = std::make_unique<ca::store::ReaderPool>(m_db_path);
  return std::nullopt;
}

StartupFailure Daemon::start_team_export() {
  // Without a url, queueing is switched off (runs queued before stay queued).
  if (m_opt.cfg.team_url.empty()) {
    if (auto r = ca::export_::disable_team_export(*m_writer); !r) {
      return StartupError{"team export: " + r.error().message};
    }
    return std::nullopt;
  }
  auto url = ca::team::parse_clickhouse_url(m_opt.cfg.team_url);
  if (!url) {
    return StartupError{"team.url: " + url.error().message, "", 2};
  }
  ca::export_::TeamExporter::Options options;
  options.url = std::move(*url);
  options.machine = m_opt.cfg.team_machine;
  options.db_path = m_db_path;
  m_team = std::make_unique<ca::export_::TeamExporter>(std::move(options), *m_readers, *m_writer);
  if (auto r = m_team->start(); !r) {
    return StartupError{"team export: " + r.error().message};
  }
  return std::nullopt;
}

StartupFailure Daemon::build_pipeline() {
  // What a query computes for an ended run without a stored report is stored through the
  // writer too (never waiting for it).
  m_query = std::make_unique<ca::query::QueryEngine>(*m_readers, *m_writer);
  m_live = std::make_unique<ca::live::LiveHub>(*m_readers);
  // Reports of every run that ends are computed then and stored with it, so that a report on
  // any stored run reads one row (daemon/query/report_precomputer.hpp).
  m_reports = std::make_unique<ca::query::ReportPrecomputer>(*m_query, *m_writer);
  // Sample the machine's CPU and memory while a build is in progress (the timer runs only
  // then); CARGO_ANALYSIS_SAMPLING=0 turns it off (benchmarks compare the two).
  m_sampler = std::make_unique<ca::server::ResourceSampler>(
      m_io, *m_live, *m_writer, ca::process_env(k_sampling_env).value_or("1") != "0");
  m_live->set_activity_observer([sampler = m_sampler.get()] { sampler->runs_became_active(); });
  // Every commit is activity; ended runs get their reports, their last samples and the team
  // export; the live view (Live.Watch) takes the batch. Set before any source submits.
  m_fan_out = std::make_unique<ca::app::CommitFanOut>(
      m_activity, [live = m_live.get()](ca::store::Batch&& b, const ca::store::BatchOutcome& o) {
        live->on_commit(std::move(b), o);
      });
  m_fan_out->on_run_ended(
      [reports = m_reports.get()](const std::string& run) { reports->run_ended(run); });
  m_fan_out->on_run_ended(
      [sampler = m_sampler.get()](const std::string& run) { sampler->run_ended(run); });
  if (m_team) {
    m_fan_out->on_run_ended([team = m_team.get()](const std::string&) { team->notify(); });
  }
  m_writer->set_commit_observer(
      [fan_out = m_fan_out.get()](ca::store::Batch&& b, const ca::store::BatchOutcome& o) {
        (*fan_out)(std::move(b), o);
      });
  // Runs older than the retention window are not stored at ingest (gc would delete them).
  m_stats.set_max_age(std::chrono::duration_cast<std::chrono::milliseconds>(m_retention.max_age));
  return std::nullopt;
}

StartupFailure Daemon::bind_ingest_socket() {
  auto listener = std::make_unique<ca::ingest::SocketListener>(
      m_io, ca::ingest_socket_path(m_opt.runtime), *m_writer, m_stats, m_activity);
  if (auto r = listener->start(); !r) {
    return StartupError{r.error().message};
  }
  m_listener = std::move(listener);
  return std::nullopt;
}

StartupFailure Daemon::watch_log_dirs() {
  // Zero-config capture on a thread of its own. A watcher that cannot start leaves the daemon
  // degraded, not dead: the socket and gRPC sources still work.
  if (m_opt.cfg.watch_dirs.empty()) {
    return std::nullopt;
  }
  // On IN_CREATE, while cargo still runs: find the writer and link its run into a session.
  m_linker = std::make_unique<ca::app::SessionLinker>(
      m_correlator,
      [sampler = m_sampler.get()](const std::string& run) { sampler->run_announced(run); },
      [writer = m_writer.get()](ca::store::Batch b) { writer->submit(std::move(b)); });
  ca::ingest::LogWatcher::Options options;
  options.dirs.assign(m_opt.cfg.watch_dirs.begin(), m_opt.cfg.watch_dirs.end());
  // The read positions committed before, read once on the watcher's thread at start.
  options.stored_checkpoints =
      [db = m_db_path]() -> ca::Result<std::vector<ca::store::WatchedFile>> {
    CA_TRY_ASSIGN(auto reader, ca::store::RunReader::open(db));
    return reader->watched_files();
  };
  options.on_new_file = [linker = m_linker.get()](const std::filesystem::path& p, uint64_t inode) {
    linker->on_new_file(p, inode);
  };
  m_watcher = std::make_unique<ca::ingest::LogWatcher>(std::move(options), *m_writer, m_stats);
  if (auto r = m_watcher->start(); !r) {
    spdlog::warn("log watcher not started: {}", r.error().message);
    m_watcher.reset();
  }
  return std::nullopt;
}

StartupFailure Daemon::start_grpc() {
  m_status = std::make_unique<ca::app::StatusSource>(m_correlator, m_watcher.get(), *m_reports);
  ca::server::DaemonInfo info{
      m_db_path,
      m_opt.runtime,
      m_opt.cfg.watch_dirs,
      std::chrono::steady_clock::now(),
      {},
      {},
      {},
      ca::server::DaemonSetup{ca::process_env(k_test_version_env).value_or(CA_VERSION),
                              m_opt.spawned_by_client, m_opt.loaded.file(),
                              m_opt.loaded.file_read(), m_opt.loaded.entries()},
      m_team.get()};
  m_status->install(info);
  auto server = ca::server::GrpcServer::start(
      m_opt.runtime,
      ca::server::ServerDeps{*m_query, *m_readers, *m_writer, m_stats, m_correlator,
                             std::move(info), [this] { m_shutdown.request("Admin.Shutdown"); },
                             *m_live, m_activity, m_retention});
  if (!server) {
    return StartupError{server.error().message};
  }
  m_server = std::move(*server);
  return std::nullopt;
}

StartupFailure Daemon::catch_up_reports() {
  if (auto queued = m_reports->catch_up(*m_readers); !queued) {
    spdlog::warn("stored reports not caught up: {}", queued.error().message);
  } else if (*queued > 0) {
    spdlog::info("computing the reports of {} ended runs in the background", *queued);
  }
  return std::nullopt;
}

StartupFailure Daemon::start_event_loop() {
  m_signals = std::make_unique<boost::asio::signal_set>(m_io, SIGINT, SIGTERM);
  m_signals->async_wait([this](const boost::system::error_code& ec, int sig) {
    if (!ec) {
      m_shutdown.request(sig == SIGINT ? "SIGINT" : "SIGTERM");
    }
  });
  // The idle timeout: no build in progress (the live hub follows no run) and no back-fill
  // under way either.
  if (m_opt.cfg.idle_timeout > 0) {
    m_idle = std::make_unique<ca::app::IdleMonitor>(
        m_io, m_activity,
        std::chrono::duration_cast<std::chrono::steady_clock::duration>(
            std::chrono::duration<double>(m_opt.cfg.idle_timeout)),
        [this] {
          if (m_live->stats().runs_active != 0) {
            return true;
          }
          if (!m_watcher) {
            return false;
          }
          auto p = m_watcher->progress();
          return p.files_done < p.files_total;
        },
        [this] { m_shutdown.request("idle timeout"); });
    m_idle->start();
  }
  m_gc = std::make_unique<ca::app::GcScheduler>(
      m_io, [this] { ca::app::collect_in_background(*m_writer, m_retention); });
  m_gc->start();
  m_io_thread = std::thread([this] { m_io.run(); });
  return std::nullopt;
}

void Daemon::stop() {
  if (m_stopped) {
    return;
  }
  m_stopped = true;
  if (m_listener) {
    m_listener->stop();
  }
  if (m_watcher) {
    m_watcher->stop(); // before the writer: its last batches still commit
    auto c = m_watcher->counters();
    auto p = m_watcher->progress();
    spdlog::info("watcher: {} log files read ({} of {} back-filled), {} runs ended, {} failed, "
                 "{} not cargo logs, {} deleted, {} replaced, {} written over",
                 c.files_seen, p.files_done, p.files_total, c.runs_ended, c.files_failed,
                 c.files_abandoned, c.files_deleted, c.files_replaced, c.files_rewritten);
  }
  if (m_server) {
    m_server->shutdown(std::chrono::seconds(2));
  }
  m_io.stop();
  if (m_io_thread.joinable()) {
    m_io_thread.join();
  }
  if (m_sampler) {
    m_sampler->stop(); // before the writer: the last samples still commit
    auto st = m_sampler->stats();
    spdlog::info("sampler: {} wake-ups, {} samples, {} chunks stored ({} bytes)", st.ticks,
                 st.samples, st.chunks_stored, st.bytes_stored);
  }
  if (m_reports) {
    m_reports->stop(); // before the writer: the reports it computed still commit
  }
  if (m_team) {
    m_team->stop(); // before the writer: it dequeues through it
  }
  if (m_writer) {
    m_writer->stop();
  }
  if (m_live) {
    m_live->stop(); // its thread calls the sampler, which is destroyed first (declared later)
  }
  if (m_listener) {
    ::unlink(ca::ingest_socket_path(m_opt.runtime).c_str());
  }
  if (m_server) {
    ::unlink(ca::grpc_socket_path(m_opt.runtime).c_str());
  }
  if (m_writer) {
    spdlog::info("stopped");
  }
  if (m_state_lock >= 0) {
    ::close(m_state_lock);
    m_state_lock = -1;
  }
  m_pid_lock.reset();
}

} // namespace

int main(int argc, char** argv) {
  // 1. Parse the configuration (usage errors: exit 2).
  auto parsed = parse_options(argc, argv);
  if (const int* exit_code = std::get_if<int>(&parsed)) {
    return *exit_code;
  }
  Daemon daemon(std::move(std::get<Options>(parsed)));
  // 2. Start step by step; the first step that fails says why, once.
  if (auto failed = daemon.start()) {
    const int exit_code = ca::app::report_startup_error(*failed, daemon.spawn_error_file());
    daemon.stop(); // what earlier steps started, in order
    return exit_code;
  }
  // 3. Run until signalled, asked over the API, or idle.
  daemon.run_until_shutdown();
  // 4. Drain: stop taking input, finish in-flight requests, commit what was received.
  daemon.stop();
  return 0;
}
