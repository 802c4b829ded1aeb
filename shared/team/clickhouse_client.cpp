#include "shared/team/clickhouse_client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/version.hpp>
#include <fmt/format.h>

#include <charconv>
#include <exception>
#include <optional>

namespace ca::team {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

// The first line of ClickHouse's error text ("Code: 60, e.displayText() = DB::Exception: Table
// default.x doesn't exist., e.what() = DB::Exception"), which is what a user needs.
std::string first_line(std::string_view s) {
  auto nl = s.find('\n');
  std::string out(s.substr(0, nl));
  while (!out.empty() && (out.back() == '\r' || out.back() == ' ')) {
    out.pop_back();
  }
  return out;
}

} // namespace

std::string url_encode(std::string_view s) {
  std::string out;
  out.reserve(s.size() * 3 / 2);
  for (unsigned char c : s) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

std::string sql_quote(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\\' || c == '\'') {
      out.push_back('\\');
    }
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

Result<ClickHouseUrl> parse_clickhouse_url(std::string_view url) {
  auto bad = [&](std::string_view why) {
    return unexpected(ErrorCode::invalid_argument,
                      fmt::format("bad ClickHouse url `{}`: {}", url, why));
  };
  constexpr std::string_view scheme = "http://";
  if (url.substr(0, scheme.size()) != scheme) {
    return bad("only http://host:port is supported");
  }
  ClickHouseUrl out;
  std::string_view rest = url.substr(scheme.size());
  std::string_view query;
  if (auto q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  if (!rest.empty() && rest.back() == '/') {
    rest.remove_suffix(1);
  }
  if (rest.find('/') != std::string_view::npos) {
    return bad("a path is not supported (name the database with ?database=NAME)");
  }
  std::string_view host = rest;
  if (auto c = rest.rfind(':'); c != std::string_view::npos) {
    host = rest.substr(0, c);
    std::string_view port = rest.substr(c + 1);
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
      return bad(fmt::format("bad port `{}`", port));
    }
    out.port = static_cast<uint16_t>(value);
  }
  if (host.empty()) {
    return bad("no host");
  }
  out.host = std::string(host);
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view kv = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    auto eq = kv.find('=');
    std::string_view key = kv.substr(0, eq);
    std::string value(eq == std::string_view::npos ? std::string_view() : kv.substr(eq + 1));
    if (key == "database") {
      out.database = value;
    } else if (key == "user") {
      out.user = value;
    } else if (key == "password") {
      out.password = value;
    } else {
      return bad(fmt::format("unknown parameter `{}` (known: database, user, password)", key));
    }
  }
  out.text = fmt::format("http://{}:{}/?database={}", out.host, out.port, out.database);
  return out;
}

Result<std::string>
ClickHouseClient::query(std::string_view sql,
                        std::string_view body,
                        const std::vector<std::pair<std::string, std::string>>& settings) const {
  std::string target = "/?database=" + url_encode(m_url.database) + "&query=" + url_encode(sql);
  for (const auto& [k, v] : settings) {
    target += "&" + url_encode(k) + "=" + url_encode(v);
  }
  http::request<http::string_body> req{http::verb::post, target, 11};
  req.set(http::field::host, m_url.host);
  req.set(http::field::user_agent, "cargo-analysis/" CA_VERSION);
  if (!m_url.user.empty()) {
    req.set("X-ClickHouse-User", m_url.user);
    req.set("X-ClickHouse-Key", m_url.password);
  }
  req.body() = std::string(body);
  req.prepare_payload();

  asio::io_context io;
  std::optional<Result<std::string>> outcome;
  // Sets `outcome` unless an exception (a failed connect, read or write, or the timeout) ends it.
  auto run = [&]() -> asio::awaitable<void> {
    asio::ip::tcp::resolver resolver(io);
    beast::tcp_stream stream(io);
    stream.expires_after(m_timeout);
    auto endpoints = co_await resolver.async_resolve(m_url.host, std::to_string(m_url.port),
                                                     asio::use_awaitable);
    co_await stream.async_connect(endpoints, asio::use_awaitable);
    co_await http::async_write(stream, req, asio::use_awaitable);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(1024ull * 1024 * 1024);
    co_await http::async_read(stream, buffer, parser, asio::use_awaitable);
    beast::error_code ignored;
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    auto& res = parser.get();
    if (res.result() != http::status::ok) {
      outcome = unexpected(ErrorCode::failed_precondition,
                           fmt::format("ClickHouse at {} answered {}: {}", m_url.text,
                                       res.result_int(), first_line(res.body())));
    } else {
      outcome = std::move(res.body());
    }
  };
  asio::co_spawn(io, run(), [&](std::exception_ptr e) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const boost::system::system_error& se) {
        std::string why = se.code() == beast::error::timeout
                              ? fmt::format("no answer within {} ms", m_timeout.count())
                              : se.code().message();
        outcome = unexpected(ErrorCode::unavailable,
                             fmt::format("cannot reach ClickHouse at {}: {}", m_url.text, why));
      } catch (const std::exception& other) {
        outcome =
            unexpected(ErrorCode::unavailable,
                       fmt::format("cannot reach ClickHouse at {}: {}", m_url.text, other.what()));
      }
    }
  });
  io.run();
  if (!outcome) {
    return unexpected(ErrorCode::internal, "ClickHouse request ended without an outcome");
  }
  return std::move(*outcome);
}

Result<std::vector<nlohmann::json>> json_each_row(std::string_view body) {
  std::vector<nlohmann::json> rows;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t nl = body.find('\n', pos);
    if (nl == std::string_view::npos) {
      nl = body.size();
    }
    if (nl > pos) {
      auto j = nlohmann::json::parse(body.substr(pos, nl - pos), nullptr, false);
      if (j.is_discarded()) {
        return unexpected(ErrorCode::internal, "ClickHouse answered a line that is not JSON");
      }
      rows.push_back(std::move(j));
    }
    pos = nl + 1;
  }
  return rows;
}

Result<std::vector<nlohmann::json>> ClickHouseClient::query_rows(std::string_view sql) const {
  CA_TRY_ASSIGN(std::string body,
                query(sql, {}, {{"output_format_json_quote_64bit_integers", "0"}}));
  return json_each_row(body);
}

std::string json_text(const nlohmann::json& row, const char* key) {
  auto it = row.find(key);
  return it == row.end() || !it->is_string() ? std::string() : it->get<std::string>();
}

} // namespace ca::team
