// The live fan-out: what a subscriber is told after commits, resends that tell nothing, filters,
// and a full queue that drops and reports instead of waiting. A real store on a temp dir (the
// hub reads runs back from it); subscribers are fakes with a small queue.
#include "daemon/live/live_hub.hpp"
#include "daemon/store/migrations.hpp"
#include "daemon/store/writer.hpp"
#include "shared/codec/event_decoder.hpp"
#include "tests/support/grpc_client.hpp"
#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <fstream>
#include <functional>
#include <mutex>

namespace ca::live {
namespace {

namespace v1 = cargo_analysis::v1;
using namespace std::chrono_literals;

// A subscriber with a queue of `capacity` that the test drains by hand. It subscribes itself,
// and unsubscribes before it dies (the hub's thread may call it at any time until then).
class FakeSubscriber : public LiveSubscriber {
public:
  FakeSubscriber(LiveHub& hub, size_t capacity, LiveFilter filter = {})
      : m_hub(hub), m_capacity(capacity) {
    m_hub.subscribe(this, std::move(filter));
  }
  ~FakeSubscriber() override { m_hub.unsubscribe(this); }
  FakeSubscriber(const FakeSubscriber&) = delete;
  FakeSubscriber& operator=(const FakeSubscriber&) = delete;

  size_t offer(std::span<const LiveUpdate> updates) override {
    std::lock_guard lock(m_mutex);
    size_t taken = 0;
    for (const auto& u : updates) {
      if (m_queued >= m_capacity) {
        break;
      }
      ++m_queued;
      m_seen.push_back(*u);
      ++taken;
    }
    m_unreported += updates.size() - taken;
    m_total += updates.size() - taken;
    m_cv.notify_all();
    return updates.size() - taken;
  }
  void push(const LiveUpdate& update) override {
    std::lock_guard lock(m_mutex);
    ++m_queued;
    m_seen.push_back(*update);
    m_cv.notify_all();
  }
  std::pair<uint64_t, uint64_t> take_drop_report() override {
    std::lock_guard lock(m_mutex);
    if (m_unreported == 0 || m_queued > m_capacity / 2) {
      return {0, 0};
    }
    return {std::exchange(m_unreported, 0), m_total};
  }
  void close() override {
    std::lock_guard lock(m_mutex);
    m_closed = true;
  }

  // The reader caught up: the queue is empty again.
  void drain() {
    std::lock_guard lock(m_mutex);
    m_queued = 0;
  }
  bool wait(const std::function<bool(const std::vector<v1::WatchUpdate>&)>& pred,
            std::chrono::milliseconds timeout = 10s) {
    std::unique_lock lock(m_mutex);
    return m_cv.wait_for(lock, timeout, [&] { return pred(m_seen); });
  }
  std::vector<v1::WatchUpdate> seen() {
    std::lock_guard lock(m_mutex);
    return m_seen;
  }
  bool closed() {
    std::lock_guard lock(m_mutex);
    return m_closed;
  }

private:
  LiveHub& m_hub;
  std::mutex m_mutex;
  std::condition_variable m_cv;
  size_t m_capacity;
  size_t m_queued = 0;
  uint64_t m_unreported = 0;
  uint64_t m_total = 0;
  bool m_closed = false;
  std::vector<v1::WatchUpdate> m_seen; // everything queued, in order
};

size_t count(const std::vector<v1::WatchUpdate>& updates, v1::WatchUpdate::ChangeCase kind) {
  return static_cast<size_t>(std::count_if(updates.begin(), updates.end(),
                                           [&](const auto& u) { return u.change_case() == kind; }));
}

class LiveHubTest : public ::testing::Test {
protected:
  LiveHubTest() {
    auto db = store::Database::open(m_db_path, store::Database::Mode::read_write_create);
    EXPECT_TRUE(db && store::migrate(**db));
    m_writer = std::make_unique<store::Writer>(std::move(*db));
    m_writer->set_commit_observer(
        [this](store::Batch&& b, const store::BatchOutcome& o) { hub.on_commit(std::move(b), o); });
  }
  ~LiveHubTest() override {
    m_writer->stop();
    hub.stop();
  }

