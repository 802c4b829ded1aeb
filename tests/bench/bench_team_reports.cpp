// Team report latency (#13): `report trends` and `report slowest-crates` over N exported runs
// (default 100,000) read from ClickHouse, against the same questions asked of the local SQLite
// holding the same N runs.
//
// Both sides hold N copies of one real run, corpus A's step 4 (a change to wscore: 88 units, a
// root rebuild and its cascade, compile times), each under its own run and session id, one
// minute apart (N = 100,000 spans ~69 days):
// - ClickHouse (a private clickhouse-server): the run is sent by `team push` into a staging
//   database, then copied server-side N times into the team tables (in 10 slices), `INSERT INTO
//   ca_units SELECT ... FROM staging.ca_units CROSS JOIN numbers(N)` (and ca_runs likewise).
// - SQLite: the run is stored through the store's real write path (EventStore, as the daemon
//   does), then copied N-1 times with `INSERT ... SELECT` in the store's own schema (runs,
//   unit_rows; unit keys are shared, as the store shares them), and `unit_trends` (the per-unit
//   running totals kept at ingest) scaled by N, which is what N ingests of the same run add up
//   to. Storing 100,000 runs through the write path one by one would take far longer than the
//   couple of minutes this setup takes.
// The questions are asked of the query functions the daemon calls (no gRPC, no rendering):
// QueryEngine::trends / slowest_crates on SQLite, query::team_trends / team_slowest_crates on
// ClickHouse; each is timed over 5 repetitions and Google Benchmark prints mean, median, stddev.
//
// Usage: bench_team_reports [--runs=N] [benchmark flags]
#include "daemon/query/query_engine.hpp"
#include "daemon/query/team_reports.hpp"
#include "daemon/store/database.hpp"
#include "daemon/store/event_store.hpp"
#include "daemon/store/migrations.hpp"
#include "daemon/store/run_reader.hpp"
#include "shared/codec/event_decoder.hpp"
#include "shared/team/clickhouse_client.hpp"
#include "tests/support/clickhouse_server.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace v1 = cargo_analysis::v1;
using Clock = std::chrono::steady_clock;

constexpr const char* k_template = "20261123T062733765Z-28b99174ef2c2ad6"; // corpus A, step 4
constexpr int64_t k_gap_ms = 60'000;

double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "bench_team_reports: %s\n", what.c_str());
  std::exit(1);
}

template <class T> T must(ca::Result<T> r, const char* what) {
  if (!r) {
    die(std::string(what) + ": " + r.error().message);
  }
  return std::move(*r);
}

void must(ca::Result<void> r, const char* what) {
  if (!r) {
    die(std::string(what) + ": " + r.error().message);
  }
}

// The columns of a table, in order, each replaced by its expression in `exprs` if named there.
std::string select_list(const std::vector<std::string>& columns,
                        const std::vector<std::pair<std::string, std::string>>& exprs) {
  std::string out;
  for (const std::string& c : columns) {
    std::string e = c;
    for (const auto& [name, expr] : exprs) {
      if (name == c) {
        e = expr;
      }
    }
    out += (out.empty() ? "" : ", ") + e;
  }
  return out;
}

