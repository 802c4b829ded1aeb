// What the correlator needs to know about processes, behind an interface so tests can fake a
// process tree. The Linux implementation reads /proc.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <ctime>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ca::correlate {

// A process identity that survives pid reuse: (pid, start time in clock ticks since boot).
// exec() keeps both, so `cargo run` exec'ing into its program keeps the identity of the cargo.
struct ProcessId {
  pid_t pid = 0;
  uint64_t start_ticks = 0;
  bool operator<(const ProcessId& o) const {
    return pid != o.pid ? pid < o.pid : start_ticks < o.start_ticks;
  }
  bool operator==(const ProcessId& o) const = default;
};

struct ProcessInfo {
  ProcessId id;
  pid_t ppid = 0;
  uid_t uid = 0;
  std::string comm;
};

class ProcReader {
public:
  virtual ~ProcReader() = default;

  // /proc/PID/stat (+ owner uid); nullopt if the process is gone.
  virtual std::optional<ProcessInfo> info(pid_t pid) = 0;

  // The values of `names` in /proc/PID/environ; only for processes of our own uid (others'
  // environments are not ours to read). nullopt if gone or not ours.
  virtual std::optional<std::map<std::string, std::string>>
  environ(pid_t pid, const std::vector<std::string>& names) = 0;

  // Processes that have `path` open (by /proc/PID/fd links), looking at every process of our
  // uid. Empty if none (the writer already exited).
  virtual std::vector<pid_t> holders_of(const std::filesystem::path& path) = 0;
};

class LinuxProcReader final : public ProcReader {
public:
  explicit LinuxProcReader(std::filesystem::path proc_root = "/proc")
      : m_root(std::move(proc_root)) {}

  std::optional<ProcessInfo> info(pid_t pid) override;
  std::optional<std::map<std::string, std::string>>
  environ(pid_t pid, const std::vector<std::string>& names) override;
  std::vector<pid_t> holders_of(const std::filesystem::path& path) override;

private:
  using FileKey = std::pair<dev_t, ino_t>;
  // Who held which file in one pass over every process of ours, and when that pass began.
  struct Snapshot {
    timespec started{};
    std::map<FileKey, std::vector<pid_t>> cargo;  // held by processes named like cargo
    std::map<FileKey, std::vector<pid_t>> others; // by the rest
    std::vector<pid_t> holders_of(const FileKey& key) const;
  };
  // Whether `st` last changed clearly before `t`.
  static bool changed_before(const struct stat& st, const timespec& t);
  // Calls `visit(pid, named_like_cargo, file)` for each regular file open in each process of our
  // uid (only those named like cargo if `cargo_only`); `visit` returns true to skip to the next
  // process.
  void visit_open_files(bool cargo_only,
                        const std::function<bool(pid_t, bool, const FileKey&)>& visit);

  std::filesystem::path m_root;
  std::mutex m_mutex;
  std::unique_ptr<Snapshot> m_snapshot;
};

// Parses the contents of /proc/PID/stat (comm may hold spaces and parentheses).
std::optional<ProcessInfo> parse_proc_stat(const std::string& text);

} // namespace ca::correlate
