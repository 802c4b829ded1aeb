#include "daemon/ingest/inotify_source.hpp"

#include "daemon/ingest/log_file.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>
#include <sys/inotify.h>

#include <cerrno>
#include <cstring>

namespace ca::ingest {

namespace asio = boost::asio;

namespace {

// Calls `fn(wd, mask, name)` for each event in what one read(2) of an inotify fd returned.
// (Not inline in the coroutine: a struct with a flexible array member cannot live in its frame.)
template <class Fn> void for_each_event(const char* buf, size_t n, Fn&& fn) {
  for (size_t off = 0; off + sizeof(inotify_event) <= n;) {
    inotify_event ev{};
    std::memcpy(&ev, buf + off, sizeof ev);
    std::string_view name;
    if (ev.len > 0) {
      const char* p = buf + off + sizeof(inotify_event);
      name = std::string_view(p, ::strnlen(p, ev.len));
    }
    fn(ev.wd, ev.mask, name);
    off += sizeof(inotify_event) + ev.len;
  }
}

} // namespace

InotifySource::InotifySource(asio::io_context& io, std::vector<std::filesystem::path> dirs)
    : m_inotify(io), m_dirs(std::move(dirs)) {}

Result<void> InotifySource::open() {
  int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) {
    return unexpected(ErrorCode::io, std::string("cannot create an inotify instance: ") +
                                         std::strerror(errno) +
                                         " (raise fs.inotify.max_user_instances)");
  }
  m_inotify.assign(fd);
  return {};
}

std::vector<size_t> InotifySource::watch() {
  m_watches = std::make_unique<DirWatchSet>(m_inotify.native_handle(), m_dirs);
  return m_watches->refresh();
}

void InotifySource::close() {
  m_closed = true;
  boost::system::error_code ec;
  m_inotify.close(ec);
}

asio::awaitable<void> InotifySource::read(Handlers handlers) {
  // Room for many events at once; each is an inotify_event plus its NUL-padded name.
  std::vector<char> buf(64 * 1024);
  for (;;) {
    boost::system::error_code ec;
    size_t n = co_await m_inotify.async_read_some(asio::buffer(buf),
                                                  asio::redirect_error(asio::use_awaitable, ec));
    if (ec || m_closed) {
      if (!m_closed && ec != asio::error::operation_aborted) {
        spdlog::error("watcher: reading inotify events failed: {}; no longer watching",
                      ec.message());
      }
      co_return;
    }
    for_each_event(buf.data(), n, [&](int wd, uint32_t mask, std::string_view name) {
      handle(wd, mask, name, handlers);
    });
  }
}

void InotifySource::handle(int wd, uint32_t mask, std::string_view name, const Handlers& handlers) {
  if ((mask & IN_Q_OVERFLOW) != 0) {
    handlers.overflow();
    refresh(handlers);
    for (size_t i = 0; i < m_watches->size(); ++i) {
      if (m_watches->watching(i)) {
        handlers.scan(i);
      }
    }
    return;
  }
  if ((mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT)) != 0) {
    refresh(handlers); // a watched dir went away (or was moved): re-resolve the paths
    return;
  }
  if (!name.empty() && (mask & (IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM)) != 0 &&
      m_watches->affects_dirs(wd, name)) {
    refresh(handlers);
  }
  size_t dir = m_watches->log_dir_of(wd);
  if (dir == DirWatchSet::k_none || name.empty() || (mask & IN_ISDIR) != 0 || !is_log_name(name)) {
    return;
  }
  handlers.file_event(m_watches->dir(dir) / std::string(name), mask);
}

void InotifySource::refresh(const Handlers& handlers) {
  for (size_t dir : m_watches->refresh()) {
    handlers.scan(dir);
  }
}

} // namespace ca::ingest