// ClickHouse: `runs` copies of the pushed template in the team tables of the default database.
void fill_clickhouse(const ca::test::ClickHouseServer& ch,
                     const ca::test::TempDir& dir,
                     size_t runs) {
  ca::team::ClickHouseClient client(*ca::team::parse_clickhouse_url(ch.url()),
                                    std::chrono::minutes(10));
  const std::string staging = ch.url() + "/?database=staging";
  must(client.query("CREATE DATABASE IF NOT EXISTS staging"), "create staging");
  for (const std::string& url : {ch.url(), staging}) {
    auto init = ca::test::run_client(dir / "none", {"--no-spawn", "team", "init", "--url", url});
    if (init.exit_code != 0) {
      die("team init: " + init.err);
    }
  }
  auto push = ca::test::run_client(
      dir / "none",
      {"--no-spawn", "team", "push", "--url", staging, "--machine", "bench",
       ca::test::fixture_path(std::string("corpus/A/logs/") + k_template + ".jsonl").string()});
  if (push.exit_code != 0) {
    die("team push: " + push.err);
  }
  for (const char* table : {"ca_runs", "ca_units"}) {
    std::string text = must(client.query(fmt::format("SELECT name FROM system.columns WHERE "
                                                     "database = 'staging' AND table = '{}'",
                                                     table)),
                            "columns");
    std::vector<std::string> columns;
    std::istringstream in(text);
    for (std::string c; std::getline(in, c);) {
      columns.push_back(c);
    }
    const std::string start = fmt::format("(start_unix_ms + number * {})", k_gap_ms);
    std::string select =
        select_list(columns, {{"run_id", "concat(run_id, '-', toString(number))"},
                              {"session_id", "concat(session_id, '-', toString(number))"},
                              {"start_unix_ms", start},
                              {"start_date", "toDate(toDateTime(intDiv(" + start + ", 1000)))"}});
    // In 10 slices: one INSERT of 8.8 million units would need ~9 GiB (a server's default
    // max_memory_usage is 10 GB).
    constexpr int k_slices = 10;
    for (int slice = 0; slice < k_slices; ++slice) {
      must(client.query(fmt::format("INSERT INTO {0} SELECT {1} FROM staging.{0} CROSS JOIN "
                                    "(SELECT number FROM numbers({2}) WHERE number % {3} = {4})",
                                    table, select, runs, k_slices, slice)),
           "copy");
    }
  }
}

// SQLite: the template through the write path, then `runs - 1` copies in SQL.
void fill_sqlite(const std::filesystem::path& path, size_t runs) {
  auto db =
      must(ca::store::Database::open(path, ca::store::Database::Mode::read_write_create), "open");
  must(ca::store::migrate(*db), "migrate");
  ca::store::EventStore store(*db);
  std::ifstream in(ca::test::fixture_path(std::string("corpus/A/logs/") + k_template + ".jsonl"));
  ca::codec::EventDecoder decoder;
  ca::store::Batch batch;
  batch.source = "bench";
  for (std::string line; std::getline(in, line);) {
    v1::Event e;
    if (!line.empty() && decoder.decode(line, e)) {
      batch.events.push_back(std::move(e));
    }
  }
  {
    ca::store::Transaction tx(*db);
    must(store.apply(batch), "apply");
    ca::store::Batch end;
    end.source = "bench";
    ca::store::RunFacts f;
    f.run_id = k_template;
    f.ended = true;
    end.facts.push_back(f);
    must(store.apply(end), "end");
    must(tx.commit(), "commit");
  }
  const int64_t template_id =
      must(db->query_int(fmt::format("SELECT id FROM runs WHERE run_id = '{}'", k_template)),
           "template");
  auto columns_of = [&](const char* table) {
    std::vector<std::string> out;
    auto* s =
        must(db->prepare_cached(fmt::format("SELECT name FROM pragma_table_info('{}')", table)),
             "pragma");
    auto g = s->bind();
    for (;;) {
      if (!must(s->step(), "step")) {
        break;
      }
      out.push_back(s->column_text(0));
    }
    return out;
  };
  auto run_columns = columns_of("runs");
  run_columns.erase(run_columns.begin()); // id: new rows get their own
  std::string names;
  for (const auto& c : run_columns) {
    names += (names.empty() ? "" : ", ") + c;
  }
  const std::string start = fmt::format("(start_unix_ms + x * {})", k_gap_ms);
  ca::store::Transaction tx(*db);
  must(db->exec(fmt::format(
           "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < {}) "
           "INSERT INTO runs ({}) SELECT {} FROM runs, n WHERE runs.id = {}",
           runs - 1, names,
           select_list(run_columns,
                       {{"run_id", "run_id || '-' || x"},
                        {"session_id", "session_id || '-' || x"},
                        {"start_unix_ms", start},
                        {"end_unix_ms", fmt::format("end_unix_ms + x * {}", k_gap_ms)}}),
           template_id)),
       "copy runs");
  auto unit_columns = columns_of("unit_rows");
  must(
      db->exec(fmt::format("INSERT INTO unit_rows SELECT {} FROM unit_rows u JOIN runs r ON "
                           "r.id > {} WHERE u.run = {}",
                           select_list(unit_columns, {{"run", "r.id"}}), template_id, template_id)),
      "copy units");
  must(db->exec(fmt::format("UPDATE unit_trends SET builds = builds * {0}, total_secs = "
                            "total_secs * {0}",
                            runs)),
       "unit_trends");
  must(tx.commit(), "commit");
}

} // namespace

