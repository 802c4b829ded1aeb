// Ingest throughput, end to end: events/s from the NDJSON socket to committed SQLite rows, on
// the corpus C log (one clean build, 1124 lines) replayed many times under fresh run ids.
//
// A real daemon (the built binary) on temp dirs; P producers each send their share over their
// own connection and wait for the daemon's summary line, which it sends only after the last
// batch committed. Baselines measured in the same run, on the same bytes:
//   - socket only: the same producers into a reader that discards (the transport's ceiling);
//   - decode only: the codec over the same lines in this process (the parser's ceiling);
//   - naive: the same bytes -> simdjson (run_id, reason, timestamp) -> one SQLite row per line,
//     one transaction per repetition, in this process (the rate issue #10 names as the goal).
// Reports medians over repetitions, the ratios to the baselines, and the database's size after
// the daemon stopped (checkpointed) against the JSONL bytes it took.
//
// Usage: bench_ingest [replays=200] [producers=2] [repetitions=5]
#include "shared/codec/event_decoder.hpp"
#include "tests/support/ndjson.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>
#include <simdjson.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

std::vector<std::string> corpus_c_lines() {
  std::ifstream in(
      ca::test::fixture_path("corpus/C/logs/20261123T063006342Z-dd457d2f2595ee60.jsonl"));
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    lines.push_back(line);
  }
  return lines;
}

