// `ingest PATH...`: sends cargo log files (or directories of *.jsonl) to the daemon's NDJSON
// socket, one connection per file, and prints what was taken and rejected.
//
// Exit code 1 if any line was rejected or any file could not be sent.
#include "client/client_context.hpp"
#include "shared/paths.hpp"
#include "shared/safe_text.hpp"

#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>

namespace ca::client {

namespace {

struct FileOutcome {
  uint64_t accepted = 0;
  uint64_t rejected = 0;
  uint64_t stored = 0;
  uint64_t duplicates = 0;
  std::vector<std::string> errors;
};

class Fd {
public:
  explicit Fd(int fd) : m_fd(fd) {}
  ~Fd() {
    if (m_fd >= 0) {
      ::close(m_fd);
    }
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return m_fd; }

private:
  int m_fd;
};

Result<void> write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) {
        continue;
      }
      return unexpected(ErrorCode::io, std::string("send failed: ") + std::strerror(errno));
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return {};
}

Result<FileOutcome> send_file(const std::filesystem::path& socket_path,
                              const std::filesystem::path& file) {
  Fd in(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (in.get() < 0) {
    return unexpected(ErrorCode::io, "cannot open " + file.string() + ": " + std::strerror(errno));
  }
  Fd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket_path.c_str(), sizeof addr.sun_path - 1);
  if (::connect(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    return unexpected(ErrorCode::unavailable,
                      "cannot connect to " + socket_path.string() + ": " + std::strerror(errno));
  }
  std::vector<char> buf(256 * 1024);
  for (;;) {
    ssize_t n = ::read(in.get(), buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return unexpected(ErrorCode::io,
                        "cannot read " + file.string() + ": " + std::strerror(errno));
    }
    if (n == 0) {
      break;
    }
    auto w = write_all(sock.get(), buf.data(), static_cast<size_t>(n));
    if (!w) {
      break; // the daemon cut us off; its summary line says why
    }
  }
  ::shutdown(sock.get(), SHUT_WR);
  std::string reply;
  for (;;) {
    ssize_t n = ::read(sock.get(), buf.data(), buf.size());
    if (n <= 0) {
      break;
    }
    reply.append(buf.data(), static_cast<size_t>(n));
  }
  auto j = nlohmann::json::parse(reply, nullptr, false);
  if (!j.is_object()) {
    return unexpected(ErrorCode::unavailable,
                      "the daemon closed the connection without a summary for " + file.string());
  }
  FileOutcome out;
  out.accepted = j.value("accepted", uint64_t{0});
  out.rejected = j.value("rejected", uint64_t{0});
  out.stored = j.value("stored", uint64_t{0});
  out.duplicates = j.value("duplicates", uint64_t{0});
  for (const auto& e : j.value("errors", nlohmann::json::array())) {
    std::string msg = e.get<std::string>();
    // The daemon names the connection ("socket#7:12: ..."); the user knows the file.
    if (msg.rfind("socket#", 0) == 0) {
      msg = file.string() + msg.substr(msg.find(':'));
    }
    out.errors.push_back(std::move(msg));
  }
  if (j.value("disconnected", false)) {
    out.errors.push_back(file.string() + ": the daemon stopped reading it after too many bad "
                                         "lines in a row (is it a cargo build-analysis log?)");
  }
  return out;
}

std::vector<std::filesystem::path> expand(const std::vector<std::string>& paths,
                                          std::vector<std::string>& errors) {
  std::vector<std::filesystem::path> files;
  for (const auto& p : paths) {
    std::error_code ec;
    if (std::filesystem::is_directory(p, ec)) {
      std::vector<std::filesystem::path> in_dir;
      for (const auto& entry : std::filesystem::directory_iterator(p, ec)) {
        if (entry.path().extension() == ".jsonl" && entry.is_regular_file(ec)) {
          in_dir.push_back(entry.path());
        }
      }
      std::sort(in_dir.begin(), in_dir.end());
      if (in_dir.empty()) {
        errors.push_back(p + ": no .jsonl files in this directory");
      }
      files.insert(files.end(), in_dir.begin(), in_dir.end());
    } else if (std::filesystem::exists(p, ec)) {
      files.emplace_back(p);
    } else {
      errors.push_back(p + ": No such file or directory");
    }
  }
  return files;
}

} // namespace

void add_ingest_command(CLI::App& app, ClientContext& ctx) {
  auto paths = std::make_shared<std::vector<std::string>>();
  auto* cmd =
      app.add_subcommand("ingest", "send cargo log files (or dirs of *.jsonl) to the daemon");
  cmd->add_option("paths", *paths, "files or directories")->required();
  cmd->callback([&ctx, paths] {
    std::vector<std::string> errors;
    auto files = expand(*paths, errors);
    FileOutcome total;
    size_t sent = 0;
    if (!files.empty()) {
      auto d = ctx.daemon();
      if (!d) {
        return ctx.fail(d.error());
      }
      auto socket = ingest_socket_path((*d)->options().runtime_dir);
      for (const auto& f : files) {
        auto r = send_file(socket, f);
        if (!r) {
          errors.push_back(r.error().message);
          continue;
        }
        ++sent;
        total.accepted += r->accepted;
        total.rejected += r->rejected;
        total.stored += r->stored;
        total.duplicates += r->duplicates;
        errors.insert(errors.end(), r->errors.begin(), r->errors.end());
      }
    }
    std::cout << "ingested " << sent << " file" << (sent == 1 ? "" : "s") << ": " << total.accepted
              << " lines taken (" << total.stored << " new, " << total.duplicates
              << " already stored), " << total.rejected << " rejected\n";
    for (const auto& e : errors) {
      std::cerr << k_program << ": error: " << safe_text(e) << '\n';
    }
    if (!errors.empty() || total.rejected > 0) {
      ctx.exit_code = k_exit_error;
    }
  });
}

} // namespace ca::client
