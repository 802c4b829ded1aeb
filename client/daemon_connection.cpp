#include "client/daemon_connection.hpp"

#include "cargo_analysis/v1/local.pb.h"
#include "shared/local_methods.hpp"
#include "shared/paths.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <thread>

namespace ca::client {

namespace v1 = cargo_analysis::v1;

Error from_status(const grpc::Status& status) {
  ErrorCode code = ErrorCode::internal;
  switch (status.error_code()) {
  case grpc::StatusCode::NOT_FOUND:
    code = ErrorCode::not_found;
    break;
  case grpc::StatusCode::INVALID_ARGUMENT:
    code = ErrorCode::invalid_argument;
    break;
  case grpc::StatusCode::UNAVAILABLE:
  case grpc::StatusCode::DEADLINE_EXCEEDED:
    code = ErrorCode::unavailable;
    break;
  case grpc::StatusCode::FAILED_PRECONDITION:
    code = ErrorCode::failed_precondition;
    break;
  case grpc::StatusCode::RESOURCE_EXHAUSTED:
    code = ErrorCode::resource_exhausted;
    break;
  case grpc::StatusCode::DATA_LOSS:
    code = ErrorCode::damaged;
    break;
  default:
    break;
  }
  return Error{code, status.error_message()};
}

std::string daemon_binary() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n > 0) {
    auto sibling = std::filesystem::path(std::string(buf, static_cast<size_t>(n))).parent_path() /
                   "cargo-analysisd";
    if (::access(sibling.c_str(), X_OK) == 0) {
      return sibling.string();
    }
  }
  return "cargo-analysisd";
}

DaemonConnection::~DaemonConnection() {
  close_socket();
}

void DaemonConnection::close_socket() {
  if (m_fd >= 0) {
    ::close(m_fd);
    m_fd = -1;
  }
}

std::unique_ptr<grpc::ClientContext> DaemonConnection::context(std::chrono::seconds deadline) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + deadline);
  return ctx;
}

v1::Live::Stub& DaemonConnection::live() {
  if (!m_live) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, 256 * 1024 * 1024);
    m_channel = grpc::CreateCustomChannel(grpc_address(m_options.runtime_dir),
                                          grpc::InsecureChannelCredentials(), args);
    m_live = v1::Live::NewStub(m_channel);
  }
  return *m_live;
}

Result<void> DaemonConnection::open_socket() {
  close_socket();
  auto path = client_socket_path(m_options.runtime_dir);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.native().size() >= sizeof addr.sun_path) {
    return unexpected(ErrorCode::invalid_argument,
                      "the runtime dir's path is too long for a socket: " + path.string());
  }
  std::memcpy(addr.sun_path, path.c_str(), path.native().size() + 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return unexpected(ErrorCode::io,
                      std::string("cannot create a socket: ") + std::strerror(errno));
  }
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    int err = errno;
    ::close(fd);
    return unexpected(ErrorCode::unavailable,
                      "cannot connect to " + path.string() + ": " + std::strerror(err));
  }
  m_fd = fd;
  return {};
}

