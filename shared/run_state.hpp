// A run's state: one enum in C++, one word in the database, the JSON and the gRPC API.
//
// The words are the interface (DESIGN.md): `in_progress` while cargo may still write the run's
// log; then `completed` (every unit that started finished and cargo exited 0, or its exit is
// unknown), `failed` (a unit that did not finish, or a non-zero exit) or `interrupted` (the log
// ends mid-line, or holds no event: cargo was killed).
#pragma once

#include <optional>
#include <string_view>

namespace ca {

enum class RunState { in_progress, completed, failed, interrupted };

// The word for `s`, as stored and shown.
constexpr std::string_view to_string(RunState s) {
  switch (s) {
  case RunState::in_progress:
    return "in_progress";
  case RunState::completed:
    return "completed";
  case RunState::failed:
    return "failed";
  case RunState::interrupted:
    return "interrupted";
  }
  return "in_progress";
}

// The state a word names; nullopt for any other word (an empty one: a run not stored).
constexpr std::optional<RunState> parse_run_state(std::string_view word) {
  for (RunState s :
       {RunState::in_progress, RunState::completed, RunState::failed, RunState::interrupted}) {
    if (word == to_string(s)) {
      return s;
    }
  }
  return std::nullopt;
}

// Whether the run is over: any state but in_progress. A word that names no state is not.
constexpr bool is_ended(std::string_view word) {
  auto s = parse_run_state(word);
  return s && *s != RunState::in_progress;
}

// Whether `word` names state `s`.
constexpr bool is_state(std::string_view word, RunState s) {
  return word == to_string(s);
}

} // namespace ca
