// The gRPC API through a real C++ gRPC client against the real daemon: Ingest.Publish (acks
// after commit, resends, a daemon killed mid-stream) and Live.Watch (what a subscriber sees,
// filters, a slow subscriber), plus the `watch` command.
#include "tests/support/grpc_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/wait.h>

#include <cstdio>
#include <future>
#include <thread>

namespace ca::test {
namespace {

namespace v1 = cargo_analysis::v1;
using namespace std::chrono_literals;

constexpr uint64_t k_corpus_c_lines = 1124;
constexpr uint32_t k_corpus_c_units = 242;

class GrpcApi : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_TRUE(daemon.start());
    channel = daemon_channel(daemon.runtime_dir());
    reports = v1::Reports::NewStub(channel);
    admin = v1::Admin::NewStub(channel);
  }

  // The run as the daemon reports it (a failure and an empty summary if it has none).
  v1::RunSummary run(const std::string& run_id) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 10s);
    v1::GetSessionRequest req;
    req.set_id(run_id);
    v1::Session session;
    auto st = reports->GetSession(&ctx, req, &session);
    EXPECT_TRUE(st.ok()) << st.error_message();
    for (const auto& r : session.runs()) {
      if (r.run_id() == run_id) {
        return r;
      }
    }
    ADD_FAILURE() << "no run " << run_id;
    return {};
  }

  uint64_t events_stored() {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 10s);
    v1::StatusResponse status;
    auto st = admin->Status(&ctx, v1::StatusRequest(), &status);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return status.events_stored();
  }

  TempDir dir;
  DaemonProcess daemon{dir.path(), {"--no-watch"}};
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::Reports::Stub> reports;
  std::unique_ptr<v1::Admin::Stub> admin;
};

// --- Ingest.Publish ----------------------------------------------------------------------------

TEST_F(GrpcApi, PublishAcknowledgesOnlyWhatReadersCanAlreadySee) {
  const auto lines = corpus_c_lines();
  // On every acknowledgement, at once, a reader must find at least that many events stored.
  auto checker = v1::Reports::NewStub(channel);
  std::mutex m;
  std::vector<std::string> violations;
  uint64_t checked = 0;
  Publisher pub(channel, [&](const v1::PublishResponse& r) {
    for (const auto& ack : r.acks()) {
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + 10s);
      v1::GetSessionRequest req;
      req.set_id(ack.run_id());
      v1::Session session;
      auto st = checker->GetSession(&ctx, req, &session);
      std::lock_guard lock(m);
      ++checked;
      if (!st.ok() || session.runs_size() != 1 || session.runs(0).events() < ack.committed_seq()) {
        violations.push_back("ack " + std::to_string(ack.committed_seq()) + " but " +
                             (st.ok() && session.runs_size() == 1
                                  ? std::to_string(session.runs(0).events()) + " events stored"
                                  : "no run: " + st.error_message()));
      }
    }
  });
  // The first half one item at a time (an ack per item), the rest in one go (batched acks).
  for (uint64_t seq = 1; seq <= 100; ++seq) {
    ASSERT_TRUE(pub.send_lines(k_corpus_c_run, lines, seq, seq));
    ASSERT_TRUE(pub.wait_ack(k_corpus_c_run, seq)) << "no ack for seq " << seq;
  }
  ASSERT_TRUE(pub.send_lines(k_corpus_c_run, lines, 101, k_corpus_c_lines, true));
  ASSERT_TRUE(pub.wait_ack(k_corpus_c_run, k_corpus_c_lines));
  auto st = pub.finish();
  EXPECT_TRUE(st.ok()) << st.error_message();
  EXPECT_TRUE(pub.rejections().empty());
  std::lock_guard lock(m);
  EXPECT_TRUE(violations.empty()) << violations.front();
  EXPECT_GE(checked, 100u);

  auto r = run(k_corpus_c_run);
  EXPECT_EQ(r.events(), k_corpus_c_lines);
  EXPECT_EQ(r.units_total(), k_corpus_c_units);
  EXPECT_EQ(r.state(), "completed");
  EXPECT_EQ(r.workspace_root(), "/tmp/corpus/wsC/big");
}

