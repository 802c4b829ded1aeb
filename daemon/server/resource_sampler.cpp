#include "daemon/server/resource_sampler.hpp"

#include <boost/asio/post.hpp>
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <set>

namespace ca::server {

namespace {

// Reads the start of a procfs file from offset 0 into `buf`; the text read, or empty.
std::string_view read_head(int fd, char* buf, size_t size) {
  if (fd < 0) {
    return {};
  }
  ssize_t n = ::pread(fd, buf, size, 0);
  return n > 0 ? std::string_view(buf, static_cast<size_t>(n)) : std::string_view();
}

bool next_number(std::string_view& text, uint64_t& v) {
  size_t at = text.find_first_not_of(' ');
  if (at == std::string_view::npos) {
    return false;
  }
  text.remove_prefix(at);
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc()) {
    return false;
  }
  text.remove_prefix(static_cast<size_t>(end - text.data()));
  return true;
}

std::optional<uint64_t> meminfo_value(std::string_view text, std::string_view key) {
  for (size_t at = 0; at < text.size();) {
    size_t eol = text.find('\n', at);
    std::string_view line = text.substr(at, eol == std::string_view::npos ? eol : eol - at);
    if (line.starts_with(key) && line.size() > key.size() && line[key.size()] == ':') {
      line.remove_prefix(key.size() + 1);
      uint64_t v = 0;
      if (next_number(line, v)) {
        return v;
      }
      return std::nullopt;
    }
    if (eol == std::string_view::npos) {
      break;
    }
    at = eol + 1;
  }
  return std::nullopt;
}

} // namespace

std::optional<CpuTimes> parse_proc_stat(std::string_view text) {
  text = text.substr(0, text.find('\n'));
  if (!text.starts_with("cpu ")) {
    return std::nullopt;
  }
  text.remove_prefix(4);
  CpuTimes t;
  uint64_t v = 0;
  int fields = 0;
  for (; fields < 10 && next_number(text, v); ++fields) {
    if (fields == 3) {
      t.idle = v;
    } else {
      t.busy += v;
    }
  }
  if (fields < 4) {
    return std::nullopt;
  }
  return t;
}

double cpu_busy_percent(const CpuTimes& before, const CpuTimes& after) {
  uint64_t busy = after.busy >= before.busy ? after.busy - before.busy : 0;
  uint64_t idle = after.idle >= before.idle ? after.idle - before.idle : 0;
  uint64_t total = busy + idle;
  if (total == 0) {
    return 0;
  }
  // Cargo records 100 - idle share.
  return 100.0 - static_cast<double>(idle) / static_cast<double>(total) * 100.0;
}

std::optional<MemInfo> parse_meminfo(std::string_view text) {
  auto total = meminfo_value(text, "MemTotal");
  auto available = meminfo_value(text, "MemAvailable");
  if (!total || !available) {
    return std::nullopt;
  }
  return MemInfo{*total, *available};
}

ResourceSampler::ResourceSampler(boost::asio::io_context& io,
                                 live::LiveHub& live,
                                 store::Writer& writer,
                                 bool enabled)
    : m_io(io), m_live(live), m_writer(writer), m_enabled(enabled), m_timer(io) {
  if (!m_enabled) {
    return;
  }
  m_stat_fd = ::open("/proc/stat", O_RDONLY | O_CLOEXEC);
  m_meminfo_fd = ::open("/proc/meminfo", O_RDONLY | O_CLOEXEC);
  if (m_stat_fd < 0 || m_meminfo_fd < 0) {
    spdlog::warn("resource sampling off: cannot open /proc/stat or /proc/meminfo");
    m_enabled = false;
  }
}

ResourceSampler::~ResourceSampler() {
  for (int fd : {m_stat_fd, m_meminfo_fd}) {
    if (fd >= 0) {
      ::close(fd);
    }
  }
}

void ResourceSampler::runs_became_active() {
  if (!m_enabled) {
    return;
  }
  boost::asio::post(m_io, [this] { start(); });
}

void ResourceSampler::run_announced(const std::string& run_id) {
  if (!m_enabled) {
    return;
  }
  {
    std::lock_guard lock(m_announced_mutex);
    m_announced.emplace(run_id, std::chrono::steady_clock::now());
  }
  runs_became_active();
}

void ResourceSampler::run_ended(const std::string& run_id) {
  std::lock_guard lock(m_announced_mutex);
  m_announced.erase(run_id);
}

