#include "daemon/correlate/proc_reader.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <cstring>
#include <ctime>

namespace ca::correlate {

namespace {

// Reads a small /proc file whole (they report size 0, so read until EOF).
std::optional<std::string> slurp(const std::filesystem::path& path, size_t limit = 1 << 20) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return std::nullopt;
  }
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) {
      break;
    }
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > limit) {
      break;
    }
  }
  ::close(fd);
  return out;
}

bool all_digits(const char* s) {
  if (*s == '\0') {
    return false;
  }
  for (; *s != '\0'; ++s) {
    if (*s < '0' || *s > '9') {
      return false;
    }
  }
  return true;
}

} // namespace

std::optional<ProcessInfo> parse_proc_stat(const std::string& text) {
  // "pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime
  //  stime cutime cstime priority nice num_threads itrealvalue starttime ..."
  auto open = text.find('(');
  auto close = text.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open) {
    return std::nullopt;
  }
  ProcessInfo p;
  p.id.pid = static_cast<pid_t>(std::atoi(text.c_str()));
  p.comm = text.substr(open + 1, close - open - 1);
  std::vector<std::string_view> fields; // fields after comm: [0] = state (field 3)
  std::string_view rest(text);
  rest.remove_prefix(close + 1);
  size_t i = 0;
  while (i < rest.size()) {
    while (i < rest.size() && rest[i] == ' ') {
      ++i;
    }
    size_t j = i;
    while (j < rest.size() && rest[j] != ' ' && rest[j] != '\n') {
      ++j;
    }
    if (j > i) {
      fields.push_back(rest.substr(i, j - i));
    }
    i = j + 1;
  }
  if (fields.size() < 20) {
    return std::nullopt;
  }
  auto num = [](std::string_view s, auto& out) {
    return std::from_chars(s.data(), s.data() + s.size(), out).ec == std::errc();
  };
  if (!num(fields[1], p.ppid) || !num(fields[19], p.id.start_ticks)) {
    return std::nullopt;
  }
  return p;
}

std::optional<ProcessInfo> LinuxProcReader::info(pid_t pid) {
  auto dir = m_root / std::to_string(pid);
  auto text = slurp(dir / "stat");
  if (!text) {
    return std::nullopt;
  }
  auto p = parse_proc_stat(*text);
  if (!p) {
    return std::nullopt;
  }
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) {
    p->uid = st.st_uid;
  }
  return p;
}

std::optional<std::map<std::string, std::string>>
LinuxProcReader::environ(pid_t pid, const std::vector<std::string>& names) {
  auto dir = m_root / std::to_string(pid);
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || st.st_uid != ::getuid()) {
    return std::nullopt;
  }
  auto text = slurp(dir / "environ", 4 << 20);
  if (!text) {
    return std::nullopt;
  }
  std::map<std::string, std::string> out;
  size_t pos = 0;
  while (pos < text->size()) {
    size_t end = text->find('\0', pos);
    if (end == std::string::npos) {
      end = text->size();
    }
    std::string_view kv(text->data() + pos, end - pos);
    auto eq = kv.find('=');
    if (eq != std::string_view::npos) {
      std::string key(kv.substr(0, eq));
      for (const auto& n : names) {
        if (n == key) {
          out[key] = std::string(kv.substr(eq + 1));
        }
      }
    }
    pos = end + 1;
  }
  return out;
}

std::vector<pid_t> LinuxProcReader::holders_of(const std::filesystem::path& path) {
  // Compare (dev, inode) rather than link text: the log dir may be reached through a symlink.
  struct stat target {};
  if (::stat(path.c_str(), &target) != 0) {
    return {};
  }
  const FileKey key{target.st_dev, target.st_ino};
  std::lock_guard lock(m_mutex);
  // A pass over every process that began after the file last changed saw whoever holds it
  // (cargo opens its log as it creates it): answer from that pass. A flood of new logs with no
  // holder (copied in, unpacked) then costs one pass over /proc, not one per file.
  if (m_snapshot && changed_before(target, m_snapshot->started)) {
    return m_snapshot->holders_of(key);
  }
  // Processes named like cargo first (the writer nearly always is: rustup's proxy execs into
  // the real cargo, which keeps the name): a cheap pass that opens only their fd dirs.
  std::vector<pid_t> found;
  visit_open_files(true, [&](pid_t pid, bool, const FileKey& open) {
    if (open == key) {
      found.push_back(pid);
      return true;
    }
    return false;
  });
  if (!found.empty()) {
    return found;
  }
  // Then everyone, for renamed binaries, kept as the snapshot for the files that came before.
  auto snap = std::make_unique<Snapshot>();
  ::clock_gettime(CLOCK_REALTIME, &snap->started);
  visit_open_files(false, [&](pid_t pid, bool cargo, const FileKey& open) {
    auto& pids = cargo ? snap->cargo[open] : snap->others[open];
    if (pids.empty() || pids.back() != pid) {
      pids.push_back(pid);
    }
    return false;
  });
  m_snapshot = std::move(snap);
  return m_snapshot->holders_of(key);
}

std::vector<pid_t> LinuxProcReader::Snapshot::holders_of(const FileKey& key) const {
  for (const auto* held : {&cargo, &others}) {
    if (auto it = held->find(key); it != held->end()) {
      return it->second;
    }
  }
  return {};
}

bool LinuxProcReader::changed_before(const struct stat& st, const timespec& t) {
  // File times come from the kernel's coarse clock, up to a tick behind the precise one: the
  // file counts as older only by a clear margin.
  constexpr int64_t k_margin_ns = 50'000'000;
  const int64_t changed = int64_t{st.st_ctim.tv_sec} * 1'000'000'000 + st.st_ctim.tv_nsec;
  const int64_t pass = int64_t{t.tv_sec} * 1'000'000'000 + t.tv_nsec;
  return changed + k_margin_ns < pass;
}

void LinuxProcReader::visit_open_files(
    bool cargo_only, const std::function<bool(pid_t, bool, const FileKey&)>& visit) {
  DIR* proc = ::opendir(m_root.c_str());
  if (proc == nullptr) {
    return;
  }
  uid_t me = ::getuid();
  while (dirent* e = ::readdir(proc)) {
    if (!all_digits(e->d_name)) {
      continue;
    }
    auto fd_dir = m_root / e->d_name / "fd";
    struct stat pst {};
    if (::stat((m_root / e->d_name).c_str(), &pst) != 0 || (pst.st_uid != me && me != 0)) {
      continue;
    }
    auto comm = slurp(m_root / e->d_name / "comm", 64);
    const bool cargo = comm && comm->rfind("cargo", 0) == 0;
    if (cargo_only && !cargo) {
      continue;
    }
    DIR* fds = ::opendir(fd_dir.c_str());
    if (fds == nullptr) {
      continue;
    }
    const auto pid = static_cast<pid_t>(std::atoi(e->d_name));
    bool next_process = false;
    for (dirent* f = ::readdir(fds); f != nullptr && !next_process; f = ::readdir(fds)) {
      if (!all_digits(f->d_name)) {
        continue;
      }
      struct stat st {};
      // stat() follows the /proc fd link to the open file itself, even if it was renamed.
      if (::stat((fd_dir / f->d_name).c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
        next_process = visit(pid, cargo, FileKey{st.st_dev, st.st_ino});
      }
    }
    ::closedir(fds);
  }
  ::closedir(proc);
}

} // namespace ca::correlate
