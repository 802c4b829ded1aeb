// Faults outside the daemon's control: a damaged database file, a full disk under the state
// directory, a database locked by another process, and a state directory that is read-only. Nothing
// acknowledged is lost, the user is told what is wrong and where, and there is a way out that loses
// nothing.
#include "tests/support/ndjson.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sqlite3.h>
#include <sys/mount.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <future>
#include <thread>

namespace ca::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// Copies corpus A's logs into `dir` (what cargo leaves in $CARGO_HOME/log); returns how many.
size_t copy_corpus_logs(const fs::path& dir) {
  fs::create_directories(dir);
  size_t n = 0;
  for (const auto& e : fs::directory_iterator(fixture_path("corpus/A/logs"))) {
    fs::copy_file(e.path(), dir / e.path().filename());
    ++n;
  }
  return n;
}

nlohmann::json status_json(const DaemonProcess& d) {
  auto r = d.client({"--no-spawn", "status", "--format", "json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return nlohmann::json::parse(r.out, nullptr, false);
}

uint64_t json_count(const nlohmann::json& j, const char* key) {
  if (!j.is_object() || !j.contains(key)) {
    return 0;
  }
  const auto& v = j[key];
  return v.is_string() ? std::stoull(v.get<std::string>()) : v.get<uint64_t>();
}

// Waits until the daemon's back-fill of its watched dirs is over.
bool wait_backfilled(const DaemonProcess& d) {
  for (auto deadline = std::chrono::steady_clock::now() + 60s;
       std::chrono::steady_clock::now() < deadline; std::this_thread::sleep_for(50ms)) {
    auto j = status_json(d);
    if (j.is_object() && j.value("backfill_finished", false) &&
        json_count(j, "reports_pending") == 0) {
      return true;
    }
  }
  return false;
}

// Overwrites the middle of the file (pages past the header) with garbage, as a bad sector or a
// stray write would: the header still says SQLite, the b-trees no longer hold together.
void damage(const fs::path& db) {
  auto size = fs::file_size(db);
  ASSERT_GT(size, 8u * 4096u) << "too small a database to damage realistically";
  std::fstream f(db, std::ios::in | std::ios::out | std::ios::binary);
  std::string garbage(size / 2 - 4096, '\xa5');
  f.seekp(4096 * 2);
  f.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
}

// The daemon started by hand on `dir`'s state and runtime dirs, expected to refuse.
CommandResult start_expecting_refusal(const fs::path& dir) {
  return run_command({CA_DAEMON_BIN, "--foreground", "--runtime-dir", (dir / "run").string(),
                      "--state-dir", (dir / "state").string(), "--no-watch", "--keep-days", "0"},
                     CommandOptions{{}, {}, {}, std::chrono::seconds(60), {}});
}

TEST(DamagedDatabase, DaemonRefusesToStartNamingTheFileAndChangesNothing) {
  TempDir dir;
  auto logs = dir / "cargo-log";
  copy_corpus_logs(logs);
  fs::path db;
  {
    DaemonProcess daemon(dir / "d", {"--watch-dir", logs.string()});
    ASSERT_TRUE(daemon.start());
    ASSERT_TRUE(wait_backfilled(daemon));
    db = daemon.db_path();
  }
  ASSERT_FALSE(fs::exists(db.string() + "-wal") && fs::file_size(db.string() + "-wal") > 0)
      << "a clean stop checkpoints the write-ahead log";
  damage(db);
  const std::string before = read_file(db);

  auto r = start_expecting_refusal(dir / "d");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(db.string() + " is damaged"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("nothing was changed"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("cargo-analysis-client recover"), std::string::npos) << r.err;
  EXPECT_EQ(read_file(db), before) << "the damaged file was modified";

  // A file that is not a database at all (a stray copy, a truncated download) is named too.
  { std::ofstream(db, std::ios::trunc) << std::string(10000, 'x'); }
  r = start_expecting_refusal(dir / "d");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(db.string()), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("not a database"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("recover"), std::string::npos) << r.err;
}

TEST(DamagedDatabase, RecoverKeepsTheFileAsideAndRebuildsFromCargosLogs) {
  TempDir dir;
  auto cargo_home = dir / "cargo-home";
  const size_t n_logs = copy_corpus_logs(cargo_home / "log");
  // The daemon the client starts watches $CARGO_HOME/log, as for a user.
  const std::map<std::string, std::string> env = {
      {"CARGO_HOME", cargo_home.string()}, {"CARGO_ANALYSIS_STATE_DIR", (dir / "state").string()}};
  const CommandOptions opts{{}, env, {}, std::chrono::seconds(120), {}};
  auto client = [&](std::vector<std::string> args) { return run_client(dir / "run", args, opts); };
  // The client starts the daemon on demand; it back-fills the logs. Wait for that, then stop.
  for (int i = 0; i < 600; ++i) {
    auto s = client({"status", "--format", "json"});
    auto j = nlohmann::json::parse(s.out, nullptr, false);
    if (j.is_object() && j.value("backfill_finished", false)) {
      break;
    }
    std::this_thread::sleep_for(50ms);
  }
  auto listed = client({"report", "sessions", "--all", "--format", "json"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  ASSERT_EQ(client({"stop"}).exit_code, 0);
  std::this_thread::sleep_for(500ms);
  const fs::path db = dir / "state" / "cargo-analysis.sqlite3";
  damage(db);
  const std::string damaged = read_file(db);

  // Any command now says the daemon cannot start, and why, at once.
  auto refused = client({"status"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("could not start"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("is damaged"), std::string::npos) << refused.err;

  const auto t0 = std::chrono::steady_clock::now();
  auto r = client({"recover"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::printf("[ figures  ] damaged database: `recover` of %zu logs took %lld ms\n", n_logs,
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                         std::chrono::steady_clock::now() - t0)
                                         .count()));
  EXPECT_NE(r.out.find("rebuilt " + std::to_string(n_logs) + " runs"), std::string::npos) << r.out;
  // The damaged file is kept, byte for byte, beside the new one.
  std::vector<fs::path> kept;
  for (const auto& e : fs::directory_iterator(dir / "state")) {
    if (e.path().filename().string().find("cargo-analysis.sqlite3.damaged-") == 0 &&
        e.path().extension() != ".sqlite3-wal") {
      kept.push_back(e.path());
    }
  }
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(read_file(kept[0]), damaged);
  // And the history is back, the same sessions as before the damage.
  auto after = client({"report", "sessions", "--all", "--format", "json"});
  ASSERT_EQ(after.exit_code, 0) << after.err;
  EXPECT_EQ(after.out, listed.out);
  client({"stop"});
}

// A tmpfs of `bytes` mounted at `dir` for the test's length (needs CAP_SYS_ADMIN: root in CI).
class SmallFilesystem {
public:
  SmallFilesystem(const fs::path& dir, size_t bytes) : m_dir(dir) {
    fs::create_directories(dir);
    std::string opts = "size=" + std::to_string(bytes) + ",mode=0700";
    m_mounted = ::mount("tmpfs", dir.c_str(), "tmpfs", 0, opts.c_str()) == 0;
    m_error = m_mounted ? "" : std::strerror(errno);
  }
  ~SmallFilesystem() {
    if (m_mounted) {
      ::umount2(m_dir.c_str(), MNT_DETACH);
    }
  }
  bool mounted() const { return m_mounted; }
  const std::string& error() const { return m_error; }
  // Remounts it read-only (`ro`) or read-write, as an admin would.
  bool remount(bool ro) {
    return ::mount("tmpfs", m_dir.c_str(), "tmpfs", MS_REMOUNT | (ro ? MS_RDONLY : 0), nullptr) ==
           0;
  }

private:
  fs::path m_dir;
  bool m_mounted = false;
  std::string m_error;
};

// Fills the filesystem of `file`'s directory with `file` until the disk is full.
void fill_disk(const fs::path& file) {
  std::ofstream out(file, std::ios::binary);
  std::string block(64 * 1024, '\0');
  while (out.write(block.data(), static_cast<std::streamsize>(block.size()))) {
  }
}

// The corpus A logs, as a producer would send them.
std::vector<std::string> corpus_a_logs() {
  std::vector<fs::path> paths;
  for (const auto& e : fs::directory_iterator(fixture_path("corpus/A/logs"))) {
    paths.push_back(e.path());
  }
  std::sort(paths.begin(), paths.end());
  std::vector<std::string> logs;
  for (const auto& p : paths) {
    logs.push_back(read_file(p));
  }
  return logs;
}

// SQLite's write lock on a database, held by this process (not the daemon) until destroyed: what
// `sqlite3 cargo-analysis.sqlite3` left inside a `BEGIN IMMEDIATE`, or a backup tool, holds.
class WriteLock {
public:
  explicit WriteLock(const fs::path& db) {
    if (sqlite3_open_v2(db.c_str(), &m_db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
      m_error = sqlite3_errmsg(m_db);
      return;
    }
    char* err = nullptr;
    if (sqlite3_exec(m_db, "BEGIN IMMEDIATE", nullptr, nullptr, &err) != SQLITE_OK) {
      m_error = err != nullptr ? err : "BEGIN IMMEDIATE failed";
      sqlite3_free(err);
    }
  }
  ~WriteLock() { release(); }
  WriteLock(const WriteLock&) = delete;
  WriteLock& operator=(const WriteLock&) = delete;

  const std::string& error() const { return m_error; }
  void release() {
    if (m_db != nullptr) {
      sqlite3_exec(m_db, "ROLLBACK", nullptr, nullptr, nullptr);
      sqlite3_close(m_db);
      m_db = nullptr;
    }
  }

private:
  sqlite3* m_db = nullptr;
  std::string m_error;
};

// How long `status` takes to answer, end to end through the client.
std::chrono::milliseconds timed_status(const DaemonProcess& d, std::string* out) {
  const auto t0 = std::chrono::steady_clock::now();
  auto r = d.client({"--no-spawn", "status"});
  const auto took =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  if (out != nullptr) {
    *out = r.out;
  }
  return took;
}

// Another process holds the database's write lock while a producer sends a run. The writer waits
// out SQLite's busy timeout, then refuses the batch: the producer is told nothing was stored and
// why, `status` answers at once throughout and says the store is not writing, reports answer from
// what is stored. Once the lock is gone, the producer's resend is stored, and only once.
TEST(LockedDatabase, WritesWaitThenFailClearlyReadsGoOnAndTheResendIsStoredOnce) {
  TempDir dir;
  DaemonProcess daemon(dir / "d", {"--no-watch", "--log-level", "info"});
  ASSERT_TRUE(daemon.start());
  const auto logs = corpus_a_logs();
  ASSERT_GE(logs.size(), 2u);
  const auto sock = daemon.runtime_dir() / "ingest.sock";
  auto first = send_ndjson(sock, logs[0]);
  ASSERT_GT(first.value("stored", 0), 0) << first.dump();
  auto sessions_before = daemon.client({"report", "sessions", "--all", "--format", "json"});
  ASSERT_EQ(sessions_before.exit_code, 0) << sessions_before.err;

  WriteLock lock(daemon.db_path());
  ASSERT_EQ(lock.error(), "");
  auto pending = std::async(std::launch::async, [&] { return send_ndjson(sock, logs[1]); });
  // While the writer waits on the lock, `status` and reports do not wait with it.
  std::chrono::milliseconds slowest{0};
  for (int i = 0; i < 5 && pending.wait_for(0ms) != std::future_status::ready; ++i) {
    slowest = std::max(slowest, timed_status(daemon, nullptr));
    std::this_thread::sleep_for(200ms);
  }
  std::printf("slowest status while the writer waited on the lock: %lld ms\n",
              static_cast<long long>(slowest.count()));
  EXPECT_LT(slowest, 2500ms) << "status waited behind the writer's 5 s busy timeout";
  auto during = daemon.client({"report", "sessions", "--all", "--format", "json"});
  ASSERT_EQ(during.exit_code, 0) << during.err;
  EXPECT_EQ(during.out, sessions_before.out);

  auto refused = pending.get();
  EXPECT_EQ(refused.value("stored", -1), 0) << refused.dump();
  ASSERT_TRUE(refused.contains("errors")) << refused.dump();
  EXPECT_NE(refused["errors"].dump().find("locked"), std::string::npos) << refused.dump();
  std::string status;
  timed_status(daemon, &status);
  EXPECT_NE(status.find("NOT WRITING"), std::string::npos) << status;
  EXPECT_NE(status.find("locked"), std::string::npos) << status;

  lock.release();
  auto resent = send_ndjson(sock, logs[1]);
  EXPECT_GT(resent.value("stored", 0), 0) << resent.dump();
  auto again = send_ndjson(sock, logs[0]);
  EXPECT_EQ(again.value("stored", -1), 0) << "the first run was stored once: " << again.dump();
  EXPECT_TRUE(status_json(daemon).value("store_writing", false));
}

// A daemon started while another process holds the write lock (cargo-analysis's own database
// opened in `sqlite3`, a backup in progress) does not hang or half-start: it says what holds it
// and where, and starts normally once the lock is gone.
TEST(LockedDatabase, AtStartTheDaemonNamesTheLockAndStartsOnceItIsGone) {
  TempDir dir;
  {
    DaemonProcess first(dir / "d", {"--no-watch"});
    ASSERT_TRUE(first.start());
    ASSERT_GT(
        send_ndjson(first.runtime_dir() / "ingest.sock", corpus_a_logs()[0]).value("stored", 0), 0);
    ASSERT_EQ(first.stop(), 0);
  }
  {
    WriteLock lock(dir / "d" / "state" / "cargo-analysis.sqlite3");
    ASSERT_EQ(lock.error(), "");
    auto r = start_expecting_refusal(dir / "d");
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    EXPECT_NE(r.err.find("cargo-analysis.sqlite3"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("another process holds its write lock"), std::string::npos) << r.err;
  }
  DaemonProcess again(dir / "d", {"--no-watch"});
  ASSERT_TRUE(again.start());
  auto sessions = again.client({"report", "sessions", "--all", "--format", "json"});
  EXPECT_EQ(sessions.exit_code, 0) << sessions.err;
  EXPECT_NE(sessions.out.find("run_id"), std::string::npos) << sessions.out;
}

TEST(FullDisk, WritesFailClearlyReadsGoOnAndIngestResumesOnceSpaceIsFreed) {
  TempDir dir;
  SmallFilesystem small(dir / "d" / "state", 6 * 1024 * 1024);
  if (!small.mounted()) {
    GTEST_SKIP() << "cannot mount a small tmpfs for the state dir: " << small.error();
  }
  DaemonProcess daemon(dir / "d", {"--no-watch", "--log-level", "info"});
  ASSERT_TRUE(daemon.start());
  std::vector<std::string> logs;
  for (const auto& e : fs::directory_iterator(fixture_path("corpus/A/logs"))) {
    logs.push_back(read_file(e.path()));
  }
  ASSERT_GE(logs.size(), 3u);
  auto first = send_ndjson(daemon.runtime_dir() / "ingest.sock", logs[0]);
  ASSERT_GT(first.value("stored", 0), 0) << first.dump();
  auto sessions_before = daemon.client({"report", "sessions", "--all", "--format", "json"});
  ASSERT_EQ(sessions_before.exit_code, 0);

  fill_disk(dir / "d" / "state" / "filler");
  // A producer is told its lines were not stored; nothing is acknowledged that is not.
  auto refused = send_ndjson(daemon.runtime_dir() / "ingest.sock", logs[1]);
  EXPECT_EQ(refused.value("stored", -1), 0) << refused.dump();
  ASSERT_TRUE(refused.contains("errors"));
  EXPECT_NE(refused["errors"].dump().find("full"), std::string::npos) << refused.dump();
  // status says so, and reads still answer with what was stored.
  auto s = daemon.client({"--no-spawn", "status"});
  ASSERT_EQ(s.exit_code, 0) << s.err;
  EXPECT_NE(s.out.find("NOT WRITING"), std::string::npos) << s.out;
  EXPECT_NE(s.out.find("full"), std::string::npos) << s.out;
  auto sessions_full = daemon.client({"report", "sessions", "--all", "--format", "json"});
  ASSERT_EQ(sessions_full.exit_code, 0) << sessions_full.err;
  EXPECT_EQ(sessions_full.out, sessions_before.out);

  // Space is freed: the producer's resend is stored, and everything acknowledged is intact.
  fs::remove(dir / "d" / "state" / "filler");
  const auto freed = std::chrono::steady_clock::now();
  auto resent = send_ndjson(daemon.runtime_dir() / "ingest.sock", logs[1]);
  EXPECT_GT(resent.value("stored", 0), 0) << resent.dump();
  std::printf("[ figures  ] full disk: space freed -> the resend stored in %lld ms\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                         std::chrono::steady_clock::now() - freed)
                                         .count()));
  auto again = send_ndjson(daemon.runtime_dir() / "ingest.sock", logs[0]);
  EXPECT_EQ(again.value("stored", -1), 0) << "the first run was stored once: " << again.dump();
  EXPECT_GT(again.value("duplicates", 0), 0) << again.dump();
  auto s2 = status_json(daemon);
  EXPECT_TRUE(s2.value("store_writing", false)) << s2.dump();
  auto sessions_after = daemon.client({"report", "sessions", "--all", "--format", "json"});
  ASSERT_EQ(sessions_after.exit_code, 0);
  EXPECT_NE(sessions_after.out, sessions_before.out) << "the resent run is listed";
}

// A daemon started on a read-only state directory refuses at once, naming the directory, instead
// of serving a store it can never write; the database in it is left as it was. (Under a running
// daemon the kernel refuses the remount, EBUSY, while the database is open for writing; a disk
// that the kernel forces read-only after errors fails writes as the full disk above does.)
TEST(ReadOnlyStateDir, AtStartTheDaemonRefusesNamingTheDirectory) {
  TempDir dir;
  SmallFilesystem fs_(dir / "d" / "state", 64 * 1024 * 1024);
  if (!fs_.mounted()) {
    GTEST_SKIP() << "cannot mount a tmpfs for the state dir: " << fs_.error();
  }
  {
    DaemonProcess first(dir / "d", {"--no-watch"});
    ASSERT_TRUE(first.start());
    ASSERT_GT(
        send_ndjson(first.runtime_dir() / "ingest.sock", corpus_a_logs()[0]).value("stored", 0), 0);
    ASSERT_EQ(first.stop(), 0);
  }
  const auto db = dir / "d" / "state" / "cargo-analysis.sqlite3";
  const std::string before = read_file(db);
  ASSERT_TRUE(fs_.remount(true)) << std::strerror(errno);
  auto r = start_expecting_refusal(dir / "d");
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find((dir / "d" / "state").string()), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("read-only"), std::string::npos) << r.err;
  EXPECT_EQ(read_file(db), before);
  ASSERT_TRUE(fs_.remount(false));
  DaemonProcess again(dir / "d", {"--no-watch"});
  ASSERT_TRUE(again.start());
  auto sessions = again.client({"report", "sessions", "--all", "--format", "json"});
  EXPECT_EQ(sessions.exit_code, 0) << sessions.err;
  EXPECT_NE(sessions.out.find("run_id"), std::string::npos) << sessions.out;
  ASSERT_EQ(again.stop(), 0);
}

} // namespace
} // namespace ca::test
