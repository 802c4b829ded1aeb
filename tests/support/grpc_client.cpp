#include "tests/support/grpc_client.hpp"

#include "shared/paths.hpp"
#include "tests/support/temp_dir.hpp"

#include <fmt/format.h>

#include <fstream>

namespace ca::test {

namespace v1 = cargo_analysis::v1;

std::shared_ptr<grpc::Channel> daemon_channel(const std::filesystem::path& runtime) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, 256 * 1024 * 1024);
  return grpc::CreateCustomChannel(grpc_address(runtime), grpc::InsecureChannelCredentials(), args);
}

std::string replay_run_id(uint64_t i) {
  return fmt::format("20261123T063006342Z-{:016x}", i);
}

std::vector<std::string> corpus_c_lines(const std::string& run_id) {
  static const std::string k_id = k_corpus_c_run;
  std::ifstream in(fixture_path(std::string("corpus/C/logs/") + k_corpus_c_run + ".jsonl"));
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (auto at = line.find(k_id); at != std::string::npos) {
      line.replace(at, k_id.size(), run_id);
    }
    lines.push_back(std::move(line));
  }
  return lines;
}

std::vector<std::string>
synthetic_run(const std::string& run_id, size_t units, const std::string& workspace) {
  std::vector<std::string> lines;
  lines.reserve(3 + 4 * units);
  auto head = [&](const char* reason) {
    return fmt::format(
        R"({{"run_id":"{}","timestamp":"2026-11-23T06:30:06.352701432Z","reason":"{}")", run_id,
        reason);
  };
  lines.push_back(head("build-started") +
                  fmt::format(R"(,"command":["cargo","build"],"cwd":"{0}","host":"x86_64-unknown-)"
                              R"(linux-gnu","jobs":4,"profile":"dev","rustc_version":"1.95.0",)"
                              R"("rustc_version_verbose":"rustc 1.95.0","target_dir":"{0}/target",)"
                              R"("workspace_root":"{0}"}})",
                              workspace));
  lines.push_back(head("unit-graph-started") + R"(,"elapsed":0.01})");
  for (size_t i = 0; i < units; ++i) {
    lines.push_back(head("unit-registered") +
                    fmt::format(R"(,"package_id":"path+file://{}/c{}#0.1.0","target":{{"name":)"
                                R"("c{}","kind":"lib"}},"mode":"build","platform":"x86_64-)"
                                R"(unknown-linux-gnu","index":{}}})",
                                workspace, i, i, i));
  }
  lines.push_back(head("unit-graph-finished") + R"(,"elapsed":0.02})");
  for (size_t i = 0; i < units; ++i) {
    lines.push_back(head("unit-fingerprint") + fmt::format(R"(,"index":{},"status":"new"}})", i));
  }
  for (size_t i = 0; i < units; ++i) {
    double t = 0.1 + static_cast<double>(i) * 0.001;
    lines.push_back(head("unit-started") + fmt::format(R"(,"index":{},"elapsed":{}}})", i, t));
    lines.push_back(head("unit-finished") +
                    fmt::format(R"(,"index":{},"elapsed":{}}})", i, t + 0.0005));
  }
  return lines;
}

// --- Publisher ---------------------------------------------------------------------------------

Publisher::Publisher(const std::shared_ptr<grpc::Channel>& channel, OnResponse on_response)
    : m_stub(v1::Ingest::NewStub(channel)), m_on_response(std::move(on_response)) {
  m_stream = m_stub->Publish(&m_ctx);
  m_reader = std::thread([this] {
    v1::PublishResponse r;
    while (m_stream->Read(&r)) {
      {
        std::lock_guard lock(m_mutex);
        for (const auto& a : r.acks()) {
          uint64_t& acked = m_acks[a.run_id()];
          acked = std::max(acked, a.committed_seq());
        }
        for (const auto& rej : r.rejections()) {
          m_rejections.push_back(rej);
        }
        ++m_responses;
      }
      m_cv.notify_all();
      if (m_on_response) {
        m_on_response(r);
      }
    }
    std::lock_guard lock(m_mutex);
    m_ended = true;
    m_cv.notify_all();
  });
}

Publisher::~Publisher() {
  if (!m_finished) {
    cancel();
  }
}

bool Publisher::send(const v1::PublishRequest& item) {
  return m_stream->Write(item);
}

bool Publisher::send_lines(const std::string& run,
                           const std::vector<std::string>& lines,
                           uint64_t first,
                           uint64_t last,
                           bool end) {
  v1::PublishRequest item;
  item.set_run_id(run);
  for (uint64_t seq = first; seq <= last; ++seq) {
    item.set_seq(seq);
    item.set_line(lines[seq - 1]);
    item.set_run_ended(end && seq == last);
    if (!m_stream->Write(item)) {
      return false;
    }
  }
  return true;
}

