// gRPC producers and subscribers for tests and benchmarks: a Publish stream that collects the
// daemon's acknowledgements, a Watch stream that collects updates (with their arrival time), and
// cargo logs to send (corpus C under fresh run ids, or synthetic runs of any size).
#pragma once

#include "cargo_analysis/v1/service.grpc.pb.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace ca::test {

// A channel to `unix:<runtime>/grpc.sock`.
std::shared_ptr<grpc::Channel> daemon_channel(const std::filesystem::path& runtime);

// The run id of corpus C's one log, and a distinct run id for replay `i` of it (same time,
// the 16 hex digits are `i`).
inline constexpr const char* k_corpus_c_run = "20261123T063006342Z-dd457d2f2595ee60";
std::string replay_run_id(uint64_t i);

// Corpus C's lines (a clean build of 242 units, 1124 lines), under `run_id`.
std::vector<std::string> corpus_c_lines(const std::string& run_id = k_corpus_c_run);

// A made-up but valid cargo log of `units` units, all compiled one after another: build-started
// (workspace root `workspace`), the unit graph, then unit-started/unit-finished for each unit.
// 3 + 4 * units lines.
std::vector<std::string> synthetic_run(const std::string& run_id,
                                       size_t units,
                                       const std::string& workspace = "/ws/synthetic");

// One Ingest.Publish stream. A reader thread collects acknowledgements and rejections.
class Publisher {
public:
  using OnResponse = std::function<void(const cargo_analysis::v1::PublishResponse&)>;
  // `on_response` (optional) runs on the reader thread for each response, after it is recorded.
  explicit Publisher(const std::shared_ptr<grpc::Channel>& channel, OnResponse on_response = {});
  ~Publisher(); // cancels the stream if still open
  Publisher(const Publisher&) = delete;
  Publisher& operator=(const Publisher&) = delete;

  // Sends one item; false if the stream is broken.
  bool send(const cargo_analysis::v1::PublishRequest& item);
  // Sends `lines[first-1 .. last-1]` of `run` as items with seq first..last; `end` marks the
  // last one as the run's end. False if the stream broke.
  bool send_lines(const std::string& run,
                  const std::vector<std::string>& lines,
                  uint64_t first,
                  uint64_t last,
                  bool end = false);

  // Waits until `run` is acknowledged up to `seq` (true), or the stream ended or `timeout`
  // passed (false).
  bool wait_ack(const std::string& run,
                uint64_t seq,
                std::chrono::milliseconds timeout = std::chrono::seconds(60));

  // Half-closes, waits for the daemon to finish the stream, returns its status.
  grpc::Status finish();
  // Breaks the stream as a crashing producer would (the daemon sees it cancelled).
  void cancel();

  uint64_t acked(const std::string& run) const;
  std::vector<cargo_analysis::v1::PublishRejection> rejections() const;
  size_t responses() const;

private:
  std::unique_ptr<cargo_analysis::v1::Ingest::Stub> m_stub;
  grpc::ClientContext m_ctx;
  std::unique_ptr<grpc::ClientReaderWriter<cargo_analysis::v1::PublishRequest,
                                           cargo_analysis::v1::PublishResponse>>
      m_stream;
  OnResponse m_on_response;
  mutable std::mutex m_mutex;
  std::condition_variable m_cv;
  std::map<std::string, uint64_t> m_acks;
  std::vector<cargo_analysis::v1::PublishRejection> m_rejections;
  size_t m_responses = 0;
  bool m_ended = false;
  bool m_finished = false;
  std::thread m_reader;
};

// One Live.Watch stream. A reader thread collects every update (of every WatchResponse) with
// its arrival time, unless
// `paused` (a slow subscriber: it reads nothing until resume()).
class WatchStream {
public:
  using Clock = std::chrono::steady_clock;
  struct Received {
    cargo_analysis::v1::WatchUpdate update;
    Clock::time_point at;
  };

  using OnUpdate = std::function<void(const cargo_analysis::v1::WatchUpdate&, Clock::time_point)>;
  // `on_update` (optional) runs on the reader thread for each update, before it is recorded;
  // with `record` false updates are only counted (benchmarks with many subscribers).
  WatchStream(const std::shared_ptr<grpc::Channel>& channel,
              const cargo_analysis::v1::WatchRequest& request,
              bool paused = false,
              OnUpdate on_update = {},
              bool record = true);
  ~WatchStream(); // cancels
  WatchStream(const WatchStream&) = delete;
  WatchStream& operator=(const WatchStream&) = delete;

  void resume();
  // Waits until `pred` holds for the updates received so far (true) or `timeout` (false).
  bool wait_for(const std::function<bool(const std::vector<Received>&)>& pred,
                std::chrono::milliseconds timeout = std::chrono::seconds(60));
  std::vector<Received> received() const;
  // Updates read so far, and a wait until there are `n` (false on timeout or end of stream).
  size_t count() const;
  bool wait_count(size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(60));
  // Waits until the daemon ends the stream (true) or `timeout` passes (false).
  bool wait_ended(std::chrono::milliseconds timeout);
  // Cancels (unless the daemon ended the stream already) and joins; returns the status.
  grpc::Status stop();

private:
  std::unique_ptr<cargo_analysis::v1::Live::Stub> m_stub;
  grpc::ClientContext m_ctx;
  std::unique_ptr<grpc::ClientReader<cargo_analysis::v1::WatchResponse>> m_stream;
  OnUpdate m_on_update;
  mutable std::mutex m_mutex;
  std::condition_variable m_cv;
  std::vector<Received> m_received;
  size_t m_count = 0;
  bool m_paused;
  bool m_record;
  bool m_ended = false;
  bool m_stopped = false;
  grpc::Status m_status;
  std::thread m_reader;
};

// Counts updates of one kind (WatchUpdate::kUnitFinished, ...) for `run` ("" = any run).
size_t count_updates(const std::vector<WatchStream::Received>& updates,
                     cargo_analysis::v1::WatchUpdate::ChangeCase kind,
                     const std::string& run = {});

} // namespace ca::test
