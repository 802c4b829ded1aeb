#include "daemon/ingest/batch_commit.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <memory>

namespace ca::ingest {

namespace asio = boost::asio;

namespace {

// A batch on its way through the sink, as commit() waits for it. The coroutine sleeps on `wake`
// until the flag it waits for is set. Flags are set only by handlers posted to the io thread,
// which also runs the coroutine: no wake-up is lost between a check and a wait.
struct PendingCommit {
  explicit PendingCommit(const asio::any_io_executor& ex) : wake(ex) {}
  void set(bool PendingCommit::*flag) {
    this->*flag = true;
    wake.cancel();
  }
  asio::steady_timer wake;
  bool room = false; // the sink has room again
  bool done = false; // the batch was committed (or refused): `result` holds the outcome
  Result<store::BatchOutcome> result = store::BatchOutcome{};
};

asio::awaitable<void> wait_for(std::shared_ptr<PendingCommit> pending, bool PendingCommit::*flag) {
  while (!((*pending).*flag)) {
    pending->wake.expires_at(asio::steady_timer::time_point::max());
    boost::system::error_code ec;
    co_await pending->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

} // namespace

asio::awaitable<Result<store::BatchOutcome>> commit(store::BatchSink& sink, store::Batch batch) {
  auto executor = co_await asio::this_coro::executor;
  auto pending = std::make_shared<PendingCommit>(executor);
  batch.on_done = [pending, executor](const Result<store::BatchOutcome>& r) {
    // Runs on the sink's thread: hand the result to the io thread, which owns the timer.
    asio::post(executor, [pending, r] {
      pending->result = r;
      pending->set(&PendingCommit::done);
    });
  };
  // Back-pressure without blocking the io thread: while the sink is full, this caller waits
  // (a connection stops reading) until a commit makes room; other callers go on.
  while (!sink.try_submit(batch, [pending, executor] {
    asio::post(executor, [pending] { pending->set(&PendingCommit::room); });
  })) {
    co_await wait_for(pending, &PendingCommit::room);
    pending->room = false;
  }
  co_await wait_for(pending, &PendingCommit::done);
  co_return pending->result;
}

} // namespace ca::ingest
