#include "client/daemon_connection.hpp"

#include "shared/paths.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
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

std::unique_ptr<grpc::ClientContext> DaemonConnection::context(std::chrono::seconds deadline) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + deadline);
  return ctx;
}

bool DaemonConnection::ping(std::chrono::milliseconds deadline) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + deadline);
  v1::StatusRequest req;
  v1::StatusResponse resp;
  return m_admin->Status(&ctx, req, &resp).ok();
}

Result<void> DaemonConnection::connect() {
  auto socket = grpc_socket_path(m_options.runtime_dir);
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, 256 * 1024 * 1024);
  m_channel = grpc::CreateCustomChannel(grpc_address(m_options.runtime_dir),
                                        grpc::InsecureChannelCredentials(), args);
  m_reports = v1::Reports::NewStub(m_channel);
  m_admin = v1::Admin::NewStub(m_channel);
  m_ingest = v1::Ingest::NewStub(m_channel);
  m_live = v1::Live::NewStub(m_channel);
  bool exists = std::filesystem::exists(socket);
  // Connecting the channel is work the first call needs anyway; a Status round trip here
  // would add a whole request to every command.
  if (exists && m_channel->WaitForConnected(std::chrono::system_clock::now() +
                                            std::chrono::milliseconds(2000))) {
    return {};
  }
  if (!m_options.spawn) {
    return unexpected(ErrorCode::unavailable,
                      "cannot connect to " + socket.string() + ": " +
                          (exists ? "the daemon does not answer" : "No such file or directory") +
                          " (start it with: cargo-analysisd, or drop --no-spawn / "
                          "CARGO_ANALYSIS_NO_SPAWN)");
  }
  CA_TRY(spawn_daemon());
  auto deadline = std::chrono::steady_clock::now() + m_options.ready_timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (std::filesystem::exists(socket) && ping(std::chrono::milliseconds(500))) {
      return {};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return unexpected(ErrorCode::unavailable,
                    "started cargo-analysisd but it did not answer on " + socket.string() +
                        " within " + std::to_string(m_options.ready_timeout.count() / 1000) +
                        "s (see its log in the state dir: daemon.log)");
}

Result<void> DaemonConnection::spawn_daemon() {
  std::vector<std::string> args = {daemon_binary(), "--runtime-dir",
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