void ResourceSampler::start() {
  if (m_running) {
    return;
  }
  if (!read_cpu(m_prev_cpu)) {
    return;
  }
  m_running = true;
  m_since_flush = 0;
  arm();
}

void ResourceSampler::arm() {
  m_timer.expires_after(k_period);
  m_timer.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) {
      tick();
    }
  });
}

bool ResourceSampler::read_cpu(CpuTimes& out) {
  char buf[512];
  auto parsed = parse_proc_stat(read_head(m_stat_fd, buf, sizeof buf));
  if (!parsed) {
    return false;
  }
  out = *parsed;
  return true;
}

bool ResourceSampler::read_mem(MemInfo& out) {
  char buf[512]; // MemTotal, MemFree, MemAvailable are the first three lines
  auto parsed = parse_meminfo(read_head(m_meminfo_fd, buf, sizeof buf));
  if (!parsed) {
    return false;
  }
  out = *parsed;
  return true;
}

void ResourceSampler::tick() {
  m_ticks.fetch_add(1, std::memory_order_relaxed);
  std::vector<std::string> followed = m_live.active_run_ids(); // stored: flushed periodically
  std::set<std::string> active_set(followed.begin(), followed.end());
  {
    std::lock_guard lock(m_announced_mutex);
    const auto forget = std::chrono::steady_clock::now() - std::chrono::hours(24);
    std::erase_if(m_announced, [&](const auto& a) { return a.second < forget; });
    for (const auto& announced : m_announced) {
      active_set.insert(announced.first);
    }
  }
  // Runs no longer in progress: store the rest of their samples.
  for (auto it = m_pending.begin(); it != m_pending.end();) {
    if (!active_set.contains(it->first)) {
      flush(it->first);
      it = m_pending.erase(it);
    } else {
      ++it;
    }
  }
  if (active_set.empty()) {
    m_running = false; // no re-arm: no wake-up until a run is in progress again
    return;
  }
  CpuTimes cpu;
  MemInfo mem;
  if (read_cpu(cpu) && read_mem(mem)) {
    store::ResourceSample s;
    s.unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
    s.cpu_percent = cpu_busy_percent(m_prev_cpu, cpu);
    s.mem_total_kib = mem.total_kib;
    s.mem_used_kib = mem.total_kib >= mem.available_kib ? mem.total_kib - mem.available_kib : 0;
    m_prev_cpu = cpu;
    for (const std::string& id : active_set) {
      m_pending[id].push_back(s);
    }
    m_samples.fetch_add(1, std::memory_order_relaxed);
    m_live.on_resource_sample(s.cpu_percent, s.mem_used_kib * 1024);
  }
  if (++m_since_flush >= k_flush_every) {
    m_since_flush = 0;
    for (const std::string& id : followed) {
      flush(id);
    }
  }
  arm();
}

void ResourceSampler::flush(const std::string& run_id) {
  auto it = m_pending.find(run_id);
  if (it == m_pending.end() || it->second.empty()) {
    return;
  }
  std::vector<store::ResourceSample> samples = std::move(it->second);
  it->second.clear();
  m_chunks.fetch_add(1, std::memory_order_relaxed);
  m_bytes.fetch_add(store::encode_resource_samples(samples).size(), std::memory_order_relaxed);
  // The future is dropped: a promise's future does not wait in its destructor.
  (void)m_writer.run_exclusive<int>(
      [run_id, samples = std::move(samples)](store::Database& db) -> Result<int> {
        auto r = store::append_resource_samples(db, run_id, samples);
        if (!r) {
          spdlog::warn("samples of run {} not stored: {}", run_id, r.error().message);
        } else if (*r == 0) {
          spdlog::debug("samples of run {} dropped: the run is not stored", run_id);
        }
        return r;
      });
}

void ResourceSampler::flush_all() {
  for (const auto& pending : m_pending) {
    flush(pending.first);
  }
}

void ResourceSampler::stop() {
  m_timer.cancel();
  m_running = false;
  flush_all();
  m_pending.clear();
}

SamplerStats ResourceSampler::stats() const {
  return SamplerStats{
      m_ticks.load(std::memory_order_relaxed), m_samples.load(std::memory_order_relaxed),
      m_chunks.load(std::memory_order_relaxed), m_bytes.load(std::memory_order_relaxed)};
}

} // namespace ca::server