bool Publisher::wait_ack(const std::string& run, uint64_t seq, std::chrono::milliseconds timeout) {
  std::unique_lock lock(m_mutex);
  return m_cv.wait_for(lock, timeout, [&] {
    auto it = m_acks.find(run);
    return (it != m_acks.end() && it->second >= seq) || m_ended;
  }) && m_acks[run] >= seq;
}

grpc::Status Publisher::finish() {
  m_stream->WritesDone();
  if (m_reader.joinable()) {
    m_reader.join();
  }
  m_finished = true;
  return m_stream->Finish();
}

void Publisher::cancel() {
  m_ctx.TryCancel();
  if (m_reader.joinable()) {
    m_reader.join();
  }
  m_finished = true;
  (void)m_stream->Finish();
}

uint64_t Publisher::acked(const std::string& run) const {
  std::lock_guard lock(m_mutex);
  auto it = m_acks.find(run);
  return it == m_acks.end() ? 0 : it->second;
}

std::vector<v1::PublishRejection> Publisher::rejections() const {
  std::lock_guard lock(m_mutex);
  return m_rejections;
}

size_t Publisher::responses() const {
  std::lock_guard lock(m_mutex);
  return m_responses;
}

// --- WatchStream -------------------------------------------------------------------------------

WatchStream::WatchStream(const std::shared_ptr<grpc::Channel>& channel,
                         const v1::WatchRequest& request,
                         bool paused,
                         OnUpdate on_update,
                         bool record)
    : m_stub(v1::Live::NewStub(channel)), m_on_update(std::move(on_update)), m_paused(paused),
      m_record(record) {
  m_stream = m_stub->Watch(&m_ctx, request);
  m_reader = std::thread([this] {
    {
      std::unique_lock lock(m_mutex);
      m_cv.wait(lock, [&] { return !m_paused || m_stopped; });
    }
    v1::WatchResponse resp;
    while (m_stream->Read(&resp)) {
      auto at = Clock::now();
      if (m_on_update) {
        for (const auto& u : resp.updates()) {
          m_on_update(u, at);
        }
      }
      {
        std::lock_guard lock(m_mutex);
        m_count += static_cast<size_t>(resp.updates_size());
        if (m_record) {
          for (auto& u : *resp.mutable_updates()) {
            m_received.push_back(Received{std::move(u), at});
          }
        }
      }
      m_cv.notify_all();
    }
    std::lock_guard lock(m_mutex);
    m_ended = true;
    m_cv.notify_all();
  });
}

WatchStream::~WatchStream() {
  (void)stop();
}

void WatchStream::resume() {
  std::lock_guard lock(m_mutex);
  m_paused = false;
  m_cv.notify_all();
}

bool WatchStream::wait_for(const std::function<bool(const std::vector<Received>&)>& pred,
                           std::chrono::milliseconds timeout) {
  std::unique_lock lock(m_mutex);
  return m_cv.wait_for(lock, timeout, [&] { return pred(m_received) || m_ended; }) &&
         pred(m_received);
}

std::vector<WatchStream::Received> WatchStream::received() const {
  std::lock_guard lock(m_mutex);
  return m_received;
}

size_t WatchStream::count() const {
  std::lock_guard lock(m_mutex);
  return m_count;
}

bool WatchStream::wait_count(size_t n, std::chrono::milliseconds timeout) {
  std::unique_lock lock(m_mutex);
  return m_cv.wait_for(lock, timeout, [&] { return m_count >= n || m_ended; }) && m_count >= n;
}

bool WatchStream::wait_ended(std::chrono::milliseconds timeout) {
  std::unique_lock lock(m_mutex);
  return m_cv.wait_for(lock, timeout, [&] { return m_ended; });
}

grpc::Status WatchStream::stop() {
  bool ended = false;
  {
    std::lock_guard lock(m_mutex);
    if (m_stopped) {
      return m_status;
    }
    m_stopped = true;
    ended = m_ended;
    m_cv.notify_all();
  }
  if (!ended) {
    m_ctx.TryCancel();
  }
  if (m_reader.joinable()) {
    m_reader.join();
  }
  m_status = m_stream->Finish();
  return m_status;
}

size_t count_updates(const std::vector<WatchStream::Received>& updates,
                     v1::WatchUpdate::ChangeCase kind,
                     const std::string& run) {
  size_t n = 0;
  for (const auto& r : updates) {
    if (r.update.change_case() == kind && (run.empty() || r.update.run_id() == run)) {
      ++n;
    }
  }
  return n;
}

} // namespace ca::test
