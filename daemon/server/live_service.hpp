// The Live gRPC service: `Live.Watch` streams of the builds in progress, fed by the live::LiveHub.
//
// Each Watch call is a WatchReactor (a ServerWriteReactor) that is also a live::LiveSubscriber: a
// bounded queue of shared, immutable updates with at most one write in flight. Each write takes
// everything queued (up to k_max_updates_per_message) into one WatchResponse, so a burst costs
// one write, not one per update. The hub's thread offers updates and never waits: when the
// queue is full the update is dropped and counted, and the hub later sends the count with a
// fresh snapshot (see live_hub.hpp).
#pragma once

#include "cargo_analysis/v1/service.grpc.pb.h"
#include "daemon/live/live_hub.hpp"

#include <grpcpp/grpcpp.h>

#include <cstddef>

namespace ca::server {

class LiveService final : public cargo_analysis::v1::Live::CallbackService {
public:
  // Updates a subscriber may have queued before the next ones are dropped: more than one
  // commit's worth (a Publish batch is at most 8192 items), a few seconds of the biggest builds.
  // Entries are shared pointers to updates all subscribers share, so a full queue costs about
  // 256 KiB of its own.
  static constexpr size_t k_max_queued_updates = 16384;
  // Updates per WatchResponse at most (~100 bytes each).
  static constexpr size_t k_max_updates_per_message = 1024;

  explicit LiveService(live::LiveHub& hub, size_t max_queued = k_max_queued_updates)
      : m_hub(hub), m_max_queued(max_queued) {}

  grpc::ServerWriteReactor<cargo_analysis::v1::WatchResponse>*
  Watch(grpc::CallbackServerContext* ctx, const cargo_analysis::v1::WatchRequest* req) override;

private:
  live::LiveHub& m_hub;
  size_t m_max_queued;
};

} // namespace ca::server
