// Latency of the reports that read a workspace's history from the `units` and `runs` tables:
// `report thrash` (the newest 50 runs, and the newest 1,000) and `report rebuilds` of a run
// whose units are new (each new root looked up among its earlier builds), at 100, 1,000 and
// 10,000 runs of one workspace. The history is corpus A (10 builds: clean, no-op, edits, a
// feature on and off, RUSTFLAGS on and off, an env var) replayed under fresh run ids, every
// other replay with its env var change the other way round, so the thrash report has a thrash
// to find in every window. Daemon-side, as the gRPC service calls the QueryEngine (no transport,
// no rendering); the medians of the repetitions are printed.
//
// Usage: bench_history [REPLAYS...]   (default: 10 100 1000; runs = 10 x REPLAYS)
#include "daemon/query/query_engine.hpp"
#include "daemon/store/database.hpp"
#include "daemon/store/event_store.hpp"
#include "daemon/store/migrations.hpp"
#include "daemon/store/run_reader.hpp"
#include "shared/codec/event_decoder.hpp"
#include "shared/run_id.hpp"
#include "tests/support/temp_dir.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace v1 = cargo_analysis::v1;

constexpr const char* k_runs[] = {
    "20261123T062716161Z-28b99174ef2c2ad6", "20261123T062731277Z-28b99174ef2c2ad6",
    "20261123T062732370Z-28b99174ef2c2ad6", "20261123T062733765Z-28b99174ef2c2ad6",
    "20261123T062734227Z-28b99174ef2c2ad6", "20261123T062735739Z-28b99174ef2c2ad6",
    "20261123T062735818Z-28b99174ef2c2ad6", "20261123T062750691Z-28b99174ef2c2ad6",
    "20261123T062750774Z-28b99174ef2c2ad6", "20261123T062751587Z-28b99174ef2c2ad6"};
constexpr int k_repetitions = 9;

void check(bool ok, const std::string& what) {
  if (!ok) {
    throw std::runtime_error(what);
  }
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at)) {
    s.replace(at, from.size(), to);
    at += to.size();
  }
}

// `2026-11-23T06:27:16.161Z` -> `20261123T062716161Z-<hash>`.
std::string run_id_at(int64_t unix_ms) {
  std::string t = ca::format_rfc3339_ms(unix_ms);
  std::string out;
  for (char c : t) {
    if (c != '-' && c != ':' && c != '.') {
      out += c;
    }
  }
  return out + "-28b99174ef2c2ad6";
}

std::vector<std::string> lines_of(const std::string& run_id) {
  std::ifstream in(ca::test::fixture_path("corpus/A/logs/" + run_id + ".jsonl"));
  check(bool(in), "cannot read corpus run " + run_id);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) {
      out.push_back(line);
    }
  }
  return out;
}