  // Commits `lines` (decoded) and, if `ended`, the run's end.
  void commit(const std::vector<std::string>& lines, const std::string& run, bool ended) {
    store::Batch batch;
    batch.source = "test";
    codec::EventDecoder decoder;
    for (const auto& l : lines) {
      auto& e = batch.events.emplace_back();
      ASSERT_TRUE(decoder.decode(l, e)) << l;
    }
    if (ended) {
      store::RunFacts f;
      f.run_id = run;
      f.ended = true;
      batch.facts.push_back(f);
    }
    m_writer->submit(std::move(batch));
    m_writer->flush();
  }

  test::TempDir m_dir;
  std::filesystem::path m_db_path = m_dir / "db.sqlite3";
  store::ReaderPool m_readers{m_db_path};
  LiveHub hub{m_readers};
  std::unique_ptr<store::Writer> m_writer;
};

TEST(WorkspaceMatches, EqualInsideOrContainingButNotASiblingWithTheSamePrefix) {
  EXPECT_TRUE(workspace_matches("", "/ws/a"));
  EXPECT_TRUE(workspace_matches("/ws/a", "/ws/a"));
  EXPECT_TRUE(workspace_matches("/ws/a/crates/core", "/ws/a")); // a directory inside
  EXPECT_TRUE(workspace_matches("/ws", "/ws/a"));               // a folder of workspaces
  EXPECT_FALSE(workspace_matches("/ws/ab", "/ws/a"));
  EXPECT_FALSE(workspace_matches("/ws/a", "/ws/ab"));
  EXPECT_FALSE(workspace_matches("/ws/a", "")); // not known yet
}

TEST_F(LiveHubTest, ASubscriberSeesTheSnapshotThenEveryChangeOfARunAndItsEnd) {
  FakeSubscriber sub(hub, 1000);
  const std::string run = test::replay_run_id(1);
  auto lines = test::synthetic_run(run, 4, "/ws/demo");
  commit({lines.begin(), lines.begin() + 11}, run, false); // head: graph, fingerprints
  commit({lines.begin() + 11, lines.end()}, run, true);    // units compile, the run ends
  ASSERT_TRUE(sub.wait([](const auto& s) { return count(s, v1::WatchUpdate::kRunEnded) == 1; }));
  auto seen = sub.seen();
  ASSERT_TRUE(seen[0].has_snapshot());
  EXPECT_EQ(seen[0].snapshot().runs_size(), 0);
  ASSERT_TRUE(seen[1].has_run_started());
  EXPECT_EQ(seen[1].run_started().run().workspace_root(), "/ws/demo");
  EXPECT_EQ(seen[1].run_started().run().session_id(), run);
  EXPECT_EQ(seen[1].run_started().run().command_line(), "cargo build");
  ASSERT_TRUE(seen[2].has_progress_changed());
  EXPECT_EQ(seen[2].progress().units_total(), 4u); // the counters after the registrations
  EXPECT_EQ(count(seen, v1::WatchUpdate::kUnitStarted), 4u);
  EXPECT_EQ(count(seen, v1::WatchUpdate::kUnitFinished), 4u);
  const auto& last = seen.back();
  ASSERT_TRUE(last.has_run_ended());
  EXPECT_EQ(last.run_ended().state(), "completed");
  EXPECT_EQ(last.progress().units_finished(), 4u);
  EXPECT_EQ(hub.stats().runs_active, 0u);
}

TEST_F(LiveHubTest, ResourceSamplesReachTheProgressOfRunsInProgress) {
  std::atomic<int> told{0};
  hub.set_activity_observer([&told] { ++told; });
  FakeSubscriber sub(hub, 1000);
  const std::string run = test::replay_run_id(7);
  auto lines = test::synthetic_run(run, 2, "/ws/demo");
  commit({lines.begin(), lines.begin() + 5}, run, false);
  ASSERT_TRUE(sub.wait([](const auto& s) { return count(s, v1::WatchUpdate::kRunStarted) == 1; }));
  EXPECT_EQ(hub.active_run_ids(), std::vector<std::string>{run});
  // One ProgressChanged per ten samples (a second at the sampler's rate), with the newest.
  for (int i = 1; i <= 10; ++i) {
    hub.on_resource_sample(4.5 * i, uint64_t{1} << 30);
  }
  ASSERT_TRUE(sub.wait([](const auto& s) {
    return std::any_of(s.begin(), s.end(), [](const v1::WatchUpdate& u) {
      return u.has_progress_changed() && u.progress().has_cpu_percent();
    });
  }));
  size_t with_cpu = 0;
  for (const auto& u : sub.seen()) {
    if (u.has_progress_changed() && u.progress().has_cpu_percent()) {
      ++with_cpu;
      EXPECT_EQ(u.progress().cpu_percent(), 45.0);
      EXPECT_EQ(u.progress().mem_used_bytes(), uint64_t{1} << 30);
    }
  }
  EXPECT_EQ(with_cpu, 1u);
  commit({lines.begin() + 5, lines.end()}, run, true);
  ASSERT_TRUE(sub.wait([](const auto& s) { return count(s, v1::WatchUpdate::kRunEnded) == 1; }));
  EXPECT_TRUE(hub.active_run_ids().empty());
  // Told once, when the hub started following a run while it followed none.
  EXPECT_EQ(told.load(), 1);
}

TEST_F(LiveHubTest, ResentEventsTellNothingNew) {
  FakeSubscriber sub(hub, 1000);
  const std::string run = test::replay_run_id(2);
  auto lines = test::synthetic_run(run, 3);
  commit(lines, run, false);
  ASSERT_TRUE(
      sub.wait([](const auto& s) { return count(s, v1::WatchUpdate::kUnitFinished) == 3; }));
  commit(lines, run, false); // all duplicates: the writer stores and announces nothing
  commit({lines.back()}, run, true);
  ASSERT_TRUE(sub.wait([](const auto& s) { return count(s, v1::WatchUpdate::kRunEnded) == 1; }));
  EXPECT_EQ(count(sub.seen(), v1::WatchUpdate::kUnitFinished), 3u);
  EXPECT_EQ(count(sub.seen(), v1::WatchUpdate::kRunStarted), 1u);
}

TEST_F(LiveHubTest, FiltersBySessionAndWorkspace) {
  const std::string run = test::replay_run_id(3);
  FakeSubscriber mine(hub, 1000, {"/ws/demo/src", run});
  FakeSubscriber other_ws(hub, 1000, {"/ws/other", ""});
  FakeSubscriber other_session(hub, 1000, {"", "another-session"});
  commit(test::synthetic_run(run, 2, "/ws/demo"), run, true);
  ASSERT_TRUE(mine.wait([](const auto& s) { return count(s, v1::WatchUpdate::kRunEnded) == 1; }));
  hub.stop();                            // everything committed is processed
  EXPECT_EQ(other_ws.seen().size(), 1u); // the snapshot only
  EXPECT_EQ(other_session.seen().size(), 1u);
}

TEST_F(LiveHubTest, AFullQueueDropsInsteadOfWaitingAndReportsTheCountWithASnapshot) {
  FakeSubscriber slow(hub, 8);
  FakeSubscriber fast(hub, 100000);
  const std::string run = test::replay_run_id(4);
  auto lines = test::synthetic_run(run, 50);
  commit(lines, run, false); // 1 + 1 + 100 updates; the slow one takes 7 after its snapshot
  ASSERT_TRUE(
      fast.wait([](const auto& s) { return count(s, v1::WatchUpdate::kUnitFinished) == 50; }));
  EXPECT_EQ(slow.seen().size(), 8u);
  EXPECT_EQ(hub.stats().dropped, 102u - 7u);
  EXPECT_EQ(count(slow.seen(), v1::WatchUpdate::kDropped), 0u); // its queue is still full

  slow.drain(); // the reader caught up: the hub reports soon, even with nothing new
  ASSERT_TRUE(slow.wait([](const auto& s) { return count(s, v1::WatchUpdate::kDropped) == 1; }));
  auto report = slow.seen().back();
  ASSERT_TRUE(report.has_dropped());
  EXPECT_EQ(report.dropped().count(), 95u);
  EXPECT_EQ(report.dropped().total(), 95u);
  ASSERT_EQ(report.dropped().snapshot().runs_size(), 1); // the state it missed, in one piece
  const auto& snap = report.dropped().snapshot().runs(0);
  EXPECT_EQ(snap.run().run_id(), run);
  EXPECT_EQ(snap.progress().units_finished(), 50u);
  EXPECT_EQ(snap.progress().units_total(), 50u);
  EXPECT_EQ(snap.running_size(), 0);
}

TEST_F(LiveHubTest, ClosingEndsSubscribersAndRefusesNewOnes) {
  FakeSubscriber before(hub, 10);
  EXPECT_EQ(hub.stats().subscribers, 1u);
  hub.close_subscribers();
  EXPECT_TRUE(before.closed());
  FakeSubscriber after(hub, 10);
  EXPECT_TRUE(after.closed());
  EXPECT_TRUE(after.seen().empty());
  EXPECT_EQ(hub.stats().subscribers, 1u);
}

// Corpus A's step 9 (WSCORE_FLAVOR: <unset> -> spicy, wscore's build script reruns) under run
// id `as`, or with the change the other way (`back`: spicy -> <unset>).
std::vector<std::string> flavor_run(const std::string& as, bool back) {
  const std::string id = "20261123T062750774Z-28b99174ef2c2ad6";
  std::ifstream in(test::fixture_path("corpus/A/logs/" + id + ".jsonl"));
  EXPECT_TRUE(in);
  auto replace = [](std::string& line, const std::string& from, const std::string& to) {
    for (size_t at = line.find(from); at != std::string::npos; at = line.find(from, at)) {
      line.replace(at, from.size(), to);
      at += to.size();
    }
  };
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) {
    replace(line, id, as);
    if (back) {
      replace(line, "\"old_value\":null,\"new_value\":\"spicy\"",
              "\"old_value\":\"spicy\",\"new_value\":null");
    }
    out.push_back(line);
  }
  return out;
}

TEST_F(LiveHubTest, AThrashIsToldAsItHappens) {
  FakeSubscriber sub(hub, 1000);
  const std::string spicy = "20261123T070000000Z-28b99174ef2c2ad6";
  const std::string back = "20261123T070100000Z-28b99174ef2c2ad6";
  const std::string again = "20261123T070200000Z-28b99174ef2c2ad6";
  commit(flavor_run(spicy, false), spicy, true); // a first change: no thrash
  commit(flavor_run(back, true), back, true);    // back to <unset>: thrash
  commit(flavor_run(again, false), again, true); // back to spicy, as 2 builds ago: thrash
  ASSERT_TRUE(sub.wait([](const auto& s) { return count(s, v1::WatchUpdate::kThrash) == 2; }));
  std::vector<v1::WatchUpdate> thrash;
  for (const auto& u : sub.seen()) {
    if (u.has_thrash()) {
      thrash.push_back(u);
    }
  }
  ASSERT_EQ(thrash.size(), 2u);
  EXPECT_EQ(thrash[0].run_id(), back);
  EXPECT_EQ(thrash[0].thrash().to(), "WSCORE_FLAVOR=<unset>");
  const v1::WatchUpdate& u = thrash[1];
  EXPECT_EQ(u.run_id(), again);
  const v1::ThrashDetected& t = u.thrash();
  EXPECT_EQ(t.unit().description(), "wscore@0.1.0 build-script (run)");
  EXPECT_EQ(t.cause(), "env-var");
  EXPECT_EQ(t.cause_text(), "environment variable WSCORE_FLAVOR flips");
  EXPECT_EQ(t.from(), "WSCORE_FLAVOR=<unset>");
  EXPECT_EQ(t.to(), "WSCORE_FLAVOR=spicy");
  EXPECT_EQ(t.builds_ago(), 2u);
  EXPECT_EQ(t.thrashing_rebuilds(), 2u);
  EXPECT_GT(t.time_lost_secs(), 0); // the rebuild of `back`
  EXPECT_NE(t.fix().find("pin the env var"), std::string::npos);
}

} // namespace
} // namespace ca::live
