// The unary calls' worker pool: one slow call never holds up the others, every call is run.
#include "daemon/server/worker_pool.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <stdexcept>
#include <thread>

namespace ca::server {
namespace {

TEST(WorkerPool, ATaskThatWaitsDoesNotHoldUpTheNext) {
  WorkerPool pool(2);
  std::promise<void> gate;
  auto gate_open = gate.get_future().share();
  std::promise<void> second_ran;
  pool.post([gate_open] { gate_open.wait(); }); // a Collect waiting for its VACUUM
  pool.post([&] { second_ran.set_value(); });   // a status call
  EXPECT_EQ(second_ran.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
  gate.set_value();
}

TEST(WorkerPool, RunsTasksOffTheCallersThread) {
  WorkerPool pool(1);
  std::promise<std::thread::id> ran_on;
  pool.post([&] { ran_on.set_value(std::this_thread::get_id()); });
  EXPECT_NE(ran_on.get_future().get(), std::this_thread::get_id());
}

TEST(WorkerPool, StopRunsWhatIsQueuedAndLaterTasksRunAtOnce) {
  std::atomic<int> ran{0};
  WorkerPool pool(1);
  for (int i = 0; i < 100; ++i) {
    pool.post([&] { ++ran; });
  }
  pool.stop();
  EXPECT_EQ(ran.load(), 100);
  std::thread::id ran_on;
  pool.post([&] { ran_on = std::this_thread::get_id(); }); // a call is always finished
  EXPECT_EQ(ran_on, std::this_thread::get_id());
}

TEST(WorkerPool, ATaskThatThrowsDoesNotStopTheWorker) {
  WorkerPool pool(1);
  pool.post([] { throw std::runtime_error("a bug"); });
  std::promise<void> next;
  pool.post([&] { next.set_value(); });
  EXPECT_EQ(next.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
}

} // namespace
} // namespace ca::server
