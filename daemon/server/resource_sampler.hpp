// Samples the machine's CPU and memory while at least one build is in progress.
//
// Only a process that runs beside the build can see how busy the machine was while it built;
// cargo's report from a log has an empty CPU graph (`const CPU_USAGE = [];`). The daemon is that
// process. Every k_period (100 ms, cargo's minimum between two samples) it reads the first line
// of /proc/stat and computes the share of CPU time that was not idle since the previous read
// (cargo's definition, src/cargo/util/cpu.rs: idle / (user + nice + system + idle + iowait +
// irq + softirq + steal + guest + guest_nice)), and reads MemTotal - MemAvailable from
// /proc/meminfo. Both files stay open and are re-read from offset 0 (procfs regenerates them),
// ~20 us a sample.
//
// The timer is armed only while the live hub follows a run in progress: the hub calls
// runs_became_active() when its first run appears, and a tick that finds no run in progress
// stores what is pending and does not re-arm. With no build running the sampler never wakes
// (`ticks` in the stats does not move).
//
// The runs in progress are the hub's plus those whose log file the watcher saw created
// (run_announced(): cargo writes a small build's log only when it ends) until their end is
// committed (run_ended()).
//
// Each sample goes to every run in progress (a nested run gets the session's samples over its
// own life) and to the hub (Live.Watch progress). Pending samples are stored every
// k_flush_every samples for the runs the hub follows (their row is stored), and when a run
// stops being in progress, as one chunk per run
// (daemon/store/resource_samples.hpp) on the writer's thread; the io_context thread only reads
// two small procfs files.
#pragma once

#include "daemon/live/live_hub.hpp"
#include "daemon/store/resource_samples.hpp"
#include "daemon/store/writer.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ca::server {

// The `cpu` line of /proc/stat, in clock ticks.
struct CpuTimes {
  uint64_t busy = 0; // every field but idle
  uint64_t idle = 0;
};

// Parses the first line of /proc/stat (`cpu  user nice system idle iowait irq softirq steal
// guest guest_nice`; older kernels have fewer fields). nullopt if it is not such a line.
std::optional<CpuTimes> parse_proc_stat(std::string_view text);

// The share of CPU time not idle between two reads, 0..100 (0 when no time passed).
double cpu_busy_percent(const CpuTimes& before, const CpuTimes& after);

struct MemInfo {
  uint64_t total_kib = 0;
  uint64_t available_kib = 0;
};

// MemTotal and MemAvailable from /proc/meminfo; nullopt if either is missing.
std::optional<MemInfo> parse_meminfo(std::string_view text);

struct SamplerStats {
  uint64_t ticks = 0;         // timer wake-ups
  uint64_t samples = 0;       // samples taken
  uint64_t chunks_stored = 0; // chunks handed to the writer
  uint64_t bytes_stored = 0;  // their encoded size
};

class ResourceSampler {
public:
  static constexpr std::chrono::milliseconds k_period{100};
  static constexpr int k_flush_every = 20; // samples: a chunk every ~2 s per run

  // `enabled` false: never samples (a flag for benchmarks against sampling off).
  ResourceSampler(boost::asio::io_context& io,
                  live::LiveHub& live,
                  store::Writer& writer,
                  bool enabled = true);
  ~ResourceSampler();
  ResourceSampler(const ResourceSampler&) = delete;
  ResourceSampler& operator=(const ResourceSampler&) = delete;

  // A run is in progress: start the timer if it is not running. Thread-safe (posts to `io`).
  void runs_became_active();

  // A cargo log was just created (the watcher's IN_CREATE): its run is in progress from now,
  // although cargo may write its events only at the end (a small build buffers its whole log),
  // so the hub does not follow it yet. Sampled until run_ended(). Thread-safe.
  void run_announced(const std::string& run_id);

  // The store committed the run's end. Thread-safe.
  void run_ended(const std::string& run_id);

  // Stores what is pending and stops the timer; call on the io thread or after it stopped.
  void stop();

  SamplerStats stats() const;

private:
  void start(); // on the io thread
  void arm();
  void tick();
  bool read_cpu(CpuTimes& out);
  bool read_mem(MemInfo& out);
  void flush(const std::string& run_id);
  void flush_all();

  boost::asio::io_context& m_io;
  live::LiveHub& m_live;
  store::Writer& m_writer;
  bool m_enabled;
  boost::asio::steady_timer m_timer;
  bool m_running = false;
  int m_stat_fd = -1;
  int m_meminfo_fd = -1;
  CpuTimes m_prev_cpu;
  int m_since_flush = 0;
  std::map<std::string, std::vector<store::ResourceSample>> m_pending; // by run id
  // Runs announced and not ended, with when they were announced (forgotten after a day).
  std::mutex m_announced_mutex;
  std::map<std::string, std::chrono::steady_clock::time_point> m_announced;
  std::atomic<uint64_t> m_ticks{0};
  std::atomic<uint64_t> m_samples{0};
  std::atomic<uint64_t> m_chunks{0};
  std::atomic<uint64_t> m_bytes{0};
};

} // namespace ca::server
