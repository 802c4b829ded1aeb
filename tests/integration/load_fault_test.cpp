// Load and kills: many producers at once over both ingest paths, and SIGKILL at random moments
// of heavy ingest while producers resend what was not acknowledged. Every event is stored once:
// nothing acknowledged is lost, nothing is stored twice.
#include "tests/support/grpc_client.hpp"
#include "tests/support/ndjson.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <future>
#include <random>
#include <thread>

namespace ca::test {
namespace {

namespace v1 = cargo_analysis::v1;
using namespace std::chrono_literals;

constexpr uint64_t k_lines_per_run = 1124; // corpus C: a real 242-unit build

uint64_t status_count(const DaemonProcess& d, const char* key) {
  auto r = d.client({"--no-spawn", "status", "--format", "json"});
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  if (r.exit_code != 0 || !j.is_object() || !j.contains(key)) {
    return 0;
  }
  return j[key].is_string() ? std::stoull(j[key].get<std::string>()) : j[key].get<uint64_t>();
}

std::string ndjson_of(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) {
    out += l;
    out += '\n';
  }
  return out;
}

TEST(Load, SixtyFourProducersOnTheSocketAndPublishStoreEveryEventOnce) {
  constexpr uint64_t k_producers = 64; // half on the NDJSON socket, half on Publish
  constexpr uint64_t k_runs_each = 9;  // 9 x 1124 = 10,116 events a producer
  TempDir dir;
  DaemonProcess daemon(dir / "d", {"--no-watch", "--log-level", "info"});
  ASSERT_TRUE(daemon.start());
  auto run_of = [](uint64_t producer, uint64_t i) {
    return replay_run_id(0x10000 + producer * 100 + i);
  };
  std::vector<std::future<std::string>> producers; // each returns "" or what went wrong
  for (uint64_t p = 0; p < k_producers; ++p) {
    producers.push_back(std::async(std::launch::async, [&, p]() -> std::string {
      if (p % 2 == 0) {
        std::string data;
        for (uint64_t i = 0; i < k_runs_each; ++i) {
          data += ndjson_of(corpus_c_lines(run_of(p, i)));
        }
        auto summary = send_ndjson(daemon.runtime_dir() / "ingest.sock", data);
        if (summary.value("stored", uint64_t{0}) != k_runs_each * k_lines_per_run) {
          return "socket producer " + std::to_string(p) + ": " + summary.dump();
        }
        return "";
      }
      Publisher pub(daemon_channel(daemon.runtime_dir()));
      for (uint64_t i = 0; i < k_runs_each; ++i) {
        if (!pub.send_lines(run_of(p, i), corpus_c_lines(run_of(p, i)), 1, k_lines_per_run, true)) {
          return "publish producer " + std::to_string(p) + ": stream broke";
        }
      }
      for (uint64_t i = 0; i < k_runs_each; ++i) {
        if (!pub.wait_ack(run_of(p, i), k_lines_per_run, 120s)) {
          return "publish producer " + std::to_string(p) + ": no ack for run " + std::to_string(i);
        }
      }
      auto status = pub.finish();
      return status.ok() ? ""
                         : "publish producer " + std::to_string(p) + ": " + status.error_message();
    }));
  }
  for (auto& f : producers) {
    EXPECT_EQ(f.get(), "");
  }
  const uint64_t total = k_producers * k_runs_each * k_lines_per_run;
  EXPECT_EQ(status_count(daemon, "events_stored"), total);
  EXPECT_EQ(status_count(daemon, "runs_stored"), k_producers * k_runs_each);

  // Everything again, from one producer: all of it is known, nothing is stored twice.
  std::string all;
  for (uint64_t p = 0; p < k_producers; ++p) {
    for (uint64_t i = 0; i < k_runs_each; ++i) {
      all += ndjson_of(corpus_c_lines(run_of(p, i)));
    }
  }
  auto again = send_ndjson(daemon.runtime_dir() / "ingest.sock", all);
  EXPECT_EQ(again.value("stored", uint64_t{1}), 0u) << again.dump();
  EXPECT_EQ(again.value("duplicates", uint64_t{0}), total) << again.dump();
  EXPECT_EQ(status_count(daemon, "events_stored"), total);
}

TEST(Load, KilledTwentyTimesUnderHeavyIngestLosesNothingAcknowledged) {
  constexpr int k_kills = 20;
  constexpr uint64_t k_producers = 8;
  constexpr uint64_t k_runs_each = 6;
  TempDir dir;
  DaemonProcess daemon(dir / "d", {"--no-watch", "--log-level", "info"});
  ASSERT_TRUE(daemon.start());
  auto run_of = [](uint64_t producer, uint64_t i) {
    return replay_run_id(0x20000 + producer * 100 + i);
  };
  std::atomic<bool> killing{true};
  std::atomic<uint64_t> resends{0};
  // Each producer streams its runs over Publish, and after a broken stream connects again and
  // resends every run from its last acknowledgement (as an IDE plugin or a CI shipper would).
  auto produce = [&](uint64_t p) -> std::string {
    std::vector<std::vector<std::string>> logs;
    std::vector<uint64_t> acked(k_runs_each, 0);
    for (uint64_t i = 0; i < k_runs_each; ++i) {
      logs.push_back(corpus_c_lines(run_of(p, i)));
    }
    for (int attempt = 0; attempt < 1000; ++attempt) {
      bool all_acked = true;
      {
        Publisher pub(daemon_channel(daemon.runtime_dir()));
        bool broke = false;
        for (uint64_t i = 0; i < k_runs_each && !broke; ++i) {
          if (acked[i] < k_lines_per_run) {
            broke = !pub.send_lines(run_of(p, i), logs[i], acked[i] + 1, k_lines_per_run, true);
          }
        }
        for (uint64_t i = 0; i < k_runs_each; ++i) {
          if (!broke && acked[i] < k_lines_per_run) {
            broke = !pub.wait_ack(run_of(p, i), k_lines_per_run, 30s);
          }
          acked[i] = std::max(acked[i], pub.acked(run_of(p, i)));
          all_acked = all_acked && acked[i] == k_lines_per_run;
        }
        pub.cancel();
      }
      if (all_acked) {
        return "";
      }
      ++resends;
      std::this_thread::sleep_for(killing ? 50ms : 200ms); // the daemon is being restarted
    }
    return "producer " + std::to_string(p) + " never got every ack";
  };
  std::vector<std::future<std::string>> producers;
  for (uint64_t p = 0; p < k_producers; ++p) {
    producers.push_back(std::async(std::launch::async, produce, p));
  }
  std::mt19937 rng(20261202);
  std::uniform_int_distribution<int> pause_ms(100, 700);
  for (int k = 0; k < k_kills; ++k) {
    std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms(rng)));
    daemon.kill_hard();
    ASSERT_TRUE(daemon.start()) << "restart " << k;
  }
  killing = false;
  for (auto& f : producers) {
    EXPECT_EQ(f.get(), "");
  }
  EXPECT_GT(resends.load(), 0u) << "no kill hit a producer mid-stream";
  EXPECT_EQ(status_count(daemon, "events_stored"), k_producers * k_runs_each * k_lines_per_run);
  EXPECT_EQ(status_count(daemon, "runs_stored"), k_producers * k_runs_each);
  // Each run holds exactly its lines: the same log again is all duplicates.
  for (uint64_t p = 0; p < k_producers; ++p) {
    auto again =
        send_ndjson(daemon.runtime_dir() / "ingest.sock", ndjson_of(corpus_c_lines(run_of(p, 0))));
    EXPECT_EQ(again.value("stored", uint64_t{1}), 0u) << again.dump();
    EXPECT_EQ(again.value("diverged", uint64_t{1}), 0u) << again.dump();
  }
}

} // namespace
} // namespace ca::test
