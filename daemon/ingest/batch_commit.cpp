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

asio::awaitable<Result<store::BatchOutcome>> commit(store::BatchSink& sink, store::Batch batch) {
  struct Pending {
    explicit Pending(asio::any_io_executor ex) : timer(ex) {}
    asio::steady_timer timer;
    Result<store::BatchOutcome> result = store::BatchOutcome{};
  };
  auto executor = co_await asio::this_coro::executor;
  auto pending = std::make_shared<Pending>(executor);
  pending->timer.expires_at(asio::steady_timer::time_point::max());
  batch.on_done = [pending, executor](const Result<store::BatchOutcome>& r) {
    // Runs on the sink's thread: hand the result to the io thread, which owns the timer.
    asio::post(executor, [pending, r] {
      pending->result = r;
      pending->timer.cancel();
    });
  };
  sink.submit(std::move(batch));
  boost::system::error_code ec;
  co_await pending->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  co_return pending->result;
}

} // namespace ca::ingest