TEST_F(GrpcApi, ResendAfterADroppedConnectionStoresNothingTwice) {
  const auto lines = corpus_c_lines();
  uint64_t acked = 0;
  {
    Publisher first(channel);
    v1::PublishRequest hello; // explicit evidence in the stream's first message
    hello.set_run_id(k_corpus_c_run);
    hello.set_seq(1);
    hello.set_line(lines[0]);
    hello.set_session_id("ide-session-42");
    hello.set_pid(4242);
    ASSERT_TRUE(first.send(hello));
    ASSERT_TRUE(first.send_lines(k_corpus_c_run, lines, 2, 800));
    ASSERT_TRUE(first.wait_ack(k_corpus_c_run, 300));
    first.cancel(); // the connection drops with items in flight
    acked = first.acked(k_corpus_c_run);
  }
  ASSERT_GE(acked, 300u);
  // The producer resends from before its last ack (overlap is harmless) to the end.
  uint64_t from = acked > 50 ? acked - 50 : 1;
  Publisher second(channel);
  ASSERT_TRUE(second.send_lines(k_corpus_c_run, lines, from, k_corpus_c_lines, true));
  ASSERT_TRUE(second.wait_ack(k_corpus_c_run, k_corpus_c_lines));
  EXPECT_TRUE(second.finish().ok());

  // And a third time, everything again: nothing new.
  Publisher third(channel);
  ASSERT_TRUE(third.send_lines(k_corpus_c_run, lines, 1, k_corpus_c_lines));
  ASSERT_TRUE(third.wait_ack(k_corpus_c_run, k_corpus_c_lines));
  EXPECT_TRUE(third.finish().ok());

  EXPECT_EQ(events_stored(), k_corpus_c_lines);
  auto r = run(k_corpus_c_run);
  EXPECT_EQ(r.events(), k_corpus_c_lines);
  EXPECT_EQ(r.units_total(), k_corpus_c_units);
  EXPECT_EQ(r.units_finished(), k_corpus_c_units);
  EXPECT_EQ(r.state(), "completed");
  EXPECT_EQ(r.session_id(), "ide-session-42");
  EXPECT_EQ(r.link(), "explicit");
  EXPECT_EQ(r.pid(), 4242u);
}

TEST_F(GrpcApi, UnacknowledgedEventsAreStoredOnceAfterTheDaemonIsKilledAndTheyAreResent) {
  constexpr uint64_t k_runs = 30; // 33720 items: the daemon is killed with many in flight
  std::vector<std::vector<std::string>> logs;
  for (uint64_t i = 0; i < k_runs; ++i) {
    logs.push_back(corpus_c_lines(replay_run_id(i)));
  }
  std::map<std::string, uint64_t> acked;
  {
    Publisher pub(channel);
    auto sender = std::async(std::launch::async, [&] {
      for (uint64_t i = 0; i < k_runs; ++i) {
        if (!pub.send_lines(replay_run_id(i), logs[i], 1, k_corpus_c_lines, true)) {
          return; // the daemon died under us
        }
      }
    });
    // Kill it between receive and commit: once something is acknowledged, while the rest is
    // still streaming in.
    ASSERT_TRUE(pub.wait_ack(replay_run_id(0), 1));
    daemon.kill_hard();
    sender.wait();
    pub.cancel();
    for (uint64_t i = 0; i < k_runs; ++i) {
      acked[replay_run_id(i)] = pub.acked(replay_run_id(i));
    }
  }
  uint64_t total_acked = 0;
  for (const auto& [run_id, seq] : acked) {
    total_acked += seq;
  }
  ASSERT_LT(total_acked, k_runs * k_corpus_c_lines) << "the daemon committed everything first";

  ASSERT_TRUE(daemon.start());
  channel = daemon_channel(daemon.runtime_dir());
  reports = v1::Reports::NewStub(channel);
  admin = v1::Admin::NewStub(channel);
  // What was acknowledged survived the kill.
  uint64_t survived = events_stored();
  EXPECT_GE(survived, total_acked);

  // The producer resends from its last ack of each run.
  Publisher pub(channel);
  for (uint64_t i = 0; i < k_runs; ++i) {
    auto id = replay_run_id(i);
    if (acked[id] < k_corpus_c_lines) {
      ASSERT_TRUE(pub.send_lines(id, logs[i], acked[id] + 1, k_corpus_c_lines, true));
    }
  }
  for (uint64_t i = 0; i < k_runs; ++i) {
    auto id = replay_run_id(i);
    if (acked[id] < k_corpus_c_lines) {
      ASSERT_TRUE(pub.wait_ack(id, k_corpus_c_lines)) << id;
    }
  }
  EXPECT_TRUE(pub.finish().ok());
  EXPECT_EQ(events_stored(), k_runs * k_corpus_c_lines);
  for (uint64_t i = 0; i < k_runs; i += 7) {
    auto r = run(replay_run_id(i));
    EXPECT_EQ(r.events(), k_corpus_c_lines) << r.run_id();
    EXPECT_EQ(r.units_finished(), k_corpus_c_units) << r.run_id();
  }
}

