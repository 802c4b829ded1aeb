// Committing a batch from a coroutine: the one way every io-thread source waits for the store.
#pragma once

#include "daemon/store/batch_sink.hpp"
#include "shared/error.hpp"

#include <boost/asio/awaitable.hpp>

#include <utility> // boost 1.74 asio/awaitable.hpp uses std::exchange without it

namespace ca::ingest {

// Submits `batch` to `sink` and suspends until it is committed; returns its outcome (or the
// sink's error, e.g. `unavailable` while it stops). Replaces the batch's `on_done`. Safe as long
// as the coroutine's io_context outlives the sink's drain.
boost::asio::awaitable<Result<store::BatchOutcome>> commit(store::BatchSink& sink,
                                                           store::Batch batch);

} // namespace ca::ingest
