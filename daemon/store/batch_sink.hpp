// The one interface from the sources to the store: where a batch goes to be committed.
//
// Ingest (the socket, the log watcher, Ingest.Publish) and the report precomputer hand their
// batches to a BatchSink and learn of the commit through the batch's `on_done`; they never see
// the writer, its database or its maintenance tasks. store::Writer is the daemon's sink; a test
// can pass its own.
#pragma once

#include "daemon/store/batch.hpp"

#include <functional>

namespace ca::store {

class BatchSink {
public:
  virtual ~BatchSink() = default;

  // Queues a batch for commit. The batch's `on_done` runs once it is committed or has failed,
  // on a thread of the sink's (keep it short and hand the result back to the caller's own
  // thread). A sink that is stopping fails the batch with `unavailable` at once. May block while
  // the sink is full (back-pressure): never call it on an event-loop thread.
  virtual void submit(Batch batch) = 0;

  // Queues `batch` if the sink has room and returns true; never blocks (event-loop threads call
  // this, not submit()). If it is full, leaves `batch` as it was, returns false and calls
  // `on_room` once, on a thread of the sink's, when there may be room again; the caller then
  // tries again. A stopping sink fails the batch at once and returns true.
  virtual bool try_submit(Batch& batch, std::function<void()> on_room) = 0;

  // Blocks until everything submitted before this call is committed or has failed.
  virtual void flush() = 0;
};

} // namespace ca::store