TEST_F(GrpcApi, PublishTakesTypedEventsAndDedupesThemLikeTheirLines) {
  const auto lines = corpus_c_lines();
  {
    Publisher pub(channel);
    ASSERT_TRUE(pub.send_lines(k_corpus_c_run, lines, 1, 10));
    ASSERT_TRUE(pub.wait_ack(k_corpus_c_run, 10));
    EXPECT_TRUE(pub.finish().ok());
  }
  auto stored_before = events_stored();
  ASSERT_EQ(stored_before, 10u);
  // A typed event with no run id and no raw: the daemon writes cargo's line for it, so the same
  // event resent (a new stream, the same seq) is recognised as stored.
  v1::PublishRequest item;
  item.set_run_id("20261201T000000000Z-0123456789abcdef");
  item.set_seq(1);
  auto* e = item.mutable_typed();
  e->set_timestamp("2026-12-01T00:00:00.5Z");
  e->set_reason("resolution-started");
  e->mutable_resolution_started()->set_elapsed(0.25);
  {
    Publisher pub(channel);
    ASSERT_TRUE(pub.send(item));
    ASSERT_TRUE(pub.wait_ack(item.run_id(), 1));
    EXPECT_TRUE(pub.finish().ok());
    EXPECT_TRUE(pub.rejections().empty());
  }
  Publisher pub(channel);
  ASSERT_TRUE(pub.send(item)); // resent: a duplicate
  ASSERT_TRUE(pub.wait_ack(item.run_id(), 1));
  // A line of another run than the item says is refused, and acknowledged all the same.
  item.set_seq(2);
  item.set_line(lines[1]);
  ASSERT_TRUE(pub.send(item));
  ASSERT_TRUE(pub.wait_ack(item.run_id(), 2));
  EXPECT_TRUE(pub.finish().ok());
  auto rejections = pub.rejections();
  ASSERT_EQ(rejections.size(), 1u);
  EXPECT_EQ(rejections[0].seq(), 2u);
  EXPECT_NE(rejections[0].error().find("is not the run it was sent for"), std::string::npos)
      << rejections[0].error();
  // Other bytes under a seq already stored are refused too, naming the run and line: a line is
  // never stored twice, nor replaced.
  {
    Publisher other(channel);
    v1::PublishRequest changed;
    changed.set_run_id(item.run_id());
    changed.set_seq(1);
    auto* c = changed.mutable_typed();
    c->set_timestamp("2026-12-01T00:00:00.5Z");
    c->set_reason("resolution-started");
    c->mutable_resolution_started()->set_elapsed(0.75);
    ASSERT_TRUE(other.send(changed));
    ASSERT_TRUE(other.wait_ack(item.run_id(), 1));
    EXPECT_TRUE(other.finish().ok());
    auto refused = other.rejections();
    ASSERT_EQ(refused.size(), 1u);
    EXPECT_EQ(refused[0].seq(), 1u);
    EXPECT_NE(refused[0].error().find("line 1: differs from the line stored at that position"),
              std::string::npos)
        << refused[0].error();
  }
  EXPECT_EQ(events_stored(), 11u);
  EXPECT_EQ(run(item.run_id()).events(), 1u);
}