namespace {

bool write_all(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return false;
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

// False with errno set on failure; an early EOF (the daemon closed the connection) is
// ECONNRESET.
bool read_all(int fd, char* data, size_t size) {
  while (size > 0) {
    ssize_t n = ::recv(fd, data, size, 0);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n == 0) {
      errno = ECONNRESET;
    }
    if (n <= 0) {
      return false;
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

} // namespace

Result<std::string> DaemonConnection::call_raw(std::string_view method,
                                               const std::string& request,
                                               std::chrono::milliseconds timeout) {
  if (m_fd < 0) {
    CA_TRY(open_socket());
  }
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setsockopt(m_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(m_fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);

  v1::LocalCall call;
  call.set_method(std::string(method));
  call.set_request(request);
  std::string frame(4, '\0');
  call.AppendToString(&frame);
  auto n = static_cast<uint32_t>(frame.size() - 4);
  for (int i = 0; i < 4; ++i) {
    frame[static_cast<size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xff);
  }
  auto lost = [&](const char* what) {
    int err = errno;
    close_socket();
    std::string why = err == EAGAIN || err == EWOULDBLOCK
                          ? "no answer within " + std::to_string(timeout.count()) + " ms"
                          : std::strerror(err);
    return unexpected(ErrorCode::unavailable, std::string(what) + " cargo-analysisd failed (" +
                                                  std::string(method) + "): " + why);
  };
  if (!write_all(m_fd, frame.data(), frame.size())) {
    return lost("sending to");
  }
  unsigned char header[4];
  if (!read_all(m_fd, reinterpret_cast<char*>(header), sizeof header)) {
    return lost("reading from");
  }
  uint32_t size = uint32_t{header[0]} | uint32_t{header[1]} << 8 | uint32_t{header[2]} << 16 |
                  uint32_t{header[3]} << 24;
  std::string body(size, '\0');
  if (!read_all(m_fd, body.data(), body.size())) {
    return lost("reading from");
  }
  v1::LocalReply reply;
  if (!reply.ParseFromString(body)) {
    close_socket();
    return unexpected(ErrorCode::internal,
                      "cannot parse the daemon's reply to " + std::string(method));
  }
  if (reply.code() != 0) {
    return unexpected(
        from_status(grpc::Status(static_cast<grpc::StatusCode>(reply.code()), reply.message())));
  }
  return std::move(*reply.mutable_response());
}

bool DaemonConnection::ping(std::chrono::milliseconds timeout) {
  return call<v1::StatusResponse>(methods::k_status, v1::StatusRequest(), timeout).has_value();
}

Result<void> DaemonConnection::connect() {
  auto opened = open_socket();
  if (opened) {
    return m_options.check_version ? check_version() : Result<void>{};
  }
  if (!m_options.spawn) {
    return unexpected(ErrorCode::unavailable,
                      opened.error().message +
                          " (start it with: cargo-analysisd, or drop --no-spawn / "
                          "CARGO_ANALYSIS_NO_SPAWN)");
  }
  return spawn_and_wait();
}

Result<void> DaemonConnection::check_version() {
  v1::StatusRequest req;
  req.set_client_version(m_options.version);
  req.set_brief(true);
  auto st = call<v1::StatusResponse>(methods::k_status, req, std::chrono::seconds(10));
  if (!st) {
    return {}; // the command's own call will say what is wrong
  }
  m_version.daemon_version = st->version();
  m_version.mismatch = st->version() != m_options.version;
  if (!m_version.mismatch || !st->started_by_client() || !m_options.spawn) {
    return {};
  }
  CA_TRY(restart(st->pid()));
  m_version.restarted = true;
  return {};
}

namespace {

// Whether `pid` has exited: no /proc entry, or a zombie not yet reaped by its parent (the
// daemon is reparented after our double fork; some containers' init reaps late or never).
bool process_gone(uint32_t pid) {
  std::FILE* f = std::fopen(("/proc/" + std::to_string(pid) + "/stat").c_str(), "r");
  if (f == nullptr) {
    return true;
  }
  char buf[512] = {};
  size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  const char* paren = std::strrchr(buf, ')'); // the command name may hold spaces
  return n == 0 || paren == nullptr || paren[1] == '\0' || paren[2] == 'Z' || paren[2] == 'X';
}

} // namespace

Result<void> DaemonConnection::restart(uint32_t pid) {
  // Shutdown commits what the daemon received, then it exits and releases its lock; only then
  // can a new daemon take the lock, so wait for the process itself to be gone.
  (void)call<v1::ShutdownResponse>(methods::k_shutdown, v1::ShutdownRequest(),
                                   std::chrono::seconds(10));
  close_socket();
  auto deadline = std::chrono::steady_clock::now() + m_options.ready_timeout;
  while (!process_gone(pid)) {
    if (std::chrono::steady_clock::now() >= deadline) {
      return unexpected(ErrorCode::unavailable,
                        "cargo-analysisd " + m_version.daemon_version + " (pid " +
                            std::to_string(pid) + ") did not stop within " +
                            std::to_string(m_options.ready_timeout.count() / 1000) +
                            "s to be replaced by version " + m_options.version);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return spawn_and_wait();
}

Result<void> DaemonConnection::spawn_and_wait() {
  auto socket = client_socket_path(m_options.runtime_dir);
  auto spawn_error = spawn_error_path(m_options.runtime_dir);
  std::error_code ignored;
  std::filesystem::remove(spawn_error, ignored); // a stale one from an earlier try
  CA_TRY(spawn_daemon());
  auto deadline = std::chrono::steady_clock::now() + m_options.ready_timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (open_socket() && ping(std::chrono::milliseconds(500))) {
      return {};
    }
    // A daemon that cannot start says why in that file (it has no terminal): no need to wait.
    if (std::ifstream in(spawn_error); in) {
      std::string why((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      while (!why.empty() && why.back() == '\n') {
        why.pop_back();
      }
      std::filesystem::remove(spawn_error, ignored);
      return unexpected(ErrorCode::unavailable, "cargo-analysisd could not start: " + why);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return unexpected(ErrorCode::unavailable,
                    "started cargo-analysisd but it did not answer on " + socket.string() +
                        " within " + std::to_string(m_options.ready_timeout.count() / 1000) +
                        "s (see its log in the state dir: daemon.log)");
}

Result<void> DaemonConnection::spawn_daemon() {
  // --spawned-by-client: a client of another version may restart this daemon (check_version).
  std::vector<std::string> args = {daemon_binary(), "--spawned-by-client", "--runtime-dir",
                                   m_options.runtime_dir.string()};
  if (!m_options.state_dir.empty()) {
    args.push_back("--state-dir");
    args.push_back(m_options.state_dir);
  }
  // Double fork: the daemon is re-parented to init (or the subreaper) and outlives us; setsid
  // detaches it from our terminal so ^C on the client never reaches it.
  pid_t child = ::fork();
  if (child < 0) {
    return unexpected(ErrorCode::io, std::string("cannot fork: ") + std::strerror(errno));
  }
  if (child == 0) {
    ::setsid();
    if (::fork() != 0) {
      ::_exit(0);
    }
    int devnull = ::open("/dev/null", O_RDWR);
    if (devnull >= 0) {
      ::dup2(devnull, 0);
      ::dup2(devnull, 1);
      ::dup2(devnull, 2);
    }
    std::vector<char*> argv;
    for (auto& a : args) {
      argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    ::execvp(argv[0], argv.data());
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  return {};
}

} // namespace ca::client
