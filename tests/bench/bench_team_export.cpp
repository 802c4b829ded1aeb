// Team export throughput and backlog drain (#13), end to end against a private ClickHouse.
//
// Corpus C's log (one clean build of ~150 units) replayed N times under fresh run ids is
// ingested by a real daemon whose ClickHouse is down (the outage): every run ends and waits in
// the outbox. Then the server starts, and we time from the moment it answers to the moment the
// daemon's backlog is empty: the drain time of N runs, runs/s and units/s. The daemon's first
// retry comes at most its back-off cap (60 s) after the server returns; this bench starts the
// server right after the runs ended, so the back-off is still short and the figure is the send
// time itself. Then `team push` of the same N logs into another database, without a daemon.
//
// With `outage_secs`, the server stays down that long after the runs ended (a 1-hour outage:
// 3600), so the exporter's back-off has reached its cap when the server returns, as it would
// have for a user: the drain time then includes the wait for the next attempt.
//
// Usage: bench_team_export [runs=1000] [outage_secs=0]
#include "shared/team/clickhouse_client.hpp"
#include "tests/support/clickhouse_server.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

uint64_t u64(const nlohmann::json& j, const char* field) {
  if (!j.contains(field)) {
    return 0;
  }
  const auto& v = j[field];
  return v.is_string() ? std::stoull(v.get<std::string>()) : v.get<uint64_t>();
}

nlohmann::json team_status(const ca::test::DaemonProcess& d) {
  auto r = d.client({"--no-spawn", "status", "--format", "json"});
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  return j.is_discarded() ? nlohmann::json::object() : j["team"];
}

} // namespace

int main(int argc, char** argv) {
  const size_t runs = argc > 1 ? std::stoul(argv[1]) : 1000;
  const auto outage = std::chrono::seconds(argc > 2 ? std::stoul(argv[2]) : 0);
  if (ca::test::clickhouse_server_binary().empty()) {
    std::fprintf(stderr, "bench_team_export: clickhouse-server is not installed\n");
    return 125;
  }
  ca::test::TempDir dir;
  // N logs: corpus C under fresh run ids.
  const std::string k_id = "20261123T063006342Z-dd457d2f2595ee60";
  std::ifstream in(
      ca::test::fixture_path("corpus/C/logs/20261123T063006342Z-dd457d2f2595ee60.jsonl"));
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    lines.push_back(line);
  }
  auto logs = dir / "logs";
  std::filesystem::create_directories(logs);
  for (size_t i = 0; i < runs; ++i) {
    char id[64];
    std::snprintf(id, sizeof id, "20261123T063006342Z-%016zx", i + 1);
    std::ofstream out(logs / (std::string(id) + ".jsonl"));
    for (std::string l : lines) {
      l.replace(l.find(k_id), k_id.size(), id);
      out << l << '\n';
    }
  }

  ca::test::ClickHouseServer ch(dir / "ch");
  std::string why;
  if (!ch.start(std::chrono::seconds(60), &why)) {
    std::fprintf(stderr, "clickhouse-server did not start: %s\n", why.c_str());
    return 1;
  }
  auto init = ca::test::run_client(dir / "none", {"--no-spawn", "team", "init", "--url", ch.url()});
  if (init.exit_code != 0) {
    std::fprintf(stderr, "team init: %s\n", init.err.c_str());
    return 1;
  }
  ch.stop(); // the outage

  ca::test::DaemonProcess daemon(dir / "d",
                                 {"--no-watch", "--team-url", ch.url(), "--team-machine", "bench"});
  if (!daemon.start()) {
    return 1;
  }
  auto t0 = Clock::now();
  auto ingest = daemon.client({"ingest", logs.string()});
  if (ingest.exit_code != 0) {
    std::fprintf(stderr, "ingest: %s\n", ingest.err.c_str());
    return 1;
  }
  uint64_t backlog = 0;
  while (Clock::now() - t0 < std::chrono::minutes(5)) {
    backlog = u64(team_status(daemon), "backlog");
    if (backlog >= runs) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::printf("outage: %zu runs ingested, %llu waiting in the outbox\n", runs,
              static_cast<unsigned long long>(backlog));
  if (outage.count() > 0) {
    std::fflush(stdout);
    std::this_thread::sleep_until(t0 + outage);
    std::printf("outage: the server was down %.0f s; failed attempts: %llu, last error: %s\n",
                std::chrono::duration<double>(Clock::now() - t0).count(),
                static_cast<unsigned long long>(u64(team_status(daemon), "consecutive_failures")),
                team_status(daemon).value("last_error", "").c_str());
  }

  if (!ch.start(std::chrono::seconds(60), &why)) {
    std::fprintf(stderr, "clickhouse-server did not start again: %s\n", why.c_str());
    return 1;
  }
  // The drain: from the server's answer to an empty outbox. It begins with the exporter's
  // back-off (its next attempt after the failures of the outage); the send rate is measured from
  // the first acknowledged batch on.
  auto t1 = Clock::now();
  auto first = t1;
  uint64_t first_sent = 0;
  nlohmann::json team;
  while (Clock::now() - t1 < std::chrono::minutes(10)) {
    team = team_status(daemon);
    if (first_sent == 0 && u64(team, "runs_sent") > 0) {
      first = Clock::now();
      first_sent = u64(team, "runs_sent");
    }
    if (u64(team, "backlog") == 0 && u64(team, "runs_sent") >= runs) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  auto end = Clock::now();
  const double drain = std::chrono::duration<double>(end - t1).count();
  const double wait = std::chrono::duration<double>(first - t1).count();
  const double sending = std::chrono::duration<double>(end - first).count();
  const uint64_t sent = u64(team, "runs_sent");
  const uint64_t units = u64(team, "units_sent");
  const double units_per_run = sent == 0 ? 0 : static_cast<double>(units) / sent;
  const double rate = sending > 0 ? (sent - first_sent) / sending : 0;
  std::printf("daemon drain: %llu runs, %llu units in %.2f s after the server answered "
              "(%.2f s of it the back-off's wait for the next attempt); sending: %.0f runs/s, "
              "%.0f units/s\n",
              static_cast<unsigned long long>(sent), static_cast<unsigned long long>(units), drain,
              wait, rate, rate * units_per_run);

  // `team push` into a database of its own, so that its rows are all new too.
  ca::team::ClickHouseClient client(*ca::team::parse_clickhouse_url(ch.url()));
  const std::string push_url = ch.url() + "/?database=pushed";
  if (!client.query("CREATE DATABASE IF NOT EXISTS pushed") ||
      ca::test::run_client(dir / "none", {"--no-spawn", "team", "init", "--url", push_url})
              .exit_code != 0) {
    std::fprintf(stderr, "cannot create the push database\n");
    return 1;
  }
  auto t2 = Clock::now();
  auto push = ca::test::run_client(dir / "none", {"--no-spawn", "team", "push", "--url", push_url,
                                                  "--machine", "ci", logs.string()});
  double push_secs = std::chrono::duration<double>(Clock::now() - t2).count();
  if (push.exit_code != 0) {
    std::fprintf(stderr, "team push: %s\n", push.err.c_str());
    return 1;
  }
  std::printf("team push: %zu logs (read, folded, sent) in %.2f s: %.0f runs/s, %.0f units/s\n",
              runs, push_secs, runs / push_secs, units / push_secs);
  return 0;
}