int main(int argc, char** argv) {
  size_t runs = 100'000;
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    if (std::strncmp(argv[i], "--runs=", 7) == 0) {
      runs = std::stoul(argv[i] + 7);
    } else {
      args.push_back(argv[i]);
    }
  }
  if (ca::test::clickhouse_server_binary().empty()) {
    std::fprintf(stderr, "bench_team_reports: clickhouse-server is not installed\n");
    return 125;
  }
  ca::test::TempDir dir;
  ca::test::ClickHouseServer ch(dir / "ch");
  std::string why;
  if (!ch.start(std::chrono::seconds(60), &why)) {
    die("clickhouse-server did not start: " + why);
  }
  auto t0 = Clock::now();
  fill_clickhouse(ch, dir, runs);
  std::printf("clickhouse: %zu runs copied server-side in %.1f s\n", runs, since(t0));
  t0 = Clock::now();
  const auto db_path = dir / "db.sqlite3";
  fill_sqlite(db_path, runs);
  std::printf("sqlite: %zu runs stored in %.1f s\n", runs, since(t0));

  ca::team::ClickHouseClient client(*ca::team::parse_clickhouse_url(ch.url()),
                                    std::chrono::minutes(5));
  ca::store::ReaderPool readers(db_path);
  ca::query::QueryEngine engine(readers);

  // The question: trends of every workspace (the team's is every machine's), whole history.
  v1::TrendsRequest local_trends;
  local_trends.set_all(true);
  v1::TrendsRequest team_trends = local_trends;
  team_trends.set_team(true);
  // The same over the last 7 days of runs.
  const int64_t last_start = must(ca::store::RunReader::open(db_path), "reader")
                                 ->run(k_template + std::string("-") + std::to_string(runs - 1))
                                 ->start_unix_ms();
  v1::TrendsRequest local_week = local_trends;
  local_week.set_since_unix_ms(last_start - 7 * 86'400'000LL);
  v1::TrendsRequest team_week = team_trends;
  team_week.set_since_unix_ms(last_start - 7 * 86'400'000LL);
  v1::SlowestCratesRequest local_crates;
  v1::SlowestCratesRequest team_crates;
  team_crates.set_team(true);

  // Both sides see the same history.
  auto l = must(engine.trends(local_trends), "local trends");
  auto t = must(ca::query::team_trends(client, team_trends), "team trends");
  auto lc = must(engine.slowest_crates(local_crates), "local slowest-crates");
  auto tc = must(ca::query::team_slowest_crates(client, team_crates), "team slowest-crates");
  std::printf("runs: local %u, team %u; root rebuilds: local %u, team %u; compiles: local %u, "
              "team %u; slowest crate: local %s %.1f s, team %s %.1f s\n",
              l.runs(), t.runs(), l.root_rebuilds_total(), t.root_rebuilds_total(), lc.compiles(),
              tc.compiles(), lc.slowest(0).name().c_str(), lc.slowest(0).total_secs(),
              tc.slowest(0).name().c_str(), tc.slowest(0).total_secs());

  auto reg = [](const char* name, auto fn) {
    benchmark::RegisterBenchmark(name,
                                 [fn](benchmark::State& state) {
                                   for (auto _ : state) {
                                     auto r = fn();
                                     if (!r) {
                                       state.SkipWithError(r.error().message.c_str());
                                       break;
                                     }
                                     benchmark::DoNotOptimize(r);
                                   }
                                 })
        ->Unit(benchmark::kMillisecond)
        ->Iterations(1)
        ->Repetitions(5)
        ->ReportAggregatesOnly(true);
  };
  reg("trends/all/sqlite", [&] { return engine.trends(local_trends); });
  reg("trends/all/clickhouse", [&] { return ca::query::team_trends(client, team_trends); });
  reg("trends/7d/sqlite", [&] { return engine.trends(local_week); });
  reg("trends/7d/clickhouse", [&] { return ca::query::team_trends(client, team_week); });
  reg("slowest_crates/all/sqlite", [&] { return engine.slowest_crates(local_crates); });
  reg("slowest_crates/all/clickhouse",
      [&] { return ca::query::team_slowest_crates(client, team_crates); });

  int bargc = static_cast<int>(args.size());
  benchmark::Initialize(&bargc, args.data());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
