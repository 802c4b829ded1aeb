// The client's local call socket (`<runtime>/client.sock`, proto/cargo_analysis/v1/local.proto)
// against the real daemon, spoken by hand: the same answers as gRPC, byte for byte; the same
// status codes; and a client that sends garbage loses its connection, never the daemon.
#include "cargo_analysis/v1/local.pb.h"
#include "shared/local_methods.hpp"
#include "tests/support/grpc_client.hpp"
#include "tests/support/ndjson.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <optional>

namespace ca::test {
namespace {

namespace v1 = cargo_analysis::v1;
using namespace std::chrono_literals;

// One connection to client.sock with a receive timeout, framing by hand.
class RawConnection {
public:
  explicit RawConnection(const std::filesystem::path& path) {
    m_fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    EXPECT_EQ(::connect(m_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0)
        << path << ": " << std::strerror(errno);
    timeval tv{10, 0};
    ::setsockopt(m_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~RawConnection() { ::close(m_fd); }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  void send_bytes(const std::string& bytes) {
    ASSERT_EQ(::send(m_fd, bytes.data(), bytes.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(bytes.size()));
  }
  static std::string frame(const std::string& body, std::optional<uint32_t> size = {}) {
    uint32_t n = size.value_or(static_cast<uint32_t>(body.size()));
    std::string out;
    for (int i = 0; i < 4; ++i) {
      out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
    }
    return out + body;
  }
  // The next reply, or nullopt if the daemon closed the connection.
  std::optional<v1::LocalReply> reply() {
    unsigned char h[4];
    if (!read_exact(reinterpret_cast<char*>(h), 4)) {
      return std::nullopt;
    }
    uint32_t n = uint32_t{h[0]} | uint32_t{h[1]} << 8 | uint32_t{h[2]} << 16 | uint32_t{h[3]} << 24;
    std::string body(n, '\0');
    if (!read_exact(body.data(), n)) {
      return std::nullopt;
    }
    v1::LocalReply r;
    EXPECT_TRUE(r.ParseFromString(body));
    return r;
  }
  std::optional<v1::LocalReply> call(const std::string& method,
                                     const google::protobuf::Message& request) {
    v1::LocalCall c;
    c.set_method(method);
    c.set_request(request.SerializeAsString());
    send_bytes(frame(c.SerializeAsString()));
    return reply();
  }

private:
  bool read_exact(char* p, size_t n) {
    while (n > 0) {
      ssize_t r = ::recv(m_fd, p, n, 0);
      if (r <= 0) {
        return false;
      }
      p += r;
      n -= static_cast<size_t>(r);
    }
    return true;
  }
  int m_fd = -1;
};

class LocalSocket : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_TRUE(daemon.start());
    std::string data;
    for (const auto& line : corpus_c_lines()) {
      data += line + "\n";
    }
    auto summary = send_ndjson(daemon.runtime_dir() / "ingest.sock", data);
    ASSERT_EQ(summary["rejected"], 0) << summary.dump();
  }
  std::filesystem::path socket() const { return daemon.runtime_dir() / "client.sock"; }

  TempDir dir;
  DaemonProcess daemon{dir / "d", {"--no-watch"}};
};

// The same bytes as gRPC for rebuilds; the same message for timings, whose answer the client
// socket splices from the stored report's bytes and the run's summary (fields in another order:
// QueryEngine::get_timings_serialized()).
TEST_F(LocalSocket, AnswersAsGrpcDoes) {
  v1::GetRebuildsRequest rebuilds;
  rebuilds.set_id(k_corpus_c_run);
  v1::GetTimingsRequest timings;
  timings.set_id(k_corpus_c_run);
  v1::ListSessionsRequest sessions;
  sessions.set_all(true);

  auto stub = v1::Reports::NewStub(daemon_channel(daemon.runtime_dir()));
  auto grpc_bytes = [&](auto rpc, const auto& req, auto resp) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 10s);
    auto st = ((*stub).*rpc)(&ctx, req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp.SerializeAsString();
  };

  RawConnection c(socket());
  // Several calls on one connection.
  auto r1 = c.call(methods::k_get_rebuilds, rebuilds);
  ASSERT_TRUE(r1.has_value());
  EXPECT_EQ(r1->code(), 0) << r1->message();
  EXPECT_EQ(r1->response(),
            grpc_bytes(&v1::Reports::Stub::GetRebuilds, rebuilds, v1::GetRebuildsResponse()));
  auto r2 = c.call(methods::k_get_timings, timings);
  ASSERT_TRUE(r2.has_value());
  v1::GetTimingsResponse local;
  ASSERT_TRUE(local.ParseFromString(r2->response()));
  v1::GetTimingsResponse remote;
  ASSERT_TRUE(remote.ParseFromString(
      grpc_bytes(&v1::Reports::Stub::GetTimings, timings, v1::GetTimingsResponse())));
  ASSERT_EQ(local.runs_size(), 1);
  EXPECT_EQ(local.runs(0).units_size(), 242);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(local, remote));
  auto r3 = c.call(methods::k_list_sessions, sessions);
  ASSERT_TRUE(r3.has_value());
  v1::ListSessionsResponse listed;
  ASSERT_TRUE(listed.ParseFromString(r3->response()));
  ASSERT_EQ(listed.sessions_size(), 1);
  EXPECT_EQ(listed.sessions(0).session_id(), k_corpus_c_run);
}

TEST_F(LocalSocket, ErrorsCarryGrpcStatusCodes) {
  RawConnection c(socket());
  v1::GetRebuildsRequest unknown;
  unknown.set_id("20990101T000000000Z-0000000000000000");
  auto r = c.call(methods::k_get_rebuilds, unknown);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->code(), static_cast<int>(grpc::StatusCode::NOT_FOUND));
  EXPECT_NE(r->message().find("not found"), std::string::npos) << r->message();
  EXPECT_TRUE(r->response().empty());

  v1::GetRebuildsRequest malformed;
  malformed.set_id("not-a-run-id");
  r = c.call(methods::k_get_rebuilds, malformed);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->code(), static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));

  r = c.call("/cargo_analysis.v1.Reports/NoSuchMethod", v1::GetRebuildsRequest());
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->code(), static_cast<int>(grpc::StatusCode::UNIMPLEMENTED));
  EXPECT_NE(r->message().find("NoSuchMethod"), std::string::npos);

  // A request body that is not the method's message.
  v1::LocalCall bad;
  bad.set_method(methods::k_get_rebuilds);
  bad.set_request("\xff\xff\xff");
  c.send_bytes(RawConnection::frame(bad.SerializeAsString()));
  r = c.reply();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->code(), static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
}

TEST_F(LocalSocket, GarbageEndsThatConnectionOnlyAndStoredDataStays) {
  {
    RawConnection c(socket());
    c.send_bytes(RawConnection::frame("this is not a LocalCall \xff\xff"));
    EXPECT_FALSE(c.reply().has_value())
        << "a frame that is not a LocalCall must end the connection";
  }
  {
    RawConnection c(socket());
    c.send_bytes(RawConnection::frame("", 0xfffffff0u)); // announces 4 GiB
    EXPECT_FALSE(c.reply().has_value()) << "an oversized frame must end the connection";
  }
  {
    RawConnection c(socket());
    c.send_bytes("\x01\x02"); // half a header, then gone
  }
  // The daemon goes on, with the data it had.
  auto r = daemon.client({"report", "rebuilds", "--id", k_corpus_c_run});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Session: " + std::string(k_corpus_c_run)), std::string::npos) << r.out;
}

} // namespace
} // namespace ca::test
