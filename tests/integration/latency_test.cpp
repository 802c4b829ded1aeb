// The event-loop threads never wait for the store: a slow VACUUM (Admin.Collect on a large
// database) and a full writer queue behind it must not delay an Admin.Status call or a new
// Live.Watch stream's first update by more than a few milliseconds.
//
// How. The database is padded to ~160 MB before the daemon starts, so that VACUUM takes a
// second or more; the daemon's writer queue is cut to 2,000 events (a test hook). While the
// VACUUM holds the writer thread, NDJSON producers and Publish streams send 4,000-line runs:
// the first batch fills the queue, every later one finds it full and waits. Meanwhile, and until
// the backlog has drained, the test times Status calls and the first update of new Watch
// streams. Before #12 a Publish stream waited for room on a gRPC thread, the NDJSON socket on
// the io thread, Collect's wait for the VACUUM on a gRPC thread, and the live hub read SQLite
// with the lock a new Watch takes.
//
// The figures (median, max) are printed. The bound asserted is generous (the test machine runs
// other tests in parallel); the figures are what to read.
#include "daemon/store/database.hpp"
#include "daemon/store/migrations.hpp"
#include "tests/support/grpc_client.hpp"
#include "tests/support/ndjson.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <future>
#include <thread>

namespace ca::test {
namespace {

namespace v1 = cargo_analysis::v1;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr int k_producers = 4;           // NDJSON connections, and as many Publish streams
constexpr size_t k_units_per_run = 1000; // 4,003 lines a run

// Pads the database with ~160 MB that VACUUM has to copy.
void make_large_database(const std::filesystem::path& db_path) {
  std::filesystem::create_directories(db_path.parent_path());
  std::filesystem::permissions(db_path.parent_path(), std::filesystem::perms::owner_all);
  auto db = store::Database::open(db_path, store::Database::Mode::read_write_create);
  ASSERT_TRUE(db) << db.error().message;
  ASSERT_TRUE(store::migrate(**db));
  auto r = (*db)->exec("CREATE TABLE ballast(x BLOB); "
                       "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c "
                       "WHERE i < 40000) INSERT INTO ballast SELECT randomblob(4000) FROM c;");
  ASSERT_TRUE(r) << r.error().message;
}

struct Figures {
  std::vector<double> ms;
  void add(Clock::duration d) {
    ms.push_back(std::chrono::duration<double, std::milli>(d).count());
  }
  double median() {
    std::sort(ms.begin(), ms.end());
    return ms.empty() ? 0 : ms[ms.size() / 2];
  }
  double max() const { return ms.empty() ? 0 : *std::max_element(ms.begin(), ms.end()); }
};

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) {
    out += l;
    out += '\n';
  }
  return out;
}

