// `ingest PATH...`: sends cargo log files (or directories of *.jsonl) to the daemon's NDJSON
// socket, one connection per file, a few files at a time (the daemon decodes one while its
// writer commits another), and prints what was taken and rejected: a progress line on a
// terminal, one summary line in any case.
//
// Exit code 1 if any line was rejected or any file could not be sent.
#include "client/client_context.hpp"
#include "shared/paths.hpp"
#include "shared/safe_text.hpp"
#include "shared/unique_fd.hpp"

#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <thread>

namespace ca::client {

namespace {

struct FileOutcome {
  uint64_t accepted = 0;
  uint64_t rejected = 0;
  uint64_t stored = 0;
  uint64_t duplicates = 0;
  uint64_t diverged = 0;
  uint64_t too_old_runs = 0;
  std::vector<std::string> errors;
};

// Files sent at once: enough to keep the daemon's decoding and its writer both busy.
constexpr size_t k_parallel_files = 4;

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
  UniqueFd in(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (in.get() < 0) {
    return unexpected(ErrorCode::io, "cannot open " + file.string() + ": " + std::strerror(errno));
  }
  UniqueFd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
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
  out.diverged = j.value("diverged", uint64_t{0});
  out.too_old_runs = j.value("too_old_runs", uint64_t{0});
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
      const auto socket = ingest_socket_path((*d)->options().runtime_dir);
      const bool progress = ::isatty(STDERR_FILENO) != 0 && files.size() > 1;
      const auto started = std::chrono::steady_clock::now();
      std::atomic<size_t> next{0};
      std::mutex mutex; // guards total, sent, errors, done
      size_t done = 0;
      auto show_progress = [&] { // with `mutex` held
        double secs =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        double rate = secs > 0 ? static_cast<double>(total.accepted) / secs : 0;
        double eta =
            done == 0 ? 0
                      : secs * static_cast<double>(files.size() - done) / static_cast<double>(done);
        std::fprintf(stderr, "\r\033[Kingest: %zu/%zu files, %.0f lines/s, ETA %.0f s", done,
                     files.size(), rate, eta);
      };
      auto worker = [&] {
        for (size_t i = next++; i < files.size(); i = next++) {
          auto r = send_file(socket, files[i]);
          std::lock_guard lock(mutex);
          ++done;
          if (!r) {
            errors.push_back(r.error().message);
          } else {
            ++sent;
            total.accepted += r->accepted;
            total.rejected += r->rejected;
            total.stored += r->stored;
            total.duplicates += r->duplicates;
            total.diverged += r->diverged;
            total.too_old_runs += r->too_old_runs;
            errors.insert(errors.end(), r->errors.begin(), r->errors.end());
          }
          if (progress) {
            show_progress();
          }
        }
      };
      std::vector<std::thread> workers;
      for (size_t i = 1; i < std::min(k_parallel_files, files.size()); ++i) {
        workers.emplace_back(worker);
      }
      worker();
      for (auto& t : workers) {
        t.join();
      }
      if (progress) {
        std::fputs("\r\033[K", stderr);
      }
    }
    std::cout << "ingested " << sent << " file" << (sent == 1 ? "" : "s") << ": " << total.accepted
              << " lines taken (" << total.stored << " new, " << total.duplicates
              << " already stored" << (total.diverged > 0 ? ", " : "")
              << (total.diverged > 0 ? std::to_string(total.diverged) + " differing from stored"
                                     : "")
              << "), " << total.rejected << " rejected\n";
    if (total.too_old_runs > 0) {
      std::cout << total.too_old_runs << " run" << (total.too_old_runs == 1 ? "" : "s")
                << " started before the daemon's retention window and "
                << (total.too_old_runs == 1 ? "was" : "were")
                << " not stored (the next gc would delete them); to keep older runs, start the "
                   "daemon with a larger --keep-days (0 keeps everything)\n";
    }
    std::stable_sort(errors.begin(), errors.end()); // file order, whatever order they ended in
    for (const auto& e : errors) {
      std::cerr << k_program << ": error: " << safe_text(e) << '\n';
    }
    if (!errors.empty() || total.rejected > 0 || total.diverged > 0) {
      ctx.exit_code = k_exit_error;
    }
  });
}

} // namespace ca::client
