// The NDJSON ingest socket's limits, on a real Unix socket with a real Writer: the connection
// cap and the timeout of a partial line left unfinished (both set small here).
#include "daemon/ingest/socket_listener.hpp"
#include "daemon/store/database.hpp"
#include "daemon/store/migrations.hpp"
#include "daemon/store/writer.hpp"
#include "tests/support/temp_dir.hpp"

#include <boost/asio/post.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <future>
#include <thread>

namespace ca::ingest {
namespace {

using Clock = std::chrono::steady_clock;

int connect_to(const std::filesystem::path& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Reads until EOF or `timeout` (SO_RCVTIMEO); what was read.
std::string read_all(int fd, std::chrono::seconds timeout) {
  timeval tv{static_cast<time_t>(timeout.count()), 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) {
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

class SocketListenerLimits : public ::testing::Test {
protected:
  void SetUp() override {
    auto db = store::Database::open(m_dir / "db.sqlite3", store::Database::Mode::read_write_create);
    ASSERT_TRUE(db) << db.error().message;
    ASSERT_TRUE(store::migrate(**db));
    m_writer = std::make_unique<store::Writer>(std::move(*db));
    SocketLimits limits;
    limits.max_connections = 2;
    limits.partial_line_timeout = std::chrono::milliseconds(300);
    m_listener =
        std::make_unique<SocketListener>(m_io, m_socket, *m_writer, m_stats, m_activity, limits);
    ASSERT_TRUE(m_listener->start());
    m_thread = std::thread([this] { m_io.run(); });
  }
  void TearDown() override {
    m_listener->stop();
    m_io.stop();
    m_thread.join();
    m_writer->stop();
  }

  test::TempDir m_dir;
  std::filesystem::path m_socket = m_dir / "ingest.sock";
  boost::asio::io_context m_io;
  std::unique_ptr<store::Writer> m_writer;
  SourceStats m_stats;
  runtime::ActivityMonitor m_activity;
  std::unique_ptr<SocketListener> m_listener;
  std::thread m_thread;
};

TEST_F(SocketListenerLimits, PartialLineLeftUnfinishedClosesTheConnection) {
  int fd = connect_to(m_socket);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, "{\"run_id\":", 10), 10);
  const auto t0 = Clock::now();
  const std::string reply = read_all(fd, std::chrono::seconds(10)); // we never shut down
  const auto took = Clock::now() - t0;
  ::close(fd);
  auto j = nlohmann::json::parse(reply, nullptr, false);
  ASSERT_TRUE(j.is_object()) << reply;
  EXPECT_EQ(j.value("rejected", 0), 1);
  ASSERT_EQ(j["errors"].size(), 1u);
  EXPECT_NE(j["errors"][0].get<std::string>().find("line left unfinished for 300 ms"),
            std::string::npos)
      << reply;
  EXPECT_LT(took, std::chrono::seconds(5));
}

TEST_F(SocketListenerLimits, ConnectionsOverTheCapAreClosedAtOnce) {
  int a = connect_to(m_socket);
  int b = connect_to(m_socket);
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  // A connection that is served answers once it shuts down its side; one over the cap is
  // closed with no answer. Connections are accepted in order: a and b hold the two places.
  int c = connect_to(m_socket);
  ASSERT_GE(c, 0);
  ::shutdown(c, SHUT_WR);
  EXPECT_EQ(read_all(c, std::chrono::seconds(10)), "");
  ::close(c);
  ::shutdown(a, SHUT_WR);
  EXPECT_NE(read_all(a, std::chrono::seconds(10)).find("\"accepted\":0"), std::string::npos);
  ::close(a);
  ::close(b);
}

// A full writer queue on the io thread: the connection that finds it full waits without
// blocking the thread, so every other connection and timer goes on; its lines are stored once
// the writer makes room.
class SocketListenerBackPressure : public ::testing::Test {
protected:
  void SetUp() override {
    auto db = store::Database::open(m_dir / "db.sqlite3", store::Database::Mode::read_write_create);
    ASSERT_TRUE(db) << db.error().message;
    ASSERT_TRUE(store::migrate(**db));
    // One event fills the queue.
    m_writer = std::make_unique<store::Writer>(std::move(*db), store::Writer::Options{1, 50000});
    m_listener = std::make_unique<SocketListener>(m_io, m_socket, *m_writer, m_stats, m_activity);
    ASSERT_TRUE(m_listener->start());
    m_thread = std::thread([this] { m_io.run(); });
  }
  void TearDown() override {
    m_listener->stop();
    m_io.stop();
    m_thread.join();
    m_writer->stop();
  }

  // Holds the writer thread in a maintenance task until the returned promise is set.
  std::promise<void> hold_writer() {
    std::promise<void> gate;
    (void)m_writer->run_exclusive<int>(
        [f = gate.get_future().share()](store::Database&) -> Result<int> {
          f.wait();
          return 0;
        });
    return gate;
  }

  // Connects, sends the fixture log and shuts down its side; returns the connection.
  int send_log(const char* fixture) {
    int fd = connect_to(m_socket);
    EXPECT_GE(fd, 0);
    const std::string log = test::read_file(test::fixture_path(fixture));
    EXPECT_EQ(::write(fd, log.data(), log.size()), static_cast<ssize_t>(log.size()));
    ::shutdown(fd, SHUT_WR);
    return fd;
  }

  test::TempDir m_dir;
  std::filesystem::path m_socket = m_dir / "ingest.sock";
  boost::asio::io_context m_io;
  std::unique_ptr<store::Writer> m_writer;
  SourceStats m_stats;
  runtime::ActivityMonitor m_activity;
  std::unique_ptr<SocketListener> m_listener;
  std::thread m_thread;
};

TEST_F(SocketListenerBackPressure, AFullWriterQueueNeverBlocksTheIoThread) {
  auto gate = hold_writer();
  int first = send_log("corpus/A/logs/20261123T062716161Z-28b99174ef2c2ad6.jsonl"); // fills it
  int second = send_log("corpus/A/logs/20261123T062733765Z-28b99174ef2c2ad6.jsonl");
  // Wait (bounded) until a connection found the queue full and waits for room.
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  while (m_writer->waiting_for_room() == 0) {
    ASSERT_LT(Clock::now(), deadline) << "no connection ever found the queue full";
    std::this_thread::yield();
  }
  // The io thread still runs handlers (with a blocking submit it would be stuck in it).
  std::promise<void> ran;
  boost::asio::post(m_io, [&] { ran.set_value(); });
  EXPECT_EQ(ran.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);

  gate.set_value();
  for (int fd : {first, second}) {
    auto j = nlohmann::json::parse(read_all(fd, std::chrono::seconds(30)), nullptr, false);
    ::close(fd);
    ASSERT_TRUE(j.is_object());
    EXPECT_GT(j.value("stored", 0), 0) << j.dump();
    EXPECT_EQ(j.value("stored", 0), j.value("accepted", -1)) << j.dump();
  }
  EXPECT_EQ(m_writer->waiting_for_room(), 0u);
}

} // namespace
} // namespace ca::ingest
