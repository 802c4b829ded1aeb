#include "tests/support/clickhouse_server.hpp"

#include "shared/team/clickhouse_client.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

namespace ca::test {

std::string clickhouse_server_binary() {
  if (const char* env = std::getenv("CA_CLICKHOUSE_SERVER"); env != nullptr && *env != '\0') {
    return ::access(env, X_OK) == 0 ? env : "";
  }
  for (const char* p : {"/usr/bin/clickhouse-server", "/usr/sbin/clickhouse-server"}) {
    if (::access(p, X_OK) == 0) {
      return p;
    }
  }
  return {};
}

uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  uint16_t port = 0;
  if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  if (fd >= 0) {
    ::close(fd);
  }
  return port;
}

ClickHouseServer::ClickHouseServer(std::filesystem::path dir,
                                   std::vector<uint16_t> cluster_tcp_ports,
                                   uint16_t fixed_tcp_port)
    : m_dir(std::move(dir)), m_cluster(std::move(cluster_tcp_ports)), m_http_port(free_port()),
      m_tcp_port(fixed_tcp_port != 0 ? fixed_tcp_port : free_port()),
      m_interserver_port(free_port()) {
  std::filesystem::create_directories(m_dir);
}

ClickHouseServer::~ClickHouseServer() {
  stop();
}

std::string ClickHouseServer::url() const {
  return fmt::format("http://127.0.0.1:{}", m_http_port);
}

void ClickHouseServer::write_config() const {
  const std::string d = m_dir.string();
  std::string cluster;
  if (!m_cluster.empty()) {
    cluster = "<remote_servers><ca_test>";
    for (uint16_t p : m_cluster) {
      cluster +=
          fmt::format("<shard><replica><host>127.0.0.1</host><port>{}</port></replica></shard>", p);
    }
    cluster += "</ca_test></remote_servers>";
  }
  std::ofstream(m_dir / "config.xml") << fmt::format(
      R"(<?xml version="1.0"?>
<yandex>
  <logger><level>information</level><log>{0}/ch.log</log><errorlog>{0}/err.log</errorlog>
    <size>10M</size><count>1</count></logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>{1}</http_port>
  <tcp_port>{2}</tcp_port>
  <interserver_http_port>{3}</interserver_http_port>
  <path>{0}/data/</path>
  <tmp_path>{0}/tmp/</tmp_path>
  <user_files_path>{0}/user_files/</user_files_path>
  <format_schema_path>{0}/format_schemas/</format_schema_path>
  <users_config>users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>104857600</mark_cache_size>
  <max_concurrent_queries>50</max_concurrent_queries>
  {4}
</yandex>
)",
      d, m_http_port, m_tcp_port, m_interserver_port, cluster);
  std::ofstream(m_dir / "users.xml") << R"(<?xml version="1.0"?>
<yandex>
  <profiles><default><log_queries>0</log_queries></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
    <profile>default</profile><quota>default</quota></default></users>
  <quotas><default></default></quotas>
</yandex>
)";
}

bool ClickHouseServer::start(std::chrono::seconds timeout, std::string* why) {
  if (m_pid > 0) {
    return true;
  }
  write_config();
  const std::string bin = clickhouse_server_binary();
  const std::string config = "--config-file=" + (m_dir / "config.xml").string();
  const std::string out = (m_dir / "stdout.log").string();
  m_pid = ::fork();
  if (m_pid == 0) {
    int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    if (::chdir(m_dir.c_str()) != 0) {
      ::_exit(126);
    }
    ::execl(bin.c_str(), bin.c_str(), config.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  team::ClickHouseUrl url;
  url.host = "127.0.0.1";
  url.port = m_http_port;
  url.text = this->url();
  team::ClickHouseClient client(url, std::chrono::seconds(2));
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (client.query("SELECT 1")) {
      return true;
    }
    int status = 0;
    if (::waitpid(m_pid, &status, WNOHANG) == m_pid) {
      m_pid = -1;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (why != nullptr) {
    std::ifstream err(m_dir / "err.log");
    std::stringstream s;
    s << err.rdbuf();
    std::ifstream so(out);
    s << so.rdbuf();
    *why = s.str();
  }
  kill_hard();
  return false;
}

void ClickHouseServer::kill_hard() {
  if (m_pid <= 0) {
    return;
  }
  ::kill(m_pid, SIGKILL);
  int status = 0;
  ::waitpid(m_pid, &status, 0);
  m_pid = -1;
}

void ClickHouseServer::stop() {
  if (m_pid <= 0) {
    return;
  }
  ::kill(m_pid, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(m_pid, &status, WNOHANG) == m_pid) {
      m_pid = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill_hard();
}

} // namespace ca::test
