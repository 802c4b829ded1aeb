// The daemon's sockets are bound one way (daemon/runtime/private_socket.hpp): private to the user
// before anyone can connect, a stale socket file replaced, and errors that name the path.
#include "daemon/runtime/private_socket.hpp"
#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

namespace ca::runtime {
namespace {

bool connects(const std::filesystem::path& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

TEST(PrivateSocket, ListensOnASocketOnlyItsUserMayUse) {
  test::TempDir dir;
  const auto path = dir / "ingest.sock";
  auto fd = listen_private(path);
  ASSERT_TRUE(fd) << fd.error().message;
  struct stat st {};
  ASSERT_EQ(::lstat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_TRUE(connects(path));
  ::close(*fd);
}

TEST(PrivateSocket, AStaleSocketOfADeadDaemonIsReplaced) {
  test::TempDir dir;
  const auto path = dir / "grpc.sock";
  auto first = listen_private(path);
  ASSERT_TRUE(first);
  ::close(*first); // the file stays, nobody listens: a dead daemon's
  EXPECT_FALSE(connects(path));
  auto second = listen_private(path);
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_TRUE(connects(path));
  ::close(*second);
}

TEST(PrivateSocket, ErrorsNameThePath) {
  test::TempDir dir;
  const auto long_path = dir / std::string(120, 'x');
  auto too_long = listen_private(long_path);
  ASSERT_FALSE(too_long);
  EXPECT_NE(too_long.error().message.find("path too long"), std::string::npos);
  EXPECT_NE(too_long.error().message.find(std::string(120, 'x')), std::string::npos);

  const auto missing = dir / "no-such-dir" / "client.sock";
  boost::asio::io_context io;
  boost::asio::local::stream_protocol::acceptor acceptor(io);
  auto r = listen_private(acceptor, missing);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find(missing.string()), std::string::npos) << r.error().message;
  EXPECT_FALSE(acceptor.is_open());
}

} // namespace
} // namespace ca::runtime