double median_ms(const std::function<void()>& f) {
  std::vector<double> ms;
  for (int i = 0; i < k_repetitions; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    f();
    ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

void bench(int replays) {
  ca::test::TempDir dir;
  auto db =
      ca::store::Database::open(dir / "db.sqlite3", ca::store::Database::Mode::read_write_create);
  check(bool(db), "cannot create the database");
  check(bool(ca::store::migrate(**db)), "cannot migrate the database");
  ca::store::EventStore store(**db);
  ca::codec::EventDecoder decoder;
  std::vector<std::vector<std::string>> corpus;
  for (const char* id : k_runs) {
    corpus.push_back(lines_of(id));
  }
  const int64_t base = ca::parse_run_id(k_runs[0])->unix_ms + 3'600'000;
  std::string last_new_run; // the newest replay of step 7 (RUSTFLAGS: every unit new)
  std::string last_feature; // the newest replay of step 5 (a feature on: 10 units new)
  auto t0 = std::chrono::steady_clock::now();
  for (int r = 0; r < replays; ++r) {
    for (int step = 0; step < 10; ++step) {
      const std::string id = run_id_at(base + (int64_t(r) * 10 + step) * 60'000);
      ca::store::Batch batch;
      batch.source = "bench";
      for (std::string line : corpus[step]) {
        replace_all(line, k_runs[step], id);
        if (step == 8 && r % 2 == 1) {
          replace_all(line, "\"old_value\":null,\"new_value\":\"spicy\"",
                      "\"old_value\":\"spicy\",\"new_value\":null");
        }
        check(bool(decoder.decode(line, batch.events.emplace_back())), "a line did not decode");
      }
      ca::store::RunFacts ended;
      ended.run_id = id;
      ended.ended = true;
      batch.facts.push_back(ended);
      ca::store::Transaction tx(**db);
      check(bool(store.apply(batch)), "cannot store a run");
      check(bool(tx.commit()), "cannot commit a run");
      if (step == 6) {
        last_new_run = id;
      } else if (step == 4) {
        last_feature = id;
      }
    }
  }
  const double load_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ca::store::ReaderPool pool(dir / "db.sqlite3");
  ca::query::QueryEngine engine(pool, 0); // nothing cached: every answer computed

  size_t groups = 0;
  auto thrash = [&](uint32_t last) {
    return [&, last] {
      v1::ThrashRequest req;
      req.set_workspace("/tmp/corpus/wsA");
      req.set_last(last);
      auto r = engine.thrash(req);
      check(bool(r), "thrash failed");
      groups = static_cast<size_t>(r->groups_size());
    };
  };
  size_t explained = 0;
  auto rebuilds = [&](const std::string& id) {
    return [&, id] {
      v1::GetRebuildsRequest req;
      req.set_id(id);
      req.set_omit_affected(true); // what `report rebuilds -v` asks for
      auto r = engine.get_rebuilds(req);
      check(r && r->runs_size() == 1, "rebuilds failed");
      explained = 0;
      for (const auto& root : r->runs(0).root_rebuilds()) {
        explained += root.has_new_unit_origin() ? 1 : 0;
      }
    };
  };
  const int runs = replays * 10;
  std::printf("%6d runs (loaded in %.1f s):\n", runs, load_s);
  double ms = median_ms(thrash(0));
  std::printf("  report thrash (newest 50 runs)          %8.2f ms  (%zu groups)\n", ms, groups);
  ms = median_ms(thrash(1000));
  std::printf("  report thrash --last 1000               %8.2f ms  (%zu groups)\n", ms, groups);
  ms = median_ms(rebuilds(last_new_run));
  std::printf("  report rebuilds -v, all new (RUSTFLAGS) %8.2f ms  (%zu roots explained)\n", ms,
              explained);
  ms = median_ms(rebuilds(last_feature));
  std::printf("  report rebuilds -v, a feature on        %8.2f ms  (%zu roots explained)\n", ms,
              explained);

  // Time ranges (`--since`): the newest 100 runs (one a minute) against the whole history.
  const int64_t last_100 = base + (int64_t(runs) - 100) * 60'000;
  size_t listed = 0;
  auto sessions = [&](std::optional<int64_t> since) {
    return [&, since] {
      v1::ListSessionsRequest req;
      req.set_workspace("/tmp/corpus/wsA");
      if (since) {
        req.set_since_unix_ms(*since);
      }
      auto r = engine.list_sessions(req);
      check(bool(r), "sessions failed");
      listed = static_cast<size_t>(r->sessions_size());
    };
  };
  uint32_t others = 0;
  auto newest_rebuilds = [&](std::optional<int64_t> since) {
    return [&, since] {
      v1::GetRebuildsRequest req;
      req.set_workspace("/tmp/corpus/wsA");
      req.set_omit_affected(true);
      if (since) {
        req.set_since_unix_ms(*since);
      }
      auto r = engine.get_rebuilds(req);
      check(r && r->runs_size() == 1, "rebuilds failed");
      others = r->other_runs_in_range();
    };
  };
  uint32_t in_scope = 0;
  auto trends = [&](std::optional<int64_t> since) {
    return [&, since] {
      v1::TrendsRequest req;
      req.set_workspace("/tmp/corpus/wsA");
      if (since) {
        req.set_since_unix_ms(*since);
      }
      auto r = engine.trends(req);
      check(bool(r), "trends failed");
      in_scope = r->runs();
    };
  };
  ms = median_ms(sessions(std::nullopt));
  std::printf("  report sessions (newest 10)             %8.2f ms\n", ms);
  ms = median_ms(sessions(last_100));
  std::printf("  report sessions --since (100 runs)      %8.2f ms  (%zu listed)\n", ms, listed);
  ms = median_ms(newest_rebuilds(std::nullopt));
  std::printf("  report rebuilds (newest run)            %8.2f ms\n", ms);
  ms = median_ms(newest_rebuilds(last_100));
  std::printf("  report rebuilds --since (100 runs)      %8.2f ms  (%u others)\n", ms, others);
  ms = median_ms(trends(std::nullopt));
  std::printf("  report trends (whole history)           %8.2f ms  (%u runs)\n", ms, in_scope);
  ms = median_ms(trends(last_100));
  std::printf("  report trends --since (100 runs)        %8.2f ms  (%u runs)\n", ms, in_scope);
}

} // namespace

int main(int argc, char** argv) {
  std::vector<int> replays;
  for (int i = 1; i < argc; ++i) {
    replays.push_back(std::stoi(argv[i]));
  }
  if (replays.empty()) {
    replays = {10, 100, 1000};
  }
  try {
    for (int r : replays) {
      bench(r);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_history: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
