// A small ClickHouse client over its HTTP interface (Boost.Beast), for team export and reports.
//
// ClickHouse takes a statement as the `query` URL parameter and its data (INSERT ... FORMAT
// JSONEachRow) as the POST body; it answers 200 with the result, or an error status with its
// message in the body. Only plain `http://` is supported (a TLS proxy in front of ClickHouse, or
// an SSH tunnel, for a server across the internet).
#pragma once

#include "shared/error.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ca::team {

// `http://host[:port][/][?database=NAME&user=U&password=P]`, port 8123 by default.
struct ClickHouseUrl {
  std::string host;
  uint16_t port = 8123;
  std::string database = "default";
  std::string user;
  std::string password;
  std::string text; // as given (without the password), for messages
};

// Parses a URL as above. Returns invalid_argument naming the URL and what is wrong (another
// scheme than http, no host, a bad port, an unknown parameter).
Result<ClickHouseUrl> parse_clickhouse_url(std::string_view url);

// Percent-encodes `s` for a URL query parameter.
std::string url_encode(std::string_view s);

class ClickHouseClient {
public:
  explicit ClickHouseClient(ClickHouseUrl url,
                            std::chrono::milliseconds timeout = std::chrono::seconds(30))
      : m_url(std::move(url)), m_timeout(timeout) {}

  // Runs `sql` with `body` as its data (empty for none) and the extra settings (name, value)
  // as URL parameters; returns the response body. Fails with `unavailable` when the server
  // cannot be reached or does not answer within the timeout, and with `failed_precondition`
  // carrying ClickHouse's own message when it answers with an error status.
  Result<std::string>
  query(std::string_view sql,
        std::string_view body = {},
        const std::vector<std::pair<std::string, std::string>>& settings = {}) const;

  // Runs `sql`, which must end in `FORMAT JSONEachRow`, and parses its rows (json_each_row),
  // with 64-bit integers as JSON numbers rather than the strings ClickHouse sends by default.
  Result<std::vector<nlohmann::json>> query_rows(std::string_view sql) const;

  const ClickHouseUrl& url() const { return m_url; }

private:
  ClickHouseUrl m_url;
  std::chrono::milliseconds m_timeout;
};

// Quotes `s` as a ClickHouse string literal ('...' with \ and ' escaped).
std::string sql_quote(std::string_view s);

// The rows of an answer in `FORMAT JSONEachRow`, one JSON object per line; an internal error if
// a line is not JSON.
Result<std::vector<nlohmann::json>> json_each_row(std::string_view body);

// A row's field as a number or a string; 0 or "" when it is missing or of another type.
template <class T> T json_number(const nlohmann::json& row, const char* key) {
  auto it = row.find(key);
  return it == row.end() || !it->is_number() ? T{} : it->get<T>();
}
std::string json_text(const nlohmann::json& row, const char* key);

} // namespace ca::team
