// One error type for expected failures, and a small `Result<T>` with std::expected's API.
//
// Expected failures (bad input, missing files, a daemon that is not running, SQLite errors) travel
// as values of `Result<T>` across layers; exceptions are for bugs and for start-up failures that
// `main` catches. When we move to C++23 `Result<T>` becomes `std::expected<T, Error>` with no
// change at call sites beyond the include.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace ca {

enum class ErrorCode {
  invalid_argument,    // the caller's input is malformed (bad id, bad line)
  not_found,           // the thing asked for does not exist (unknown run, missing file)
  io,                  // a system call failed (errno text is in the message)
  database,            // SQLite reported an error
  unavailable,         // the daemon or a peer cannot be reached
  failed_precondition, // the state does not allow it (DB newer than this binary, lock held)
  resource_exhausted,  // a limit was hit (line too long, too many errors)
  damaged,             // stored data cannot be read back (a database file that fails its check)
  internal,            // a bug: an invariant did not hold
};

// Short lowercase name of a code, e.g. "not_found".
const char* to_string(ErrorCode code);

struct Error {
  ErrorCode code;
  std::string message;
};

inline Error make_error(ErrorCode code, std::string message) {
  return Error{code, std::move(message)};
}

// Wraps an error for construction of a failed `Result`, like std::unexpected.
struct Unexpected {
  Error error;
};

inline Unexpected unexpected(ErrorCode code, std::string message) {
  return Unexpected{Error{code, std::move(message)}};
}
inline Unexpected unexpected(Error error) {
  return Unexpected{std::move(error)};
}

template <class T> class [[nodiscard]] Result {
public:
  Result(T value) : m_v(std::in_place_index<0>, std::move(value)) {}        // NOLINT: implicit
  Result(Unexpected u) : m_v(std::in_place_index<1>, std::move(u.error)) {} // NOLINT: implicit

  bool has_value() const { return m_v.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & {
    assert(has_value());
    return std::get<0>(m_v);
  }
  const T& value() const& {
    assert(has_value());
    return std::get<0>(m_v);
  }
  T&& value() && {
    assert(has_value());
    return std::get<0>(std::move(m_v));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& {
    assert(!has_value());
    return std::get<1>(m_v);
  }
  Error&& error() && {
    assert(!has_value());
    return std::get<1>(std::move(m_v));
  }

  template <class U> T value_or(U&& fallback) const& {
    return has_value() ? value() : static_cast<T>(std::forward<U>(fallback));
  }

private:
  std::variant<T, Error> m_v;
};

// Result of an operation that returns nothing on success.
template <> class [[nodiscard]] Result<void> {
public:
  Result() = default;
  Result(Unexpected u) : m_error(std::move(u.error)), m_ok(false) {} // NOLINT: implicit

  bool has_value() const { return m_ok; }
  explicit operator bool() const { return m_ok; }
  void value() const { assert(m_ok); }
  const Error& error() const& {
    assert(!m_ok);
    return m_error;
  }
  Error&& error() && {
    assert(!m_ok);
    return std::move(m_error);
  }

private:
  Error m_error{ErrorCode::internal, {}};
  bool m_ok = true;
};

} // namespace ca

// Evaluates `expr` (a Result); on failure returns its error from the enclosing function.
#define CA_TRY(expr)                                                                               \
  do {                                                                                             \
    auto ca_try_result_ = (expr);                                                                  \
    if (!ca_try_result_) {                                                                         \
      return ::ca::unexpected(std::move(ca_try_result_).error());                                  \
    }                                                                                              \
  } while (false)

// Declares `decl` (e.g. `auto rows` or `Run run`) from the value of `expr` (a Result), or
// returns its error from the enclosing function.
#define CA_TRY_ASSIGN(decl, expr)                                                                  \
  CA_TRY_ASSIGN_IMPL_(CA_TRY_CONCAT_(ca_try_tmp_, __LINE__), decl, expr)
#define CA_TRY_ASSIGN_IMPL_(tmp, decl, expr)                                                       \
  auto tmp = (expr);                                                                               \
  if (!tmp) {                                                                                      \
    return ::ca::unexpected(std::move(tmp).error());                                               \
  }                                                                                                \
  decl = std::move(tmp).value()
#define CA_TRY_CONCAT_(a, b) CA_TRY_CONCAT_IMPL_(a, b)
#define CA_TRY_CONCAT_IMPL_(a, b) a##b