TEST_F(GrpcApi, PublishEndsAStreamWithAGapInItsSequenceAfterAcknowledgingWhatCameBefore) {
  const auto lines = corpus_c_lines();
  Publisher pub(channel);
  ASSERT_TRUE(pub.send_lines(k_corpus_c_run, lines, 5, 9)); // any first seq is fine
  v1::PublishRequest gap;
  gap.set_run_id(k_corpus_c_run);
  gap.set_seq(11);
  gap.set_line(lines[10]);
  pub.send(gap);
  auto st = pub.finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("seq 11 after 9"), std::string::npos) << st.error_message();
  EXPECT_EQ(pub.acked(k_corpus_c_run), 9u);
  EXPECT_EQ(events_stored(), 5u);
}

// --- Live.Watch --------------------------------------------------------------------------------

TEST_F(GrpcApi, WatchSeesRunStartedEveryUnitAndRunEndedWithItsState) {
  v1::WatchRequest all;
  WatchStream watch(channel, all);
  v1::WatchRequest inside; // a directory inside the workspace matches it
  inside.set_workspace("/tmp/corpus/wsC/big/src");
  WatchStream in_ws(channel, inside);
  v1::WatchRequest elsewhere;
  elsewhere.set_workspace("/somewhere/else");
  WatchStream other_ws(channel, elsewhere);
  v1::WatchRequest other_session;
  other_session.set_session_id("not-this-one");
  WatchStream other_sess(channel, other_session);
  auto has_snapshot = [](const std::vector<WatchStream::Received>& r) { return !r.empty(); };
  for (auto* w : {&watch, &in_ws, &other_ws, &other_sess}) {
    ASSERT_TRUE(w->wait_for(has_snapshot, 10s));
  }

  const auto lines = corpus_c_lines();
  Publisher pub(channel);
  ASSERT_TRUE(pub.send_lines(k_corpus_c_run, lines, 1, k_corpus_c_lines, true));
  auto ended = [](const std::vector<WatchStream::Received>& r) {
    return count_updates(r, v1::WatchUpdate::kRunEnded) > 0;
  };
  ASSERT_TRUE(watch.wait_for(ended));
  ASSERT_TRUE(in_ws.wait_for(ended));
  EXPECT_TRUE(pub.finish().ok());

  auto got = watch.received();
  ASSERT_TRUE(got.front().update.has_snapshot());
  EXPECT_EQ(got.front().update.snapshot().runs_size(), 0);
  ASSERT_GE(got.size(), 2u);
  ASSERT_TRUE(got[1].update.has_run_started());
  const auto& started = got[1].update.run_started().run();
  EXPECT_EQ(started.run_id(), k_corpus_c_run);
  EXPECT_EQ(started.session_id(), k_corpus_c_run);
  EXPECT_EQ(started.workspace_root(), "/tmp/corpus/wsC/big");
  EXPECT_EQ(started.command_line(), "cargo build");
  EXPECT_EQ(count_updates(got, v1::WatchUpdate::kUnitStarted), k_corpus_c_units);
  EXPECT_EQ(count_updates(got, v1::WatchUpdate::kUnitFinished), k_corpus_c_units);
  EXPECT_EQ(count_updates(got, v1::WatchUpdate::kDropped), 0u);
  // Progress only grows, and units compiling never exceed -j (2 in corpus C).
  uint32_t last_finished = 0;
  for (const auto& r : got) {
    if (r.update.has_progress()) {
      EXPECT_GE(r.update.progress().units_finished(), last_finished) << r.update.DebugString();
      EXPECT_LE(r.update.progress().units_running(), 2u);
      last_finished = r.update.progress().units_finished();
    }
  }
  const auto& last = got.back().update;
  ASSERT_TRUE(last.has_run_ended());
  EXPECT_EQ(last.run_ended().state(), "completed");
  EXPECT_GT(last.run_ended().duration_secs(), 35.0);
  EXPECT_EQ(last.progress().units_total(), k_corpus_c_units);
  EXPECT_EQ(last.progress().units_finished(), k_corpus_c_units);
  EXPECT_EQ(last.progress().units_running(), 0u);
  // A finished unit says what it was and how long it took.
  for (const auto& r : got) {
    if (r.update.has_unit_finished() && r.update.unit_finished().unit().index() == 8) {
      EXPECT_EQ(r.update.unit_finished().unit().description(), "big@0.1.0 big \"bin\"");
      EXPECT_NEAR(r.update.unit_finished().duration(), 35.880277662 - 35.471135158, 1e-6);
    }
  }
  EXPECT_EQ(count_updates(in_ws.received(), v1::WatchUpdate::kUnitFinished), k_corpus_c_units);
  // The others saw their snapshot and nothing else.
  EXPECT_EQ(other_ws.stop().error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_EQ(other_ws.received().size(), 1u);
  other_sess.stop();
  EXPECT_EQ(other_sess.received().size(), 1u);
}

TEST_F(GrpcApi, AWatchStartedMidBuildGetsTheRunInItsSnapshot) {
  const auto lines = corpus_c_lines();
  // The live view follows commits a moment later: an earlier subscriber tells when it has
  // caught up with the first 600 lines (every unit registered, some compiled).
  uint32_t finished = 0;
  for (size_t i = 0; i < 600; ++i) {
    finished += lines[i].find("\"unit-finished\"") != std::string::npos ? 1 : 0;
  }
  ASSERT_GT(finished, 0u);
  WatchStream earlier(channel, v1::WatchRequest());
  ASSERT_TRUE(earlier.wait_for([](const auto& r) { return !r.empty(); }, 10s));
  Publisher pub(channel);
  ASSERT_TRUE(pub.send_lines(k_corpus_c_run, lines, 1, 600));
  ASSERT_TRUE(earlier.wait_for([&](const auto& r) {
    return !r.empty() && r.back().update.progress().units_finished() == finished;
  }));
  WatchStream watch(channel, v1::WatchRequest());
  ASSERT_TRUE(watch.wait_for([](const auto& r) { return !r.empty(); }, 10s));
  auto first = watch.received().front().update;
  ASSERT_TRUE(first.has_snapshot());
  ASSERT_EQ(first.snapshot().runs_size(), 1);
  const auto& snap = first.snapshot().runs(0);
  EXPECT_EQ(snap.run().run_id(), k_corpus_c_run);
  EXPECT_EQ(snap.progress().units_total(), k_corpus_c_units);
  EXPECT_EQ(snap.progress().units_finished(), finished);
  EXPECT_EQ(static_cast<uint32_t>(snap.running_size()), snap.progress().units_running());
  ASSERT_TRUE(pub.send_lines(k_corpus_c_run, lines, 601, k_corpus_c_lines, true));
  ASSERT_TRUE(watch.wait_for(
      [](const auto& r) { return count_updates(r, v1::WatchUpdate::kRunEnded) > 0; }));
  EXPECT_TRUE(pub.finish().ok());
  EXPECT_EQ(watch.received().back().update.progress().units_finished(), k_corpus_c_units);
}

TEST_F(GrpcApi, ASlowWatchSubscriberIsToldHowManyUpdatesItMissedWhileIngestGoesOn) {
  // A subscriber that reads nothing, and one that keeps up.
  WatchStream slow(channel, v1::WatchRequest(), /*paused=*/true);
  WatchStream fast(channel, v1::WatchRequest(), false, {}, /*record=*/false);
  constexpr size_t k_units = 60000; // 120000 unit updates: more than queue and transport hold
  auto lines = synthetic_run(replay_run_id(7), k_units);
  Publisher pub(channel);
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(pub.send_lines(replay_run_id(7), lines, 1, lines.size(), true));
  ASSERT_TRUE(pub.wait_ack(replay_run_id(7), lines.size(), 120s));
  auto ingest_secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_TRUE(pub.finish().ok());
  // The fast one got every update: snapshot, started, progress, 2 per unit, ended.
  ASSERT_TRUE(fast.wait_count(2 * k_units + 3)) << fast.count();

  slow.resume();
  ASSERT_TRUE(slow.wait_for([](const auto& r) {
    return count_updates(r, v1::WatchUpdate::kDropped) > 0;
  })) << "no drop report; "
      << slow.received().size() << " updates read";
  auto got = slow.received();
  uint64_t dropped = 0;
  for (const auto& r : got) {
    if (r.update.has_dropped()) {
      EXPECT_GT(r.update.dropped().count(), 0u);
      EXPECT_GE(r.update.dropped().total(), r.update.dropped().count());
      dropped += r.update.dropped().count();
    }
  }
  EXPECT_GT(dropped, 0u);
  // What it read plus what it was told it missed is everything the fast one read (ingest was
  // over before it read anything, so every drop has happened and will be reported).
  auto accounted = [](const std::vector<WatchStream::Received>& r) {
    size_t n = 0;
    for (const auto& x : r) {
      n += x.update.has_dropped() ? x.update.dropped().count() : 1;
    }
    return n;
  };
  size_t everything = fast.count();
  EXPECT_TRUE(slow.wait_for([&](const auto& r) { return accounted(r) >= everything; }, 10s));
  got = slow.received();
  EXPECT_EQ(accounted(got), everything);
  dropped = 0;
  for (const auto& r : got) {
    dropped += r.update.has_dropped() ? r.update.dropped().count() : 0;
  }
  std::printf("ingest of %zu items with a stuck subscriber: %.2f s; the subscriber missed %llu "
              "updates\n",
              lines.size(), ingest_secs, static_cast<unsigned long long>(dropped));
}

TEST_F(GrpcApi, WatchCommandPrintsPlainLinesWhenNotATerminal) {
  // A run left in progress: the client's first line (from its snapshot) says it subscribed.
  const std::string anchor = replay_run_id(99);
  auto anchor_lines = synthetic_run(anchor, 3, "/ws/anchor");
  WatchStream live_view(channel, v1::WatchRequest()); // tells when the live view has it
  ASSERT_TRUE(live_view.wait_for([](const auto& r) { return !r.empty(); }, 10s));
  Publisher pub(channel);
  ASSERT_TRUE(pub.send_lines(anchor, anchor_lines, 1, 5));
  ASSERT_TRUE(live_view.wait_for(
      [](const auto& r) { return !r.empty() && r.back().update.progress().units_total() == 3; }));

  std::string cmd = std::string("timeout 60 ") + CA_CLIENT_BIN + " --runtime-dir " +
                    daemon.runtime_dir().string() + " --no-spawn watch --runs 1 2>&1";
  FILE* out = ::popen(cmd.c_str(), "r");
  ASSERT_NE(out, nullptr);
  std::string text;
  char buf[4096];
  auto read_line = [&] {
    if (std::fgets(buf, sizeof buf, out) == nullptr) {
      return false;
    }
    text += buf;
    return true;
  };
  ASSERT_TRUE(read_line());
  EXPECT_EQ(text, "run " + anchor + " in progress: cargo build in /ws/anchor (0/3 units)\n");
  const auto lines = corpus_c_lines();
  ASSERT_TRUE(pub.send_lines(k_corpus_c_run, lines, 1, k_corpus_c_lines, true));
  while (read_line()) {
  }
  int status = ::pclose(out);
  EXPECT_TRUE(pub.finish().ok());
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status << "\n" << text;
  CommandResult r{0, text, {}};
  EXPECT_NE(r.out.find(std::string("run ") + k_corpus_c_run +
                       " started: cargo build in /tmp/corpus/wsC/big"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find(std::string("run ") + k_corpus_c_run +
                       " finished big@0.1.0 big \"bin\" in 0.41s (242/242 units)"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find(std::string("run ") + k_corpus_c_run +
                       " ended: completed in 35.88s (242 units, 242 compiled)"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find("\x1b["), std::string::npos) << "escape codes in plain output";
}

TEST_F(GrpcApi, WatchStreamsEndWhenTheDaemonStops) {
  auto watch = std::make_unique<WatchStream>(channel, v1::WatchRequest());
  ASSERT_TRUE(watch->wait_for([](const auto& r) { return !r.empty(); }, 10s));
  auto t0 = std::chrono::steady_clock::now();
  auto stopped = std::async(std::launch::async, [&] { return daemon.stop(); });
  // The daemon ends the stream itself, with OK, at once (no grace period spent on it).
  EXPECT_TRUE(watch->wait_ended(1s));
  EXPECT_TRUE(watch->stop().ok());
  // A client that closes its connection then lets the daemon exit at once (gRPC's graceful
  // shutdown waits for open connections up to the grace period).
  watch.reset();
  channel.reset();
  reports.reset();
  admin.reset();
  EXPECT_EQ(stopped.get(), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1500ms);
}

} // namespace
} // namespace ca::test
