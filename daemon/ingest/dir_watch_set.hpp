// The inotify watches behind the log watcher's configured directories.
//
// A configured directory D (say ~/.cargo/log) may not exist yet (cargo creates it on its first
// logged build), may be deleted, or may be replaced by a symlink to somewhere else. So for each D
// we keep up to two watches:
// - the *log watch* on D itself (inotify follows a symlink, so this watches the target), with
//   the file events the tailer needs; present only while D resolves to a directory;
// - the *anchor watch* on D's nearest existing ancestor A, with only structural events, so that
//   the creation, removal, renaming or replacement of the next path component below A (or of D
//   itself, when A is its parent) is noticed.
// After any such event the owner calls refresh(), which re-resolves every D from the file system
// and adds or removes watches to match. refresh() re-checks after adding an anchor, so a `mkdir
// -p` that races with us (the next component created between our stat and our watch) is not
// missed. Two configured paths that resolve to the same directory share one log watch; the
// second is reported once and otherwise ignored, so no file is read twice.
//
// Not thread-safe: used from the watcher thread only. The inotify descriptor is borrowed.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <filesystem>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace ca::ingest {

class DirWatchSet {
public:
  static constexpr size_t k_none = static_cast<size_t>(-1);

  DirWatchSet(int inotify_fd, const std::vector<std::filesystem::path>& dirs);

  // Brings the watches in line with the file system. Returns the indices of the configured
  // dirs whose log watch is new since the last call (or now points at another directory): the
  // caller scans their files. Failures to add a watch (EACCES, ENOSPC when
  // fs.inotify.max_user_watches is reached) are logged and leave that dir unwatched.
  std::vector<size_t> refresh();

  // The configured dir whose log watch is `wd`, or k_none.
  size_t log_dir_of(int wd) const;

  // True if an entry `name` created, deleted or moved in the directory of `wd` can change what
  // a configured dir resolves to.
  bool affects_dirs(int wd, std::string_view name) const;

  size_t size() const { return m_dirs.size(); }
  const std::filesystem::path& dir(size_t i) const { return m_dirs[i].path; }
  bool watching(size_t i) const { return m_dirs[i].log_wd >= 0; }

private:
  struct Dir {
    std::filesystem::path path; // absolute, lexically normal
    int log_wd = -1;
    dev_t dev = 0; // of the directory the log watch is on
    ino_t ino = 0;
    int anchor_wd = -1;
    std::filesystem::path anchor;
    std::string next; // the component of `path` right below `anchor`
    bool reported_missing = false;
    bool alias = false; // resolves to the directory of an earlier configured path
  };

  int add_watch(const std::filesystem::path& path, uint32_t mask);
  void resolve(Dir& d);

  int m_fd;
  std::vector<Dir> m_dirs;
  std::set<int> m_wds; // every watch we hold
};

} // namespace ca::ingest