TEST(Latency, ASlowVacuumAndAFullWriterQueueDoNotDelayStatusOrWatch) {
  TempDir dir;
  DaemonProcess daemon(dir.path(), {"--no-watch"});
  make_large_database(daemon.db_path());
  ASSERT_TRUE(daemon.start({{"CARGO_ANALYSIS_TEST_WRITER_QUEUE", "2000"}}));
  auto channel = daemon_channel(daemon.runtime_dir());
  auto admin = v1::Admin::NewStub(channel);

  // 1. The VACUUM: on the writer thread, for a second or more.
  const auto collect_start = Clock::now();
  std::atomic<bool> collect_done{false};
  Clock::time_point collect_end;
  auto collect = std::async(std::launch::async, [&] {
    auto stub = v1::Admin::NewStub(channel);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 120s);
    v1::CollectRequest req;
    req.set_vacuum(true);
    v1::CollectResponse resp;
    auto st = stub->Collect(&ctx, req, &resp);
    collect_end = Clock::now();
    collect_done = true;
    return st.ok() && resp.vacuumed();
  });
  // VACUUM writes the copy through the WAL: once it grows, the writer thread is in it.
  const auto wal = daemon.db_path().string() + "-wal";
  while (!collect_done) {
    std::error_code ec;
    if (std::filesystem::file_size(wal, ec) > (16u << 20) && !ec) {
      break;
    }
    ASSERT_LT(Clock::now() - collect_start, 60s) << "the VACUUM never started";
    std::this_thread::yield();
  }
  ASSERT_FALSE(collect_done) << "VACUUM too quick to measure anything";

  // 2. The flood: the queue fills, every later batch waits for room.
  std::vector<std::future<nlohmann::json>> ndjson;
  std::vector<std::unique_ptr<Publisher>> publishers;
  std::vector<std::pair<std::string, size_t>> published; // run, lines
  std::vector<std::future<bool>> sending;
  for (int i = 0; i < k_producers; ++i) {
    const auto run = replay_run_id(100 + static_cast<uint64_t>(i));
    const auto data = joined(synthetic_run(run, k_units_per_run, "/ws/ndjson"));
    ndjson.push_back(std::async(std::launch::async, [&daemon, data] {
      return send_ndjson(daemon.runtime_dir() / "ingest.sock", data);
    }));
    const auto prun = replay_run_id(200 + static_cast<uint64_t>(i));
    const auto lines = synthetic_run(prun, k_units_per_run, "/ws/publish");
    auto& pub = publishers.emplace_back(std::make_unique<Publisher>(channel));
    // Sent from a thread of its own: a daemon that stops reading must not stop the measuring.
    sending.push_back(std::async(std::launch::async, [p = pub.get(), prun, lines] {
      return p->send_lines(prun, lines, 1, lines.size(), true);
    }));
    published.emplace_back(prun, lines.size());
  }

  // 3. Measure until the VACUUM is over and the backlog committed.
  Figures status_ms;
  Figures watch_ms;
  Figures status_vacuum_ms; // the part measured while the VACUUM ran
  Figures watch_vacuum_ms;
  size_t during_vacuum = 0;
  auto all_acked = [&] {
    return std::all_of(published.begin(), published.end(),
                       [&, i = size_t{0}](const auto& p) mutable {
                         return publishers[i++]->acked(p.first) == p.second;
                       });
  };
  const auto deadline = Clock::now() + 120s;
  while (!collect_done || !all_acked()) {
    ASSERT_LT(Clock::now(), deadline);
    {
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + 30s);
      v1::StatusResponse resp;
      const auto t0 = Clock::now();
      const bool vacuuming = !collect_done;
      auto st = admin->Status(&ctx, v1::StatusRequest(), &resp);
      status_ms.add(Clock::now() - t0);
      ASSERT_TRUE(st.ok()) << st.error_message();
      if (vacuuming) {
        ++during_vacuum;
        status_vacuum_ms.add(Clock::now() - t0);
      }
    }
    {
      const bool vacuuming = !collect_done;
      const auto t0 = Clock::now();
      WatchStream watch(channel, v1::WatchRequest());
      ASSERT_TRUE(watch.wait_count(1, 30s));
      watch_ms.add(watch.received().front().at - t0);
      if (vacuuming) {
        watch_vacuum_ms.add(watch.received().front().at - t0);
      }
    }
    std::this_thread::sleep_for(10ms); // a client's pace, not a synchronisation
  }
  ASSERT_TRUE(collect.get()) << "Collect failed or did not vacuum";
  for (auto& f : sending) {
    EXPECT_TRUE(f.get());
  }
  const int lines_per_run = static_cast<int>(3 + 4 * k_units_per_run);
  for (auto& f : ndjson) {
    auto summary = f.get();
    EXPECT_EQ(summary.value("stored", 0), lines_per_run) << summary.dump();
  }
  {
    // Every line stored exactly once, though every producer waited for room.
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 30s);
    v1::StatusResponse resp;
    ASSERT_TRUE(admin->Status(&ctx, v1::StatusRequest(), &resp).ok());
    EXPECT_EQ(resp.events_stored(), static_cast<uint64_t>(2 * k_producers * lines_per_run));
  }

  const double vacuum_ms =
      std::chrono::duration<double, std::milli>(collect_end - collect_start).count();
  std::printf("[latency] VACUUM (Collect) took %.0f ms; %zu status calls during it\n", vacuum_ms,
              during_vacuum);
  std::printf("[latency] Admin.Status during the VACUUM: n=%zu median %.2f ms, max %.2f ms\n",
              status_vacuum_ms.ms.size(), status_vacuum_ms.median(), status_vacuum_ms.max());
  std::printf("[latency] Admin.Status, all: n=%zu median %.2f ms, max %.2f ms\n",
              status_ms.ms.size(), status_ms.median(), status_ms.max());
  std::printf("[latency] Live.Watch first update during the VACUUM: n=%zu median %.2f ms, max "
              "%.2f ms\n",
              watch_vacuum_ms.ms.size(), watch_vacuum_ms.median(), watch_vacuum_ms.max());
  std::printf("[latency] Live.Watch first update, all: n=%zu median %.2f ms, max %.2f ms\n",
              watch_ms.ms.size(), watch_ms.median(), watch_ms.max());

  EXPECT_GE(during_vacuum, 3u) << "the VACUUM was too short to measure";
  // Generous bounds: the machine runs other tests meanwhile (a few hundred ms of scheduling
  // delay were seen under load). A call held up by the VACUUM would take the rest of it: most
  // calls, so the median, and up to its whole time (1.5-3 s here), so the max.
  EXPECT_LT(status_ms.median(), 50.0);
  EXPECT_LT(status_ms.max(), 1000.0);
  EXPECT_LT(watch_ms.median(), 50.0);
  EXPECT_LT(watch_ms.max(), 1000.0);
  EXPECT_EQ(daemon.stop(), 0);
  // The flood did find the queue full (the writer says so once per episode, at debug level).
  EXPECT_NE(daemon.log().find("store: queue full"), std::string::npos);
}

} // namespace
} // namespace ca::test
