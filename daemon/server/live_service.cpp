#include "daemon/server/live_service.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <mutex>
#include <vector>

namespace ca::server {

namespace v1 = cargo_analysis::v1;

namespace {

std::atomic<uint64_t> g_next_watch_id{0};

// One Watch stream. Lifetime: created by Watch(), subscribed at once, deleted in OnDone() after
// it unsubscribed (from then on the hub never calls it). Every gRPC operation is started with
// m_mutex held; reactions take it too (gRPC never runs them inline).
class WatchReactor final : public grpc::ServerWriteReactor<v1::WatchResponse>,
                           public live::LiveSubscriber {
public:
  WatchReactor(live::LiveHub& hub, live::LiveFilter filter, size_t max_queued)
      : m_hub(hub), m_max_queued(max_queued), m_id(++g_next_watch_id) {
    spdlog::debug("watch#{}: subscribed (workspace `{}`, session `{}`)", m_id, filter.workspace,
                  filter.session_id);
    m_hub.subscribe(this, std::move(filter)); // queues the first snapshot
  }

  ~WatchReactor() override { release_message(); }

  size_t offer(std::span<const live::LiveUpdate> updates) override {
    std::lock_guard lock(m_mutex);
    if (m_finished || m_closing) {
      return 0; // nobody will read them; not drops the subscriber should hear of
    }
    size_t room = m_max_queued > m_queue.size() ? m_max_queued - m_queue.size() : 0;
    size_t taken = std::min(room, updates.size());
    m_queue.insert(m_queue.end(), updates.begin(), updates.begin() + static_cast<ptrdiff_t>(taken));
    size_t dropped = updates.size() - taken;
    m_unreported_drops += dropped;
    m_total_drops += dropped;
    write_next_locked();
    return dropped;
  }

  void push(const live::LiveUpdate& update) override {
    std::lock_guard lock(m_mutex);
    if (m_finished || m_closing) {
      return;
    }
    m_queue.push_back(update);
    write_next_locked();
  }

  std::pair<uint64_t, uint64_t> take_drop_report() override {
    std::lock_guard lock(m_mutex);
    // Report once half the queue is free again: a report into a full queue would only be
    // followed by more drops.
    if (m_unreported_drops == 0 || m_queue.size() > m_max_queued / 2) {
      return {0, 0};
    }
    spdlog::debug("watch#{}: {} updates dropped (slow reader), {} in total", m_id,
                  m_unreported_drops, m_total_drops);
    return {std::exchange(m_unreported_drops, 0), m_total_drops};
  }

  void close() override {
    std::lock_guard lock(m_mutex);
    m_closing = true;
    m_queue.clear();
    if (!m_writing) {
      finish_locked(grpc::Status::OK);
    }
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard lock(m_mutex);
    m_writing = false;
    release_message();
    if (!ok) {
      // The client is gone; OnCancel follows (or Finish already happened).
      finish_locked(grpc::Status::CANCELLED);
      return;
    }
    if (m_closing) {
      finish_locked(grpc::Status::OK);
      return;
    }
    write_next_locked();
  }

  void OnCancel() override {
    std::lock_guard lock(m_mutex);
    finish_locked(grpc::Status::CANCELLED);
  }

  void OnDone() override {
    m_hub.unsubscribe(this);
    spdlog::debug("watch#{}: done ({} updates dropped)", m_id, m_total_drops);
    delete this;
  }

private:
  void write_next_locked() {
    if (m_writing || m_finished || m_queue.empty()) {
      return;
    }
    // The message borrows the shared updates instead of copying them for every subscriber:
    // the pointers go in without a copy (no arena is involved) and come out again in
    // release_message() before anything could free them; m_in_message keeps them alive.
    size_t n = std::min(m_queue.size(), LiveService::k_max_updates_per_message);
    for (size_t i = 0; i < n; ++i) {
      m_in_message.push_back(std::move(m_queue.front()));
      m_queue.pop_front();
      m_message.mutable_updates()->UnsafeArenaAddAllocated(
          const_cast<v1::WatchUpdate*>(m_in_message.back().get()));
    }
    m_writing = true;
    StartWrite(&m_message);
  }

  // Takes the borrowed updates out of m_message without deleting them.
  void release_message() {
    while (m_message.updates_size() > 0) {
      m_message.mutable_updates()->UnsafeArenaReleaseLast();
    }
    m_in_message.clear();
  }

  void finish_locked(const grpc::Status& status) {
    if (m_finished) {
      return;
    }
    m_finished = true;
    m_queue.clear();
    Finish(status);
  }

  live::LiveHub& m_hub;
  const size_t m_max_queued;
  const uint64_t m_id;

  std::mutex m_mutex;
  std::deque<live::LiveUpdate> m_queue;
  v1::WatchResponse m_message;                // being written: borrows m_in_message's updates
  std::vector<live::LiveUpdate> m_in_message; // kept alive until OnWriteDone
  bool m_writing = false;
  bool m_closing = false;
  bool m_finished = false;
  uint64_t m_unreported_drops = 0;
  uint64_t m_total_drops = 0;
};

} // namespace

grpc::ServerWriteReactor<v1::WatchResponse>*
LiveService::Watch(grpc::CallbackServerContext* /*ctx*/, const v1::WatchRequest* req) {
  return new WatchReactor(m_hub, live::LiveFilter{req->workspace(), req->session_id()},
                          m_max_queued);
}

} // namespace ca::server
