// Daemon-side latency of single-run reports: QueryEngine::get_rebuilds and get_timings (and
// get_critical_path) for corpus C (one clean build of 242 units, 1124 lines) stored in a real
// database, as the gRPC service calls them (no transport, no rendering).
//   - cold: a fresh QueryEngine per iteration, so no computed result is cached; the reader
//     (its SQLite connection, page cache and prepared statements) stays warm, as in a daemon
//     that has answered other queries before;
//   - warm: one QueryEngine, the run asked for again (the per-run result cache's hit path).
// Also the store read alone (RunReader::events), the part of a cold query before the analysis.
// Reported as medians of the repetitions.
//
// Usage: bench_query [--benchmark_repetitions=N ...]
#include "daemon/query/query_engine.hpp"
#include "daemon/store/database.hpp"
#include "daemon/store/event_store.hpp"
#include "daemon/store/migrations.hpp"
#include "daemon/store/run_reader.hpp"
#include "shared/codec/event_decoder.hpp"
#include "tests/support/temp_dir.hpp"

#include <benchmark/benchmark.h>

#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace v1 = cargo_analysis::v1;

constexpr const char* k_run_id = "20261123T063006342Z-dd457d2f2595ee60";
constexpr int k_repetitions = 9;

void check(bool ok, const std::string& what) {
  if (!ok) {
    throw std::runtime_error(what);
  }
}

// Corpus C stored (and its run ended) in a migrated database, read through a ReaderPool.
class Corpus {
public:
  Corpus() {
    auto db = ca::store::Database::open(m_dir / "db.sqlite3",
                                        ca::store::Database::Mode::read_write_create);
    check(bool(db), "cannot create the database");
    check(bool(ca::store::migrate(**db)), "cannot migrate the database");
    ca::store::EventStore store(**db);
    const auto path = ca::test::fixture_path(std::string("corpus/C/logs/") + k_run_id + ".jsonl");
    std::ifstream in(path, std::ios::binary);
    check(bool(in), "cannot read " + path.string());
    ca::codec::EventDecoder decoder;
    ca::store::Batch batch;
    batch.source = "bench";
    for (std::string line; std::getline(in, line);) {
      v1::Event e;
      check(bool(decoder.decode(line, e)), "a corpus line did not decode");
      batch.events.push_back(std::move(e));
    }
    ca::store::RunFacts ended;
    ended.run_id = k_run_id;
    ended.ended = true;
    batch.facts.push_back(ended);
    {
      ca::store::Transaction tx(**db);
      check(bool(store.apply(batch)), "cannot store corpus C");
      check(bool(tx.commit()), "cannot commit corpus C");
    }
    m_pool = std::make_unique<ca::store::ReaderPool>(m_dir / "db.sqlite3");
  }

  ca::store::ReaderPool& pool() { return *m_pool; }

private:
  ca::test::TempDir m_dir_owner;
  std::filesystem::path m_dir = m_dir_owner.path();
  std::unique_ptr<ca::store::ReaderPool> m_pool;
};

Corpus& corpus() {
  static Corpus c;
  return c;
}

template <class Request> Request request() {
  Request req;
  req.set_id(k_run_id);
  return req;
}

void bm_read_events(benchmark::State& state) {
  auto reader = corpus().pool().lease();
  check(bool(reader), "cannot open a reader");
  for (auto _ : state) {
    auto events = (*reader)->events(k_run_id);
    check(events && !events->empty(), "no events read");
    benchmark::DoNotOptimize(events);
  }
}
BENCHMARK(bm_read_events)->Repetitions(k_repetitions)->ReportAggregatesOnly(true);

template <class Request, class Call> void cold(benchmark::State& state, Call call) {
  auto req = request<Request>();
  for (auto _ : state) {
    ca::query::QueryEngine engine(corpus().pool());
    auto resp = call(engine, req);
    check(resp && resp->runs_size() == 1, "query failed");
    benchmark::DoNotOptimize(resp);
  }
}

template <class Request, class Call> void warm(benchmark::State& state, Call call) {
  auto req = request<Request>();
  ca::query::QueryEngine engine(corpus().pool());
  auto first = call(engine, req);
  check(bool(first), "query failed");
  state.counters["response_bytes"] = static_cast<double>(first->ByteSizeLong());
  for (auto _ : state) {
    auto resp = call(engine, req);
    check(resp && resp->runs_size() == 1, "query failed");
    benchmark::DoNotOptimize(resp);
  }
}

auto rebuilds = [](ca::query::QueryEngine& e, const v1::GetRebuildsRequest& r) {
  return e.get_rebuilds(r);
};
auto timings = [](ca::query::QueryEngine& e, const v1::GetTimingsRequest& r) {
  return e.get_timings(r);
};
auto critical_path = [](ca::query::QueryEngine& e, const v1::GetCriticalPathRequest& r) {
  return e.get_critical_path(r);
};

void bm_rebuilds_cold(benchmark::State& state) {
  cold<v1::GetRebuildsRequest>(state, rebuilds);
}
void bm_rebuilds_warm(benchmark::State& state) {
  warm<v1::GetRebuildsRequest>(state, rebuilds);
}
void bm_timings_cold(benchmark::State& state) {
  cold<v1::GetTimingsRequest>(state, timings);
}
void bm_timings_warm(benchmark::State& state) {
  warm<v1::GetTimingsRequest>(state, timings);
}
void bm_critical_path_cold(benchmark::State& state) {
  cold<v1::GetCriticalPathRequest>(state, critical_path);
}
void bm_critical_path_warm(benchmark::State& state) {
  warm<v1::GetCriticalPathRequest>(state, critical_path);
}

BENCHMARK(bm_rebuilds_cold)->Repetitions(k_repetitions)->ReportAggregatesOnly(true);
BENCHMARK(bm_rebuilds_warm)->Repetitions(k_repetitions)->ReportAggregatesOnly(true);
BENCHMARK(bm_timings_cold)->Repetitions(k_repetitions)->ReportAggregatesOnly(true);
BENCHMARK(bm_timings_warm)->Repetitions(k_repetitions)->ReportAggregatesOnly(true);
BENCHMARK(bm_critical_path_cold)->Repetitions(k_repetitions)->ReportAggregatesOnly(true);
BENCHMARK(bm_critical_path_warm)->Repetitions(k_repetitions)->ReportAggregatesOnly(true);

} // namespace

BENCHMARK_MAIN();
