// The gRPC API under load, against the real daemon (the built binary) on temp dirs:
//
// 1. Ingest.Publish throughput: events/s from P producer streams to committed rows (the clock
//    stops at the last acknowledgement), with the NDJSON socket on the same bytes as the
//    baseline, in the same run. Corpus C (one clean build, 1124 lines) replayed under fresh run
//    ids, so nothing is a duplicate.
// 2. Latency from an event's arrival to a Watch subscriber: one producer sends unit-started
//    events one at a time (paced, as a real build does); the time from handing each to gRPC
//    to its update arriving on a Watch stream in this process. p50/p99, idle and with 50
//    subscribers.
// 3. 50 concurrent Watch subscribers while ingesting: the Publish rate of (1) with 50
//    subscribers reading every update, and with 50 subscribers that read nothing (stuck IDEs),
//    against the rate without subscribers; what the subscribers received and missed; the
//    daemon's CPU time per 1000 events in each case (on a small machine the subscribers' own
//    reading competes with the daemon for the same cores: the CPU figures tell the two apart).
// Medians over repetitions.
//
// Usage: bench_grpc [replays=100] [producers=2] [repetitions=5] [latency_events=2000]
#include "tests/support/grpc_client.hpp"
#include "tests/support/ndjson.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

namespace {

namespace v1 = cargo_analysis::v1;
using Clock = std::chrono::steady_clock;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

// A distinct run id per (repetition, replay, phase).
std::string run_id(size_t rep, size_t i, size_t phase) {
  return ca::test::replay_run_id((uint64_t{phase} << 48) | (uint64_t{rep} << 24) | i);
}

struct Workload {
  std::vector<std::vector<std::string>> runs; // per run: its lines
  std::vector<std::string> ids;
  size_t events = 0;
};

Workload make_workload(size_t replays, size_t rep, size_t phase) {
  Workload w;
  for (size_t i = 0; i < replays; ++i) {
    w.ids.push_back(run_id(rep, i, phase));
    w.runs.push_back(ca::test::corpus_c_lines(w.ids.back()));
    w.events += w.runs.back().size();
  }
  return w;
}

// CPU seconds (user + system) the process `pid` used so far.
double cpu_secs(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream fields(stat.substr(stat.rfind(')') + 2));
  std::string f;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> f; ++i) {
    if (i == 14) {
      utime = std::stoull(f);
    } else if (i == 15) {
      stime = std::stoull(f);
    }
  }
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

template <class Fn> double timed(Fn&& fn) {
  auto t0 = Clock::now();
  fn();
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Runs `producers` threads; producer p gets runs p, p+P, p+2P, ...
template <class Send> void fan_out(const Workload& w, size_t producers, Send&& send) {
  std::vector<std::thread> threads;
  for (size_t p = 0; p < producers; ++p) {
    threads.emplace_back([&, p] {
      std::vector<size_t> mine;
      for (size_t i = p; i < w.runs.size(); i += producers) {
        mine.push_back(i);
      }
      send(mine);
    });
  }
  for (auto& t : threads) {
    t.join();
  }
}

// Publish throughput in events/s; false on a failure.
bool publish_rate(const std::filesystem::path& runtime,
                  const Workload& w,
                  size_t producers,
                  double& rate) {
  std::atomic<bool> ok{true};
  double secs = timed([&] {
    fan_out(w, producers, [&](const std::vector<size_t>& mine) {
      ca::test::Publisher pub(ca::test::daemon_channel(runtime));
      for (size_t i : mine) {
        if (!pub.send_lines(w.ids[i], w.runs[i], 1, w.runs[i].size(), true)) {
          ok = false;
          return;
        }
      }
      for (size_t i : mine) {
        if (!pub.wait_ack(w.ids[i], w.runs[i].size(), std::chrono::seconds(300))) {
          ok = false;
        }
      }
      if (!pub.finish().ok()) {
        ok = false;
      }
    });
  });
  rate = static_cast<double>(w.events) / secs;
  return ok;
}

double socket_rate(const std::filesystem::path& runtime, const Workload& w, size_t producers) {
  double secs = timed([&] {
    fan_out(w, producers, [&](const std::vector<size_t>& mine) {
      std::string data;
      for (size_t i : mine) {
        for (const auto& l : w.runs[i]) {
          data += l;
          data += '\n';
        }
      }
      ca::test::send_ndjson(runtime / "ingest.sock", data);
    });
  });
  return static_cast<double>(w.events) / secs;
}

// Latency of `n` paced unit-started events from Publish to a Watch update, in ms; `acks` gets
// the latency from Publish to the acknowledgement of each (the commit's share of it).
std::vector<double> watch_latency(const std::filesystem::path& runtime,
                                  size_t n,
                                  const std::string& run,
                                  std::vector<double>& acks) {
  auto channel = ca::test::daemon_channel(runtime);
  std::mutex m;
  std::map<uint32_t, Clock::time_point> arrived;
  v1::WatchRequest req;
  ca::test::WatchStream watch(
      channel, req, false,
      [&](const v1::WatchUpdate& u, Clock::time_point at) {
        if (u.has_unit_started() && u.run_id() == run) {
          std::lock_guard lock(m);
          arrived[u.unit_started().unit().index()] = at;
        }
      },
      false);
  watch.wait_count(1); // subscribed: the snapshot arrived
  auto lines = ca::test::synthetic_run(run, n, "/ws/latency");
  std::map<uint64_t, Clock::time_point> acked; // seq -> when its acknowledgement arrived
  ca::test::Publisher pub(channel, [&](const v1::PublishResponse& r) {
    auto at = Clock::now();
    std::lock_guard lock(m);
    for (const auto& a : r.acks()) {
      acked.emplace(a.committed_seq(), at);
    }
  });
  // The build's head (build-started, the unit graph, fingerprints) first, in one go.
  size_t head = 3 + 2 * n;
  pub.send_lines(run, lines, 1, head);
  pub.wait_ack(run, head);
  std::vector<Clock::time_point> sent(n);
  for (size_t i = 0; i < n; ++i) {
    uint64_t seq = head + 1 + 2 * i; // unit-started of unit i (its unit-finished follows)
    sent[i] = Clock::now();
    pub.send_lines(run, lines, seq, seq + 1, seq + 1 == lines.size());
    std::this_thread::sleep_for(std::chrono::milliseconds(2)); // a busy build's pace
  }
  pub.wait_ack(run, lines.size());
  pub.finish();
  watch.wait_count(watch.count() + 1, std::chrono::milliseconds(200));
  std::vector<double> ms;
  std::lock_guard lock(m);
  for (size_t i = 0; i < n; ++i) {
    if (auto it = arrived.find(static_cast<uint32_t>(i)); it != arrived.end()) {
      ms.push_back(std::chrono::duration<double, std::milli>(it->second - sent[i]).count());
    }
    // The first acknowledgement that covers this unit-started.
    if (auto it = acked.lower_bound(head + 1 + 2 * i); it != acked.end()) {
      acks.push_back(std::chrono::duration<double, std::milli>(it->second - sent[i]).count());
    }
  }
  return ms;
}

} // namespace

int main(int argc, char** argv) {
  size_t replays = argc > 1 ? std::stoul(argv[1]) : 100;
  size_t producers = argc > 2 ? std::stoul(argv[2]) : 2;
  size_t repetitions = argc > 3 ? std::stoul(argv[3]) : 5;
  size_t latency_events = argc > 4 ? std::stoul(argv[4]) : 2000;
  constexpr size_t k_subscribers = 50;

  ca::test::TempDir dir;
  ca::test::DaemonProcess daemon(dir.path(), {"--no-watch", "--log-level", "info"});
  if (!daemon.start()) {
    return 1;
  }
  auto runtime = daemon.runtime_dir();
  size_t events_per_rep = make_workload(replays, 0, 9).events;
  std::printf("bench_grpc: corpus C x %zu replays = %zu events per repetition, %zu producers, "
              "%zu repetitions\n",
              replays, events_per_rep, producers, repetitions);

  // 1 and 3: throughput, socket vs Publish vs Publish with 50 subscribers.
  std::vector<double> socket_rates, publish_rates, loaded_rates, stuck_rates;
  std::vector<double> cpu_publish, cpu_loaded, cpu_stuck; // daemon CPU ms per 1000 events
  std::vector<double> cpu_readers; // this process's CPU ms per 1000 events, 50 readers reading
  uint64_t delivered = 0, dropped = 0, expected_updates = 0;
  auto per_1k = [&](double cpu0) {
    return (cpu_secs(daemon.pid()) - cpu0) * 1000.0 /
           (static_cast<double>(events_per_rep) / 1000.0);
  };
  for (size_t rep = 0; rep < repetitions; ++rep) {
    socket_rates.push_back(socket_rate(runtime, make_workload(replays, rep, 1), producers));
    double rate = 0;
    double cpu0 = cpu_secs(daemon.pid());
    if (!publish_rate(runtime, make_workload(replays, rep, 2), producers, rate)) {
      std::fprintf(stderr, "publish failed\n");
      return 1;
    }
    publish_rates.push_back(rate);
    cpu_publish.push_back(per_1k(cpu0));

    {
      // 50 subscribers that never read: the daemon drops their updates instead of waiting.
      auto channel = ca::test::daemon_channel(runtime);
      std::vector<std::unique_ptr<ca::test::WatchStream>> stuck;
      for (size_t s = 0; s < k_subscribers; ++s) {
        stuck.push_back(std::make_unique<ca::test::WatchStream>(channel, v1::WatchRequest(),
                                                                /*paused=*/true));
      }
      auto w = make_workload(replays, rep, 6);
      cpu0 = cpu_secs(daemon.pid());
      if (!publish_rate(runtime, w, producers, rate)) {
        std::fprintf(stderr, "publish with stuck subscribers failed\n");
        return 1;
      }
      stuck_rates.push_back(rate);
      cpu_stuck.push_back(per_1k(cpu0));
    }

    auto channel = ca::test::daemon_channel(runtime);
    std::vector<std::unique_ptr<ca::test::WatchStream>> subs;
    std::atomic<uint64_t> missed{0};
    for (size_t s = 0; s < k_subscribers; ++s) {
      subs.push_back(std::make_unique<ca::test::WatchStream>(
          channel, v1::WatchRequest(), false,
          [&](const v1::WatchUpdate& u, Clock::time_point) {
            if (u.has_dropped()) {
              missed += u.dropped().count();
            }
          },
          false));
    }
    for (auto& s : subs) {
      s->wait_count(1);
    }
    auto w = make_workload(replays, rep, 3);
    cpu0 = cpu_secs(daemon.pid());
    double self0 = cpu_secs(::getpid());
    if (!publish_rate(runtime, w, producers, rate)) {
      std::fprintf(stderr, "publish with subscribers failed\n");
      return 1;
    }
    loaded_rates.push_back(rate);
    // Per run: started, progress, 242 x 2 units, ended; the subscribers may still be reading.
    uint64_t per_sub = 1 + replays * (3 + 2 * 242);
    auto deadline = Clock::now() + std::chrono::seconds(30);
    for (auto& s : subs) {
      while (s->count() < per_sub && Clock::now() < deadline &&
             s->count() + missed.load() / k_subscribers < per_sub) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
    cpu_loaded.push_back(per_1k(cpu0)); // includes sending to the subscribers after ingest
    cpu_readers.push_back((cpu_secs(::getpid()) - self0) * 1000.0 /
                          (static_cast<double>(events_per_rep) / 1000.0));
    for (auto& s : subs) {
      delivered += s->count();
      s->stop();
    }
    dropped += missed.load();
    expected_updates += per_sub * k_subscribers;
    std::printf("  repetition %zu: socket %.0f, publish %.0f, with %zu stuck watchers %.0f, "
                "with %zu reading watchers %.0f events/s\n",
                rep + 1, socket_rates.back(), publish_rates.back(), k_subscribers,
                stuck_rates.back(), k_subscribers, loaded_rates.back());
  }
  double socket = median(socket_rates), publish = median(publish_rates),
         loaded = median(loaded_rates), stuck = median(stuck_rates);
  std::printf("median NDJSON socket (baseline):        %.0f events/s\n", socket);
  std::printf("median Ingest.Publish:                  %.0f events/s (%.2f of the socket), "
              "daemon CPU %.1f ms per 1000 events\n",
              publish, publish / socket, median(cpu_publish));
  std::printf("median Publish, %zu watchers not reading: %.0f events/s (%.2f of without), "
              "daemon CPU %.1f ms per 1000 events\n",
              k_subscribers, stuck, stuck / publish, median(cpu_stuck));
  std::printf("median Publish, %zu watchers reading:     %.0f events/s (%.2f of without), "
              "daemon CPU %.1f ms per 1000 events\n",
              k_subscribers, loaded, loaded / publish, median(cpu_loaded));
  std::printf("  (the %zu reading watchers and the producers, in this process: CPU %.1f ms per "
              "1000 events, on the same %ld cores)\n",
              k_subscribers, median(cpu_readers), ::sysconf(_SC_NPROCESSORS_ONLN));
  std::printf("watchers received %llu of %llu updates, were told of %llu dropped\n",
              static_cast<unsigned long long>(delivered),
              static_cast<unsigned long long>(expected_updates),
              static_cast<unsigned long long>(dropped));

  // 2: latency, one subscriber, then one of 51 (50 others reading too).
  auto report = [&](const char* what, std::vector<double> ms) {
    if (ms.empty()) {
      std::printf("%s: no update arrived\n", what);
      return;
    }
    std::printf("%s: p50 %.3f ms, p99 %.3f ms, max %.3f ms (%zu events)\n", what,
                percentile(ms, 0.5), percentile(ms, 0.99), percentile(ms, 1.0), ms.size());
  };
  std::vector<double> acks;
  report("latency Publish -> Watch, 1 watcher  ",
         watch_latency(runtime, latency_events, run_id(0, 0, 4), acks));
  report("  of which Publish -> ack (committed)", acks);
  {
    auto channel = ca::test::daemon_channel(runtime);
    std::vector<std::unique_ptr<ca::test::WatchStream>> others;
    for (size_t s = 0; s < k_subscribers; ++s) {
      others.push_back(std::make_unique<ca::test::WatchStream>(
          channel, v1::WatchRequest(), false, ca::test::WatchStream::OnUpdate{}, false));
    }
    for (auto& s : others) {
      s->wait_count(1);
    }
    acks.clear();
    report("latency Publish -> Watch, 51 watchers",
           watch_latency(runtime, latency_events, run_id(0, 0, 5), acks));
    report("  of which Publish -> ack (committed)", acks);
  }
  return 0;
}
