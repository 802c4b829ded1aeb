#include "daemon/ingest/dir_watch_set.hpp"

#include <spdlog/spdlog.h>
#include <sys/inotify.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

namespace ca::ingest {

namespace {

// What the tailer needs from a log dir, plus the structural events that end the watch.
constexpr uint32_t k_log_mask = IN_CREATE | IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_TO |
                                IN_MOVED_FROM | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF |
                                IN_ONLYDIR;
// An ancestor only matters when the next component of a configured path comes or goes.
constexpr uint32_t k_anchor_mask = IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE |
                                   IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;
// A mkdir -p racing with refresh() can outrun us a few times; after that, the next event does.
constexpr int k_max_resolve_attempts = 8;

bool stat_dir(const std::filesystem::path& p, struct stat& st) {
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool is_dir(const std::filesystem::path& p) {
  struct stat st {};
  return stat_dir(p, st);
}

} // namespace

DirWatchSet::DirWatchSet(int inotify_fd, const std::vector<std::filesystem::path>& dirs)
    : m_fd(inotify_fd) {
  for (const auto& d : dirs) {
    std::error_code ec;
    auto abs = std::filesystem::absolute(d, ec);
    Dir dir;
    dir.path = (ec ? d : abs).lexically_normal();
    if (!dir.path.has_filename() && dir.path.has_parent_path()) {
      dir.path = dir.path.parent_path(); // "a/b/" -> "a/b"
    }
    m_dirs.push_back(std::move(dir));
  }
}

int DirWatchSet::add_watch(const std::filesystem::path& path, uint32_t mask) {
  // IN_MASK_ADD: one directory can be a log dir of one configured path and the anchor of
  // another; a plain add would replace the first mask with the second.
  int wd = ::inotify_add_watch(m_fd, path.c_str(), mask | IN_MASK_ADD);
  if (wd < 0) {
    spdlog::warn("watcher: cannot watch {}: {}{}", path.string(), std::strerror(errno),
                 errno == ENOSPC ? " (raise fs.inotify.max_user_watches)" : "");
  }
  return wd;
}

void DirWatchSet::resolve(Dir& d) {
  for (int attempt = 0; attempt < k_max_resolve_attempts; ++attempt) {
    struct stat st {};
    bool exists = stat_dir(d.path, st);
    int log_wd = exists ? add_watch(d.path, k_log_mask) : -1;

    std::filesystem::path anchor = d.path.parent_path();
    while (!is_dir(anchor) && anchor.has_relative_path()) {
      anchor = anchor.parent_path();
    }
    auto rel = d.path.lexically_relative(anchor);
    std::string next = rel.empty() ? std::string() : rel.begin()->string();
    int anchor_wd = anchor == d.path ? -1 : add_watch(anchor, k_anchor_mask);

    // Stable if nothing appeared between our look and our watch: D's existence is unchanged
    // and, while D is missing, the next component below the anchor is still missing too.
    bool stable = is_dir(d.path) == exists && (exists || !is_dir(anchor / next));
    if (!stable && attempt + 1 < k_max_resolve_attempts) {
      continue;
    }
    d.log_wd = log_wd;
    d.dev = exists ? st.st_dev : 0;
    d.ino = exists ? st.st_ino : 0;
    d.anchor_wd = anchor_wd;
    d.anchor = std::move(anchor);
    d.next = std::move(next);
    return;
  }
}

std::vector<size_t> DirWatchSet::refresh() {
  std::vector<size_t> fresh;
  std::set<int> keep;
  for (size_t i = 0; i < m_dirs.size(); ++i) {
    Dir& d = m_dirs[i];
    const int old_wd = d.log_wd;
    const dev_t old_dev = d.dev;
    const ino_t old_ino = d.ino;
    resolve(d);
    for (size_t j = 0; j < i && d.log_wd >= 0; ++j) {
      if (m_dirs[j].log_wd == d.log_wd) {
        if (!d.alias) {
          spdlog::info("watcher: {} is the same directory as {}; read once, as {}", d.path.string(),
                       m_dirs[j].path.string(), m_dirs[j].path.string());
        }
        keep.insert(d.log_wd);
        d.log_wd = -1;
        d.alias = true;
        d.reported_missing = true; // not missing, but nothing more to say about it
      }
    }
    if (d.log_wd >= 0) {
      d.alias = false;
    }
    if (d.log_wd >= 0) {
      keep.insert(d.log_wd);
      if (d.log_wd != old_wd || d.dev != old_dev || d.ino != old_ino) {
        std::error_code ec;
        if (std::filesystem::is_symlink(d.path, ec)) {
          auto target = std::filesystem::canonical(d.path, ec);
          spdlog::info("watcher: watching {} (a symlink to {}, followed)", d.path.string(),
                       ec ? std::string("?") : target.string());
        } else {
          spdlog::info("watcher: watching {}", d.path.string());
        }
        fresh.push_back(i);
      }
      d.reported_missing = false;
    } else if (old_wd >= 0 || !d.reported_missing) {
      spdlog::info("watcher: {} {}; watching {} for its creation", d.path.string(),
                   old_wd >= 0 ? "is gone" : "does not exist yet", d.anchor.string());
      d.reported_missing = true;
    }
    if (d.anchor_wd >= 0) {
      keep.insert(d.anchor_wd);
    }
  }
  for (int wd : m_wds) {
    if (keep.count(wd) == 0) {
      ::inotify_rm_watch(m_fd, wd); // EINVAL if the kernel already dropped it: fine
    }
  }
  m_wds = std::move(keep);
  return fresh;
}

size_t DirWatchSet::log_dir_of(int wd) const {
  for (size_t i = 0; i < m_dirs.size(); ++i) {
    if (m_dirs[i].log_wd == wd) {
      return i;
    }
  }
  return k_none;
}

bool DirWatchSet::affects_dirs(int wd, std::string_view name) const {
  for (const Dir& d : m_dirs) {
    if (d.anchor_wd == wd && d.next == name) {
      return true;
    }
  }
  return false;
}

} // namespace ca::ingest
