// `team init` and `team push`: the team's ClickHouse, straight from the client (no daemon).
//
// `team init --url U [--cluster C]` creates the tables (shared/team/team_schema.hpp).
// `team push PATH...` sends cargo logs (files, or directories of *.jsonl) as a daemon's export
// would, for CI runners that run no daemon: rows are keyed by run id, so pushing a log twice, or
// one a daemon also exported, stores it once. Exit code 1 if any log could not be sent (push
// again: what was sent is not duplicated).
#include "client/client_context.hpp"
#include "shared/daemon_config.hpp"
#include "shared/team/clickhouse_client.hpp"
#include "shared/team/log_fold.hpp"
#include "shared/team/team_schema.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <iostream>

namespace ca::client {
namespace {

struct TeamOptions {
  std::string url;
  std::string cluster;
  std::string machine;
  std::string config;
  std::vector<std::string> paths;
  size_t batch = 200;
};

// --url, else `team.url` of the configuration file the daemon would read.
Result<team::ClickHouseClient> connect(const TeamOptions& o, std::string* machine) {
  std::string url = o.url;
  auto cfg = load_config(o.config, DaemonConfig{}, process_env);
  if (cfg) {
    if (url.empty()) {
      url = cfg->values().team_url;
    }
    if (machine != nullptr && machine->empty()) {
      *machine = cfg->values().team_machine;
    }
  }
  if (url.empty()) {
    return unexpected(ErrorCode::invalid_argument,
                      "no ClickHouse url: pass --url http://host:8123 or set `[team] url` in "
                      "config.toml");
  }
  CA_TRY_ASSIGN(auto parsed, team::parse_clickhouse_url(url));
  return team::ClickHouseClient(std::move(parsed));
}

void run_init(ClientContext& ctx, const TeamOptions& o) {
  auto ch = connect(o, nullptr);
  if (!ch) {
    return ctx.fail(ch.error());
  }
  if (auto r = team::init_schema(*ch, o.cluster); !r) {
    return ctx.fail(r.error());
  }
  std::cout << fmt::format("team tables ready at {} (schema version {}{})\n", ch->url().text,
                           team::k_team_schema_version,
                           o.cluster.empty() ? "" : ", distributed over cluster " + o.cluster);
}

// The logs named: files as given, directories' *.jsonl in name (= time) order.
std::vector<std::filesystem::path> log_files(const std::vector<std::string>& paths) {
  std::vector<std::filesystem::path> out;
  for (const auto& p : paths) {
    std::error_code ec;
    if (std::filesystem::is_directory(p, ec)) {
      std::vector<std::filesystem::path> in_dir;
      for (const auto& e : std::filesystem::directory_iterator(p, ec)) {
        if (e.path().extension() == ".jsonl" && e.is_regular_file(ec)) {
          in_dir.push_back(e.path());
        }
      }
      std::sort(in_dir.begin(), in_dir.end());
      out.insert(out.end(), in_dir.begin(), in_dir.end());
    } else {
      out.emplace_back(p);
    }
  }
  return out;
}

void run_push(ClientContext& ctx, const TeamOptions& o) {
  std::string machine = o.machine;
  auto ch = connect(o, &machine);
  if (!ch) {
    return ctx.fail(ch.error());
  }
  const std::string host = team::local_host_name();
  if (machine.empty()) {
    machine = host;
  }
  if (auto v = team::check_schema(*ch); !v) {
    return ctx.fail(v.error(), "nothing was sent");
  }
  std::vector<team::TeamRun> batch;
  size_t runs = 0, units = 0, skipped = 0, failed = 0;
  auto flush = [&]() -> bool {
    if (batch.empty()) {
      return true;
    }
    auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    if (auto r = team::send_runs(*ch, batch, now); !r) {
      ctx.fail(r.error(), "push again: runs already sent are not stored twice");
      return false;
    }
    runs += batch.size();
    for (const auto& r : batch) {
      units += r.units.size();
    }
    batch.clear();
    return true;
  };
  for (const auto& path : log_files(o.paths)) {
    auto run = team::fold_log_file(path);
    if (!run) {
      if (run.error().code == ErrorCode::failed_precondition) {
        ++skipped; // still being written: the next push takes it
      } else {
        ctx.warn(run.error().message);
        ++failed;
      }
      continue;
    }
    run->host = host;
    run->machine = machine;
    batch.push_back(std::move(*run));
    if (batch.size() >= o.batch && !flush()) {
      return;
    }
  }
  if (!flush()) {
    return;
  }
  std::cout << fmt::format("pushed {} runs ({} units) to {} as `{}`", runs, units, ch->url().text,
                           machine);
  if (skipped > 0) {
    std::cout << fmt::format("; {} logs still being written, skipped", skipped);
  }
  std::cout << "\n";
  if (failed > 0) {
    ctx.exit_code = k_exit_error;
  }
}

} // namespace

void add_team_command(CLI::App& app, ClientContext& ctx) {
  auto* t = app.add_subcommand("team", "the team's ClickHouse: create its tables, push CI logs");
  t->require_subcommand(1);
  auto o = std::make_shared<TeamOptions>();

  auto* init = t->add_subcommand("init", "create the team tables (refuses a newer schema)");
  init->add_option("--url", o->url, "ClickHouse, http://host:8123[/?database=D]")->required();
  init->add_option("--cluster", o->cluster,
                   "create Distributed tables over this cluster of the server's "
                   "remote_servers (run init against every shard)");
  init->callback([&ctx, o] { run_init(ctx, *o); });

  auto* push = t->add_subcommand("push", "send cargo logs without a daemon (CI runners)");
  push->add_option("paths", o->paths, "log files or directories (e.g. ~/.cargo/log)")->required();
  push->add_option("--url", o->url, "ClickHouse (default: `[team] url` of config.toml)");
  push->add_option("--machine", o->machine,
                   "this machine's label (default: `[team] machine`, else the host name)");
  push->add_option("--config", o->config, "configuration file to read the defaults from");
  push->add_option("--batch", o->batch, "runs per INSERT")->check(CLI::PositiveNumber);
  push->callback([&ctx, o] { run_push(ctx, *o); });
}

} // namespace ca::client
