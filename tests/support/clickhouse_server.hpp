// A private ClickHouse server for tests: `clickhouse-server` on free loopback ports, with its
// data, logs and a config of its own under a test's temp dir, started and stopped within bounded
// time. Tests that need one call clickhouse_available() first and GTEST_SKIP() without it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace ca::test {

// The path of clickhouse-server ($CA_CLICKHOUSE_SERVER if set, else /usr/bin or /usr/sbin), ""
// if that is not an executable.
std::string clickhouse_server_binary();

// A free TCP port on 127.0.0.1 (bound and released: good enough for a test).
uint16_t free_port();

class ClickHouseServer {
public:
  // A server whose files live in `dir` (created). `cluster_tcp_ports`: if not empty, the config
  // names a cluster `ca_test` with one shard per port (127.0.0.1), for Distributed tables;
  // `fixed_tcp_port` (0: a free one) is this server's TCP port, when it is one of them.
  explicit ClickHouseServer(std::filesystem::path dir,
                            std::vector<uint16_t> cluster_tcp_ports = {},
                            uint16_t fixed_tcp_port = 0);
  ~ClickHouseServer(); // stop()s
  ClickHouseServer(const ClickHouseServer&) = delete;
  ClickHouseServer& operator=(const ClickHouseServer&) = delete;

  // Starts it (same ports and data as before after a stop) and waits up to `timeout` until it
  // answers `SELECT 1`; false (with the server's error log in `*why`) if it did not.
  bool start(std::chrono::seconds timeout = std::chrono::seconds(30), std::string* why = nullptr);
  // SIGKILL and reap: the crash of a server (its data stays for the next start).
  void kill_hard();
  // SIGTERM, then SIGKILL after 5 s.
  void stop();
  bool running() const { return m_pid > 0; }

  std::string url() const; // http://127.0.0.1:<http_port>
  uint16_t http_port() const { return m_http_port; }
  uint16_t tcp_port() const { return m_tcp_port; }

private:
  void write_config() const;

  std::filesystem::path m_dir;
  std::vector<uint16_t> m_cluster;
  uint16_t m_http_port;
  uint16_t m_tcp_port;
  uint16_t m_interserver_port;
  pid_t m_pid = -1;
};

} // namespace ca::test
