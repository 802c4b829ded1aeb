// The log watcher's news from the kernel: one inotify instance, the watches on the configured log
// dirs (DirWatchSet), and the loop that reads inotify's events and sorts them into what the
// watcher acts on:
// - a file named like a log (`*.jsonl`) in a log dir was created, written, closed, moved in,
//   deleted or moved away: `file_event(path, mask)`, with inotify's IN_* bits;
// - a log dir to scan: one that appeared, came back or now resolves elsewhere, and every watched
//   one after the kernel dropped events (IN_Q_OVERFLOW, also reported to `overflow()` first);
// - a watched dir (or one on the way to it) created, deleted, moved or unmounted: the watches
//   are brought in line with the file system by itself.
//
// Runs on the watcher's io_context; not thread-safe.
#pragma once

#include "daemon/ingest/dir_watch_set.hpp"
#include "shared/error.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

namespace ca::ingest {

class InotifySource {
public:
  struct Handlers {
    std::function<void(size_t dir)> scan;
    std::function<void(const std::filesystem::path& path, uint32_t mask)> file_event;
    std::function<void()> overflow;
  };

  InotifySource(boost::asio::io_context& io, std::vector<std::filesystem::path> dirs);

  // Creates the inotify instance. Returns an io error if it cannot (EMFILE:
  // fs.inotify.max_user_instances), with the setting to raise in the message.
  Result<void> open();

  // Sets up the watches (a missing dir is watched for through its nearest ancestor) and returns
  // the dirs watched now, to be scanned once. Call once, after open().
  std::vector<size_t> watch();

  // Reads events until close() (or a read error, logged) and hands them to `handlers`.
  boost::asio::awaitable<void> read(Handlers handlers);

  // Ends read(). Idempotent.
  void close();

  const std::filesystem::path& dir(size_t i) const { return m_watches->dir(i); }

private:
  void handle(int wd, uint32_t mask, std::string_view name, const Handlers& handlers);
  void refresh(const Handlers& handlers);

  boost::asio::posix::stream_descriptor m_inotify;
  std::vector<std::filesystem::path> m_dirs;
  std::unique_ptr<DirWatchSet> m_watches;
  bool m_closed = false;
};

} // namespace ca::ingest