// Replay `i` of corpus C under a run id of its own: the 16 hex digits are the replay number.
std::string replay(const std::vector<std::string>& lines, size_t i, size_t rep) {
  static const std::string k_id = "20261123T063006342Z-dd457d2f2595ee60";
  char id[64];
  std::snprintf(id, sizeof id, "20261123T063006342Z-%08zx%08zx", rep, i);
  std::string out;
  for (const auto& l : lines) {
    std::string copy = l;
    copy.replace(copy.find(k_id), k_id.size(), id);
    out += copy;
    out += '\n';
  }
  return out;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Sends every payload of `shares[p]` over its own connection per producer; returns seconds.
template <class Send> double run_producers(const std::vector<std::string>& shares, Send&& send) {
  auto t0 = Clock::now();
  std::vector<std::thread> threads;
  for (const auto& share : shares) {
    threads.emplace_back([&, s = &share] { send(*s); });
  }
  for (auto& t : threads) {
    t.join();
  }
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// A sink on a Unix socket that reads and discards, answering "{}\n" at EOF (the baseline).
class DiscardSink {
public:
  explicit DiscardSink(std::string path) : m_path(std::move(path)) {
    m_fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof a.sun_path, "%s", m_path.c_str());
    ::unlink(m_path.c_str());
    if (::bind(m_fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(m_fd, 16) != 0) {
      std::perror("sink");
    }
    m_thread = std::thread([this] {
      for (;;) {
        int c = ::accept(m_fd, nullptr, nullptr);
        if (c < 0) {
          return;
        }
        std::thread([c] {
          std::vector<char> buf(65536);
          while (::read(c, buf.data(), buf.size()) > 0) {
          }
          ssize_t w = ::write(c, "{}\n", 3);
          (void)w;
          ::close(c);
        }).detach();
      }
    });
  }
  ~DiscardSink() {
    ::shutdown(m_fd, SHUT_RDWR);
    ::close(m_fd);
    m_thread.join();
  }

private:
  std::string m_path;
  int m_fd;
  std::thread m_thread;
};

// The naive pipeline: every line parsed by simdjson and inserted as a row, one transaction.
double naive_rate(const std::filesystem::path& db_path, const std::string& jsonl, size_t events) {
  std::filesystem::remove(db_path);
  sqlite3* db = nullptr;
  sqlite3_open(db_path.c_str(), &db);
  sqlite3_exec(db,
               "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; CREATE TABLE lines(run_id "
               "TEXT, reason TEXT, timestamp TEXT, raw TEXT)",
               nullptr, nullptr, nullptr);
  sqlite3_stmt* ins = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO lines VALUES (?1, ?2, ?3, ?4)", -1, &ins, nullptr);
  auto t0 = Clock::now();
  sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
  simdjson::ondemand::parser parser;
  size_t begin = 0;
  while (begin < jsonl.size()) {
    size_t nl = jsonl.find('\n', begin);
    std::string_view line(jsonl.data() + begin, nl - begin);
    simdjson::padded_string padded(line);
    auto doc = parser.iterate(padded);
    std::string_view run_id, reason, ts;
    if (doc["run_id"].get_string().get(run_id) || doc["timestamp"].get_string().get(ts) ||
        doc["reason"].get_string().get(reason)) {
      std::fprintf(stderr, "naive: a line without run_id, timestamp or reason\n");
    }
    sqlite3_bind_text(ins, 1, run_id.data(), static_cast<int>(run_id.size()), SQLITE_TRANSIENT);
    sqlite3_bind_text(ins, 2, reason.data(), static_cast<int>(reason.size()), SQLITE_TRANSIENT);
    sqlite3_bind_text(ins, 3, ts.data(), static_cast<int>(ts.size()), SQLITE_TRANSIENT);
    sqlite3_bind_text(ins, 4, line.data(), static_cast<int>(line.size()), SQLITE_STATIC);
    sqlite3_step(ins);
    sqlite3_reset(ins);
    begin = nl + 1;
  }
  sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  sqlite3_finalize(ins);
  sqlite3_close(db);
  return static_cast<double>(events) / secs;
}

} // namespace

int main(int argc, char** argv) {
  size_t replays = argc > 1 ? std::stoul(argv[1]) : 200;
  size_t producers = argc > 2 ? std::stoul(argv[2]) : 2;
  size_t repetitions = argc > 3 ? std::stoul(argv[3]) : 5;
  auto lines = corpus_c_lines();
  size_t events_per_rep = replays * lines.size();
  std::printf("bench_ingest: corpus C (%zu lines) x %zu replays = %zu events per repetition, "
              "%zu producers, %zu repetitions\n",
              lines.size(), replays, events_per_rep, producers, repetitions);

  // Decode-only baseline.
  std::vector<double> decode_rates;
  {
    ca::codec::EventDecoder decoder;
    cargo_analysis::v1::Event e;
    for (size_t r = 0; r < repetitions; ++r) {
      auto t0 = Clock::now();
      for (size_t i = 0; i < replays; ++i) {
        for (const auto& l : lines) {
          (void)decoder.decode(l, e);
        }
      }
      decode_rates.push_back(events_per_rep /
                             std::chrono::duration<double>(Clock::now() - t0).count());
    }
  }

  ca::test::TempDir dir;
  ca::test::DaemonProcess daemon(dir.path(), {"--no-watch"});
  if (!daemon.start()) {
    return 1;
  }
  std::vector<double> ingest_rates, socket_rates, naive_rates;
  uint64_t jsonl_bytes = 0;
  for (size_t rep = 0; rep < repetitions; ++rep) {
    std::vector<std::string> shares(producers);
    std::string all;
    for (size_t i = 0; i < replays; ++i) {
      std::string one = replay(lines, i, rep);
      shares[i % producers] += one;
      all += one;
    }
    jsonl_bytes += all.size();
    naive_rates.push_back(naive_rate(dir.path() / "naive.sqlite3", all, events_per_rep));
    DiscardSink sink((dir.path() / "sink.sock").string());
    double sink_secs = run_producers(
        shares, [&](const std::string& s) { ca::test::send_ndjson(dir.path() / "sink.sock", s); });
    socket_rates.push_back(events_per_rep / sink_secs);
    uint64_t stored = 0;
    std::mutex m;
    double secs = run_producers(shares, [&](const std::string& s) {
      auto summary = ca::test::send_ndjson(daemon.runtime_dir() / "ingest.sock", s);
      std::lock_guard lock(m);
      stored += summary.value("stored", uint64_t{0});
    });
    if (stored != events_per_rep) {
      std::fprintf(stderr, "stored %llu of %zu events\n", static_cast<unsigned long long>(stored),
                   events_per_rep);
      return 1;
    }
    ingest_rates.push_back(events_per_rep / secs);
    std::printf("  repetition %zu: ingest %.0f events/s, socket-only %.0f events/s, naive %.0f "
                "events/s\n",
                rep + 1, ingest_rates.back(), socket_rates.back(), naive_rates.back());
  }
  double ingest = median(ingest_rates), socket = median(socket_rates),
         decode = median(decode_rates), naive = median(naive_rates);
  std::printf("median ingest (socket -> committed rows): %.0f events/s\n", ingest);
  std::printf("median socket-only baseline:             %.0f events/s (ingest = %.3f of it)\n",
              socket, ingest / socket);
  std::printf("median decode-only baseline (1 thread):  %.0f events/s (ingest = %.3f of it)\n",
              decode, ingest / decode);
  std::printf("median naive files->simdjson->SQLite:    %.0f events/s (ingest = %.3f of it)\n",
              naive, ingest / naive);
  daemon.stop(); // checkpoints the WAL into the database file
  const double db_bytes = static_cast<double>(std::filesystem::file_size(daemon.db_path()));
  std::printf("database after stop: %.1f MiB for %.1f MiB of JSONL (%zu events): %.3f of the "
              "JSONL\n",
              db_bytes / (1024.0 * 1024.0), static_cast<double>(jsonl_bytes) / (1024.0 * 1024.0),
              events_per_rep * repetitions, db_bytes / static_cast<double>(jsonl_bytes));
  return 0;
}
